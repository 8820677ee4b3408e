"""Writes ``docs/reference.md`` from the code: every setting, command, route and error kind.

The reference is generated so that it cannot drift: ``tests/test_docs.py`` fails when the committed
file differs from what this module renders (run ``python -m service.docs`` after changing a
setting, a flag, a route or an error kind) or when a setting has no description.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from classifier.errors import ErrorType
from classifier.flags import default_text, env_name, flag_name
from classifier.settings import ClassifierSettings
from service.api.http_errors import STATUS
from service.cli import build_parser
from service.settings import ServiceSettings
from training.config import RetrainSettings, TrainConfig

REFERENCE = Path("docs") / "reference.md"
HELP_WIDTH = "100"  # argparse wraps help at $COLUMNS; fixed, so the reference does not depend on the terminal
RECIPE_COMMANDS = ("train", "distill")
# (title, settings class, introduction, which commands' flags of the same name are this class's)
SECTIONS: list[tuple[str, type[BaseModel], str, Callable[[str], bool]]] = [
    (
        "Inference (`classifier/settings.py`, `ClassifierSettings`)",
        ClassifierSettings,
        "Read by every command that scores, and by the service.",
        lambda command: command not in RECIPE_COMMANDS,
    ),
    (
        "Service (`service/settings.py`, `ServiceSettings`)",
        ServiceSettings,
        "Read by `clickbait serve`, `retrain` and `models`; every one but the secrets is also a "
        "`serve` flag.",
        lambda command: command == "serve",
    ),
    (
        "Retraining (`training/config.py`, `RetrainSettings`)",
        RetrainSettings,
        "How a retraining job (`POST /v1/retrain`, `clickbait retrain`) trains and judges its "
        "candidate. No flags: a job reads them from the environment of the server that starts it.",
        lambda command: False,
    ),
    (
        "Training recipe (`training/config.py`, `TrainConfig`)",
        TrainConfig,
        "Keys of a TOML recipe (`--config`, e.g. `training/configs/default.toml`), each also a "
        "flag of `clickbait train` (and of `distill`, except the LoRA keys, `base` and `method`); "
        "a flag overrides the file. The whole recipe is stored in the artifact's manifest. No "
        "environment variables.",
        lambda command: command in RECIPE_COMMANDS,
    ),
]


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"clickbait": parser, **subparsers.choices}


def _flag_commands(commands: dict[str, argparse.ArgumentParser]) -> dict[str, list[str]]:
    """Field name → the commands that take it as a flag."""
    taking: dict[str, list[str]] = {}
    for name, parser in commands.items():
        for action in parser._actions:
            if action.option_strings and action.dest != "help":
                taking.setdefault(action.dest, []).append(name)
    return taking


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_tables(commands: dict[str, argparse.ArgumentParser]) -> list[str]:
    taking = _flag_commands(commands)
    lines = ["## Settings", ""]
    for title, model, intro, owns in SECTIONS:
        own = model.model_fields
        if model is ServiceSettings:  # the inherited inference settings have a section of their own
            own = {n: f for n, f in own.items() if n not in ClassifierSettings.model_fields}
        is_recipe = env_name(model, "x") is None
        lines += [f"### {title}", "", intro, ""]
        lines += [
            "| key | flag | default | meaning |" if is_recipe else "| variable | flag | default | meaning |"
        ]
        lines += ["| --- | --- | --- | --- |"]
        for name, field in own.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                continue  # nested settings (ServiceSettings.retrain) have their own section
            key = f"`{name}`" if is_recipe else f"`{env_name(model, name)}`"
            commands_taking = [c for c in taking.get(name, []) if owns(c)]
            flag = f"`{flag_name(name)}` ({', '.join(commands_taking)})" if commands_taking else ""
            lines.append(
                f"| {key} | {flag} | {_cell(default_text(field))} | {_cell(field.description or '')} |"
            )
        lines.append("")
    return lines


def command_help(commands: dict[str, argparse.ArgumentParser]) -> list[str]:
    lines = ["## Commands", "", "`clickbait --help` and each command's `--help`, as they print.", ""]
    for parser in commands.values():
        lines += [f"### `{parser.prog}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    return lines


def routes() -> list[str]:
    from service.api.app import create_app  # FastAPI and the routers: only when rendering

    with tempfile.TemporaryDirectory() as data_dir:
        schema = create_app(ServiceSettings(data_dir=Path(data_dir))).openapi()
    lines = [
        "## HTTP routes",
        "",
        "From the OpenAPI document (`GET /openapi.json`, browsable at `/docs`). Errors: the statuses "
        'a route documents besides success, each answering `{"error", "error_type"}`.',
        "",
        "| route | what | errors |",
        "| --- | --- | --- |",
    ]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            what = (operation.get("description") or operation.get("summary", "")).split("\n\n")[0]
            errors = sorted(code for code in operation.get("responses", {}) if code[0] in "45")
            lines.append(f"| `{method.upper()} {path}` | {_cell(what)} | {', '.join(errors)} |")
    return [*lines, ""]


def error_kinds() -> list[str]:
    lines = [
        "## Error kinds",
        "",
        "`error_type` of every error body (`classifier/errors.py`, `ErrorType`), with the status it "
        "answers (`service/api/http_errors.py`, `STATUS`).",
        "",
        "| error_type | status | meaning |",
        "| --- | --- | --- |",
    ]
    overrides = {key.error_type: (key, code) for key, code in STATUS.items() if isinstance(key, type)}
    for kind in ErrorType:
        status = str(STATUS[kind]) if kind in STATUS else "the framework's"
        if kind in overrides:
            status += f" ({overrides[kind][1]} for `{overrides[kind][0].__name__}`)"
        lines.append(f"| `{kind.value}` | {status} | {_cell(kind.description)} |")
    return [*lines, ""]


def render() -> str:
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        commands = _commands()
        helps = command_help(commands)
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    lines = [
        "# Reference",
        "",
        "Generated from the code by `python -m service.docs`; do not edit by hand "
        "(`tests/test_docs.py` fails when this file and the code disagree).",
        "",
        "- [Settings](#settings)",
        "- [Commands](#commands)",
        "- [HTTP routes](#http-routes)",
        "- [Error kinds](#error-kinds)",
        "",
        *settings_tables(commands),
        *helps,
        *routes(),
        *error_kinds(),
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REFERENCE, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
