"""No "nan", "None" or "NaN" reaches a person: the display helper, and every demo page
crawled in headless Chromium as an administrator and as a grid leader."""

import re
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from gridmap.display import finalize, grid_label, person, show

from browser import browser_login
from conftest import run_gridmap

LEFTOVER = re.compile(r"\b(nan|NaN|None|NaT)\b")
SKIP = re.compile(r"(logout|download|\.(tif|png|xlsx|csv|gpkg|kml|zip|mvt|json)\b|/api/|/static/)")
PER_KIND = 2  # pages per path kind (/hazards/<code>: two cases are enough)
MAX_PAGES = 30


def test_missing_values_render_as_a_dash_or_unassigned():
    for missing in (None, float("nan"), np.nan, pd.NaT, "nan", "None", " NaN "):
        assert show(missing) == "—"
        assert finalize(missing) == "—"
    assert person(None) == person(float("nan")) == "未指定"
    assert person("张三") == "张三"
    assert finalize("") == "" and show(0) == "0" and show(2.0) == "2" and show(2.5) == "2.5"
    assert finalize("none") == "none"  # a real code (the basemap choice), not a leftover
    assert grid_label("学府社区", "003") == "学府社区第3网格"
    assert grid_label("学府社区", "学府社区第2网格") == "学府社区第2网格"
    assert grid_label("学府社区", "东区") == "学府社区东区"
    assert grid_label(None, None, "110108001001003") == "110108001001003"


def _kind(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/".join(parts[:1] + (["*"] if len(parts) > 1 else []) + parts[2:3])


def _crawl(page, base: str) -> dict[str, list[str]]:
    """Visit the app's pages reachable from the menu (two levels); return the leftovers."""
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    queue = ["/"]
    found: dict[str, list[str]] = {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page.goto(base + path)
        page.wait_for_load_state("load")
        text = page.evaluate("document.body.innerText")
        hits = sorted(set(LEFTOVER.findall(text)))
        if hits:
            found[path] = [
                text[max(0, m.start() - 30) : m.end() + 30].replace("\n", " ")
                for m in LEFTOVER.finditer(text)
            ][:3]
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        for href in hrefs:
            u = urlparse(href)
            if u.netloc or not u.path.startswith("/") or SKIP.search(href):
                continue
            target = u.path + (f"?{u.query}" if u.query and "lang=" not in u.query else "")
            if "lang=" in u.query:
                continue
            kind = _kind(u.path)
            if target not in seen and target not in queue and kinds.get(kind, 0) < PER_KIND:
                kinds[kind] = kinds.get(kind, 0) + 1
                queue.append(target)
    assert len(seen) >= 8, seen
    return found


@pytest.mark.browser
def test_no_page_shows_nan_or_none_to_an_admin_or_a_grid_leader(chromium, live_server, demo_db):
    url = demo_db[0].url.render_as_string(hide_password=False)
    grids = run_gridmap("stats", "--json", url=url)  # the database answers
    assert grids.returncode == 0
    with demo_db[0].connect() as c:
        code = c.exec_driver_sql("SELECT code FROM grid ORDER BY code LIMIT 1").scalar_one()
    run_gridmap(
        "user",
        "add",
        "crawl-leader",
        "--role",
        "grid_leader",
        "--password",
        "crawl-pass-1",
        "--grid",
        code,
        url=url,
    )
    problems = {}
    for username, password in (("admin", demo_db[1]), ("crawl-leader", "crawl-pass-1")):
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(180_000)
        browser_login(page, live_server, password, username=username)
        for path, snippets in _crawl(page, live_server).items():
            problems[f"{username} {path}"] = snippets
        context.close()
    assert problems == {}
