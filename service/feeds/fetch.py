"""Fetching remote feeds and pages without becoming an SSRF proxy.

Every hop (the first URL and each redirect) is checked: http(s) only, the host must be allowed,
and every address it resolves to must be public — loopback, private, link-local and other
special ranges are refused unless that host is listed explicitly. Size and time are bounded.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from classifier.errors import ClickbaitError, ErrorType


class FetchError(ClickbaitError):
    """A URL refused by the policy, or an upstream that failed; the raise site names which."""

    error_type = ErrorType.upstream_error


@dataclass(frozen=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]  # "*" = any public host
    max_bytes: int = 10_000_000
    timeout_s: float = 10.0
    max_redirects: int = 5

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


async def _check(url: str, policy: FetchPolicy) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"only http and https URLs can be fetched, not {url[:100]!r}", ErrorType.bad_url)
    host = parts.hostname.lower()
    if not policy.host_allowed(host):
        raise FetchError(f"fetching from {host} is not allowed here", ErrorType.host_not_allowed)
    if policy.listed(host):
        return  # an operator named this host: its addresses are trusted, private or not
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await _addresses(host, port):
        if not address.is_global:
            raise FetchError(
                f"{host} resolves to a non-public address ({address}); list it explicitly to allow",
                ErrorType.address_not_allowed,
            )


async def fetch(url: str, policy: FetchPolicy) -> tuple[bytes, str | None, str]:
    """(body, content type, final URL) after checked redirects; raises FetchError."""
    async with httpx.AsyncClient(
        timeout=policy.timeout_s, follow_redirects=False, headers={"User-Agent": "clickbait-filter/1"}
    ) as client:
        for _ in range(policy.max_redirects + 1):
            await _check(url, policy)
            try:
                async with client.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"upstream answered {response.status_code} for {url}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > policy.max_bytes:
                            raise FetchError(
                                f"upstream body exceeds {policy.max_bytes} bytes",
                                ErrorType.upstream_too_large,
                            )
                    return bytes(body), response.headers.get("content-type"), url
            except httpx.TimeoutException as exc:
                raise FetchError(
                    f"upstream did not answer within {policy.timeout_s} s", ErrorType.upstream_timeout
                ) from exc
            except httpx.TransportError as exc:
                raise FetchError(f"cannot reach {url}: {exc}", ErrorType.upstream_unreachable) from exc
    raise FetchError(f"more than {policy.max_redirects} redirects", ErrorType.too_many_redirects)
