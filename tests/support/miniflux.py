"""A local HTTP double of Miniflux's entry API (Miniflux itself cannot run here): real HTTP on
127.0.0.1, answering as miniflux/v2's internal/api/entry_handlers.go does for the calls this
project makes, and recording every request exactly (method, path, query, X-Auth-Token, body); and
``sweep``, ``clickbait miniflux sweep`` run against it as a user runs it."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

MAX_ENTRY_LIMIT = 1000  # Miniflux's model.MaxEntryLimit


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    query: dict[str, list[str]]
    token: str | None
    body: object  # the decoded JSON body, None without one


def entry(
    entry_id: int, title: str, feed_id: int, category_id: int, status: str = "unread", starred: bool = False
) -> dict:
    """An entry as Miniflux lists it (the fields this project reads, and the feed and category ids)."""
    return {
        "id": entry_id,
        "feed_id": feed_id,
        "status": status,
        "starred": starred,
        "title": title,
        "url": f"https://feed{feed_id}.example/{entry_id}",
        "feed": {"id": feed_id, "category": {"id": category_id}},
    }


class MinifluxDouble:
    def __init__(self, token: str, entries: list[dict]) -> None:
        self.token = token
        self.entries = {e["id"]: copy.deepcopy(e) for e in entries}
        self.sent: list[Sent] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()

    def _list(self, query: dict[str, list[str]]) -> tuple[int, dict]:
        limit = int(query.get("limit", ["100"])[0])
        if limit > MAX_ENTRY_LIMIT:
            return 400, {"error_message": f"limit value should be <= {MAX_ENTRY_LIMIT}"}
        statuses = query.get("status", [])
        feed_id, category_id = (int(query.get(k, ["0"])[0]) for k in ("feed_id", "category_id"))
        after = int(query.get("after_entry_id", ["0"])[0])
        starred = query.get("starred", [""])[0]  # Miniflux reads "true" or "1" as starred only
        chosen = [
            e
            for e in self.entries.values()
            if (not statuses or e["status"] in statuses)
            and (starred not in ("true", "1") or e["starred"])
            and (not feed_id or e["feed_id"] == feed_id)
            and (not category_id or e["feed"]["category"]["id"] == category_id)
            and e["id"] > after
        ]
        chosen.sort(key=lambda e: e["id"], reverse=query.get("direction", ["asc"])[0] == "desc")
        offset = int(query.get("offset", ["0"])[0])
        return 200, {"total": len(chosen), "entries": copy.deepcopy(chosen[offset : offset + limit])}

    def _update(self, method: str, path: str, body: object) -> tuple[int, object]:
        if method == "PUT" and path == "/v1/entries":
            if not isinstance(body, dict) or body.get("status") not in ("read", "unread", "removed"):
                return 400, {"error_message": "invalid entry status"}
            for entry_id in body["entry_ids"]:
                if entry_id in self.entries:
                    self.entries[entry_id]["status"] = body["status"]
            return 204, None
        one = re.fullmatch(r"/v1/entries/(\d+)", path)
        if method == "PUT" and one:
            if not isinstance(body, dict) or body.get("title") == "":
                return 400, {"error_message": "the entry title cannot be empty"}
            found = self.entries.get(int(one.group(1)))
            if found is None:
                return 404, {"error_message": "Not Found"}
            if body.get("title"):
                found["title"] = body["title"]
            return 201, copy.deepcopy(found)
        return 404, {"error_message": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                token = self.headers.get("X-Auth-Token")
                query = parse_qs(url.query)
                with double._lock:
                    double.sent.append(Sent(self.command, url.path, query, token, body))
                    if token != double.token:
                        status, answer = 401, {"error_message": "Access Unauthorized"}
                    elif self.command == "GET" and url.path == "/v1/entries":
                        status, answer = double._list(query)
                    else:
                        status, answer = double._update(self.command, url.path, body)
                payload = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = _answer

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def sweep(
    double: MinifluxDouble, model: Path, *args: str, token: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``clickbait miniflux sweep --model MODEL ARGS`` against ``double`` with ``token``, in a process
    of its own (``env`` added to its environment), its output captured."""
    env = {
        **os.environ,
        **(env or {}),
        "CLICKBAIT_MINIFLUX_URL": double.url,
        "CLICKBAIT_MINIFLUX_TOKEN": token,
    }
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "miniflux", "sweep", "--model", str(model), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
