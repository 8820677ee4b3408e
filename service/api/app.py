"""The FastAPI application factory: it assembles the app (lifespan, middleware, error handlers, the
routers) and puts the shared objects on ``app.state``, where ``deps.py`` hands them to the routes."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version

from cachetools import TTLCache
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse

from service.api.auth import KeyRateLimiter
from service.api.feeds import router as feeds_router
from service.api.guards import RequestGuard, docs_page
from service.api.health import router as health_router
from service.api.hf import router as hf_router
from service.api.http_errors import document_validation_errors, install_error_handlers
from service.api.jobs import router as jobs_router
from service.api.labels import router as labels_router
from service.api.models import router as models_router
from service.api.personal import router as personal_router
from service.api.scoring import router as scoring_router
from service.api.tei import router as tei_router
from service.feeds.rules import rules_of
from service.runtime.personal import PersonalLayers
from service.runtime.prometheus import ServiceMetrics
from service.runtime.scoring_service import ScoringService
from service.settings import ServiceSettings
from service.store.db import make_engine, migrate
from service.store.headline_pool import HeadlinePool
from service.store.job_store import JobStore
from service.store.label_store import LabelStore
from service.store.personal_store import PersonalStore


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
    rules_of(settings.rules_file)  # a rules file with a bad line stops the start, naming the line
    metrics = ServiceMetrics()
    scoring = ScoringService(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(settings.database)
        await asyncio.to_thread(migrate, engine)  # the schema is current before any request
        app.state.store, app.state.jobs = LabelStore(engine), JobStore(engine, settings.job_stale_s)
        app.state.personal = PersonalLayers(app.state.store, PersonalStore(engine), settings)
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
        docs_url=None,  # served below, with its scripts pinned and integrity-checked
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page(app.title, app.openapi_url))

    app.state.settings, app.state.scoring, app.state.metrics = settings, scoring, metrics
    app.state.key_limiter = KeyRateLimiter(settings.key_rate_per_minute)
    app.state.wrong_keys = KeyRateLimiter(settings.wrong_keys_per_minute)
    app.state.webhook_bodies = TTLCache(maxsize=100_000, ttl=24 * 3600)  # signed bodies acted on
    if settings.cors_origins:  # off unless configured: browsers on other origins get no access
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestGuard, settings=settings)  # outermost: before metrics and routes
    install_error_handlers(app)
    document_validation_errors(app)
    routers = (
        feeds_router,
        labels_router,
        personal_router,
        jobs_router,
        models_router,
        hf_router,
        tei_router,
    )
    for router in (*routers, health_router, scoring_router):  # the OpenAPI document lists them in this order
        app.include_router(router)
    return app
