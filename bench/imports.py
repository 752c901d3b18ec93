"""Benchmark: the import path on real files, against peers in the same run.

    .venv/bin/python bench/imports.py

1. GCJ-02 -> WGS84 on every vertex of the four Amap district Shapefiles in
   ../shared/data/admin (Shanghai, Beijing, Shenzhen, Hangzhou; GCJ-02):
   ours (gridmap.crs.gcj02_to_wgs84, vectorised fixed-point iteration) against
   eviltransform.gcj2wgs_exact (the commonly used pure-Python iterative inverse) and
   eviltransform.gcj2wgs (its one-step approximation). Accuracy is the largest distance
   between the forward transform of the result and the input (0 = exact inverse).
2. Reading with the whole triage (encoding, CRS, geometry checks): ours
   (geodata.readers.read_source) against a bare pyogrio.read_dataframe with the right
   encoding given by hand, on the GBK district Shapefile and the 7,513-row Amap hospital
   CSV (pandas.read_csv + points_from_xy as the peer).
3. A whole import (dry run, SpatiaLite in a temporary file) of the hospital CSV as
   facilities: read, map, normalise, key, compare, report.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyproj
import shapely

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from _common import best_of  # noqa: E402

from geodata.column_mapping import Mapping  # noqa: E402
from geodata.db.engine import make_engine, session_factory  # noqa: E402
from geodata.db.migrate import upgrade  # noqa: E402
from geodata.importer import ImportOptions, import_file  # noqa: E402
from geodata.readers import read_source  # noqa: E402
from gridmap import crs  # noqa: E402
from gridmap.privacy import Requester  # noqa: E402

GEOD = pyproj.Geod(ellps="WGS84")


def max_error_m(lon, lat, gx, gy) -> float:
    fx, fy = crs.wgs84_to_gcj02(lon, lat)
    return float(np.max(GEOD.inv(fx, fy, gx, gy)[2]))


def bench_gcj02() -> None:
    import eviltransform
    import pyogrio

    coords = []
    for shp in sorted((DATA / "admin/garybikini_district_gcj02_utf8_nocpg").glob("*.shp")):
        frame = pyogrio.read_dataframe(shp, encoding="UTF-8")
        coords.append(shapely.get_coordinates(frame.geometry.to_numpy()))
    xy = np.vstack(coords)
    gx, gy = xy[:, 0], xy[:, 1]
    print(f"\n1. GCJ-02 -> WGS84, {len(xy):,} vertices of 4 Amap district files")
    t_ours, (ox, oy) = best_of(lambda: crs.gcj02_to_wgs84(gx, gy))

    def evil(fn):
        out = np.array([fn(la, lo) for lo, la in zip(gx, gy, strict=True)])
        return out[:, 1], out[:, 0]

    t_exact, (ex, ey) = best_of(lambda: evil(eviltransform.gcj2wgs_exact), repeat=1)
    t_approx, (ax, ay) = best_of(lambda: evil(eviltransform.gcj2wgs), repeat=1)
    rows = [
        ("gridmap.crs.gcj02_to_wgs84 (ours)", t_ours, max_error_m(ox, oy, gx, gy)),
        ("eviltransform.gcj2wgs_exact", t_exact, max_error_m(ex, ey, gx, gy)),
        ("eviltransform.gcj2wgs (one step)", t_approx, max_error_m(ax, ay, gx, gy)),
    ]
    for label, t, err in rows:
        print(f"   {label:<38} {t:8.3f} s  {t / t_ours:7.1f}x ours  max error {err:.6f} m")


def bench_read() -> None:
    import geopandas as gpd
    import pandas as pd
    import pyogrio

    shp = DATA / "admin/shanghai_districts_gbk_ldid936/区县界_area.shp"
    csv = DATA / "poi/shanghai_amap/shanghai_hospital.csv"
    print("\n2. reading with encoding/CRS triage and geometry checks")
    t_ours, src = best_of(lambda: read_source(shp))
    t_peer, _ = best_of(lambda: pyogrio.read_dataframe(shp, encoding="GBK"))
    print(
        f"   {'GBK Shapefile, 17 districts: ours':<38} {t_ours:8.3f} s   "
        f"pyogrio.read_dataframe {t_peer:.3f} s   ratio {t_ours / t_peer:.1f}x  "
        f"({src.encoding}, {src.crs})"
    )
    t_ours, src = best_of(lambda: read_source(csv))

    def peer():
        df = pd.read_csv(csv, dtype=str)
        return gpd.GeoDataFrame(
            df,
            geometry=gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)),
            crs=4326,
        )

    t_peer, _ = best_of(peer)
    print(
        f"   {'Amap CSV, 7,513 rows: ours':<38} {t_ours:8.3f} s   "
        f"pandas+points_from_xy {t_peer:.3f} s   ratio {t_ours / t_peer:.1f}x  "
        f"({src.encoding})"
    )


def bench_import() -> None:
    csv = DATA / "poi/shanghai_amap/shanghai_hospital.csv"
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite")
        upgrade(engine)
        options = ImportOptions(
            mapping=Mapping(fields={"type": "props"}, defaults={"category": "clinic"})
        )
        with session_factory(engine)() as s:
            t, report = best_of(
                lambda: import_file(
                    s, csv, "facilities", options, Requester.system(), dry_run=True
                ),
                repeat=1,
            )
            t_write = time.perf_counter()
            import_file(s, csv, "facilities", options, Requester.system())
            s.commit()
            t_write = time.perf_counter() - t_write
        engine.dispose()
    print("\n3. whole import of the 7,513-row hospital CSV as facilities (SpatiaLite)")
    print(
        f"   dry run (read, map, key, compare, report) {t:8.3f} s  "
        f"({report.features / t:,.0f} rows/s, {len(report.problems)} report lines)"
    )
    print(f"   real import in one transaction            {t_write:8.3f} s")


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    bench_gcj02()
    bench_read()
    bench_import()


if __name__ == "__main__":
    main()
