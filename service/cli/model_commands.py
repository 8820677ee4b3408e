"""``clickbait models``: list the registry's versions, promote one, roll back."""

from __future__ import annotations

import argparse
from pathlib import Path

from service.cli.arguments import CliError
from service.settings import ServiceSettings


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
        routed = (
            f"  scores {','.join(info.routed_languages)} (others: as before)" if info.routed_languages else ""
        )
        print(f"{info.version:<28} {info.status:<10} {info.created_at}  {metrics}{routed}")


def add_models(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list the registry's versions, promote one, roll back")
    models.add_argument("action", choices=["list", "promote", "rollback"])
    models.add_argument("version", nargs="?", help="the version to promote")
    models.add_argument("--registry", type=Path, help="registry directory (default: CLICKBAIT_REGISTRY_DIR)")
    models.set_defaults(handler=_models)
