"""Model registry routes: list versions, promote one, roll back; this replica swaps at once."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from classifier.registry import ModelRegistry
from service.api.deps import AdminDep, ScoringDep, require_reader
from service.api.schemas import ErrorBody, ModelOut, ModelsOut
from service.runtime.scoring_service import ScoringService

router = APIRouter(tags=["models"])
ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 409)}


async def models_view(scoring: ScoringService) -> ModelsOut:
    registry: ModelRegistry = scoring.registry
    infos, current = await asyncio.gather(
        asyncio.to_thread(registry.list), asyncio.to_thread(registry.current)
    )
    return ModelsOut(
        current=current,
        serving=scoring.scorer.version if scoring.scorer else None,
        models=[ModelOut(**info.model_dump()) for info in infos],
    )


@router.get("/v1/models", response_model=ModelsOut, dependencies=[Depends(require_reader)], responses=ERRORS)
async def list_models(scoring: ScoringDep) -> ModelsOut:
    """Every version in the registry, newest first, with the one in force."""
    return await models_view(scoring)


@router.post("/v1/models/{version}/promote", response_model=ModelsOut, responses=ERRORS)
async def promote(version: str, who: AdminDep, scoring: ScoringDep) -> ModelsOut:
    """Serve ``version`` from now on: this replica swaps before answering, the others within
    ``registry_poll_s`` seconds."""
    await asyncio.to_thread(scoring.registry.promote, version, who, "promoted through the API")
    await scoring.refresh()
    return await models_view(scoring)


@router.post("/v1/models/rollback", response_model=ModelsOut, responses=ERRORS)
async def rollback(who: AdminDep, scoring: ScoringDep) -> ModelsOut:
    """Serve the previously promoted version again."""
    await asyncio.to_thread(scoring.registry.rollback, who)
    await scoring.refresh()
    return await models_view(scoring)
