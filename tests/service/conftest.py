"""The known model (a headline is clickbait iff it contains TRIGGER) and real uvicorn servers of it on
127.0.0.1: ``server`` and ``shared_server`` are shared by the session's tests, ``make_server`` starts
one for the test alone (tests/support/servers.py says which to use when)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.settings import ServiceSettings
from tests.support.databases import BACKENDS, database
from tests.support.models import build_known_model
from tests.support.servers import Running, SharedServers, start_server


@pytest.fixture(scope="session")
def known_model(bundled_base, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0-layer BERT: every embedding is zero except the pieces of TRIGGER, and the head reads
    exactly that direction — so a headline is clickbait iff it contains TRIGGER."""
    return build_known_model(bundled_base.path, tmp_path_factory.mktemp("known-model"))


@pytest.fixture(scope="session")
def shared_servers(known_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServers]:
    servers = SharedServers(known_model, tmp_path_factory.mktemp("shared-servers"))
    yield servers
    servers.stop_all()


def still_running(handed: list[Running]) -> None:
    """A test that stops a shared server fails itself, not the next test that asks for it."""
    stopped = [running.url for running in handed if not running.thread.is_alive()]
    assert not stopped, f"this test stopped the shared server(s) {stopped}: use make_server"


@pytest.fixture()
def shared_server(shared_servers: SharedServers) -> Iterator[Callable[..., Running]]:
    """``shared_server(**overrides)``: the session's server for those settings (started on first use).
    For tests of the HTTP contract that keep to their own headlines, keys and metric deltas."""
    handed: list[Running] = []

    def get(**overrides) -> Running:
        handed.append(shared_servers.get(**overrides))
        return handed[-1]

    yield get
    still_running(handed)


@pytest.fixture()
def server(shared_servers: SharedServers) -> Iterator[Running]:
    """The session's server of the known model with the default settings."""
    running = shared_servers.get()
    yield running
    still_running([running])


@pytest.fixture()
def make_server(known_model: Path) -> Iterator[Callable[..., Running]]:
    """``make_server(wait_ready=True, **overrides)``: a server for this test alone, stopped after it
    (for start-up, shutdown, disconnects, and what one instance remembers)."""
    started: list[Running] = []

    def make(wait_ready: bool = True, **overrides) -> Running:
        settings = ServiceSettings(**{"model": str(known_model), **overrides})
        running = start_server(settings, wait_ready)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database backend in turn: SQLite always, PostgreSQL when CI (or .ci/postgres.sh) gives one."""
    with database(request.param, tmp_path) as url:
        yield url
