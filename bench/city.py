"""Benchmark: a month of indicators of a generated city, through the distributed engine.

    .venv/bin/python bench/city.py [--streets 8] [--backend postgis|spatialite]
                                   [--workers 2] [--analysis indicators]

A city of ``--streets`` synthetic street offices (gridmap.demo.streets: each ~1,400
buildings, 23,000 households, 55,000 residents, 1,700 patrol tracks of four weeks) is
built (not timed), then the last whole month's indicators of every street office are
computed twice in the same run:
* the engine: ``gridmap run indicators --all-streets --period M`` on a local Dask cluster
  of ``--workers`` processes (one task per street office);
* the peer: the same command with ``--sequential`` (the same tasks one after another in
  one process, no Dask).
Both write every row to ``street_result``; the script checks they are identical, prints
both wall times, their ratio, and what 300 street offices would take at the measured
rate per street office with this many processes (street offices are independent tasks of
the same size, so the time grows linearly with their number).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

CITY_STREETS = 300  # the city the target speaks of


def _last_month() -> str:
    first = date.today().replace(day=1)
    prev = date.fromordinal(first.toordinal() - 1)
    return f"{prev.year}-{prev.month:02d}"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _gridmap(args: list[str], url: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and the worker processes it started, as
    they are reaped) and the output of one ``gridmap`` command."""
    env = {k: v for k, v in os.environ.items() if k != "GRIDMAP_DASK_SCHEDULER"}
    env["GRIDMAP_DATABASE_URL"] = url
    t, cpu = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "gridmap"), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds, cpu_s = time.perf_counter() - t, _children_cpu_s() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"gridmap {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, cpu_s, proc.stdout.strip()


def bench(url: str, args) -> None:
    from geodata.db.engine import make_engine, session_factory
    from geodata.db.migrate import upgrade
    from geodata.demo import store_city_of_streets
    from geodata.street_runs import stored_results
    from gridmap.analysis.patrol import parse_period

    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    t = time.perf_counter()
    written = store_city_of_streets(sessions, args.streets)
    print(
        f"city of {args.streets} street offices built in {time.perf_counter() - t:.0f} s "
        f"(not timed below): {written['grid']} grids, {written['building']} buildings, "
        f"{written['household']} households, {written['resident']} residents, "
        f"{written['patrol_track']} patrol tracks",
        flush=True,
    )
    month = _last_month()
    run = ["run", args.analysis, "--all-streets", "--period", month]
    engine_s, engine_cpu, out = _gridmap([*run, "--workers", str(args.workers)], url)
    print(
        f"engine  (local Dask cluster, {args.workers} processes): {engine_s:8.1f} s "
        f"(cpu {engine_cpu:.1f} s)   {out}",
        flush=True,
    )
    with sessions() as s:
        by_engine = stored_results(s, args.analysis, parse_period(month))
    peer_s, peer_cpu, out = _gridmap([*run, "--sequential"], url)
    print(
        f"peer    (sequential, one process):            {peer_s:8.1f} s "
        f"(cpu {peer_cpu:.1f} s)   {out}",
        flush=True,
    )
    with sessions() as s:
        by_peer = stored_results(s, args.analysis, parse_period(month))
    assert by_engine == by_peer and by_engine, "the engine's rows differ from the peer's"
    per_street = engine_s / args.streets
    print(
        f"identical rows: {len(by_engine)}; peer / engine = {peer_s / engine_s:.2f}; "
        f"per street office: engine {per_street:.1f} s, peer {peer_s / args.streets:.1f} s"
    )
    print(
        f"CPU per street office: engine {engine_cpu / args.streets:.1f} s, peer "
        f"{peer_cpu / args.streets:.1f} s (start-up included; load-independent, unlike the "
        f"wall times on a shared machine); {CITY_STREETS} street offices at the peer's CPU "
        f"rate on {args.workers} idle cores: "
        f"{peer_cpu / args.streets * CITY_STREETS / args.workers / 60:.1f} min"
    )
    print(
        f"{CITY_STREETS} street offices at this rate: engine {per_street * CITY_STREETS / 60:.0f} "
        f"min on {args.workers} processes, peer {peer_s / args.streets * CITY_STREETS / 60:.0f} "
        "min (linear: independent tasks of the same size)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streets", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--backend", choices=("postgis", "spatialite"), default="postgis")
    parser.add_argument(
        "--analysis", default="indicators", choices=("patrol", "risk", "indicators", "reach")
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at start "
        "(the cores are shared)"
    )
    print(f"{args.analysis} of the month {_last_month()}, backend {args.backend}", flush=True)
    with ExitStack() as stack:
        if args.backend == "postgis":
            from pgserver import postgis_server

            url = stack.enter_context(stack.enter_context(postgis_server()).database())
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gridmap-city-")))
            url = f"sqlite:///{tmp / 'city.sqlite'}"
        bench(url, args)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
