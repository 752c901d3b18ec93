"""Benchmark: a city's household register imported and joined to its buildings.

    .venv/bin/python bench/register.py [--households 1000000] [--old-households 100000]
                                       [--buildings 20000] [--backends postgis,spatialite]

Generated data: ``--buildings`` building footprints (a street grid in Beijing, codes
B000001 ...) written straight into a fresh database, and a CSV of ``--households``
households (楼栋编码, 单元, 房号, 人口数) spread over them. Each run is one child process
with a fresh database (PostGIS on $GRIDMAP_BENCH_PG or 127.0.0.1:5432, or a SpatiaLite
file) and reports:

* dry run: ``import_file(..., dry_run=True)``: read, map, match every household to its
  building, check, report;
* write: the same import written and committed (one transaction);
* peak memory: the child's peak resident set (``ru_maxrss``) over both.

Two code paths side by side in the same run:

* **bulk** (this tree): households converted once per distinct value and matched over whole
  columns; PostgreSQL writes by COPY.
* **per row** (the tree this one branched from, ``git merge-base HEAD main``, unpacked with
  ``git archive``): one lookup per row and INSERT batches of 2,000. It is measured on
  ``--old-households`` rows (100,000 by default: the full million takes it tens of minutes),
  and per-row throughput is what to compare.

Results: bench/results/register.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "register.txt"


# --- data ------------------------------------------------------------------------------
def write_households_csv(path: Path, n: int, buildings: int, seed: int = 7) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    per = int(np.ceil(n / buildings))
    k = np.arange(n)
    b = k // per + 1
    slot = k % per
    frame = pd.DataFrame(
        {
            "楼栋编码": [f"B{v:06d}" for v in b],
            "单元": (slot % 4 + 1).astype(str),
            "房号": [f"{f}{r:02d}" for f, r in zip(slot // 8 + 1, slot % 8 + 1, strict=True)],
            "人口数": rng.integers(1, 6, n),
        }
    )
    frame.to_csv(path, index=False, encoding="utf-8")


def insert_buildings(engine, n: int) -> None:
    import sqlalchemy as sa

    side = int(n**0.5) + 1
    rows = []
    for i in range(n):
        x, y = 116.30 + (i % side) * 0.0004, 39.95 + (i // side) * 0.0004
        ring = (
            f"(({x} {y}, {x + 0.0002} {y}, {x + 0.0002} {y + 0.0002}, {x} {y + 0.0002}, {x} {y}))"
        )
        rows.append(
            {
                "code": f"B{i + 1:06d}",
                "address": f"示例路{i + 1}号楼",
                "use": "residential",
                "geom": f"SRID=4326;MULTIPOLYGON({ring})",
            }
        )
    fn = "ST_GeomFromEWKT" if engine.dialect.name == "postgresql" else "GeomFromEWKT"
    stmt = sa.text(
        f"INSERT INTO building (code, address, use, geom) VALUES "
        f"(:code, :address, :use, {fn}(:geom))"
    )
    with engine.begin() as c:
        for start in range(0, n, 5000):
            c.execute(stmt, rows[start : start + 5000])


# --- one run in a child process --------------------------------------------------------------
def child(args) -> None:
    sys.path.insert(0, args.code)
    import resource

    import sqlalchemy as sa

    from geodata.db.engine import make_engine, session_factory
    from geodata.db.migrate import upgrade
    from geodata.importer import ImportOptions, import_file
    from gridmap.privacy import Requester

    engine = make_engine(args.url)
    upgrade(engine)
    insert_buildings(engine, args.buildings)
    sessions = session_factory(engine)
    t = time.perf_counter()
    with sessions() as s:
        dry = import_file(
            s, args.csv, "households", ImportOptions(), Requester.system(), dry_run=True
        )
        s.rollback()
    dry_s = time.perf_counter() - t
    t = time.perf_counter()
    with sessions() as s:
        report = import_file(s, args.csv, "households", ImportOptions(), Requester.system())
        s.commit()
    write_s = time.perf_counter() - t
    with engine.connect() as c:
        stored = c.execute(
            sa.text("SELECT count(*) FROM household h JOIN building b ON b.id = h.building_id")
        ).scalar()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "dry_s": dry_s,
                "write_s": write_s,
                "peak_mib": peak_mib,
                "errors": len(dry.errors),
                "written": report.written,
                "stored_joined": stored,
            }
        )
    )
    engine.dispose()


def run_child(code: Path, backend: str, n: int, buildings: int, csv: Path) -> dict:
    import psycopg

    pg = os.environ.get("GRIDMAP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    tmp = Path(tempfile.mkdtemp(prefix="gm-bench-register-"))
    if backend == "postgis":
        name = f"gm_bench_register_{os.getpid()}_{int(time.time())}"
        with psycopg.connect(pg, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
            url = pg.rsplit("/", 1)[0] + "/" + name
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        url = url.replace("postgresql://", "postgresql+psycopg://")
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    try:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--code",
                str(code),
                "--url",
                url,
                "--csv",
                str(csv),
                "--buildings",
                str(buildings),
            ],
            capture_output=True,
            text=True,
            cwd=code,
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if backend == "postgis":
            with psycopg.connect(pg, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out.update(backend=backend, households=n)
    return out


def base_tree(dest: Path) -> str:
    """The tree this one branched from, unpacked into ``dest``; returns its commit."""
    base = subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", base, "geodata", "gridmap", "migrations"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return base


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--old-households", type=int, default=100_000)
    ap.add_argument("--buildings", type=int, default=20_000)
    ap.add_argument("--backends", default="postgis,spatialite")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--code")
    ap.add_argument("--url")
    ap.add_argument("--csv")
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    work = Path(tempfile.mkdtemp(prefix="gm-bench-register-"))
    old = work / "old"
    old.mkdir()
    base = base_tree(old)
    csvs = {}
    for n in sorted({args.households, args.old_households}):
        csvs[n] = work / f"households_{n}.csv"
        write_households_csv(csvs[n], n, args.buildings)
    lines = [
        f"# bench/register.py  {time.strftime('%Y-%m-%d %H:%M')}  python "
        f"{platform.python_version()}  {os.cpu_count()} cores  {platform.machine()}",
        f"# {args.buildings:,} buildings; households CSV (楼栋编码, 单元, 房号, 人口数); "
        f"per-row path = {base[:10]} (merge-base with main)",
        "# backend     path      households  dry run s  write s  rows/s (write)  "
        "peak MiB  stored+joined",
    ]
    for backend in args.backends.split(","):
        runs = [("bulk", ROOT, args.households), ("per row", old, args.old_households)]
        for label, code, n in runs:
            r = run_child(code, backend, n, args.buildings, csvs[n])
            line = (
                f"  {backend:<11} {label:<9} {n:>10,}  {r['dry_s']:>9.1f}  "
                f"{r['write_s']:>7.1f}  {n / r['write_s']:>14,.0f}  {r['peak_mib']:>8,.0f}  "
                f"{r['stored_joined']:>13,}"
            )
            print(line, flush=True)
            lines.append(line)
            assert r["errors"] == 0 and r["stored_joined"] == n, r
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
