"""The training commands of ``clickbait`` (train, evaluate, export, distill, quantize); ``service.cli``
registers them beside the service's commands in the one console script."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from classifier.errors import ClickbaitError, ErrorType
from classifier.flags import add_flags, given
from classifier.settings import ClassifierSettings
from training.config import TrainConfig


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
        raise ClickbaitError(
            "--int8 applies to --format onnx (the hf export is the fp32 model)", ErrorType.validation_error
        )
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
    from training.evaluate import held_out_sets
    from training.quantize import check_runtime, quantize_artifact

    config = TrainConfig.from_sources(args.config, {})
    if args.onnx_only:
        spec = check_runtime(resolve_model_dir(args.model), held_out_sets(config)[1]).int8
    else:
        spec = quantize_artifact(resolve_model_dir(args.model), config, args.alpha, args.max_drop)
    print(json.dumps(spec.model_dump(), indent=2))


def _calibrate(args: argparse.Namespace) -> None:
    from classifier.scorer import resolve_model_dir
    from training.calibration import calibrate_languages

    config = TrainConfig.from_sources(args.config, {})
    manifest = calibrate_languages(resolve_model_dir(args.model), config, args.min_rows)
    print(json.dumps({lang: c.model_dump() for lang, c in manifest.languages.items()}, indent=2))


def _kinds(args: argparse.Namespace) -> None:
    from classifier.scorer import resolve_model_dir
    from training.kinds import kinds_artifact

    config = TrainConfig.from_sources(args.config, {})
    manifest = kinds_artifact(resolve_model_dir(args.model), config, args.per_cell)
    print(json.dumps({"kinds": manifest.kinds, **manifest.training["kinds"]}, indent=2))


def _variants_per_headline(text: str) -> tuple[str, int]:
    """``LANG=N`` of ``distill --augment``."""
    lang, _, count = text.partition("=")
    if not lang or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LANG=N, N a positive number of variants")
    return lang, int(count)


def add_train(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="fine-tune a classifier on labelled files")
    train.add_argument("--config", type=Path, help="TOML recipe (e.g. training/configs/default.toml)")
    train.set_defaults(handler=_train, flags=add_flags(train, TrainConfig))


def add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser("evaluate", help="score labelled files and report metrics")
    add_flags(evaluate, ClassifierSettings, ["model"])
    evaluate.add_argument("--data", type=Path, nargs="+", required=True)
    evaluate.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    evaluate.set_defaults(handler=_evaluate)


def add_export(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="write a model for other stacks: merged hf model or ONNX graph"
    )
    add_flags(export, ClassifierSettings, ["model"])
    export.add_argument("--format", choices=["hf", "onnx"], required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--int8", action="store_true", help="onnx: also write model.int8.onnx (dynamic int8)")
    export.set_defaults(handler=_export)


def add_distill(commands: argparse._SubParsersAction) -> None:
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
    not_for_students = [
        "base",
        "method",
        "lora_r",
        "lora_alpha",
        "lora_dropout",
        "lora_targets",
        "lora_layers",
    ]
    distill.set_defaults(handler=_distill, flags=add_flags(distill, TrainConfig, exclude=not_for_students))


def _model_with_recipe(commands: argparse._SubParsersAction, name: str, help: str) -> argparse.ArgumentParser:
    """A command that reworks a model on its recipe's held-out splits: ``--model`` and ``--config``."""
    parser = commands.add_parser(name, help=help)
    add_flags(parser, ClassifierSettings, ["model"])
    parser.add_argument(
        "--config", type=Path, required=True, help="the model's recipe (its data and hold-out)"
    )
    return parser


def add_quantize(commands: argparse._SubParsersAction) -> None:
    quantize = _model_with_recipe(
        commands,
        "quantize",
        "check the int8 engine against fp32 on a recipe's held-out splits; record it in the model",
    )
    quantize.add_argument(
        "--alpha",
        type=float,
        default=0.8,
        help="SmoothQuant migration strength (0 = none, 1 = all into the weights)",
    )
    quantize.add_argument("--max-drop", type=float, default=0.005, help="macro-F1 int8 may lose on any split")
    quantize.add_argument(
        "--onnx-only",
        action="store_true",
        help="keep the recorded int8 form; only (re)check ONNX Runtime's run of it (the onnx engine)",
    )
    quantize.set_defaults(handler=_quantize)


def add_calibrate(commands: argparse._SubParsersAction) -> None:
    calibrate = _model_with_recipe(
        commands,
        "calibrate",
        "fit the per-language calibration of a model on its recipe's validation split (no retraining)",
    )
    calibrate.add_argument(
        "--min-rows",
        type=int,
        default=None,
        help="validation rows a language needs to be calibrated and validated [default: 150]",
    )
    calibrate.set_defaults(handler=_calibrate)


def add_kinds(commands: argparse._SubParsersAction) -> None:
    kinds = _model_with_recipe(
        commands,
        "kinds",
        "fit a model's kind heads (tabloid) on its recipe's training rows (no retraining)",
    )
    kinds.add_argument(
        "--per-cell", type=int, default=1500, help="rows per (file, target) of each head's fit, at most"
    )
    kinds.set_defaults(handler=_kinds)
