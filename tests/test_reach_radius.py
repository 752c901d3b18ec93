"""The service radius beside walking reach: coverage checked against a plain geopandas
buffer + sjoin, "covered on paper only" against the two stored runs, the reasons on a
hand-built street, facilities out of range, one computation for the page and the CLI, and
the downloads read back (pandas, pyogrio, Pillow)."""

import io
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from PIL import Image
from shapely import LineString, Point, box

from gridmap.analysis import radius as RD

from conftest import SHARED_DATA, login, run_gridmap


def _url(demo_db) -> str:
    return demo_db[0].url.render_as_string(hide_password=False)


def _text(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1).strip()


@pytest.fixture(scope="module")
def client(demo_app, demo_db):
    c = demo_app.test_client()
    login(c, demo_db[1])
    return c


def _independent_radius(engine, category: str, radius_m: float) -> pd.DataFrame:
    """Buildings (grid, residents) inside a circle of ``radius_m`` around a facility, by a
    plain geopandas buffer + sjoin on what SQL returns (building entrance, else centroid)."""
    with engine.connect() as c:
        b = pd.DataFrame(
            c.execute(
                sa.text(
                    "SELECT b.id, g.code AS grid, ST_AsBinary(b.entrance) AS ent, "
                    "ST_AsBinary(b.geom) AS geom, "
                    "(SELECT COALESCE(SUM(h.size), 0) FROM household h WHERE h.building_id = b.id) "
                    "AS residents FROM building b LEFT JOIN grid g ON g.id = b.grid_id"
                )
            ).all()
        )
        f = pd.DataFrame(
            c.execute(
                sa.text("SELECT ST_AsBinary(geom) AS geom FROM facility WHERE category = :c"),
                {"c": category},
            ).all()
        )
    shapes = gpd.GeoSeries(shapely.from_wkb([bytes(g) for g in b["geom"]]), crs=4326)
    crs = shapes.estimate_utm_crs()
    points = shapes.to_crs(crs).centroid
    ent = b["ent"].notna().to_numpy()
    points[ent] = (
        gpd.GeoSeries(shapely.from_wkb([bytes(e) for e in b["ent"][ent]]), crs=4326)
        .to_crs(crs)
        .to_numpy()
    )
    homes = gpd.GeoDataFrame(
        {"grid": b["grid"], "residents": b["residents"].astype(int), "id": b["id"]},
        geometry=points.to_numpy(),
        crs=crs,
    )
    circles = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(shapely.from_wkb([bytes(g) for g in f["geom"]]), crs=4326)
        .to_crs(crs)
        .buffer(radius_m, quad_segs=256),
        crs=crs,
    )
    return gpd.sjoin(homes, circles, predicate="within").drop_duplicates("id")


def test_radius_coverage_equals_a_geopandas_buffer_and_sjoin(demo_db, client):
    engine = demo_db[0]
    inside = _independent_radius(engine, "kindergarten", 300.0)
    expected = inside.groupby("grid")["residents"].sum()
    out = json.loads(
        run_gridmap(
            "reach", "--method", "radius", "--category", "kindergarten", "--json", url=_url(demo_db)
        ).stdout
    )
    assert out["method"] == "radius" and out["label"].startswith("SERVICE RADIUS")
    cov = out["coverage"]["kindergarten"]["5 min"]
    assert cov["distance_m"] == 300 and cov["covered"] == int(expected.sum()) > 0
    assert cov["buildings_covered"] == int((inside["residents"] > 0).sum())
    with engine.connect() as c:  # the run's stored per-building results, per grid
        per_grid = dict(
            c.execute(
                sa.text(
                    "SELECT g.code, SUM(h.size) FROM reach_result r "
                    "JOIN building b ON b.id = r.building_id JOIN grid g ON g.id = b.grid_id "
                    "JOIN household h ON h.building_id = b.id WHERE r.run_id = :r AND "
                    "r.category = 'kindergarten' AND r.distance_m <= 300 GROUP BY g.code"
                ),
                {"r": out["run_id"]},
            ).all()
        )
        minutes = c.execute(
            sa.text("SELECT COUNT(*) FROM reach_result WHERE run_id = :r AND minutes IS NOT NULL"),
            {"r": out["run_id"]},
        ).scalar()
    assert {k: int(v) for k, v in per_grid.items()} == {k: int(v) for k, v in expected.items()}
    assert minutes == 0  # a circle says nothing about walking time
    # The page's 服务半径 view gives the same coverage.
    html = client.get("/planner?category=kindergarten&view=radius&k=0&lang=en").get_data(
        as_text=True
    )
    assert _text(html, "residents-covered") == f"{cov['covered']} / {cov['residents']}"
    assert "SERVICE RADIUS" in _text(html, "method-label")


def test_paper_only_per_grid_is_radius_minus_walk_of_the_two_runs(demo_db, client):
    engine = demo_db[0]
    out = json.loads(
        run_gridmap(
            "reach",
            "--method",
            "compare",
            "--category",
            "kindergarten",
            "--minutes",
            "5",
            "--json",
            url=_url(demo_db),
        ).stdout
    )
    runs = out["runs"]
    grids = {g["area"]: g for g in out["paper_only"]["kindergarten"]["5 min"]["grid"]}
    # Buildings where people live and their residents, per grid, within 300 m in a run.
    sql = sa.text(
        "SELECT g.code, COUNT(*), SUM(p.residents) FROM reach_result r "
        "JOIN (SELECT building_id, SUM(size) AS residents FROM household GROUP BY building_id "
        "HAVING SUM(size) > 0) p ON p.building_id = r.building_id "
        "JOIN building b ON b.id = r.building_id JOIN grid g ON g.id = b.grid_id "
        "WHERE r.run_id = :r AND r.category = 'kindergarten' AND r.distance_m <= 300 "
        "GROUP BY g.code"
    )
    with engine.connect() as c:
        radius = {k: (n, int(p)) for k, n, p in c.execute(sql, {"r": runs["radius"]}).all()}
        walk = {k: (n, int(p)) for k, n, p in c.execute(sql, {"r": runs["network"]}).all()}
    assert sum(g["buildings_paper_only"] for g in grids.values()) > 0
    for code, g in grids.items():
        r, w = radius.get(code, (0, 0)), walk.get(code, (0, 0))
        assert (g["buildings_paper_only"], g["residents_paper_only"]) == (
            r[0] - w[0],
            r[1] - w[1],
        ), code
        assert (g["buildings_radius"], g["buildings_walk"]) == (r[0], w[0])
    street = out["paper_only"]["kindergarten"]["5 min"]["street"][0]
    assert (
        street["residents_paper_only"]
        == out["coverage"]["radius"]["kindergarten"]["5 min"]["covered"]
        - out["coverage"]["network"]["kindergarten"]["5 min"]["covered"]
    )
    reasons = out["paper_only"]["kindergarten"]["5 min"]["reasons"]
    assert sum(reasons.values()) == street["buildings_paper_only"]
    assert set(reasons) <= set(RD.REASONS)
    # The page's 对比 view totals the same per community and names the same reasons.
    html = client.get("/planner?category=kindergarten&view=compare&minutes=5&k=0").get_data(
        as_text=True
    )
    page = dict(
        re.findall(
            r'<tr data-area="(\w+)"><td>[^<]*</td><td class="num">\d+</td>'
            r'<td class="num">\d+</td><td class="num">\d+</td>'
            r'<td class="num paper">(\d+)<br>',
            html,
        )
    )
    cli = {
        c["area"]: str(c["residents_paper_only"])
        for c in out["paper_only"]["kindergarten"]["5 min"]["community"]
    }
    assert page == cli and len(page) >= 2
    page_reasons = dict(
        re.findall(
            r'<tr data-reason="(\w+)"><td>[^<]*</td>'
            r'<td class="num">(\d+)</td>',
            html,
        )
    )
    assert {k: int(v) for k, v in page_reasons.items()} == reasons


def test_reasons_on_a_hand_built_street():
    """Five homes 200 m from a facility at (0, 0), each beyond a 300 m walk for its own
    reason; a sixth reached on foot."""
    origin = np.array([[200, 0], [0, 200], [-200, 0], [0, -200], [141, 141], [100, 0.0]])
    fac = np.zeros((6, 2))
    straight = np.hypot(*origin.T)
    walk = np.array([1000, 350, 450, 700, np.nan, 120])
    compound = box(-250, -50, -150, 50)  # home 2 sits in it; its gate faces west
    river = LineString([(-50, -300), (-50, -100), (50, -100), (50, -300)])  # home 3 beyond
    out = RD.paper_only_reasons(
        origin_xy=origin,
        facility_xy=fac,
        straight_m=straight,
        walk_m=walk,
        distance_m=300,
        off_network=np.array([False, False, False, False, True, False]),
        obstacles=RD.Obstacles(
            origin_compound=np.array([-1, -1, 0, -1, -1, -1]),
            facility_compound=np.full(6, -1),
            gate_xy=np.array([[-250, 40.0]]),
            gate_compound=np.array([0]),
            barriers=[river],
            barrier_names=["小月河"],
        ),
    )
    assert out["reason"].tolist() == [
        "detour",
        "longer_route",
        "gate",
        "barrier",
        "off_network",
        None,
    ]
    assert out["detour"].iloc[0] == pytest.approx(5.0)
    assert out["via_gate_m"].iloc[2] == pytest.approx(np.hypot(50, 40) + np.hypot(250, 40))
    assert out["via_gate_m"].iloc[0] == pytest.approx(200)  # no compound: the straight line
    assert out["barrier"].iloc[3] == "小月河"
    assert compound.contains(Point(origin[2]))
    by_area = RD.compare_by_area(
        straight,
        walk,
        300,
        pd.DataFrame({"residents": [10, 20, 30, 40, 50, 60], "households": [1, 2, 3, 4, 5, 6]}),
        {"grid": pd.Series(["a", "a", "b", "b", "b", "b"])},
    )
    b = by_area.set_index("area")
    assert b.loc["a", "residents_paper_only"] == 30
    assert b.loc["b", "residents_paper_only"] == 120
    assert b.loc["b", "residents_walk"] == 60 and b.loc["b", "buildings_radius"] == 4


def test_facilities_in_another_city_take_no_part(demo_session):
    from geodata.db.models import Building, Facility
    from geodata.planning import PlanRequest, plan_category

    before = plan_category(
        demo_session, PlanRequest("kindergarten", view="radius", k=0), store=False
    )
    shanghai = pd.read_csv(
        SHARED_DATA / "poi" / "shanghai_amap" / "幼儿园.csv", encoding="utf-8-sig"
    ).head(60)
    demo_session.add_all(
        [
            Facility(
                code=f"SH{i}",
                name=str(n),
                category="kindergarten",
                geom=f"SRID=4326;POINT({x} {y})",
            )
            for i, (n, x, y) in enumerate(
                zip(shanghai["name"], shanghai["lon"], shanghai["lat"], strict=True)
            )
        ]
    )
    # One just over the street's eastern edge still serves the residents near it.
    east = max(
        shapely.bounds(shapely.from_wkb(bytes(w)))[2]
        for (w,) in demo_session.execute(sa.select(sa.func.ST_AsBinary(Building.geom)))
    )
    demo_session.add(
        Facility(
            code="EDGE",
            name="边界外幼儿园",
            category="kindergarten",
            geom=f"SRID=4326;POINT({east + 0.002} 39.98)",
        )
    )
    demo_session.flush()
    after = plan_category(
        demo_session, PlanRequest("kindergarten", view="radius", k=0), store=False
    )
    counts = after.facility_counts()
    assert counts == {
        "total": before.facility_counts()["total"] + 61,
        "considered": before.facility_counts()["considered"] + 1,
        "out_of_range": 60,
    }
    assert "EDGE" in set(after.main.inputs.facilities["code"])
    assert after.street_totals()["residents_covered"] >= before.street_totals()["residents_covered"]


def test_page_and_cli_give_the_same_sites_and_the_page_run_is_stored(demo_db, client):
    cli = json.loads(
        run_gridmap(
            "suggest", "--category", "kindergarten", "--k", "3", "--json", url=_url(demo_db)
        ).stdout
    )
    html = client.get("/planner?category=kindergarten&view=network&k=3&lang=en").get_data(
        as_text=True
    )
    assert int(_text(html, "n-gaps")) == cli["gaps"]
    assert f"among {cli['candidates']} candidate street points" in html
    ranks = re.findall(r'<tr data-rank="(\d)">', html)
    assert [int(r) for r in ranks] == [p["rank"] for p in cli["picks"]]
    added = re.findall(r'<td class="num">\+(\d+)<br>', html)
    assert [int(a) for a in added] == [p["residents_added"] for p in cli["picks"]]
    streets = re.findall(r'class="site-street">([^<]+)<', html)
    assert streets == [p["street"] for p in cli["picks"]] and all(streets)
    assert all(p["address"] for p in cli["picks"])
    run_id = int(re.search(r"/planner/download/buildings\.csv\?run=(\d+)", html).group(1))
    with demo_db[0].connect() as c:
        run = c.execute(
            sa.text("SELECT created_by, method, params FROM reach_run WHERE id = :r"), {"r": run_id}
        ).one()
    params = run.params if isinstance(run.params, dict) else json.loads(run.params)
    assert run.created_by == "admin" and run.method == "network"
    assert params["plan"]["category"] == "kindergarten" and params["plan"]["k"] == 3
    assert f'href="/planner?run={run_id}"' in html  # listed, and opens again
    again = client.get(f"/planner?run={run_id}&lang=en").get_data(as_text=True)
    assert _text(again, "residents-covered") == _text(html, "residents-covered")
    # Public buildings as candidates: each site is one of them, named.
    public = client.get(
        "/planner?category=kindergarten&view=network&k=2&candidates=public&lang=en"
    ).get_data(as_text=True)
    assert "public buildings" in _text(public, "site-source")
    assert len(re.findall(r'class="site-candidate">[^<]+<', public)) == 2


def test_downloads_open_with_pandas_pyogrio_and_pillow(demo_db, client, tmp_path):
    html = client.get("/planner?category=kindergarten&view=compare&k=2&lang=zh").get_data(
        as_text=True
    )
    run_id = re.search(r"/planner/download/buildings\.csv\?run=(\d+)", html).group(1)
    paper = int(re.search(r'id="paper-only">(\d+)', html).group(1))
    with demo_db[0].connect() as c:
        buildings = c.execute(sa.text("SELECT COUNT(*) FROM building")).scalar()

    def get(name):
        r = client.get(f"/planner/download/{name}?run={run_id}")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert "attachment" in r.headers["Content-Disposition"]
        return r.data

    csv = pd.read_csv(io.BytesIO(get("buildings.csv")), encoding="utf-8-sig")
    xlsx = pd.read_excel(io.BytesIO(get("buildings.xlsx")))
    for table in (csv, xlsx):
        assert len(table) == buildings
        assert {"楼栋编码", "直线距离（米）", "步行距离（米）", "仅图上覆盖", "原因"} <= set(table)
        on_paper = table[table["仅图上覆盖"] == "是"]
        assert int(on_paper["居民"].sum()) == paper
        assert on_paper["原因"].notna().all()
        assert (on_paper["直线距离（米）"] <= 300).all()
        assert not (on_paper["步行距离（米）"] <= 300).any()
        assert not table.astype(str).isin(["nan", "None", "NaN"]).any().any()
    for fmt in ("gpkg", "kml"):
        path = tmp_path / f"layers.{fmt}"
        path.write_bytes(get(f"layers.{fmt}"))
        layers = [name for name, _kind in pyogrio.list_layers(path)]
        assert {"isochrones", "radius_circles", "gaps", "suggested_sites"} <= set(layers)
        circles = pyogrio.read_dataframe(path, layer="radius_circles")
        assert len(circles) >= 2 and "类型" in circles
        sites = pyogrio.read_dataframe(path, layer="suggested_sites")
        assert len(sites) == 2 and sites["最近道路"].notna().all()
    png = Image.open(io.BytesIO(get("map.png")))
    assert png.format == "PNG" and png.width >= 2000
    assert {"图例", "仅图上覆盖", "比例尺", "指北针"} <= set(png.text["Legend"].split("|"))
    printed = client.get(f"/planner/print?run={run_id}").get_data(as_text=True)
    assert f'src="/planner/download/map.png?run={run_id}"' in printed
    assert 'id="print-compare"' in printed and 'id="print-rules"' in printed
    bad = client.get("/planner/download/buildings.shp?run=" + run_id)
    assert bad.status_code == 400


def test_an_uploaded_candidate_file_is_chosen_from_and_kept_with_the_run(client, tmp_path):
    page = client.get("/planner?category=kindergarten&view=network&k=0").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sites = client.get("/planner?category=kindergarten&view=network&k=3").get_data(as_text=True)
    lonlat = [
        tuple(map(float, m))
        for m in re.findall(r'class="gm-muted site-lonlat">([\d.]+), ([\d.]+)<', sites)
    ]
    table = pd.DataFrame(
        {
            "名称": ["候选甲", "候选乙", "候选丙(远)"],
            "经度": [lonlat[0][0], lonlat[1][0], 121.47],
            "纬度": [lonlat[0][1], lonlat[1][1], 31.23],
        }
    )
    buf = io.BytesIO(table.to_csv(index=False).encode("utf-8-sig"))
    r = client.post(
        "/planner",
        data={
            "csrf_token": token,
            "category": "kindergarten",
            "view": "network",
            "minutes": "5",
            "k": "3",
            "speed": "4.0",
            "candidates_file": (buf, "候选点.csv"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and "run=" in r.headers["Location"]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "3" in _text(html, "site-source")
    names = re.findall(r'class="site-candidate">([^<]+)<', html)
    assert names == ["候选甲", "候选乙"]  # the one in Shanghai adds nobody
    empty = client.post(
        "/planner",
        data={"csrf_token": token, "category": "kindergarten"},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 400


def test_downloads_keep_to_the_users_areas_and_are_audited(demo_db, demo_app, client):
    from sqlalchemy.orm import Session

    from geodata.db.models import StaffUser
    from geodata.db.users import create_user

    with demo_db[0].connect() as c:
        grid = c.execute(sa.text("SELECT code FROM grid ORDER BY code")).scalars().first()
        n = c.execute(
            sa.text(
                "SELECT COUNT(*) FROM building b JOIN grid g ON g.id = b.grid_id WHERE g.code = :g"
            ),
            {"g": grid},
        ).scalar()
    with Session(demo_db[0]) as s:
        if s.query(StaffUser).filter_by(username="radius_leader").first() is None:
            create_user(
                s, "radius_leader", "grid_leader", password="Leader-pass-2026", grid_codes=[grid]
            )
            s.commit()
    html = client.get("/planner?category=kindergarten&view=radius&k=0").get_data(as_text=True)
    run_id = re.search(r"/planner/download/buildings\.csv\?run=(\d+)", html).group(1)
    leader = demo_app.test_client()
    login(leader, "Leader-pass-2026", username="radius_leader")
    mine = pd.read_csv(
        io.BytesIO(leader.get(f"/planner/download/buildings.csv?run={run_id}&lang=zh").data),
        encoding="utf-8-sig",
        dtype={"网格编码": str},
    )
    assert len(mine) == n and set(mine["网格编码"]) == {grid}
    with demo_db[0].connect() as c:
        audit = c.execute(
            sa.text(
                "SELECT target, detail FROM audit_log WHERE username = "
                "'radius_leader' AND action = 'export_reach'"
            )
        ).all()
    assert [a.target for a in audit] == [f"run {run_id}"]
