"""What the service's commands share: the error of a wrong argument and the argument types."""

from __future__ import annotations

import argparse

from classifier.errors import ClickbaitError, ErrorType


class CliError(ClickbaitError):
    """A user error in the command's arguments or input."""

    error_type = ErrorType.validation_error


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value
