"""The security review re-run as an attacker would (docs/security.md): 8 clients without a key send
the requests that used to stall the service, while a probe sends one-headline `/v1/score` requests
and measures how long each waits; the server's resident memory is read throughout.

Usage (repository root; all traffic goes to 127.0.0.1):
    python benchmarks/attack.py --model default --seconds 60

Each attacker connects from its own loopback address (127.0.0.2, 127.0.0.3, …) and the probe from
127.0.0.1, as distinct machines would; `--one-address` sends everything from 127.0.0.1 (one
machine, or clients behind one proxy, share the model as one client).

Targets: no probe waits more than 1 s; resident memory never more than 50 MB above the body limit
it was sent past (the largest refused body is `--big-mb`, far over every limit); no 5xx answer.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import random
import time

import httpx
import numpy as np
from serve_load import resident_mb, served, wait_ready

WORDS = "ab cd ef gh ij kl mn op qr st uv wx yz".split()


def attacks(url: str, big_mb: int) -> list:
    """Each a coroutine factory: one hostile request, as the review found them."""
    long_headline = " ".join(random.choice(WORDS) for _ in range(333))

    async def explain(client: httpx.AsyncClient) -> int:
        body = {"headlines": [long_headline] * 8, "explain": True}
        return (await client.post(f"{url}/v1/score", json=body)).status_code

    async def explain_within_budget(client: httpx.AsyncClient) -> int:
        headline = " ".join(random.choice(WORDS) for _ in range(24))
        return (
            await client.post(f"{url}/v1/score", json={"headlines": [headline] * 8, "explain": True})
        ).status_code

    async def many(client: httpx.AsyncClient) -> int:
        body = {"headlines": [f"{random.random()} council budget vote {i}" for i in range(256)]}
        return (await client.post(f"{url}/v1/score", json=body)).status_code

    async def deep_page(client: httpx.AsyncClient) -> int:
        response = await client.post(
            f"{url}/v1/page", content=b"<div>" * 1_000_000, headers={"Content-Type": "text/html"}
        )
        return response.status_code

    async def huge_body(client: httpx.AsyncClient) -> int:
        async def chunks():
            yield b'{"headlines": ["'
            for _ in range(big_mb):
                yield b"a" * 1_000_000

        try:
            response = await client.post(
                f"{url}/v1/score", content=chunks(), headers={"Content-Type": "application/json"}
            )
            return response.status_code
        except httpx.TransportError:
            return 413  # refused and closed while we were still sending: what the guard does

    async def gzip_feed(client: httpx.AsyncClient) -> int:
        body = gzip.compress(b"<rss>" + b" " * 20_000_000)  # the proxy is off: a posted body is not inflated
        response = await client.post(
            f"{url}/v1/filter", content=body, headers={"Content-Type": "application/rss+xml"}
        )
        return response.status_code

    async def wrong_key(client: httpx.AsyncClient) -> int:
        headers = {"Authorization": f"Bearer guess-{random.random()}"}
        return (await client.post(f"{url}/v1/labels", json={"labels": []}, headers=headers)).status_code

    return [explain, explain_within_budget, many, deep_page, huge_body, gzip_feed, wrong_key]


def from_address(address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=120, transport=httpx.AsyncHTTPTransport(local_address=address))


async def attacker(
    url: str, address: str, stop: float, big_mb: int, statuses: list[int], only: str | None
) -> None:
    kinds = [k for k in attacks(url, big_mb) if only is None or k.__name__ == only]
    async with from_address(address) as client:
        while time.monotonic() < stop:
            statuses.append(await random.choice(kinds)(client))


async def probe(url: str, stop: float, waits: list[float]) -> None:
    async with from_address("127.0.0.1") as client:
        while time.monotonic() < stop:
            started = time.monotonic()
            response = await client.post(f"{url}/v1/score", json={"headlines": [f"Probe {random.random()}"]})
            response.raise_for_status()
            waits.append(time.monotonic() - started)
            await asyncio.sleep(0.2)


async def watch(pid: int, stop: float, rss: list[float]) -> None:
    while time.monotonic() < stop:
        rss.append(resident_mb(pid))
        await asyncio.sleep(0.1)


async def run(
    url: str, pid: int, seconds: float, clients: int, big_mb: int, only: str | None, one_address: bool
) -> dict:
    stop = time.monotonic() + seconds
    statuses: list[int] = []
    waits: list[float] = []
    rss: list[float] = []
    await asyncio.gather(
        *(
            attacker(url, "127.0.0.1" if one_address else f"127.0.0.{i + 2}", stop, big_mb, statuses, only)
            for i in range(clients)
        ),
        probe(url, stop, waits),
        watch(pid, stop, rss),
    )
    return {"statuses": statuses, "waits": waits, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--big-mb", type=int, default=150, help="size of the chunked body sent past the limit"
    )
    parser.add_argument("--only", help="one attack alone, by its name (explain, many, deep_page, …)")
    parser.add_argument("--one-address", action="store_true", help="every client from 127.0.0.1")
    args = parser.parse_args()
    random.seed(0)
    with served(args.model) as (url, server):
        wait_ready(url, server)
        baseline = resident_mb(server.pid)
        result = asyncio.run(
            run(url, server.pid, args.seconds, args.clients, args.big_mb, args.only, args.one_address)
        )
    waits, statuses = np.array(result["waits"]), result["statuses"]
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    print(f"attack requests: {len(statuses)}, statuses {counts}")
    print(
        f"probe: {len(waits)} one-headline requests, wait p50 {np.median(waits) * 1000:.0f} ms, "
        f"p99 {np.percentile(waits, 99) * 1000:.0f} ms, max {waits.max() * 1000:.0f} ms (target ≤ 1000)"
    )
    print(
        f"resident: {baseline:.0f} MB ready, peak {max(result['rss']):.0f} MB under attack "
        f"(+{max(result['rss']) - baseline:.0f} MB)"
    )
    print("5xx answers:", sum(s >= 500 for s in statuses))


if __name__ == "__main__":
    main()
