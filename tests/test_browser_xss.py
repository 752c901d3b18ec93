"""Names are data, never markup: payload names in every named layer, every map page opened
as admin in headless Chromium, every feature's popup and tooltip opened; no dialog fires,
no inline script outside the app's nonce runs, and the maps still draw their features.

The names arrive the way people bring them: the key sites and facilities through an
import (the importer, as an administrator), the rest as typed into the database. Every
changed name is put back afterwards (the demo database is shared by the session).
"""

import pandas as pd
import pytest
import sqlalchemy as sa

from geodata.db import models as m
from geodata.db.engine import session_factory
from geodata.importer import ImportOptions, import_file
from geodata.readers import ReadOptions
from gridmap.privacy import Requester

from browser import PageWatch, browser_login, save_screenshot, wait_until

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    '"><script>alert(2)</script>',
    "</script><script>alert(3)</script>",
    "${alert(4)}",
    "`;alert(5);`",
    "<svg onload=alert(6)>",
]

OPEN_EVERY_FEATURE = """() => {
  const maps = Array.from(document.querySelectorAll('.folium-map')).map(d => window[d.id]);
  let features = 0;
  for (const map of maps) {
    if (!map) continue;
    const layers = [];
    map.eachLayer(l => layers.push(l));
    for (const l of layers.slice(0, 4000)) {
      if (l.feature) features += 1;
      if (l.getTooltip && l.getTooltip()) { l.openTooltip(); l.closeTooltip(); }
      if (l.getPopup && l.getPopup()) { l.openPopup(); l.closePopup(); }
    }
  }
  return features;
}"""


@pytest.fixture
def payload_names(demo_db):
    """Payload names on one street, community, grid (and its leader), building, key site,
    facility, hazard and patrol track; restored afterwards."""
    engine = demo_db[0]
    sessions = session_factory(engine)
    saved = []
    with sessions.begin() as s:
        site = s.scalars(
            sa.select(m.KeySite).where(m.KeySite.grid_id.is_not(None)).order_by(m.KeySite.id)
        ).first()
        grid = s.get(m.Grid, site.grid_id)
        community = s.get(m.Community, grid.community_id)
        street = s.get(m.Street, community.street_id)
        building = s.scalars(
            sa.select(m.Building).where(m.Building.grid_id == grid.id).order_by(m.Building.id)
        ).first()
        hazard = s.scalars(
            sa.select(m.Hazard).where(m.Hazard.status != "closed").order_by(m.Hazard.id)
        ).first()
        track = s.scalars(sa.select(m.PatrolTrack).order_by(m.PatrolTrack.id)).first()
        facility = s.scalars(sa.select(m.Facility).order_by(m.Facility.id)).first()
        typed = [
            (street, "name", PAYLOADS[0]),
            (community, "name", PAYLOADS[1]),
            (grid, "name", PAYLOADS[2]),
            (grid, "leader", PAYLOADS[5]),
            (building, "address", PAYLOADS[0] + PAYLOADS[3]),
            (hazard, "responsible", PAYLOADS[1]),
            (hazard, "description", PAYLOADS[2]),
            (track, "patroller", PAYLOADS[3] + PAYLOADS[4]),
        ]
        for obj, attr, value in typed:
            saved.append((type(obj), obj.id, attr, getattr(obj, attr)))
            setattr(obj, attr, value)
        saved += [
            (m.KeySite, site.id, "name", site.name),
            (m.Facility, facility.id, "name", facility.name),
        ]
        where = {"grid": grid.code, "hazard": hazard.code, "category": facility.category}
        site_pt = s.execute(
            sa.select(sa.func.ST_X(m.KeySite.geom), sa.func.ST_Y(m.KeySite.geom)).where(
                m.KeySite.id == site.id
            )
        ).one()
        fac_pt = s.execute(
            sa.select(sa.func.ST_X(m.Facility.geom), sa.func.ST_Y(m.Facility.geom)).where(
                m.Facility.id == facility.id
            )
        ).one()
        files = {
            "key_sites": pd.DataFrame(
                {
                    "场所编码": [site.code],
                    "场所名称": [PAYLOADS[0]],
                    "类别": [site.category],
                    "网格": [grid.code],
                    "经度": [site_pt[0]],
                    "纬度": [site_pt[1]],
                }
            ),
            "facilities": pd.DataFrame(
                {
                    "设施编码": [facility.code],
                    "设施名称": [PAYLOADS[3]],
                    "类别": [facility.category],
                    "经度": [fac_pt[0]],
                    "纬度": [fac_pt[1]],
                }
            ),
        }
    yield where, files, sessions
    with sessions.begin() as s:
        for model, id_, attr, value in saved:
            setattr(s.get(model, id_), attr, value)


def test_payload_names_never_run_on_any_map_page(
    chromium, live_server, demo_db, payload_names, tmp_path, backend
):
    where, files, sessions = payload_names
    admin = Requester.system("admin")
    for layer, frame in files.items():  # through the importer, as the import page does
        path = tmp_path / f"{layer}.csv"
        frame.to_csv(path, index=False)
        with sessions.begin() as s:
            report = import_file(s, path, layer, ImportOptions(read=ReadOptions()), admin)
        assert report.ok and report.updates == 1, report.as_dict()["problems"]
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    watch = PageWatch(page, app_url=live_server)
    browser_login(page, live_server, demo_db[1])
    pages = [
        "/",
        "/hazards/",
        f"/hazards/{where['hazard']}",
        "/hazards/new",
        f"/grid/{where['grid']}",
        "/patrol",
        "/risk",
        "/heatmap",
        f"/planner?category={where['category']}",
    ]
    drawn = {}
    for path in pages:
        print("open", path, flush=True)
        page.goto(live_server + path, wait_until="load", timeout=120_000)
        wait_until(page, "window.gmReady === true")  # layers the page fetches included
        assert page.locator(".folium-map").count() >= 1, path
        drawn[path] = page.evaluate(OPEN_EVERY_FEATURE)
        page.mouse.move(640, 400)
        page.wait_for_timeout(100)
    save_screenshot(page, f"xss-planner-{backend}")
    assert dialogs == []
    # the maps still draw: every page has features (the page's own data, names included)
    assert all(n > 0 for n in drawn.values()), drawn
    # the payloads are on the pages as text
    page.goto(live_server + f"/grid/{where['grid']}")
    assert PAYLOADS[2] in page.inner_text("body")
    watch.assert_clean()
    page.close()
