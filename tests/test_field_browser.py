"""The field app on a phone: headless Chromium at 390x844 with emulated geolocation and
network loss, on the demo street. A leader logs in and lands on their grid, fully in
view, nothing wider than the screen; walks a street and the patrol counts in `gridmap
patrol`; reports a hazard with a photo offline that arrives once when back online; checks
in at a key site; and the service worker opens the app with no connection. No request
leaves for another host. Screenshots in test-artifacts/screenshots."""

import dataclasses
import io
import json
import time
from datetime import date

import pytest
import shapely
import sqlalchemy as sa
from PIL import Image
from pyproj import Transformer

from geodata.db.engine import session_factory
from geodata.db.models import Grid, Hazard, Inspection, KeySite, PatrolTrack, Photo, Road
from geodata.db.users import create_user

from browser import PageWatch, save_screenshot, wait_until
from conftest import run_gridmap

pytestmark = pytest.mark.browser
PASSWORD = "field-browser-1"
OFFLINE_NOISE = [r"ERR_INTERNET_DISCONNECTED", r"Failed to fetch"]


@pytest.fixture(scope="module")
def leader(demo_db, demo_app, tmp_path_factory):
    """A grid leader of a grid with streets and a key site; photos under a temporary home."""
    old_settings = demo_app.config["SETTINGS"]
    home = tmp_path_factory.mktemp("field-home")
    demo_app.config["SETTINGS"] = dataclasses.replace(old_settings, home=home)
    with session_factory(demo_db[0]).begin() as s:
        grid = s.execute(
            sa.select(Grid.code, sa.func.ST_AsText(Grid.geom))
            .join(KeySite, KeySite.grid_id == Grid.id)
            .order_by(Grid.code.desc())
            .limit(1)
        ).one()
        create_user(
            s,
            "fb_leader",
            "grid_leader",
            password=PASSWORD,
            grid_codes=[grid[0]],
            display_name="网格员乙",
        )
        site = s.execute(
            sa.select(KeySite.code, sa.func.ST_X(KeySite.geom), sa.func.ST_Y(KeySite.geom))
            .join(Grid, KeySite.grid_id == Grid.id)
            .where(Grid.code == grid[0])
            .order_by(KeySite.code)
            .limit(1)
        ).one()
        roads = s.execute(
            sa.select(Road.name, sa.func.ST_AsText(Road.geom)).where(
                Road.highway.in_(
                    ["residential", "tertiary", "secondary", "unclassified", "living_street"]
                )
            )
        ).all()
    polygon = shapely.from_wkt(grid[1])
    walk = _street_inside(polygon, roads)
    yield {
        "grid": grid[0],
        "polygon": polygon,
        "site": site[0],
        "site_xy": (site[1], site[2]),
        "walk": walk,
        "home": home,
        "centre": polygon.representative_point(),
    }
    demo_app.config["SETTINGS"] = old_settings


def _street_inside(polygon, roads):
    """The longest piece of a street inside the grid, as lon/lat points every 8 m."""
    to_m = Transformer.from_crs(4326, 32650, always_xy=True)
    to_ll = Transformer.from_crs(32650, 4326, always_xy=True)
    best = None
    for _name, wkt in roads:
        piece = shapely.from_wkt(wkt).intersection(polygon.buffer(-0.00005))
        for part in getattr(piece, "geoms", [piece]):
            if part.geom_type != "LineString" or part.is_empty:
                continue
            metric = shapely.LineString([to_m.transform(x, y) for x, y in part.coords])
            if best is None or metric.length > best.length:
                best = metric
    assert best is not None and best.length > 60, "no street inside the grid to walk"
    line = shapely.LineString(list(best.coords)[:])
    if line.length > 240:  # a short walk is enough: the segment it lies on must count
        line = shapely.ops.substring(line, 0, 240)
    steps = [line.interpolate(d) for d in range(0, int(line.length) + 1, 8)]
    return [to_ll.transform(p.x, p.y) for p in steps]


def _phone(chromium, lon, lat, accuracy=6):
    return chromium.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": accuracy},
    )


def _login(page, live_server):
    page.goto(live_server + "/login")
    page.fill("#username", "fb_leader")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/field/")
    wait_until(page, "window.gmReady === true", timeout=60_000)


def _queue_empty(page, timeout=30_000):
    wait_until(page, "document.getElementById('fa-queue-btn').hidden === true", timeout=timeout)


def _read(demo_db, stmt):
    with session_factory(demo_db[0])() as s:
        return s.execute(stmt).all()


def _photo(lon, lat) -> bytes:
    image = Image.new("RGB", (2000, 1500), (30, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"
    exif.get_ifd(0x8769)[0x9003] = "2026:12:01 08:15:00"
    d, m = int(lat), int((lat - int(lat)) * 60)
    dl, ml = int(lon), int((lon - int(lon)) * 60)
    exif.get_ifd(0x8825).update(
        {
            1: "N",
            2: (d, m, round(((lat - d) * 60 - m) * 60, 4)),
            3: "E",
            4: (dl, ml, round(((lon - dl) * 60 - ml) * 60, 4)),
        }
    )
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_leader_lands_on_their_grid_fully_in_view(chromium, live_server, leader, backend):
    c = leader["centre"]
    context = _phone(chromium, c.x, c.y)
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server)
    _login(page, live_server)
    assert page.evaluate("gmField.map.getBounds().contains(gmField.layers.grid.getBounds())")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    # outside the map (whose panes are clipped by it) nothing reaches past the right edge
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.leaflet-container') && e.getBoundingClientRect().right > 391)
        .map(e => e.id || e.tagName)""")
    assert wide == []
    wait_until(page, "gmField.layers.me !== undefined")
    assert page.evaluate("gmField.layers.meCircle.getRadius()") == 6
    assert page.evaluate("gmField.layers.buildings.getLayers().length") > 0
    page.click("#tab-today")
    assert page.locator("#fa-today li").count() >= 1
    save_screenshot(page, f"field-today-{backend}", full_page=False)
    watch.assert_clean()
    context.close()


def test_a_walk_along_a_street_is_a_patrol_that_counts(
    chromium, live_server, leader, demo_db, backend
):
    walk = leader["walk"]
    url = demo_db[0].url.render_as_string(hide_password=False)
    today = ["--period", date.today().isoformat()]  # the demo's own tracks end before today
    before = json.loads(
        run_gridmap("patrol", "--grid", leader["grid"], *today, "--json", url=url).stdout
    )
    context = _phone(chromium, *walk[0])
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server)
    _login(page, live_server)
    wait_until(page, "gmField.pos !== null")
    page.click("#tab-patrol")
    page.click("#fa-patrol-start")
    for lon, lat in walk[1:]:
        time.sleep(0.6)  # 8 m per 0.6 s stays under the cleaning's jump test
        context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 5})
    wait_until(page, f"gmField.patrol && gmField.patrol.fixes >= {len(walk) - 2}")
    page.click("#fa-patrol-stop")
    _queue_empty(page)
    save_screenshot(page, f"field-patrol-{backend}", full_page=False)
    tracks = _read(
        demo_db,
        sa.select(PatrolTrack.code, PatrolTrack.times).where(PatrolTrack.patroller == "fb_leader"),
    )
    assert len(tracks) == 1 and len(tracks[0][1]) >= len(walk) - 1
    out = json.loads(run_gridmap("patrol", "--grid", leader["grid"], "--json", url=url).stdout)
    today_out = json.loads(
        run_gridmap("patrol", "--grid", leader["grid"], *today, "--json", url=url).stdout
    )
    mine = [p for p in out["patrollers"] if p["patroller"] == "fb_leader"]
    assert len(mine) == 1 and mine[0]["patrols"] == 1
    walked_km = 8 * (len(walk) - 1) / 1000
    assert 0.8 * walked_km <= mine[0]["km"] <= 1.2 * walked_km
    # and the street it ran along turned green: patrolled today, which it was not before
    assert today_out["totals"]["patrolled_m"] > before["totals"]["patrolled_m"]
    watch.assert_clean()
    context.close()


def test_a_hazard_reported_offline_arrives_once_with_its_photo(
    chromium, live_server, leader, demo_db, tmp_path, backend
):
    c = leader["centre"]
    context = _phone(chromium, c.x, c.y)
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server, ignore_console=OFFLINE_NOISE)
    _login(page, live_server)
    wait_until(page, "gmField.pos !== null")
    photo = tmp_path / "evidence.jpg"
    photo.write_bytes(_photo(c.x, c.y))
    context.set_offline(True)
    page.click("#tab-report")
    page.click("#fa-use-location")
    page.select_option("#fa-category", "fire")
    page.select_option("#fa-severity", "high")
    page.fill("#fa-description", "三号楼楼道电动车充电")
    page.set_input_files("#fa-photos", str(photo))
    page.click("#fa-report-send")
    wait_until(page, "document.getElementById('fa-queue-btn').textContent === '1'")
    mine = sa.select(Hazard.id).where(Hazard.reporter == "fb_leader")
    assert _read(demo_db, mine) == []
    save_screenshot(page, f"field-offline-report-{backend}", full_page=False)
    context.set_offline(False)
    _queue_empty(page)
    hazards = _read(
        demo_db, sa.select(Hazard.id, Hazard.description).where(Hazard.reporter == "fb_leader")
    )
    assert len(hazards) == 1 and hazards[0][1] == "三号楼楼道电动车充电"
    photos = _read(
        demo_db,
        sa.select(Photo.taken_at, Photo.lon, Photo.lat, Photo.width, Photo.path).where(
            Photo.owner == "hazard", Photo.owner_id == hazards[0][0]
        ),
    )
    assert len(photos) == 1
    taken, lon, lat, width, path = photos[0]
    assert taken.isoformat() == "2026-12-01T08:15:00"  # read on the phone before resizing
    assert lon == pytest.approx(c.x, abs=1e-5) and lat == pytest.approx(c.y, abs=1e-5)
    assert width == 1600 and (leader["home"] / path).is_file()
    watch.assert_clean()
    context.close()


def test_checkin_at_a_key_site_records_an_inspection(
    chromium, live_server, leader, demo_db, backend
):
    x, y = leader["site_xy"]
    context = _phone(chromium, x + 0.0001, y)  # about 9 m east of the site
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server)
    _login(page, live_server)
    wait_until(page, "gmField.pos !== null")
    page.evaluate(f"""gmField.layers.sites.eachLayer(l => {{
        if (l.feature.properties.code === {json.dumps(leader["site"])}) l.fire('click'); }})""")
    page.fill("#fa-notes", "消防通道畅通")
    page.click("#fa-checkin")
    # the check-in is queued asynchronously (position, then the queue): wait for its row
    stmt = (
        sa.select(Inspection.notes)
        .join(KeySite)
        .where(KeySite.code == leader["site"], Inspection.inspector == "fb_leader")
    )
    deadline = time.monotonic() + 30
    while not (rows := _read(demo_db, stmt)) and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    _queue_empty(page)
    assert rows == [("消防通道畅通",)]
    watch.assert_clean()
    context.close()


def test_the_service_worker_opens_the_app_offline(chromium, live_server, leader, backend):
    c = leader["centre"]
    context = _phone(chromium, c.x, c.y)
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server, block_external=False, ignore_console=OFFLINE_NOISE)
    _login(page, live_server)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now every request of the page goes through the worker (and is cached)
    wait_until(page, "window.gmReady === true && navigator.serviceWorker.controller !== null")
    context.set_offline(True)
    page.reload()
    wait_until(page, "window.gmReady === true", timeout=30_000)
    assert page.evaluate("gmField.bundle.grid.code") == leader["grid"]
    assert page.evaluate("navigator.onLine") is False
    save_screenshot(page, f"field-offline-shell-{backend}", full_page=False)
    assert watch.external_requests == []
    context.set_offline(False)
    context.close()


def test_the_desk_grid_page_fits_the_phone_with_tables_as_cards(
    chromium, live_server, leader, backend
):
    c = leader["centre"]
    context = _phone(chromium, c.x, c.y)
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server)
    _login(page, live_server)
    page.goto(f"{live_server}/grid/{leader['grid']}")
    wait_until(page, "window.gmReady === true", timeout=60_000)
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.leaflet-container') && e.getBoundingClientRect().right > 391)
        .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390, wide
    assert (
        page.evaluate("getComputedStyle(document.querySelector('#site-table tr')).display")
        == "block"
    )
    save_screenshot(page, f"field-desk-grid-{backend}", full_page=True)
    watch.assert_clean()
    context.close()


def test_a_step_made_offline_on_a_case_closed_meanwhile_is_shown_not_lost(
    chromium, live_server, leader, demo_db, backend
):
    from datetime import datetime, timedelta

    from geodata.db.frames import to_ewkt
    from geodata.db.models import HazardEvent

    c = leader["centre"]
    code = f"YHFIELD{backend[:2].upper()}01"
    with session_factory(demo_db[0]).begin() as s:
        grid_id = s.scalar(sa.select(Grid.id).where(Grid.code == leader["grid"]))
        s.add(
            Hazard(
                code=code,
                category="fire",
                severity="medium",
                status="assigned",
                description="灭火器过期",
                found_at=datetime.now() - timedelta(days=1),
                deadline=datetime.now() + timedelta(days=5),
                reporter="fb_leader",
                responsible="物业",
                grid_id=grid_id,
                geom=to_ewkt(c),
                props={},
            )
        )
    context = _phone(chromium, c.x, c.y)
    page = context.new_page()
    watch = PageWatch(page, app_url=live_server, ignore_console=[*OFFLINE_NOISE, r"status of 409"])
    _login(page, live_server)
    page.evaluate(f"""gmField.layers.hazards.eachLayer(l => {{
        if (l.feature.properties.code === {json.dumps(code)}) l.fire('click'); }})""")
    context.set_offline(True)
    page.select_option("#fa-action", "handle")
    page.fill("#fa-note", "已更换灭火器")
    page.click("#fa-act")
    wait_until(page, "document.getElementById('fa-queue-btn').textContent === '1'")
    with session_factory(demo_db[0]).begin() as s:  # meanwhile the office closed the case
        s.execute(sa.update(Hazard).where(Hazard.code == code).values(status="closed"))
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.click("#tab-queue")
    conflict = page.locator("#fa-queue li[data-state=conflict]")
    conflict.wait_for(timeout=30_000)
    assert code in conflict.inner_text()
    assert page.locator("#fa-queue-btn").inner_text() == "1"  # kept, not dropped
    save_screenshot(page, f"field-conflict-{backend}", full_page=False)
    steps = _read(
        demo_db,
        sa.select(HazardEvent.id)
        .join(Hazard)
        .where(Hazard.code == code, HazardEvent.action == "handle"),
    )
    assert steps == []
    with session_factory(demo_db[0]).begin() as s:
        s.execute(sa.delete(Hazard).where(Hazard.code == code))
    watch.assert_clean()
    context.close()
