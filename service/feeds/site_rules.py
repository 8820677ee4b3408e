"""Allow and block lists of sites that override the score: a trusted outlet is never hidden,
a known content farm always is. A rule for ``example.com`` also covers ``www.example.com``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def normalise_host(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("www.")


@dataclass(frozen=True)
class SiteRules:
    allow: frozenset[str] = field(default_factory=frozenset)
    block: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, allow: Iterable[str] = (), block: Iterable[str] = ()) -> SiteRules:
        return cls(
            frozenset(normalise_host(h) for h in allow if h.strip()),
            frozenset(normalise_host(h) for h in block if h.strip()),
        )

    def merged(self, other: SiteRules) -> SiteRules:
        return SiteRules(self.allow | other.allow, self.block | other.block)

    def decide(self, link: str | None) -> str | None:
        """'block:HOST' or 'allow:HOST' for the first matching rule (block wins), else None."""
        candidates = host_candidates(link)
        for kind, hosts in (("block", self.block), ("allow", self.allow)):
            match = next((c for c in candidates if c in hosts), None)
            if match:
                return f"{kind}:{match}"
        return None


def host_candidates(link: str | None) -> list[str]:
    """The link's host and each domain above it (``www.`` dropped): ``a.b.example.com`` gives
    ``a.b.example.com``, ``b.example.com``, ``example.com``, ``com``. A link urllib cannot split
    (``http://[x``) or that is not text (a webhook's JSON) gives none."""
    try:
        host = normalise_host(urlsplit(link).hostname or "") if isinstance(link, str) and link else ""
    except ValueError:
        return []
    if not host:
        return []
    return [".".join(host.split(".")[i:]) for i in range(host.count(".") + 1)]
