"""Feed and page commands: ``clickbait filter-feed``, ``clickbait page``, ``clickbait opml``,
``clickbait miniflux sweep`` and ``clickbait rules check``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from classifier.flags import add_flags, given
from classifier.settings import ClassifierSettings
from service.cli.arguments import CliError, probability
from service.settings import MinifluxUser, ServiceSettings

if TYPE_CHECKING:
    from classifier.scorer import Scorer
    from service.feeds.decisions import Policy


def _read_source(source: str, max_bytes: int = 50_000_000) -> tuple[bytes, str | None, str | None]:
    """(body, content type, URL) of a local file, an http(s) URL, or standard input for ``-`` (so the
    command can sit in a pipe, as newsboat's ``filter:`` URLs run it)."""
    if source == "-":
        return sys.stdin.buffer.read(), None, None
    if source.startswith(("http://", "https://")):
        import asyncio
        from urllib.parse import urlsplit

        from service.feeds.fetch import FetchPolicy, fetch

        host = (urlsplit(source).hostname or "").lower()
        # the named host is trusted (it may be local); redirects must go to public hosts
        fetched = asyncio.run(fetch(source, FetchPolicy.of(["*", host], max_bytes=max_bytes)))
        return fetched.body, fetched.content_type, fetched.url
    path = Path(source)
    if not path.is_file():
        raise CliError(f"{source}: no such file (give a path, an http(s) URL, or - for standard input)")
    return path.read_bytes(), None, None


def _filter_feed(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from service.feeds.decisions import Policy, decide_items
    from service.feeds.formats import parse_feed

    settings = ServiceSettings(**given(args, ["model", "rules_file"]))
    policy = Policy.of(settings, args.allow, args.block, args.threshold, args.drop_unvalidated)
    body, content_type, _ = _read_source(args.source)
    feed = parse_feed(body, content_type, max_items=1_000_000)
    verdicts = decide_items(Scorer.load(settings.model, settings), feed.items, policy)
    _write(
        feed.apply(verdicts.decisions, args.mode, verdicts.clickbait, verdicts.hold_unvalidated), args.output
    )


def _write(output: bytes, path: Path | None) -> None:
    if path:
        path.write_bytes(output)
    else:
        sys.stdout.buffer.write(output)


def _opml(args: argparse.Namespace) -> None:
    from service.feeds import opml

    document, _, _ = _read_source(args.source)
    moved = opml.rewrite(document, args.proxy) if args.opml_command == "rewrite" else opml.restore(document)
    _write(moved, args.output)


def _page(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from service.feeds.page_headlines import extract_headlines

    body, _, url = _read_source(args.source)
    found = extract_headlines(body.decode("utf-8", errors="replace"), url or args.url)
    scorer = Scorer.load(args.model)
    for headline, prediction in zip(
        found, scorer.score([h.headline for h in found], args.threshold), strict=True
    ):
        print(
            json.dumps(
                {
                    "headline": headline.headline,
                    "role": headline.role,
                    "link": headline.link,
                    "site": headline.site,
                    "score": round(prediction.score, 6),
                    "label": prediction.label,
                    "lang": prediction.lang,
                    "validated": prediction.validated,
                },
                ensure_ascii=False,
            )
        )


def _miniflux_sweep(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from service.feeds.decisions import Policy

    settings = ServiceSettings(**given(args, args.flags))
    users = [user for user in settings.miniflux_accounts if user.token]
    unknown = sorted(set(args.user) - {user.name for user in users})
    if unknown:
        raise CliError(f"no Miniflux user named {', '.join(unknown)} in CLICKBAIT_MINIFLUX_USERS")
    users = [user for user in users if not args.user or user.name in args.user]
    if not (settings.miniflux_url and users):
        raise CliError(
            "set CLICKBAIT_MINIFLUX_URL (or --miniflux-url) and CLICKBAIT_MINIFLUX_TOKEN (an API key)"
        )
    scorer = Scorer.load(settings.model, settings)
    policy = Policy.of(settings, threshold=args.threshold)
    for user in users:
        _sweep_user(args, settings, scorer, policy, user)


def _sweep_user(
    args: argparse.Namespace, settings: ServiceSettings, scorer: Scorer, policy: Policy, user: MinifluxUser
) -> None:
    """One user's sweep: its clickbait as JSON lines, then its summary on standard error; each line
    names the user, unless it is the single pair's (CLICKBAIT_MINIFLUX_TOKEN)."""
    import asyncio
    from dataclasses import asdict

    from service.feeds.miniflux import MINIFLUX_AUTHOR, Miniflux, miniflux_reader
    from service.feeds.miniflux_sweep import LabelSources, SweepReport, read_labels, sweep
    from service.runtime.personal import PersonalLayers
    from service.store.db import make_engine, migrate
    from service.store.label_store import LabelStore
    from service.store.personal_store import PersonalStore

    engine = make_engine(settings.database)
    migrate(engine)
    labels = LabelStore(engine)
    personal = PersonalLayers(labels, PersonalStore(engine), settings)
    reader = miniflux_reader(user)
    sources = LabelSources(
        None if settings.miniflux_label_starred == "off" else settings.miniflux_label_starred,
        settings.miniflux_label_category,
    )

    async def run() -> tuple[SweepReport, int, int]:
        token = user.token.get_secret_value()
        async with Miniflux(settings.miniflux_url, token, settings.feed_timeout_s) as miniflux:
            given = await read_labels(miniflux, sources, settings.max_chars)
            stored = labels.add_changed(given, MINIFLUX_AUTHOR, reader) if args.apply and given else 0
            if stored and settings.personal_layers:
                personal.learn(reader, scorer)
            found = personal.layer(reader, scorer) if settings.personal_layers else None
            report = await sweep(
                miniflux,
                scorer,
                policy,
                settings.miniflux_action,
                args.apply,
                args.feed,
                args.category,
                layer=found[0] if found else None,
            )
            return report, len(given), stored

    try:
        report, given, stored = asyncio.run(run())
    finally:
        engine.dispose()
    named = {"user": user.name} if user.name else {}
    for entry in report.clickbait:
        print(json.dumps({**asdict(entry), **named}, ensure_ascii=False))
    for entry in report.held:
        print(json.dumps({**asdict(entry), "held": True, **named}, ensure_ascii=False))
    summary = {
        **named,
        "scanned": report.scanned,
        "already_named": report.already_named,
        **(
            {"labels": given, "labels_stored": stored}
            if sources.starred or sources.category is not None
            else {}
        ),
        "clickbait": len(report.clickbait),
        **({"held": len(report.held)} if report.held else {}),
        "action": settings.miniflux_action,
        "applied": args.apply,
        **({} if args.apply else {"note": "dry run: nothing changed; --apply to act"}),
    }
    print(json.dumps(summary), file=sys.stderr)


def add_filter_feed(commands: argparse._SubParsersAction) -> None:
    filter_feed = commands.add_parser(
        "filter-feed", help="drop or annotate the clickbait of an RSS/Atom/JSON feed"
    )
    filter_feed.add_argument("source", help="feed file, http(s) URL, or - for standard input")
    filter_feed.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    filter_feed.add_argument("--mode", choices=["drop", "annotate"], default="drop")
    filter_feed.add_argument("--threshold", type=probability)
    add_flags(filter_feed, ClassifierSettings, ["model"])
    add_flags(filter_feed, ServiceSettings, ["rules_file"])
    filter_feed.add_argument("--allow", nargs="*", default=[], help="sites never marked clickbait")
    filter_feed.add_argument("--block", nargs="*", default=[], help="sites always marked clickbait")
    filter_feed.add_argument(
        "--drop-unvalidated",
        action="store_true",
        help="--mode drop also drops clickbait in languages the model was not validated on "
        "(default: kept, annotated)",
    )
    filter_feed.set_defaults(handler=_filter_feed)


def add_page(commands: argparse._SubParsersAction) -> None:
    page = commands.add_parser("page", help="list and score the headlines of an HTML page")
    page.add_argument("source", help="HTML file, http(s) URL, or - for standard input")
    page.add_argument("--url", help="the page's address, to resolve relative links of a file")
    page.add_argument("--threshold", type=probability)
    add_flags(page, ClassifierSettings, ["model"])
    page.set_defaults(handler=_page)


def add_miniflux(commands: argparse._SubParsersAction) -> None:
    miniflux = commands.add_parser("miniflux", help="act on Miniflux users' stored entries")
    miniflux_commands = miniflux.add_subparsers(dest="miniflux_command", required=True)
    sweep = miniflux_commands.add_parser(
        "sweep",
        help="mark read (or name by title) the clickbait among unread entries; a dry run unless --apply",
    )
    sweep.add_argument("--apply", action="store_true", help="act; without it, only list what would be done")
    sweep.add_argument(
        "--feed", type=int, nargs="+", default=[], metavar="ID", help="only these feeds' entries"
    )
    sweep.add_argument(
        "--category", type=int, nargs="+", default=[], metavar="ID", help="only these categories' entries"
    )
    sweep.add_argument("--threshold", type=probability, help="override the model's threshold")
    sweep.add_argument(
        "--user",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these users of CLICKBAIT_MINIFLUX_USERS (default: every user with an API key)",
    )
    sweep_flags = add_flags(
        sweep, ServiceSettings, ["model", "miniflux_url", "miniflux_action", "rules_file"]
    )
    sweep.set_defaults(handler=_miniflux_sweep, flags=sweep_flags)


def add_opml(commands: argparse._SubParsersAction) -> None:
    opml = commands.add_parser(
        "opml", help="move an OPML list's subscriptions onto the feed proxy (rewrite), or back (restore)"
    )
    opml_commands = opml.add_subparsers(dest="opml_command", required=True)
    rewrite = opml_commands.add_parser(
        "rewrite", help="each subscription's xmlUrl becomes its filtered proxy URL; the rest is kept"
    )
    rewrite.add_argument(
        "--proxy",
        required=True,
        help="the service's address (http://host:8000), or its /v1/filter URL with the parameters "
        "every feed gets (http://host:8000/v1/filter?mode=annotate&block=example.com)",
    )
    restore = opml_commands.add_parser(
        "restore", help="each proxy URL (…/v1/filter?url=…) back to the feed's own URL; the rest is kept"
    )
    for command in (rewrite, restore):
        command.add_argument("source", help="OPML file, http(s) URL, or - for standard input")
        command.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    opml.set_defaults(handler=_opml)


def _check_rules(args: argparse.Namespace) -> None:
    from service.feeds.rules import read_rules

    rules = read_rules(args.file)  # a bad line: RuleError, FILE:LINE and why
    print(json.dumps({"file": str(args.file), "rules": len(rules.rules)}))


def add_rules(commands: argparse._SubParsersAction) -> None:
    rules = commands.add_parser("rules", help="keep/drop rules on titles, URL paths and authors")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser(
        "check", help="read a rules file as the service would; a bad line is named by FILE:LINE"
    )
    check.add_argument("file", type=Path, help="the rules file (docs/feeds.md, 'Rules')")
    check.set_defaults(handler=_check_rules)
