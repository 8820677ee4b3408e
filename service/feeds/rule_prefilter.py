"""Which of a field's regex rules can match a text, found in one pass: each rule's Python regex is
rewritten into RE2 syntax as a pattern that matches at least every text the regex matches, and all
of them go into one ``re2.Set``, searched once per text. Only the rules it names (and those it
could not take) are then searched with ``re``, so what decides stays ``re``'s answer.

The rewrite widens rather than translates exactly, because RE2 and ``re`` differ in ways that
would hide matches: ``re``'s ``\\d``, ``\\w`` and ``\\s`` take Unicode classes (widened to any
non-ASCII character), its case folding takes ı, İ, ſ and others (written out from ``re``'s own
tables), and the assertions (``\\b``, ``$``, lookarounds) are dropped. A regex holding anything else
(a backreference, a conditional) stays out of the set and is searched in every text.
"""

from __future__ import annotations

import _sre
import functools
import re
import sys
from collections.abc import Sequence
from re import _casefix
from re import _constants as sre
from re import _parser as sre_parse
from typing import Any

import re2

TOP = sys.maxunicode
Ranges = list[tuple[int, int]]
ANY: Ranges = [(0, TOP)]
NON_ASCII: Ranges = [(0x80, TOP)]
# each class of ``re`` widened: the ASCII part exact, every non-ASCII character let in
CATEGORIES: dict[object, Ranges] = {
    sre.CATEGORY_DIGIT: [(0x30, 0x39), *NON_ASCII],
    sre.CATEGORY_NOT_DIGIT: [(0, 0x2F), (0x3A, TOP)],
    sre.CATEGORY_WORD: [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A), *NON_ASCII],
    sre.CATEGORY_NOT_WORD: [(0, 0x2F), (0x3A, 0x40), (0x5B, 0x5E), (0x60, 0x60), (0x7B, TOP)],
    sre.CATEGORY_SPACE: [(0x09, 0x0D), (0x1C, 0x20), *NON_ASCII],
    sre.CATEGORY_NOT_SPACE: [(0, 0x08), (0x0E, 0x1B), (0x21, TOP)],
}
DROPPED = {sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY, sre.AT_END}  # zero-width: dropping them widens
MAX_MEM = 64 << 20  # bytes for the set's automaton: room for 10,000 rules' worth of states
ALWAYS = "(?:)"  # matches every text: a search whose answer lacks it did not finish (out of memory)


class Untranslatable(Exception):
    """A regex construct with no widened RE2 form."""


class Prefilter:
    """The regexes of one field: ``candidates(text)`` names, in order, those that may match."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self._all = list(range(len(patterns)))
        self._rest: list[int] = []  # not in the set: searched in every text
        self._members: list[int] = []  # the set's index -> position in ``patterns``
        self._set: re2.Set | None = None
        if not patterns:
            return
        options = re2.Options()
        options.max_mem = MAX_MEM
        searched = re2.Set.SearchSet(options)
        for position, pattern in enumerate(patterns):
            try:
                searched.Add(widened(pattern))
            except (Untranslatable, re2.error):
                self._rest.append(position)
            else:
                self._members.append(position)
        if not self._members:
            return
        self._always = searched.Add(ALWAYS)
        try:
            searched.Compile()
        except re2.error:  # too large for MAX_MEM: every regex is searched, as without a set
            self._rest = self._all
            return
        self._set = searched

    def candidates(self, text: str) -> list[int]:
        """The positions, ascending, of the regexes that may match ``text``."""
        if self._set is None:
            return self._rest
        try:
            found = self._set.Match(text)
        except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only
            return self._all
        if self._always not in found:
            return self._all
        members = self._members
        return sorted([members[index] for index in found if index != self._always] + self._rest)


def widened(pattern: re.Pattern[str]) -> str:
    """RE2 syntax for a pattern matching every text ``pattern`` matches (and maybe more)."""
    flags = pattern.flags
    return _sequence(sre_parse.parse(pattern.pattern, flags), flags)


def _sequence(items: Sequence, flags: int) -> str:
    return "".join(_item(op, arg, flags) for op, arg in items) or "(?:)"


def _item(op: object, arg: Any, flags: int) -> str:
    folds = bool(flags & re.IGNORECASE)
    if op is sre.LITERAL:
        return _class(_folded(arg) if folds else [(arg, arg)])
    if op is sre.NOT_LITERAL:
        return _class(ANY if folds else [(0, arg - 1), (arg + 1, TOP)])
    if op is sre.ANY:
        return _class(ANY if flags & re.DOTALL else [(0, 9), (11, TOP)])
    if op is sre.IN:
        return _class(_set_ranges(arg, folds))
    if op is sre.BRANCH:
        return "(?:" + "|".join(_sequence(branch, flags) for branch in arg[1]) + ")"
    if op is sre.SUBPATTERN:
        _, add, remove, body = arg
        return "(?:" + _sequence(body, (flags | add) & ~remove) + ")"
    if op is sre.ATOMIC_GROUP:
        return "(?:" + _sequence(arg, flags) + ")"
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, high, body = arg
        low = min(low, 1000)  # RE2's largest count; a text of MAX_TEXT characters never reaches it
        top = "" if high is sre.MAXREPEAT or high > 1000 else str(high)
        return f"(?:{_sequence(body, flags)}){{{low},{top}}}"
    if op is sre.AT:
        if arg in DROPPED or (arg is sre.AT_BEGINNING and flags & re.MULTILINE):
            return ""
        return {sre.AT_BEGINNING: "^", sre.AT_BEGINNING_STRING: r"\A", sre.AT_END_STRING: r"\z"}[arg]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return ""
    if op is sre.CATEGORY:
        return _class(CATEGORIES[arg])
    raise Untranslatable(str(op))


def _set_ranges(items: Sequence, folds: bool) -> Ranges:
    """A ``[...]`` set's characters, widened; ignoring case, only its literals are written out."""
    negated = any(op is sre.NEGATE for op, _ in items)
    ranges: Ranges = []
    for op, arg in items:
        if op is sre.LITERAL:
            ranges += _folded(arg) if folds else [(arg, arg)]
        elif op is sre.RANGE and not folds:
            ranges.append(arg)
        elif op is sre.CATEGORY and not negated:
            ranges += CATEGORIES[arg]
        elif op is not sre.NEGATE:  # a widened part's complement would narrow: the set is any character
            return ANY
    if negated:
        return ANY if folds else _complement(ranges)
    return ranges


def _complement(ranges: Ranges) -> Ranges:
    gaps, start = [], 0
    for low, high in sorted(ranges):
        if low > start:
            gaps.append((start, low - 1))
        start = max(start, high + 1)
    return gaps + [(start, TOP)] if start <= TOP else gaps


def _folded(char: int) -> Ranges:
    """Every character ``re`` matches for ``char`` ignoring case: those whose lower case is its
    lower case or one of that letter's extra cases (``re._casefix``, ı for i)."""
    lower = _sre.unicode_tolower(char)
    targets = (lower, *_casefix._EXTRA_CASES.get(lower, ()))
    return [(c, c) for target in targets for c in (target, *_lowered_to().get(target, ()))] + [(char, char)]


@functools.cache
def _lowered_to() -> dict[int, tuple[int, ...]]:
    """Each lower case character, with the others ``re`` lowers to it (K and the Kelvin sign to k)."""
    table: dict[int, list[int]] = {}
    for char in range(TOP + 1):
        lower = _sre.unicode_tolower(char)
        if lower != char:
            table.setdefault(lower, []).append(char)
    return {lower: tuple(chars) for lower, chars in table.items()}


def _class(ranges: Ranges) -> str:
    if not ranges:
        return "[^\\x{0}-\\x{10FFFF}]"  # an empty set matches nothing
    return "[" + "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in ranges if low <= high) + "]"
