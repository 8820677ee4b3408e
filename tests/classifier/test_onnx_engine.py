"""The onnx engine: the int8 form in ONNX Runtime, close to fp32, without torch; and the lean install
it makes possible (no torch imported to score or serve, training refused in one line)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from classifier.artifact import FALLBACK_DIR, HEAD_FILE, Routing, read_manifest, write_manifest
from classifier.onnx_int8 import quantised_graph
from classifier.scorer import Scorer, default_model_dir
from classifier.settings import get_settings
from tests.support.data import CLICKBAIT, NEWS
from tests.support.processes import ROOT, free_port, serve, stop, wait_ready

LONG = "Parliament " + "approves the long awaited budget after a debate " * 8  # past the token cap
TRAINING = ("torch", "transformers", "peft", "accelerate", "datasets", "sklearn", "scikit_learn", "scipy")


@pytest.fixture(scope="module")
def lean_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This environment's packages less the training stack (``train`` extra), as links in a folder:
    a fresh interpreter with only it and this checkout on its path is a lean install's."""
    site = tmp_path_factory.mktemp("lean-site")
    installed = Path(httpx.__file__).parents[1]  # the site-packages this environment installs into
    for entry in installed.iterdir():
        if not entry.name.replace("-", "_").lower().startswith(TRAINING):
            (site / entry.name).symlink_to(entry)
    return site


def _engine(engine: str):
    return get_settings().model_copy(update={"engine": engine})


def test_the_default_model_on_onnx_stays_close_to_fp32_with_the_int8_calibration() -> None:
    onnx, fp32 = Scorer.load("default", _engine("onnx")), Scorer.load("default", _engine("fp32"))
    texts = NEWS + CLICKBAIT + [LONG, "ok"]
    spec = read_manifest(default_model_dir()).int8
    assert onnx.engine == "onnx" and onnx.threshold == spec.threshold != fp32.threshold
    assert onnx.manifest.temperature == spec.temperature
    np.testing.assert_allclose(onnx.outputs(texts, batch_size=4), fp32.outputs(texts), atol=0.35)
    assert np.abs(onnx.probabilities(texts) - fp32.probabilities(texts)).max() < 0.05
    assert [p.label for p in onnx.score(texts)] == [p.label for p in fp32.score(texts)]
    kinds_layer = onnx.manifest.kinds_layer
    np.testing.assert_allclose(
        onnx.embeddings(texts, layer=kinds_layer), fp32.embeddings(texts, layer=kinds_layer), atol=0.05
    )
    with pytest.raises(ValueError, match="onnx engine reads layers"):
        onnx.embeddings(texts, layer=3)  # the graph gives only the layers the heads read


def test_the_graph_is_built_once_per_artifact_and_shared_by_a_routed_model(tmp_path) -> None:
    """A retrain's routed shape on the onnx engine: the fallback's head differs, its graph does not,
    so both networks run the one cached graph; each still scores with its own head."""
    routed, fallback = tmp_path / "routed", tmp_path / "routed" / FALLBACK_DIR
    shutil.copytree(default_model_dir(), routed)
    shutil.copytree(default_model_dir(), fallback)
    head = load_file(str(fallback / HEAD_FILE))
    save_file({**head, "bias": head["bias"] + 1.5}, str(fallback / HEAD_FILE))
    mine = read_manifest(routed)
    write_manifest(
        routed, mine.model_copy(update={"routing": Routing(languages=["en"], fallback_version="x")})
    )
    settings = _engine("onnx")
    graph = quantised_graph(routed, read_manifest(routed), settings.cache_dir)
    built = graph.stat().st_mtime_ns
    scorer = Scorer.load(routed, settings)
    assert scorer.engine == scorer.fallback.engine == "onnx"
    assert quantised_graph(fallback, read_manifest(fallback), settings.cache_dir) == graph
    assert graph.stat().st_mtime_ns == built  # found in the cache, not built again
    assert scorer.backend.w["q4.packed"] is scorer.fallback.backend.w["q4.packed"]  # one table
    texts, langs = NEWS[:2] + CLICKBAIT[:2], ["en", "en", "ro", "ro"]
    own = Scorer.load(default_model_dir(), settings)
    np.testing.assert_allclose(scorer.probabilities(texts[:2], langs=langs[:2]), own.probabilities(texts[:2]))
    handed = scorer.probabilities(texts[2:], langs=langs[2:])
    assert (handed > own.probabilities(texts[2:], langs=langs[2:])).all()  # the fallback's +1.5


def _lean_python(site: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter without site-packages (``-S``), on ``site`` and this checkout."""
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)])},
        check=False,
    )


@pytest.mark.slow
def test_scoring_and_the_service_import_no_torch(lean_site: Path) -> None:
    done = _lean_python(
        lean_site,
        "import sys\n"
        "from classifier.scorer import Scorer\n"
        "import service.api.app, service.cli.main\n"
        "scorer = Scorer.load('default')\n"
        f"print(scorer.engine, [p.label for p in scorer.score({[NEWS[0], CLICKBAIT[0]]!r})])\n"
        "assert not {'torch', 'transformers', 'peft'} & set(sys.modules), sorted(sys.modules)\n",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["onnx", "['news',", "'clickbait']"]


def test_a_training_command_without_the_train_extra_says_so_in_one_line(lean_site: Path, tmp_path) -> None:
    done = _lean_python(
        lean_site,
        "import sys\nfrom service.cli.main import main\nsys.exit(main(sys.argv[1:]))",
        "train",
        "--config",
        str(ROOT / "training" / "configs" / "default.toml"),
        "--out",
        str(tmp_path / "model"),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "clickbait train: error: clickbait train needs the 'train' extra (torch is not installed): "
        "pip install 'clickbait-classifier[train]'"
    ]


@pytest.mark.slow
def test_a_server_on_the_onnx_engine_never_maps_torch(tmp_path: Path) -> None:
    port = free_port()
    process = serve(Path("default"), port, CLICKBAIT_ENGINE="onnx", CLICKBAIT_DATA_DIR=str(tmp_path))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        answer = httpx.post(f"{url}/v1/score", json={"headlines": [NEWS[0], CLICKBAIT[0]]}, timeout=60)
        assert [r["label"] for r in answer.json()["results"]] == ["news", "clickbait"]
        assert httpx.get(f"{url}/health").json()["engine"] == "onnx"
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        assert "libtorch" not in maps and "/torch/" not in maps
        assert "onnxruntime" in maps
    finally:
        stop(process)
