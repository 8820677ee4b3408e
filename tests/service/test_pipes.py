"""The command line in Unix pipes, and newsboat end to end: its ``filter:`` URLs pipe a downloaded
feed through ``clickbait filter-feed -``, and a proxy URL reads the feed through a real server."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest

from tests.support.feed_docs import BAIT_TITLE, NEWS_TITLE, RSS, SEED_LIKE_PAGE

CLI = [sys.executable, "-m", "service.cli"]


def feed(site: str) -> str:
    """Two items, news and clickbait, with links (newsboat's guids) of their own per feed."""
    items = "".join(
        f"<item><title>{title}</title><link>https://{site}/{i}</link></item>"
        for i, title in enumerate((NEWS_TITLE, BAIT_TITLE))
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>{items}</channel></rss>'


def pipe(command: str, stdin: str) -> subprocess.CompletedProcess:
    """``command`` at the end of a shell pipe that ``stdin`` flows into, as a user types it."""
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"cat | {command}"],
        input=stdin.encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_filter_feed_and_page_read_stdin_and_write_stdout(known_model: Path) -> None:
    cli = " ".join([*CLI, "{}", "--model", str(known_model)])
    kept = pipe(cli.format("filter-feed -"), RSS)
    assert kept.returncode == 0, kept.stderr
    assert [e.title for e in feedparser.parse(kept.stdout).entries] == [NEWS_TITLE]
    listed = pipe(cli.format("page - --url https://www.example.ro/a"), SEED_LIKE_PAGE)
    rows = [line for line in listed.stdout.decode().splitlines() if line]
    assert (
        listed.returncode == 0
        and len(rows) == 6
        and '"link": "https://www.example.ro/' in listed.stdout.decode()
    )
    refused = pipe(cli.format("filter-feed -"), "no feed at all")
    stderr = refused.stderr.decode().strip().splitlines()
    assert refused.returncode == 2 and refused.stdout == b""
    assert len(stderr) == 1 and stderr[0].startswith("clickbait filter-feed: error:")


@pytest.fixture()
def feed_host(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.slow
def test_newsboat_keeps_only_the_news(make_server, known_model: Path, feed_host: str, tmp_path: Path) -> None:
    assert shutil.which("newsboat"), "needs Debian's newsboat: apt-get install newsboat (as .ci/run does)"
    (tmp_path / "local.xml").write_text(feed("local.example"), encoding="utf-8")
    (tmp_path / "www" / "remote.xml").write_text(feed("remote.example"), encoding="utf-8")
    running = make_server(feed_fetch=True, feed_allowed_hosts=["127.0.0.1"])
    command = " ".join([*CLI, "filter-feed", "-", "--model", str(known_model)])
    piped = f"filter:{command}:file://{tmp_path / 'local.xml'}"
    proxied = f"{running.url}/v1/filter?url={quote(feed_host + '/remote.xml', safe='')}"
    (tmp_path / "urls").write_text(f'"{piped}"\n{proxied}\n', encoding="utf-8")
    (tmp_path / "config").write_text("", encoding="utf-8")
    cache = tmp_path / "cache.db"
    reload = subprocess.run(
        ["newsboat", "-u", "urls", "-c", str(cache), "-C", "config", "-x", "reload"],
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert reload.returncode == 0, reload.stderr
    with sqlite3.connect(cache) as db:
        kept = db.execute("SELECT feedurl, title FROM rss_item WHERE deleted = 0 ORDER BY feedurl").fetchall()
    assert sorted(kept) == sorted([(piped, NEWS_TITLE), (proxied, NEWS_TITLE)])
