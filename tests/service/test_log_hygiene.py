"""At the default log level the service writes neither keys nor headline text to its logs; a
higher level quiets every logger."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, serve, wait_ready

pytestmark = pytest.mark.multiprocess

SECRET = "very-secret-admin-key-4711"
HEADLINE = "Unmistakable headline text 9321 about the mayor"


def test_logs_hold_no_keys_and_no_headlines(known_model: Path, tmp_path: Path) -> None:
    port = free_port()
    log_file = tmp_path / "server.log"
    with log_file.open("w") as log:
        server = serve(
            known_model,
            port,
            log,
            "info",
            CLICKBAIT_DATA_DIR=str(tmp_path / "data"),
            CLICKBAIT_ADMIN_KEYS=f"ana:{SECRET}",
        )
        try:
            url = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {SECRET}"}
            httpx.post(
                f"{url}/v1/labels", json={"labels": [{"headline": HEADLINE, "label": "news"}]}, headers=auth
            )
            httpx.post(
                f"{url}/v1/labels", json={"labels": [{"headline": HEADLINE, "label": "x"}]}, headers=auth
            )
            httpx.post(
                f"{url}/v1/labels", json={"labels": []}, headers={"Authorization": f"Bearer wrong-{SECRET}"}
            )
            httpx.post(
                f"{url}/v1/score",
                content=b'{"headlines": ["' + HEADLINE.encode() + b'"',
                headers={"Content-Type": "application/json"},
            )
            wait_ready(url)
            httpx.post(f"{url}/v1/score", json={"headlines": [HEADLINE]})
        finally:
            server.terminate()
            server.wait(30)
    written = log_file.read_text()
    assert "POST /v1/score" in written  # the access log is on at the default level
    assert SECRET not in written and "9321" not in written


def test_the_log_level_quiets_every_logger(known_model: Path, tmp_path: Path) -> None:
    """``--log-level warning`` holds for the service's and the libraries' loggers, not only uvicorn's."""
    port = free_port()
    log_file = tmp_path / "server.log"
    with log_file.open("w") as log:
        server = serve(known_model, port, log, "warning", CLICKBAIT_DATA_DIR=str(tmp_path / "data"))
        try:
            wait_ready(f"http://127.0.0.1:{port}")  # the model loaded, and its loading logged
        finally:
            server.terminate()
            server.wait(30)
    assert " INFO " not in log_file.read_text()
