"""Made-up labelled headlines, in several languages, and a JSONL writer for them."""

from __future__ import annotations

import json
from pathlib import Path

NEWS = [
    "Parliament approves the 2025 state budget after a long debate",
    "Central bank keeps interest rate unchanged at 6.5 percent",
    "Guvernul a adoptat bugetul pe 2025 după o lungă dezbatere",
    "El Congreso aprueba la reforma de las pensiones",
    "Earthquake of magnitude 5.1 strikes the coast, no victims reported",
    "Ministerul Sănătății anunță noi măsuri pentru spitale",
    "Inflation slows to 4 percent in October, statistics office says",
    "Court sentences former mayor to four years for corruption",
]
CLICKBAIT = [
    "You won't believe what this actress looks like now!",
    "17 photos that will make you cry with laughter",
    "Nu o să-ți vină să crezi ce a făcut vedeta! Imagini incendiare",
    "¡No creerás lo que pasó después! Increíble",
    "This one weird trick doctors hate will change your life",
    "Wow sau Bau? Cât de mult s-au schimbat vedetele",
    "Which Disney princess are you? Take the quiz",
    "What happened next shocked everyone",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def labelled_rows(copies: int = 1) -> list[dict]:
    """Distinct made-up headlines; ``copies`` > 1 adds numbered variants."""
    rows = []
    for i in range(copies):
        suffix = "" if i == 0 else f" ({i})"
        rows += [
            {"text": t + suffix, "label": "news", "lang": "xx", "source": f"site{j % 3}"}
            for j, t in enumerate(NEWS)
        ]
        rows += [
            {"text": t + suffix, "label": "clickbait", "lang": "xx", "source": f"farm{j % 3}"}
            for j, t in enumerate(CLICKBAIT)
        ]
    return rows
