"""Fetching remote feeds and pages without becoming an SSRF proxy.

Every hop (the first URL and each redirect) is checked: http(s) only, the host must be allowed,
and every address it resolves to must be public — loopback, private, link-local and other
special ranges are refused unless that host is listed explicitly — and the connection goes to the
address that was checked (the name is resolved once per hop). The decoded size, the whole fetch's
time and the number of fetches at once are bounded. A fetch may carry the validators of the
upstream's last answer, so that an unchanged feed costs the upstream a 304 and no body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import weakref
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from classifier.errors import ClickbaitError, ErrorType


class FetchError(ClickbaitError):
    """A URL refused by the policy, or an upstream that failed; the raise site names which."""

    error_type = ErrorType.upstream_error


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]  # "*" = any public host
    max_bytes: int = 10_000_000
    timeout_s: float = 10.0  # the whole fetch: every hop, every byte
    max_redirects: int = 5
    max_concurrent: int = 8  # fetches at once in this process; more are refused (429) at once

    @classmethod
    def of(cls, hosts: Iterable[str], **limits) -> FetchPolicy:
        return cls(frozenset(h.strip().lower() for h in hosts if h.strip()), **limits)

    def host_allowed(self, host: str) -> bool:
        return "*" in self.allowed_hosts or host in self.allowed_hosts

    def listed(self, host: str) -> bool:
        return host in self.allowed_hosts


async def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror}", ErrorType.upstream_unreachable) from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


@dataclass(frozen=True)
class _Hop:
    """One request of a fetch: the URL asked for, and the checked address it is sent to."""

    url: str
    host: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address

    def pinned(self) -> tuple[str, dict[str, str], dict]:
        """(URL naming the address, headers, request extensions): the connection goes to the very
        address that was checked, while Host, TLS SNI and the certificate check keep the name, so a
        name that answers a public address first and 127.0.0.1 second (DNS rebinding) gets nowhere."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        host_header = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
        extensions = {"sni_hostname": self.host} if parts.scheme == "https" else {}
        return urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header}, extensions


async def _check(url: str, policy: FetchPolicy) -> _Hop:
    """The hop to ``url`` after the policy's checks, with the one address it may connect to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"only http and https URLs can be fetched, not {url[:100]!r}", ErrorType.bad_url)
    host = parts.hostname.lower()
    if not policy.host_allowed(host):
        raise FetchError(f"fetching from {host} is not allowed here", ErrorType.host_not_allowed)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await _addresses(host, port)
    if not policy.listed(host):  # an operator named a listed host: its addresses are trusted
        for address in addresses:
            if not address.is_global:
                raise FetchError(
                    f"{host} resolves to a non-public address ({address}); list it explicitly to allow",
                    ErrorType.address_not_allowed,
                )
    return _Hop(url, host, addresses[0])


class _Inflater:
    """The body as the upstream encoded it, decoded with a bound on the decoded size: a few hundred
    compressed bytes can inflate to gigabytes, so each chunk is inflated at most to what the limit
    still allows. One layer of gzip or deflate, or none; anything else (``gzip, gzip``) is refused."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"upstream content encoding {encoding!r} is not one this proxy reads")
        self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 32) if codings else None  # gzip or zlib
        self.limit, self.body = limit, bytearray()

    def feed(self, chunk: bytes) -> None:
        if self.zlib is None:
            self._keep(chunk)
            return
        while chunk:
            try:
                self._keep(self.zlib.decompress(chunk, self.limit - len(self.body) + 1))
            except zlib.error as exc:
                raise FetchError(f"upstream body is not valid compressed data: {exc}") from exc
            chunk = self.zlib.unconsumed_tail

    def _keep(self, data: bytes) -> None:
        self.body += data
        if len(self.body) > self.limit:
            raise FetchError(f"upstream body exceeds {self.limit} bytes", ErrorType.upstream_too_large)


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Validators:
    """What identified an upstream's answer (its ``ETag`` and ``Last-Modified``), sent back as
    ``If-None-Match`` / ``If-Modified-Since`` to ask whether it changed since."""

    etag: str | None = None
    last_modified: str | None = None

    def renewed(self, headers: httpx.Headers) -> Validators:
        """The validators an answer's headers give, these where they give none (a 304 may omit them)."""
        return Validators(
            headers.get("etag") or self.etag, headers.get("last-modified") or self.last_modified
        )

    def conditions(self) -> dict[str, str]:
        asked = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in asked.items() if value}


@dataclass(frozen=True)
class Fetched:
    """An upstream's answer: the body, or ``not_modified`` (a 304: the body it last sent still holds)."""

    body: bytes
    content_type: str | None
    url: str  # after redirects
    validators: Validators
    not_modified: bool = False


def _slots(policy: FetchPolicy) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _SLOTS:
        _SLOTS[loop] = asyncio.Semaphore(policy.max_concurrent)
    return _SLOTS[loop]


async def fetch(url: str, policy: FetchPolicy, since: Validators | None = None) -> Fetched:
    """The upstream's answer after checked redirects; raises FetchError. With ``since`` (the
    validators of its last answer) the request is conditional and a 304 comes back as
    ``not_modified``. The whole fetch, every hop and every byte, ends within ``timeout_s``; at most
    ``max_concurrent`` run at once."""
    slots = _slots(policy)
    if slots.locked():
        raise FetchError(
            f"{policy.max_concurrent} feeds are being fetched already", ErrorType.overloaded, retry_after=1.0
        )
    async with slots:
        try:
            async with asyncio.timeout(policy.timeout_s):
                return await _fetch(url, policy, since or Validators())
        except TimeoutError as exc:
            raise FetchError(
                f"upstream did not answer within {policy.timeout_s} s", ErrorType.upstream_timeout
            ) from exc


async def _fetch(url: str, policy: FetchPolicy, since: Validators) -> Fetched:
    headers = {"User-Agent": "clickbait-filter/1", "Accept-Encoding": "gzip, deflate"}
    async with httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False, headers=headers) as client:
        for _ in range(policy.max_redirects + 1):
            hop = await _check(url, policy)
            target, host, extensions = hop.pinned()
            try:
                asked = host | since.conditions()
                request = client.build_request("GET", target, headers=asked, extensions=extensions)
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code == 304:
                        return Fetched(b"", None, url, since.renewed(response.headers), True)
                    if response.status_code >= 400:
                        raise FetchError(f"upstream answered {response.status_code} for {url}")
                    body = _Inflater(response.headers.get("content-encoding"), policy.max_bytes)
                    async for chunk in response.aiter_raw():
                        body.feed(chunk)
                    renewed = Validators().renewed(response.headers)
                    return Fetched(bytes(body.body), response.headers.get("content-type"), url, renewed)
                finally:
                    await response.aclose()
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"upstream did not answer within {policy.timeout_s} s", ErrorType.upstream_timeout
                ) from exc
            except httpx.TransportError as exc:
                raise FetchError(f"cannot reach {url}: {exc}", ErrorType.upstream_unreachable) from exc
    raise FetchError(f"more than {policy.max_redirects} redirects", ErrorType.too_many_redirects)
