"""The ``clickbait`` command line: train, evaluate, score, filter feeds, serve, retrain, manage models."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from classifier.errors import ClickbaitError
from classifier.extras import missing_extra
from classifier.settings import get_settings
from service.cli.extension_build import add_extension
from service.cli.feed_commands import add_filter_feed, add_miniflux, add_opml, add_page, add_rules
from service.cli.label_commands import add_labels, add_retrain
from service.cli.model_commands import add_models
from service.cli.score_commands import add_score
from service.cli.serve_command import add_serve
from training.cli import (
    add_calibrate,
    add_distill,
    add_evaluate,
    add_export,
    add_kinds,
    add_quantize,
    add_train,
)

EXIT_USAGE = 2
# each adds one command (with its flags and handler); in the order ``clickbait --help`` lists them
COMMANDS = (
    add_train,
    add_evaluate,
    add_export,
    add_distill,
    add_quantize,
    add_calibrate,
    add_kinds,
    add_score,
    add_filter_feed,
    add_opml,
    add_page,
    add_retrain,
    add_labels,
    add_models,
    add_miniflux,
    add_rules,
    add_extension,
    add_serve,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clickbait", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(commands)
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
    except ModuleNotFoundError as exc:  # a lean install: say which extra, in one line
        refusal = missing_extra(exc, f"clickbait {args.command}")
        if refusal is None:
            raise
        print(f"clickbait {args.command}: error: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        print(f"clickbait {args.command}: error: {problems}", file=sys.stderr)
        return EXIT_USAGE
    return 0
