"""What this CPU's instruction set offers the int8 and bf16 engines."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _cpu_flags() -> set[str]:
    try:
        return set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return set()


def has_vnni() -> bool:
    """Whether this CPU accumulates u8×s8 products straight into int32 (AVX512-VNNI or AVX-VNNI)."""
    return bool({"avx512_vnni", "avx_vnni"} & _cpu_flags())


def has_bf16() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AVX512-BF16 or AMX): a bf16 Linear is then faster
    than an fp32 one; emulated, it would be slower."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpu_flags())
