"""Micro-batching: concurrent requests are coalesced into one model call, run off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from classifier.errors import ClickbaitError, ErrorType
from classifier.scorer import Scorer
from service.runtime.prometheus import ServiceMetrics


class QueueFull(ClickbaitError):
    """More headlines are waiting than the queue may hold; a moment later they may fit."""

    error_type, retry_after = ErrorType.overloaded, 1.0


AGED_S = 2.0  # a job waiting this long goes before its client's smaller ones: none is starved
USAGE_HALF_LIFE_S = 10.0  # how fast a client's share of the model is forgotten

# who asked: the request guard sets it to the client's address for each request, so that every
# job a request hands the batcher is counted against the same client
client_of_request: ContextVar[str] = ContextVar("client_of_request", default="")


@dataclass
class _Job:
    texts: Sequence[str]
    lang: str | None  # the caller's language for all its texts; None: each is detected
    client: str = field(default_factory=client_of_request.get)
    future: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    arrived: float = field(default_factory=lambda: asyncio.get_running_loop().time())


class MicroBatcher:
    """Collects jobs for up to ``max_wait_s`` or ``max_batch`` headlines, then scores them at once.

    One model thread: torch already uses every core inside a call, so calls in parallel would only
    compete. A job whose caller went away (its future cancelled) is dropped before the model runs.

    The model is shared fairly between clients: the client that used it least lately (headlines
    scored, halved every ``USAGE_HALF_LIFE_S``) goes first, and a client's own jobs go smallest
    first (then the oldest). So a reader's one headline waits for the model call in progress, not
    behind a crowd of large requests from elsewhere (``ScoringService`` hands work over in pieces
    of at most ``max_batch``, so one call is short), and a client that floods the model waits for
    its own work.
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
        self._pending: list[_Job] = []
        self._arrived = asyncio.Event()
        self._queued = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._usage: dict[str, tuple[float, float]] = {}  # client -> (headlines scored, as of when)
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
        """(``Scorer.scores`` rows: P(clickbait) then P(kind) per text, the scorer that made them),
        in the caller's ``lang`` if given. Raises QueueFull over capacity."""
        if self._queued + len(texts) > self.max_queued:
            raise QueueFull(
                f"server busy: {self._queued} headlines are waiting; the queue holds {self.max_queued}"
            )
        job = _Job(texts, lang)
        self._queued += len(texts)
        self._metrics.queue_depth.set(self._queued)
        self._pending.append(job)
        self._arrived.set()
        return await job.future

    async def _collect(self) -> list[_Job]:
        """Wait for a job, give others ``max_wait_s`` to join, then take jobs in fair order (the
        least served client first; within a client aged jobs, then the smallest) up to
        ``max_batch`` headlines; the first taken goes whole."""
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        loop = asyncio.get_running_loop()
        deadline = self._pending[0].arrived + self.max_wait_s
        while sum(len(j.texts) for j in self._pending) < self.max_batch and loop.time() < deadline:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
        now = loop.time()
        order = sorted(
            self._pending,
            key=lambda j: (self._used(j.client, now), now - j.arrived < AGED_S, len(j.texts), j.arrived),
        )
        jobs, size = [], 0
        for job in order:
            if jobs and size + len(job.texts) > self.max_batch:
                continue
            jobs.append(job)
            size += len(job.texts)
        taken = {id(j) for j in jobs}
        self._pending = [j for j in self._pending if id(j) not in taken]
        self._charge(jobs, now)
        return jobs

    def _used(self, client: str, now: float) -> float:
        """The client's recent use of the model, in headlines, decayed to ``now``."""
        used, at = self._usage.get(client, (0.0, now))
        return used * 0.5 ** ((now - at) / USAGE_HALF_LIFE_S)

    def _charge(self, jobs: list[_Job], now: float) -> None:
        """Count the jobs against their clients; forget clients whose use has faded away."""
        for job in jobs:
            self._usage[job.client] = (self._used(job.client, now) + len(job.texts), now)
        waiting = {j.client for j in self._pending}
        for client in [c for c in self._usage if c not in waiting and self._used(c, now) < 1.0]:
            del self._usage[client]

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
                self._executor, partial(scorer.scores, texts, langs=langs)
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
