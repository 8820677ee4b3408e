"""What every request passes before a route sees it (pure ASGI, so disconnects still reach routes):

- the Host header must name a host this service answers to: a page that rebinds its own name to
  127.0.0.1 (DNS rebinding) reaches a loopback service only under that name, and is refused here;
- the body is counted as it arrives and refused at the route's limit, before it is all read or
  parsed, and it must arrive within a deadline (a client that drips it holds no connection long);
- every answer says ``nosniff`` and may not be framed (the web page's own content security policy
  is set by its route, ``health.index``);
- the request's client (its address) is noted, so the batcher shares the model fairly between
  clients (``client_of_request``).

The limits are settings (``docs/security.md`` lists them).
"""

from __future__ import annotations

import asyncio
import json
import time

from classifier.errors import ErrorType
from service.api.http_errors import STATUS
from service.runtime.batcher import client_of_request
from service.settings import ServiceSettings, is_loopback

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
FEED_ROUTES = ("/v1/filter", "/v1/integrations/miniflux")


def allowed_hosts(settings: ServiceSettings) -> frozenset[str] | None:
    """The Host names answered; None: any. Default: a loopback service answers to loopback names only
    (nothing outside the machine can reach it under another name, a rebinding page can); a service on
    another interface answers to any name unless told which."""
    if settings.allowed_hosts:
        names = {h.strip().lower() for h in settings.allowed_hosts}
        return None if "*" in names else frozenset(names)
    return frozenset(LOOPBACK_NAMES) if is_loopback(settings.host) else None


def host_name(value: str) -> str:
    """The host of a Host header, without its port ("[::1]:8000" -> "::1")."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def body_limit(settings: ServiceSettings, path: str) -> int:
    """The route's own body limit: feeds and pages are documents, everything else a JSON request."""
    if path.startswith(FEED_ROUTES):
        return settings.feed_max_bytes
    if path.startswith("/v1/page"):
        return settings.page_max_bytes
    return settings.max_body_bytes


class RequestGuard:
    def __init__(self, app, settings: ServiceSettings) -> None:
        self.app, self.settings = app, settings
        self.hosts = allowed_hosts(settings)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client_of_request.set(scope["client"][0] if scope.get("client") else "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            await _refuse(send, ErrorType.untrusted_host, f"this service does not answer to host {host!r}")
            return
        limit = body_limit(self.settings, scope["path"])
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, ErrorType.payload_too_large, f"the body exceeds {limit} bytes")
            return
        state = {"read": 0, "started": False, "refused": False, "complete": False}
        deadline = time.monotonic() + self.settings.body_timeout_s

        async def refuse(error_type: ErrorType, message: str):
            """Answer now and tell the app its client left: it stops reading, and what it would
            send is dropped (a framework that wrapped an exception from here would answer 400)."""
            if not state["started"]:
                state["refused"] = True
                await _refuse(send, error_type, message, close=True)
            return {"type": "http.disconnect"}

        async def counted_receive():
            if state["refused"]:
                return {"type": "http.disconnect"}
            if state["complete"]:  # the body is in: later reads only wait for the client to leave
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0.001))
            except TimeoutError:
                return await refuse(ErrorType.request_timeout, "the body did not arrive in time")
            if message["type"] == "http.request":
                state["complete"] = not message.get("more_body", False)
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    return await refuse(ErrorType.payload_too_large, f"the body exceeds {limit} bytes")
            return message

        async def guarded_send(message) -> None:
            if state["refused"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
                extra = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, counted_receive, guarded_send)


async def _refuse(send, error_type: ErrorType, message: str, close: bool = False) -> None:
    body = json.dumps({"error": message, "error_type": error_type}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    if close:  # the rest of the body is never read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": STATUS[error_type], "headers": headers})
    await send({"type": "http.response.body", "body": body})


def header_deadline_protocol(seconds: float):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose first request's headers have not all
    arrived ``seconds`` after it opened (uvicorn times idle keep-alive connections, not this; a
    client dripping its headers would otherwise hold a connection as long as it likes)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_deadline = self.loop.call_later(seconds, self._headers_late)

        def _headers_late(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_deadline.cancel()
            super().connection_lost(exc)

    return HeaderDeadline


# /docs: Swagger UI from a CDN, pinned to one release and checked by Subresource Integrity (the
# hashes are of that release's files as npm's swagger-ui-dist package ships them), so a changed or
# hijacked file is refused by the browser instead of running on the service's origin.
SWAGGER_UI = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.36.0"
SWAGGER_INTEGRITY = {
    "swagger-ui-bundle.js": "sha384-fUpRgC19yPykTqzdrUbdAg8NTiu16NEKf9U12J+IJWCg8/1mEI8f2+PEIz60Wyd+",
    "swagger-ui.css": "sha384-z/AtSaOHGn5MJ5auAHXUypohywlIWLBZo1jeGmhdpVIbCnFhxAH92cwdV41oyINc",
}


def docs_page(title: str, openapi_url: str) -> str:
    """FastAPI's Swagger UI page with pinned, integrity-checked assets and no third-party favicon."""
    from fastapi.openapi.docs import get_swagger_ui_html

    html = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url="data:,",
    ).body.decode()
    for name, digest in SWAGGER_INTEGRITY.items():
        url = f"{SWAGGER_UI}/{name}"
        checked = f'{url}" integrity="{digest}" crossorigin="anonymous'
        html = html.replace(f'"{url}"', f'"{checked}"')
    return html
