"""The Hugging Face Inference API's text-classification route on ``POST /``, so that
``huggingface_hub.InferenceClient(model=BASE_URL).text_classification(text)`` works unchanged.

The client posts ``{"inputs": text, "parameters": {...}}`` to the URL it was given and reads a list
of lists of ``{"label", "score"}``, one list per input. Both of its parameters are honoured;
anything else is refused (422), not ignored, so a caller never gets an answer to another question.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from classifier.errors import ClickbaitError, ErrorType
from service.api.deps import ScoringDep, SettingsDep, check_headlines, json_body, request_probabilities
from service.api.label_scores import label_scores
from service.api.schemas import JSON_BODY_ERRORS, ClassificationRequest, LabelScore, error_responses

router = APIRouter(tags=["compatibility"])


@router.post(
    "/",
    response_model=list[list[LabelScore]],
    dependencies=[Depends(json_body)],
    responses={**JSON_BODY_ERRORS, **error_responses(429, 503)},
)
async def classify(
    body: ClassificationRequest, request: Request, settings: SettingsDep, scoring: ScoringDep
) -> list[list[LabelScore]]:
    """Hugging Face text classification: for each input, the labels and their scores, highest first."""
    headlines = [body.inputs] if isinstance(body.inputs, str) else body.inputs
    if not headlines:
        raise ClickbaitError("inputs: must not be empty", ErrorType.validation_error)
    check_headlines(headlines, settings)
    probs, scorer = await request_probabilities(request, scoring, headlines)
    function = body.parameters.function_to_apply or "softmax"
    top_k = body.parameters.top_k
    return [label_scores(scorer.manifest.labels, float(p), function)[:top_k] for p in probs]
