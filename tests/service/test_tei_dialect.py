"""text-embeddings-inference's classifier dialect against a real server: TEI's documented requests,
sent verbatim (its README and quick tour's curl lines, its OpenAPI request example), get answers of
TEI's documented shapes; ``truncate``, ``truncation_direction`` and ``raw_scores`` act as TEI's do."""

from __future__ import annotations

import math

import httpx
import pytest

from tests.support.models import TRIGGER

JSON = {"Content-Type": "application/json"}  # as the curl lines send it
# TEI's documented requests, byte for byte
SINGLE = '{"inputs":"I like you."}'
BATCH = '{"inputs":[["I like you."], ["I hate pineapples"]]}'
OPENAPI_EXAMPLE = (
    '{"inputs": "What is Deep Learning?", "truncate": false, "truncation_direction": "right", '
    '"raw_scores": false}'
)
LONG = " ".join(["word"] * 80)  # past the known model's 64 tokens


def predict(url: str, body: str | dict) -> httpx.Response:
    if isinstance(body, dict):
        return httpx.post(f"{url}/predict", json=body, timeout=30)
    return httpx.post(f"{url}/predict", content=body, headers=JSON, timeout=30)


def _is_prediction_list(answer: object) -> bool:
    """TEI's ``Vec<Prediction>``: ``{"score": float, "label": str}`` objects, highest score first."""
    return (
        isinstance(answer, list)
        and all(set(p) == {"score", "label"} and isinstance(p["score"], float) for p in answer)
        and [p["score"] for p in answer] == sorted((p["score"] for p in answer), reverse=True)
    )


def test_teis_documented_requests_get_teis_documented_shapes(server) -> None:
    for body in (SINGLE, OPENAPI_EXAMPLE):
        single = predict(server.url, body)
        assert single.status_code == 200 and _is_prediction_list(single.json())
        assert {p["label"] for p in single.json()} == {"news", "clickbait"}
        assert math.isclose(sum(p["score"] for p in single.json()), 1.0, rel_tol=1e-6)
    batch = predict(server.url, BATCH).json()
    assert len(batch) == 2 and all(_is_prediction_list(answer) for answer in batch)


def test_info_carries_teis_fields_beside_the_services_own(server) -> None:
    info = httpx.get(f"{server.url}/info").json()
    required = {  # TEI's Info: its required fields and their JSON types
        "model_id": str,
        "model_dtype": str,
        "served_model_name": str,
        "model_type": dict,
        "max_concurrent_requests": int,
        "max_input_length": int,
        "max_batch_tokens": int,
        "max_client_batch_size": int,
        "auto_truncate": bool,
        "tokenization_workers": int,
        "version": str,
    }
    assert {name: type(info[name]) for name in required} == required
    assert info["model_type"] == {
        "classifier": {"id2label": {"0": "news", "1": "clickbait"}, "label2id": {"news": 0, "clickbait": 1}}
    }
    assert info["model_id"] == info["model"] == "known-1" and info["model_dtype"] == "float32"
    assert info["max_input_length"] == 64 and info["max_client_batch_size"] == info["limits"]["max_headlines"]


def test_a_flat_list_is_a_batch_and_pairs_are_refused(server) -> None:
    flat = predict(server.url, {"inputs": ["Plain news", f"{TRIGGER} news"]}).json()
    assert [answer[0]["label"] for answer in flat] == ["news", "clickbait"]
    pair = predict(server.url, {"inputs": [["question", "passage"]]})
    assert pair.status_code == 422 and pair.json()["error_type"] == "validation_error"
    assert "pairs" in pair.json()["error"]


@pytest.mark.parametrize(
    ("headline", "direction", "label"),
    [
        (f"{TRIGGER} {LONG}", "right", "clickbait"),
        (f"{TRIGGER} {LONG}", "left", "news"),
        (f"{LONG} {TRIGGER}", "Right", "news"),
        (f"{LONG} {TRIGGER}", "Left", "clickbait"),
    ],
)
def test_truncation_direction_decides_what_is_read(server, headline: str, direction: str, label: str) -> None:
    answer = predict(server.url, {"inputs": headline, "truncation_direction": direction}).json()
    assert answer[0]["label"] == label


def test_truncate_false_refuses_what_the_model_cannot_read(server) -> None:
    refused = predict(server.url, {"inputs": [[LONG], ["short"]], "truncate": False})
    assert refused.status_code == 422 and refused.json()["error_type"] == "too_many_tokens"
    assert "headline 0" in refused.json()["error"] and "at most 64" in refused.json()["error"]
    assert predict(server.url, {"inputs": "short", "truncate": False}).status_code == 200


def test_raw_scores_are_the_exported_networks_logits(server) -> None:
    bait = f"{TRIGGER} photos of the mayor at the beach"
    p = httpx.post(f"{server.url}/v1/score", json={"headlines": [bait]}).json()["results"][0]["score"]
    raw = predict(server.url, {"inputs": bait, "raw_scores": True}).json()
    half = math.log(p / (1 - p)) / 2
    assert [p["label"] for p in raw] == ["clickbait", "news"]
    assert math.isclose(raw[0]["score"], half, rel_tol=1e-5) and math.isclose(
        raw[1]["score"], -half, rel_tol=1e-5
    )


def test_more_inputs_than_allowed_is_413_as_here_not_422_as_in_tei(shared_server) -> None:
    running = shared_server(max_headlines=2)
    refused = predict(running.url, {"inputs": [["a"], ["b"], ["c"]]})
    assert refused.status_code == 413 and refused.json()["error_type"] == "too_many_headlines"
