"""The ``clickbait`` command line: train, evaluate, score, filter feeds, serve, retrain, manage models."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from classifier.errors import ClickbaitError, ErrorType
from classifier.settings import ClassifierSettings, get_settings
from service.flags import add_flags, given
from service.settings import ServiceSettings
from training.config import TrainConfig

EXIT_USAGE = 2


class CliError(ClickbaitError):
    """A user error in the command's arguments or input."""

    error_type = ErrorType.validation_error


def _train(args: argparse.Namespace) -> None:
    from training.trainer import train

    config = TrainConfig.from_sources(args.config, given(args, args.flags))
    result = train(config)
    if not result.main:
        return
    summary = {
        "out": str(result.out),
        "model": result.manifest.version,
        "threshold": result.manifest.threshold,
        "temperature": round(result.manifest.temperature, 4),
        "validation": {
            k: result.manifest.metrics["validation"][k] for k in ("n", "macro_f1", "roc_auc", "ece")
        },
        "seconds": round(result.seconds, 1),
    }
    print(json.dumps(summary, indent=2))


def _evaluate(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from training.evaluate import evaluate_files, format_table

    report = evaluate_files(Scorer.load(args.model), args.data)
    print(json.dumps(report, ensure_ascii=False) if args.json else format_table(report))


def _export(args: argparse.Namespace) -> None:
    from classifier.export import export

    if args.int8 and args.format != "onnx":
        raise CliError("--int8 applies to --format onnx (the hf export is the fp32 model)")
    written = export(args.model, args.out, args.format, args.int8)
    print(json.dumps({"out": str(args.out), "format": args.format, "files": [p.name for p in written]}))


def _distill(args: argparse.Namespace) -> None:
    from training.distill import distill

    config = TrainConfig.from_sources(args.config, given(args, args.flags))
    result = distill(config, args.teacher, args.layers, args.unlabelled, args.max_rows, dict(args.augment))
    if not result.main:
        return
    validation = result.manifest.metrics["validation"]
    print(
        json.dumps(
            {
                "out": str(result.out),
                "model": result.manifest.version,
                "layers": args.layers,
                "threshold": result.manifest.threshold,
                "validation": {k: validation[k] for k in ("n", "macro_f1", "roc_auc", "ece")},
                "seconds": round(result.seconds, 1),
            },
            indent=2,
        )
    )


def _quantize(args: argparse.Namespace) -> None:
    from classifier.scorer import resolve_model_dir
    from training.quantize import quantize_artifact

    config = TrainConfig.from_sources(args.config, {})
    spec = quantize_artifact(resolve_model_dir(args.model), config, args.alpha, args.max_drop)
    print(json.dumps(spec.model_dump(), indent=2))


def _score(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer

    if args.input or args.output:
        _score_file(args)
        return
    headlines = args.headlines or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not headlines:
        raise CliError("no headlines: pass them as arguments or as lines on standard input")
    scorer = Scorer.load(args.model)
    for prediction in scorer.score(headlines, threshold=args.threshold):
        print(
            json.dumps(
                {
                    "headline": prediction.headline,
                    "score": round(prediction.score, 6),
                    "label": prediction.label,
                },
                ensure_ascii=False,
            )
        )


def _score_file(args: argparse.Namespace) -> None:
    from classifier.bulk import score_file
    from classifier.scorer import Scorer

    if not (args.input and args.output) or args.headlines:
        raise CliError("bulk scoring takes --input FILE and --output FILE, and no headline arguments")
    if args.runner == "ray":
        from classifier.sharded import score_shards

        summary = score_shards(
            str(args.input),
            args.output,
            args.model,
            args.resume,
            args.threshold,
            args.workers,
            args.threads_per_worker,
            args.address,
        )
        print(json.dumps({"output": str(args.output), **summary}), file=sys.stderr)
        return
    skipped, scored = score_file(
        Scorer.load(args.model), args.input, args.output, args.resume, args.threshold
    )
    print(
        json.dumps({"output": str(args.output), "resumed_after": skipped, "scored": scored}), file=sys.stderr
    )


def _read_source(source: str, max_bytes: int = 50_000_000) -> tuple[bytes, str | None, str | None]:
    """(body, content type, URL) of a local file, an http(s) URL, or standard input for ``-`` (so the
    command can sit in a pipe, as newsboat's ``filter:`` URLs run it)."""
    if source == "-":
        return sys.stdin.buffer.read(), None, None
    if source.startswith(("http://", "https://")):
        import asyncio
        from urllib.parse import urlsplit

        from service.fetch import FetchPolicy, fetch

        host = (urlsplit(source).hostname or "").lower()
        # the named host is trusted (it may be local); redirects must go to public hosts
        return asyncio.run(fetch(source, FetchPolicy.of(["*", host], max_bytes=max_bytes)))
    path = Path(source)
    if not path.is_file():
        raise CliError(f"{source}: no such file (give a path, an http(s) URL, or - for standard input)")
    return path.read_bytes(), None, None


def _filter_feed(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from service.feeds import decide, needs_score, parse_feed
    from service.site_rules import SiteRules

    body, content_type, _ = _read_source(args.source)
    feed = parse_feed(body, content_type, max_items=1_000_000)
    matched, todo = needs_score(feed.items, SiteRules.of(args.allow, args.block))
    scorer = Scorer.load(args.model)
    probs = scorer.probabilities([feed.items[i].title for i in todo])
    threshold = scorer.threshold if args.threshold is None else args.threshold
    output = feed.apply(
        decide(matched, dict(zip(todo, probs, strict=True)), threshold, scorer.manifest.labels), args.mode
    )
    if args.output:
        args.output.write_bytes(output)
    else:
        sys.stdout.buffer.write(output)


def _page(args: argparse.Namespace) -> None:
    from classifier.scorer import Scorer
    from service.page import extract_headlines

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
                },
                ensure_ascii=False,
            )
        )


def _serve(args: argparse.Namespace) -> None:
    from service.memory import cap_malloc_arenas, map_large_blocks

    settings = ServiceSettings(**given(args, args.flags))
    cap_malloc_arenas(settings.malloc_arenas)  # before the imports and threads that open heaps
    map_large_blocks(settings.malloc_mmap_kb)
    # every logger at the chosen level, not only uvicorn's, before importing modules that log as they load
    logging.getLogger().setLevel(settings.log_level.upper())
    import uvicorn

    from service.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run()


def _retrain(args: argparse.Namespace) -> None:
    from service.db import make_engine, migrate
    from service.jobs import JobStore
    from service.retrain_job import job_params, run
    from training.parallel import launched

    if launched():  # every process would judge and promote its own candidate
        raise CliError(
            "retrain runs as one process; launch `clickbait train` on several and promote its model"
        )
    settings = ServiceSettings()
    engine = make_engine(settings.database)
    migrate(engine)
    job = JobStore(engine, settings.job_stale_s).create(job_params(settings, args.from_base), author="cli")
    job = run(job.id, settings)
    print(
        json.dumps(
            {"job": job.id, "state": job.state, "message": job.message, "result": job.result},
            indent=2,
            ensure_ascii=False,
        )
    )
    if job.state == "failed":
        raise CliError(job.message)


def _labels(args: argparse.Namespace) -> None:
    from service.db import make_engine, migrate
    from service.label_files import import_labels
    from service.label_store import LabelStore

    settings = ServiceSettings()
    engine = make_engine(settings.database)
    migrate(engine)
    store = LabelStore(engine)
    if args.action == "import":
        if args.file is None:
            raise CliError("import needs a FILE (JSONL or CSV: text or headline, label[, lang, source])")
        stored, conflicts = import_labels(store, args.file, args.author, settings.max_chars)
        print(json.dumps({"stored": stored, "conflicts": conflicts, "file": str(args.file)}))
        return
    out = sys.stdout if args.file is None or str(args.file) == "-" else args.file.open("w", encoding="utf-8")
    with out if out is not sys.stdout else contextlib.nullcontext():
        for line in store.training_rows():
            out.write(line)


def _models(args: argparse.Namespace) -> None:
    from classifier.registry import ModelRegistry

    settings = ServiceSettings(**({"registry_dir": args.registry} if args.registry else {}))
    registry = ModelRegistry(settings.registry_path)
    if args.action == "promote":
        if not args.version:
            raise CliError("promote needs a VERSION (see: clickbait models list)")
        registry.promote(args.version, by="cli", reason="promoted from the command line")
    elif args.action == "rollback":
        registry.rollback(by="cli")
    for info in registry.list():
        metrics = " ".join(f"{k}={v:.4g}" for k, v in info.metrics.items() if isinstance(v, float))
        print(f"{info.version:<28} {info.status:<10} {info.created_at}  {metrics}")


def _miniflux_sweep(args: argparse.Namespace) -> None:
    import asyncio
    from dataclasses import asdict

    from classifier.scorer import Scorer
    from service.miniflux import Miniflux
    from service.miniflux_sweep import SweepReport, sweep
    from service.site_rules import SiteRules

    settings = ServiceSettings(**given(args, args.flags))
    if not (settings.miniflux_url and settings.miniflux_token):
        raise CliError(
            "set CLICKBAIT_MINIFLUX_URL (or --miniflux-url) and CLICKBAIT_MINIFLUX_TOKEN (an API key)"
        )
    scorer = Scorer.load(settings.model, settings)
    rules = SiteRules.of(settings.feed_allow_sites, settings.feed_block_sites)
    token = settings.miniflux_token.get_secret_value()

    async def run() -> SweepReport:
        async with Miniflux(settings.miniflux_url, token, settings.feed_timeout_s) as miniflux:
            return await sweep(
                miniflux,
                scorer,
                rules,
                settings.miniflux_action,
                args.apply,
                args.feed,
                args.category,
                args.threshold,
            )

    report = asyncio.run(run())
    for entry in report.clickbait:
        print(json.dumps(asdict(entry), ensure_ascii=False))
    summary = {
        "scanned": report.scanned,
        "already_named": report.already_named,
        "clickbait": len(report.clickbait),
        "action": settings.miniflux_action,
        "applied": args.apply,
        **({} if args.apply else {"note": "dry run: nothing changed; --apply to act"}),
    }
    print(json.dumps(summary), file=sys.stderr)


def _extension(args: argparse.Namespace) -> None:
    from service.extension_build import write_extension

    built = write_extension(args.out)
    print(
        json.dumps({"folder": str(built.folder), "zip": str(built.zip), "version": built.version}, indent=2)
    )


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _variants_per_headline(text: str) -> tuple[str, int]:
    """``LANG=N`` of ``distill --augment``."""
    lang, _, count = text.partition("=")
    if not lang or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LANG=N, N a positive number of variants")
    return lang, int(count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune a classifier on labelled files")
    train.add_argument("--config", type=Path, help="TOML recipe (e.g. training/configs/default.toml)")
    train.set_defaults(handler=_train, flags=add_flags(train, TrainConfig))

    evaluate = commands.add_parser("evaluate", help="score labelled files and report metrics")
    add_flags(evaluate, ClassifierSettings, ["model"])
    evaluate.add_argument("--data", type=Path, nargs="+", required=True)
    evaluate.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser(
        "export", help="write a model for other stacks: merged hf model or ONNX graph"
    )
    add_flags(export, ClassifierSettings, ["model"])
    export.add_argument("--format", choices=["hf", "onnx"], required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--int8", action="store_true", help="onnx: also write model.int8.onnx (dynamic int8)")
    export.set_defaults(handler=_export)

    distill = commands.add_parser(
        "distill", help="train a shallower, faster student on a teacher's soft scores"
    )
    distill.add_argument("--teacher", default="default", help="artifact directory or 'default'")
    distill.add_argument("--layers", type=int, default=4, help="encoder layers the student keeps")
    distill.add_argument("--config", type=Path, help="recipe: data and hold-out (use the teacher's)")
    distill.add_argument("--unlabelled", type=Path, nargs="*", default=[], help="headline files, no labels")
    distill.add_argument("--max-rows", type=int, help="labelled training rows the teacher scores, at most")
    distill.add_argument(
        "--augment",
        type=_variants_per_headline,
        nargs="*",
        default=[],
        metavar="LANG=N",
        help="also up to N distinct variants of each training headline in LANG, scored by the teacher",
    )
    # the student is a full-method model on the teacher's base: no LoRA, no base of its own
    not_for_students = ["base", "method", "lora_r", "lora_alpha", "lora_dropout", "lora_targets"]
    distill.set_defaults(handler=_distill, flags=add_flags(distill, TrainConfig, exclude=not_for_students))

    quantize = commands.add_parser(
        "quantize",
        help="check the int8 engine against fp32 on a recipe's held-out splits; record it in the model",
    )
    add_flags(quantize, ClassifierSettings, ["model"])
    quantize.add_argument(
        "--config", type=Path, required=True, help="the model's recipe (its data and hold-out)"
    )
    quantize.add_argument(
        "--alpha",
        type=float,
        default=0.8,
        help="SmoothQuant migration strength (0 = none, 1 = all into the weights)",
    )
    quantize.add_argument("--max-drop", type=float, default=0.005, help="macro-F1 int8 may lose on any split")
    quantize.set_defaults(handler=_quantize)

    score = commands.add_parser("score", help="score headlines (arguments or stdin lines)")
    score.add_argument("headlines", nargs="*")
    add_flags(score, ClassifierSettings, ["model"])
    score.add_argument("--threshold", type=_probability, help="override the model's threshold")
    score.add_argument(
        "--input", type=Path, help="bulk: a JSONL, CSV, Parquet (text/headline field) or text file"
    )
    score.add_argument(
        "--output",
        type=Path,
        help="bulk: JSONL here, one line per input record (.parquet: the input's columns, score, label)",
    )
    score.add_argument("--resume", action="store_true", help="bulk: continue an interrupted --output")
    score.add_argument(
        "--runner",
        choices=["local", "ray"],
        default="local",
        help="bulk: this process, or Ray workers (pip install '.[ray]'): --input a glob, directory or file "
        "of shards, --output a directory, one Parquet shard per input shard",
    )
    score.add_argument("--workers", type=int, help="ray: actors, each loading the model once [all CPUs]")
    score.add_argument(
        "--threads-per-worker", type=int, default=1, help="ray: torch threads (and CPUs) per actor"
    )
    score.add_argument(
        "--address", help="ray: a running cluster's address [RAY_ADDRESS, else a local cluster]"
    )
    score.set_defaults(handler=_score)

    filter_feed = commands.add_parser(
        "filter-feed", help="drop or annotate the clickbait of an RSS/Atom/JSON feed"
    )
    filter_feed.add_argument("source", help="feed file, http(s) URL, or - for standard input")
    filter_feed.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    filter_feed.add_argument("--mode", choices=["drop", "annotate"], default="drop")
    filter_feed.add_argument("--threshold", type=_probability)
    add_flags(filter_feed, ClassifierSettings, ["model"])
    filter_feed.add_argument("--allow", nargs="*", default=[], help="sites never marked clickbait")
    filter_feed.add_argument("--block", nargs="*", default=[], help="sites always marked clickbait")
    filter_feed.set_defaults(handler=_filter_feed)

    page = commands.add_parser("page", help="list and score the headlines of an HTML page")
    page.add_argument("source", help="HTML file, http(s) URL, or - for standard input")
    page.add_argument("--url", help="the page's address, to resolve relative links of a file")
    page.add_argument("--threshold", type=_probability)
    add_flags(page, ClassifierSettings, ["model"])
    page.set_defaults(handler=_page)

    retrain = commands.add_parser(
        "retrain", help="train a candidate on the stored labels; promote it if it beats the current model"
    )
    retrain.add_argument(
        "--from-base", action="store_true", help="start from the base model (a full retrain)"
    )
    retrain.set_defaults(handler=_retrain)

    labels = commands.add_parser(
        "labels", help="import a labelled file into the label store (all or nothing), or export the labels"
    )
    labels.add_argument("action", choices=["import", "export"])
    labels.add_argument(
        "file", nargs="?", type=Path, help="import: JSONL/CSV to read; export: file to write (default stdout)"
    )
    labels.add_argument("--author", default="import", help="who the imported labels are recorded as by")
    labels.set_defaults(handler=_labels)

    models = commands.add_parser("models", help="list the registry's versions, promote one, roll back")
    models.add_argument("action", choices=["list", "promote", "rollback"])
    models.add_argument("version", nargs="?", help="the version to promote")
    models.add_argument("--registry", type=Path, help="registry directory (default: CLICKBAIT_REGISTRY_DIR)")
    models.set_defaults(handler=_models)

    miniflux = commands.add_parser("miniflux", help="act on a Miniflux user's stored entries")
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
    sweep.add_argument("--threshold", type=_probability, help="override the model's threshold")
    sweep_flags = add_flags(sweep, ServiceSettings, ["model", "miniflux_url", "miniflux_action"])
    sweep.set_defaults(handler=_miniflux_sweep, flags=sweep_flags)

    extension = commands.add_parser(
        "extension", help="write the Chromium extension: an unpacked folder and a zip, under --out"
    )
    extension.add_argument("--out", type=Path, required=True, help="folder to write them in")
    extension.set_defaults(handler=_extension)

    serve = commands.add_parser("serve", help="run the HTTP service (settings: CLICKBAIT_* or flags)")
    serve.set_defaults(handler=_serve, flags=add_flags(serve, ServiceSettings))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each schema step is not news on a terminal
    handler: Callable[[argparse.Namespace], None] = args.handler
    if getattr(args, "model", "") is None:  # no --model: CLICKBAIT_MODEL, else the shipped model
        args.model = get_settings().model
    try:
        handler(args)
    except ClickbaitError as exc:  # a refusal with a reason, never a traceback
        print(f"clickbait {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        print(f"clickbait {args.command}: error: {problems}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
