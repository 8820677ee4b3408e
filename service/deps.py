"""Request helpers shared by the routers: body checks, disconnect handling, scoring with errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request

from classifier.text import normalise_headline
from service.batcher import QueueFull
from service.errors import ApiError
from service.scoring import ModelNotReady, ScoringService
from service.settings import ServiceSettings

if TYPE_CHECKING:
    import numpy as np

    from classifier.scorer import Scorer

T = TypeVar("T")
CLIENT_CLOSED = 499  # nginx's status for a client that went away


async def json_body(request: Request) -> None:
    """Refuse non-JSON and oversized bodies before parsing them."""
    settings: ServiceSettings = request.app.state.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as application/json, not {content_type or 'nothing'}",
        )
    declared = request.headers.get("content-length")
    if (declared and declared.isdigit() and int(declared) > settings.max_body_bytes) or len(
        await request.body()
    ) > settings.max_body_bytes:
        raise ApiError(413, "payload_too_large", f"the body exceeds {settings.max_body_bytes} bytes")


async def _until_disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await ``work``; if the client leaves first, cancel it so no model time is spent on it."""
    task, watcher = asyncio.ensure_future(work), asyncio.ensure_future(_until_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise ApiError(CLIENT_CLOSED, "client_closed_request", "the client closed the connection")
    return task.result()


def check_headlines(headlines: list[str], settings: ServiceSettings) -> None:
    if len(headlines) > settings.max_headlines:
        raise ApiError(
            413,
            "too_many_headlines",
            f"{len(headlines)} headlines sent; the limit is {settings.max_headlines} per request",
        )
    for i, headline in enumerate(headlines):
        if len(headline) > settings.max_chars:
            raise ApiError(
                422,
                "headline_too_long",
                f"headline {i} has {len(headline)} characters; the limit is {settings.max_chars}",
            )
        if not headline.strip():
            raise ApiError(422, "empty_headline", f"headline {i} is empty")


async def request_probabilities(request: Request, headlines: list[str]) -> tuple[np.ndarray, Scorer]:
    """Score through the shared micro-batcher, mapping its refusals to 503 and 429."""
    service: ScoringService = request.app.state.scoring
    try:
        probs, scorer = await unless_disconnected(request, service.probabilities(headlines))
    except ModelNotReady as exc:
        raise ApiError(503, "not_ready", str(exc), {"Retry-After": "5"}) from exc
    except QueueFull as exc:
        raise ApiError(429, "overloaded", f"server busy: {exc}", {"Retry-After": "1"}) from exc
    service.recent.record(map(normalise_headline, headlines), probs, scorer.version)  # label suggestions
    return probs, scorer


def current_scorer(request: Request) -> Scorer:
    scoring: ScoringService = request.app.state.scoring
    if scoring.scorer is None:
        raise ApiError(
            503, "not_ready", scoring.load_error or "the model is still loading", {"Retry-After": "5"}
        )
    return scoring.scorer


async def score_many(request: Request, texts: list[str]) -> tuple[list[float], Scorer]:
    """Score any number of texts (feed titles, page links) in request-sized chunks, so a long feed
    waits its turn instead of overflowing the queue; texts are cut to the headline length limit."""
    settings: ServiceSettings = request.app.state.settings
    scorer, parts = current_scorer(request), []
    for start in range(0, len(texts), settings.max_headlines):
        chunk = [t[: settings.max_chars] for t in texts[start : start + settings.max_headlines]]
        probs, scorer = await request_probabilities(request, chunk)
        parts.extend(probs)
    return parts, scorer


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "payload_too_large", f"the body exceeds {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "payload_too_large", f"the body exceeds {limit} bytes")
    return bytes(body)
