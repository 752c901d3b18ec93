"""Headless-Chromium helpers for the browser tests (Playwright driving Debian's chromium).

    from browser import launch_chromium, PageWatch, save_screenshot

    with launch_chromium() as chromium:
        page = chromium.new_page()
        watch = PageWatch(page, app_url=live_server_url)   # attach BEFORE page.goto
        page.goto(live_server_url + "/grids")
        save_screenshot(page, "grids-list")
        watch.assert_clean()      # no console errors, no page errors, no external requests

Playwright's own browser downloads (``playwright install``) are never used: the browser is
``$CHROMIUM`` or ``/usr/bin/chromium`` (Debian package ``chromium``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Route,
    sync_playwright,
)
from playwright.sync_api import (
    Error as PlaywrightError,
)

__all__ = [
    "CHROMIUM_ARGS",
    "REPO_ROOT",
    "SCREENSHOT_DIR",
    "chromium_executable",
    "launch_chromium",
    "PageWatch",
    "browser_login",
    "save_screenshot",
    "wait_until",
]

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"


def chromium_executable() -> str | None:
    """Path of the Chromium to drive ($CHROMIUM, else /usr/bin/chromium), or None if absent."""
    candidate = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    if os.sep not in candidate:
        candidate = shutil.which(candidate) or candidate
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


@contextlib.contextmanager
def launch_chromium(*, extra_args: Iterable[str] = (), **launch_kwargs) -> Iterator[Browser]:
    """Start headless Chromium through Playwright and yield the ``Browser``; closed on exit.

    Extra keyword arguments go to ``playwright.chromium.launch`` (e.g. ``slow_mo=100``)."""
    executable = chromium_executable()
    if executable is None:
        raise RuntimeError(
            f"Chromium not found at {os.environ.get('CHROMIUM') or DEFAULT_CHROMIUM}: install "
            "the Debian packages chromium and chromium-driver (scripts/system-deps.sh), or "
            "point $CHROMIUM at a Chromium binary. (`playwright install` is not used here.)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            **launch_kwargs,
        )
        try:
            yield browser
        finally:
            with contextlib.suppress(PlaywrightError):
                browser.close()


# Schemes that never leave the browser.
_LOCAL_SCHEMES = {"data", "blob", "about", "chrome", "chrome-extension", "devtools", "file"}


class PageWatch:
    """Record what a page does wrong while a test drives it.

    * ``console_errors``: console messages of type ``error`` (this includes Chromium's own
      "Failed to load resource: ... 404" lines);
    * ``page_errors``: uncaught exceptions (``pageerror`` events);
    * ``external_requests``: every request (of any type) whose host is not the app's own.

    The app's host is taken from *app_url* (or *app_host*); when neither is given, from the
    first top-level navigation of the page.  Hosts in *allowed_hosts* are treated as the
    app's too.  With ``block_external=True`` (the default) external requests are recorded
    and then aborted, so that no test depends on, or sends anything to, the internet.

    Use ``assert_clean()`` at the end of a test (or ``with PageWatch(page, ...):`` which
    calls it on a clean exit).  *ignore_console* takes regexes of console texts to accept.
    """

    def __init__(
        self,
        page: Page,
        app_url: str | None = None,
        *,
        app_host: str | None = None,
        allowed_hosts: Iterable[str] = (),
        block_external: bool = True,
        ignore_console: Iterable[str] = (),
    ) -> None:
        self.page = page
        host = app_host or (urlsplit(app_url).hostname if app_url else None)
        self.app_host: str | None = host.lower() if host else None
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.ignore_console = [re.compile(p) for p in ignore_console]
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.external_requests: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_pageerror)
        page.on("request", self._on_request)
        self._blocking = block_external
        if block_external:
            page.route("**/*", self._route)

    # -- classification
    def is_external(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme.lower() in _LOCAL_SCHEMES or not parts.hostname:
            return False
        host = parts.hostname.lower()
        if self.app_host is None:
            return False  # not known yet: decided in _on_request for the first navigation
        return host != self.app_host and host not in self.allowed_hosts

    # -- event handlers
    def _on_console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        text = msg.text
        if any(p.search(text) for p in self.ignore_console):
            return
        loc = msg.location or {}
        where = loc.get("url") or ""
        if where:
            where = f" ({where}:{loc.get('lineNumber', 0) + 1})"
        self.console_errors.append(f"{text}{where}")

    def _on_pageerror(self, error: PlaywrightError) -> None:
        name = getattr(error, "name", "") or "Error"
        self.page_errors.append(f"{name}: {error.message}")

    def _learn_app_host(self, request: Request) -> None:
        if self.app_host is None and request.is_navigation_request():
            frame = request.frame
            if frame.parent_frame is None:
                host = urlsplit(request.url).hostname
                if host:
                    self.app_host = host.lower()

    def _on_request(self, request: Request) -> None:
        self._learn_app_host(request)
        if self.is_external(request.url):
            self.external_requests.append(
                f"{request.method} {request.url} [{request.resource_type}]"
            )

    def _route(self, route: Route) -> None:
        request = route.request
        self._learn_app_host(request)
        with contextlib.suppress(PlaywrightError):  # page closing under us
            if self.is_external(request.url):
                route.abort("blockedbyclient")
            else:
                route.fallback()

    # -- results
    @property
    def problems(self) -> list[str]:
        return (
            [f"console error: {m}" for m in self.console_errors]
            + [f"page error: {m}" for m in self.page_errors]
            + [f"external request: {m}" for m in self.external_requests]
        )

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()
        self.external_requests.clear()

    def assert_clean(self) -> None:
        """Raise AssertionError listing every console error, page error and external request."""
        problems = self.problems
        if problems:
            where = self.page.url if not self.page.is_closed() else "(closed page)"
            listing = "\n".join(f"  - {p}" for p in problems)
            raise AssertionError(f"page {where} is not clean ({len(problems)}):\n{listing}")

    def __enter__(self) -> PageWatch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.assert_clean()


def save_screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of *page* as test-artifacts/screenshots/<name>.png under the repo root."""
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "screenshot"
    if safe.lower().endswith(".png"):
        safe = safe[:-4]
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def browser_login(page: Page, base_url: str, password: str, username: str = "admin") -> None:
    """Log in through the real login form and wait until the first page has loaded."""
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def wait_layers_drawn(page: Page, *, timeout: float = 60_000) -> None:
    """Wait until no map layer request is in flight (after a pan or zoom asked for new data).

    Playwright's "networkidle" load state only concerns the page's first load; a layer that
    redraws after a click would close the popup the click opened.
    """
    wait_until(page, "window.GM && window.GM.pending() === 0", timeout=timeout)


def wait_until(page: Page, expression: str, *, timeout: float = 30_000, poll_ms: int = 100) -> None:
    """Wait until the JavaScript ``expression`` is truthy on ``page``.

    Playwright's ``wait_for_function`` compiles its expression inside the page, which the
    app's Content-Security-Policy (no 'unsafe-eval') refuses; ``evaluate`` runs outside it.
    """
    import time

    deadline = time.monotonic() + timeout / 1000
    body = (
        expression
        if expression.lstrip().startswith(("()", "function"))
        else f"() => ({expression})"
    )
    while not _evaluate_across_navigation(page, body):
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout / 1000:.0f} s for {expression}")
        page.wait_for_timeout(poll_ms)


def _evaluate_across_navigation(page: Page, body: str):
    """``page.evaluate``, falsy while the page is between documents (a reload or a redirect
    destroys the context the expression ran in; the next poll asks the new document)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return page.evaluate(body)
    except PlaywrightError as exc:
        if "context was destroyed" in str(exc) or "navigat" in str(exc):
            return False
        raise
