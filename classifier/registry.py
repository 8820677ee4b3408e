"""The model registry: a directory of versioned artifacts and one small state file naming the
version to serve. Every write is atomic (staging + rename), so a reader — another replica, or this
process after a crash — sees the old state or the new one, never half of either.

Layout::

    versions/<version>/   artifacts, never changed once there
    state.json            current version, the promotion stack, history, notes on candidates
    .lock                 serialises writers (flock), across processes sharing the directory
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from classifier.artifact import ArtifactError, Manifest, read_manifest
from classifier.errors import ClickbaitError, ErrorType

STATE_FILE = "state.json"


class RegistryError(ClickbaitError, ValueError):
    """A registry operation that cannot be done; the message says why."""

    error_type = ErrorType.not_found


class Event(BaseModel):
    action: str  # promote | rollback | seed
    version: str
    by: str
    at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    reason: str = ""


class RegistryState(BaseModel):
    stack: list[str] = Field(default=[], description="promoted versions; the last one serves")
    history: list[Event] = []
    notes: dict[str, dict[str, Any]] = Field(default={}, description="per version: how it came, why kept")

    @property
    def current(self) -> str | None:
        return self.stack[-1] if self.stack else None


class VersionInfo(BaseModel):
    version: str
    status: str  # current | previous | candidate
    created_at: str
    method: str
    metrics: dict[str, Any]
    note: dict[str, Any]
    routed_languages: list[str] | None = None  # a routed model's own languages (Manifest.routing)


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.versions = self.root / "versions"

    # reading
    def state(self) -> RegistryState:
        path = self.root / STATE_FILE
        return RegistryState.model_validate_json(path.read_text()) if path.is_file() else RegistryState()

    def current(self) -> str | None:
        return self.state().current

    def path(self, version: str) -> Path:
        path = self.versions / version
        if "/" in version or version.startswith(".") or not path.is_dir():
            raise RegistryError(f"no version {version!r} in the registry {self.root}")
        return path

    def list(self) -> list[VersionInfo]:
        state = self.state()
        infos = []
        for path in sorted(self.versions.glob("[!.]*")) if self.versions.is_dir() else []:
            try:
                manifest = read_manifest(path)
            except ArtifactError:
                continue
            status = (
                "current"
                if path.name == state.current
                else "previous"
                if path.name in state.stack
                else "candidate"
            )
            infos.append(
                VersionInfo(
                    version=path.name,
                    status=status,
                    created_at=manifest.created_at,
                    method=manifest.method,
                    metrics=_headline_metrics(manifest),
                    note=state.notes.get(path.name, {}),
                    routed_languages=manifest.routing.languages if manifest.routing else None,
                )
            )
        return sorted(infos, key=lambda i: i.created_at, reverse=True)

    # writing
    def add(self, artifact: Path, note: dict[str, Any] | None = None) -> str:
        """Copy an artifact in under its manifest's version; returns the version."""
        version = read_manifest(artifact).version
        with self._locked():
            target = self.versions / version
            if not target.exists():
                self.versions.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=self.versions))
                try:
                    shutil.copytree(artifact, staging, dirs_exist_ok=True)
                    _fsync_tree(staging)
                    os.rename(staging, target)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
            if note:
                self._update(lambda s: s.notes.setdefault(version, {}).update(note))
        return version

    def note(self, version: str, **note: Any) -> None:
        with self._locked():
            self._update(lambda s: s.notes.setdefault(version, {}).update(note))

    def promote(
        self, version: str, by: str, reason: str = "", action: str = "promote", replacing: str | None = None
    ) -> None:
        """Make ``version`` current; with ``replacing``, only if that is still the current version
        (a job judged its candidate against it)."""
        read_manifest(self.path(version))  # refuse a broken artifact before anyone serves it
        with self._locked():
            state = self.state()
            if replacing is not None and state.current != replacing:
                raise RegistryError(
                    f"{state.current} was promoted meanwhile; {version} was judged against {replacing}",
                    ErrorType.version_conflict,
                )
            if state.current != version:
                state.stack.append(version)
                state.history.append(Event(action=action, version=version, by=by, reason=reason))
                self._write(state)

    def rollback(self, by: str) -> str:
        """Serve the version promoted before the current one again; returns it."""
        with self._locked():
            state = self.state()
            if len(state.stack) < 2:
                raise RegistryError(
                    "nothing to roll back to: only one version was ever promoted",
                    ErrorType.nothing_to_roll_back,
                )
            left = state.stack.pop()
            state.history.append(
                Event(action="rollback", version=state.stack[-1], by=by, reason=f"rolled back from {left}")
            )
            self._write(state)
            return state.stack[-1]

    def seed(self, artifact: Path) -> str:
        """An empty registry starts with ``artifact`` promoted; otherwise nothing changes."""
        current = self.current()
        if current is not None:
            return current
        version = self.add(artifact, {"origin": f"seeded from {artifact}"})
        self.promote(version, by="seed", reason="first model of the registry", action="seed")
        return self.current() or version

    def _update(self, change) -> None:
        state = self.state()
        change(state)
        self._write(state)

    def _write(self, state: RegistryState) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=self.root)
        with os.fdopen(fd, "w") as handle:
            handle.write(state.model_dump_json(indent=2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / STATE_FILE)
        _fsync_dir(self.root)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _headline_metrics(manifest: Manifest) -> dict[str, Any]:
    validation = manifest.metrics.get("validation", {})
    return {k: validation[k] for k in ("n", "macro_f1", "roc_auc", "ece") if k in validation}


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
