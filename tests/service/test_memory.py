"""glibc heap settings: the arena cap that `clickbait serve` applies takes effect."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from service.runtime.memory import cap_malloc_arenas, return_freed_memory


def test_the_arena_cap_is_accepted_by_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    # in a fresh process: the cap belongs before threads start, and this one has run many
    probe = "from service.runtime.memory import cap_malloc_arenas; print(cap_malloc_arenas(2))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"


def test_zero_keeps_glibc_default_and_trimming_is_safe() -> None:
    assert cap_malloc_arenas(0) is False
    return_freed_memory()  # no error, whatever the C library


def test_the_mmap_threshold_is_accepted_by_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    probe = (
        "from service.runtime.memory import map_large_blocks; "
        "print(map_large_blocks(256), map_large_blocks(0))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "False"]
