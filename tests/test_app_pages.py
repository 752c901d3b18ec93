"""The everyday web service on the demo street, through Flask's client: every page, search,
the layer endpoints, the hazard workflow, My grid and its report, admin, and the per-user
basemap with its GCJ-02 display shift. Both backends."""

import json
import re
from datetime import datetime, timedelta

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from geodata.db.engine import session_factory
from geodata.db.models import Building, Community, Grid, Hazard, HazardEvent, Household, Resident
from geodata.db.users import create_user
from gridmap.crs import wgs84_to_gcj02
from gridmap.maps.offline import external_urls

from conftest import login

PASSWORD = "pages-password-1"


def _token(client, path="/settings"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def people(demo_db):
    """Users of each role on the demo street (committed: the app has its own sessions)."""
    engine = demo_db[0]
    with session_factory(engine).begin() as s:
        grids = s.execute(
            sa.select(Grid.code, Community.code).join(Community).order_by(Grid.code)
        ).all()
        first_grid, community = grids[0]
        out = {
            "grid": first_grid,
            "community": community,
            "other_grid": next(g for g, c in grids if c != community),
        }
        create_user(
            s,
            "p_leader",
            "grid_leader",
            password=PASSWORD,
            grid_codes=[first_grid],
            display_name="网格员甲",
        )
        create_user(s, "p_staff", "community_staff", password=PASSWORD, community_codes=[community])
        create_user(
            s, "p_staff2", "community_staff", password=PASSWORD, community_codes=[community]
        )
        create_user(s, "p_planner", "planner", password=PASSWORD)
    return out


class _Reader:
    """Reads in a short session of their own: a SpatiaLite reader left open would keep the
    app from committing (the rolled-back db stays open for the whole test)."""

    def __init__(self, engine):
        self.engine = engine

    def _run(self, method, *args, **kwargs):
        with session_factory(self.engine)() as s:
            return getattr(s, method)(*args, **kwargs)

    def scalar(self, *a, **k):
        return self._run("scalar", *a, **k)

    def scalars(self, *a, **k):
        with session_factory(self.engine)() as s:
            return _Rows(s.scalars(*a, **k))

    def execute(self, *a, **k):
        with session_factory(self.engine)() as s:
            return _Rows(s.execute(*a, **k).all())


class _Rows(list):
    def one(self):
        assert len(self) == 1
        return self[0]

    def all(self):
        return list(self)


@pytest.fixture
def db(demo_db):
    return _Reader(demo_db[0])


def _client(demo_app, username, password=PASSWORD):
    client = demo_app.test_client()
    assert login(client, password, username=username).status_code == 302
    return client


PAGES = [
    "/",
    "/?lang=en",
    "/hazards/",
    "/hazards/new",
    "/grid/",
    "/admin/users",
    "/admin/grids",
    "/admin/audit",
    "/settings",
    "/search?q=网格",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_chinese_with_no_external_load(demo_app, demo_db, path):
    client = _client(demo_app, "admin", demo_db[1])
    r = client.get(path)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    page = r.get_data(as_text=True)
    assert external_urls(page) == []
    assert 'id="nav-pages-overview"' in page
    if "lang=en" in path:
        assert ">Overview<" in page and "Log out" in page
    else:
        assert ">总览<" in page and "退出" in page


def test_navigation_follows_the_role(demo_app, people):
    leader = _client(demo_app, "p_leader")
    page = leader.get("/hazards/").get_data(as_text=True)
    assert 'id="nav-grid-my_grid"' in page and 'id="nav-admin-users"' not in page
    assert leader.get("/admin/users").status_code == 403
    planner = _client(demo_app, "p_planner")
    assert 'id="nav-grid-my_grid"' not in planner.get("/").get_data(as_text=True)
    assert planner.get("/hazards/new").status_code == 403


def test_overview_lists_the_street_down_to_grids(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    page = client.get("/").get_data(as_text=True)
    n_grids = db.scalar(sa.select(sa.func.count(Grid.id)))
    n_comm = db.scalar(sa.select(sa.func.count(Community.id)))
    assert re.search(r'id="n-grids">(\d+)<', page).group(1) == str(n_grids)
    assert page.count('class="gm-community"') == n_comm
    assert len(re.findall(r'href="/grid/\d+"', page)) >= n_grids  # every grid links its page
    households = db.scalar(sa.select(sa.func.count(Household.id)))
    assert re.search(r'id="n-households">(\d+)<', page).group(1) == str(households)
    # every demo home has households on file: the coverage badges say 100%
    assert page.count("住户登记 100%") == n_comm


def test_search_by_grid_code_address_and_site(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    code = db.scalar(sa.select(Grid.code).order_by(Grid.code))
    r = client.get(f"/search?q={code}")
    assert r.status_code == 302 and r.headers["Location"] == f"/grid/{code}"
    building = db.execute(
        sa.select(Building.address, Grid.code)
        .join(Grid)
        .where(Building.address.is_not(None))
        .limit(1)
    ).one()
    page = client.get(f"/search?q={building.address}&go=0").get_data(as_text=True)
    assert building.address in page and f"/grid/{building.code}?focus=" in page
    page = client.get("/search?q=zzzz-nothing").get_data(as_text=True)
    assert 'id="no-results"' in page


def test_layer_endpoint_sends_only_what_the_map_needs(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    minx, miny, maxx, maxy = db.execute(
        sa.text(
            "SELECT min(ST_X(ST_Centroid(geom))), min(ST_Y(ST_Centroid(geom))), "
            "max(ST_X(ST_Centroid(geom))), max(ST_Y(ST_Centroid(geom))) FROM grid"
        )
    ).one()
    bbox = f"{minx - 0.01},{miny - 0.01},{maxx + 0.01},{maxy + 0.01}"
    fc = client.get(f"/api/layers/grids?bbox={bbox}&zoom=15").get_json()
    assert len(fc["features"]) == db.scalar(sa.select(sa.func.count(Grid.id)))
    assert set(fc["features"][0]["properties"]) == {
        "code",
        "name",
        "community_name",
        "leader",
        "households",
        "target",
        "residents",
        "buildings",
    }
    coords = np.concatenate(
        [
            shapely.get_coordinates(shapely.geometry.shape(f["geometry"])).ravel()
            for f in fc["features"]
        ]
    )
    assert np.all(np.round(coords, 6) == coords)  # zoom 15: six decimals
    # on Amap the same grid comes shifted by the GCJ-02 forward formula
    shifted = client.get(f"/api/layers/grids?bbox={bbox}&zoom=18&display=gcj02").get_json()
    plain = client.get(f"/api/layers/grids?bbox={bbox}&zoom=18").get_json()
    a = shapely.get_coordinates(shapely.geometry.shape(plain["features"][0]["geometry"]))[0]
    b = shapely.get_coordinates(shapely.geometry.shape(shifted["features"][0]["geometry"]))[0]
    want = [float(v) for v in wgs84_to_gcj02(a[0], a[1])]
    assert b == pytest.approx(want, abs=2e-7)
    bad = client.get("/api/layers/grids?bbox=1,2,3&zoom=15")
    assert bad.status_code == 400 and "bbox" in bad.get_json()["message"]
    assert client.get("/api/layers/nothing?bbox=1,2,3,4").status_code == 404


def test_building_tiles_and_popups(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    import math

    lon, lat = db.execute(
        sa.text(
            "SELECT ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) FROM building ORDER BY id LIMIT 1"
        )
    ).one()
    z = 17
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    r = client.get(f"/api/tiles/buildings/{z}/{x}/{y}.mvt")
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    feats = mapbox_vector_tile.decode(r.data)["buildings"]["features"]
    first = db.scalar(sa.select(Building.id).order_by(Building.id))
    assert first in {f["id"] for f in feats}
    hh = db.scalar(sa.select(sa.func.count(Household.id)).where(Household.building_id == first))
    assert next(f for f in feats if f["id"] == first)["properties"]["households"] == hh
    popup = client.get(f"/api/buildings/{first}").get_json()
    assert popup["households"] == hh and popup["use"] in (
        "住宅",
        "商住",
        "商业",
        "办公",
        "公共服务",
        "工业",
        "其他",
    )
    assert client.get("/api/tiles/buildings/3/9/0.mvt").status_code == 400


def _inside(db, grid_code):
    geom = db.scalar(
        sa.select(sa.func.ST_AsText(sa.func.ST_PointOnSurface(Grid.geom))).where(
            Grid.code == grid_code
        )
    )
    p = shapely.from_wkt(geom)
    return p.x, p.y


def test_hazard_workflow_through_the_pages(demo_app, db, people):
    leader = _client(demo_app, "p_leader")
    lon, lat = _inside(db, people["grid"])
    token = _token(leader, "/hazards/new")
    r = leader.post(
        "/hazards/new",
        data={
            "csrf_token": token,
            "lon": lon,
            "lat": lat,
            "category": "fire",
            "severity": "high",
            "description": "测试：楼道堆放杂物",
        },
    )
    assert r.status_code == 302
    code = r.headers["Location"].rsplit("/", 1)[1]
    # outside the leader's grid: refused on the page, in Chinese, nothing written
    olon, olat = _inside(db, people["other_grid"])
    r = leader.post(
        "/hazards/new",
        data={
            "csrf_token": token,
            "lon": olon,
            "lat": olat,
            "category": "fire",
            "severity": "high",
            "description": "x",
        },
    )
    assert r.status_code == 400 and "不在您负责的区域" in r.get_data(as_text=True)
    staff, staff2 = _client(demo_app, "p_staff"), _client(demo_app, "p_staff2")

    def act(client, action, **data):
        tok = _token(client, f"/hazards/{code}")
        return client.post(
            f"/hazards/{code}/act", data={"csrf_token": tok, "action": action, **data}
        )

    assert act(staff, "file").status_code == 302
    missing = act(staff, "assign", responsible="", deadline="")
    assert missing.status_code == 400 and "责任" in missing.get_data(as_text=True)
    deadline = (datetime.now() + timedelta(days=5)).strftime("%Y-%m-%d")
    assert act(staff, "assign", responsible="物业 王经理", deadline=deadline).status_code == 302
    assert act(leader, "handle", note="已清理完毕").status_code == 302
    refused = act(leader, "reinspect", note="自己核查")
    assert refused.status_code == 403
    assert act(staff2, "reinspect", note="现场核查合格").status_code == 302
    assert act(staff, "close").status_code == 302
    page = staff.get(f"/hazards/{code}").get_data(as_text=True)
    assert 'id="case-status">已结案<' in page
    assert re.findall(r'data-action="(\w+)"', page) == [
        "report",
        "file",
        "assign",
        "handle",
        "reinspect",
        "close",
    ]
    events = db.execute(
        sa.select(HazardEvent.action, HazardEvent.actor)
        .join(Hazard)
        .where(Hazard.code == code)
        .order_by(HazardEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [
        ("report", "p_leader"),
        ("file", "p_staff"),
        ("assign", "p_staff"),
        ("handle", "p_leader"),
        ("reinspect", "p_staff2"),
        ("close", "p_staff"),
    ]


def test_hazard_list_shows_overdue_per_community(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    page = client.get("/hazards/?overdue=1").get_data(as_text=True)
    rows = re.findall(r'<tr class="gm-overdue" data-code="([^"]+)"', page)
    assert rows  # the demo has overdue cases, listed in red
    per = re.search(r'id="overdue-per-community">(.*?)</table>', page, re.S).group(1)
    total = sum(
        int(n) for n in re.findall(r'<td class="num">\d+</td><td class="num">(\d+)</td>', per)
    )
    assert total == len(rows) == int(re.search(r'id="n-overdue"[^>]*>(\d+)<', page).group(1))


def test_my_grid_page_and_report_mask_personal_data(demo_app, db, people):
    leader = _client(demo_app, "p_leader")
    r = leader.get("/grid/")
    assert r.status_code == 302 and r.headers["Location"] == f"/grid/{people['grid']}"
    page = leader.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="todo"' in page  # the demo leader's grid has work due
    phones = db.scalars(
        sa.select(Resident.phone)
        .join(Household)
        .join(Building)
        .join(Grid)
        .where(Grid.code == people["grid"], Resident.phone.is_not(None))
    ).all()
    assert phones and not any(p in page for p in phones)  # never a full phone number
    assert re.search(r"1\d\d\*{4}\d{4}", page)  # masked ones are shown
    assert leader.get(f"/grid/{people['other_grid']}").status_code == 403
    report = leader.get(f"/grid/{people['grid']}/report").get_data(as_text=True)
    assert "<svg" in report and "css/print.css" in report and 'id="site-table"' in report
    assert not any(p in report for p in phones)


def test_admin_creates_a_user_and_assigns_a_grid(demo_app, demo_db, db, people):
    admin = _client(demo_app, "admin", demo_db[1])
    token = _token(admin, "/admin/users/new")
    r = admin.post(
        "/admin/users/new",
        data={
            "csrf_token": token,
            "username": "p_new",
            "display_name": "新网格员",
            "role": "grid_leader",
            "active": "1",
            "grids": [people["other_grid"]],
        },
    )
    assert r.status_code == 302
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert 'data-user="p_new"' in listing
    flashed = admin.get("/admin/users").get_data(as_text=True)
    assert "p_new" in flashed
    r = admin.post(
        "/admin/grids",
        data={
            "csrf_token": token,
            "code": people["other_grid"],
            "leader": "李四",
            "leader_phone": "13800001111",
            "target_households": "450",
            "users": ["p_new"],
        },
    )
    assert r.status_code == 302
    with session_factory(demo_db[0])() as s:
        grid = s.scalar(sa.select(Grid).where(Grid.code == people["other_grid"]))
        assert (grid.leader, grid.leader_phone, grid.target_households) == (
            "李四",
            "13800001111",
            450,
        )
    bad = admin.post(
        "/admin/grids",
        data={
            "csrf_token": token,
            "code": people["other_grid"],
            "leader": "x",
            "leader_phone": "phone!",
            "target_households": "",
            "users": [],
        },
    )
    assert bad.status_code == 400 and "电话" in bad.get_data(as_text=True)
    audit = admin.get("/admin/audit?action=grid_assign").get_data(as_text=True)
    assert people["other_grid"] in audit


def test_basemaps_per_user_and_the_amap_shift(demo_app, demo_db, db, monkeypatch, request):
    from geodata.db.models import StaffUser
    from gridmap.maps.standard import BasemapSettings

    def reset():  # the choice is stored for the admin: other tests expect the default
        with session_factory(demo_db[0]).begin() as s:
            s.execute(
                sa.update(StaffUser).where(StaffUser.username == "admin").values(basemap="none")
            )

    request.addfinalizer(reset)

    monkeypatch.setitem(
        demo_app.config,
        "BASEMAPS",
        BasemapSettings(
            xyz_url="http://tiles.intranet.example/{z}/{x}/{y}.png", tianditu_key="TDTKEY"
        ),
    )
    client = _client(demo_app, "admin", demo_db[1])
    token = _token(client)
    base = client.get("/").get_data(as_text=True)
    # 'none' by default; the WGS84 basemaps are offered in the layer control (not shown: the
    # browser test checks that no tile is requested), Amap is not (another datum)
    assert "tk=TDTKEY" in base and "autonavi.com" not in base
    assert re.findall(
        r'<option value="(\w+)"', base.split('id="basemap-select"')[1].split("</select>")[0]
    ) == ["none", "xyz", "tianditu", "amap"]

    def choose(code):
        assert (
            client.post("/settings", data={"csrf_token": token, "basemap": code}).status_code == 302
        )
        return client.get("/").get_data(as_text=True)

    tdt = choose("tianditu")
    assert "https://t{s}.tianditu.gov.cn/vec_w/wmts?" in tdt and "LAYER=cva" in tdt
    assert "tk=TDTKEY" in tdt
    assert "http://tiles.intranet.example/{z}/{x}/{y}.png" in tdt  # same datum: offered too
    amap = choose("amap")
    assert "https://webrd0{s}.is.autonavi.com/appmaptile?" in amap and "tianditu.gov.cn" not in amap
    # every overlay is shifted: the embedded communities and the dynamic layers
    lon, lat = db.execute(
        sa.text(
            "SELECT ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)), "
            "ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1)) FROM community ORDER BY code LIMIT 1"
        )
    ).one()
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    data = json.loads(re.search(r'_add\((\{"features".*?\})\);', amap).group(1))
    first = data["features"][0]["geometry"]["coordinates"][0][0][0]
    assert first == pytest.approx([glon, glat], abs=2e-7)
    assert '"display": "gcj02"' in amap
    # the grids layer's fixed box is asked in GCJ-02 like the view: no grid at the edge is lost
    grids_spec = next(v for k, v in _layer_specs(amap).items() if k.endswith("/grids"))
    assert grids_spec["display"] == "gcj02"
    assert len(_fetch(client, grids_spec)) == db.scalar(sa.text("SELECT count(*) FROM grid"))
    # a click on an Amap map comes back in GCJ-02 and is stored in WGS84
    assert (
        client.post("/settings", data={"csrf_token": token, "basemap": "bogus"}).status_code == 400
    )
    choose("none")


# --- analysis pages: small HTML, layers fetched by the page, totals that reconcile -----------
def _layer_specs(page: str) -> dict[str, dict]:
    """The layers a page's map fetches: url -> spec (params, bbox), from the page itself."""
    specs = [json.loads(s) for s in re.findall(r"GM\.geojsonLayer\(\w+, (\{.*?\})\);", page)]
    return {s["url"]: s for s in specs}


def _fetch(client, spec: dict, **extra) -> list[dict]:
    query = {
        **spec["params"],
        "bbox": ",".join(f"{v:.6f}" for v in spec["bbox"]),
        "zoom": 16,
        "display": spec["display"],
        **extra,
    }
    r = client.get(spec["url"], query_string=query)
    assert r.status_code == 200, (spec["url"], r.get_data(as_text=True)[:300])
    return r.get_json()["features"]


def test_patrol_page_is_small_and_its_layers_match_its_tables(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    r = client.get("/patrol")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and len(page.encode()) < 300 * 1024
    assert '"type":"Feature"' not in page.replace(" ", "")  # nothing embedded
    specs = _layer_specs(page)
    assert set(specs) == {
        f"/patrol/layers/{n}" for n in ("grids", "patrolled", "unpatrolled", "tracks", "overdue")
    }
    n_grids = db.scalar(sa.text("SELECT count(*) FROM grid"))
    grids = _fetch(client, specs["/patrol/layers/grids"])
    rows = re.findall(
        r'<td title="(\d+)">', page.split('id="coverage-table"')[1].split("</table>")[0]
    )
    assert len(grids) == len(rows) == n_grids
    table = page.split('id="coverage-table"')[1].split("</table>")[0]
    first = re.search(r'<td title="(\d+)">[^<]*</td>\s*<td class="num[^"]*">([\d.]+)</td>', table)
    by_code = {f["properties"]["code"]: f["properties"] for f in grids}
    assert by_code[first.group(1)]["street_pct"] == pytest.approx(float(first.group(2)), abs=0.051)
    overdue = _fetch(client, specs["/patrol/layers/overdue"])
    n_overdue = int(re.search(r"超期未检查[^(（]*[（(](\d+)[)）]", page).group(1))
    assert len(overdue) == n_overdue > 0
    assert len(_fetch(client, specs["/patrol/layers/tracks"])) == 200  # the latest, as labelled
    # a box away from the street holds nothing
    assert _fetch(client, specs["/patrol/layers/patrolled"], bbox="10,10,10.1,10.1") == []
    assert client.get("/patrol/layers/bogus").status_code == 404


def test_risk_page_is_small_and_its_scores_are_the_sum_of_their_parts(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    r = client.get("/risk")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and len(page.encode()) < 300 * 1024
    specs = _layer_specs(page)
    assert set(specs) == {"/risk/layers/grids", "/risk/layers/buildings"}
    n_grids = db.scalar(sa.text("SELECT count(*) FROM grid"))
    for url, expect in (("/risk/layers/grids", n_grids), ("/risk/layers/buildings", None)):
        spec = specs[url]
        parts = [f for f in spec["popup"]["fields"] if "." in f]
        feats = _fetch(client, spec)
        assert feats and (expect is None or len(feats) == expect)
        for f in feats:  # the popup's components add up to the score it shows
            p = f["properties"]
            assert sum(p.get(c, 0) for c in parts) == pytest.approx(p["score"], abs=1e-6)
    # the tables: every row lists all its components, and they add up to its score
    for table in ("grid-risk-table", "building-risk-table"):
        body = page.split(f'id="{table}"')[1].split("</table>")[0]
        rows = re.findall(
            r'<td class="num">([\d.e+-]+)</td>.*?<td class="gm-parts">(.*?)</td>', body, flags=re.S
        )
        assert rows
        for score, parts in rows:
            points = [
                float(re.search(r"(-?[\d.]+(?:e[+-]?\d+)?)\s*$", part.strip()).group(1))
                for part in parts.split(";")
                if part.strip()
            ]
            assert sum(points) == pytest.approx(float(score), rel=1e-4, abs=1e-3), (score, parts)


def test_risk_of_a_closed_month_is_judged_at_its_end(demo_app, demo_db, db):
    last = datetime.now().date().replace(day=1) - timedelta(days=1)
    month = f"{last.year}-{last.month:02d}"
    end = datetime(last.year, last.month, last.day) + timedelta(days=1)
    client = _client(demo_app, "admin", demo_db[1])
    page = client.get(f"/risk?period={month}").get_data(as_text=True)
    assert f"{end:%Y-%m-%d}" in page and f'value="{month}"' in page
    spec = _layer_specs(page)["/risk/layers/grids"]
    assert spec["params"] == {"period": month}
    feats = {f["properties"]["code"]: f["properties"] for f in _fetch(client, spec)}
    # open hazards per grid as they stood at the month's end, counted here from the table
    from gridmap.analysis.risk import load_weights

    weights = load_weights()
    rows = db.execute(
        sa.text(
            "SELECT g.code, h.severity FROM hazard h JOIN grid g ON g.id = h.grid_id "
            "WHERE h.found_at < :end AND (h.status != 'closed' OR h.closed_at >= :end)"
        ),
        {"end": end},
    ).all()
    expect: dict[str, float] = {}
    for code, severity in rows:
        expect[code] = expect.get(code, 0) + weights["hazards"]["per_open"][severity]
    assert expect
    for code, p in feats.items():
        assert p.get("hazards.open", 0) == pytest.approx(expect.get(code, 0)), code


def test_heatmap_and_indicator_totals_reconcile_or_state_their_rule(demo_app, demo_db, db):
    client = _client(demo_app, "admin", demo_db[1])
    page = client.get("/heatmap?layer=households").get_data(as_text=True)
    households = db.scalar(sa.text("SELECT count(*) FROM household"))
    integral = float(re.search(r'id="integral">([\d.]+)<', page).group(1))
    assert integral == pytest.approx(households, abs=0.1)
    patrol = client.get("/patrol").get_data(as_text=True)
    pct = float(re.search(r'id="street-pct">([\d.]+)%', patrol).group(1))
    done_km, all_km = (
        float(v) for v in re.search(r"街巷公里</span><b>([\d.]+) / ([\d.]+)</b>", patrol).groups()
    )
    assert pct == pytest.approx(100 * done_km / all_km, abs=0.2)  # km shown to 0.1
    assert 'id="coverage-rules"' in patrol and "计入其相邻的每个网格" in patrol
    last = datetime.now().date().replace(day=1) - timedelta(days=1)
    ind = client.get(f"/indicators?period={last.year}-{last.month:02d}").get_data(as_text=True)
    assert 'id="indicator-rules"' in ind and "由所辖网格相加" in ind


def test_streets_read_as_the_street_office_level(demo_app, demo_db):
    client = _client(demo_app, "admin", demo_db[1])
    form = client.get("/admin/users/new").get_data(as_text=True)
    assert '<label for="streets">街道</label>' in form
    for path in ("/import",):
        page = client.get(path).get_data(as_text=True)
        assert "街道" in page and "街巷覆盖率" not in page, path
    assert "街巷巡查覆盖率 %" in client.get("/patrol").get_data(as_text=True)


# --- every view of every analysis page stays small; the big layers are fetched ------------
ANALYSIS_VIEWS = [
    "/patrol",
    "/risk",
    "/planner",
    "/heatmap",
    "/heatmap?layer=patrol&weekly=1",
    "/heatmap?layer=incidents&weekly=1&cells=h3",
    "/heatmap?layer=group&group=elderly_alone",
    "/heatmap?layer=group&group=elderly_alone&cells=h3",
    "/heatmap?layer=reach&category=health_station",
    "/heatmap?layer=households&bandwidth_m=50&cell_m=25",
    "/indicators",
    "/indicators?map=grids.households_band",
]


@pytest.mark.parametrize("path", ANALYSIS_VIEWS)
def test_every_analysis_view_is_under_300_kb(demo_app, demo_db, path):
    r = _client(demo_app, "admin", demo_db[1]).get(path)
    page = r.get_data(as_text=True)
    assert r.status_code == 200, path
    assert len(page.encode()) < 300 * 1024, (path, len(page.encode()))
    assert '"times"' not in page  # no weekly cells written into the page


def _weeks_spec(page: str) -> tuple[str, dict, str]:
    """The weekly slider's endpoint, the parameters it sends and its display CRS."""
    found = re.search(
        r'GM\.withParams\(("[^"]*"),\s*Object\.assign\(\{display: ("[^"]*")\}, (\{.*?\})\)\)',
        page,
    )
    assert found, "no weekly slider on the page"
    return json.loads(found.group(1)), json.loads(found.group(3)), json.loads(found.group(2))


def test_heatmap_weekly_cells_are_fetched_and_scoped(demo_app, demo_db, db, people):
    from geodata.db import heatmaps
    from geodata.db.engine import session_factory as sessions
    from gridmap.privacy import Requester

    admin = _client(demo_app, "admin", demo_db[1])
    page = admin.get("/heatmap?layer=patrol&weekly=1").get_data(as_text=True)
    url, params, display = _weeks_spec(page)
    assert url == "/heatmap/layers/weeks" and params == {"layer": "patrol", "weekly": "1"}
    body = admin.get(url, query_string={**params, "display": display}).get_json()
    with sessions(demo_db[0])() as s:
        hm = heatmaps.heatmap(s, Requester.system(), layer="patrol")
    weeks = {f"{w:%Y-%m-%d}" for w in hm.weekly["week"]}
    assert len(body["features"]) == len(hm.weekly) > 0
    assert {f["properties"]["times"][0] for f in body["features"]} == weeks
    total = sum(f["properties"]["value"] for f in body["features"])
    assert total == pytest.approx(hm.weekly["value"].sum(), abs=0.05 * len(hm.weekly))
    n_weeks = int(re.search(r'id="n-weeks">(\d+)<', page).group(1))
    assert n_weeks == len(weeks)
    # a grid leader gets the weeks of the own grid's patrols: part of what the admin sees
    leader = _client(demo_app, "p_leader")
    mine = leader.get(url, query_string=params).get_json()["features"]
    assert 0 < len(mine) < len(body["features"])
    with sessions(demo_db[0])() as s:
        grid_id = s.scalar(sa.select(Grid.id).where(Grid.code == people["grid"]))
        requester = Requester(
            username="p_leader", role="grid_leader", grid_ids=frozenset([grid_id])
        )
        theirs = heatmaps.heatmap(s, requester, layer="patrol").weekly
    assert len(mine) == len(theirs)
    assert sum(f["properties"]["value"] for f in mine) == pytest.approx(
        theirs["value"].sum(), abs=0.05 * len(theirs)
    )
    everyone = {
        (json.dumps(f["geometry"]), f["properties"]["times"][0]): f["properties"]["value"]
        for f in body["features"]
    }
    for f in mine:
        key = (json.dumps(f["geometry"]), f["properties"]["times"][0])
        assert f["properties"]["value"] <= everyone[key] + 0.05
    # the page without the slider asks for no weeks; outside the areas there are none
    assert "/heatmap/layers/weeks" not in admin.get("/heatmap?layer=patrol").get_data(as_text=True)
    other = leader.get(url, query_string={**params, "grid": people["other_grid"]})
    assert other.status_code in (403, 404)


def test_indicator_map_areas_are_fetched_with_the_same_figures_for_every_viewer(
    demo_app, demo_db, db, people
):
    admin = _client(demo_app, "admin", demo_db[1])
    page = admin.get("/indicators").get_data(as_text=True)
    assert '"type":"Feature"' not in page.replace(" ", "")  # nothing embedded
    ((url, spec),) = _layer_specs(page).items()
    indicator = url.rsplit("/", 1)[1]
    assert url == f"/indicators/layers/{indicator}" and spec["params"] == {"period": ""}
    feats = {f["properties"]["code"]: f["properties"] for f in _fetch(admin, spec)}
    assert len(feats) == db.scalar(sa.text("SELECT count(*) FROM grid"))
    api = admin.get("/api/indicators?level=grid").get_json()["indicators"]
    rows = {r["area"]: r for r in api if r["indicator"] == indicator}
    assert set(feats) == set(rows)
    for code, p in feats.items():
        assert p.get("value") == pytest.approx(rows[code]["value"]), code
        assert p["status"] == rows[code]["status"]
        assert p["edge"] == ("#c62828" if p["status"] == "fail" else "#555555")
        assert p["color"] == "#bdbdbd" if rows[code]["value"] is None else p["color"] != "#bdbdbd"
    # the grid leader: the own grid only, with the admin's figures
    leader = _client(demo_app, "p_leader")
    leader_page = leader.get("/indicators").get_data(as_text=True)
    mine = _fetch(leader, _layer_specs(leader_page)[url])
    assert [f["properties"]["code"] for f in mine] == [people["grid"]]
    theirs = feats[people["grid"]]
    assert mine[0]["properties"].get("value") == theirs.get("value")
    assert mine[0]["properties"]["status"] == theirs["status"]
    assert leader.get("/indicators/layers/no-such-indicator").status_code == 404
    chosen = admin.get("/indicators?map=grids.households_band").get_data(as_text=True)
    assert "/indicators/layers/grids.households_band" in chosen
