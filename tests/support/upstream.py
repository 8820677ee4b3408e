"""A feed host for the proxy's tests: one feed at /feed.xml, with or without validators, counting the
conditional requests it gets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Upstream:
    """A feed host: one feed at /feed.xml with an ETag and a Last-Modified (or neither), answering 304
    to a request whose conditions match; ``asked`` holds each request's conditional headers."""

    body: bytes
    validators: bool = True
    version: int = 1
    asked: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def change(self, body: bytes) -> None:
        self.body, self.version = body, self.version + 1

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        conditions = {
            k: handler.headers[k] for k in ("If-None-Match", "If-Modified-Since") if k in handler.headers
        }
        self.asked.append(conditions)
        etag, modified = f'"v{self.version}"', formatdate(1_700_000_000 + self.version, usegmt=True)
        headers = {"ETag": etag, "Last-Modified": modified} if self.validators else {}
        if self.validators and (
            conditions.get("If-None-Match") == etag
            or ("If-None-Match" not in conditions and conditions.get("If-Modified-Since") == modified)
        ):
            handler.send_response(304)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            return
        handler.send_response(200)
        for name, value in {**headers, "Content-Type": "application/rss+xml; charset=utf-8"}.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(self.body)))
        handler.end_headers()
        handler.wfile.write(self.body)


def serve(upstream: Upstream) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            upstream.answer(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    upstream.url = f"http://127.0.0.1:{server.server_port}/feed.xml"
    return server
