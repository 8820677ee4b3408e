"""The lean install (no `train` extra): scoring and serving on the onnx engine import no torch, and
training, from the command line or the web page's retrain, is refused in one line naming the extra."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.runtime.retrain_job import job_params
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.job_store import JobStore
from tests.support.data import CLICKBAIT, NEWS
from tests.support.lean import lean_python, lean_site
from tests.support.processes import ROOT, free_port, serve, stop, wait_ready

INSTALL = "pip install 'clickbait-classifier[train]'"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lean_site(tmp_path_factory.mktemp("lean-site"))


@pytest.mark.slow
def test_scoring_and_the_service_import_no_torch(site: Path) -> None:
    done = lean_python(
        site,
        "-c",
        "import sys\n"
        "from classifier.scorer import Scorer\n"
        "import service.api.app, service.cli.main\n"
        "scorer = Scorer.load('default')\n"
        f"print(scorer.engine, [p.label for p in scorer.score({[NEWS[0], CLICKBAIT[0]]!r})])\n"
        "assert not {'torch', 'transformers', 'peft'} & set(sys.modules), sorted(sys.modules)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["onnx", "['news',", "'clickbait']"]


def test_a_training_command_without_the_train_extra_says_so_in_one_line(site: Path, tmp_path) -> None:
    done = lean_python(
        site,
        "-m",
        "service.cli",
        "train",
        "--config",
        str(ROOT / "training" / "configs" / "default.toml"),
        "--out",
        str(tmp_path / "model"),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"clickbait train: error: clickbait train needs the 'train' extra (torch is not installed): {INSTALL}"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["onnx", "numpy"])
def test_a_server_on_a_torch_free_engine_never_maps_torch(engine: str, tmp_path: Path) -> None:
    port = free_port()
    process = serve(Path("default"), port, CLICKBAIT_ENGINE=engine, CLICKBAIT_DATA_DIR=str(tmp_path))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        answer = httpx.post(f"{url}/v1/score", json={"headlines": [NEWS[0], CLICKBAIT[0]]}, timeout=60)
        assert [r["label"] for r in answer.json()["results"]] == ["news", "clickbait"]
        assert httpx.get(f"{url}/info").json()["engine"] == engine
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        assert "libtorch" not in maps and "/torch/" not in maps
    finally:
        stop(process)


def test_a_retrain_on_a_lean_install_fails_its_job_with_the_extra_to_install(site: Path, tmp_path) -> None:
    """As a retrain started from a lean server's web page runs: the job's own process, which cannot
    import the training stack, ends the job failed, saying what to install."""
    settings = ServiceSettings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'labels.db'}")
    engine = make_engine(settings.database)
    migrate(engine)
    jobs = JobStore(engine, settings.job_stale_s)
    job = jobs.create(job_params(settings, from_base=False), "ana")
    done = lean_python(
        site, "-m", "service.runtime.retrain_job", job.id, CLICKBAIT_DATABASE_URL=settings.database
    )
    assert done.returncode == 0, done.stderr
    failed = jobs.get(job.id)
    assert failed.state == "failed"
    assert failed.message == f"retraining needs the 'train' extra (torch is not installed): {INSTALL}"
