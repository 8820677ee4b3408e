"""Labels in bulk: `clickbait labels import` stores a file whole or not at all; `export` writes
them back; one request's label limit is the same in the code, the OpenAPI schema and the docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from service.api.schemas import MAX_LABELS_PER_REQUEST
from service.cli import main
from service.settings import ServiceSettings
from service.store.db import make_engine
from service.store.label_store import LabelStore
from tests.support.data import write_jsonl

KEY = "bulk-editor-key"
ROOT = Path(__file__).resolve().parents[2]


def _store() -> LabelStore:
    return LabelStore(make_engine(ServiceSettings().database))


def test_a_bad_file_is_refused_with_its_line_and_nothing_of_it_is_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = {"headline": "Primarul a inaugurat podul", "label": "news", "lang": "ro", "source": "a.ro"}
    bad = write_jsonl(tmp_path / "bad.jsonl", [good, {"text": "Nu o să-ți vină să crezi", "label": "maybe"}])
    assert main(["labels", "import", str(bad)]) == 2
    assert "bad.jsonl:2: unknown label 'maybe'" in capsys.readouterr().err
    long = tmp_path / "long.csv"
    long.write_text(f"text,label\nShort and fine,news\n{'x' * 1001},clickbait\n", encoding="utf-8")
    assert main(["labels", "import", str(long)]) == 2
    assert "long.csv:3: the headline has 1001 characters; the limit is 1000" in capsys.readouterr().err
    assert _store().count() == 0


def test_import_then_export_round_trips_and_keeps_the_latest_label(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rows = [
        {"headline": "Primarul a inaugurat podul", "label": "news", "lang": "ro", "source": "a.ro"},
        {"text": "Nu o să-ți vină să crezi ce a făcut", "label": "1"},
    ]
    assert main(["labels", "import", str(write_jsonl(tmp_path / "first.jsonl", rows)), "--author", "ed"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "stored": 2,
        "conflicts": 0,
        "file": str(tmp_path / "first.jsonl"),
    }
    csv = tmp_path / "again.csv"
    csv.write_text("headline,label\nPrimarul a inaugurat podul,clickbait\n", encoding="utf-8")
    assert main(["labels", "import", str(csv)]) == 0
    assert json.loads(capsys.readouterr().out)["conflicts"] == 1
    out = tmp_path / "export.jsonl"
    assert main(["labels", "export", str(out)]) == 0
    exported = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert exported == [
        {"text": "Nu o să-ți vină să crezi ce a făcut", "label": "clickbait"},
        {"text": "Primarul a inaugurat podul", "label": "clickbait"},
    ]
    assert {row.author for row in _store().page(limit=10).labels} == {"ed", "import"}


def test_the_label_limit_agrees_in_code_schema_and_docs(shared_server) -> None:
    server = shared_server(admin_keys=f"editor:{KEY}")  # headlines of its own; it reads no list
    schema = httpx.get(f"{server.url}/openapi.json").json()["components"]["schemas"]["LabelsRequest"]
    assert schema["properties"]["labels"]["maxItems"] == MAX_LABELS_PER_REQUEST
    labels = [
        {"headline": f"Headline number {i} of the batch", "label": "news"}
        for i in range(MAX_LABELS_PER_REQUEST)
    ]
    auth = {"Authorization": f"Bearer {KEY}"}
    assert httpx.post(f"{server.url}/v1/labels", json={"labels": labels}, headers=auth).status_code == 200
    too_many = labels + [{"headline": "One too many", "label": "news"}]
    assert httpx.post(f"{server.url}/v1/labels", json={"labels": too_many}, headers=auth).status_code == 422
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *ROOT.glob("docs/**/*.md")])
    stated = re.findall(r"POST /v1/labels`[^\n]*?up to ([\d,]+)", docs)
    assert stated and {int(n.replace(",", "")) for n in stated} == {MAX_LABELS_PER_REQUEST}
