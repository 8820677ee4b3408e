"""Request helpers shared by the routers: body checks, disconnect handling, scoring with errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request

from classifier.errors import ClickbaitError, ErrorType
from classifier.text import normalise_headline
from service.scoring import ModelNotReady, ScoringService
from service.settings import ServiceSettings

if TYPE_CHECKING:
    import numpy as np

    from classifier.scorer import Scorer

T = TypeVar("T")


async def json_body(request: Request) -> None:
    """Refuse non-JSON and oversized bodies before parsing them."""
    settings: ServiceSettings = request.app.state.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ClickbaitError(
            f"send the body as application/json, not {content_type or 'nothing'}",
            ErrorType.unsupported_media_type,
        )
    declared = request.headers.get("content-length")
    if (declared and declared.isdigit() and int(declared) > settings.max_body_bytes) or len(
        await request.body()
    ) > settings.max_body_bytes:
        raise ClickbaitError(f"the body exceeds {settings.max_body_bytes} bytes", ErrorType.payload_too_large)


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
        raise ClickbaitError("the client closed the connection", ErrorType.client_closed_request)
    return task.result()


def check_headlines(headlines: list[str], settings: ServiceSettings, limit: int | None = None) -> None:
    """Count (``limit``, default ``max_headlines``), length and emptiness of a request's headlines."""
    limit = limit or settings.max_headlines
    if len(headlines) > limit:
        raise ClickbaitError(
            f"{len(headlines)} headlines sent; the limit is {limit} per request",
            ErrorType.too_many_headlines,
        )
    for i, headline in enumerate(headlines):
        if len(headline) > settings.max_chars:
            raise ClickbaitError(
                f"headline {i} has {len(headline)} characters; the limit is {settings.max_chars}",
                ErrorType.headline_too_long,
            )
        if not headline.strip():
            raise ClickbaitError(f"headline {i} is empty", ErrorType.empty_headline)


async def request_probabilities(request: Request, headlines: list[str]) -> tuple[np.ndarray, Scorer]:
    """Score through the shared micro-batcher (which refuses with ModelNotReady or QueueFull)."""
    service: ScoringService = request.app.state.scoring
    probs, scorer = await unless_disconnected(request, service.probabilities(headlines))
    service.recent.record(map(normalise_headline, headlines), probs, scorer.version)  # label suggestions
    if service.pool is not None:  # replayed by the next retrain (explanations' variants are not)
        service.pool.queue(headlines)
    return probs, scorer


def current_scorer(request: Request) -> Scorer:
    scoring: ScoringService = request.app.state.scoring
    if scoring.scorer is None:
        raise ModelNotReady(scoring.load_error or "the model is still loading")
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
    """The raw body, refused as soon as it passes ``limit`` bytes."""
    too_large = ClickbaitError(f"the body exceeds {limit} bytes", ErrorType.payload_too_large)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)
