"""Scoring routes: ``POST /v1/score`` (calibrated probabilities, optionally explained) and
``POST /v1/explain`` (one headline, word by word)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request

from classifier.errors import ClickbaitError, ErrorType
from service.api.deps import (
    ScoringDep,
    SettingsDep,
    check_headlines,
    json_body,
    languages_of,
    request_probabilities,
    unless_disconnected,
)
from service.api.schemas import (
    JSON_BODY_ERRORS,
    ExplainRequest,
    ScoreRequest,
    ScoreResponse,
    ScoreResult,
    WordContribution,
    error_responses,
)

router = APIRouter(tags=["scoring"])
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {**JSON_BODY_ERRORS, **error_responses(429, 503)}


@router.post(
    "/v1/score",
    response_model=ScoreResponse,
    response_model_exclude_none=True,
    dependencies=[Depends(json_body)],
    responses=ERROR_RESPONSES,
)
async def score(
    body: ScoreRequest, request: Request, settings: SettingsDep, scoring: ScoringDep
) -> ScoreResponse:
    """Calibrated P(clickbait) for each headline, labelled with the threshold."""
    check_headlines(body.headlines, settings)
    if body.explain and len(body.headlines) > settings.explain_max_headlines:
        raise ClickbaitError(
            f"explain takes at most {settings.explain_max_headlines} headlines per request",
            ErrorType.too_many_to_explain,
        )
    probs, scorer = await request_probabilities(request, scoring, body.headlines, body.lang)
    threshold = scorer.threshold if body.threshold is None else body.threshold
    results = [
        ScoreResult(headline=h, score=float(p), label=scorer.label(p, threshold), lang=lang, validated=known)
        for h, p, (lang, known) in zip(
            body.headlines, probs, languages_of(scorer, body.headlines, body.lang), strict=True
        )
    ]
    if body.explain:  # all headlines' variants go to the batcher at once and share model calls
        explained = asyncio.gather(*(scoring.explain(r.headline, r.lang) for r in results))
        for result, words in zip(results, await unless_disconnected(request, explained), strict=True):
            result.words = [WordContribution(**w) for w in words]
    return ScoreResponse(model=scorer.version, threshold=threshold, results=results)


@router.post(
    "/v1/explain",
    response_model=ScoreResponse,
    dependencies=[Depends(json_body)],
    responses=ERROR_RESPONSES,
)
async def explain(
    body: ExplainRequest, request: Request, settings: SettingsDep, scoring: ScoringDep
) -> ScoreResponse:
    """One headline's score and each word's contribution (score drop when the word is removed)."""
    explained = ScoreRequest(
        headlines=[body.headline], threshold=body.threshold, lang=body.lang, explain=True
    )
    return await score(explained, request, settings, scoring)
