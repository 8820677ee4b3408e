"""Keep and drop rules on an item's title, URL path and author, read from a rules file
(``CLICKBAIT_RULES_FILE``) and applied before the model, in every path that decides feed items
(``service/feeds/decisions.py``). The format, the precedence and the regex guard are in
docs/feeds.md ("Rules"); in short, one rule a line::

    # comments and blank lines are skipped
    keep title "BREAKING"
    drop path "/sponsored/"
    drop title /^\\d+ (things|reasons) /i
    site example.com drop author "Promo Desk"

The first rule that matches, in the file's order, decides. A quoted value matches as a substring,
ignoring case; a ``/regex/`` (flag ``i``: ignore case) is searched with Python's ``re``, in the
texts that hold its literal part (``needle``) and that one pass of all a field's regexes, widened
into an ``re2.Set``, says it may match (``service/feeds/rule_prefilter.py``). Regexes are
guarded against catastrophic backtracking in three ways: a static check at load refuses the shapes
that backtrack exponentially (backreferences, a quantifier or an alternation inside a quantified
group) or polynomially past a low degree (more than ``MAX_UNBOUNDED`` long quantifiers); the text
matched is cut to ``MAX_TEXT`` characters; and a rule whose match ever takes longer than
``SLOW_MATCH_S`` is switched off (logged) until the file changes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from re import _constants as sre  # the parse tree's opcodes: the static check reads the tree
from re import _parser as sre_parse
from typing import Literal, get_args
from urllib.parse import urlsplit

from classifier.errors import ClickbaitError, ErrorType
from service.feeds.rule_prefilter import Prefilter
from service.feeds.site_rules import host_candidates, normalise_host

log = logging.getLogger(__name__)

Action = Literal["keep", "drop"]
Field = Literal["title", "path", "author"]
MAX_RULES = 10_000
MAX_PATTERN = 200  # characters of one regex
MAX_TEXT = 300  # characters of a title, path or author that rules read: a headline is far shorter
MAX_UNBOUNDED = 2  # long quantifiers in one regex: each can multiply a failing search's steps by MAX_TEXT
LONG_REPEAT = 10  # a quantifier that may repeat more than this counts as long (unbounded)
SLOW_MATCH_S = 0.02  # a rule whose one match takes this long is switched off


class RuleError(ClickbaitError, ValueError):
    """A rules file that cannot be used; the message names the file and line."""

    error_type = ErrorType.bad_rules

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source, self.line, self.reason = source, line, reason


@dataclass(frozen=True)
class Rule:
    action: Action
    field: Field
    name: str  # FILE:LINE, as answers name the rule
    site: str | None = None  # the rule applies only to items linking to this site (or below it)
    literal: str | None = None  # casefolded substring, for a quoted value
    pattern: re.Pattern[str] | None = None  # for a /regex/ value
    needle: str = ""  # text every match of ``pattern`` contains (lower case when it ignores case)


@dataclass(eq=False)
class Rules:
    """A rules file, parsed: its rules in order, and a digest of its text (part of the proxy's ETag)."""

    rules: tuple[Rule, ...] = ()
    digest: str = ""
    switched_off: set[str] = field(default_factory=set)  # rules that once matched too slowly
    # each field's rules, by their index in ``rules``: literals are tested in one comprehension
    _literals: dict[str, list[tuple[int, str]]] = field(init=False, repr=False)
    _patterns: dict[str, list[tuple[int, Rule, bool]]] = field(init=False, repr=False)
    _prefilters: dict[str, Prefilter] = field(init=False, repr=False)  # which of ``_patterns`` may match

    def __post_init__(self) -> None:
        self._literals = {name: [] for name in get_args(Field)}
        self._patterns = {name: [] for name in get_args(Field)}
        for index, rule in enumerate(self.rules):
            if rule.literal is not None:
                self._literals[rule.field].append((index, rule.literal))
            else:
                folds = bool(rule.pattern and rule.pattern.flags & re.IGNORECASE)
                self._patterns[rule.field].append((index, rule, folds))
        self._prefilters = {
            name: Prefilter([rule.pattern for _, rule, _ in entries])  # type: ignore[arg-type]
            for name, entries in self._patterns.items()
        }

    @classmethod
    def parse(cls, text: str, source: str) -> Rules:
        """The rules of ``text`` (named ``source`` in errors and answers); RuleError at the first bad line."""
        rules = []
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                rules.append(_rule(line, source, number))
        if len(rules) > MAX_RULES:
            raise RuleError(source, len(text.splitlines()), f"more than {MAX_RULES} rules")
        return cls(tuple(rules), hashlib.sha256(text.encode("utf-8")).hexdigest())

    def decide(self, title: str | None, link: str | None, author: str | None) -> str | None:
        """'keep:FILE:LINE' or 'drop:FILE:LINE' for the first rule that matches the item, else None."""
        if not self.rules:
            return None
        texts = {"title": title, "path": _path(link), "author": author}
        hits: list[int] = []
        for name, text in texts.items():
            if text:
                hits += self._matches(name, text[:MAX_TEXT])
        if not hits:
            return None
        hosts = set(host_candidates(link))
        for index in sorted(hits):
            rule = self.rules[index]
            if rule.site is None or rule.site in hosts:
                return f"{rule.action}:{rule.name}"
        return None

    def _matches(self, name: str, text: str) -> list[int]:
        folded = text.casefold()
        hits = [index for index, literal in self._literals[name] if literal in folded]
        entries = self._patterns[name]
        candidates = self._prefilters[name].candidates(text)
        patterns = [entries[i] for i in candidates if entries[i][1].name not in self.switched_off]
        if not patterns:
            return hits
        lowered = text.lower()
        # timed as a whole: a clock read around each search would cost more than most searches
        start = time.perf_counter()
        hits += [
            index
            for index, rule, folds in patterns
            if rule.needle in (lowered if folds else text) and rule.pattern.search(text)  # type: ignore[union-attr]
        ]
        if time.perf_counter() - start > SLOW_MATCH_S:
            self._switch_off_slow(patterns, text)
        return hits

    def _switch_off_slow(self, patterns: list[tuple[int, Rule, bool]], text: str) -> None:
        """Time each of ``patterns`` on ``text``, and switch off those that take SLOW_MATCH_S or longer."""
        for _, rule, _ in patterns:
            start = time.perf_counter()
            rule.pattern.search(text)  # type: ignore[union-attr]
            took = time.perf_counter() - start
            if took >= SLOW_MATCH_S:
                self.switched_off.add(rule.name)
                log.error(
                    "rule %s took %.0f ms to match; it is off until the file changes", rule.name, took * 1e3
                )


def _path(link: str | None) -> str | None:
    try:
        return urlsplit(link).path if isinstance(link, str) else None
    except ValueError:
        return None


def _rule(line: str, source: str, number: int) -> Rule:
    words = line.split(None, 2)
    site = None
    if words[0] == "site":
        if len(words) < 3:
            raise RuleError(source, number, "'site HOST' needs a rule after it")
        site, words = normalise_host(words[1]), words[2].split(None, 2)
    if len(words) < 3:
        raise RuleError(source, number, "a rule is: [site HOST] keep|drop title|path|author VALUE")
    action, where, value = words
    if action not in get_args(Action):
        raise RuleError(source, number, f"{action!r} is not keep or drop")
    if where not in get_args(Field):
        raise RuleError(source, number, f"{where!r} is not title, path or author")
    try:
        literal, pattern, needle = _value(value.strip())
    except ValueError as exc:
        raise RuleError(source, number, str(exc)) from exc
    return Rule(action, where, f"{Path(source).name}:{number}", site, literal, pattern, needle)  # type: ignore[arg-type]


def _value(value: str) -> tuple[str | None, re.Pattern[str] | None, str]:
    """(casefolded literal, None, "") for ``"text"``; (None, compiled, needle) for ``/regex/`` or
    ``/regex/i``."""
    if len(value) >= 3 and value[0] == value[-1] == '"':
        return value[1:-1].casefold(), None, ""
    end = value.rfind("/")
    if not value.startswith("/") or end < 2 or value[end + 1 :] not in ("", "i"):
        raise ValueError('the value is a "quoted text" or a /regex/ (flag i: ignore case), not empty')
    source = value[1:end]
    if len(source) > MAX_PATTERN:
        raise ValueError(f"the regex is longer than {MAX_PATTERN} characters")
    try:
        tree = sre_parse.parse(source)
        compiled = re.compile(source, re.IGNORECASE if value.endswith("/i") else 0)
    except re.error as exc:
        raise ValueError(f"the regex does not compile: {exc}") from exc
    refusal = backtracking_risk(tree)
    if refusal:
        raise ValueError(f"the regex is refused: {refusal} (docs/feeds.md, 'Rules')")
    return None, compiled, needle(tree, bool(compiled.flags & re.IGNORECASE))


def needle(tree: Iterable, ignore_case: bool) -> str:
    """The longest run of literal characters at the regex's top level, which every match contains
    ("" when none): a substring test that rules most texts out before the regex runs. Ignoring case,
    only the ASCII characters whose case ``re`` folds exactly as ``str.lower`` does are kept: all but
    i and s, which also match dotless ı, dotted İ and long ſ (``re._casefix``)."""
    best = run = ""
    for op, arg in tree:
        char = chr(arg) if op is sre.LITERAL else ""
        if ignore_case:
            char = char.lower() if char.isascii() and char.lower() not in "is" else ""
        run = run + char if char else ""
        best = max(best, run, key=len)
    return best


def backtracking_risk(tree: Iterable) -> str | None:
    """Why a parsed regex could backtrack catastrophically, or None: a backreference, a quantifier or
    an alternation inside a quantified group, or more than MAX_UNBOUNDED long quantifiers."""
    unbounded = 0
    stack: list[tuple[Sequence, bool]] = [(list(tree), False)]
    while stack:
        items, repeated = stack.pop()
        for op, arg in items:
            if op in (sre.GROUPREF, sre.GROUPREF_EXISTS):
                return "a backreference"
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                low, high, body = arg
                if high > 1 and repeated:
                    return "a quantifier inside a quantified group"
                unbounded += high > LONG_REPEAT
                stack.append((list(body), repeated or high > 1))
            elif op is sre.BRANCH:
                if repeated:
                    return "an alternation inside a quantified group"
                stack.extend((list(branch), repeated) for branch in arg[1])
            elif op is sre.SUBPATTERN:
                stack.append((list(arg[-1]), repeated))
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                stack.append((list(arg[1]), repeated))
            elif op is sre.ATOMIC_GROUP:
                stack.append((list(arg), repeated))
    if unbounded > MAX_UNBOUNDED:
        return f"more than {MAX_UNBOUNDED} unbounded quantifiers (+, *, {{n,}})"
    return None


NO_RULES = Rules()
_loaded: dict[Path, tuple[tuple[int, int], Rules]] = {}
_loading = threading.Lock()


def rules_of(path: Path | None) -> Rules:
    """The rules of ``path`` (none for None, or while no file is there), read again when its size or
    time changes. A file that can no longer be read or parsed keeps the last rules read from it,
    with an error in the log; one that never could raises RuleError."""
    if path is None:
        return NO_RULES
    with _loading:
        known = _loaded.get(path)
        try:
            stat = path.stat()
        except FileNotFoundError:  # not written yet (PUT /v1/rules writes it), or removed: no rules
            if known is None or known[1].rules:
                log.warning("the rules file %s does not exist: no rules apply", path)
            _loaded[path] = ((-1, -1), NO_RULES)
            return NO_RULES
        except OSError as exc:
            if known is None:
                raise RuleError(str(path), 0, f"cannot be read: {exc.strerror}") from exc
            log.error("the rules file %s cannot be read (%s); the last rules stay", path, exc.strerror)
            return known[1]
        key = (stat.st_mtime_ns, stat.st_size)
        if known and known[0] == key:
            return known[1]
        try:
            rules = read_rules(path)
        except RuleError as exc:
            if known is None:
                raise
            log.error("the rules file changed but is refused; the last rules stay: %s", exc)
            rules = known[1]
        _loaded[path] = (key, rules)  # a refused version is not parsed again until it changes
        return rules


def read_rules(path: Path) -> Rules:
    """The rules of the file at ``path``; RuleError (FILE:LINE) for a line that is not a rule."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(str(path), 0, f"cannot be read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise RuleError(str(path), line, "the file is not UTF-8") from exc
    return Rules.parse(text, str(path))


def replace_rules(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (a file beside it, renamed over it): a reader sees the
    old file or the new one, never part of either."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
