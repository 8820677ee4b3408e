"""Label routes: store editors' labels, page and export them, suggest what to label next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from classifier.scorer import Scorer
from service.api.deps import (
    AdminDep,
    LabelStoreDep,
    PersonalDep,
    ScoringDep,
    SettingsDep,
    check_headlines,
    current_scorer,
    json_body,
    require_reader,
)
from service.api.schemas import (
    JSON_BODY_ERRORS,
    MAX_LABELS_PER_REQUEST,
    NO_NUL,
    ConflictOut,
    ErrorBody,
    LabelOut,
    LabelPageOut,
    LabelsAdded,
    LabelsRequest,
    LearntOut,
    SuggestionOut,
    SuggestionsOut,
)
from service.runtime.personal import Learnt, PersonalLayers, reader_name
from service.store.label_store import Conflict, NewLabel
from service.store.tables import Label

router = APIRouter(tags=["labels"])
AUTH_ERRORS = {code: {"model": ErrorBody} for code in (401, 403)}
MAX_ID = (
    2**31 - 1
)  # ids are 32-bit on PostgreSQL; a larger ?after= was a 500 there (and past 2**63 on SQLite)


def label_out(row: Label) -> LabelOut:
    return LabelOut(
        id=row.id,
        headline=row.headline,
        label=row.label,
        lang=row.lang,
        source=row.source,
        by=row.author,
        at=row.created_at,
    )


def store_and_learn(
    personal: PersonalLayers, labels: Sequence[NewLabel], author: str, reader: str, scorer: Scorer | None
) -> tuple[list[int], list[Conflict], Learnt | None]:
    """Store ``reader``'s labels (all or none), then learn their personal layer again from them,
    before the caller answers: every route that takes a reader's labels goes through here. With
    personal layers off, or no model loaded yet, the labels are kept and the layer is learnt at the
    reader's next labels (None)."""
    ids, conflicts = personal.labels.add(labels, author, reader)
    on = personal.settings.personal_layers and scorer is not None
    return ids, conflicts, personal.learn(reader, scorer) if on else None


@router.post(
    "/v1/labels",
    response_model=LabelsAdded,
    dependencies=[Depends(json_body)],
    responses={**AUTH_ERRORS, **JSON_BODY_ERRORS},
)
def add_labels(
    body: LabelsRequest,
    author: AdminDep,
    settings: SettingsDep,
    scoring: ScoringDep,
    personal: PersonalDep,
) -> LabelsAdded:
    """Store labels (all or none); 200 means they are on disk. Relabelled headlines keep their
    history; labels that change a headline's earlier label come back as conflicts. The writer's
    personal layer (the key's, or its ``profile``'s) is then learnt again from their labels, before
    the answer: their next request is answered with it."""
    check_headlines([item.headline for item in body.labels], settings, limit=MAX_LABELS_PER_REQUEST)
    reader = reader_name(author, body.profile)
    labels = [NewLabel(i.headline, i.label, i.lang, i.source) for i in body.labels]
    ids, conflicts, learnt = store_and_learn(personal, labels, author, reader, scoring.scorer)
    return LabelsAdded(
        personal=LearntOut(**asdict(learnt)) if learnt else None,
        added=len(ids),
        ids=ids,
        conflicts=[
            ConflictOut(
                headline=c.headline,
                label=c.label,
                previous_label=c.previous_label,
                previous_by=c.previous_author,
                previous_at=c.previous_at,
            )
            for c in conflicts
        ],
    )


@router.get(
    "/v1/labels", response_model=LabelPageOut, dependencies=[Depends(require_reader)], responses=AUTH_ERRORS
)
def list_labels(
    store: LabelStoreDep,
    after: int = Query(0, ge=0, le=MAX_ID, description="return labels with a larger id (from next_after)"),
    limit: int = Query(100, ge=1, le=1000),
    label: str | None = Query(None, pattern="^(news|clickbait)$"),
    lang: str | None = Query(None, pattern=NO_NUL),
    source: str | None = Query(None, pattern=NO_NUL),
    by: str | None = Query(None, pattern=NO_NUL, description="who gave the label"),
    contains: str | None = Query(
        None, max_length=200, pattern=NO_NUL, description="text the headline contains"
    ),
    latest: bool = Query(False, description="only the label that counts for each headline"),
    conflicting: bool = Query(False, description="only headlines labelled both ways"),
) -> LabelPageOut:
    page = store.page(
        after=after,
        limit=limit,
        label=label,
        lang=lang,
        source=source,
        author=by,
        contains=contains,
        latest_only=latest,
        conflicting=conflicting,
    )
    return LabelPageOut(labels=[label_out(row) for row in page.labels], next_after=page.next_after)


@router.get(
    "/v1/labels/export",
    dependencies=[Depends(require_reader)],
    responses=AUTH_ERRORS,
    response_class=StreamingResponse,
)
def export_labels(store: LabelStoreDep) -> StreamingResponse:
    """Every labelled headline once, with its latest label, as JSONL for ``clickbait train``."""
    return StreamingResponse(
        store.training_rows(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="labels.jsonl"'},
    )


@router.get(
    "/v1/labels/suggestions",
    response_model=SuggestionsOut,
    dependencies=[Depends(require_reader)],
    responses={**AUTH_ERRORS, 503: {"model": ErrorBody}},
)
def suggestions(
    store: LabelStoreDep, scoring: ScoringDep, limit: int = Query(20, ge=1, le=500)
) -> SuggestionsOut:
    """Recently scored, still unlabelled headlines whose scores sit nearest the threshold."""
    threshold = current_scorer(scoring).threshold
    picked = scoring.recent.nearest(threshold, limit, store.labelled)
    return SuggestionsOut(
        threshold=threshold,
        suggestions=[SuggestionOut(headline=s.headline, score=s.score, model=s.model) for s in picked],
    )
