"""Request and response bodies of the HTTP API (they are also the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from classifier.errors import ErrorType
from service.store.label_store import MAX_LANG_CHARS, MAX_SOURCE_CHARS

NO_NUL = r"^[^\x00]*$"  # for query and path parameters that reach the database


def _characters(text: str) -> str:
    """JSON can escape a lone surrogate (\\ud800), which is no character: the tokenizer fails on it (and
    with it every request batched alongside), and no database stores it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate (\\ud800-\\udfff), which is not a character") from None
    return text


def _storable(text: str) -> str:
    if "\x00" in text:
        raise ValueError("contains a NUL character, which PostgreSQL cannot store")
    return _characters(text)


Text = Annotated[str, AfterValidator(_characters)]
StoredText = Annotated[str, AfterValidator(_storable)]
Lang = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}$")]
LANG_FIELD = Field(
    default=None,
    description="the headlines' language (ISO 639-1), if you know it: it wins over detection and "
    "chooses the language's calibration",
)
# Request bodies are strict: JSON false is no threshold and 1 is no boolean (lax mode took both).
STRICT = ConfigDict(extra="forbid", strict=True)
PROFILE_PATTERN = r"^[A-Za-z0-9._-]{1,63}$"  # a browser profile's id, beside a key's name
PROFILE_DESCRIPTION = (
    "with a key: one of its readers' profiles (the extension's profile id); the personal layer is "
    "the key's own without it"
)
Profile = Annotated[str, StringConstraints(pattern=PROFILE_PATTERN)]


class ScoreRequest(BaseModel):
    model_config = STRICT
    headlines: list[Text] = Field(min_length=1, description="headlines to score")
    threshold: float | None = Field(default=None, ge=0, le=1, description="default: the model's")
    lang: Lang | None = LANG_FIELD
    explain: bool = Field(default=False, description="add word contributions (small batches only)")
    rules: bool = Field(
        default=False,
        description="decide as the feed filter does: the site lists and the rules file "
        "(CLICKBAIT_RULES_FILE) first, a rule's label winning over the score; each result names "
        "what decided (decided_by)",
    )
    links: list[str | None] | None = Field(
        default=None, description="with rules: each headline's link (site and path rules), in order"
    )
    authors: list[str | None] | None = Field(
        default=None, description="with rules: each headline's author (author rules), in order"
    )
    profile: Profile | None = Field(default=None, description=PROFILE_DESCRIPTION)

    @model_validator(mode="after")
    def _one_per_headline(self) -> ScoreRequest:
        for name in ("links", "authors"):
            given = getattr(self, name)
            if given is not None and len(given) != len(self.headlines):
                raise ValueError(f"{name} has {len(given)} entries for {len(self.headlines)} headlines")
        return self


class WordContribution(BaseModel):
    word: str
    contribution: float


class ScoreResult(BaseModel):
    headline: str
    score: float = Field(description="calibrated probability of clickbait")
    label: str
    lang: str | None = Field(
        default=None, description="the headline's language (ISO 639-1, detected; und: none found)"
    )
    validated: bool | None = Field(
        default=None,
        description=(
            "whether the model's calibration was fitted and measured in that language; false: the "
            "score is a zero-shot guess from another language's calibration"
        ),
    )
    bait: float | None = Field(
        default=None,
        description="probability that the headline is bait (a curiosity gap or a misleading promise): "
        "the teaser head's own, calibrated, so it reaches the threshold where bait alone would flag "
        "it; models with kind heads only (docs/teasers.md)",
    )
    tabloid: float | None = Field(
        default=None,
        description="probability that the headline is tabloid (celebrities, gossip, jokes, "
        "horoscopes, lifestyle curiosities, shock); models with kind heads only",
    )
    words: list[WordContribution] | None = None
    decided_by: str | None = Field(
        default=None,
        description="with rules: model, site:HOST or rule:FILE:LINE (docs/feeds.md, 'Rules'); "
        "personal where the reader's personal layer changed the shared model's label",
    )
    personal: PersonalOut | None = Field(
        default=None, description="asked with a key whose reader has a personal layer: what it did"
    )


class NearLabel(BaseModel):
    headline: str
    label: str


class PersonalOut(BaseModel):
    shared_score: float = Field(description="the shared model's score, before the reader's layer")
    changed: bool = Field(description="the layer changed the shared model's label")
    nearest: list[NearLabel] = Field(description="the reader's labelled headlines nearest this one: why")


class ScoreResponse(BaseModel):
    model: str
    threshold: float
    results: list[ScoreResult]


class ExplainRequest(BaseModel):
    model_config = STRICT
    headline: Text = Field(min_length=1)
    threshold: float | None = Field(default=None, ge=0, le=1)
    lang: Lang | None = LANG_FIELD


def _one_per_batch_entry(inputs: object) -> object:
    """TEI's batch entries are ``[text]`` or ``[text, text]`` (a pair); a headline has no pair."""
    if isinstance(inputs, list) and any(isinstance(entry, list) and len(entry) != 1 for entry in inputs):
        raise ValueError("each batch entry is [headline]: text pairs are for cross-encoders, not headlines")
    return inputs


class PredictRequest(BaseModel):
    """text-embeddings-inference's classifier route."""

    model_config = ConfigDict(strict=True)  # extra fields allowed, as TEI allows them
    inputs: Annotated[Text | list[Text] | list[list[Text]], BeforeValidator(_one_per_batch_entry)] = Field(
        description='a headline, a batch [["a"], ["b"]] as TEI takes it, or a flat list ["a", "b"] (a '
        "batch here; TEI reads two strings as a pair)"
    )
    raw_scores: bool = Field(default=False, description="the exported network's logits, not probabilities")
    truncate: bool | None = Field(
        default=None, description="cut headlines longer than the model reads (default); false: refuse them"
    )
    truncation_direction: Literal["left", "right", "Left", "Right"] = Field(
        default="right", description="which end of a long headline is cut"
    )


class ClassificationParameters(BaseModel):
    model_config = STRICT
    top_k: int | None = Field(default=None, ge=1, description="the k highest labels; default: both")
    function_to_apply: Literal["softmax", "sigmoid", "none"] | None = Field(
        default=None, description="softmax (default): probabilities; none: the exported network's logits"
    )


class ClassificationRequest(BaseModel):
    """The Hugging Face Inference API's text-classification request; anything else is refused."""

    model_config = STRICT
    inputs: Text | list[Text]
    parameters: ClassificationParameters = Field(default_factory=ClassificationParameters)


class LabelScore(BaseModel):
    label: str
    score: float


class ErrorBody(BaseModel):
    """Every error answer: a message for people and a kind (the closed set below) for programs."""

    error: str
    error_type: ErrorType


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries: these statuses answer in the one error shape."""
    return {code: {"model": ErrorBody} for code in codes}


JSON_BODY_ERRORS = error_responses(400, 413, 415, 422)  # malformed, too large, not JSON, invalid


class LabelIn(BaseModel):
    model_config = STRICT
    headline: StoredText = Field(min_length=1)
    label: Literal["news", "clickbait"]
    lang: StoredText | None = Field(
        default=None, max_length=MAX_LANG_CHARS, description="ISO 639-1 code, if known"
    )
    source: StoredText | None = Field(
        default=None, max_length=MAX_SOURCE_CHARS, description="site or outlet, if known"
    )


class FeedLabelIn(BaseModel):
    """A label from where a reader reads: the query of a proxied feed's label link (``GET
    /v1/feed-label``) and the form its page posts back."""

    token: str = Field(
        min_length=1, max_length=64, pattern=NO_NUL, description="the reader's feed token (GET /v1/personal)"
    )
    headline: str = Field(
        min_length=1, pattern=NO_NUL, description="the item's title, at most CLICKBAIT_MAX_CHARS"
    )
    label: Literal["news", "clickbait"]
    source: str = Field(
        default="",
        max_length=MAX_SOURCE_CHARS,
        pattern=NO_NUL,
        description="where it was read: the item's link (empty: none)",
    )


MAX_LABELS_PER_REQUEST = 1000  # a page of an editor's batch; more goes through `clickbait labels import`


class LabelsRequest(BaseModel):
    model_config = STRICT
    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_LABELS_PER_REQUEST)
    profile: Profile | None = Field(default=None, description=PROFILE_DESCRIPTION)


class LabelOut(BaseModel):
    id: int
    headline: str
    label: str
    lang: str | None
    source: str | None
    by: str
    at: datetime


class ConflictOut(BaseModel):
    headline: str
    label: str
    previous_label: str
    previous_by: str
    previous_at: datetime


class LearntOut(BaseModel):
    reader: str = Field(description="the key's name, or name/profile")
    labels: int = Field(description="the reader's labels the layer learnt from")
    seconds: float = Field(description="the shared model's pass over them and the fit")
    fitted_at: datetime | None = Field(description="null: the reader has no labels, and no layer")


class LabelsAdded(BaseModel):
    added: int
    ids: list[int]
    conflicts: list[ConflictOut] = Field(description="labels that changed a headline's earlier label")
    personal: LearntOut | None = Field(
        default=None, description="the writer's personal layer, learnt again from their labels"
    )


class PersonalExport(BaseModel):
    reader: str
    labels: list[LabelOut] = Field(description="the labels the layer learns from, oldest first")
    layer: dict | None = Field(description="the fitted layer (classifier/personal.py), null: none")
    model: str | None = Field(description="the shared model version it was fitted over")
    fitted_at: datetime | None
    feed_token: str | None = Field(
        description="add &personal=TOKEN to a feed proxy URL (GET /v1/filter?url=…) to have the layer "
        "decide it, for feed readers that send no key; it changes when the layer is deleted"
    )


class PersonalDeleted(BaseModel):
    reader: str
    labels_deleted: int
    layer_deleted: bool


class LabelPageOut(BaseModel):
    labels: list[LabelOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null on the last")


class SuggestionOut(BaseModel):
    headline: str
    score: float
    model: str


class SuggestionsOut(BaseModel):
    threshold: float
    suggestions: list[SuggestionOut]


class RetrainRequest(BaseModel):
    model_config = STRICT
    from_base: bool = Field(default=False, description="train from the base model instead of the current one")


class JobOut(BaseModel):
    id: str
    kind: str
    state: str = Field(description="queued, running, promoted, rejected or failed")
    progress: float
    message: str
    by: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class ModelOut(BaseModel):
    version: str
    status: str = Field(description="current, previous (promoted before) or candidate")
    created_at: str
    method: str
    metrics: dict[str, Any]
    note: dict[str, Any]
    routed_languages: list[str] | None = Field(
        None,
        description="a routed model scores these languages itself and hands every other to the model "
        "it was retrained from; null: it scores every language",
    )


class ModelsOut(BaseModel):
    current: str | None
    serving: str | None = Field(description="the version this replica serves right now")
    models: list[ModelOut]
