"""Chromium with the browser extension loaded, and a static news site on 127.0.0.1: what the extension's
tests and the docs' screenshot (docs/extension_screenshot.py) both drive."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright

from tests.support.chromium import CHROMIUM, FLAGS


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def static_site(pages: dict[str, str]) -> Iterator[str]:
    """``pages`` (file name -> HTML) served at http://127.0.0.1:PORT/NAME; yields that base URL."""
    with tempfile.TemporaryDirectory() as root:
        for name, html in pages.items():
            (Path(root) / name).write_text(html, encoding="utf-8")
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietFiles, directory=root))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()


@dataclass
class ExtensionBrowser:
    context: BrowserContext
    extension_id: str
    playwright: Playwright  # the driver it runs under: one per process, for every other browser too

    def url(self, page: str) -> str:
        return f"chrome-extension://{self.extension_id}/{page}"

    def configure(
        self,
        service_url: str,
        key: str = "",
        max_requests: int | None = None,
        mode: str | None = None,
        only_listed: bool | None = None,
    ) -> None:
        """Through the options page, as a user would."""
        options = self.context.new_page()
        options.goto(self.url("options.html"))
        expect(options.locator("#max-requests")).not_to_have_value("")  # the stored values are in
        options.fill("#service-url", service_url)
        options.fill("#api-key", key)
        if max_requests is not None:
            options.fill("#max-requests", str(max_requests))
        if mode is not None:
            options.select_option("#mode", mode)
        if only_listed is not None:
            options.set_checked("#only-listed", only_listed)
        options.click("button[type=submit]")
        # saved: a status line that is no problem ("Saved." in the browser's language)
        expect(options.locator("#status:not(.problem)")).not_to_be_empty()
        options.close()

    def reset(self) -> None:
        """A fresh start for the next test: no page open, nothing stored (settings, corrections)."""
        for page in self.context.pages:
            page.close()
        page = self.context.new_page()
        page.goto(self.url("popup.html"))
        page.evaluate("chrome.storage.local.clear()")
        page.close()

    def storage(self, name: str):
        """What the extension keeps in storage.local under ``name``."""
        page = self.context.new_page()
        page.goto(self.url("popup.html"))
        try:
            return page.evaluate("async name => (await chrome.storage.local.get(name))[name]", name)
        finally:
            page.close()

    def popup(self, page: Page) -> Page:
        """The toolbar popup for ``page``'s tab, opened as a page of its own (popup.html?tab=ID)."""
        popup = self.context.new_page()
        popup.goto(self.url("popup.html"))
        tab = popup.evaluate(
            "async url => (await chrome.tabs.query({})).find(t => t.url === url).id", page.url
        )
        popup.goto(self.url(f"popup.html?tab={tab}"))
        return popup


OPTIONS_TAB_MS = 5000


@contextmanager
def extension_browser(
    extension_dir: Path,
    profile: Path,
    viewport: dict[str, int] | None = None,
    language: str | None = None,
    playwright: Playwright | None = None,
) -> Iterator[ExtensionBrowser]:
    """Headless Chromium on a fresh profile with the unpacked extension at ``extension_dir``; its
    interface in ``language`` (a locale code) where given; under ``playwright`` where one runs
    already (a process has one sync driver at a time), else under its own."""
    if playwright is None:
        with sync_playwright() as own:
            with extension_browser(extension_dir, profile, viewport, language, own) as browser:
                yield browser
        return
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *FLAGS,
            f"--disable-extensions-except={extension_dir}",
            f"--load-extension={extension_dir}",
        ],
        viewport=viewport or {"width": 1280, "height": 900},
        env={**os.environ, "LANGUAGE": language} if language else None,
    )
    try:
        worker = (
            context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        )
        browser = ExtensionBrowser(context, worker.url.split("/")[2], playwright)
        # it opens its options page on install, in a new tab or one just opened: wait for it
        # (asked of the worker: Playwright may see that tab before its navigation), then close
        # it. Headless Chromium sometimes opens none: after OPTIONS_TAB_MS, go on without it.
        worker.evaluate(
            """(limit) => new Promise((resolve) => {
              const until = Date.now() + limit;
              const tabs = () => chrome.runtime.getContexts({ contextTypes: ["TAB"] });
              const check = async () => {
                if ((await tabs()).length || Date.now() > until) resolve();
                else setTimeout(check, 50);
              };
              check();
            })""",
            OPTIONS_TAB_MS,
        )
        for page in context.pages:
            page.close()
        yield browser
    finally:
        context.close()
