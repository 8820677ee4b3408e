"""Debian's Firefox ESR driving the extension's Firefox build (tests/support/firefox_extension.mjs,
puppeteer-core over WebDriver BiDi), and web-ext's lint: the npm tools of the root package.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIREFOX = Path("/usr/bin/firefox-esr")
NODE_MODULES = ROOT / "node_modules"
DRIVER = Path(__file__).with_name("firefox_extension.mjs")


def missing() -> str | None:
    """Why the Firefox checks cannot run here, or None."""
    if not FIREFOX.exists():
        return "no /usr/bin/firefox-esr (apt-get install firefox-esr)"
    if not shutil.which("node") or not (NODE_MODULES / "puppeteer-core").is_dir():
        return "no node or no node_modules (npm ci at the repository root)"
    return None


def drive(
    extension: Path, page: str, settle: list[str], service: str | None = None, wait_ms: int | None = None
) -> dict:
    """The page as Firefox with the extension shows it: each link's opacity and badge, the popup's
    lines (``popup``: what was handled; ``scorer``: who scored). ``service``: set in the options
    page first; ``wait_ms``: how long a wait may take (the first page loads the local model)."""
    request: dict = {"extension": str(extension), "page": page, "settle": settle}
    if service is not None:
        request["service"] = service
    if wait_ms is not None:
        request["wait_ms"] = wait_ms
    done = subprocess.run(
        ["node", str(DRIVER), json.dumps(request)], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def lint(extension_zip: Path) -> dict:
    """web-ext's lint report (JSON) of a Firefox package."""
    done = subprocess.run(
        [
            str(NODE_MODULES / ".bin" / "web-ext"),
            "lint",
            "--source-dir",
            str(extension_zip),
            "--output",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(done.stdout)
