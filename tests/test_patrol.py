"""Patrol cleaning, street matching and coverage on hand-worked cases (metric CRS)."""

from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.analysis import patrol
from gridmap.errors import InvalidInput

CRS = "EPSG:32650"  # UTM 50N (Beijing)
X0, Y0 = 440000.0, 4428000.0
T0 = datetime(2025, 6, 2, 9, 0)


def _lattice():
    """A 200 m x 200 m grid with streets every 100 m (3 + 3 lines): 1,200 m of street."""
    lines = []
    for k in (0, 100, 200):
        lines.append(shapely.LineString([(X0 + k, Y0), (X0 + k, Y0 + 200)]))
        lines.append(shapely.LineString([(X0, Y0 + k), (X0 + 200, Y0 + k)]))
    roads = gpd.GeoDataFrame(
        {"name": [f"路{i}" for i in range(6)], "highway": "residential", "foot": None},
        geometry=lines,
        crs=CRS,
    )
    grids = gpd.GeoDataFrame(
        {"code": ["G1"], "name": ["一网格"]},
        geometry=[shapely.box(X0, Y0, X0 + 200, Y0 + 200)],
        crs=CRS,
    )
    return roads, grids


def _walk(waypoints, *, step_m=7.0, speed_mps=1.4, start=T0, noise_m=0.0, seed=1):
    """Fixes every step_m along the polyline through ``waypoints`` (relative metres)."""
    line = shapely.LineString([(X0 + x, Y0 + y) for x, y in waypoints])
    d = np.arange(0, line.length + 1e-9, step_m)
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, d))
    rng = np.random.default_rng(seed)
    pts = pts + rng.normal(0, noise_m, pts.shape) if noise_m else pts
    t = [start + timedelta(seconds=float(s)) for s in d / speed_mps]
    return pts, t


def _fixes(pts, t, track="T1", patroller="张三", accuracy=None):
    return patrol.fixes_frame(
        track=track, patroller=patroller, t=t, x=pts[:, 0], y=pts[:, 1], accuracy_m=accuracy
    )


WEST_HALF = [(100, 200), (0, 200), (0, 100), (100, 100), (100, 0), (0, 0), (0, 100)]


def test_track_along_half_the_streets_gives_50_percent():
    roads, grids = _lattice()
    net = patrol.street_network(roads, grids)
    assert net.segments["length_m"].sum() == pytest.approx(1200, abs=0.01)
    pts, t = _walk(WEST_HALF, noise_m=3.0)
    clean = patrol.clean_fixes(_fixes(pts, t))
    assert clean["keep"].all()
    period = patrol.parse_period("2025-06-02")
    report = patrol.coverage(net, clean, [period])
    row = report.grids.iloc[0]
    assert row["street_m"] == pytest.approx(1200, abs=0.5)
    # Hand-worked: the walk follows 6 of the 12 street segments of 100 m = 600 m of 1,200 m.
    assert row["street_pct"] == pytest.approx(50.0, abs=2.0)
    assert int(report.segments["patrolled"].sum()) == 6
    # The unpatrolled streets are the east half, 600 m, longest first, per grid.
    assert report.unpatrolled["length_m"].sum() == pytest.approx(600, abs=1)
    assert report.totals()["street_pct"] == pytest.approx(50.0, abs=2.0)
    # Patroller totals: the walk is 600 m at 1.4 m/s. The noise (3 m) would add 18% to the
    # length measured fix to fix; measured along 15 m chords it stays within 5%.
    p = report.patrollers.iloc[0]
    assert p["patroller"] == "张三" and p["patrols"] == 1
    assert np.hypot(*np.diff(pts, axis=0).T).sum() > 680
    assert p["km"] == pytest.approx(0.6, rel=0.05)
    assert p["hours"] == pytest.approx(600 / 1.4 / 3600, rel=0.03)
    assert p["day_hours"] == p["hours"] and p["night_hours"] == 0


def test_crossing_a_street_does_not_patrol_it():
    roads, grids = _lattice()
    net = patrol.street_network(roads, grids)
    # Walk only along x=100 from south to north: crosses y=100 at a right angle.
    pts, t = _walk([(100, 0), (100, 200)])
    report = patrol.coverage(
        net, patrol.clean_fixes(_fixes(pts, t)), [patrol.parse_period("2025-06-02")]
    )
    assert report.grids.iloc[0]["patrolled_m"] == pytest.approx(200, abs=0.5)
    seg = report.segments
    patrolled_vertical = seg[seg["patrolled"]].geometry.apply(
        lambda g: abs(g.coords[0][0] - g.coords[-1][0]) < 1e-6
    )
    assert patrolled_vertical.all() and len(patrolled_vertical) == 2


def test_gps_jump_is_cleaned_and_gaps_split_the_track():
    pts, t = _walk([(0, 0), (0, 200)], step_m=7)
    pts = pts.copy()
    pts[10] += [600, 0]  # a jump of 600 m within 5 s: 432 km/h
    # A second walk 30 min later (a gap > 10 min): a new piece.
    pts2, t2 = _walk([(0, 0), (0, 100)], start=t[-1] + timedelta(minutes=30))
    acc = np.r_[np.full(len(pts), 8.0), np.full(len(pts2), 8.0)]
    acc[3] = 120.0  # a fix the device itself reported as poor
    fixes = _fixes(np.r_[pts, pts2], list(t) + list(t2), accuracy=acc)
    clean = patrol.clean_fixes(fixes)
    assert clean.loc[10, "reason"] == "speed" and not clean.loc[10, "keep"]
    assert clean.loc[3, "reason"] == "accuracy"
    assert clean["keep"].sum() == len(fixes) - 2
    assert clean.loc[clean["keep"], "piece"].nunique() == 2
    pieces = patrol.track_pieces(clean, CRS)
    # Without the jump the first piece is the 200 m walk again (not 200 + 2 x 600 m).
    assert pieces["length_m"].iloc[0] == pytest.approx(pts[-1][1] - pts[0][1], abs=0.5)
    assert pieces["length_m"].iloc[1] == pytest.approx(98, abs=1)


def test_a_jump_at_the_first_fix_drops_the_first_fix():
    pts, t = _walk([(0, 0), (0, 100)])
    pts = pts.copy()
    pts[0] += [0, -900]
    clean = patrol.clean_fixes(_fixes(pts, t))
    assert list(clean.index[~clean["keep"]]) == [0]


def test_buildings_households_and_key_site_visits():
    roads, grids = _lattice()
    net = patrol.street_network(roads, grids)
    near = shapely.box(X0 + 10, Y0 + 110, X0 + 40, Y0 + 140)  # 10 m from x=0
    far = shapely.box(X0 + 140, Y0 + 140, X0 + 170, Y0 + 170)  # 30+ m from every walked street
    buildings = gpd.GeoDataFrame(
        {"code": ["B1", "B2"], "grid_code": ["G1", "G1"], "households": [30, 10]},
        geometry=[near, far],
        crs=CRS,
    )
    # Site S1 on the walk; the walk pauses 90 s at it. S2 is passed without stopping.
    sites = gpd.GeoDataFrame(
        {"code": ["S1", "S2"], "grid_code": ["G1", "G1"]},
        geometry=[shapely.Point(X0, Y0 + 150), shapely.Point(X0 + 50, Y0)],
        crs=CRS,
    )
    pts, t = _walk(WEST_HALF)
    stop = int(np.argmin(np.abs(pts[:, 1] - (Y0 + 150)) + np.abs(pts[:, 0] - X0)))
    t = [ti + (timedelta(seconds=90) if i > stop else timedelta()) for i, ti in enumerate(t)]
    pts = np.insert(pts, stop + 1, pts[stop], axis=0)
    t.insert(stop + 1, t[stop] + timedelta(seconds=90))
    t[stop + 2 :] = [ti + timedelta(seconds=1) for ti in t[stop + 2 :]]
    clean = patrol.clean_fixes(_fixes(pts, t))
    report = patrol.coverage(
        net, clean, [patrol.parse_period("2025-06-02")], buildings=buildings, sites=sites
    )
    row = report.grids.iloc[0]
    assert (row["buildings"], row["buildings_passed"]) == (2, 1)
    assert (row["households"], row["households_covered"]) == (40, 30)
    assert row["households_pct"] == pytest.approx(75.0)
    assert (row["key_sites"], row["key_sites_visited"]) == (2, 1)
    visited = report.sites.set_index("code")
    assert visited.loc["S1", "visited"] and not visited.loc["S2", "visited"]
    assert visited.loc["S1", "minutes_near"] > 1.5


def test_periods_and_day_night_shifts():
    roads, grids = _lattice()
    net = patrol.street_network(roads, grids)
    day_pts, day_t = _walk([(0, 0), (0, 200)], start=datetime(2025, 6, 2, 10, 0))
    night_pts, night_t = _walk([(200, 0), (200, 200)], start=datetime(2025, 6, 4, 22, 0))
    fixes = pd.concat(
        [_fixes(day_pts, day_t, track="D"), _fixes(night_pts, night_t, track="N")],
        ignore_index=True,
    )
    clean = patrol.clean_fixes(fixes)
    days = patrol.split_period(patrol.parse_period("2025-06-02/2025-06-04"), "day")
    assert [p.label for p in days] == ["2025-06-02", "2025-06-03", "2025-06-04"]
    by_day = patrol.coverage(net, clean, days).grids.set_index("period")
    assert list(by_day["patrolled_m"].round()) == [200, 0, 200]
    night = patrol.coverage(net, clean, days, shift="night").grids.set_index("period")
    assert list(night["patrolled_m"].round()) == [0, 0, 200]
    week = patrol.split_period(patrol.parse_period("2025-06"), "week")
    assert week[0].start == datetime(2025, 6, 1) and week[1].start == datetime(2025, 6, 2)
    assert week[-1].end == datetime(2025, 7, 1)


def test_parse_period_forms_and_errors():
    assert patrol.parse_period("2025-06-01/2025-06-30").end == datetime(2025, 7, 1)
    assert patrol.parse_period("2025-W23").start == datetime(2025, 6, 2)
    assert patrol.parse_period("2025-12").end == datetime(2026, 1, 1)
    with pytest.raises(InvalidInput, match="not understood"):
        patrol.parse_period("last month")
    with pytest.raises(InvalidInput, match="ends before"):
        patrol.parse_period("2025-06-30/2025-06-01")


def test_stored_tracks_explode_into_fixes():
    line = shapely.LineString([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)])
    tracks = gpd.GeoDataFrame(
        {"code": ["PT1"], "patroller": ["李四"], "started_at": [T0], "times": [[0.0, 7.0, 14.0]]},
        geometry=[line],
        crs=CRS,
    )
    fixes = patrol.track_fixes(tracks)
    assert list(fixes["x"] - X0) == [0, 10, 20]
    assert fixes["t"].iloc[2] == pd.Timestamp(T0 + timedelta(seconds=14))
    tracks.at[0, "times"] = [0.0, 7.0]
    with pytest.raises(InvalidInput, match="PT1"):
        patrol.track_fixes(tracks)
    with pytest.raises(InvalidInput, match="projected"):
        patrol.track_fixes(tracks.to_crs(4326))


def test_overdue_sites_from_last_inspection_and_interval():
    sites = pd.DataFrame(
        {
            "code": ["A", "B", "C"],
            "inspection_interval_days": [7, 30, 14],
            "last_inspected": [datetime(2025, 6, 1), datetime(2025, 6, 1), None],
        }
    )
    out = patrol.overdue_sites(sites, as_of=datetime(2025, 6, 11))
    assert list(out["overdue"]) == [True, False, True]
    assert out.loc[0, "days_overdue"] == 3.0
    assert np.isinf(out.loc[2, "days_overdue"])
