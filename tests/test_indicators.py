"""Indicators (指标考核) and the figures behind them, on the demo in both backends.

The same numbers for every viewer (only the rows differ), a past period that keeps its
figures whatever is recorded today, the command line equal to the API of every role, the
snapshot of a closed period, and the health-facility share checked against pandas on the
exported per-building distances.
"""

import json
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from geodata.db import analysis
from geodata.db import hazards as cases
from geodata.db import indicators as gi
from geodata.db.models import Building, Community, Grid, Hazard, Street
from gridmap.analysis import indicators as ind
from gridmap.analysis.patrol import Period, parse_period
from gridmap.errors import InvalidInput
from gridmap.privacy import Requester
from gridmap.standards.indicators import load_indicators

from conftest import login, run_gridmap


def _url(demo_db) -> str:
    return demo_db[0].url.render_as_string(hide_password=False)


def _last_month() -> str:
    first = date.today().replace(day=1) - timedelta(days=1)
    return f"{first.year}-{first.month:02d}"


def _yesterday() -> Period:
    end = datetime.combine(date.today(), datetime.min.time())
    return Period(end - timedelta(days=1), end)


# --- the indicator file -------------------------------------------------------------------
def test_shipped_indicators_cite_their_source_and_targets():
    items = load_indicators()
    ids = {i.id for i in items.indicators}
    assert {
        "health.reach_15min",
        "health.doctors_per_1000",
        "patrol.streets_week",
        "patrol.households_month",
        "sites.inspected_in_interval",
        "hazards.closed_on_time",
        "hazards.overdue",
        "grids.cover",
        "grids.households_band",
        "chronic.standard_management",
    } <= ids
    for i in items.indicators:
        assert i.source and i.name_zh and i.name_en and i.levels
    assert items.get("health.reach_15min").threshold_text() == "≥ 90 %"
    assert items.get("chronic.first_bp_35").threshold_text() == "3★ ≥ 90 / 4★ ≥ 94 / 5★ ≥ 98 %"


def test_a_deployment_file_overrides_by_id_and_errors_name_file_indicator_field(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "params: {households_band: [250, 450]}\n"
        "indicators:\n"
        "  - {id: health.reach_15min, target: {min: 95}}\n"
        "  - {id: hazards.reinspected, enabled: false}\n"
        "  - {id: local.big_grids, name_zh: 大网格, name_en: Big grids, formula: grids - grids_in_band,\n"
        "     unit: 个, level: community, direction: lower, target: {max: 0}, source: 本地}\n",
        encoding="utf-8",
    )
    items = load_indicators(mine)
    assert items.get("health.reach_15min").target == {"min": 95.0}
    assert not items.get("hazards.reinspected").enabled
    assert items.get("local.big_grids").levels == ("community",)
    assert items.households_band == (250.0, 450.0)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "indicators:\n  - {id: x.y, name_zh: a, name_en: b, formula: 100 * bogus / residents,"
        " unit: '%', level: grid, direction: higher, target: {min: 1}, source: s}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InvalidInput, match=r"bad.yaml, indicator x.y: formula names unknown figure 'bogus'"
    ):
        load_indicators(bad)
    bad.write_text(
        "indicators:\n  - {id: health.reach_15min, target: {least: 3}}\n", encoding="utf-8"
    )
    with pytest.raises(
        InvalidInput, match=r"bad.yaml, indicator health.reach_15min: target: unknown key"
    ):
        load_indicators(bad)
    bad.write_text("indicators:\n  - {id: a.b, formula: __import__('os')}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"indicator a.b"):
        load_indicators(bad)


def test_no_data_is_never_zero_and_stars_cite_thresholds():
    items = load_indicators()
    grid = pd.DataFrame(
        {
            "code": ["g1", "g2"],
            "community_code": ["c1", "c1"],
            "street_code": ["s", "s"],
            "grids": [1.0, 1.0],
            "chronic_patients": [10.0, 0.0],
            "chronic_managed": [np.nan, np.nan],
            "residents_35": [20.0, 10.0],
            "bp_checked_35": [19.0, 10.0],
        }
    )
    comm = pd.DataFrame(
        {
            "code": ["c1"],
            "street_code": ["s"],
            "community_area_m2": [1.0],
            "grid_cover_m2": [1.0],
            "grid_overlap_m2": [0.0],
        }
    )
    figures = ind.roll_up(grid, comm)
    rows = ind.evaluate(items, figures, names={}, level="community").set_index("indicator")
    assert rows.loc["chronic.standard_management", "status"] == "no_data"
    assert pd.isna(rows.loc["chronic.standard_management", "value"])
    bp = rows.loc["chronic.first_bp_35"]
    assert bp["value"] == pytest.approx(96.67) and bp["stars"] == 4 and bp["status"] == "pass"
    assert bp["figures"] == {"bp_checked_35": 29.0, "residents_35": 30.0}


# --- one definition per figure --------------------------------------------------------------
def _leader(session, grid_code: str, role: str = "grid_leader") -> Requester:
    gid = session.scalar(sa.select(Grid.id).where(Grid.code == grid_code))
    return Requester(username=f"{role}-test", role=role, grid_ids=frozenset({gid}))


def _busiest_shared_grid(session, period) -> str:
    """A grid whose streets are walked by patrollers of other grids too."""
    tracks = analysis.repo.patrol_tracks_frame(
        session, Requester.system(), start=period.start, end=period.end
    )
    full = analysis.patrol_figures(session, period=period)
    pieces = full.report.pieces
    grids = full.grids.to_crs(full.crs)
    own = tracks.set_index("code")["grid_code"]
    best, most = None, 0
    for code, geom in zip(grids["code"], grids.geometry, strict=True):
        inside = pieces[pieces.intersects(geom)]
        foreign = int((own.reindex(inside["track"]).to_numpy() != code).sum())
        if foreign > most:
            best, most = code, foreign
    assert best is not None, "the demo has no patrol crossing into another grid"
    return best


def test_admin_and_the_grids_leader_get_identical_figures(demo_session):
    period = analysis.default_period(days=30)
    code = _busiest_shared_grid(demo_session, period)
    admin, leader = Requester.system("admin"), _leader(demo_session, code)
    a = analysis.patrol_report(demo_session, admin, period=period, grid_code=code)
    b = analysis.patrol_report(demo_session, leader, period=period)
    cols = [
        "grid_code",
        "street_m",
        "patrolled_m",
        "street_pct",
        "buildings_passed",
        "households_covered",
        "households_pct",
        "key_sites_visited",
        "patrols",
        "patrol_km",
    ]
    assert a.report.grids[cols].to_dict("records") == b.report.grids[cols].to_dict("records")
    assert float(a.report.grids["street_pct"].iloc[0]) > 0
    # The leader is shown only the tracks in their area, but the figure counts all of them.
    assert set(b.report.pieces["track"]) <= set(a.report.pieces["track"])
    ra = analysis.risk_report(demo_session, admin, grid_code=code)
    rb = analysis.risk_report(demo_session, leader)
    assert list(rb.grids["code"]) == [code]
    comp = [c for c in ra.grids.columns if c not in ("geometry",)]
    assert ra.grids[comp].to_dict("records") == rb.grids[comp].to_dict("records")
    hz_a = gi.indicator_report(demo_session, admin, period=period, level="grid")
    hz_b = gi.indicator_report(demo_session, leader, period=period, level="grid")
    mine_a = [r for r in hz_a["indicators"] if r["area"] == code]
    assert mine_a and mine_a == hz_b["indicators"]
    assert {r["indicator"] for r in mine_a} >= {
        "hazards.assigned",
        "hazards.overdue",
        "patrol.streets_week",
    }


def test_a_past_period_keeps_its_figures_when_a_hazard_is_reported_today(demo_session):
    items = load_indicators()
    past = _yesterday()
    today = parse_period(date.today().isoformat())
    before_past = gi.compute_rows(demo_session, past, indicators=items)
    before_today = gi.compute_rows(demo_session, today, indicators=items)
    grid = demo_session.scalars(sa.select(Grid).order_by(Grid.code)).first()
    point = demo_session.scalar(
        sa.select(sa.func.ST_AsText(sa.func.ST_PointOnSurface(Grid.geom))).where(Grid.id == grid.id)
    )
    lon, lat = (float(v) for v in point.removeprefix("POINT(").rstrip(")").split())
    admin = Requester.system("admin")
    cases.report(
        demo_session,
        admin,
        lon=lon,
        lat=lat,
        category="fire",
        severity="high",
        description="楼道堆放杂物",
    )
    waiting = demo_session.scalars(
        sa.select(Hazard).where(Hazard.status == "reinspected").order_by(Hazard.code)
    ).first()
    assert waiting is not None, "the demo has a re-inspected case waiting to be closed"
    cases.act(demo_session, admin, waiting.code, "close")  # closing a case today
    after_past = gi.compute_rows(demo_session, past, indicators=items)
    after_today = gi.compute_rows(demo_session, today, indicators=items)
    pd.testing.assert_frame_equal(before_past, after_past)

    def found(rows):
        r = rows[
            (rows["indicator"] == "hazards.assigned")
            & (rows["level"] == "grid")
            & (rows["area"] == grid.code)
        ].iloc[0]
        return r["figures"]["hazards_found"], r["figures"]["hazards_assigned"]

    (n0, a0), (n1, a1) = found(before_today), found(after_today)
    assert (n1, a1) == (n0 + 1, a0)  # found today, not yet assigned: the share falls

    def closed(rows):
        r = rows[(rows["indicator"] == "hazards.reinspected") & (rows["level"] == "street")]
        return r.iloc[0]["figures"]["hazards_closed"]

    assert closed(after_today) == closed(before_today) + 1


# --- the command line, the API of every role, the snapshot -----------------------------------
ROLE_AREAS = {
    "grid_leader": "--grid",
    "community_staff": "--community",
    "street_staff": "--street",
    "planner": None,
    "viewer": "--street",
}


def _areas(engine, code):
    with engine.connect() as c:
        return c.execute(
            sa.select(Grid.code, Community.code, Street.code)
            .join(Community, Grid.community_id == Community.id)
            .join(Street, Community.street_id == Street.id)
            .where(Grid.code == code)
        ).one()


def _key(r):
    return (r["indicator"], r["level"], r["area"])


def test_command_line_equals_the_api_of_every_role_and_the_closed_snapshot(demo_db, demo_app):
    url, month = _url(demo_db), _last_month()
    live = json.loads(run_gridmap("indicators", "--period", month, "--json", url=url).stdout)
    assert live["source"] == "computed" and live["indicators"]
    by_key = {_key(r): r for r in live["indicators"]}
    grid_rows = [r for r in live["indicators"] if r["level"] == "grid"]
    code = grid_rows[0]["area"]
    areas = dict(zip(("--grid", "--community", "--street"), _areas(demo_db[0], code), strict=True))
    for role, flag in ROLE_AREAS.items():
        args = [flag, areas[flag]] if flag else []
        run_gridmap(
            "user",
            "add",
            f"ind-{role}",
            "--role",
            role,
            "--password",
            f"pw-{role}-123",
            *args,
            url=url,
        )
    # Live, as the grid's leader: the command line as that user and the API agree row by row.
    as_leader = json.loads(
        run_gridmap(
            "indicators",
            "--period",
            month,
            "--level",
            "grid",
            "--as",
            "ind-grid_leader",
            "--json",
            url=url,
        ).stdout
    )
    client = demo_app.test_client()
    login(client, "pw-grid_leader-123", username="ind-grid_leader")
    api = client.get(f"/api/indicators?period={month}&level=grid").get_json()
    assert api["indicators"] == as_leader["indicators"]
    assert {r["area"] for r in api["indicators"]} == {code}
    assert len(api["indicators"]) == len([r for r in grid_rows if r["area"] == code])
    for r in api["indicators"]:
        assert r == by_key[_key(r)], r["indicator"]
    # Closed: every role's API answers from the snapshot with the same numbers.
    run_gridmap("indicators", "close", "--period", month, "--by", "tester", url=url)
    refused = run_gridmap("indicators", "close", "--period", month, url=url, check=False)
    assert refused.returncode == 1 and "was closed at" in refused.stderr
    for role in ROLE_AREAS:
        c = demo_app.test_client()
        login(c, f"pw-{role}-123", username=f"ind-{role}")
        got = c.get(f"/api/indicators?period={month}").get_json()
        assert got["source"] == "snapshot" and got["indicators"], role
        for r in got["indicators"]:
            assert r == by_key[_key(r)], (role, r["indicator"], r["area"])
        if role == "grid_leader":
            assert {r["area"] for r in got["indicators"] if r["level"] == "grid"} == {code}


def test_a_correction_after_closing_is_listed_and_the_report_stays(demo_db):
    url = _url(demo_db)
    week = (date.today() - timedelta(days=14)).isocalendar()
    period = f"{week.year}-W{week.week:02d}"
    run_gridmap("indicators", "close", "--period", period, url=url)
    closed = json.loads(
        run_gridmap("indicators", "--period", period, "--level", "grid", "--json", url=url).stdout
    )
    band = {
        r["area"]: r["value"]
        for r in closed["indicators"]
        if r["indicator"] == "grids.households_band"
    }
    code = sorted(band)[0]
    with demo_db[0].begin() as c:  # a correction: one building of the grid leaves it
        gid = c.execute(sa.select(Grid.id).where(Grid.code == code)).scalar_one()
        bid = (
            c.execute(
                sa.select(Building.id)
                .where(Building.grid_id == gid, Building.use == "residential")
                .order_by(Building.id)
            )
            .scalars()
            .first()
        )
        c.execute(sa.update(Building).where(Building.id == bid).values(grid_id=None))
    try:
        again = json.loads(
            run_gridmap(
                "indicators",
                "--period",
                period,
                "--level",
                "grid",
                "--corrections",
                "--json",
                url=url,
            ).stdout
        )
        assert again["source"] == "snapshot"
        assert {
            r["area"]: r["value"]
            for r in again["indicators"]
            if r["indicator"] == "grids.households_band"
        } == band
        fix = [
            c
            for c in again["corrections"]
            if c["indicator"] == "grids.households_band" and c["area"] == code
        ]
        assert fix and fix[0]["reported"] == band[code] and fix[0]["now"] < band[code]
    finally:
        with demo_db[0].begin() as c:
            c.execute(sa.update(Building).where(Building.id == bid).values(grid_id=gid))


# --- an independent check -------------------------------------------------------------------
def test_health_facility_share_equals_pandas_on_the_exported_distances(demo_db, tmp_path):
    url = _url(demo_db)
    run_gridmap(
        "reach",
        "--category",
        "health_center",
        "--category",
        "health_station",
        "--minutes",
        "15",
        "--export",
        str(tmp_path),
        url=url,
    )
    b = pd.read_csv(
        tmp_path / "buildings.csv", dtype={"grid": str, "community": str}, encoding="utf-8-sig"
    )
    b = b[b["grid"].notna()]
    best = b[["health_center_m", "health_station_m"]].min(axis=1)
    covered = b["residents"].where(best <= 1000.0, 0)
    share_street = 100 * covered.sum() / b["residents"].sum()
    share_comm = (
        100 * covered.groupby(b["community"]).sum() / b["residents"].groupby(b["community"]).sum()
    )
    out = json.loads(
        run_gridmap("indicators", "--period", date.today().isoformat(), "--json", url=url).stdout
    )["indicators"]
    rows = [r for r in out if r["indicator"] == "health.reach_15min"]
    street = [r for r in rows if r["level"] == "street"][0]
    assert street["value"] == pytest.approx(round(share_street, 2), abs=0.006)
    for r in rows:
        if r["level"] == "community":
            assert r["value"] == pytest.approx(round(share_comm[r["area"]], 2), abs=0.006)
    assert street["status"] == ("pass" if share_street >= 90 else "fail")
