"""Scoring routes: ``POST /v1/score`` (calibrated probabilities, optionally explained) and
``POST /v1/explain`` (one headline, word by word)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from classifier.errors import ClickbaitError, ErrorType
from classifier.text import normalise_headline
from classifier.threshold import decision_threshold
from service.api.deps import (
    ScoringDep,
    SettingsDep,
    check_headlines,
    current_scorer,
    json_body,
    personal_answers,
    reader_of,
    request_scores,
    unless_disconnected,
)
from service.api.schemas import (
    JSON_BODY_ERRORS,
    ExplainRequest,
    NearLabel,
    PersonalOut,
    ScoreRequest,
    ScoreResponse,
    ScoreResult,
    WordContribution,
    error_responses,
)
from service.feeds.decisions import Policy, matched_rules
from service.feeds.formats import Decision
from service.runtime.personal import Personalised
from service.settings import ServiceSettings

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
    if body.explain:  # what the model does: one input per word it reads, plus the whole headline
        scorer = current_scorer(scoring)
        inputs = sum(1 + scoring.words_read(scorer, normalise_headline(h)) for h in body.headlines)
        if inputs > settings.explain_max_inputs:
            raise ClickbaitError(
                f"explaining these headlines takes {inputs} model inputs; the limit per request is "
                f"{settings.explain_max_inputs}",
                ErrorType.too_many_to_explain,
            )
    reader = reader_of(request, settings, body.profile)
    rows, scorer = await request_scores(request, scoring, body.headlines, body.lang)
    threshold = decision_threshold(scorer.threshold, body.threshold)
    results = []
    languages = await scoring.languages(scorer, body.headlines, body.lang)
    ruled = _ruled(body, settings)
    personal = await personal_answers(request, reader, scorer, body.headlines, rows[:, 0])
    for i, (h, row, (lang, known), rule) in enumerate(
        zip(body.headlines, rows, languages, ruled, strict=True)
    ):
        kinds = scorer.kind_scores(row)
        score = float(row[0]) if personal is None else float(personal.probs[i])
        label = scorer.label(score, threshold, kinds)
        why = None
        if personal is not None:
            changed = label != scorer.label(float(row[0]), threshold, kinds)
            why = _why(personal, i, changed)
        decided_by = rule.decided_by if rule else None
        if rule is not None and rule.rule is not None:  # a rule's label wins, in the model's words
            news, clickbait = scorer.manifest.labels
            label = clickbait if rule.label == "clickbait" else news
        elif why is not None and why.changed:
            decided_by = "personal"
        results.append(
            ScoreResult(
                headline=h,
                score=score,
                label=label,
                lang=lang,
                validated=known,
                decided_by=decided_by,
                personal=why,
                **(kinds or {}),
            )
        )
    if body.explain:  # one headline after another: each is a few model calls of its own
        for result in results:
            words = await unless_disconnected(request, scoring.explain(result.headline, result.lang))
            result.words = [WordContribution(**w) for w in words]
    return ScoreResponse(model=scorer.version, threshold=threshold, results=results)


def _why(personal: Personalised, i: int, changed: bool) -> PersonalOut:
    """What the reader's layer did to headline ``i``: the shared score, and the labelled headlines
    nearest it."""
    layer = personal.layer
    nearest = [
        NearLabel(headline=layer.headlines[j], label="clickbait" if layer.labels[j] else "news")
        for j in (personal.nearest[i] if personal.nearest else [])
    ]
    return PersonalOut(shared_score=float(personal.shared[i]), changed=changed, nearest=nearest)


def _ruled(body: ScoreRequest, settings: ServiceSettings) -> list[Decision | None]:
    """Each headline's rule decision when the request asks for ``rules`` (else None each)."""
    blank: list[None] = [None] * len(body.headlines)
    if not body.rules:
        return list(blank)
    return list(
        matched_rules(Policy.of(settings), body.headlines, body.links or blank, body.authors or blank)
    )


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
