"""Which optional part of the install (an extra) a feature needs, and the one-line refusal when it is
missing: the base install scores, serves and filters; training needs the ``train`` extra."""

from __future__ import annotations

from classifier.errors import ClickbaitError, ErrorType

DISTRIBUTION = "clickbait-classifier"
EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "transformers", "peft", "accelerate", "datasets", "sklearn", "scipy"), "train"),
    "pyarrow": "parquet",
    "ray": "ray",
}


class MissingExtra(ClickbaitError):
    error_type = ErrorType.missing_extra


def install_line(extra: str) -> str:
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_extra(exc: ModuleNotFoundError, what: str) -> MissingExtra | None:
    """``exc`` as the refusal a user reads (``what`` needs the extra that provides the module), or
    None when the missing module is not one an extra provides (a bug, to be raised as it is)."""
    extra = EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
    if extra is None:
        return None
    return MissingExtra(
        f"{what} needs the '{extra}' extra ({exc.name} is not installed): {install_line(extra)}"
    )
