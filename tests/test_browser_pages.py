"""Pages in headless Chromium: no JavaScript errors, no requests to other hosts."""

import pytest

from browser import PageWatch, save_screenshot, wait_until
from conftest import row_count

pytestmark = pytest.mark.browser


def browser_login(page, base_url, password):
    page.goto(base_url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


FEATURES_ON_MAP = """() => {
  const map = window[document.querySelector('.folium-map').id];
  let n = 0;
  map.eachLayer(layer => { if (layer.feature) n += 1; });
  return n;
}"""


def test_overview_renders_grids_on_the_map(chromium, live_server, demo_db, demo_session, backend):
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    watch = PageWatch(page, app_url=live_server)
    browser_login(page, live_server, demo_db[1])
    assert page.url == live_server + "/"
    wait_until(page, "window.gmReady === true")  # the layers loaded by bbox have drawn
    # the street (and district, when loaded) outlines are drawn with their names too
    expected = sum(
        row_count(demo_session, t) for t in ("grid", "building", "community", "street", "district")
    )
    assert page.evaluate(FEATURES_ON_MAP) == expected
    # grids, buildings, key sites, facilities, communities, and the street and district
    # outlines where loaded; the basemap radio buttons apart
    outlines = sum(row_count(demo_session, t) > 0 for t in ("street", "district"))
    assert page.locator(".leaflet-control-layers-overlays label").count() == 5 + outlines
    assert page.locator(".leaflet-control-scale").count() == 1
    save_screenshot(page, f"overview-{backend}")
    watch.assert_clean()
    page.close()


LAYERS_LOADED = """() => {
  const map = window[document.querySelector('.folium-map').id];
  return map.gmWeeks ? map.gmWeeks.gmLoaded : -1;
}"""

NAME_CELL_LINES = """() => {
  const td = document.querySelector('#grid-risk-table tbody td');
  const text = document.createRange();
  text.selectNodeContents(td);
  const style = getComputedStyle(td);
  const line = parseFloat(style.lineHeight) || 1.3 * parseFloat(style.fontSize);
  return text.getBoundingClientRect().height / line;
}"""


def test_fetched_analysis_layers_draw(chromium, live_server, demo_db, backend):
    from geodata.db.engine import session_factory

    # a short session: a SpatiaLite reader left open would keep the pages from committing
    with session_factory(demo_db[0])() as s:
        n_grids = row_count(s, "grid")
    page = chromium.new_page(viewport={"width": 1366, "height": 860})
    watch = PageWatch(page, app_url=live_server)
    browser_login(page, live_server, demo_db[1])
    # the indicator map: every grid fetched from the layer route and drawn
    page.goto(live_server + "/indicators", timeout=300_000)  # a period's first figures: slow
    wait_until(page, "window.gmReady === true")
    assert page.evaluate(FEATURES_ON_MAP) == n_grids
    assert page.locator(".gm-legend").count() == 1 and page.locator(".legend").count() == 1
    save_screenshot(page, f"indicators-map-{backend}")
    # the heatmap's weekly slider: its cells fetched, one week drawn over the grid outlines
    page.goto(live_server + "/heatmap?layer=patrol&weekly=1", timeout=120_000)
    page.wait_for_load_state("load")  # (the time-slider player never lets the network idle)
    wait_until(page, "window.gmReady === true")
    assert page.locator(".timecontrol-dateslider").count() == 1
    assert page.evaluate(LAYERS_LOADED) > 0
    assert page.evaluate(FEATURES_ON_MAP) > n_grids
    save_screenshot(page, f"heatmap-weeks-{backend}")
    # a plain view: the cells are fetched when switched on
    page.goto(live_server + "/heatmap?layer=households")
    wait_until(page, "window.gmReady === true")
    assert page.evaluate(FEATURES_ON_MAP) == n_grids
    page.locator(".leaflet-control-layers-overlays label", has_text="单元格").click()
    wait_until(page, f"({FEATURES_ON_MAP})() > {n_grids}")
    # the risk table's grid names read on one line on a desktop screen
    page.goto(live_server + "/risk", timeout=120_000)
    wait_until(page, "window.gmReady === true")
    assert page.evaluate(NAME_CELL_LINES) < 1.5
    save_screenshot(page, f"risk-table-{backend}")
    watch.assert_clean()
    page.close()
