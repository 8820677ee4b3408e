"""A real FreshRSS for tests: the unmodified copy in ../shared/vendor/freshrss (read-only in CI),
copied to a temporary folder and driven through its own command line with Debian's PHP and SQLite:
installed with one user, this repository's extension (``freshrss/``) installed and enabled with the
given settings, feeds served on 127.0.0.1 subscribed to and refreshed, and the stored entries read
back from the user's SQLite database."""

from __future__ import annotations

import html
import json
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

import httpx

from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]  # this checkout
VENDOR = ROOT.parent / "shared" / "vendor" / "freshrss"
EXTENSION = ROOT / "freshrss"
USER = "admin"
NAME = "Clickbait"  # the extension's name in metadata.json: the key of its settings and its switch
PHP_MODULES = ("curl", "pdo_sqlite", "mbstring", "intl", "xml", "zip")


def missing() -> str | None:
    """Why FreshRSS cannot run here: no php (None: it can). What else it needs is checked by
    ``FreshRSS.install``, which fails, not skips, without it."""
    return None if shutil.which("php") else "php is not installed (CI installs Debian's php-cli: .ci/run)"


def _check_requirements() -> None:
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=True).stdout.lower().split()
    absent = [m for m in PHP_MODULES if m not in modules]
    assert not absent, f"PHP lacks the modules {absent}: install Debian's php-* packages as .ci/run does"
    assert (VENDOR / "cli" / "actualize-user.php").is_file(), f"no FreshRSS copy at {VENDOR}"


@dataclass(frozen=True)
class Entry:
    title: str  # as FreshRSS stores it, its XML entities decoded
    is_read: bool
    tags: list[str]  # the entry's own tags (#…)
    labels: list[str]  # the user's labels on it


class FreshRSS:
    """One FreshRSS installation in ``root`` with the user ``admin``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.user_dir = root / "data" / "users" / USER

    @classmethod
    def install(cls, work: Path, with_extension: bool = True) -> FreshRSS:
        _check_requirements()
        root = work / "freshrss"
        shutil.copytree(VENDOR, root, symlinks=True)
        instance = cls(root)
        instance.cli("do-install.php", "--default-user", USER, "--db-type", "sqlite", "--auth-type", "none")
        instance.cli("create-user.php", "--user", USER)
        # its default subscriptions (FreshRSS's releases) need the Internet: drop them (this copy's
        # --no-default-feeds fails: a string assigned to a bool in its option parser)
        with sqlite3.connect(instance.user_dir / "db.sqlite") as db:
            db.execute("DELETE FROM feed")
        if with_extension:  # as docs/freshrss.md tells a user: the folder in extensions/
            shutil.copytree(EXTENSION, root / "extensions" / "xExtension-Clickbait")
        return instance

    def cli(self, script: str, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["php", f"cli/{script}", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{script}: {done.stdout}\n{done.stderr}"
        return done

    def configure(self, **settings: object) -> None:
        """Enable the extension for the user with exactly these settings, as its configure page
        stores them: the user's config.php, ``extensions_enabled`` and ``extensions``."""
        conf = self.user_config()
        enabled = (conf.get("extensions_enabled") or {}) | {NAME: True}
        extensions = (conf.get("extensions") or {}) | {NAME: settings}
        self.set_user(extensions_enabled=enabled, extensions=extensions)

    def set_user(self, **values: object) -> None:
        """Set top-level keys of the user's config.php, written as FreshRSS writes it
        (Minz_Configuration: a PHP file returning an array)."""
        code = """
            $conf = include $argv[1];
            foreach (json_decode($argv[2], true) as $key => $value) {
                $conf[$key] = $value;
            }
            file_put_contents($argv[1], "<?php\\nreturn " . var_export($conf, true) . ";\\n");
        """
        config = str(self.user_dir / "config.php")
        subprocess.run(["php", "-r", code, config, json.dumps(values)], check=True, timeout=60)

    def user_config(self) -> dict:
        """The user's configuration (config.php) as JSON."""
        code = "echo json_encode(include $argv[1]);"
        out = subprocess.run(
            ["php", "-r", code, str(self.user_dir / "config.php")],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        return json.loads(out)

    def subscribe(self, *urls: str) -> None:
        outlines = "".join(f'<outline text="feed" type="rss" xmlUrl="{escape(u)}"/>' for u in urls)
        opml = self.root.parent / "subscriptions.opml"
        opml.write_text(
            '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head>'
            f"<body>{outlines}</body></opml>",
            encoding="utf-8",
        )
        self.cli("import-for-user.php", "--user", USER, "--filename", str(opml))

    def forget_downloads(self) -> None:
        """Empty FreshRSS's cache of downloaded feeds, so that the next refresh downloads them again."""
        for cached in (self.root / "data" / "cache").glob("*.spc"):
            cached.unlink()

    def actualize(self) -> str:
        return self.cli("actualize-user.php", "--user", USER).stdout

    def entries(self) -> list[Entry]:
        with sqlite3.connect(self.user_dir / "db.sqlite") as db:
            rows = db.execute("SELECT id, title, is_read, tags FROM entry ORDER BY id").fetchall()
            labelled = db.execute(
                "SELECT et.id_entry, t.name FROM entrytag et JOIN tag t ON t.id = et.id_tag"
            ).fetchall()
        labels: dict[int, list[str]] = {}
        for entry_id, name in labelled:
            labels.setdefault(entry_id, []).append(name)
        return [
            Entry(
                html.unescape(title),
                bool(is_read),
                [t for t in (tags or "").split("#") if t.strip()],
                sorted(labels.get(entry_id, [])),
            )
            for entry_id, title, is_read, tags in rows
        ]

    @contextmanager
    def web(self) -> Iterator[str]:
        """Its web interface (PHP's own server on 127.0.0.1), at the URL yielded, until the end."""
        port = free_port()
        process = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", "p"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(url, timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "PHP's server did not start"
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(10)

    def log(self) -> str:
        path = self.user_dir / "log.txt"
        return path.read_text(encoding="utf-8") if path.exists() else ""


def rss(
    titles: list[str],
    base: str = "http://127.0.0.1/",
    paths: list[str] | None = None,
    authors: list[str | None] | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``titles``, each linking to ``base`` + its path (default: its index) and
    naming its author (``dc:creator``) where ``authors`` gives one."""
    items = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(base + (paths[i] if paths else str(i)))}</link>"
        + (f"<dc:creator>{escape(authors[i])}</dc:creator>" if authors and authors[i] else "")
        + f"<guid isPermaLink='false'>item-{i}</guid></item>"
        for i, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Test feed</title>'
        f"<link>{base}</link><description>test</description>{items}</channel></rss>"
    ).encode()


class FeedServer:
    """Serves ``body`` as an RSS feed at ``url`` on 127.0.0.1 until ``close``."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
