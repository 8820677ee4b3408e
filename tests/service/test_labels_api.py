"""Label routes on real servers: access rules, validation, paging, export, suggestions. The tests of
stored labels share one server and empty its label store first; suggestions and rate limits, which
the server keeps in memory, get a server of their own."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.models import TRIGGER
from tests.support.servers import Running, empty_store

KEY = "k3y-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture()
def editors(shared_server) -> Running:
    """The shared server where ana (KEY) and bo ("other") may write, its label store empty."""
    running = shared_server(admin_keys=f"ana:{KEY},bo:other")
    empty_store(running)
    return running


def test_writes_need_a_valid_key_and_reads_are_open_by_default(editors: Running) -> None:
    url = editors.url
    body = {"labels": [{"headline": "Budget approved", "label": "news"}]}
    missing = httpx.post(f"{url}/v1/labels", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["error_type"] == "unauthorized"
    assert (
        httpx.post(f"{url}/v1/labels", json=body, headers={"Authorization": "Bearer wrong"}).status_code
        == 403
    )
    assert httpx.post(f"{url}/v1/labels", json=body, headers={"Authorization": KEY}).status_code == 401
    assert httpx.post(f"{url}/v1/labels", json=body, headers=AUTH).status_code == 200
    assert httpx.get(f"{url}/v1/labels").json()["labels"][0]["by"] == "ana"
    assert httpx.post(f"{url}/v1/models/rollback").status_code == 401


def test_no_configured_keys_means_no_writes(server) -> None:
    url = server.url
    response = httpx.post(
        f"{url}/v1/labels", json={"labels": [{"headline": "x", "label": "news"}]}, headers=AUTH
    )
    assert response.status_code == 403 and "CLICKBAIT_ADMIN_KEYS" in response.json()["error"]


def test_reads_can_require_a_key(shared_server) -> None:
    url = shared_server(admin_keys=KEY, require_key_for_read=True).url
    for route in ("/v1/labels", "/v1/labels/export", "/v1/labels/suggestions", "/v1/models", "/v1/jobs"):
        assert httpx.get(f"{url}{route}").status_code == 401, route
        assert httpx.get(f"{url}{route}", headers=AUTH).status_code == 200, route
    assert httpx.post(f"{url}/v1/score", json={"headlines": ["still open"]}).status_code == 200


def test_bad_labels_are_refused_whole(editors: Running) -> None:
    url = editors.url
    for labels, status in (
        ([{"headline": "x", "label": "maybe"}], 422),
        ([{"headline": "x", "label": "news", "extra": 1}], 422),
        ([{"headline": "   ", "label": "news"}], 422),
        ([{"headline": "x" * 1001, "label": "news"}], 422),
        ([], 422),
    ):
        response = (
            httpx.post(
                f"{url}/v1/labels",
                json={"labels": [{"headline": "ok", "label": "news"}, *labels]},
                headers=AUTH,
            )
            if labels
            else httpx.post(f"{url}/v1/labels", json={"labels": []}, headers=AUTH)
        )
        assert response.status_code == status, (labels, response.text)
        assert set(response.json()) == {"error", "error_type"}
    assert httpx.get(f"{url}/v1/labels").json()["labels"] == []


def test_relabelling_reports_conflicts_and_export_streams_the_latest(editors: Running) -> None:
    url = editors.url
    first = [{"headline": f"Headline {i}", "label": "news", "lang": "en"} for i in range(5)]
    httpx.post(f"{url}/v1/labels", json={"labels": first}, headers=AUTH)
    again = httpx.post(
        f"{url}/v1/labels",
        json={"labels": [{"headline": "headline 3", "label": "clickbait"}]},
        headers={"Authorization": "Bearer other"},
    ).json()
    assert [(c["label"], c["previous_label"], c["previous_by"]) for c in again["conflicts"]] == [
        ("clickbait", "news", "ana")
    ]

    page = httpx.get(f"{url}/v1/labels", params={"limit": 2}).json()
    assert len(page["labels"]) == 2 and page["next_after"] == page["labels"][-1]["id"]
    rest = httpx.get(f"{url}/v1/labels", params={"after": page["next_after"], "limit": 10}).json()
    assert len(rest["labels"]) == 4 and rest["next_after"] is None
    assert len(httpx.get(f"{url}/v1/labels", params={"conflicting": True}).json()["labels"]) == 2

    export = httpx.get(f"{url}/v1/labels/export")
    assert export.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert len(rows) == 5 and {"text": "headline 3", "label": "clickbait"} in rows


def test_suggestions_are_unlabelled_recent_headlines_nearest_the_threshold(make_server) -> None:
    url = make_server(admin_keys=KEY).url
    headlines = ["Plain news about rates", f"{TRIGGER} video of the year", "Another plain item"]
    httpx.post(f"{url}/v1/score", json={"headlines": headlines})
    # the known model scores plain text at sigmoid(-3) and TRIGGER near 1: plain is nearer 0.5
    suggested = httpx.get(f"{url}/v1/labels/suggestions", params={"limit": 2}).json()
    assert suggested["threshold"] == 0.5
    assert {s["headline"] for s in suggested["suggestions"]} == {
        "Plain news about rates",
        "Another plain item",
    }
    httpx.post(
        f"{url}/v1/labels",
        json={"labels": [{"headline": "Another plain item", "label": "news"}]},
        headers=AUTH,
    )
    left = httpx.get(f"{url}/v1/labels/suggestions").json()["suggestions"]
    assert [s["headline"] for s in left] == ["Plain news about rates", f"{TRIGGER} video of the year"]


def test_each_key_is_rate_limited_on_its_own(make_server) -> None:
    url = make_server(admin_keys=f"ana:{KEY},bo:other", key_rate_per_minute=3).url
    body = {"labels": [{"headline": "Budget approved", "label": "news"}]}
    statuses = [httpx.post(f"{url}/v1/labels", json=body, headers=AUTH).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = httpx.post(f"{url}/v1/labels", json=body, headers=AUTH)
    assert limited.json()["error_type"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    assert (
        httpx.post(f"{url}/v1/labels", json=body, headers={"Authorization": "Bearer other"}).status_code
        == 200
    )


def test_cors_is_off_by_default_and_configurable(shared_server) -> None:
    preflight = {"Origin": "https://editor.example", "Access-Control-Request-Method": "POST"}
    closed = shared_server().url
    assert "access-control-allow-origin" not in httpx.options(f"{closed}/v1/score", headers=preflight).headers
    opened = shared_server(cors_origins="https://editor.example").url
    answer = httpx.options(f"{opened}/v1/score", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://editor.example"
    other = httpx.options(f"{opened}/v1/score", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
