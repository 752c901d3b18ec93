"""OGC API - Features at /ogc/ and API tokens: read by GDAL's OAPIF driver against the live
server, paging, CRS, scope, suppression and the declared conformance classes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.tokens import create_token, revoke_token
from geodata.db.users import create_user
from gridmap import ogc

from conftest import run_gridmap

LEADER = "ogc_leader"


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def tokens(demo_db):
    """An admin token and a grid leader's token (with the leader's grid code)."""
    engine = demo_db[0]
    with Session(engine) as s, s.begin():
        grid = s.execute(
            sa.text(
                "SELECT g.code FROM grid g JOIN hazard h ON h.grid_id = g.id "
                "GROUP BY g.code ORDER BY count(*) DESC, g.code LIMIT 1"
            )
        ).scalar_one()
        create_user(s, LEADER, "grid_leader", password="leader-pass-1", grid_codes=[grid])
        _row, leader = create_token(s, LEADER, name="qgis", days=1)
    out = run_gridmap("token", "add", "admin", "--days", "1", "--name", "gdal", url=_url(engine))
    admin = out.stdout.strip().splitlines()[-1]
    return {"admin": admin, "leader": leader, "grid": grid}


def _get(client, url, token, **headers):
    return client.get(url, headers={"Authorization": f"Bearer {token}", **headers})


GDAL_SCRIPT = """
import json, sys, pyogrio
base, userpwd = sys.argv[1], sys.argv[2]
pyogrio.set_gdal_config_options({"GDAL_HTTP_USERPWD": userpwd})
layers = [str(n) for n, _ in pyogrio.list_layers("OAPIF:" + base)]
counts = {n: pyogrio.read_info("OAPIF:" + base, layer=n, force_feature_count=True)["features"]
          for n in sys.argv[3:]}
hazards = pyogrio.read_dataframe("OAPIF:" + base, layer="hazards")
print(json.dumps({"layers": layers, "counts": counts,
                  "hazard_grids": sorted(set(hazards["grid_code"]))}))
"""


def _gdal(base: str, userpwd: str, *layers: str) -> dict:
    """GDAL's OAPIF driver (pyogrio's GDAL) in its own process, HTTP Basic user:token."""
    proc = subprocess.run(
        [sys.executable, "-c", GDAL_SCRIPT, base, userpwd, *layers],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_gdal_reads_every_collection_and_as_many_buildings_as_gridmap_stats(
    live_server, demo_db, tokens
):
    stats = json.loads(run_gridmap("stats", "--json", url=_url(demo_db[0])).stdout)
    got = _gdal(f"{live_server}/ogc/", f"admin:{tokens['admin']}", "buildings", "hazards", "roads")
    assert got["layers"] == [c.id for c in ogc.COLLECTIONS]
    assert got["counts"] == {
        "buildings": stats["building"],
        "hazards": stats["hazard"],
        "roads": stats["road"],
    }
    assert len(got["hazard_grids"]) > 1  # the admin sees every grid


def test_grid_leader_token_sees_only_their_grid(live_server, demo_db, tokens, demo_app):
    got = _gdal(f"{live_server}/ogc/", f"{LEADER}:{tokens['leader']}", "hazards", "key_sites")
    with demo_db[0].connect() as c:

        def in_grid(table):
            return c.execute(
                sa.text(
                    f"SELECT count(*) FROM {table} t JOIN grid g ON "
                    "t.grid_id = g.id WHERE g.code = :g"
                ),
                {"g": tokens["grid"]},
            ).scalar_one()

        hazards, sites = in_grid("hazard"), in_grid("key_site")
        outside = c.execute(
            sa.text(
                "SELECT h.id FROM hazard h JOIN grid g ON h.grid_id = g.id "
                "WHERE g.code != :g LIMIT 1"
            ),
            {"g": tokens["grid"]},
        ).scalar()
    assert got["counts"] == {"hazards": hazards, "key_sites": sites}
    assert got["hazard_grids"] == [tokens["grid"]]
    client = demo_app.test_client()
    r = _get(client, f"/ogc/collections/hazards/items/{outside}", tokens["leader"])
    assert r.status_code == 404
    assert (
        _get(client, f"/ogc/collections/hazards/items/{outside}", tokens["admin"]).status_code
        == 200
    )
    with demo_db[0].connect() as c:  # the leader's reads are audited like page views
        audited = c.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE username = :u AND action = 'ogc_items'"),
            {"u": LEADER},
        ).scalar_one()
    assert audited >= 2


def test_declared_conformance_classes_are_served(demo_app, tokens):
    client = demo_app.test_client()
    declared = _get(client, "/ogc/conformance", tokens["admin"]).get_json()["conformsTo"]
    base = "http://www.opengis.net/spec/"
    probes = {
        base + "ogcapi-features-1/1.0/conf/core": lambda: (
            _get(client, "/ogc/collections/facilities/items?limit=3", tokens["admin"]).get_json()[
                "numberReturned"
            ]
            == 3
        ),
        base + "ogcapi-features-1/1.0/conf/geojson": lambda: (
            _get(client, "/ogc/collections/roads/items", tokens["admin"]).mimetype
            == "application/geo+json"
        ),
        base + "ogcapi-features-1/1.0/conf/html": lambda: (
            b'id="ogc-items"'
            in _get(
                client, "/ogc/collections/roads/items", tokens["admin"], Accept="text/html"
            ).data
        ),
        base + "ogcapi-features-1/1.0/conf/oas30": lambda: (
            _get(client, "/ogc/api", tokens["admin"]).get_json()["openapi"].startswith("3.0")
        ),
        base + "ogcapi-features-2/1.0/conf/crs": lambda: (
            _get(
                client, f"/ogc/collections/facilities/items?crs={ogc.EPSG4490}", tokens["admin"]
            ).headers["Content-Crs"]
            == f"<{ogc.EPSG4490}>"
        ),
        base + "ogcapi-features-3/1.0/conf/queryables": lambda: (
            set(
                _get(client, "/ogc/collections/roads/queryables", tokens["admin"]).get_json()[
                    "properties"
                ]
            )
            == set(ogc.BY_ID["roads"].properties)
        ),
        base + "ogcapi-features-3/1.0/conf/queryables-query-parameters": lambda: (
            {
                f["properties"]["highway"]
                for f in _get(
                    client,
                    "/ogc/collections/roads/items?highway=residential&limit=50",
                    tokens["admin"],
                ).get_json()["features"]
            }
            == {"residential"}
        ),
    }
    assert sorted(declared) == sorted(probes)
    assert {uri: probe() for uri, probe in probes.items()} == dict.fromkeys(probes, True)


def test_paging_follows_next_links_to_every_feature_once(demo_app, demo_db, tokens):
    client = demo_app.test_client()
    with demo_db[0].connect() as c:
        ids = [r[0] for r in c.execute(sa.text("SELECT id FROM facility ORDER BY id"))]
    seen, url, pages = [], "/ogc/collections/facilities/items?limit=40", 0
    while url:
        body = _get(client, url, tokens["admin"]).get_json()
        assert body["numberMatched"] == len(ids)
        assert body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = nxt[0].split("localhost", 1)[1] if nxt else None
        pages += 1
    assert seen == ids and pages == -(-len(ids) // 40)


def test_bbox_crs_datetime_and_property_filters(demo_app, demo_db, tokens):
    client = demo_app.test_client()
    with demo_db[0].connect() as c:
        x, y = c.execute(
            sa.text("SELECT ST_X(geom), ST_Y(geom) FROM facility ORDER BY id LIMIT 1")
        ).one()
        day = c.execute(sa.text("SELECT min(found_at) FROM hazard")).scalar()
        day = (day if isinstance(day, datetime) else datetime.fromisoformat(day)).date()
        found_that_day = c.execute(
            sa.text("SELECT count(*) FROM hazard WHERE found_at >= :a AND found_at < :b"),
            {
                "a": datetime.combine(day, datetime.min.time()),
                "b": datetime.combine(day + timedelta(days=1), datetime.min.time()),
            },
        ).scalar_one()
        schools = c.execute(
            sa.text("SELECT count(*) FROM facility WHERE category = 'primary_school'")
        ).scalar_one()
    d = 1e-5
    lonlat = _get(
        client,
        f"/ogc/collections/facilities/items?bbox={x - d},{y - d},{x + d},{y + d}",
        tokens["admin"],
    ).get_json()
    latlon = _get(
        client,
        f"/ogc/collections/facilities/items?bbox={y - d},{x - d},{y + d},{x + d}"
        f"&bbox-crs={ogc.EPSG4326}&crs={ogc.EPSG4326}",
        tokens["admin"],
    ).get_json()
    assert lonlat["numberMatched"] == latlon["numberMatched"] >= 1
    lon, lat = lonlat["features"][0]["geometry"]["coordinates"]
    assert latlon["features"][0]["geometry"]["coordinates"] == [lat, lon]
    assert abs(lon - x) < 1e-7 and abs(lat - y) < 1e-7
    found = _get(
        client, f"/ogc/collections/hazards/items?datetime={day.isoformat()}", tokens["admin"]
    ).get_json()
    assert found["numberMatched"] == found_that_day >= 1
    cat = _get(
        client, "/ogc/collections/facilities/items?category=primary_school&limit=1", tokens["admin"]
    ).get_json()
    assert cat["numberMatched"] == schools >= 1
    bad = _get(client, "/ogc/collections/facilities/items?bbox=1,2,x,4", tokens["admin"])
    assert bad.status_code == 400 and "bbox" in bad.get_json()["message"]


def test_small_household_counts_are_suppressed_and_no_people_collection(demo_app, demo_db, tokens):
    client = demo_app.test_client()
    with demo_db[0].connect() as c:
        per = dict(
            c.execute(
                sa.text(
                    "SELECT b.id, count(h.id) FROM building b LEFT JOIN "
                    "household h ON h.building_id = b.id GROUP BY b.id"
                )
            ).all()
        )
    body = _get(client, "/ogc/collections/buildings/items?limit=10000", tokens["admin"]).get_json()
    shown = {f["id"]: f["properties"]["households"] for f in body["features"]}
    assert shown == {b: (None if 0 < n < 5 else n) for b, n in per.items()}
    assert any(v is None for v in shown.values())
    ids = {
        c["id"] for c in _get(client, "/ogc/collections", tokens["admin"]).get_json()["collections"]
    }
    assert not ids & {"households", "residents"}
    assert _get(client, "/ogc/collections/residents/items", tokens["admin"]).status_code == 404


def test_tokens_expire_are_revoked_and_only_skip_csrf_for_token_requests(demo_app, demo_db):
    engine = demo_db[0]
    client = demo_app.test_client()
    with Session(engine) as s, s.begin():
        revoked_row, revoked = create_token(s, "admin", name="old", days=1)
        revoke_token(s, revoked_row.id)
        _row, expired = create_token(
            s, "admin", name="past", days=1, now=datetime.now() - timedelta(days=2)
        )
        _row, good = create_token(s, "admin", name="ok", days=1)
    for token in (revoked, expired, "gm_" + "x" * 43):
        r = _get(client, "/ogc/collections", token)
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    basic = base64.b64encode(f"admin:{good}".encode()).decode()
    assert (
        client.get("/ogc/collections", headers={"Authorization": f"Basic {basic}"}).status_code
        == 200
    )
    wrong_user = base64.b64encode(f"{LEADER}:{good}".encode()).decode()
    assert (
        client.get("/ogc/collections", headers={"Authorization": f"Basic {wrong_user}"}).status_code
        == 401
    )
    with Session(engine) as s:
        stored = s.execute(sa.text("SELECT token_hash FROM api_token")).scalars().all()
    assert good not in stored and all(len(h) == 64 for h in stored)
    # a token request needs no CSRF token; a session request still does
    assert client.post("/logout", headers={"Authorization": f"Bearer {good}"}).status_code == 302
    assert client.post("/settings", data={"display_name": "x"}).status_code in (302, 401)
    from conftest import login

    login(client, demo_db[1])
    assert client.post("/settings", data={"display_name": "x"}).status_code == 400


def test_settings_page_makes_a_token_shown_once_and_revokes_it(demo_app, demo_db):
    import re

    from conftest import login

    client = demo_app.test_client()
    login(client, demo_db[1])
    page = client.get("/settings").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    made = client.post(
        "/settings/tokens", data={"csrf_token": csrf, "name": "QGIS 桌面", "days": "30"}
    ).get_data(as_text=True)
    token = re.search(r'id="new-token"[^>]*>(gm_[A-Za-z0-9_-]+)<', made).group(1)
    assert _get(demo_app.test_client(), "/ogc/", token).status_code == 200
    again = client.get("/settings").get_data(as_text=True)
    assert token not in again and "QGIS 桌面" in again
    token_id = re.findall(r'name="token_id" value="(\d+)"', again)[-1]
    client.post("/settings/tokens/revoke", data={"csrf_token": csrf, "token_id": token_id})
    assert _get(demo_app.test_client(), "/ogc/", token).status_code == 401


def test_openapi_document_covers_ogc_and_map_routes(demo_app, tokens):
    doc = _get(demo_app.test_client(), "/ogc/api", tokens["admin"]).get_json()
    paths = set(doc["paths"])
    assert {
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/api/layers/{layer}",
        "/api/tiles/buildings/{z}/{x}/{y}.mvt",
        "/api/buildings/{building_id}",
    } <= paths
    for c in ogc.COLLECTIONS:
        assert {
            f"/ogc/collections/{c.id}/items",
            f"/ogc/collections/{c.id}/queryables",
            f"/ogc/collections/{c.id}/items/{{featureId}}",
        } <= paths
    rules = {r.rule for r in demo_app.url_map.iter_rules() if r.rule.startswith(("/ogc", "/api/"))}
    documented = {p.replace("{", "<").replace("}", ">") for p in paths}
    generic = {
        "/ogc/collections/<collection_id>",
        "/ogc/collections/<collection_id>/items",
        "/ogc/collections/<collection_id>/items/<feature_id>",
        "/ogc/collections/<collection_id>/queryables",
    }
    flask_forms = {r.replace("<int:", "<") for r in rules} - generic
    assert flask_forms <= documented, flask_forms - documented


# --- property-based: schemathesis on the OpenAPI document (bounded) -----------------------
def test_openapi_document_holds_no_5xx_and_no_response_outside_the_schema(live_server, tokens):
    """Every operation with a few generated requests: no 5xx, status codes, content types,
    headers and bodies as documented, and 401 without credentials. Not checked: that every
    schema-valid request is accepted: what a schema cannot say (an interval's start before
    its end, a box's lower corner first, a real calendar day) is a documented 400."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    from geodata.db.layers import LAYERS
    from gridmap.openapi import document

    schema = schemathesis.openapi.from_dict(document(live_server, LAYERS))
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=2,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            # a period's indicators are computed on their first request (seconds, not ms)
            case.call_and_validate(
                base_url=live_server,
                headers=headers,
                timeout=180,
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        check()


def test_queryables_are_linked_and_sortby_orders_the_items(demo_app, demo_db, tokens):
    client = demo_app.test_client()
    coll = _get(client, "/ogc/collections/buildings", tokens["admin"]).get_json()
    link = next(x for x in coll["links"] if x["rel"] == ogc.QUERYABLES_REL)
    assert link["href"].endswith("/ogc/collections/buildings/queryables")
    r = _get(client, "/ogc/collections/buildings/queryables", tokens["admin"])
    assert r.mimetype == "application/schema+json"
    doc = r.get_json()
    assert doc["properties"]["floors"] == {"title": "floors", "type": "integer"}
    assert doc["additionalProperties"] is False
    # sortby: descending floors, ties by id; checked against the database itself
    with Session(demo_db[0]) as s:
        rows = s.execute(sa.text("SELECT id, floors FROM building")).all()
    expected = [i for i, _f in sorted(rows, key=lambda r: (r[1] is None, -(r[1] or 0), r[0]))]
    got = _get(
        client, "/ogc/collections/buildings/items?sortby=-floors&limit=40", tokens["admin"]
    ).get_json()
    assert [f["id"] for f in got["features"]] == expected[:40]
    assert got["numberMatched"] == len(rows)
    box = "116.0,39.0,117.0,41.0"  # with a bbox too: the general path sorts there as well
    got = _get(
        client,
        f"/ogc/collections/buildings/items?bbox={box}&sortby=floors,-code&limit=30",
        tokens["admin"],
    ).get_json()
    keys = [(f["properties"]["floors"], f["properties"]["code"]) for f in got["features"]]
    assert keys == sorted(keys, key=lambda k: (k[0] is None, k[0] or 0, _neg(k[1])))
    bad = _get(client, "/ogc/collections/buildings/items?sortby=households;drop", tokens["admin"])
    assert bad.status_code == 400 and "sortby" in bad.get_json()["message"]


def _neg(text: str | None) -> tuple:
    """A key that sorts strings descending."""
    return tuple(-ord(c) for c in (text or "")) + (1,)
