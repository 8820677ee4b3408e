"""Per-language calibration: a headline's language reaches its correction in every engine without
moving a decision, an artifact without corrections (or with an older artifact's affine ones)
scores as before, and the fit recovers a known correction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from classifier.artifact import BaseRef, Int8Spec, LanguageCalibration, Manifest, read_manifest, save_artifact
from classifier.base import load_inference_encoder, resolve_base
from classifier.engine import activation_maxima, smoothing_scales
from classifier.network import HeadlineClassifier
from classifier.scorer import Scorer, calibrated
from tests.support.data import CLICKBAIT, NEWS, write_jsonl
from tests.support.processes import clickbait
from training.calibration import fit_languages

ENGLISH = "Parliament approves the state budget after a long debate in the capital"
GERMAN = "Der Bundestag beschließt das neue Heizungsgesetz nach langer Debatte"
SPANISH = "El Congreso aprueba la reforma de las pensiones tras un largo debate"
CORRECTION = {
    "en": LanguageCalibration(below=2.0, above=0.5, rows=600),
    "es": LanguageCalibration(below=0.4, above=0.4, rows=200),
}


def _artifact(tiny_base: Path, out: Path, languages: dict[str, LanguageCalibration]) -> Path:
    base = resolve_base(str(tiny_base))
    torch.manual_seed(0)
    network = HeadlineClassifier(load_inference_encoder(base.path)).eval()
    manifest = Manifest(
        version="t",
        base=BaseRef(name=base.name, sha256=base.sha256),
        method="full",
        temperature=1.3,
        threshold=0.5,
        languages=languages,
    )
    save_artifact(network, manifest, out, "# tiny\n")
    return out


def _expected(scorer: Scorer, texts: list[str], temperature: float) -> np.ndarray:
    """sigmoid(c + k · (z/T − c)) of each text's language, by hand: c the engine threshold's logit."""
    z = scorer.logits(texts) / temperature
    c = np.log(scorer.threshold / (1 - scorer.threshold))
    langs = scorer.languages(texts)
    neutral = LanguageCalibration(rows=0)
    k = np.array(
        [
            (lambda e: e.above if zi >= c else e.below)(CORRECTION.get(lang, neutral))
            for zi, lang in zip(z, langs, strict=True)
        ]
    )
    return 1 / (1 + np.exp(-(c + k * (z - c))))


def _moves_no_decision(scorer: Scorer, texts: list[str]) -> None:
    """The corrected scores fall on the same side of the engine's threshold as the global ones."""
    plain = calibrated(scorer.logits(texts), scorer.manifest.temperature)
    corrected = scorer.probabilities(texts)
    assert not np.allclose(plain, corrected)
    assert np.array_equal(plain >= scorer.threshold, corrected >= scorer.threshold)


def test_the_detected_language_reaches_its_correction_in_every_engine(tiny_base, tmp_path) -> None:
    model = _artifact(tiny_base, tmp_path / "model", CORRECTION)
    texts = [ENGLISH, GERMAN, SPANISH, ENGLISH]  # the repeat is detected once, scored twice
    fp32 = Scorer.load(model)
    assert fp32.engine == "fp32"
    assert fp32.languages(texts) == ["en", "de", "es", "en"]
    np.testing.assert_allclose(fp32.probabilities(texts), _expected(fp32, texts, 1.3), rtol=1e-6)
    plain = calibrated(fp32.logits(texts), 1.3)
    assert fp32.probabilities([GERMAN])[0] == plain[1]  # no entry: the global calibration alone
    assert fp32.probabilities([ENGLISH])[0] != plain[0]

    # a caller's language wins over the detected one
    given = fp32.probabilities([ENGLISH, GERMAN], langs=["es", None])
    spanish = calibrated(fp32.logits([ENGLISH]), 1.3, 0.4, 0.4)[0]  # the pivot is 0 at threshold 0.5
    np.testing.assert_allclose(given, [spanish, plain[1]], rtol=1e-6)

    predictions = fp32.score(texts)
    assert [(p.lang, p.validated) for p in predictions] == [
        ("en", True),
        ("de", False),
        ("es", True),
        ("en", True),
    ]
    assert [p.score for p in predictions] == [float(p) for p in fp32.probabilities(texts)]
    varied = [*NEWS, *CLICKBAIT, ENGLISH, SPANISH, GERMAN]
    _moves_no_decision(fp32, varied)
    numpy = Scorer.load(model, fp32.settings.model_copy(update={"engine": "numpy"}))
    assert numpy.engine == "numpy"
    np.testing.assert_allclose(numpy.probabilities(texts), _expected(numpy, texts, 1.3), rtol=1e-5)
    _moves_no_decision(numpy, varied)

    # int8: its own temperature and threshold from the artifact's int8 section, the same
    # per-language correction, hinged at int8's threshold
    maxima = activation_maxima(fp32.network, lambda: fp32.logits(NEWS + CLICKBAIT))
    scales = smoothing_scales(fp32.network, maxima, 0.8)
    save_file({k: v.contiguous() for k, v in scales.items()}, str(model / "int8_scales.safetensors"))
    spec = Int8Spec(safe=True, alpha=0.8, temperature=0.9, threshold=0.45, max_drop=0.005)
    manifest = read_manifest(model).model_copy(update={"int8": spec})
    (model / "manifest.json").write_text(manifest.model_dump_json())
    int8 = Scorer.load(model, fp32.settings.model_copy(update={"engine": "int8"}))
    assert int8.engine == "int8" and int8.manifest.temperature == 0.9 and int8.threshold == 0.45
    assert int8.manifest.languages == CORRECTION
    np.testing.assert_allclose(int8.probabilities(texts), _expected(int8, texts, 0.9), rtol=1e-6)
    assert [p.validated for p in int8.score(texts)] == [True, False, True, True]
    _moves_no_decision(int8, varied)
    # onnx: the same int8 form and calibration, run by ONNX Runtime
    onnx = Scorer.load(model, fp32.settings.model_copy(update={"engine": "onnx"}))
    assert onnx.engine == "onnx" and onnx.manifest.temperature == 0.9 and onnx.threshold == 0.45
    np.testing.assert_allclose(onnx.probabilities(texts), _expected(onnx, texts, 0.9), rtol=1e-5)
    assert [p.validated for p in onnx.score(texts)] == [True, False, True, True]
    _moves_no_decision(onnx, varied)


def test_an_artifact_without_corrections_scores_exactly_as_before(tiny_base, tmp_path) -> None:
    model = _artifact(tiny_base, tmp_path / "model", {})
    written = json.loads((model / "manifest.json").read_text())
    del written["languages"]  # as every artifact written before the field existed
    (model / "manifest.json").write_text(json.dumps(written))
    scorer = Scorer.load(model)
    assert scorer.manifest.languages == {}
    texts = [ENGLISH, GERMAN, *NEWS, *CLICKBAIT]
    logits = scorer.logits(texts)
    assert np.array_equal(scorer.probabilities(texts), 1.0 / (1.0 + np.exp(-logits / 1.3)))
    assert all(not p.validated for p in scorer.score(texts))  # nothing is claimed


def test_an_older_artifacts_affine_corrections_score_as_before(tiny_base, tmp_path) -> None:
    """Artifacts written before the hinge held sigmoid(scale · z/T + offset) per language."""
    model = _artifact(tiny_base, tmp_path / "model", {})
    written = json.loads((model / "manifest.json").read_text())
    written["threshold"] = 0.45
    written["languages"] = {"en": {"scale": 2.0, "offset": 0.75, "rows": 400}}
    (model / "manifest.json").write_text(json.dumps(written))
    scorer = Scorer.load(model)
    texts = [ENGLISH, *NEWS, *CLICKBAIT]
    z = scorer.logits(texts) / 1.3
    english = np.array(scorer.languages(texts)) == "en"
    expected = 1 / (1 + np.exp(-np.where(english, 2.0 * z + 0.75, z)))
    np.testing.assert_allclose(scorer.probabilities(texts), expected, rtol=1e-5)
    assert scorer.score([ENGLISH])[0].validated


def test_the_fit_recovers_a_known_correction_and_skips_small_languages() -> None:
    rng = np.random.default_rng(0)
    temperature, threshold = 2.0, 0.4
    pivot = np.log(threshold / (1 - threshold))
    z = rng.normal(0, 2.5, 20_000)
    truth = pivot + np.where(z >= pivot, 1.6, 0.7) * (z - pivot)
    labels = (rng.random(z.size) < 1 / (1 + np.exp(-truth))).astype(int)
    langs = np.array(["tr"] * 19_600 + ["es"] * 300 + ["de"] * 100)
    fitted = fit_languages(
        z * temperature, labels, langs, temperature, threshold, min_rows=150, min_two_sided_rows=500
    )
    assert set(fitted) == {"tr", "es"} and fitted["tr"].rows == 19_600 and fitted["es"].rows == 300
    assert abs(fitted["tr"].above - 1.6) < 0.1 and abs(fitted["tr"].below - 0.7) < 0.1
    assert fitted["tr"].offset == 0.0 and fitted["tr"].ece_after < fitted["tr"].ece_before
    assert fitted["es"].below == fitted["es"].above  # too few rows for a scale each side


def test_calibrate_fits_an_existing_model_from_its_recipe(tiny_base, tmp_path) -> None:
    model = _artifact(tiny_base, tmp_path / "model", {})
    rows = [{"text": f"{t} {i}", "label": i % 2, "lang": "en"} for i, t in enumerate((NEWS + CLICKBAIT) * 25)]
    rows += [{"text": f"{t} nr {i}", "label": 1, "lang": "ro"} for i, t in enumerate(NEWS * 4)]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'data = ["{data}"]\nout = "{tmp_path / "unused"}"\nbase = "{tiny_base}"\nholdout_fraction = 0.5\n'
    )
    before = Scorer.load(model).logits([ENGLISH])
    done = clickbait("calibrate", "--model", str(model), "--config", str(recipe), "--min-rows", "50")
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = read_manifest(model)
    assert set(manifest.languages) == {"en"}  # ro has ~16 held-out rows: not validated
    assert json.loads(done.stdout)["en"]["rows"] == manifest.languages["en"].rows >= 50
    assert manifest.temperature == 1.3 and manifest.threshold == 0.5  # only the corrections change
    assert "Calibrated per language" in (model / "README.md").read_text()
    after = Scorer.load(model)
    assert np.array_equal(after.logits([ENGLISH]), before)
    assert after.score([ENGLISH])[0].validated
