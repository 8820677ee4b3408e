"""The routes' dependencies, declared once: typed aliases for what the app holds (settings, the scoring
service, the stores, the key limiter, the metrics) and the request checks shared by the routers.

``create_app`` puts the objects on ``app.state``; this is the only module that reads it, so a handler
names what it needs by type (``settings: SettingsDep``) and a test can override one getter
(``app.dependency_overrides[get_settings]``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, MutableMapping
from typing import TYPE_CHECKING, Annotated, TypeVar

from fastapi import Depends, Query, Request

from classifier.errors import ClickbaitError, ErrorType
from classifier.scorer import Scorer
from classifier.text import normalise_headline
from service.api.auth import KeyRateLimiter, key_owner
from service.api.schemas import PROFILE_DESCRIPTION, PROFILE_PATTERN
from service.runtime.personal import Personalised, PersonalLayers, reader_name
from service.runtime.prometheus import ServiceMetrics
from service.runtime.scoring_service import ModelNotReady, ScoringService
from service.settings import ServiceSettings
from service.store.job_store import JobStore
from service.store.label_store import LabelStore

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")


async def get_settings(request: Request) -> ServiceSettings:
    return request.app.state.settings


async def get_scoring(request: Request) -> ScoringService:
    return request.app.state.scoring


async def get_metrics(request: Request) -> ServiceMetrics:
    return request.app.state.metrics


async def get_label_store(request: Request) -> LabelStore:
    return request.app.state.store


async def get_job_store(request: Request) -> JobStore:
    return request.app.state.jobs


async def get_personal(request: Request) -> PersonalLayers:
    return request.app.state.personal


async def get_key_limiter(request: Request) -> KeyRateLimiter:
    return request.app.state.key_limiter


async def get_webhook_bodies(request: Request) -> MutableMapping[str, bool]:
    return request.app.state.webhook_bodies


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
WebhookBodiesDep = Annotated[MutableMapping[str, bool], Depends(get_webhook_bodies)]  # replays refused
ScoringDep = Annotated[ScoringService, Depends(get_scoring)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
LabelStoreDep = Annotated[LabelStore, Depends(get_label_store)]
JobStoreDep = Annotated[JobStore, Depends(get_job_store)]
PersonalDep = Annotated[PersonalLayers, Depends(get_personal)]
KeyLimiterDep = Annotated[KeyRateLimiter, Depends(get_key_limiter)]


def current_scorer(scoring: ScoringDep) -> Scorer:
    """The model being served; ModelNotReady (503) until one is loaded."""
    if scoring.scorer is None:
        raise ModelNotReady(scoring.load_error or "the model is still loading")
    return scoring.scorer


def _authenticate(request: Request, settings: ServiceSettings, limiter: KeyRateLimiter | None) -> str:
    """The presented key's name; ``limiter``: the per-key rate limit to take a request from (None:
    a route that only reads whose the request is, and does not limit it by key)."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise ClickbaitError("this route needs 'Authorization: Bearer <key>'", ErrorType.unauthorized)
    # wrong keys cost the client a token of its own bucket: guessing stops at a few a minute
    wrong_keys: KeyRateLimiter = request.app.state.wrong_keys
    client = request.client.host if request.client else "unknown"
    wait = wrong_keys.wait_needed(client, take=False)
    if wait:
        raise ClickbaitError(
            f"too many wrong keys from this client; try again in {wait:.0f} s",
            ErrorType.too_many_wrong_keys,
            retry_after=wait,
        )
    owner = key_owner(settings, presented.strip())
    if owner is None:
        wrong_keys.wait_needed(client)
        reason = (
            "the key is not valid"
            if settings.admin_keys
            else "no admin keys are configured (CLICKBAIT_ADMIN_KEYS)"
        )
        raise ClickbaitError(reason, ErrorType.forbidden)
    wait = limiter.wait_needed(owner) if limiter is not None else 0.0
    if wait:
        raise ClickbaitError(
            f"key {owner!r} is over {settings.key_rate_per_minute} requests a minute",
            ErrorType.rate_limited,
            retry_after=wait,
        )
    return owner


async def require_admin(request: Request, settings: SettingsDep, limiter: KeyLimiterDep) -> str:
    """Dependency of write routes: returns who is writing (the key's name)."""
    return _authenticate(request, settings, limiter)


async def require_reader(request: Request, settings: SettingsDep, limiter: KeyLimiterDep) -> str | None:
    """Dependency of label/job/model reads: they need a key unless the service only listens on a
    loopback address (``ServiceSettings.reads_need_key``)."""
    return _authenticate(request, settings, limiter) if settings.reads_need_key else None


AdminDep = Annotated[str, Depends(require_admin)]  # the writing key's name


ProfileQuery = Query(None, pattern=PROFILE_PATTERN, description=PROFILE_DESCRIPTION)


def reader_of(request: Request, settings: ServiceSettings, profile: str | None) -> str | None:
    """Whose personal layer an answer carries: the presented key's name (and ``profile``), checked
    like any key but not limited by it (these routes never were); None for a request without a
    bearer key, or when personal layers are off. A wrong key is refused rather than answered as
    nobody's, so that a typo does not look like a lost layer."""
    scheme = request.headers.get("authorization", "").partition(" ")[0]
    if not settings.personal_layers or scheme.lower() != "bearer":  # Basic etc.: someone else's
        return None
    return reader_name(_authenticate(request, settings, None), profile)


async def personal_answers(
    request: Request, reader: str | None, scorer: Scorer, texts: list[str], probs: np.ndarray
) -> Personalised | None:
    """``reader``'s answers for ``texts`` when they have a layer (None: the shared ``probs`` stand),
    computed in a worker thread."""
    if reader is None or not texts:  # nothing to score: a feed whose every item a rule decided
        return None
    personal: PersonalLayers = request.app.state.personal
    found = await asyncio.to_thread(personal.layer, reader, scorer)
    if found is None:
        return None
    return await unless_disconnected(
        request, asyncio.to_thread(personal.answers, found, scorer, texts, probs)
    )


async def json_body(request: Request, settings: SettingsDep) -> None:
    """Refuse non-JSON and oversized bodies before parsing them."""
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


async def request_probabilities(
    request: Request, service: ScoringService, headlines: list[str], lang: str | None = None
) -> tuple[np.ndarray, Scorer]:
    """P(clickbait) per headline through the shared micro-batcher (``request_scores``)."""
    rows, scorer = await request_scores(request, service, headlines, lang)
    return rows[:, 0], scorer


async def request_scores(
    request: Request, service: ScoringService, headlines: list[str], lang: str | None = None
) -> tuple[np.ndarray, Scorer]:
    """``Scorer.scores`` rows through the shared micro-batcher (which refuses with ModelNotReady or
    QueueFull), in the caller's ``lang`` where given."""
    rows, scorer = await unless_disconnected(request, service.scores(headlines, lang))
    service.recent.record(map(normalise_headline, headlines), rows[:, 0], scorer.version)  # suggestions
    if service.pool is not None:  # replayed by the next retrain (explanations' variants are not)
        service.pool.queue(headlines)
    return rows, scorer


async def score_many(
    request: Request, settings: ServiceSettings, scoring: ScoringService, texts: list[str]
) -> tuple[list[float], Scorer]:
    """Score any number of texts (feed titles, page links) in request-sized chunks, so a long feed
    waits its turn instead of overflowing the queue; texts are cut to the headline length limit."""
    scorer, parts = current_scorer(scoring), []
    for start in range(0, len(texts), settings.max_headlines):
        chunk = [t[: settings.max_chars] for t in texts[start : start + settings.max_headlines]]
        probs, scorer = await request_probabilities(request, scoring, chunk)
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
