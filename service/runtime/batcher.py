"""Micro-batching: concurrent requests are coalesced into one model call, run off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from classifier.errors import ClickbaitError, ErrorType
from classifier.scorer import Scorer
from service.runtime.prometheus import ServiceMetrics


class QueueFull(ClickbaitError):
    """More headlines are waiting than the queue may hold; a moment later they may fit."""

    error_type, retry_after = ErrorType.overloaded, 1.0


@dataclass
class _Job:
    texts: Sequence[str]
    lang: str | None  # the caller's language for all its texts; None: each is detected
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class MicroBatcher:
    """Collects jobs for up to ``max_wait_s`` or ``max_batch`` headlines, then scores them at once.

    One model thread: torch already uses every core inside a call, so calls in parallel would only
    compete. A job whose caller went away (its future cancelled) is dropped before the model runs.
    """

    def __init__(
        self,
        scorer: Callable[[], Scorer],
        metrics: ServiceMetrics,
        max_batch: int = 256,
        max_wait_s: float = 0.005,
        max_queued: int = 4096,
    ) -> None:
        self._scorer, self._metrics = scorer, metrics
        self.max_batch, self.max_wait_s, self.max_queued = max_batch, max_wait_s, max_queued
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._queued = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._worker: asyncio.Task | None = None

    async def start(self) -> None:
        self._worker = asyncio.create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=True)

    async def score(self, texts: Sequence[str], lang: str | None = None) -> tuple[np.ndarray, Scorer]:
        """(P(clickbait) per text, the scorer that made them), in the caller's ``lang`` if given.
        Raises QueueFull over capacity."""
        if self._queued + len(texts) > self.max_queued:
            raise QueueFull(
                f"server busy: {self._queued} headlines are waiting; the queue holds {self.max_queued}"
            )
        job = _Job(texts, lang)
        self._queued += len(texts)
        self._metrics.queue_depth.set(self._queued)
        self._queue.put_nowait(job)
        return await job.future

    async def _collect(self) -> list[_Job]:
        jobs = [await self._queue.get()]
        size = len(jobs[0].texts)
        deadline = asyncio.get_running_loop().time() + self.max_wait_s
        while size < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self) -> None:
        while True:
            await self._one_batch()  # its locals, the model and the answered requests, end with it

    async def _one_batch(self) -> None:
        """Collect one batch, score it with one model version, hand each request its part."""
        jobs = await self._collect()
        self._queued -= sum(len(j.texts) for j in jobs)
        self._metrics.queue_depth.set(self._queued)
        live = [j for j in jobs if not j.future.done()]
        if not live:
            return
        texts = [t for j in live for t in j.texts]
        langs = [j.lang for j in live for _ in j.texts]
        scorer = self._scorer()  # one version for the whole batch
        self._metrics.batch_size.observe(len(texts))
        self._metrics.model_calls.inc()
        try:
            probs = await asyncio.get_running_loop().run_in_executor(
                self._executor, partial(scorer.probabilities, texts, langs=langs)
            )
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            for job in live:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        start = 0
        for job in live:
            part = probs[start : start + len(job.texts)]
            start += len(job.texts)
            if not job.future.done():
                job.future.set_result((part, scorer))
