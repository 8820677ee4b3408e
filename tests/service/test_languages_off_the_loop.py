"""A headline's language is found off the event loop, by the one rule (``Scorer.languages``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from service.runtime.scoring_service import ScoringService


class RecordingScorer:
    """Stands for a model: names every headline Romanian and notes the thread that asked."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.asked: list[tuple[list[str], list[str | None]]] = []

    def languages(self, headlines: Sequence[str], langs: Sequence[str | None]) -> list[str]:
        self.threads.append(threading.current_thread())
        self.asked.append((list(headlines), list(langs)))
        return [lang or "ro" for lang in langs]

    def validated(self, lang: str) -> bool:
        return lang == "ro"


def test_languages_are_found_in_a_worker_thread_on_normalised_headlines() -> None:
    scorer = RecordingScorer()

    async def ask() -> tuple[list[tuple[str, bool]], threading.Thread]:
        found = await ScoringService.languages(scorer, ["  Guvernul   a aprobat bugetul "], None)
        return found, threading.current_thread()

    found, loop_thread = asyncio.run(ask())
    assert found == [("ro", True)]
    assert scorer.threads and loop_thread not in scorer.threads
    assert scorer.asked == [(["Guvernul a aprobat bugetul"], [None])]
    given = asyncio.run(ScoringService.languages(scorer, ["a", "b"], "en"))
    assert given == [("en", False), ("en", False)]
