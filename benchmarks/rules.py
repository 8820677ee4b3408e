"""What a rules file of 1,000 rules adds to filtering a 100-item feed (issue 35's target: ≤ 10 %).

Usage (repository root, converted base already cached):
    python benchmarks/rules.py [--model default] [--rules 1000] [--items 100] [--rounds 5]

Each round filters a fresh RSS feed of ``--items`` items (new titles each round, so no cache helps
the model) as ``clickbait filter-feed`` does — parse, decide (site rules, the rules file, the model),
write back — once without rules and once with each rules file, and prints the medians. The rules
are made to match nothing, the costly case: every rule is tried on every item. Three files: a
reader's mix (four fifths quoted keywords, one fifth regexes, over titles, paths and authors),
regexes only, and regexes without a literal part (``needle``: searched in every text). The rules'
own time (``needs_score``, no model) is printed beside.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from xml.sax.saxutils import escape

from classifier.scorer import Scorer
from service.feeds.decisions import Policy, decide_items
from service.feeds.formats import needs_score, parse_feed
from service.feeds.rules import Rules
from service.feeds.site_rules import SiteRules
from service.settings import ServiceSettings

WORDS = (
    "budget minister council court river school vote market energy storm police doctor team city "
    "report law price bank rail union farm coast trial study museum bridge season village mayor"
).split()
REGEXES = ("/\\b{w}\\d*\\b/i", "/^\\d+ {w}s? /", "/{w}'?s? {v}/", "/(?:{w}|{v}) report/i")
# regexes with no literal run at their top level: each is searched in every text
BARE_REGEXES = ("/(?:{w}|{v})\\d*/i", "/\\b(?:{w}|{v})s?\\b/")


def word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz") + rng.choice("aeiou") for _ in range(4))


def rules_text(count: int, regex_share: float, rng: random.Random, shapes: tuple[str, ...] = REGEXES) -> str:
    """``count`` rules matching nothing a feed here holds (made-up words), keep and drop alike."""
    lines = []
    for index in range(count):
        action = "keep" if index % 3 == 0 else "drop"
        field = rng.choice(("title", "title", "title", "path", "author"))
        if rng.random() < regex_share:
            value = rng.choice(shapes).format(w=word(rng), v=word(rng))
        else:
            value = f'"{word(rng)} {word(rng)}"' if field != "path" else f'"/{word(rng)}/"'
        lines.append(f"{action} {field} {value}")
    return "\n".join(lines) + "\n"


def feed(items: int, rng: random.Random) -> bytes:
    entries = "".join(
        f"<item><title>{escape(' '.join(rng.choices(WORDS, k=rng.randint(8, 14))).capitalize())}</title>"
        f"<link>https://news.example.org/{rng.choice(WORDS)}/2026/{i}-{rng.choice(WORDS)}</link>"
        f"<author>{rng.choice(WORDS)}@news.example.org ({rng.choice(WORDS).title()} Ionescu)</author></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'.encode()
    )


def filter_once(scorer: Scorer, body: bytes, policy: Policy) -> tuple[float, float]:
    """(seconds to filter ``body`` as filter-feed does, seconds of it the rules took)."""
    start = time.perf_counter()
    parsed = parse_feed(body)
    verdicts = decide_items(scorer, parsed.items, policy)
    parsed.apply(verdicts.decisions, "drop", verdicts.clickbait, verdicts.hold_unvalidated)
    total = time.perf_counter() - start
    items = parse_feed(body).items
    start = time.perf_counter()
    needs_score(items, SiteRules(), policy.item_rules)
    return total, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(35)
    settings = ServiceSettings(model=args.model)
    scorer = Scorer.load(settings.model, settings)
    files = {
        "none": Rules(),
        "mixed": Rules.parse(rules_text(args.rules, 0.2, rng), "mixed.txt"),
        "regexes": Rules.parse(rules_text(args.rules, 1.0, rng), "regexes.txt"),
        "bare regexes": Rules.parse(rules_text(args.rules, 1.0, rng, BARE_REGEXES), "bare.txt"),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in files}
    filter_once(scorer, feed(args.items, rng), Policy.of(settings))  # warm: engine, language identifier
    for _ in range(args.rounds):
        for name, rules in files.items():  # the same fresh feed for each file, the order rotating
            body = feed(args.items, rng)
            times[name].append(
                filter_once(scorer, body, Policy(item_rules=rules, max_chars=settings.max_chars))
            )
    base = statistics.median(t for t, _ in times["none"])
    for name, measured in times.items():
        total = statistics.median(t for t, _ in measured)
        own = statistics.median(r for _, r in measured)
        print(
            json.dumps(
                {
                    "rules": name,
                    "count": len(files[name].rules),
                    "items": args.items,
                    "filter_ms": round(total * 1e3, 1),
                    "rules_ms": round(own * 1e3, 2),
                    "rules_share_of_no_rules_filter": round(own / base, 4),
                }
            )
        )


if __name__ == "__main__":
    main()
