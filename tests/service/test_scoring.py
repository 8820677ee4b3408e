"""The model slot: a promoted version replaces the served one, and the replaced model is freed."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import weakref
from pathlib import Path

from service.runtime.prometheus import ServiceMetrics
from service.runtime.scoring_service import ScoringService
from service.settings import ServiceSettings


def _second_version(known_model: Path, root: Path) -> Path:
    copy = root / "known-2"
    shutil.copytree(known_model, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["version"] = "known-2"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_a_swap_frees_the_replaced_model(known_model: Path, tmp_path: Path) -> None:
    """Nothing that lives as long as the service (the loading task, the idle batcher) may keep the
    first model: each swap would otherwise add a model's worth of memory for good."""

    async def scenario() -> tuple[list[str], bool]:
        service = ScoringService(
            ServiceSettings(model=str(known_model), cache_size=0, registry_poll_s=300), ServiceMetrics()
        )
        await service.start()
        loading = asyncio.create_task(service.load())
        while service.scorer is None:
            await asyncio.sleep(0.05)
        first = weakref.ref(service.scorer)
        _, used = await service.probabilities(["a headline"])
        served = [used.version]
        service.registry.add(_second_version(known_model, tmp_path))
        service.registry.promote("known-2", by="test")
        await service.refresh()
        _, used = await service.probabilities(["another headline"])
        served.append(used.version)
        del used
        gc.collect()
        freed = first() is None
        loading.cancel()
        await service.stop()
        return served, freed

    served, freed = asyncio.run(scenario())
    assert served == ["known-1", "known-2"]
    assert freed
