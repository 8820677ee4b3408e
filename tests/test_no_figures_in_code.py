"""Measured figures live in docs/results/ (dated pages, each with the command that reproduces it),
not in the code: a comment, docstring or setting description says why, and links the page that holds
the figure. A figure copied into the code goes stale the next time it is measured (issue 32 found one
table's size given as 57, 58 and 60 MB in three places).

This scans the comments (``tokenize``), docstrings and ``description=``/``help=`` strings (``ast``) of every
module in classifier/, training/ and service/ for a number followed by a unit of measurement.
Limits and conversions that are design choices, not measurements, go in ``ALLOWED`` with a reason.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("classifier", "training", "service")
# keyword arguments whose strings are prose a reader sees: settings' and CLI options' descriptions
TEXT_KEYWORDS = ("description", "help")

_NUMBER = r"(?<![\w.,/·])[~≈]?\d+(?:,\d{3})*(?:\.\d+)?"
_UNIT = (
    r"(?:\s?(?:[KMGT]i?B|kB|ms|µs|seconds?|secs?|minutes?|mins?|hours?|points?|headlines/s)(?![\w/])"
    r"|\s?%"  # 2 %, 96.1%
    r"|\s?×(?!\s*\d)"  # 3× faster, not 250,037 × 384 (a shape) or u8×s8
    r"|\ss(?![\w'’/-])"  # 0.7 s, not 400s (a plural)
    r"|(?<=\.\d)s(?![\w'’/-])"  # 2.1s
    r")"
)
FIGURE = re.compile(_NUMBER + _UNIT)

# (path, figure as matched) -> why it is no measurement
ALLOWED: dict[tuple[str, str], str] = {
    ("service/settings.py", "10 s"): "the retrain job's heartbeat period (HEARTBEAT_S in "
    "service/runtime/retrain_job.py), a design constant the stale-job limit must exceed",
}


def _prose_nodes(tree: ast.Module) -> list[ast.Constant]:
    nodes: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                nodes.append(first.value)
        elif (
            isinstance(node, ast.keyword)
            and node.arg in TEXT_KEYWORDS
            and isinstance(node.value, ast.Constant)
        ):
            nodes.append(node.value)
    return nodes


def prose(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment, docstring and ``description=``/``help=`` string in ``source``."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    spans = [
        ((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in _prose_nodes(ast.parse(source))
    ]
    out = []
    for token in tokens:
        if token.type == tokenize.COMMENT:
            out.append((token.start[0], token.string))
        elif token.type == tokenize.STRING and any(
            start <= token.start and token.end <= end for start, end in spans
        ):
            out += [(token.start[0] + i, line) for i, line in enumerate(token.string.splitlines())]
    return out


def figures(path: Path) -> list[tuple[int, str, str]]:
    """(line, figure, text) for each measured-looking figure in ``path``'s prose."""
    found = []
    for line, text in prose(path.read_text(encoding="utf-8")):
        found += [(line, m.group(0), text.strip()) for m in FIGURE.finditer(text)]
    return found


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_pattern_finds_measurements_and_passes_shapes():
    found = [
        m.group(0)
        for m in FIGURE.finditer(
            "2.1 s and 140 MB; ~270 MB; 96.1 % right; 5–6 points; ~3× faster; 2.1s; 260 headlines/s; 0.7 s"
        )
    ]
    assert found == [
        "2.1 s",
        "140 MB",
        "~270 MB",
        "96.1 %",
        "6 points",
        "~3×",
        "2.1s",
        "260 headlines/s",
        "0.7 s",
    ]
    assert not FIGURE.findall("250,037 × 384, u8×s8, the 400s it raises, a cap of 48 tokens, v1.2 docs")


def test_prose_is_comments_docstrings_and_descriptions_only():
    source = '''"""Module: 1 MB."""
x = "2 MB"  # comment: 3 MB


def f():
    """Function: 4 MB
    over two lines: 5 MB."""
    return Field(default=1, description="setting: 6 MB " "and 7 MB", title="8 MB"), dict(help="9 MB")
'''
    texts = [text for _, text in prose(source)]
    found = [(line, m.group(0)) for line, text in prose(source) for m in FIGURE.finditer(text)]
    assert found == [
        (1, "1 MB"),
        (2, "3 MB"),
        (6, "4 MB"),
        (7, "5 MB"),
        (8, "6 MB"),
        (8, "7 MB"),
        (8, "9 MB"),
    ], texts


def test_no_measured_figures_in_comments_docstrings_or_setting_descriptions():
    stale = []
    for path in modules():
        name = path.relative_to(ROOT).as_posix()
        stale += [
            f"{name}:{line}: {figure!r} in {text!r}"
            for line, figure, text in figures(path)
            if (name, figure) not in ALLOWED
        ]
    assert not stale, (
        "measured figures belong in docs/results/ (a dated page with the command that reproduces them); "
        "say why in the code and link the page:\n" + "\n".join(stale)
    )


def test_every_allowance_is_still_needed():
    present = {
        (path.relative_to(ROOT).as_posix(), figure) for path in modules() for _, figure, _ in figures(path)
    }
    assert not set(ALLOWED) - present, (
        f"allowances for figures no longer in the code: {set(ALLOWED) - present}"
    )
