"""Request and response bodies of the HTTP API (they are also the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headlines: list[str] = Field(min_length=1, description="headlines to score")
    threshold: float | None = Field(default=None, ge=0, le=1, description="default: the model's")
    explain: bool = Field(default=False, description="add word contributions (small batches only)")


class WordContribution(BaseModel):
    word: str
    contribution: float


class ScoreResult(BaseModel):
    headline: str
    score: float = Field(description="calibrated probability of clickbait")
    label: str
    words: list[WordContribution] | None = None


class ScoreResponse(BaseModel):
    model: str
    threshold: float
    results: list[ScoreResult]


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    headline: str = Field(min_length=1)
    threshold: float | None = Field(default=None, ge=0, le=1)


class PredictRequest(BaseModel):
    """text-embeddings-inference's classifier route."""

    inputs: str | list[str]
    raw_scores: bool = False
    truncate: bool | None = None


class LabelScore(BaseModel):
    label: str
    score: float


class ErrorBody(BaseModel):
    error: str
    error_type: str
