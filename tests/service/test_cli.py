"""The ``clickbait`` console script, run as a user runs it (subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.data import CLICKBAIT, NEWS, write_jsonl
from tests.support.processes import clickbait

METRIC_KEYS = {"n", "accuracy", "macro_f1", "clickbait_f1", "roc_auc", "ece"}


@pytest.mark.slow
def test_score_arguments_and_stdin_with_the_default_model() -> None:
    result = clickbait("score", NEWS[0], CLICKBAIT[0])
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["headline"] for r in lines] == [NEWS[0], CLICKBAIT[0]]
    assert all(
        set(r) == {"headline", "score", "label", "lang", "validated", "bait", "tabloid"}
        and all(0 <= r[k] <= 1 for k in ("score", "bait", "tabloid"))
        for r in lines
    )
    assert [(r["lang"], r["validated"]) for r in lines] == [("en", True), ("en", True)]
    assert lines[1]["score"] > lines[0]["score"]

    piped = clickbait("score", "--threshold", "0.0", stdin=f"{NEWS[1]}\n\n{CLICKBAIT[1]}\n")
    assert piped.returncode == 0, piped.stderr
    assert [json.loads(line)["label"] for line in piped.stdout.splitlines()] == ["clickbait", "clickbait"]


def test_score_without_headlines_is_a_clear_error() -> None:
    result = clickbait("score", stdin="")
    assert result.returncode == 2 and "no headlines" in result.stderr
    assert clickbait("score", "--threshold", "2", "x").returncode == 2


@pytest.mark.slow
def test_evaluate_prints_the_design_json(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "sample-set.jsonl",
        [{"text": t, "label": "news", "lang": "en"} for t in NEWS]
        + [{"text": t, "label": 1, "lang": "en"} for t in CLICKBAIT],
    )
    result = clickbait("evaluate", "--model", "default", "--data", str(data), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"model", "files", "overall"} and list(report["files"]) == ["sample-set"]
    assert METRIC_KEYS <= set(report["files"]["sample-set"]) and METRIC_KEYS <= set(report["overall"])
    assert report["overall"]["n"] == len(NEWS) + len(CLICKBAIT)
    assert report["files"]["sample-set"]["confusion"] and "en" in report["overall"]["languages"]
    table = clickbait("evaluate", "--data", str(data))
    assert table.returncode == 0 and "sample-set" in table.stdout and "macro_f1" in table.stdout


@pytest.mark.slow
def test_train_then_evaluate_a_new_model(tmp_path: Path, train_file: Path, tiny_base: Path) -> None:
    out = tmp_path / "mine"
    result = clickbait(
        "train",
        "--data",
        str(train_file),
        "--out",
        str(out),
        "--base",
        str(tiny_base),
        "--samples-per-epoch",
        "32",
        "--batch-size",
        "16",
        "--holdout-fraction",
        "0.25",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["out"] == str(out) and "training" in result.stderr
    evaluated = clickbait("evaluate", "--model", str(out), "--data", str(train_file), "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["overall"]["n"] == 64


@pytest.mark.slow
def test_bad_training_data_names_the_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = write_jsonl(
        tmp_path / "bad.jsonl", [{"text": "fine", "label": "news"}, {"text": "", "label": "news"}]
    )
    out = tmp_path / "never"
    result = clickbait("train", "--data", str(bad), "--out", str(out))
    assert result.returncode == 2 and "bad.jsonl:2: 'text' is empty" in result.stderr
    assert not out.exists() and "Traceback" not in result.stderr
    missing = clickbait("train", "--data", str(tmp_path / "nope.jsonl"), "--out", str(out))
    assert missing.returncode == 2 and "data files not found" in missing.stderr


def test_a_broken_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = clickbait("score", "--model", str(tmp_path), "headline")
    assert result.returncode == 2 and "manifest.json is missing" in result.stderr
