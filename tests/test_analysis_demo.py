"""`gridmap patrol`, `gridmap risk`, `gridmap heatmap` and their pages on the demo (both backends).

Values are checked against independent calculations: SQL counts and dates straight
from the tables, the GeoTIFF read back by GDAL (rasterio, in a separate process).
"""

import io
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from geodata.db import analysis, heatmaps
from geodata.db.heatmaps import HeatmapOptions
from gridmap.analysis import patrol
from gridmap.maps.offline import external_urls
from gridmap.privacy import Requester

from conftest import login, run_gridmap


def _url(demo_db) -> str:
    return demo_db[0].url.render_as_string(hide_password=False)


def _gdal_read(path) -> dict:
    """Read a raster with GDAL in a child process (rasterio's GDAL must not meet SpatiaLite)."""
    code = (
        "import json, sys, rasterio, numpy as np\n"
        "with rasterio.open(sys.argv[1]) as r:\n"
        "    a = r.read(1).astype(float)\n"
        "    print(json.dumps({'crs': r.crs.to_epsg(), 'cell': r.transform.a, 'x0': r.transform.c,"
        " 'y0': r.transform.f, 'sum': float(np.nansum(a)), 'shape': a.shape, 'tags': r.tags(),"
        " 'count': r.count}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_patrol_command_on_the_demo(demo_db, demo_session):
    proc = run_gridmap("patrol", "--json", url=_url(demo_db))
    out = json.loads(proc.stdout)
    start = datetime.fromisoformat(out["period"]["start"])
    end = datetime.fromisoformat(out["period"]["end"])
    assert end - start == timedelta(days=30)
    # Every patrol that starts in the period is counted (SQL, independently).
    started = demo_session.execute(
        sa.text("select count(*) from patrol_track where started_at >= :a and started_at < :b"),
        {"a": start, "b": end},
    ).scalar_one()
    assert started > 100
    assert started <= out["totals"]["patrols"] <= started + 60  # + tracks crossing the start
    assert 50 < out["totals"]["street_pct"] <= 100
    grids = out["grids"]
    assert len(grids) == demo_session.execute(sa.text("select count(*) from grid")).scalar_one()
    assert (
        sum(g["households"] for g in grids)
        == demo_session.execute(
            sa.text(
                "select count(*) from household h join building b on b.id = h.building_id "
                "where b.grid_id is not null"
            )
        ).scalar_one()
    )
    for g in grids:
        assert 0 <= g["patrolled_m"] <= g["street_m"] + 0.1
        assert 0 <= g["households_covered"] <= g["households"]
    # The synthetic tracks carry GPS jumps: the cleaning drops them.
    assert out["cleaning"]["dropped"].get("speed", 0) > 0
    # Overdue key sites: last inspection + interval before "as of", computed in SQL.
    as_of = datetime.fromisoformat(out["as_of"])
    rows = demo_session.execute(
        sa.text(
            "select s.code, s.inspection_interval_days, max(i.inspected_at) from key_site s "
            "left join inspection i on i.site_id = s.id where s.grid_id is not null "
            "group by s.code, s.inspection_interval_days"
        )
    ).all()
    expected = set()
    for code, interval, last in rows:
        last = datetime.fromisoformat(str(last)) if last is not None else None
        if last is None or last + timedelta(days=interval) < as_of:
            expected.add(code)
    assert {s["code"] for s in out["overdue_sites"]} == expected
    assert len(expected) > 0
    # Patroller totals add up to the street office's patrol km (the same chords).
    assert sum(p["km"] for p in out["patrollers"]) == pytest.approx(
        out["totals"]["patrol_km"], rel=0.01
    )


def test_patrol_by_week_and_night_shift(demo_db):
    proc = run_gridmap("patrol", "--by", "week", "--shift", "night", "--json", url=_url(demo_db))
    out = json.loads(proc.stdout)
    periods = {g["period"] for g in out["grids"]}
    assert 5 <= len(periods) <= 6  # 30 days cut at Mondays
    night = [p for p in out["patrollers"] if p["hours"] > 0]
    assert night and all(p["day_hours"] == 0 for p in night)
    bad = run_gridmap("patrol", "--period", "June", url=_url(demo_db), check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: period 'June' not understood")
    missing = run_gridmap("patrol", "--grid", "999", url=_url(demo_db), check=False)
    assert missing.returncode == 1 and "no grid with code 999" in missing.stderr


def test_risk_command_on_the_demo(demo_db, tmp_path):
    out = json.loads(run_gridmap("risk", "--json", "--top", "20", url=_url(demo_db)).stdout)
    assert len(out["grids"]) > 10 and out["buildings_total"] > 100
    for unit in out["grids"] + out["buildings"]:
        assert sum(c["points"] for c in unit["components"]) == pytest.approx(
            unit["score"], abs=1e-6
        )
    assert out["grids"][0]["score"] >= out["grids"][-1]["score"] > 0
    # Grids of different sizes compare by the rate; households are the grid's own count.
    with demo_db[0].connect() as c:
        households = dict(
            c.execute(
                sa.text(
                    "SELECT g.code, COUNT(h.id) FROM grid g JOIN building b ON b.grid_id = g.id "
                    "JOIN household h ON h.building_id = b.id GROUP BY g.code"
                )
            ).all()
        )
    for g in out["grids"]:
        assert g["households"] == households[g["code"]]
        assert g["per_100_households"] == pytest.approx(
            100 * g["score"] / g["households"], abs=0.05
        )
    assert any(
        c["component"].startswith("hazards.") for u in out["buildings"] for c in u["components"]
    )
    # A user weights file changes exactly the component it names.
    heavy = tmp_path / "w.yaml"
    heavy.write_text("inspections:\n  per_overdue_site: 20\n")
    out2 = json.loads(
        run_gridmap("risk", "--json", "--weights", str(heavy), url=_url(demo_db)).stdout
    )
    before = {g["code"]: {c["component"]: c for c in g["components"]} for g in out["grids"]}
    for g in out2["grids"]:
        comp = {c["component"]: c for c in g["components"]}
        if "inspections.overdue" in comp:
            old = before[g["code"]]["inspections.overdue"]
            assert comp["inspections.overdue"]["points"] == pytest.approx(10 * old["points"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("hazards: {per_open: {extreme: 3}}\n")
    r = run_gridmap("risk", "--weights", str(bad), url=_url(demo_db), check=False)
    assert r.returncode == 1 and "hazards.per_open.extreme" in r.stderr


def test_heatmap_command_writes_geotiff_and_png(demo_db, demo_session, tmp_path):
    # The commands first: an open read transaction of demo_session would lock SpatiaLite
    # against their audit-log writes.
    tif = tmp_path / "hh.tif"
    out = json.loads(
        run_gridmap(
            "heatmap",
            "--layer",
            "households",
            "--bandwidth-m",
            "150",
            "--cell-m",
            "50",
            "--out",
            str(tif),
            "--json",
            url=_url(demo_db),
        ).stdout
    )
    png = tmp_path / "elderly.png"
    group = json.loads(
        run_gridmap(
            "heatmap",
            "--layer",
            "group:elderly_alone",
            "--out",
            str(png),
            "--json",
            url=_url(demo_db),
        ).stdout
    )
    bad = run_gridmap(
        "heatmap",
        "--layer",
        "ghosts",
        "--out",
        str(tmp_path / "x.tif"),
        url=_url(demo_db),
        check=False,
    )
    households = demo_session.execute(
        sa.text(
            "select count(*) from household h join building b on b.id = h.building_id "
            "where b.grid_id is not null"
        )
    ).scalar_one()
    assert out["total"] == households
    assert out["integral"] == pytest.approx(households, rel=0.01)
    r = _gdal_read(tif)
    assert r["crs"] == 32650 and r["cell"] == 50
    assert r["sum"] * 50 * 50 / 10_000 == pytest.approx(households, rel=0.01)
    assert r["tags"]["layer"] == "households"
    assert group["units"] == "households" and group["k"] == 5
    assert group["integral"] == pytest.approx(group["total"], rel=0.01)
    elderly_alone = demo_session.execute(sa.text("select tags from household")).scalars().all()
    assert group["total"] < sum("elderly_alone" in (t or []) for t in elderly_alone)  # some hidden
    p = _gdal_read(png)
    assert p["count"] == 4 and p["crs"] == 32650  # RGBA, placed by the .wld/.aux.xml
    assert (tmp_path / "elderly.wld").exists()
    assert bad.returncode == 1 and "unknown heatmap layer" in bad.stderr


def test_personal_group_cells_below_k_are_hidden(demo_session):
    hm = heatmaps.heatmap(
        demo_session, Requester.system(), layer="group:disabled", options=HeatmapOptions(cell_m=50)
    )
    assert hm.personal and hm.suppressed_cells > 0
    assert (hm.cells["households"] >= 5).all()
    assert hm.surface.integral() == pytest.approx(hm.total, rel=0.01)
    everyone = heatmaps.heatmap(
        demo_session, Requester.system(), layer="households", options=HeatmapOptions(cell_m=50)
    )
    assert not everyone.personal and everyone.suppressed_cells == 0
    h3 = heatmaps.heatmap(
        demo_session, Requester.system(), layer="group:disabled", options=HeatmapOptions(cells="h3")
    )
    assert (h3.cells["households"] >= 5).all()


def test_patrol_heatmap_has_weeks_and_integrates_to_minutes(demo_session):
    period = patrol.parse_period("2000-01-01/2100-01-01")
    hm = heatmaps.heatmap(demo_session, Requester.system(), layer="patrol", period=period)
    assert hm.units == "patrol_minutes" and hm.total > 1000
    assert hm.surface.integral() == pytest.approx(hm.total, rel=0.01)
    assert hm.weekly["week"].nunique() >= 4
    assert hm.weekly["value"].sum() == pytest.approx(hm.total, rel=1e-6)


def test_grid_leader_sees_only_their_grid(demo_db, demo_app):
    url = _url(demo_db)
    grids = json.loads(run_gridmap("patrol", "--json", url=url).stdout)["grids"]
    mine, other = grids[0]["grid_code"], grids[1]["grid_code"]
    run_gridmap(
        "user",
        "add",
        "leader5",
        "--role",
        "grid_leader",
        "--password",
        "leader-pass-5",
        "--grid",
        mine,
        url=url,
    )
    client = demo_app.test_client()
    login(client, "leader-pass-5", username="leader5")
    page = client.get("/patrol").get_data(as_text=True)
    rows = re.findall(
        r'<td title="(\d+)">', page.split('id="coverage-table"')[1].split("</table>")[0]
    )
    assert rows == [mine]
    denied = client.get(f"/risk?grid={other}").get_data(as_text=True)
    assert f"网格 {other} 不在分配给 leader5 的区域内" in denied  # in the page's language
    denied = client.get(f"/risk?grid={other}&lang=en").get_data(as_text=True)
    assert "outside the areas assigned to leader5" in denied


def test_pages_render_in_chinese_with_downloads(demo_app, demo_db):
    client = demo_app.test_client()
    login(client, demo_db[1])
    for path, words in (
        ("/patrol", ["巡查覆盖", "超期未检查"]),
        ("/risk", ["风险", "每百户"]),
        ("/heatmap", ["热力图", "下载"]),
        ("/heatmap?layer=group&group=elderly_alone", ["少于5户"]),
        ("/heatmap?layer=incidents&cells=h3", ["历史周数", 'id="n-weeks"']),
    ):
        r = client.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 200, path
        for w in words:
            assert w in page, (path, w)
        assert external_urls(page) == [], path
    tif = client.get("/heatmap/download.tif?layer=households&bandwidth_m=200&cell_m=25")
    assert tif.status_code == 200 and tif.data[:4] == b"II*\x00"
    assert "attachment" in tif.headers["Content-Disposition"]
    png = client.get("/heatmap/download.png?layer=hazards")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    # for people, not GIS: a readable size with a colour bar beside the map
    from PIL import Image

    image = Image.open(io.BytesIO(png.data)).convert("RGB")
    assert image.size[0] == 1600 and image.size[1] > 800
    # the colour bar's top colour (the palette's last) is drawn right of the map
    pixels = np.asarray(image)
    top_colour = np.array([0xBD, 0x00, 0x26])
    right = pixels[:, int(0.85 * image.size[0]) :]
    assert (np.abs(right.astype(int) - top_colour).sum(axis=2) < 30).sum() > 100
    bad = client.get("/heatmap?bandwidth_m=-5").get_data(as_text=True)
    assert 'id="error"' in bad


BROWSER_PAGES = [
    ("/patrol", "patrol"),
    ("/risk", "risk"),
    ("/heatmap?layer=households&bandwidth_m=150&cell_m=50", "heatmap-households"),
    ("/heatmap?layer=patrol&weekly=1", "heatmap-patrol"),
    ("/heatmap?layer=group&group=elderly_alone&cells=h3", "heatmap-group-h3"),
]


@pytest.mark.browser
@pytest.mark.parametrize("path,name", BROWSER_PAGES)
def test_analysis_pages_in_chromium(chromium, live_server, demo_db, backend, path, name):
    from browser import PageWatch, browser_login, save_screenshot, wait_until

    page = chromium.new_page(viewport={"width": 1366, "height": 860})
    watch = PageWatch(page, app_url=live_server)
    browser_login(page, live_server, demo_db[1])
    page.goto(live_server + path)
    page.wait_for_load_state("load")  # (the time-slider player never lets the network idle)
    page.wait_for_selector(".leaflet-container")
    page.wait_for_selector(".leaflet-control-layers-overlays label")
    wait_until(page, "window.gmReady === true")  # the layers fetched by the page have drawn
    save_screenshot(page, f"{name}-{backend}")
    assert page.locator(".leaflet-control-layers-overlays label").count() >= 2
    assert page.locator(".legend").count() >= 1
    # Vector layers are drawn on a canvas (prefer_canvas): count Leaflet's drawn layers.
    drawn = page.evaluate(
        "() => { let n = 0; for (const k in window) { const m = window[k];"
        " if (k.startsWith('map_') && m && m.eachLayer) m.eachLayer(l => { if (l._renderer) n++; }); }"
        " return n; }"
    )
    assert drawn > 10
    if name == "heatmap-patrol":
        # The weekly slider is on and the density image waits in the layer list.
        assert page.locator(".timecontrol-dateslider").count() == 1
        assert page.locator("img.leaflet-image-layer").count() == 0
        page.locator(".leaflet-control-layers-overlays label").first.click()
        page.wait_for_selector("img.leaflet-image-layer")
    if name.startswith("heatmap"):
        assert page.locator("img.leaflet-image-layer").count() >= 1  # the metric density image
    watch.assert_clean()
    page.close()


def test_density_surface_matches_the_building_counts(demo_session):
    hm = heatmaps.heatmap(
        demo_session,
        Requester.system(),
        layer="households",
        options=HeatmapOptions(bandwidth_m=100, cell_m=25),
    )
    s = hm.surface
    assert s.integral() == pytest.approx(hm.total, rel=0.01)
    assert np.nanmax(s.values) > 0
    assert hm.cells["value"].sum() == pytest.approx(hm.total)


def test_planner_risk_has_no_per_building_vulnerable_counts(demo_session):
    planner = Requester(username="planner1", role="planner")
    rep = analysis.risk_report(demo_session, planner)
    assert not rep.vulnerable_by_building
    vulnerable = [c for c in rep.building_risk.components.columns if c.startswith("vulnerable.")]
    assert vulnerable and (rep.building_risk.components[vulnerable] == 0).all().all()
    assert (rep.grid_risk.components[vulnerable].sum() > 0).any()  # per grid they count
    np.testing.assert_allclose(rep.building_risk.components.sum(axis=1), rep.building_risk.score)


def test_group_heatmaps_are_audited(demo_session):
    def audits():
        return demo_session.execute(
            sa.text("select count(*) from audit_log where action = 'aggregate_personal'")
        ).scalar_one()

    before = audits()
    heatmaps.heatmap(demo_session, Requester.system("auditor"), layer="group:elderly80")
    assert audits() == before + 1
    detail = (
        demo_session.execute(
            sa.text(
                "select target from audit_log where action = 'aggregate_personal' order by id desc"
            )
        )
        .scalars()
        .first()
    )
    assert detail == "heatmap group:elderly80"


def test_travel_time_layer_uses_the_reachability_engine(demo_session):
    hm = heatmaps.heatmap(
        demo_session,
        Requester.system(),
        layer="reach:health_station",
        options=HeatmapOptions(cell_m=50),
    )
    s = hm.surface
    assert s.units == "minutes" and hm.units == "minutes"
    values = s.values[np.isfinite(s.values)]
    assert len(values) > 100 and values.min() < 3 and values.max() <= 30
    # Independent check: walking on streets is never shorter than the straight line.
    fac = demo_session.execute(
        sa.text("select ST_X(geom), ST_Y(geom) from facility where category = 'health_station'")
    ).all()
    from pyproj import Transformer

    to_m = Transformer.from_crs(4326, s.crs, always_xy=True)
    fx, fy = np.array([to_m.transform(x, y) for x, y in fac]).T
    cx, cy = s.centers()
    gx, gy = np.meshgrid(cx, cy)
    straight = np.min(np.hypot(gx[..., None] - fx, gy[..., None] - fy), axis=-1)
    ok = np.isfinite(s.values)
    walk_m = s.values[ok] * 4000 / 60  # minutes at the engine's 4 km/h
    # Cell centres snap to the street (access leg counted): allow half a cell diagonal.
    assert (walk_m >= straight[ok] - 36).all()
    assert np.corrcoef(walk_m, straight[ok])[0, 1] > 0.8
