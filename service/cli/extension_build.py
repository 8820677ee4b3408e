"""The browser extension as a user installs it: an unpacked folder for Chromium's "Load unpacked" and
a zip of the same files, written from the package's own copy (``service/extension``, package data, so
an installed ``clickbait`` can write it too) and stamped with the package's version; and the
``clickbait extension`` command that writes them."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from importlib.metadata import version as package_version
from importlib.resources import files
from pathlib import Path

NAME = "clickbait-extension"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that one version always zips to the same bytes


@dataclass(frozen=True)
class BuiltExtension:
    folder: Path
    zip: Path
    version: str


def _manifest_version(version: str) -> str:
    """Chromium takes one to four dot-separated integers: the release part of ``0.2.0.dev3``."""
    match = re.match(r"\d+(\.\d+){0,3}", version)
    return match.group(0) if match else "0"


def extension_files() -> dict[str, bytes]:
    """Each file of the extension by name, the manifest stamped with the package's version."""
    version = package_version("clickbait-classifier")
    out = {}
    for entry in sorted((files("service") / "extension").iterdir(), key=lambda e: e.name):
        if entry.is_file():
            out[entry.name] = entry.read_bytes()
    manifest = json.loads(out["manifest.json"])
    manifest["version"], manifest["version_name"] = _manifest_version(version), version
    out["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    return out


def write_extension(out: Path) -> BuiltExtension:
    """``out/clickbait-extension/`` (replaced if there) and ``out/clickbait-extension.zip``."""
    contents = extension_files()
    folder, archive = out / NAME, out / f"{NAME}.zip"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in contents.items():
            (folder / name).write_bytes(data)
            entry = zipfile.ZipInfo(name, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            zipped.writestr(entry, data, zipfile.ZIP_DEFLATED)
    return BuiltExtension(folder, archive, json.loads(contents["manifest.json"])["version_name"])


def _extension(args: argparse.Namespace) -> None:
    built = write_extension(args.out)
    print(
        json.dumps({"folder": str(built.folder), "zip": str(built.zip), "version": built.version}, indent=2)
    )


def add_extension(commands: argparse._SubParsersAction) -> None:
    extension = commands.add_parser(
        "extension", help="write the Chromium extension: an unpacked folder and a zip, under --out"
    )
    extension.add_argument("--out", type=Path, required=True, help="folder to write them in")
    extension.set_defaults(handler=_extension)
