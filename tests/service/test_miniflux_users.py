"""Several Miniflux users (``CLICKBAIT_MINIFLUX_USERS``) beside the single token and secret: each
webhook verified with its own user's secret and acted on with that user's API key, and
``clickbait miniflux sweep`` run for each user. Miniflux is the local HTTP double of its entry API,
one per user behind one address, each checking the exact requests it gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from service.settings import ServiceSettings
from tests.support.miniflux import MinifluxDouble, Sent, entry
from tests.support.miniflux import sweep as run_sweep
from tests.support.models import TRIGGER

BAIT, NEWS = f"{TRIGGER}: what the star did on holiday", "Parliament passes the budget"
USERS = {"alice": ("tok-alice", "secret-alice"), "bob": ("tok-bob", "secret-bob")}
SINGLE = ("tok-single", "secret-single")  # CLICKBAIT_MINIFLUX_TOKEN and _WEBHOOK_SECRET
LISTED = ",".join(f"{name}:{token}:{secret}" for name, (token, secret) in USERS.items())
LISTING = {"status": ["unread"], "order": ["id"], "direction": ["asc"], "limit": ["250"]}


class OneAddress:
    """One Miniflux address for several users, as one Miniflux serves them: each request goes to the
    double of the user whose API key it carries (an unknown key gets Miniflux's 401)."""

    def __init__(self, doubles: dict[str, MinifluxDouble]) -> None:
        self.doubles = doubles
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        for double in self.doubles.values():
            double.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        doubles = self.doubles

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                token = self.headers.get("X-Auth-Token") or ""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if token not in doubles:
                    status, payload = 401, b'{"error_message": "Access Unauthorized"}'
                else:
                    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}
                    answer = httpx.request(
                        self.command, doubles[token].url + self.path, content=body, headers=headers
                    )
                    status, payload = answer.status_code, answer.content
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = _forward

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def entries(first_id: int) -> list[dict]:
    return [entry(first_id, NEWS, 1, 10), entry(first_id + 1, f"{BAIT} {first_id}", 1, 10)]


@pytest.fixture()
def miniflux() -> Iterator[OneAddress]:
    tokens = {"alice": 100, "bob": 200, None: 300}
    doubles = {
        token: MinifluxDouble(token, entries(tokens[name]))
        for name, token in [*((n, t) for n, (t, _) in USERS.items()), (None, SINGLE[0])]
    }
    address = OneAddress(doubles)
    yield address
    address.close()


def signed(body: bytes, secret: str) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Miniflux-Signature": signature, "X-Miniflux-Event-Type": "new_entries"}


def test_each_webhook_is_verified_with_its_own_users_secret(make_server, miniflux: OneAddress) -> None:
    running = make_server(
        miniflux_users=LISTED,
        miniflux_webhook_secret=SINGLE[1],
        miniflux_token=SINGLE[0],
        miniflux_url=miniflux.url,
    )
    hook = f"{running.url}/v1/integrations/miniflux"
    for name, first_id in (("alice", 100), ("bob", 200), (None, 300)):
        token, secret = USERS[name] if name else SINGLE
        body = json.dumps({"event_type": "new_entries", "entries": entries(first_id)}).encode()
        answer = httpx.post(hook, content=body, headers=signed(body, secret), timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json().get("user") == name and answer.json()["marked_read"] is True
        assert [e["id"] for e in answer.json()["clickbait"]] == [first_id + 1]
        marked = {"entry_ids": [first_id + 1], "status": "read"}
        assert miniflux.doubles[token].sent == [Sent("PUT", "/v1/entries", {}, token, marked)]
    body = json.dumps({"event_type": "new_entries", "entries": entries(400)}).encode()
    for secret in ("secret-carol", USERS["alice"][0]):  # nobody's secret; a user's API key
        refused = httpx.post(hook, content=body, headers=signed(body, secret), timeout=30)
        assert refused.status_code == 403 and refused.json()["error_type"] == "bad_signature"
    assert [len(d.sent) for d in miniflux.doubles.values()] == [1, 1, 1]


@pytest.mark.parametrize(
    ("listed", "single_secret", "problem"),
    [
        ("alice:tok-1:same,bob:tok-2:same", None, "share a webhook secret"),
        ("alice:tok-1:s1", "s1", "share a webhook secret"),
        ("alice:tok-1:s1,alice:tok-2:s2", None, "alice is listed twice"),
        ("alice:tok-1:s1,bob-without-a-secret:tok-2", None, "entry 2 is not name:token:secret"),
    ],
)
def test_users_that_cannot_be_told_apart_are_refused(
    listed: str, single_secret: str | None, problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(miniflux_users=listed, miniflux_webhook_secret=single_secret)
    assert problem in str(refused.value)
    assert not any(secret in str(refused.value) for secret in ("tok-1", "tok-2", ":same", ":s1", ":s2"))


@pytest.mark.slow
def test_the_sweep_acts_for_each_user_with_its_own_key(
    miniflux: OneAddress, known_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLICKBAIT_MINIFLUX_USERS", LISTED)  # beside the single pair's token

    def sweep(*args: str) -> subprocess.CompletedProcess:
        return run_sweep(miniflux, known_model, *args, token=SINGLE[0])

    done = sweep("--apply")
    assert done.returncode == 0, done.stderr
    # standard error: each user's progress bar, then its summary
    summaries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert [(s.get("user"), s["scanned"], s["clickbait"], s["applied"]) for s in summaries] == [
        (None, 2, 1, True),
        ("alice", 2, 1, True),
        ("bob", 2, 1, True),
    ]
    flagged = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(f.get("user"), f["id"]) for f in flagged] == [(None, 301), ("alice", 101), ("bob", 201)]
    for token, first_id in ((SINGLE[0], 300), (USERS["alice"][0], 100), (USERS["bob"][0], 200)):
        marked = {"entry_ids": [first_id + 1], "status": "read"}
        assert miniflux.doubles[token].sent == [
            Sent("GET", "/v1/entries", LISTING, token, None),
            Sent("PUT", "/v1/entries", {}, token, marked),
            Sent("GET", "/v1/entries", LISTING | {"after_entry_id": [str(first_id + 1)]}, token, None),
        ]

    only_bob = sweep("--user", "bob")
    assert only_bob.returncode == 0, only_bob.stderr
    assert json.loads(only_bob.stderr.strip().splitlines()[-1])["user"] == "bob"
    assert len(miniflux.doubles[SINGLE[0]].sent) == len(miniflux.doubles["tok-alice"].sent) == 3
    unknown = sweep("--user", "carol")
    assert unknown.returncode == 2
    assert (
        unknown.stderr.strip()
        == "clickbait miniflux: error: no Miniflux user named carol in CLICKBAIT_MINIFLUX_USERS"
    )
