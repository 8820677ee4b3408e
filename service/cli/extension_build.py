"""The browser extension as a user installs it, for Chromium and for Firefox from the one source
(``service/extension``, package data, so an installed ``clickbait`` can write it too): per browser an
unpacked folder (Chromium's "Load unpacked", Firefox's "Load Temporary Add-on") and a store-ready
zip of the same files, stamped with the package's version; and the ``clickbait extension`` command
that writes them.

The source manifest is Chromium's (so a checkout's ``extension/`` folder loads unpacked as it is);
Firefox's is derived from it here: background scripts instead of a service worker (the scripts the
worker imports, in its order), no Chromium-only keys, and the Gecko id and data-collection
declaration that addons.mozilla.org requires of a new add-on."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from importlib.metadata import version as package_version
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from classifier.personal import MARKS, NEWTON_STEPS
from service.extension_model import local_model_files
from service.settings import ServiceSettings

NAME = "clickbait-extension"
BROWSERS = ("chromium", "firefox")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that one version always zips to the same bytes
GECKO_ID = "clickbait-dimmer@clickbait-classifier"
GECKO_MIN_VERSION = "140.0"  # the first Firefox that reads data_collection_permissions
GECKO_ANDROID_MIN_VERSION = "142.0"  # the same, on Android
# Chromium only: its minimum version, and the cross-origin isolation that lets the local model use
# two WebAssembly threads there (Firefox runs it on one)
CHROMIUM_ONLY_KEYS = ("minimum_chrome_version", "cross_origin_embedder_policy", "cross_origin_opener_policy")
CHROMIUM_ONLY_PERMISSIONS = ("offscreen",)
# Scripts Firefox's background page loads that Chromium's service worker does not import itself
# (there they run in the offscreen document), placed before background.js.
FIREFOX_BACKGROUND_ONLY: tuple[str, ...] = ()
# personal.json: the numbers of the reader's personal layer in the browser (local-personal.js, a port
# of classifier/personal.py), each the service's default for its own layers (ServiceSettings), so
# that every one is declared once: the extension's name -> ServiceSettings' field
PERSONAL_FILE = "personal.json"
PERSONAL_SETTINGS = {
    "penalty": "personal_penalty",
    "bias_penalty": "personal_bias_penalty",
    "words": "personal_words",
    "marks": "personal_marks",
    "max_labels": "personal_max_labels",
}


@dataclass(frozen=True)
class BuiltExtension:
    browser: str
    folder: Path
    zip: Path
    version: str


def _manifest_version(version: str) -> str:
    """Browsers take one to four dot-separated integers: the release part of ``0.2.0.dev3``."""
    match = re.match(r"\d+(\.\d+){0,3}", version)
    return match.group(0) if match else "0"


def _walk(folder: Traversable, prefix: str = "") -> dict[str, bytes]:
    out = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            out.update(_walk(entry, f"{prefix}{entry.name}/"))
        else:
            out[f"{prefix}{entry.name}"] = entry.read_bytes()
    return out


def worker_imports(background: str) -> list[str]:
    """The scripts background.js's ``importScripts(...)`` loads, in order."""
    call = re.search(r"importScripts\(([^)]*)\)", background)
    return re.findall(r"""["']([^"']+)["']""", call.group(1)) if call else []


def data_sent_to_service(settings: str) -> list[str]:
    """settings.js's DATA_SENT_TO_SERVICE: what a service the reader sets is sent, in Firefox's terms."""
    declared = re.search(r"DATA_SENT_TO_SERVICE = Object\.freeze\((\[[^\]]*\])\)", settings)
    if not declared:
        raise ValueError("settings.js declares no DATA_SENT_TO_SERVICE")
    return json.loads(declared.group(1))


def firefox_manifest(manifest: dict, background: str, settings: str) -> dict:
    """Chromium's manifest as Firefox takes it. Its data-collection declaration: with no service set
    nothing leaves the browser ("none"); what a service is sent is optional, asked for by the options
    page when the reader saves one."""
    firefox = {key: value for key, value in manifest.items() if key not in CHROMIUM_ONLY_KEYS}
    firefox["permissions"] = [p for p in manifest["permissions"] if p not in CHROMIUM_ONLY_PERMISSIONS]
    scripts = [
        *worker_imports(background),
        *FIREFOX_BACKGROUND_ONLY,
        manifest["background"]["service_worker"],
    ]
    firefox["background"] = {"scripts": scripts}
    firefox["browser_specific_settings"] = {
        "gecko": {
            "id": GECKO_ID,
            "strict_min_version": GECKO_MIN_VERSION,
            "data_collection_permissions": {"required": ["none"], "optional": data_sent_to_service(settings)},
        },
        "gecko_android": {"strict_min_version": GECKO_ANDROID_MIN_VERSION},
    }
    return firefox


def personal_settings() -> dict:
    """What personal.json holds: ServiceSettings' defaults for a personal layer, and
    classifier/personal.py's Newton steps and names of marks (in their order)."""
    fields = ServiceSettings.model_fields
    defaults = {name: fields[field].default for name, field in PERSONAL_SETTINGS.items()}
    return defaults | {"newton_steps": NEWTON_STEPS, "mark_names": list(MARKS)}


def extension_files(browser: str) -> dict[str, bytes]:
    """Each file of ``browser``'s extension by its path inside it, the manifest made for that
    browser and stamped with the package's version."""
    version = package_version("clickbait-classifier")
    out = _walk(files("service") / "extension") | local_model_files()
    out[PERSONAL_FILE] = (json.dumps(personal_settings(), indent=1) + "\n").encode()
    manifest = json.loads(out["manifest.json"])
    if browser == "firefox":
        background = out[manifest["background"]["service_worker"]].decode()
        manifest = firefox_manifest(manifest, background, out["settings.js"].decode())
    elif browser != "chromium":
        raise ValueError(f"no extension for {browser!r}: one of {', '.join(BROWSERS)}")
    manifest["version"] = _manifest_version(version)
    if browser == "chromium":
        manifest["version_name"] = version  # Firefox has no such key: its lint rejects it
    out["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return out


def write_extension(out: Path, browser: str) -> BuiltExtension:
    """``out/clickbait-extension-BROWSER/`` (replaced if there) and its zip beside it."""
    contents = extension_files(browser)
    folder, archive = out / f"{NAME}-{browser}", out / f"{NAME}-{browser}.zip"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in contents.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
            entry = zipfile.ZipInfo(name, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            zipped.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return BuiltExtension(browser, folder, archive, package_version("clickbait-classifier"))


def _extension(args: argparse.Namespace) -> None:
    built = [write_extension(args.out, browser) for browser in args.browser or BROWSERS]
    print(
        json.dumps(
            {b.browser: {"folder": str(b.folder), "zip": str(b.zip), "version": b.version} for b in built},
            indent=2,
        )
    )


def add_extension(commands: argparse._SubParsersAction) -> None:
    extension = commands.add_parser(
        "extension",
        help="write the browser extension for Chromium and Firefox: a folder and a zip each, under --out",
    )
    extension.add_argument("--out", type=Path, required=True, help="folder to write them in")
    extension.add_argument(
        "--browser", action="append", choices=BROWSERS, help="only this browser (repeatable; default: both)"
    )
    extension.set_defaults(handler=_extension)
