"""Two server processes on one PostgreSQL database, as replicas behind a load balancer run: writers
hitting both lose no acknowledged label, and the one-active-job index holds across them.

The two servers are shared by the module's tests (starting them costs most of the time); each test
holds whichever order they run in: the retrain test needs far more labels than exist, so its job
fails fast whether or not the writers ran first, and the writers' check starts from an empty table."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from service.store.db import make_engine
from tests.support.databases import fresh_postgres
from tests.support.processes import free_port, serve, stop

pytestmark = [pytest.mark.postgres, pytest.mark.multiprocess]

KEY = "replica-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
WRITERS_PER_SERVER, BATCHES, BATCH = 4, 15, 5
MIN_LABELS = 1_000_000  # a retrain started here fails at once, saying so


@pytest.fixture(scope="module")
def replicas(known_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """(database URL, the two servers' base URLs); they share the database and the data directory."""
    with fresh_postgres() as url:
        env = {
            "CLICKBAIT_DATABASE_URL": url,
            "CLICKBAIT_DATA_DIR": str(tmp_path_factory.mktemp("replicas")),
            "CLICKBAIT_ADMIN_KEYS": KEY,
            "CLICKBAIT_RETRAIN_MIN_LABELS": str(MIN_LABELS),
        }
        ports = [free_port(), free_port()]
        with ThreadPoolExecutor(2) as pool:  # both start at once: their migrations meet too
            starting = [pool.submit(serve, known_model, port, **env) for port in ports]
        processes = [future.result() for future in starting if future.exception() is None]
        try:
            for future in starting:
                future.result()  # raise the first failure to start, if any
            yield url, [f"http://127.0.0.1:{port}" for port in ports]
        finally:
            for process in processes:
                stop(process)


def test_concurrent_writers_on_two_replicas_lose_nothing(replicas: tuple[str, list[str]]) -> None:
    url, servers = replicas
    acknowledged: dict[int, str] = {}
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(2 * WRITERS_PER_SERVER)

    def writer(server: str, n: int) -> None:
        with httpx.Client(base_url=server, headers=AUTH, timeout=60) as client:
            start.wait()
            for i in range(BATCHES):
                # every writer also relabels one shared headline: conflicts race across replicas too
                batch = [
                    {"headline": f"{server[-5:]} writer {n} batch {i} item {j}", "label": "news"}
                    for j in range(BATCH - 1)
                ] + [{"headline": "Shared headline", "label": "clickbait"}]
                response = client.post("/v1/labels", json={"labels": batch})
                with lock:
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text}")
                        continue
                    ids = response.json()["ids"]
                    assert len(ids) == BATCH and not set(ids) & acknowledged.keys()
                    acknowledged.update(zip(ids, (item["headline"] for item in batch), strict=True))

    threads = [
        threading.Thread(target=writer, args=(server, n))
        for server in servers
        for n in range(WRITERS_PER_SERVER)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    assert len(acknowledged) == 2 * WRITERS_PER_SERVER * BATCHES * BATCH

    engine = make_engine(url)
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, headline FROM labels")).all())
    engine.dispose()
    assert stored == acknowledged  # every acknowledged label, under the id it was acknowledged with
    for server in servers:  # and each replica reads what the other wrote
        page = httpx.get(f"{server}/v1/labels", params={"latest": True, "limit": 1000}, timeout=30).json()
        assert len(page["labels"]) == len(set(acknowledged.values()))


def test_two_replicas_asked_to_retrain_at_once_start_one_job(replicas: tuple[str, list[str]]) -> None:
    _, servers = replicas
    statuses: dict[str, httpx.Response] = {}
    start = threading.Barrier(2)

    def ask(server: str) -> None:
        with httpx.Client(headers=AUTH, timeout=60) as client:
            start.wait()
            statuses[server] = client.post(f"{server}/v1/retrain", json={})

    threads = [threading.Thread(target=ask, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    responses = sorted(statuses.values(), key=lambda r: r.status_code)
    assert [r.status_code for r in responses] == [202, 409], [r.text for r in responses]
    started, refused = responses[0].json(), responses[1].json()
    assert refused["error_type"] == "job_running" and started["id"] in refused["error"]

    job = _wait_for_end(servers[1], started["id"])  # followed through the other replica
    assert job["state"] == "failed" and job["message"].endswith(f"a retrain needs at least {MIN_LABELS}")


def _wait_for_end(server: str, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{server}/v1/jobs/{job_id}", timeout=30).json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout} s")
