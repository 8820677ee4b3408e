"""The HTTP contract, against a real uvicorn on 127.0.0.1 serving a model with a known answer: the
session's shared servers, but a server of its own for a test of start-up or shutdown."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import httpx
import pytest

from tests.support.models import TRIGGER

NEWS = "Parliament approves the budget after a long debate"
BAIT = f"{TRIGGER} photos of the mayor at the beach"


def post(url: str, path: str, body: dict, timeout: float = 30) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=timeout)


def metric(url: str, name: str, labels: str = "") -> float:
    text = httpx.get(f"{url}/metrics").text
    pattern = rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+-]+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_score_contract(server) -> None:
    response = post(server.url, "/v1/score", {"headlines": [NEWS, BAIT]})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "known-1" and body["threshold"] == 0.5
    news, bait = body["results"]
    assert news["headline"] == NEWS and news["label"] == "news" and news["score"] < 0.1
    assert bait["label"] == "clickbait" and bait["score"] > 0.9
    assert set(news) == {"headline", "score", "label", "lang", "validated"}
    assert news["validated"] is False  # the known model names no validated language
    strict = post(server.url, "/v1/score", {"headlines": [NEWS], "threshold": 0.0}).json()
    assert strict["threshold"] == 0.0 and strict["results"][0]["label"] == "clickbait"


def test_operations_routes(server) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/ready").json() == {"status": "ready", "model": "known-1"}
    info = httpx.get(f"{server.url}/info").json()
    assert info["model"] == "known-1" and info["labels"] == ["news", "clickbait"]
    assert info["limits"]["max_headlines"] == 256 and "torch" in info["versions"]
    assert info["engine"] == "fp32"  # the known model has no int8 calibration
    assert httpx.get(f"{server.url}/openapi.json").json()["paths"]["/v1/score"]
    assert httpx.get(f"{server.url}/docs").status_code == 200
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "/docs" in page.text and "<textarea" in page.text


def test_model_that_fails_to_load_keeps_ready_at_503(make_server, tmp_path) -> None:
    running = make_server(wait_ready=False, model=str(tmp_path))
    ready = httpx.get(f"{running.url}/ready")
    assert ready.status_code == 503 and "manifest.json is missing" in ready.json()["error"]
    assert httpx.get(f"{running.url}/health").status_code == 200
    scored = post(running.url, "/v1/score", {"headlines": [NEWS]})
    assert scored.status_code == 503 and scored.json()["error_type"] == "not_ready"


@pytest.mark.parametrize(
    ("send", "status", "error_type", "mentions"),
    [
        ({"json": {"headlines": []}}, 422, "validation_error", "headlines"),
        ({"json": {"headlines": [5]}}, 422, "validation_error", "string"),
        ({"json": {"headlines": "one"}}, 422, "validation_error", "headlines"),
        ({"json": {"headlines": ["  "]}}, 422, "empty_headline", "empty"),
        ({"json": {"headlines": ["x" * 1001]}}, 422, "headline_too_long", "1000"),
        ({"json": {"headlines": ["a"] * 257}}, 413, "too_many_headlines", "256"),
        ({"json": {"headlines": ["a"], "threshold": 2}}, 422, "validation_error", "threshold"),
        ({"json": {"headlines": ["a"], "bogus": 1}}, 422, "validation_error", "bogus"),
        (
            {"content": b'{"headlines": [', "headers": {"content-type": "application/json"}},
            400,
            "malformed_json",
            "JSON",
        ),
        (
            {"content": b"headline", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
            "application/json",
        ),
        ({"content": b"", "headers": {"content-type": "application/json"}}, 422, "validation_error", "body"),
        (
            {"json": {"headlines": ["a"], "explain": True} | {"headlines": ["a"] * 9}},
            413,
            "too_many_to_explain",
            "8",
        ),
    ],
)
def test_bad_input_gets_the_error_shape(server, send, status, error_type, mentions) -> None:
    response = httpx.post(f"{server.url}/v1/score", timeout=30, **send)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_type"} and body["error_type"] == error_type
    assert mentions in body["error"] and "Traceback" not in body["error"]


def test_unknown_routes_and_methods_use_the_error_shape(server) -> None:
    missing = httpx.get(f"{server.url}/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error_type"] == "not_found"
    wrong = httpx.get(f"{server.url}/v1/score")
    assert wrong.status_code == 405 and set(wrong.json()) == {"error", "error_type"}


def test_oversized_body_is_refused(shared_server) -> None:
    running = shared_server(max_body_bytes=2048)
    response = post(running.url, "/v1/score", {"headlines": ["word " * 100] * 10})
    assert response.status_code == 413 and response.json()["error_type"] == "payload_too_large"


def test_metrics_follow_traffic_and_cache_hits(server) -> None:
    before = metric(server.url, "clickbait_requests_total", '{route="/v1/score",status="200"}')
    post(server.url, "/v1/score", {"headlines": ["first unique headline", "second unique one"]})
    post(server.url, "/v1/score", {"headlines": ["first unique headline"]})
    after = metric(server.url, "clickbait_requests_total", '{route="/v1/score",status="200"}')
    assert after == before + 2
    assert metric(server.url, "clickbait_cache_hits_total") >= 1
    assert metric(server.url, "clickbait_cache_misses_total") >= 2
    assert metric(server.url, "clickbait_headlines_scored_total") >= 3
    assert metric(server.url, "clickbait_model_batch_size_count") >= 1
    assert metric(server.url, "clickbait_request_seconds_count", '{route="/v1/score"}') >= 2
    assert "clickbait_model_info{base=" in httpx.get(f"{server.url}/metrics").text


async def _concurrent(url: str, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(client.post(f"{url}/v1/score", json=b) for b in bodies))


def test_concurrent_requests_share_model_calls(shared_server) -> None:
    running = shared_server(batch_wait_ms=100, cache_size=0)
    calls_before = metric(running.url, "clickbait_model_calls_total")
    responses = asyncio.run(_concurrent(running.url, [{"headlines": [f"headline {i}"]} for i in range(40)]))
    assert all(r.status_code == 200 for r in responses)
    assert [r.json()["results"][0]["headline"] for r in responses] == [f"headline {i}" for i in range(40)]
    calls = metric(running.url, "clickbait_model_calls_total") - calls_before
    assert 1 <= calls < 20, calls


def test_an_overfilled_queue_answers_429(shared_server) -> None:
    running = shared_server(batch_wait_ms=300, queue_size=8, cache_size=0)
    bodies = [{"headlines": [f"h{i} a", f"h{i} b", f"h{i} c", f"h{i} d"]} for i in range(12)]
    responses = asyncio.run(_concurrent(running.url, bodies))
    statuses = sorted(r.status_code for r in responses)
    assert 200 in statuses and 429 in statuses, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["retry-after"] == "1" and refused.json()["error_type"] == "overloaded"


def test_a_client_that_leaves_leaves_no_work(shared_server) -> None:
    running = shared_server(batch_wait_ms=400, cache_size=0)
    calls_before = metric(running.url, "clickbait_model_calls_total")
    left_before = metric(running.url, "clickbait_requests_total", '{route="/v1/score",status="499"}')
    with pytest.raises(httpx.ReadTimeout):
        post(running.url, "/v1/score", {"headlines": ["nobody waits for this"]}, timeout=0.1)
    time.sleep(0.8)
    assert metric(running.url, "clickbait_model_calls_total") == calls_before
    left = metric(running.url, "clickbait_requests_total", '{route="/v1/score",status="499"}')
    assert left == left_before + 1


def test_explanations_point_at_the_word_that_matters(server) -> None:
    body = post(server.url, "/v1/explain", {"headline": BAIT}).json()
    words = body["results"][0]["words"]
    assert [w["word"] for w in words] == BAIT.split()
    top = max(words, key=lambda w: w["contribution"])
    assert top["word"] == TRIGGER and top["contribution"] > 0.5
    assert all(abs(w["contribution"]) < 0.1 for w in words if w["word"] != TRIGGER)
    inline = post(server.url, "/v1/score", {"headlines": [NEWS, BAIT], "explain": True}).json()
    assert inline["results"][1]["words"] == words and inline["results"][0]["words"]


def test_graceful_shutdown_finishes_requests_in_flight(make_server) -> None:
    running = make_server(batch_wait_ms=500, cache_size=0)
    result: dict = {}
    client = threading.Thread(
        target=lambda: result.update(r=post(running.url, "/v1/score", {"headlines": [BAIT]}))
    )
    client.start()
    time.sleep(0.2)
    running.server.should_exit = True
    client.join(timeout=30)
    running.thread.join(timeout=30)
    assert result["r"].status_code == 200 and result["r"].json()["results"][0]["label"] == "clickbait"
