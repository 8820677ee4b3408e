"""A server killed with SIGKILL in the middle of label writes loses no acknowledged label."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, serve

pytestmark = pytest.mark.multiprocess

KEY = "durable-key"


def _serve(known_model: Path, data_dir: Path, port: int) -> subprocess.Popen:
    return serve(known_model, port, CLICKBAIT_DATA_DIR=str(data_dir), CLICKBAIT_ADMIN_KEYS=KEY)


def test_every_acknowledged_label_survives_sigkill_mid_write(known_model: Path, tmp_path: Path) -> None:
    port = free_port()
    server = _serve(known_model, tmp_path, port)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Bearer {KEY}"}
        ) as client:
            for i in range(10_000):
                batch = [{"headline": f"writer {n} headline {i} part {j}", "label": "news"} for j in range(5)]
                try:
                    response = client.post("/v1/labels", json={"labels": batch})
                except httpx.TransportError:
                    return  # the server is gone: this batch was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(item["headline"] for item in batch)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    while len(acknowledged) < 200:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    for thread in threads:
        thread.join(30)

    with sqlite3.connect(tmp_path / "labels.db") as db:  # what a restarted server would open
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in db.execute("SELECT headline FROM labels")}
    assert len(acknowledged) >= 200 and set(acknowledged) <= stored

    restarted = _serve(known_model, tmp_path, port)
    try:
        export = httpx.get(f"http://127.0.0.1:{port}/v1/labels/export", timeout=30).text
        assert len(export.splitlines()) == len(stored)
    finally:
        restarted.terminate()
        restarted.wait(30)
