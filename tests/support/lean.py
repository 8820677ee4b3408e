"""A lean install without building one: this environment's packages less the training stack (the
``train`` extra), as links in a folder, and fresh interpreters that see only it and this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.processes import ROOT

TRAINING = ("torch", "transformers", "peft", "accelerate", "datasets", "sklearn", "scikit_learn", "scipy")


def lean_site(folder: Path) -> Path:
    """``folder`` filled with links to every installed package but the training stack's."""
    installed = Path(httpx.__file__).parents[1]  # the site-packages this environment installs into
    for entry in installed.iterdir():
        if not entry.name.replace("-", "_").lower().startswith(TRAINING):
            (folder / entry.name).symlink_to(entry)
    return folder


def lean_python(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in a fresh interpreter without site-packages (``-S``), on ``site`` and this
    checkout, with ``env`` added to this environment's variables; output captured."""
    return subprocess.run(
        [sys.executable, "-S", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(site)]), **env},
        check=False,
    )
