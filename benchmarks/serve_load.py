"""Load benchmark of ``clickbait serve``: throughput and latency percentiles, cold and warm cache.

Usage (repository root; all traffic goes to 127.0.0.1):
    python benchmarks/serve_load.py --model default

Starts the server as a subprocess on a free port, then for each request size (1 and 64 headlines)
and concurrency runs a bounded number of requests: first with headlines the server has never
seen (every one goes through the model), then the same requests again (all served from cache).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import httpx
import numpy as np

DEFAULT_DATA = [Path("../shared/data/ro-mixed.jsonl"), Path("../shared/data/en-chakraborty2016.jsonl")]


def headlines(paths: list[Path], limit: int) -> list[str]:
    """Real headlines, alternating files; a synthetic fallback keeps the script usable anywhere."""
    per_file = [[json.loads(line)["text"] for line in islice(p.open(), limit)] for p in paths if p.is_file()]
    mixed = [h for group in zip(*per_file, strict=False) for h in group] if per_file else []
    while len(mixed) < limit:
        mixed.append(f"Headline number {len(mixed)}: council approves the new city budget")
    return mixed[:limit]


def resident_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def drive(url: str, batches: list[list[str]], concurrency: int) -> tuple[float, list[float]]:
    """Send every batch with ``concurrency`` requests in flight; return wall time and latencies."""
    latencies: list[float] = []
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            batch = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(f"{url}/v1/score", json={"headlines": batch})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--headlines", type=int, default=1500, help="headlines per scenario")
    args = parser.parse_args()

    started = time.perf_counter()
    with served(args.model) as (url, server):
        wait_ready(url, server)
        print(f"server ready in {time.perf_counter() - started:.1f} s; cores: {os.cpu_count()}")
        scenarios = [
            (size, c, max(c * 4, args.headlines // size // (4 if size == 1 else 1)))
            for size in (1, 64)
            for c in args.concurrency
        ]
        pool = iter(headlines(args.data, sum(size * count for size, _, count in scenarios)))
        print("| request | concurrency | cache | requests | headlines/s | p50 ms | p95 ms | p99 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for size, concurrency, count in scenarios:
            batches = [list(islice(pool, size)) for _ in range(count)]  # unseen by the server
            for cache in ("cold", "warm"):
                wall, latencies = asyncio.run(drive(url, batches, concurrency))
                p50, p95, p99 = np.percentile(np.array(latencies) * 1000, [50, 95, 99])
                rate = size * count / wall
                print(
                    f"| {size} | {concurrency} | {cache} | {count} | {rate:.0f} "
                    f"| {p50:.1f} | {p95:.1f} | {p99:.1f} |",
                    flush=True,
                )


@contextmanager
def served(
    model: str, *flags: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``clickbait serve --model MODEL`` on a free port of 127.0.0.1 with a data directory (registry,
    database) of its own: what is measured is MODEL itself, not what a user's registry serves."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-") as data_dir:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.cli",
                "serve",
                "--model",
                model,
                "--port",
                str(port),
                "--log-level",
                "warning",
                *flags,
            ],
            env={**os.environ, "CLICKBAIT_DATA_DIR": data_dir, **(env or {})},
        )
        try:
            yield f"http://127.0.0.1:{port}", server
        finally:
            server.terminate()
            server.wait(timeout=60)


def wait_ready(url: str, server: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with status {server.returncode} before it was ready")
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} not ready after {timeout} s")


if __name__ == "__main__":
    main()
