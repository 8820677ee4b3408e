"""Bearer-key access for the routes that change state (labels, retraining, promotion)."""

from __future__ import annotations

import hmac

from fastapi import Request

from service.errors import ApiError
from service.settings import ServiceSettings, key_fingerprint

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def key_owner(settings: ServiceSettings, presented: str) -> str | None:
    """The name of the configured key that matches; every stored hash is compared, in constant time."""
    digest = key_fingerprint(presented)
    owner = None
    for entry in settings.admin_keys:
        name, _, stored = entry.rpartition(":")
        if hmac.compare_digest(stored, digest):
            owner = name
    return owner


def _authenticate(request: Request) -> str:
    settings: ServiceSettings = request.app.state.settings
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ApiError(401, "unauthorized", "this route needs 'Authorization: Bearer <key>'", CHALLENGE)
    owner = key_owner(settings, presented.strip())
    if owner is None:
        reason = "the key is not valid" if settings.admin_keys else "no admin keys are configured (CLICKBAIT_ADMIN_KEYS)"
        raise ApiError(403, "forbidden", reason)
    return owner


async def require_admin(request: Request) -> str:
    """Dependency of write routes: returns who is writing (the key's name)."""
    return _authenticate(request)


async def require_reader(request: Request) -> str | None:
    """Dependency of label/job/model reads: open unless CLICKBAIT_REQUIRE_KEY_FOR_READ is set."""
    settings: ServiceSettings = request.app.state.settings
    return _authenticate(request) if settings.require_key_for_read else None
