"""Soak test of ``clickbait serve``: mixed traffic for a bounded time, a retraining job and a
promotion in the middle; reports requests, statuses, p99 latency over time and memory.

Usage (repository root; all traffic goes to 127.0.0.1):
    python benchmarks/soak.py                       # 5 minutes, the default model
    python benchmarks/soak.py --seconds 20 --model DIR --retrain-steps 5   # the short mode of the tests

Traffic, from ``--concurrency`` clients without pause: scores of 1–256 headlines (half single
headlines), RSS feeds of 20 items through ``/v1/filter``, and batches of 5 labels. A third of the
way in, a retraining job starts on the labels posted so far; when it ends its candidate is
promoted (through the API, whatever the gate said), so the swap happens under load. Passes (exit
0) when every answer is 2xx or 429 and the server's resident memory grew by at most
``--memory-bound-mb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import numpy as np
from serve_load import DEFAULT_DATA, headlines, resident_mb, served, wait_ready

WINDOWS = 10


@dataclass
class Record:
    started: float
    route: str
    status: int
    seconds: float


@dataclass
class Soak:
    url: str
    key: str
    pool: list[str]
    deadline: float
    records: list[Record] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def call(
        self, client: httpx.AsyncClient, route: str, method: str, path: str, **kwargs
    ) -> httpx.Response:
        started = time.monotonic()
        try:
            response = await client.request(method, self.url + path, **kwargs)
            status = response.status_code
        except httpx.TransportError as exc:
            self.events.append(f"{route}: transport error {exc!r}")
            response, status = None, 0
        self.records.append(Record(started, route, status, time.monotonic() - started))
        return response

    async def client(self, seed: int) -> None:
        rng = random.Random(seed)
        auth = {"Authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(timeout=120) as client:
            while time.monotonic() < self.deadline:
                kind = rng.random()
                if kind < 0.7:
                    size = 1 if rng.random() < 0.5 else rng.choice([rng.randint(2, 16), rng.randint(17, 256)])
                    await self.call(
                        client, "score", "POST", "/v1/score", json={"headlines": rng.sample(self.pool, size)}
                    )
                elif kind < 0.85:
                    await self.call(
                        client,
                        "filter",
                        "POST",
                        "/v1/filter?mode=annotate",
                        content=rss(rng.sample(self.pool, 20)),
                        headers={"Content-Type": "application/rss+xml"},
                    )
                else:
                    labels = [
                        {"headline": h, "label": rng.choice(["news", "clickbait"])}
                        for h in rng.sample(self.pool, 5)
                    ]
                    await self.call(
                        client, "labels", "POST", "/v1/labels", json={"labels": labels}, headers=auth
                    )

    async def retrain_and_promote(self, start_after: float) -> None:
        await asyncio.sleep(start_after)
        auth = {"Authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(timeout=120) as client:
            started = await self.call(client, "retrain", "POST", "/v1/retrain", json={}, headers=auth)
            if started is None or started.status_code != 202:
                self.events.append(f"retrain refused: {started.text if started else 'no answer'}")
                return
            job_id = started.json()["id"]
            self.events.append(f"{self._at()} retraining job {job_id[:8]} started")
            while True:
                job = (await client.get(f"{self.url}/v1/jobs/{job_id}")).json()
                if job["state"] not in ("queued", "running"):
                    break
                await asyncio.sleep(1)
            self.events.append(f"{self._at()} job {job['state']}: {job['message']}")
            if job["state"] == "failed":
                return
            candidate = job["result"]["candidate"]["version"]
            if job["state"] == "rejected":
                await self.call(client, "promote", "POST", f"/v1/models/{candidate}/promote", headers=auth)
            for _ in range(120):  # the service follows the registry within its poll interval and a load
                serving = (await client.get(self.url + "/v1/models")).json()["serving"]
                if serving == candidate:
                    break
                await asyncio.sleep(0.5)
            self.events.append(f"{self._at()} serving {serving}")

    def _at(self) -> str:
        return f"t+{time.monotonic() - (self.deadline - self.duration):.0f}s"

    duration: float = 0.0


def rss(titles: list[str]) -> bytes:
    items = "".join(
        f"<item><title>{escape(t)}</title><link>https://news.example/{i}</link></item>"
        for i, t in enumerate(titles)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>soak</title>{items}</channel></rss>'
    ).encode()


def report(soak: Soak, started: float, memory: list[float], bound_mb: float) -> dict:
    """``memory``: resident MB after the warm-up, then at the end of every window."""
    statuses = Counter((r.route, r.status) for r in soak.records)
    bad = {
        f"{route} {status}": n
        for (route, status), n in statuses.items()
        if not (200 <= status < 300 or status == 429)
    }
    width = soak.duration / WINDOWS
    latencies: list[list[float]] = [[] for _ in range(WINDOWS)]
    for r in soak.records:  # a request sent just as time ran out counts in the last window
        latencies[min(WINDOWS - 1, max(0, int((r.started - started) / width)))].append(r.seconds)
    windows = [
        {
            "from_s": round(w * width),
            "requests": len(inside),
            "p99_ms": round(float(np.percentile(inside, 99)) * 1000, 1) if inside else None,
            "rss_mb": round(rss),
        }
        for w, (inside, rss) in enumerate(zip(latencies, memory[1:], strict=True))
    ]
    growth = memory[-1] - memory[0]
    return {
        "seconds": soak.duration,
        "requests": len(soak.records),
        "by_route_and_status": {f"{route} {status}": n for (route, status), n in sorted(statuses.items())},
        "errors": bad,
        "windows": windows,
        "events": soak.events,
        "memory_mb": {
            "start": round(memory[0]),
            "end": round(memory[-1]),
            "peak": round(max(memory)),
            "growth": round(growth),
            "bound": bound_mb,
        },
        "passed": not bad and growth <= bound_mb,
    }


async def soak_run(args: argparse.Namespace, url: str, key: str, pid: int) -> dict:
    pool = headlines(args.data, 3000)
    async with httpx.AsyncClient(timeout=120) as client:  # warm-up: the start memory is a loaded server
        await client.post(f"{url}/v1/score", json={"headlines": pool[:64]})
    memory = [resident_mb(pid)]
    started = time.monotonic()
    soak = Soak(url, key, pool, started + args.seconds, duration=args.seconds)

    async def sample_memory() -> None:
        for _ in range(WINDOWS - 1):
            await asyncio.sleep(args.seconds / WINDOWS)
            memory.append(resident_mb(pid))

    await asyncio.gather(
        *(soak.client(i) for i in range(args.concurrency)),
        soak.retrain_and_promote(args.seconds / 3),
        sample_memory(),
    )
    memory.append(resident_mb(pid))
    return report(soak, started, memory, args.memory_bound_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--retrain-steps", type=int, default=30)
    parser.add_argument(
        "--memory-bound-mb",
        type=float,
        default=400,
        help="allowed growth of the server's resident memory (a second model while swapping)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args()

    key = secrets.token_hex(16)
    env = {
        "CLICKBAIT_ADMIN_KEYS": f"soak:{key}",
        "CLICKBAIT_RETRAIN_STEPS": str(args.retrain_steps),
        "CLICKBAIT_RETRAIN_BATCH_SIZE": "16",
        "CLICKBAIT_REGISTRY_POLL_S": "1",
        "CLICKBAIT_KEY_RATE_PER_MINUTE": "0",
    }  # one key drives it all
    with served(args.model, env=env) as (url, server):
        wait_ready(url, server)
        result = asyncio.run(soak_run(args, url, key, server.pid))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    sys.exit(0 if result["passed"] else 1)


def print_report(result: dict) -> None:
    print(
        f"{result['requests']} requests in {result['seconds']:.0f} s; "
        f"passed: {result['passed']}; memory {result['memory_mb']}"
    )
    print("| route | status | requests |\n| --- | --- | --- |")
    for key, n in result["by_route_and_status"].items():
        route, status = key.split()
        print(f"| {route} | {status} | {n} |")
    print("\n| window from (s) | requests | p99 ms | RSS MB at its end |\n| --- | --- | --- | --- |")
    for w in result["windows"]:
        print(f"| {w['from_s']} | {w['requests']} | {w['p99_ms']} | {w['rss_mb']} |")
    print("\n" + "\n".join(result["events"]))


if __name__ == "__main__":
    main()
