"""The FastAPI application factory: routes, limits, metrics and the web page."""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version
from importlib.resources import files
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from classifier.errors import ClickbaitError, ErrorType
from service.auth import KeyRateLimiter
from service.db import make_engine, migrate
from service.deps import check_headlines, json_body, request_probabilities, unless_disconnected
from service.errors import answer, document_validation_errors, install_error_handlers
from service.feeds_api import router as feeds_router
from service.headline_pool import HeadlinePool
from service.hf_api import router as hf_router
from service.jobs import JobStore
from service.jobs_api import router as jobs_router
from service.label_store import LabelStore
from service.labels_api import router as labels_router
from service.metrics import ServiceMetrics
from service.models_api import router as models_router
from service.schemas import (
    JSON_BODY_ERRORS,
    ErrorBody,
    ExplainRequest,
    ScoreRequest,
    ScoreResponse,
    ScoreResult,
    WordContribution,
    error_responses,
)
from service.scoring import ModelNotReady, ScoringService
from service.settings import ServiceSettings
from service.tei_api import router as tei_router
from service.tei_api import tei_info

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {**JSON_BODY_ERRORS, **error_responses(429, 503)}


class MetricsMiddleware:
    """Counts requests by route template and status and times them (pure ASGI: keeps disconnects)."""

    def __init__(self, app, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, started = 500, time.perf_counter()

        async def send_with_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


log = logging.getLogger(__name__)
POOL_FLUSH_S = 10.0  # scored headlines reach the label store's pool at most this late


async def _flush_every(pool: HeadlinePool, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(pool.flush)
        except Exception:  # noqa: BLE001 - a busy or failing database must not stop the loop
            log.exception("could not write the scored-headline pool")


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build an app; the model loads in the background once the server starts."""
    settings = settings or ServiceSettings()
    metrics = ServiceMetrics()
    scoring = ScoringService(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database)
        await asyncio.to_thread(migrate, engine)  # the schema is current before any request
        app.state.store, app.state.jobs = LabelStore(engine), JobStore(engine, settings.job_stale_s)
        scoring.pool = HeadlinePool(engine, settings.retrain.pool_size)
        await scoring.start()
        loader = asyncio.create_task(scoring.load())
        flusher = asyncio.create_task(_flush_every(scoring.pool, POOL_FLUSH_S))
        try:
            yield
        finally:
            loader.cancel()
            flusher.cancel()
            await scoring.stop()
            await asyncio.to_thread(scoring.pool.flush)  # what was scored last is kept too
            engine.dispose()

    app = FastAPI(
        title="Clickbait classifier",
        version=package_version("clickbait-classifier"),
        description="Calibrated clickbait probabilities for news headlines in ~90 languages.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.scoring, app.state.metrics = settings, scoring, metrics
    app.state.key_limiter = KeyRateLimiter(settings.key_rate_per_minute)
    if settings.cors_origins:  # off unless configured: browsers on other origins get no access
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    document_validation_errors(app)
    for router in (feeds_router, labels_router, jobs_router, models_router, hf_router, tei_router):
        app.include_router(router)
    page = (files("service") / "static" / "index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/health", tags=["operations"])
    async def health() -> dict:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], responses={503: {"model": ErrorBody}})
    async def ready() -> JSONResponse:
        """Readiness: 200 once the model is loaded, 503 before (or if loading failed)."""
        if scoring.scorer is None:
            return answer(ModelNotReady(scoring.load_error or "the model is still loading"))
        return JSONResponse({"status": "ready", "model": scoring.scorer.version})

    @app.get("/info", tags=["operations"])
    async def info() -> dict:
        """The model being served, the limits in force and the library versions; TEI's fields beside them."""
        scorer = scoring.scorer
        manifest = scorer.manifest if scorer else None
        return {
            "ready": scorer is not None,
            "model": manifest.version if manifest else None,
            "base": manifest.base.model_dump() if manifest else None,
            "method": manifest.method if manifest else None,
            "labels": list(manifest.labels) if manifest else None,
            "threshold": manifest.threshold if manifest else None,
            "temperature": manifest.temperature if manifest else None,
            "engine": scorer.engine if scorer else None,
            "limits": {
                "max_headlines": settings.max_headlines,
                "max_chars": settings.max_chars,
                "max_body_bytes": settings.max_body_bytes,
                "queue_size": settings.queue_size,
                "batch_size": settings.batch_size,
                "max_batch": settings.max_batch,
                "batch_wait_ms": settings.batch_wait_ms,
                "cache_size": settings.cache_size,
                "explain_max_headlines": settings.explain_max_headlines,
            },
            "versions": {
                "python": platform.python_version(),
                **{name: package_version(name) for name in ("fastapi", "uvicorn", "torch", "transformers")},
                **({"trained_with": manifest.library_versions} if manifest else {}),
            },
            **tei_info(scorer, settings),
        }

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/v1/score",
        response_model=ScoreResponse,
        response_model_exclude_none=True,
        tags=["scoring"],
        dependencies=[Depends(json_body)],
        responses=ERROR_RESPONSES,
    )
    async def score(body: ScoreRequest, request: Request) -> ScoreResponse:
        """Calibrated P(clickbait) for each headline, labelled with the threshold."""
        check_headlines(body.headlines, settings)
        if body.explain and len(body.headlines) > settings.explain_max_headlines:
            raise ClickbaitError(
                f"explain takes at most {settings.explain_max_headlines} headlines per request",
                ErrorType.too_many_to_explain,
            )
        probs, scorer = await request_probabilities(request, body.headlines)
        threshold = scorer.threshold if body.threshold is None else body.threshold
        results = [
            ScoreResult(headline=h, score=float(p), label=scorer.label(p, threshold))
            for h, p in zip(body.headlines, probs, strict=True)
        ]
        if body.explain:  # all headlines' variants go to the batcher at once and share model calls
            explained = asyncio.gather(*(scoring.explain(r.headline) for r in results))
            for result, words in zip(results, await unless_disconnected(request, explained), strict=True):
                result.words = [WordContribution(**w) for w in words]
        return ScoreResponse(model=scorer.version, threshold=threshold, results=results)

    @app.post(
        "/v1/explain",
        response_model=ScoreResponse,
        tags=["scoring"],
        dependencies=[Depends(json_body)],
        responses=ERROR_RESPONSES,
    )
    async def explain(body: ExplainRequest, request: Request) -> ScoreResponse:
        """One headline's score and each word's contribution (score drop when the word is removed)."""
        return await score(
            ScoreRequest(headlines=[body.headline], threshold=body.threshold, explain=True), request
        )

    return app
