"""Benchmark: patrol coverage of a month of tracks of the whole synthetic demo street office.

    .venv/bin/python bench/patrol.py

Ours (gridmap.analysis.patrol): explode the stored tracks into fixes, clean them (speed,
gaps), node the streets into segments and 10 m pieces, match 15 m track chords to the
pieces with one STRtree dwithin query plus a heading check, and count streets, buildings,
households and key sites per grid, for the whole month and per day.

The street matching alone (gridmap.analysis.patrol.match_pieces on the prepared chords) is
timed separately, and the peers are compared with it, on the same cleaned tracks, chords and
street segments:
* GIS overlay: buffer every track by 20 m, union, intersect each street segment
  (what one does in QGIS or with geopandas.overlay) - no heading check, whole month only;
* geopandas.sjoin(predicate="dwithin") of the street pieces with the track chords;
* PostGIS: the same pieces and chords in tables with GiST indexes, one
  ST_DWithin join in SQL (skipped when no PostgreSQL/PostGIS can be started).
Each peer reports its street coverage beside ours: they differ where a track only crosses
a street (the heading check) and by the 50% rule.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from gridmap.analysis import patrol  # noqa: E402


def timed(label, fn, results, repeat=1):
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    results[label] = best
    print(f"{label:<58} {best:8.2f} s", flush=True)
    return out


def main() -> None:
    from gridmap.demo.synth import build_synthetic_city

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at start (the cores are shared)"
    )
    t = time.perf_counter()
    city = build_synthetic_city(seed=7)
    print(f"synthetic demo built in {time.perf_counter() - t:.1f} s (not timed below)")
    grids = city.grids
    crs = grids.estimate_utm_crs()
    grids_m = grids.to_crs(crs)[["code", "name", "geometry"]]
    roads_m = city.roads.to_crs(crs)
    hh = city.households.groupby("building_code").size()
    buildings_m = city.buildings.to_crs(crs).assign(
        households=lambda b: hh.reindex(b["code"]).fillna(0).to_numpy()
    )
    sites_m = city.key_sites.to_crs(crs)
    tracks_m = city.patrol_tracks.to_crs(crs)
    start = pd.Timestamp(tracks_m["started_at"].min()).normalize().to_pydatetime()
    end = pd.Timestamp(tracks_m["ended_at"].max()).normalize().to_pydatetime() + pd.Timedelta(
        days=1
    )
    month = patrol.Period(start, end)
    days = patrol.split_period(month, "day")
    print(
        f"{len(tracks_m)} tracks, {int(sum(len(t) for t in tracks_m['times']))} fixes, "
        f"{len(roads_m)} roads, {len(grids_m)} grids, {len(buildings_m)} buildings, "
        f"{len(days)} days"
    )
    r: dict[str, float] = {}
    print("\n--- gridmap ---")
    fixes = timed("fixes from stored tracks", lambda: patrol.track_fixes(tracks_m), r)
    clean = timed("clean (speed, accuracy, gaps)", lambda: patrol.clean_fixes(fixes), r)
    net = timed(
        "street network (node, 10 m pieces, grids)",
        lambda: patrol.street_network(roads_m, grids_m),
        r,
    )
    rep = timed(
        "coverage, whole month (streets, buildings, sites)",
        lambda: patrol.coverage(net, clean, [month], buildings=buildings_m, sites=sites_m),
        r,
    )
    timed(
        "coverage, whole month, streets only (like the peers)",
        lambda: patrol.coverage(net, clean, [month]),
        r,
    )
    rep_days = timed(
        "coverage, per day (28 periods)",
        lambda: patrol.coverage(net, clean, days, buildings=buildings_m, sites=sites_m),
        r,
    )
    ours_total = (
        r["fixes from stored tracks"]
        + r["clean (speed, accuracy, gaps)"]
        + r["street network (node, 10 m pieces, grids)"]
        + r["coverage, whole month (streets, buildings, sites)"]
    )
    print(f"{'end to end, whole month':<58} {ours_total:8.2f} s")
    ours_pct = rep.totals()["street_pct"]
    print(
        f"street coverage (month): {ours_pct}%; per day: mean "
        f"{rep_days.grids['street_pct'].mean():.1f}% per grid; fixes dropped "
        f"{rep.cleaning['dropped']}"
    )

    segs = timed(
        "track chords with headings (input of every matcher below)",
        lambda: patrol.track_segments(clean),
        r,
    )
    seg_len = net.segments["length_m"].to_numpy()
    all_chords = np.arange(len(segs.geoms))
    one_bin = np.zeros(len(all_chords), dtype=int)

    def ours_match():
        covered = patrol.match_pieces(net.pieces, segs, all_chords, one_bin, 1)[:, 0]
        share = (
            np.bincount(
                net.pieces["segment"],
                weights=net.pieces["length_m"] * covered,
                minlength=len(seg_len),
            )
            / seg_len
        )
        return 100 * seg_len[share >= 0.5].sum() / seg_len.sum()

    match_pct = timed("gridmap match_pieces: STRtree + heading, streets only", ours_match, r)
    print("\n--- peers (same cleaned tracks, chords and street segments) ---")

    def overlay():
        lines = patrol.track_pieces(clean, crs).geometry.values
        zone = shapely.union_all(shapely.buffer(np.asarray(lines, dtype=object), 20.0))
        inter = shapely.intersection(np.asarray(net.segments.geometry.values, dtype=object), zone)
        share = shapely.length(inter) / seg_len
        return 100 * seg_len[share >= 0.5].sum() / seg_len.sum()

    overlay_pct = timed("GIS overlay: buffer 20 m + union + intersect", overlay, r)

    pieces = gpd.GeoDataFrame(
        net.pieces, geometry=gpd.points_from_xy(net.pieces["mx"], net.pieces["my"]), crs=crs
    )
    chords = gpd.GeoDataFrame({"k": np.arange(len(segs.geoms))}, geometry=segs.geoms, crs=crs)

    def sjoin():
        j = gpd.sjoin(pieces, chords, predicate="dwithin", distance=20.0, how="inner")
        covered = np.zeros(len(pieces), dtype=bool)
        covered[np.unique(j.index.to_numpy())] = True
        share = (
            np.bincount(
                pieces["segment"], weights=pieces["length_m"] * covered, minlength=len(seg_len)
            )
            / seg_len
        )
        return 100 * seg_len[share >= 0.5].sum() / seg_len.sum()

    sjoin_pct = timed("geopandas.sjoin(predicate='dwithin')", sjoin, r)
    pg_pct = postgis_peer(pieces, chords, seg_len, r)

    print("\n--- summary ---")
    print(
        f"street coverage, month: gridmap {ours_pct:.1f}% (match_pieces alone {match_pct:.1f}%) "
        f"| overlay {overlay_pct:.1f}% | "
        f"sjoin {sjoin_pct:.1f}%" + (f" | PostGIS {pg_pct:.1f}%" if pg_pct is not None else "")
    )
    match = r["gridmap match_pieces: STRtree + heading, streets only"]
    for peer in (
        "GIS overlay: buffer 20 m + union + intersect",
        "geopandas.sjoin(predicate='dwithin')",
        "PostGIS ST_DWithin query only",
    ):
        if peer in r:
            print(f"{peer:<58} {r[peer] / match:6.2f} x gridmap match_pieces")


def postgis_peer(pieces, chords, seg_len, r) -> float | None:
    try:
        import psycopg

        from pgserver import PostgisUnavailable, postgis_server
    except ImportError as exc:
        print(f"PostGIS peer skipped: {exc}")
        return None
    try:
        with postgis_server() as server, server.database() as url:
            dsn = url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn, autocommit=True) as conn:
                return _postgis_run(conn, pieces, chords, seg_len, r)
    except PostgisUnavailable as exc:
        print(f"PostGIS peer skipped: {exc}")
        return None


def _postgis_run(conn, pieces, chords, seg_len, r) -> float:
    srid = pieces.crs.to_epsg()

    def load():
        with conn.cursor() as cur:
            cur.execute("create extension if not exists postgis")
            cur.execute(
                f"create table piece (id int, segment int, len float8, geom geometry(Point, {srid}))"
            )
            cur.execute(f"create table chord (id int, geom geometry(LineString, {srid}))")
            with cur.copy("copy piece (id, segment, len, geom) from stdin") as cp:
                for i, (s, ln, x, y) in enumerate(
                    zip(
                        pieces["segment"],
                        pieces["length_m"],
                        pieces["mx"],
                        pieces["my"],
                        strict=True,
                    )
                ):
                    cp.write_row((i, int(s), float(ln), f"SRID={srid};POINT({x:.2f} {y:.2f})"))
            with cur.copy("copy chord (id, geom) from stdin") as cp:
                for i, g in enumerate(shapely.to_wkt(chords.geometry.values, rounding_precision=2)):
                    cp.write_row((i, f"SRID={srid};{g}"))
            cur.execute("create index on piece using gist (geom)")
            cur.execute("create index on chord using gist (geom)")
            cur.execute("analyze piece; analyze chord")

    timed("PostGIS load + GiST index (not in the ratio)", load, r)
    query = (
        "select p.id from piece p where exists "
        "(select 1 from chord c where ST_DWithin(p.geom, c.geom, 20))"
    )

    def run():
        with conn.cursor() as cur:
            cur.execute(query)
            return np.array([row[0] for row in cur.fetchall()], dtype=int)

    ids = timed("PostGIS ST_DWithin query only", run, r)
    covered = np.zeros(len(pieces), dtype=bool)
    covered[ids] = True
    share = (
        np.bincount(pieces["segment"], weights=pieces["length_m"] * covered, minlength=len(seg_len))
        / seg_len
    )
    return 100 * seg_len[share >= 0.5].sum() / seg_len.sum()


if __name__ == "__main__":
    main()
