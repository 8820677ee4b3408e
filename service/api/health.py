"""Operations routes: the web page (``/``), liveness (``/health``), readiness (``/ready``), what is
served and under which limits (``/info``), and Prometheus metrics (``/metrics``)."""

from __future__ import annotations

import base64
import hashlib
import platform
import re
from functools import cache
from importlib.metadata import version as package_version
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import MetricsDep, ScoringDep, SettingsDep
from service.api.http_errors import answer
from service.api.schemas import ErrorBody
from service.api.tei import tei_info
from service.runtime.scoring_service import ModelNotReady

router = APIRouter()


@cache
def _page() -> tuple[str, str]:
    """The web page, and its content security policy: its own inline script by hash, requests to
    its own origin only, never framed (nothing a page's text or a headline holds can run as script)."""
    html = (files("service") / "static" / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in scripts
    )
    policy = (
        f"default-src 'self'; script-src {hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
    return html, policy


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def index() -> HTMLResponse:
    html, policy = _page()
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/health", tags=["operations"])
async def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", tags=["operations"], responses={503: {"model": ErrorBody}})
async def ready(scoring: ScoringDep) -> JSONResponse:
    """Readiness: 200 once the model is loaded, 503 before (or if loading failed)."""
    if scoring.scorer is None:
        return answer(ModelNotReady(scoring.load_error or "the model is still loading"))
    return JSONResponse({"status": "ready", "model": scoring.scorer.version})


@router.get("/info", tags=["operations"])
async def info(scoring: ScoringDep, settings: SettingsDep) -> dict:
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
        # languages the calibration was fitted and measured in (validation rows, ECE before → after)
        "languages": {lang: c.model_dump() for lang, c in manifest.languages.items()} if manifest else None,
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


@router.get("/metrics", tags=["operations"], response_class=Response)
async def prometheus(metrics: MetricsDep) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
