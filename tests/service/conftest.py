"""A made-up model whose answer is known, and real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import torch
import uvicorn
from transformers import BertConfig, BertModel

from classifier.artifact import BaseRef, Manifest, save_artifact
from classifier.base import load_encoder, load_tokenizer, resolve_base
from classifier.network import HeadlineClassifier
from service.api.app import create_app
from service.settings import ServiceSettings
from tests.conftest import TOKENIZER_FILES
from tests.support.databases import BACKENDS, database

TRIGGER = "SHOCKING"  # the one word the known model reacts to


@pytest.fixture(scope="session")
def known_model(bundled_base, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 0-layer BERT: every embedding is zero except the pieces of TRIGGER, and the head reads
    exactly that direction — so a headline is clickbait iff it contains TRIGGER."""
    base_dir = tmp_path_factory.mktemp("known-base")
    for name in TOKENIZER_FILES:
        shutil.copy(bundled_base.path / name, base_dir / name)
    config = BertConfig(
        vocab_size=250037,
        hidden_size=8,
        num_hidden_layers=0,
        num_attention_heads=1,
        intermediate_size=8,
        max_position_embeddings=128,
        pad_token_id=1,
    )
    encoder = BertModel(config, add_pooling_layer=False)
    trigger_ids = load_tokenizer(bundled_base.path).encode([f" {TRIGGER}"], 64)[0][1:-1]  # no <s>, </s>
    direction = torch.tensor([4.0, -4.0, 0, 0, 0, 0, 0, 0])
    with torch.no_grad():
        for table in (
            encoder.embeddings.word_embeddings,
            encoder.embeddings.position_embeddings,
            encoder.embeddings.token_type_embeddings,
        ):
            table.weight.zero_()
        encoder.embeddings.word_embeddings.weight[trigger_ids] = direction
    encoder.save_pretrained(base_dir)

    base = resolve_base(str(base_dir))
    network = HeadlineClassifier(load_encoder(base.path))
    with torch.no_grad():
        network.head.weight.copy_(torch.tensor([[20.0, -20.0, 0, 0, 0, 0, 0, 0]]))
        network.head.bias.fill_(-3.0)
    manifest = Manifest(
        version="known-1",
        base=BaseRef(name=base.name, sha256=base.sha256),
        method="full",
        threshold=0.5,
        temperature=1.0,
        max_length=64,
    )
    out = tmp_path_factory.mktemp("known-model") / "artifact"
    save_artifact(network, manifest, out, "# known test model\n")
    return out


@dataclass
class Running:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(settings: ServiceSettings, wait_ready: bool = True) -> Running:
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
                return Running(url, server, thread)
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")


@pytest.fixture()
def make_server(known_model: Path) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def make(wait_ready: bool = True, **overrides) -> Running:
        settings = ServiceSettings(**{"model": str(known_model), **overrides})
        running = start_server(settings, wait_ready)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture()
def server(make_server) -> Running:
    return make_server()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database backend in turn: SQLite always, PostgreSQL when CI (or .ci/postgres.sh) gives one."""
    with database(request.param, tmp_path) as url:
        yield url
