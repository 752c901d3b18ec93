"""The product in headless Chromium on the demo street: every page loads after login with no
console error and no request to another host, and the key interactions work -- switch the
basemap and a layer, click a grid for its popup, search, upload a file, change category and
minutes on the planner page, report and close a hazard, measure, print the A4 report, use
it on a phone, and the building vector tiles. Screenshots go to test-artifacts/screenshots."""

import math
import re
from datetime import datetime, timedelta

import pytest
import shapely
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from geodata.db.engine import session_factory
from geodata.db.models import Building, Community, Grid, StaffUser
from gridmap.crs import wgs84_to_gcj02

from browser import PageWatch, save_screenshot, wait_layers_drawn, wait_until

pytestmark = pytest.mark.browser

TILE_HOSTS = [f"webrd0{i}.is.autonavi.com" for i in range(1, 5)]
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
MAP = "() => window[document.querySelector('.folium-map').id]"
FEATURES = f"""() => {{ const map = ({MAP})(); let n = 0;
  map.eachLayer(l => {{ if (l.feature) n += 1; }}); return n; }}"""


@pytest.fixture(scope="module")
def admin_state(chromium, live_server, demo_db, tmp_path_factory):
    """A logged-in admin's cookies, reused by every test's fresh context."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("#username", "admin")
    page.fill("#password", demo_db[1])
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")
    path = tmp_path_factory.mktemp("state") / "admin.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def page(chromium, admin_state, demo_db):
    _reset_basemap(demo_db)  # every test starts on the default basemap (none)
    context = chromium.new_context(
        storage_state=admin_state, viewport={"width": 1366, "height": 860}
    )
    p = context.new_page()
    yield p
    context.close()


def _reset_basemap(demo_db):
    with session_factory(demo_db[0]).begin() as s:
        s.execute(sa.update(StaffUser).where(StaffUser.username == "admin").values(basemap="none"))


def _read(demo_db, stmt):
    with session_factory(demo_db[0])() as s:
        return s.execute(stmt).all()


def _wait_map(page):
    wait_until(page, "window.gmReady === true", timeout=60_000)


def _first_grid(demo_db):
    return _read(demo_db, sa.select(Grid.code, Grid.name).order_by(Grid.code))[0]


def _pages(demo_app, demo_db):
    code = _first_grid(demo_db)[0]
    pages = [
        "/",
        "/hazards/",
        "/hazards/new",
        f"/grid/{code}",
        f"/grid/{code}/report",
        "/admin/users",
        "/admin/grids",
        "/admin/audit",
        "/settings",
        "/search?q=网格&go=0",
        "/patrol",
        "/risk",
        "/heatmap",
    ]
    for endpoint, path in (("upload.upload_page", "/import"), ("reach.planner_page", "/planner")):
        if endpoint in demo_app.view_functions:
            pages.append(path)
    pages.append(f"/field/?grid={code}")  # the grid leader's phone app
    return [*pages, "/?lang=en"]  # last: the choice stays in the session


def test_every_page_loads_clean(page, live_server, demo_app, demo_db, backend):
    watch = PageWatch(page, app_url=live_server)
    for path in _pages(demo_app, demo_db):
        watch.clear()
        response = page.goto(live_server + path, timeout=120_000)
        assert response.status == 200, path
        assert page.get_attribute("html", "lang") == ("en" if "lang=en" in path else "zh-CN"), path
        if page.locator(".folium-map").count():
            _wait_map(page)
            assert page.locator(".leaflet-control-scale").count() == 1, path
            assert page.locator(".leaflet-control-layers").count() == 1, path
            assert page.locator(".gm-measure").count() == 1, path
            assert page.locator(".leaflet-control-zoom-fullscreen").count() == 1, path
            assert page.locator("[class*='legend']").count() >= 1, path  # ours, branca's, theirs
        page.wait_for_load_state("networkidle", timeout=60_000)
        name = re.sub(r"[^\w]+", "-", path.strip("/")) or "overview"
        save_screenshot(page, f"page-{name}-{backend}", full_page=False)
        watch.assert_clean()


def test_switch_basemap_to_amap_and_toggle_a_layer(page, live_server, demo_db, backend):
    tiles: list[str] = []
    watch = PageWatch(page, app_url=live_server, allowed_hosts=TILE_HOSTS)

    def tile(route):  # tiles never reach the internet: answered here with a blank PNG
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG_1PX)

    page.route(re.compile(r"https://webrd0\d\.is\.autonavi\.com/.*"), tile)
    page.goto(live_server + "/")
    _wait_map(page)
    assert tiles == []
    try:
        with page.expect_navigation():  # the selector posts the choice and comes back
            page.select_option("#basemap-select", "amap")
        _wait_map(page)
        page.wait_for_load_state("networkidle")
        assert tiles and all(
            re.match(
                r"https://webrd0[1-4]\.is\.autonavi\.com/appmaptile\?lang=zh_cn"
                r"&size=1&scale=1&style=8&x=\d+&y=\d+&z=\d+$",
                t,
            )
            for t in tiles
        )
        # the embedded communities are drawn shifted to GCJ-02
        code, wkt = _read(
            demo_db,
            sa.select(Community.code, sa.func.ST_AsText(Community.geom)).order_by(Community.code),
        )[0]
        lon, lat = shapely.get_coordinates(shapely.from_wkt(wkt))[0]
        glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
        drawn = page.evaluate(f"""() => {{ const map = ({MAP})(); let out = null;
            map.eachLayer(l => {{ if (!out && l.feature && l.feature.properties.code === {code!r})
                out = l.getLatLngs().flat(3)[0]; }}); return [out.lng, out.lat]; }}""")
        assert drawn == pytest.approx([glon, glat], abs=2e-6)
        save_screenshot(page, f"basemap-amap-{backend}", full_page=False)
        # switch a layer off: the buildings leave the map
        before = page.evaluate(FEATURES)
        n_buildings = _read(demo_db, sa.select(sa.func.count(Building.id)))[0][0]
        page.locator(".leaflet-control-layers-overlays label", has_text="楼栋").click()
        assert page.evaluate(FEATURES) == before - n_buildings
    finally:
        _reset_basemap(demo_db)  # the admin's choice is stored: reset it
    watch.assert_clean()


def test_click_a_grid_opens_its_popup(page, live_server, demo_db, backend):
    watch = PageWatch(page, app_url=live_server)
    code, name = _first_grid(demo_db)
    grid_wkt = _read(demo_db, sa.select(sa.func.ST_AsText(Grid.geom)).where(Grid.code == code))[0][
        0
    ]
    buildings = [
        shapely.from_wkt(w)
        for (w,) in _read(
            demo_db, sa.select(sa.func.ST_AsText(Building.geom)).join(Grid).where(Grid.code == code)
        )
    ]
    free = (
        shapely.from_wkt(grid_wkt)
        .buffer(-0.0002)
        .difference(shapely.union_all(buildings).buffer(0.0001))
    )
    spot = free.representative_point()
    page.goto(live_server + "/")
    _wait_map(page)
    # bring the spot to the middle of the map, clear of the controls, then click it
    page.evaluate(f"() => {{ ({MAP})().setView([{spot.y}, {spot.x}], 17, {{animate: false}}); }}")
    popup = page.locator(".leaflet-popup-content")
    # On a loaded machine a layer may still be redrawing (or its tiles drawing) when the
    # click lands, which leaves no popup: click again once the layers have settled.
    for _attempt in range(5):
        wait_layers_drawn(page)
        xy = page.evaluate(f"() => ({MAP})().latLngToContainerPoint([{spot.y}, {spot.x}])")
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        try:
            popup.wait_for(timeout=6_000)
            break
        except PlaywrightTimeoutError:
            continue
    popup.wait_for()
    assert name in popup.inner_text() and code in popup.inner_text()
    assert popup.locator("a").get_attribute("href") == f"/grid/{code}"
    save_screenshot(page, f"grid-popup-{backend}", full_page=False)
    watch.assert_clean()


def test_search_from_the_navigation(page, live_server, demo_db):
    watch = PageWatch(page, app_url=live_server)
    code, name = _first_grid(demo_db)
    page.goto(live_server + "/hazards/")
    page.fill("#gm-search-q", code)
    page.press("#gm-search-q", "Enter")
    page.wait_for_url(f"{live_server}/grid/{code}")
    assert name in page.inner_text("#grid-name")
    _wait_map(page)
    watch.assert_clean()


def test_upload_a_file(page, live_server, demo_app, demo_db, tmp_path, backend):
    assert "upload.upload_page" in demo_app.view_functions
    import json

    # a district around the demo street: checked and shown, not confirmed (nothing written)
    wkt = _read(demo_db, sa.select(sa.func.ST_AsText(Community.geom)))
    box = shapely.union_all([shapely.from_wkt(w) for (w,) in wkt]).envelope.buffer(0.001)
    upload = tmp_path / "district.geojson"
    upload.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "浏览器测试区", "code": "110199"},
                        "geometry": shapely.geometry.mapping(box),
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/import")
    page.select_option("#layer", "districts")
    page.set_input_files("#file", str(upload))
    page.locator("#upload-form button[type=submit]").click()
    wait_until(
        page,
        "document.querySelector('#job') && "
        "!['checking', 'writing'].includes(document.querySelector('#job').dataset.state)",
        timeout=120_000,
    )
    assert page.get_attribute("#job", "data-state") == "ready", page.inner_text("#job")[:300]
    assert page.inner_text("#n-features").strip() == "1"
    save_screenshot(page, f"upload-checked-{backend}")
    watch.assert_clean()


def test_planner_category_and_minutes(page, live_server, demo_app, backend):
    assert "reach.planner_page" in demo_app.view_functions
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/planner", timeout=180_000)
    options = page.eval_on_selector_all("#category option", "os => os.map(o => o.value)")
    minutes = page.eval_on_selector_all("#minutes option", "os => os.map(o => o.value)")
    category = "primary_school" if "primary_school" in options else options[-1]
    page.select_option("#category", category)
    page.select_option("#minutes", minutes[-1])
    page.click("#compute")
    page.wait_for_load_state("load", timeout=180_000)
    assert f"category={category}" in page.url and f"minutes={minutes[-1]}" in page.url
    assert page.eval_on_selector("#category", "s => s.value") == category
    assert page.eval_on_selector("#minutes", "s => s.value") == minutes[-1]
    page.wait_for_load_state("networkidle", timeout=120_000)
    save_screenshot(page, f"planner-{backend}", full_page=False)
    watch.assert_clean()


def test_report_a_hazard_on_the_map_and_close_it(page, live_server, demo_db, backend):
    watch = PageWatch(page, app_url=live_server)
    code, _name = _first_grid(demo_db)
    wkt = _read(
        demo_db,
        sa.select(sa.func.ST_AsText(sa.func.ST_PointOnSurface(Grid.geom))).where(Grid.code == code),
    )[0][0]
    spot = shapely.from_wkt(wkt)
    page.goto(live_server + "/hazards/new")
    _wait_map(page)
    xy = page.evaluate(f"() => ({MAP})().latLngToContainerPoint([{spot.y}, {spot.x}])")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    assert float(page.input_value("#lat")) == pytest.approx(spot.y, abs=2e-5)
    page.select_option("#category", "gas")
    page.select_option("#severity", "medium")
    page.fill("#description", "浏览器测试：燃气管道老化")
    page.click("#submit-hazard")
    page.wait_for_url(re.compile(r".*/hazards/YH\d+$"))
    case = page.url.rsplit("/", 1)[1]
    deadline = (datetime.now() + timedelta(days=7)).strftime("%Y-%m-%d")
    page.click("#act-file button")
    page.wait_for_selector("#act-assign")
    page.fill("#responsible-assign", "燃气公司 张工")
    page.fill("#deadline-assign", deadline)
    page.click("#act-assign button")
    page.wait_for_selector("#act-handle")
    page.fill("#note-handle", "已更换管道")
    page.click("#act-handle button")
    page.wait_for_selector("#act-reinspect")
    page.fill("#note-reinspect", "复查合格")
    page.click("#act-reinspect button")
    page.wait_for_selector("#act-close")
    page.click("#act-close button")
    page.wait_for_selector("#case-status")
    assert page.inner_text("#case-status") == "已结案"
    assert page.eval_on_selector_all("#history li", "ls => ls.map(l => l.dataset.action)") == [
        "report",
        "file",
        "assign",
        "handle",
        "reinspect",
        "close",
    ]
    assert page.inner_text("#case-responsible") == "燃气公司 张工"
    save_screenshot(page, f"hazard-closed-{backend}")
    assert case.startswith("YH")
    watch.assert_clean()


def test_measure_a_distance(page, live_server):
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/")
    _wait_map(page)
    page.click(".gm-measure-toggle")
    box = page.locator(".folium-map").bounding_box()
    a, b = (box["x"] + 300, box["y"] + 300), (box["x"] + 500, box["y"] + 420)
    page.mouse.click(*a)
    page.mouse.click(*b)
    ll = page.evaluate(f"""() => {{ const map = ({MAP})(), box = map.getContainer().getBoundingClientRect();
        return [map.containerPointToLatLng([{a[0]} - box.left, {a[1]} - box.top]),
                map.containerPointToLatLng([{b[0]} - box.left, {b[1]} - box.top])]; }}""")
    got = float(page.get_attribute(".gm-measure-distance", "data-m"))
    # haversine, Leaflet's earth radius
    p1, p2 = ll
    dlat, dlon = math.radians(p2["lat"] - p1["lat"]), math.radians(p2["lng"] - p1["lng"])
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(p1["lat"]))
        * math.cos(math.radians(p2["lat"]))
        * math.sin(dlon / 2) ** 2
    )
    assert got == pytest.approx(2 * 6371000 * math.asin(math.sqrt(h)), rel=1e-3)
    assert got > 50
    watch.assert_clean()


def test_phone_layout(chromium, admin_state, live_server, backend):
    context = chromium.new_context(
        storage_state=admin_state,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/")
    _wait_map(page)
    assert page.is_visible(".gm-burger") and not page.is_visible("#nav-hazards-index")
    page.click(".gm-burger")
    assert page.is_visible("#nav-hazards-index") and page.is_visible("#gm-search-q")
    map_box = page.locator(".gm-map").bounding_box()
    assert map_box["width"] == pytest.approx(390, abs=2) and map_box["height"] > 400
    save_screenshot(page, f"phone-overview-{backend}", full_page=False)
    watch.assert_clean()
    context.close()


def test_printed_report_is_a4(page, live_server, demo_db, tmp_path):
    code, name = _first_grid(demo_db)
    page.goto(f"{live_server}/grid/{code}/report")
    assert name in page.inner_text("body")
    assert page.is_visible("#print-button")
    page.emulate_media(media="print")
    assert not page.is_visible(".gm-nav") and not page.is_visible("#print-button")
    pdf = page.pdf(prefer_css_page_size=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(
        float(w) == pytest.approx(595.3, abs=1) and float(h) == pytest.approx(841.9, abs=1)
        for w, h in boxes
    )
    (tmp_path / "report.pdf").write_bytes(pdf)


def test_building_tiles_when_the_street_is_large(page, live_server, demo_app, demo_db, backend):
    """Above the threshold buildings come as vector tiles; a click finds the building."""
    old = demo_app.config["MVT_THRESHOLD"]
    demo_app.config["MVT_THRESHOLD"] = 10
    try:
        watch = PageWatch(page, app_url=live_server)
        page.goto(live_server + "/")
        _wait_map(page)
        assert page.locator(".gm-vector-tiles canvas.leaflet-tile").count() >= 1
        bid, wkt = _read(
            demo_db,
            sa.select(
                Building.id, sa.func.ST_AsText(sa.func.ST_PointOnSurface(Building.geom))
            ).order_by(Building.id),
        )[0]
        spot = shapely.from_wkt(wkt)
        page.evaluate(
            f"() => {{ ({MAP})().setView([{spot.y}, {spot.x}], 18, {{animate: false}}); }}"
        )
        wait_until(page, "() => !document.querySelector('.gm-vector-tiles .leaflet-tile-loading')")
        page.wait_for_timeout(300)
        xy = page.evaluate(f"() => ({MAP})().latLngToContainerPoint([{spot.y}, {spot.x}])")
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        address = _read(demo_db, sa.select(Building.address).where(Building.id == bid))[0][0]
        popup = page.locator(".leaflet-popup-content", has_text=address)
        popup.wait_for()  # the details come from /api/buildings/<id>
        assert page.locator(".leaflet-popup-content").count() == 1
        save_screenshot(page, f"building-tiles-{backend}", full_page=False)
        watch.assert_clean()
    finally:
        demo_app.config["MVT_THRESHOLD"] = old
