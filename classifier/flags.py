"""Command-line flags generated from pydantic fields, so that a setting is declared once.

A field ``batch_wait_ms`` becomes ``--batch-wait-ms``, its help is the field's description (with
its environment variable and default), and its type picks the parsing: a switch for a bool, choices
for a Literal, several values for a list. Every flag defaults to None, so only the flags given
override the environment and the field's own default (``given``). Secrets never become flags (a
command line shows in the process list), nor do fields marked ``NO_FLAG`` or of nested types.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

SIMPLE = (str, int, float, Path)


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def env_name(model: type[BaseModel], name: str) -> str | None:
    """The environment variable of a settings field (None for a plain model, such as a recipe)."""
    prefix = model.model_config.get("env_prefix")
    return None if prefix is None else (prefix + name).upper()


def default_text(field: FieldInfo) -> str:
    """The default as a person reads it; a default computed at start-up is described by its
    factory's docstring, up to the first colon."""
    if field.default_factory is not None:
        return (field.default_factory.__doc__ or "computed").split(":")[0].strip()
    if field.default is PydanticUndefined:
        return "required"
    if field.default is None:
        return "none"
    if isinstance(field.default, bool):
        return "on" if field.default else "off"
    if isinstance(field.default, list | dict):
        return ", ".join(map(str, field.default)) or "none"
    return str(field.default)


def _bare(annotation: Any) -> Any:
    """``X | None`` → ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def flag_kwargs(field: FieldInfo) -> dict[str, Any] | None:
    """``add_argument`` keywords for a field, or None when it gets no flag."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("flag") is False:
        return None
    kind = _bare(field.annotation)
    if get_origin(kind) is Literal:
        return {"choices": list(get_args(kind))}
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}
    if get_origin(kind) is list and get_args(kind)[0] in SIMPLE:
        return {"type": get_args(kind)[0], "nargs": "+"}
    if kind in SIMPLE:
        return {"type": kind}
    return None  # secrets, mappings, nested settings


def flag_fields(model: type[BaseModel], exclude: Iterable[str] = ()) -> dict[str, FieldInfo]:
    """The fields of ``model`` that are flags, in declaration order."""
    skip = set(exclude)
    return {
        name: field
        for name, field in model.model_fields.items()
        if name not in skip and flag_kwargs(field) is not None
    }


def add_flags(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    names: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Add a flag for each field of ``model`` (only ``names``, if given); returns the fields added."""
    fields = flag_fields(model, exclude)
    if names is not None:
        fields = {name: fields[name] for name in names}
    for name, field in fields.items():
        env = env_name(model, name)
        where = f"; env {env}" if env else ""
        parser.add_argument(
            flag_name(name),
            dest=name,
            default=None,
            help=f"{field.description} [default: {default_text(field)}{where}]",
            **flag_kwargs(field),
        )
    return list(fields)


def given(args: argparse.Namespace, names: Iterable[str]) -> dict[str, Any]:
    """The values of the flags given on the command line, by field name."""
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
