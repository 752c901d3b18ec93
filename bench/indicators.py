"""Benchmark: a month of indicators (指标考核) of the synthetic demo street office.

    .venv/bin/python bench/indicators.py

Peer: the naive recomputation (``geodata.db.indicators.compute_figures`` + evaluate: the
walking distances of every building to the health facilities, patrol coverage per week
and per month, hazards from their history, the register, the tiling of communities) beside
the stored result paths:
* the closed month answered from its snapshot (``indicator_snapshot``), through the API;
* a running period answered from the in-process figures cache (keyed by the data
  fingerprint), through the API, after its first computation.
Server time is measured with Flask's test client (no network). All paths must give the
same values; the script checks the snapshot against the naive recomputation.
"""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _common import best_of, build_demo, machine_header  # noqa: E402


def timed(label, fn, results, repeat=1):
    best, out = best_of(fn, repeat)
    results[label] = best
    print(f"{label:<62} {best:8.3f} s", flush=True)
    return out


def main() -> None:
    print(machine_header())
    url, password = build_demo()

    import sqlalchemy as sa

    from geodata.db import memo
    from geodata.db.engine import make_engine, session_factory
    from geodata.db.indicators import close_period, compute_figures
    from gridmap.analysis import indicators as ind
    from gridmap.analysis.patrol import parse_period
    from gridmap.standards.indicators import load_indicators
    from web.app import create_app

    from conftest import login

    first = date.today().replace(day=1) - timedelta(days=1)
    month = f"{first.year}-{first.month:02d}"
    period = parse_period(month)
    items = load_indicators()
    engine = make_engine(url)
    results: dict[str, float] = {}
    with session_factory(engine).begin() as s:
        grids = s.execute(sa.text("SELECT count(*) FROM grid")).scalar()
        print(f"{grids} grids, month {month}, {len(items.enabled())} indicators enabled\n")
        print("--- peer: naive recomputation ---")
        figures, names = timed(
            "figures of the month from the tables (compute_figures)",
            lambda: compute_figures(s, period, indicators=items),
            results,
        )
        naive = timed(
            "evaluate the indicator table on them",
            lambda: ind.evaluate(items, figures, names=names),
            results,
        )
        memo.clear()  # closing computes afresh, as it would in a new process
        timed(
            "close the month (compute + store the snapshot)",
            lambda: close_period(s, period, by="bench"),
            results,
        )
    print("\n--- stored results, through the API (server time) ---")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    client = app.test_client()
    login(client, password)
    api = timed(
        f"GET /api/indicators?period={month} (closed: snapshot)",
        lambda: client.get(f"/api/indicators?period={month}").get_json(),
        results,
        repeat=5,
    )
    running = date.today().isoformat()
    timed(
        f"GET /api/indicators?period={running} (running, first computation)",
        lambda: client.get(f"/api/indicators?period={running}").get_json(),
        results,
    )
    timed(
        f"GET /api/indicators?period={running} (running, again: cached)",
        lambda: client.get(f"/api/indicators?period={running}").get_json(),
        results,
        repeat=5,
    )
    timed(
        "GET /indicators (page, closed month)",
        lambda: client.get(f"/indicators?period={month}").status_code,
        results,
        repeat=3,
    )

    def norm(v):
        return None if v is None or v != v else v

    rows = {
        (r["indicator"], r["level"], r["area"]): norm(r["value"]) for r in naive.to_dict("records")
    }
    agree = all(
        rows[(r["indicator"], r["level"], r["area"])] == norm(r["value"]) for r in api["indicators"]
    )
    print(
        f"\nrows: {len(api['indicators'])}; snapshot values (API) == naive recomputation: {agree}"
    )
    naive_s = results["figures of the month from the tables (compute_figures)"]
    snap_s = results[f"GET /api/indicators?period={month} (closed: snapshot)"]
    print(f"naive {naive_s:.2f} s vs snapshot {snap_s * 1000:.0f} ms: {naive_s / snap_s:.0f}x")
    print(
        "not measured: a city of 300 street offices (the naive path scales with the "
        "buildings and tracks of each street office; closing runs once per office and month)"
    )
    engine.dispose()
    app.extensions["gridmap_engine"].dispose()


if __name__ == "__main__":
    main()
