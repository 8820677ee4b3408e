"""Real ``python -m service.cli`` processes: the command line as a user runs it, and ``serve``
processes for tests that need more than one server or a crash."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]  # this checkout, first on the servers' import path


def clickbait(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The console script as a user runs it: ``python -m service.cli ARGS``, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(
    known_model: Path, port: int, log: IO | None = None, log_level: str = "warning", **env: str
) -> subprocess.Popen:
    """A server on 127.0.0.1:``port`` with ``CLICKBAIT_*`` variables ``env``, once it answers /health;
    its output goes to ``log`` when given."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "service.cli",
            "serve",
            "--port",
            str(port),
            "--model",
            str(known_model),
            "--log-level",
            log_level,
        ],
        env={**os.environ, "PYTHONPATH": path, **env},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_ready(url: str, timeout_s: float = 120) -> None:
    """Until ``url``/ready answers 200 (the model is loaded); fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{url}/ready", timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not ready after {timeout_s:.0f} s")
        time.sleep(0.1)
