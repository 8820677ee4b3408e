"""Real uvicorn servers on 127.0.0.1, in this process: one started for a test (``start_server``), and
servers shared by the tests of a session (``SharedServers``), one per distinct set of settings.

A server costs a migration, a registry seeded with the model, the model loaded and uvicorn started
and stopped. A test whose point is the server's life (start-up, shutdown, a disconnect, what one
instance remembers) starts its own; a test that only needs the HTTP contract asks for a shared one
and keeps to what it owns (its own headlines and keys, metric deltas), or empties the label store
first with ``empty_store``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import delete

from service.api.app import create_app
from service.settings import ServiceSettings
from service.store.db import make_engine
from service.store.tables import Job, Label, PersonalLayerRow


@dataclass
class Running:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    settings: ServiceSettings

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(settings: ServiceSettings, wait_ready: bool = True) -> Running:
    """A server for ``settings`` on a free port, once /ready answers 200 (or 503 without
    ``wait_ready``: the model may be failing to load)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", timeout_graceful_shutdown=10)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{url}/ready", timeout=2).status_code
            if status == 200 or (status == 503 and not wait_ready):
                return Running(url, server, thread, settings)
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    raise RuntimeError("server did not become ready")


class SharedServers:
    """Servers of the known model shared by a session's tests: ``get(**overrides)`` starts one for
    each distinct set of ``ServiceSettings`` overrides, with a data directory of its own, and hands
    the same one to every test that asks for those settings; ``stop_all`` ends them."""

    def __init__(self, model: Path, root: Path) -> None:
        self.model, self.root = model, root
        self.running: dict[str, Running] = {}

    def get(self, **overrides) -> Running:
        key = repr(sorted(overrides.items()))
        if key not in self.running:
            data = self.root / f"server-{len(self.running)}"
            settings = ServiceSettings(**{"model": str(self.model), "data_dir": data, **overrides})
            self.running[key] = start_server(settings)
        running = self.running[key]
        assert running.thread.is_alive(), f"a test stopped the shared server for {key}"
        return running

    def stop_all(self) -> None:
        for running in self.running.values():
            running.stop()
        self.running.clear()


def empty_store(running: Running) -> None:
    """Delete every label, personal layer and job in ``running``'s database (the schema stays): a
    test on a shared server starts from an empty label store. The pool of scored headlines and the
    suggestions live partly in the server's memory: a test of those starts a server of its own."""
    engine = make_engine(running.settings.database)
    try:
        with engine.begin() as connection:
            for table in (Label, Job, PersonalLayerRow):
                connection.execute(delete(table))
    finally:
        engine.dispose()
