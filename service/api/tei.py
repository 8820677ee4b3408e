"""text-embeddings-inference's classifier dialect: ``POST /predict`` and the fields TEI clients read
from ``GET /info``, so that a TEI client pointed at this service works unchanged.

Where the two differ (a flat list of strings is a batch here and a text pair in TEI; error kinds and
some statuses) ``docs/clients.md`` says so.
"""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request

from classifier.errors import ClickbaitError, ErrorType
from service.api.deps import (
    ScoringDep,
    SettingsDep,
    check_headlines,
    current_scorer,
    json_body,
    request_probabilities,
)
from service.api.label_scores import label_scores
from service.api.schemas import JSON_BODY_ERRORS, LabelScore, PredictRequest, error_responses
from service.settings import ServiceSettings

if TYPE_CHECKING:
    from classifier.scorer import Scorer

router = APIRouter(tags=["compatibility"])
DTYPES = {"fp32": "float32", "numpy": "float32", "int8": "int8", "onnx": "int8"}  # the engine, in TEI's words


def _headlines(inputs: str | list[str] | list[list[str]]) -> list[str]:
    if isinstance(inputs, str):
        return [inputs]
    return [entry[0] if isinstance(entry, list) else entry for entry in inputs]


def _within_cap(scorer: Scorer, headlines: list[str], truncate: bool, side: str) -> list[str]:
    """TEI's ``truncate``: false refuses a headline longer than the model reads; true cuts it on
    ``side`` (the engine cuts its tokenizer's own side; the other side is cut here, as text)."""
    if not truncate:
        cap = scorer.manifest.max_length
        for i, headline in enumerate(headlines):
            if (count := scorer.token_count(headline)) > cap:
                raise ClickbaitError(
                    f"headline {i} is {count} tokens with the model's prefix; the model reads at most {cap} "
                    "(send truncate: true to cut it)",
                    ErrorType.too_many_tokens,
                )
        return headlines
    if side == scorer.tokenizer.truncation_side:
        return headlines
    return [scorer.fit(headline, side) or headline for headline in headlines]


@router.post(
    "/predict",
    response_model=list[LabelScore] | list[list[LabelScore]],
    dependencies=[Depends(json_body)],
    responses={**JSON_BODY_ERRORS, **error_responses(429, 503)},
)
async def predict(
    body: PredictRequest, request: Request, settings: SettingsDep, scoring: ScoringDep
) -> list[LabelScore] | list[list[LabelScore]]:
    """TEI's classifier route: both labels with scores per input, highest first; one list for a
    string, a list of lists for a batch."""
    headlines = _headlines(body.inputs)
    if not headlines:
        raise ClickbaitError("inputs: must not be empty", ErrorType.validation_error)
    check_headlines(headlines, settings)
    truncate = True if body.truncate is None else body.truncate
    fitted = _within_cap(current_scorer(scoring), headlines, truncate, body.truncation_direction.lower())
    probs, scorer = await request_probabilities(request, scoring, fitted)
    function = "none" if body.raw_scores else "softmax"
    answers = [label_scores(scorer.manifest.labels, float(p), function) for p in probs]
    return answers[0] if isinstance(body.inputs, str) else answers


def tei_info(scorer: Scorer | None, settings: ServiceSettings) -> dict[str, Any]:
    """TEI's ``/info`` fields, in its names, for the model being served (model fields are null until
    one is loaded)."""
    manifest = scorer.manifest if scorer else None
    labels = list(manifest.labels) if manifest else []
    return {
        "model_id": manifest.version if manifest else None,
        "model_sha": None,
        "model_dtype": DTYPES.get(scorer.engine, scorer.engine) if scorer else None,
        "served_model_name": manifest.version if manifest else None,
        "model_type": {
            "classifier": {
                "id2label": {str(i): label for i, label in enumerate(labels)},
                "label2id": {label: i for i, label in enumerate(labels)},
            }
        },
        "max_concurrent_requests": settings.queue_size,  # counted in headlines here, requests in TEI
        "max_input_length": manifest.max_length if manifest else None,
        "max_batch_tokens": settings.max_batch * manifest.max_length if manifest else None,
        "max_batch_requests": settings.max_batch,
        "max_client_batch_size": settings.max_headlines,
        "auto_truncate": True,
        "tokenization_workers": 1,  # the model thread tokenises its own batches
        "version": package_version("clickbait-classifier"),
        "sha": None,
        "docker_label": None,
    }
