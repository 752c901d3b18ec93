"""Every route x every role, generated from the app's URL map.

``ROUTES`` names, for each endpoint, the arguments to call it with (an object inside the
test grid leader's grid and one outside it) and the status each role gets. A route
added to the app without an entry here fails ``test_every_route_has_an_entry``; every
entry is requested as every role (and anonymously) and must answer as listed, never 500,
always with the security headers, and must not change the database (state-changing
routes are sent without and with a CSRF token by roles that may not use them).
"""

import re

import pytest
import sqlalchemy as sa

from geodata.db import models as m
from geodata.db.engine import session_factory
from geodata.db.store import table_counts
from geodata.db.users import create_user

from conftest import login

PASSWORD = "matrix-password-1"
ROLES = ["admin", "street_staff", "community_staff", "grid_leader", "planner", "viewer", None]
STAFF = ["admin", "street_staff", "community_staff", "grid_leader"]
LOGGED_IN = [r for r in ROLES if r]
OK = (200,)
PUBLIC = {"auth.login", "healthz", "static"}


def every(*roles, status=OK):
    return dict.fromkeys(roles, status)


# endpoint -> list of (path arguments, query, {role: accepted statuses}); "in"/"out" name
# the objects inside and outside the grid leader's (and community staff's) areas.
ALL_OK = every(*LOGGED_IN)
ADMIN_ONLY = {**every(*LOGGED_IN, status=(403,)), "admin": OK}
NO_TOKEN = every(*LOGGED_IN, status=(400,))  # state changes sent without a CSRF token
AREA_PAGES = {**ALL_OK, "viewer": (404,)}  # a viewer with no area has no grids to show
FIELD_ONLY = {**every(*STAFF), **every("planner", "viewer", status=(403,))}  # the phone app
AREA_OR_EMPTY = {**ALL_OK, "viewer": (200, 404)}  # a viewer with no area: no rows or no page
AREA_OR_EMPTY_404 = every(*LOGGED_IN, status=(404,))  # an unknown name: no such thing
SCOPED_IN = {**every(*LOGGED_IN), "viewer": (403,)}
SCOPED_OUT = {
    **every("admin", "street_staff", "planner"),
    **every("community_staff", "grid_leader", "viewer", status=(403, 404)),
}
ROUTES = {
    "pages.overview": [({}, "", ALL_OK)],
    "admin.users": [({}, "", ADMIN_ONLY)],
    "admin.audit": [({}, "", ADMIN_ONLY)],
    "admin.grids": [({}, "", ADMIN_ONLY)],
    "admin.user_form": [({"username": "m_target"}, "", ADMIN_ONLY)],
    "admin.end_sessions": [({"username": "m_target"}, "", NO_TOKEN)],
    "admin.unlock": [({"username": "m_target"}, "", NO_TOKEN)],
    "analysis.patrol_page": [({}, "", AREA_PAGES)],
    "analysis.risk_page": [({}, "", AREA_PAGES)],
    "analysis.heatmap_page": [({}, "", AREA_PAGES)],
    "analysis.heatmap_download": [({"fmt": "png"}, "", AREA_PAGES)],
    "analysis.patrol_layer": [
        ({"name": "grids"}, "", AREA_PAGES),
        ({"name": "tracks"}, "zoom=16", AREA_PAGES),
        ({"name": "no-such-layer"}, "", AREA_OR_EMPTY_404),
    ],
    "analysis.risk_layer": [
        ({"name": "buildings"}, "zoom=16", AREA_PAGES),
        ({"name": "no-such-layer"}, "", AREA_OR_EMPTY_404),
    ],
    "analysis.heatmap_cells": [({}, "layer=households", AREA_PAGES)],
    "analysis.heatmap_weeks": [({}, "layer=patrol&weekly=1", AREA_PAGES)],
    "api.building": [({"building_id": "in"}, "", ALL_OK)],
    "api.building_tile": [({"z": 15, "x": 26978, "y": 12409}, "", ALL_OK)],
    "api.layer_geojson": [
        ({"layer": "hazards"}, "zoom=16", ALL_OK),
        ({"layer": "key_sites"}, "zoom=16", ALL_OK),
    ],
    "auth.login": [({}, "", ALL_OK)],
    "auth.logout": [({}, "", NO_TOKEN)],
    "grid.my_grid": [({}, "", {**ALL_OK, "grid_leader": (302,)})],  # to the leader's grid
    "grid.grid_page": [({"code": "in"}, "", SCOPED_IN), ({"code": "out"}, "", SCOPED_OUT)],
    "grid.report": [({"code": "in"}, "", SCOPED_IN), ({"code": "out"}, "", SCOPED_OUT)],
    "hazards.index": [({}, "", ALL_OK)],
    "hazards.detail": [({"code": "in"}, "", SCOPED_IN), ({"code": "out"}, "", SCOPED_OUT)],
    "hazards.new": [({}, "", {**every(*STAFF), **every("planner", "viewer", status=(403,))})],
    "hazards.act": [({"code": "out"}, "", NO_TOKEN)],
    "hazards.escalate": [({}, "", NO_TOKEN)],
    "healthz": [({}, "", ALL_OK)],
    "nav.search": [({}, "q=网吧", ALL_OK)],
    "nav.settings": [({}, "", ALL_OK)],
    "reach.planner_page": [({}, "", ALL_OK)],
    "reach.planner_buildings": [
        ({}, "", every(*LOGGED_IN, status=(400,))),
        ({}, "run=999999", every(*LOGGED_IN, status=(404,))),
    ],
    # without a run (?run=) there is nothing to download or print
    "reach.download": [({"name": "buildings", "fmt": "csv"}, "", NO_TOKEN)],
    "reach.print_view": [({}, "", NO_TOKEN)],
    "static": [({"filename": "css/gridmap.css"}, "", ALL_OK)],
    "upload.upload_page": [({}, "", ALL_OK)],
    "upload.export_download": [({}, "layer=key_sites&format=geojson", ALL_OK)],
    "upload.job_page": [({"job_id": "nope"}, "", every(*LOGGED_IN, status=(404,)))],
    "upload.job_status": [({"job_id": "nope"}, "", every(*LOGGED_IN, status=(404,)))],
    "upload.job_confirm": [({"job_id": "nope"}, "", NO_TOKEN)],
    "upload.job_layer": [({"job_id": "nope"}, "", NO_TOKEN)],
    "upload.job_mapping": [({"job_id": "nope"}, "", NO_TOKEN)],
    "upload.job_mapping_file": [({"job_id": "nope"}, "", every(*LOGGED_IN, status=(404,)))],
    "upload.jobs_page": [({}, "", ALL_OK)],
    "tokens.add": [({}, "", NO_TOKEN)],
    "tokens.revoke": [({}, "", NO_TOKEN)],
    "ogc.landing": [({}, "", ALL_OK)],
    "ogc.conformance": [({}, "", ALL_OK)],
    "ogc.api_document": [({}, "", ALL_OK)],
    "ogc.collections": [({}, "", ALL_OK)],
    "ogc.collection": [({"collection_id": "hazards"}, "", ALL_OK)],
    "ogc.items": [({"collection_id": "hazards"}, "limit=5", ALL_OK)],
    "ogc.queryables": [({"collection_id": "hazards"}, "", ALL_OK)],
    "ogc.item": [
        ({"collection_id": "hazards", "feature_id": "nope"}, "", every(*LOGGED_IN, status=(404,)))
    ],
    "field.app": [({}, "", FIELD_ONLY)],
    "field.service_worker": [({}, "", ALL_OK)],
    "field.manifest": [({}, "", ALL_OK)],
    "field.me": [({}, "", FIELD_ONLY)],
    "field.grid_bundle": [
        ({"code": "in"}, "", FIELD_ONLY),
        (
            {"code": "out"},
            "",
            {**FIELD_ONLY, **every("community_staff", "grid_leader", status=(403, 404))},
        ),
    ],
    "field.submit": [({}, "", NO_TOKEN)],
    "field.photo": [({"photo_id": 999999}, "", every(*LOGGED_IN, status=(403, 404)))],
    "field.reveal": [({}, "", NO_TOKEN)],
    "indicators.api_indicators": [({}, "level=grid", AREA_OR_EMPTY)],
    "indicators.indicators_page": [({}, "", AREA_OR_EMPTY)],
    "indicators.indicators_print": [({}, "", AREA_OR_EMPTY)],
    "indicators.indicators_download": [({}, "", AREA_OR_EMPTY)],
    "indicators.indicator_layer": [
        ({"indicator": "health.reach_15min"}, "zoom=16", AREA_OR_EMPTY),
        ({"indicator": "no-such-indicator"}, "", AREA_OR_EMPTY_404),
    ],
}


@pytest.fixture(scope="module")
def world(demo_db):
    """One user per role around the first grid; objects inside and outside it."""
    engine = demo_db[0]
    with session_factory(engine).begin() as s:
        grids = s.execute(
            sa.select(
                m.Grid.code,
                m.Grid.id,
                m.Community.code.label("community"),
                m.Street.code.label("street"),
            )
            .join(m.Community, m.Grid.community_id == m.Community.id)
            .join(m.Street, m.Community.street_id == m.Street.id)
            .order_by(m.Grid.code)
        ).all()
        in_grid = next(
            g
            for g in grids
            if s.scalar(sa.select(m.Hazard.id).where(m.Hazard.grid_id == g.id).limit(1))
        )
        out_grid = next(
            g
            for g in grids
            if g.community != in_grid.community
            and s.scalar(sa.select(m.Hazard.id).where(m.Hazard.grid_id == g.id).limit(1))
        )
        create_user(s, "m_admin", "admin", password=PASSWORD)
        create_user(
            s, "m_street_staff", "street_staff", password=PASSWORD, street_codes=[in_grid.street]
        )
        create_user(
            s,
            "m_community_staff",
            "community_staff",
            password=PASSWORD,
            community_codes=[in_grid.community],
        )
        create_user(s, "m_grid_leader", "grid_leader", password=PASSWORD, grid_codes=[in_grid.code])
        create_user(s, "m_planner", "planner", password=PASSWORD)
        create_user(s, "m_viewer", "viewer", password=PASSWORD)
        create_user(s, "m_target", "viewer", password=PASSWORD)

        def first(model, grid):
            return s.scalar(
                sa.select(model.code).where(model.grid_id == grid.id).order_by(model.code).limit(1)
            )

        objects = {
            "grid": {"in": in_grid.code, "out": out_grid.code},
            "hazard": {"in": first(m.Hazard, in_grid), "out": first(m.Hazard, out_grid)},
            "building": {
                "in": s.scalar(
                    sa.select(m.Building.id).where(m.Building.grid_id == in_grid.id).limit(1)
                )
            },
        }
    return engine, objects


@pytest.fixture(scope="module")
def clients(demo_app, world):
    """One logged-in client per role, kept for the module (a login costs an Argon2 check)."""
    made = {}

    def get(role):
        if role not in made:
            made[role] = _client(demo_app, role)
        return made[role]

    return get


def _client(app, role):
    client = app.test_client()
    if role is not None:
        assert login(client, PASSWORD, username=f"m_{role}").status_code == 302
    return client


def _url(app, endpoint, args, query, objects):
    kind = {
        "grid.grid_page": "grid",
        "grid.report": "grid",
        "hazards.detail": "hazard",
        "hazards.act": "hazard",
        "api.building": "building",
        "field.grid_bundle": "grid",
    }.get(endpoint)
    args = {k: objects[kind][v] if kind and v in ("in", "out") else v for k, v in args.items()}
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **args)
    return url + ("?" + query if query else "")


def _state(engine):
    with session_factory(engine)() as s:
        counts = table_counts(s)
        for derived in (
            "audit_log",
            "reach_run",
            "reach_result",
            "walk_network",
            "walk_node",
            "walk_edge",
        ):  # views are audited; reach runs are kept as caches
            counts.pop(derived, None)
        hazards = s.execute(
            sa.select(m.Hazard.code, m.Hazard.status, m.Hazard.grid_id).order_by(m.Hazard.code)
        ).all()
        return counts, [tuple(h) for h in hazards]


def _methods(app, endpoint):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return rule.methods - {"HEAD", "OPTIONS"}


def test_every_route_has_an_entry(demo_app):
    endpoints = {r.endpoint for r in demo_app.url_map.iter_rules()}
    assert sorted(endpoints - set(ROUTES)) == [], "add the new routes to ROUTES"
    assert sorted(set(ROUTES) - endpoints) == []


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_as_every_role(demo_app, world, clients, endpoint):
    engine, objects = world
    before = _state(engine)
    methods = _methods(demo_app, endpoint)
    method = "GET" if "GET" in methods else "POST"
    seen = {}
    for role in ROLES:
        client = clients(role) if role else demo_app.test_client()
        for args, query, expected in ROUTES[endpoint]:
            url = _url(demo_app, endpoint, args, query, objects)
            r = client.open(url, method=method)
            seen[(role, url)] = r.status_code
            r.close()
            assert r.status_code != 500, (role, url)
            for header in (
                "Content-Security-Policy",
                "X-Content-Type-Options",
                "X-Frame-Options",
                "Referrer-Policy",
            ):
                assert header in r.headers, (role, url, header)
            if role is None:
                if endpoint in PUBLIC:
                    assert r.status_code == 200, url
                else:
                    assert r.status_code in (302, 400, 401), (url, r.status_code)
                    if r.status_code == 302:
                        assert "/login" in r.headers["Location"]
                continue
            assert r.status_code in expected[role], (role, url, r.status_code)
            if method == "POST" and role not in ("admin", None) and "/admin/" in url:
                # with a valid token a role without the right is still refused
                page = client.get("/settings").get_data(as_text=True)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
                assert client.post(url, data={"csrf_token": token}).status_code == 403
    assert _state(engine) == before, seen


def test_scoped_layers_never_carry_objects_outside_the_areas(demo_app, world):
    engine, objects = world
    for role in ("community_staff", "grid_leader", "viewer"):
        client = _client(demo_app, role)
        body = client.get("/api/layers/hazards?zoom=16").get_data(as_text=True)
        assert objects["hazard"]["out"] not in body, role
        search = client.get(f"/search?q={objects['hazard']['out']}").get_data(as_text=True)
        assert f">{objects['hazard']['out']}<" not in search, role


@pytest.mark.parametrize(
    "url",
    [
        "/api/layers/grids?zoom=inf",
        "/api/layers/grids?zoom=1e309",
        "/api/layers/grids?zoom=-1",
        "/api/buildings/99999999999999999999",
        "/api/tiles/buildings/99999999999/1/1.mvt",
        "/patrol?period=2026-13",
        "/patrol?period=2026-W99",
        "/heatmap?period=2026-13",
        "/heatmap?period=2026-W99",
        "/api/layers/grids?bbox=nan,nan,inf,inf",
    ],
)
def test_bad_parameters_are_400_with_a_message(demo_app, world, url):
    client = _client(demo_app, "admin")
    r = client.get(url)
    assert r.status_code == 400, (url, r.status_code)
    text = r.get_data(as_text=True)
    assert "Traceback" not in text and len(text) > 20
