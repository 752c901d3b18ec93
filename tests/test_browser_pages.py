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
