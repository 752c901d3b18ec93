"""The browser harness (tests/browser.py) catches what it claims to catch."""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from browser import PageWatch, save_screenshot

pytestmark = pytest.mark.browser

PAGES = {
    "clean.html": """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
        <title>clean</title><link rel="icon" href="data:,"></head>
        <body><h1>网格 ok</h1><img src="/dot.svg" alt="dot">
        <script>console.log("just a log"); console.warn("just a warning");</script>
        </body></html>""",
    "console-error.html": """<!doctype html><html><head><meta charset="utf-8">
        <title>bad</title><link rel="icon" href="data:,"></head>
        <body><h1>bad</h1><script>console.error("boom from the page");</script>
        </body></html>""",
    "throws.html": """<!doctype html><html><head><meta charset="utf-8">
        <title>throws</title><link rel="icon" href="data:,"></head>
        <body><script>null.nope();</script></body></html>""",
    "external.html": """<!doctype html><html><head><meta charset="utf-8">
        <title>external</title><link rel="icon" href="data:,"></head>
        <body><img src="http://example.invalid/x.png" alt="x"></body></html>""",
    "dot.svg": """<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">
        <circle cx="4" cy="4" r="4"/></svg>""",
}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    for name, body in PAGES.items():
        (root / name).write_text(body, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# `chromium` is the session-wide browser from conftest.py: Playwright's sync API allows
# only one running instance per thread.


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_clean_page_passes(site, page):
    watch = PageWatch(page, app_url=site)
    page.goto(f"{site}/clean.html")
    page.wait_for_load_state("load")
    assert page.inner_text("h1") == "网格 ok"
    watch.assert_clean()
    path = save_screenshot(page, "harness clean page")
    assert path.name == "harness_clean_page.png"
    assert path.parent.parts[-2:] == ("test-artifacts", "screenshots")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_error_is_caught(site, page):
    watch = PageWatch(page, app_url=site)
    page.goto(f"{site}/console-error.html")
    page.wait_for_load_state("load")
    assert any("boom from the page" in m for m in watch.console_errors)
    with pytest.raises(AssertionError, match="boom from the page"):
        watch.assert_clean()


def test_uncaught_exception_is_caught(site, page):
    watch = PageWatch(page, app_url=site)
    page.goto(f"{site}/throws.html")
    page.wait_for_load_state("load")
    assert len(watch.page_errors) == 1 and "TypeError" in watch.page_errors[0]
    with pytest.raises(AssertionError, match="page error: TypeError"):
        watch.assert_clean()


def test_external_request_is_recorded(site, page):
    watch = PageWatch(page)  # app host learnt from the first navigation
    page.goto(f"{site}/external.html")
    page.wait_for_load_state("load")
    assert watch.app_host == "127.0.0.1"
    assert any("http://example.invalid/x.png" in r for r in watch.external_requests)
    with pytest.raises(
        AssertionError, match=r"external request: GET http://example\.invalid/x\.png"
    ):
        watch.assert_clean()


def test_missing_resource_is_a_console_error(site, page):
    watch = PageWatch(page, app_url=site)
    page.goto(f"{site}/clean.html")
    page.evaluate(
        """() => new Promise(done => {
            const img = new Image(); img.onerror = img.onload = done;
            img.src = "/no-such-file.png"; document.body.appendChild(img);
        })"""
    )
    assert any("404" in m for m in watch.console_errors), watch.console_errors
    assert watch.external_requests == []


def test_context_manager_form(site, page):
    with PageWatch(page, app_url=site):
        page.goto(f"{site}/clean.html")
    with pytest.raises(AssertionError), PageWatch(page, app_url=site):
        page.goto(f"{site}/console-error.html")
        page.wait_for_load_state("load")
