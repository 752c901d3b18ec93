"""Benchmark: the street overview of a generated street office of 50,000 buildings, in
headless Chromium, ours beside the same map built the plain folium way.

    .venv/bin/python bench/web_large.py [--buildings 50000] [--runs 3] [--backend both|spatialite|postgis]

Budget: under 2 MB transferred before the map is interactive, interactive within
3 s. "Interactive" = the map has drawn its first data and the main thread is free:

* ours (``/``): grids load as GeoJSON by bbox, buildings as Mapbox vector tiles
  (ST_AsMVT on PostGIS, gridmap.vector on SpatiaLite); the page fires ``gridmap:ready``
  once every layer has drawn its first data;
* plain folium (``/bench/plain``, same app, same login): ``gridmap.maps.overview.overview_map``
  with every community, grid and building embedded in the HTML (GeoJSON, simplified and
  rounded the way that builder does); drawn when the ``load`` event has fired (all inline
  scripts ran, every feature added to the map).

Time to interactive = max(drawn, end of the last long task (>= 50 ms) before it), from
navigation start, in a fresh browser context (empty cache). Bytes = the encoded (gzip where
the server compresses) body bytes of every response finished by then, from the DevTools
protocol. The server runs in its own process (waitress, 8 threads, as `gridmap serve`) on 127.0.0.1; the database is
generated fresh: ``--buildings`` footprints of 20 x 12 m in rows inside 150 grids of 10
communities, two households each.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from geodata.db import models as m  # noqa: E402
from geodata.db.engine import make_engine, session_factory  # noqa: E402
from geodata.db.frames import to_ewkt  # noqa: E402
from geodata.db.migrate import upgrade  # noqa: E402
from geodata.db.users import create_user  # noqa: E402

LON0, LAT0 = 116.30, 39.95
M_LON, M_LAT = 1 / 85300.0, 1 / 111000.0  # degrees per metre near 40N
PASSWORD = "bench-password-1"
BUDGET_BYTES = 2 * 1024 * 1024
BUDGET_S = 3.0
VERBOSE = False


def generate(session, n_buildings: int) -> dict:
    """A street of 10 communities x 15 grids with ``n_buildings`` footprints in rows."""
    per_grid = int(np.ceil(n_buildings / 150))
    cols = int(np.ceil(np.sqrt(per_grid * 28 / 22)))  # 28 m x 22 m of ground per building
    rows = int(np.ceil(per_grid / cols))
    gw, gh = cols * 28 + 20, rows * 22 + 20  # grid size in metres (with a street around)
    street_geom = shapely.box(LON0, LAT0, LON0 + 10 * gw * M_LON, LAT0 + 15 * gh * M_LAT)
    session.execute(
        sa.insert(m.Street),
        [
            {
                "code": "110108099",
                "name": "基准测试街道",
                "geom": to_ewkt(shapely.MultiPolygon([street_geom])),
                "props": {"label": "生成数据 / generated data"},
            }
        ],
    )
    street_id = session.scalar(sa.select(m.Street.id))
    rng = np.random.default_rng(6)
    made = 0
    for c in range(10):
        cx, cy = (c % 5) * 2, (c // 5) * 7.5
        box = shapely.box(
            LON0 + cx * gw * M_LON,
            LAT0 + cy * gh * M_LAT,
            LON0 + (cx + 2) * gw * M_LON,
            LAT0 + (cy + 7.5) * gh * M_LAT,
        )
        code = f"110108099{c + 1:03d}"
        session.execute(
            sa.insert(m.Community),
            [
                {
                    "code": code,
                    "name": f"基准社区{c + 1}",
                    "street_id": street_id,
                    "geom": to_ewkt(shapely.MultiPolygon([box])),
                }
            ],
        )
        community_id = session.scalar(sa.select(m.Community.id).where(m.Community.code == code))
        for k in range(15):
            gx = LON0 + (cx + k % 2) * gw * M_LON
            gy = LAT0 + (cy + (k // 2) * 7.5 / 8) * gh * M_LAT
            ghh = gh * 7.5 / 8
            cell = shapely.box(gx, gy, gx + gw * M_LON, gy + ghh * M_LAT)
            if k == 14:  # the last one takes the rest of the community
                cell = shapely.box(
                    gx, gy, LON0 + (cx + 2) * gw * M_LON, LAT0 + (cy + 7.5) * gh * M_LAT
                )
            gcode = f"{code}{k + 1:03d}"
            session.execute(
                sa.insert(m.Grid),
                [
                    {
                        "code": gcode,
                        "name": f"基准社区{c + 1}第{k + 1}网格",
                        "community_id": community_id,
                        "kind": "community",
                        "leader": "张三",
                        "target_households": 400,
                        "geom": to_ewkt(shapely.MultiPolygon([cell])),
                    }
                ],
            )
            grid_id = session.scalar(sa.select(m.Grid.id).where(m.Grid.code == gcode))
            want = min(per_grid, n_buildings - made)
            bx0, by0 = gx + 10 * M_LON, gy + 10 * M_LAT
            brows = []
            for i in range(want):
                x = bx0 + (i % cols) * 28 * M_LON
                y = by0 + (i // cols) * (ghh - 20) / rows * M_LAT
                w, h = rng.uniform(14, 24), rng.uniform(9, 13)
                poly = shapely.affinity.rotate(
                    shapely.box(x, y, x + w * M_LON, y + h * M_LAT), rng.uniform(-8, 8)
                )
                brows.append(
                    {
                        "code": f"{gcode}B{i:04d}",
                        "address": f"基准路{made + i + 1}号",
                        "floors": int(rng.integers(3, 19)),
                        "use": "residential",
                        "grid_id": grid_id,
                        "geom": to_ewkt(shapely.MultiPolygon([poly])),
                    }
                )
            if brows:
                session.execute(sa.insert(m.Building), brows)
            made += want
    ids = session.scalars(sa.select(m.Building.id)).all()
    for start in range(0, len(ids), 20000):
        session.execute(
            sa.insert(m.Household),
            [
                {
                    "code": f"H{b}-{u}",
                    "building_id": b,
                    "unit": "1",
                    "floor": u + 1,
                    "room": f"{u + 1}01",
                    "size": 2,
                }
                for b in ids[start : start + 20000]
                for u in range(2)
            ],
        )
    create_user(session, "admin", "admin", password=PASSWORD)
    return {"buildings": made, "grids": 150, "communities": 10, "households": 2 * len(ids)}


def plain_page(app) -> tuple[bytes, float]:
    """The same overview built the plain folium way (every feature embedded), rendered once."""
    from flask import render_template_string

    from geodata.db import repo
    from gridmap.maps.offline import localize_assets
    from gridmap.maps.overview import overview_map
    from gridmap.maps.render import map_parts

    with app.test_request_context("/"):
        started = time.perf_counter()
        session = session_factory(app.extensions["gridmap_engine"])()
        mp = overview_map(
            repo.communities_frame(session),
            repo.grids_frame(session),
            repo.buildings_frame(session),
        )
        localize_assets(mp, "/static")
        parts = map_parts(mp)
        html = render_template_string(
            "<!DOCTYPE html><html><head><meta charset='utf-8'>{{ p.header|safe }}"
            "<style>html,body{margin:0;height:100%}</style></head><body>{{ p.body|safe }}"
            "<script>{{ p.script|safe }}</script></body></html>",
            p=parts,
        )
        session.close()
        return html.encode("utf-8"), time.perf_counter() - started


LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver(list => { for (const e of list.getEntries())
  window.__longTasks.push([e.startTime, e.startTime + e.duration]); })
  .observe({type: 'longtask', buffered: true});
"""


def measure(browser, base: str, path: str, *, ours: bool) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.add_init_script(LONG_TASKS)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    got: dict[str, float] = {}
    cdp.on(
        "Network.loadingFinished", lambda e: got.__setitem__(e["requestId"], e["encodedDataLength"])
    )
    page.goto(base + path, wait_until="commit", timeout=180_000)
    if ours:
        page.wait_for_function("window.gmReady === true", timeout=180_000, polling=50)
        drawn = page.evaluate("window.gmReadyAt")
    else:
        page.wait_for_load_state("load", timeout=180_000)
        drawn = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    tasks = page.evaluate("window.__longTasks")
    bytes_ready = sum(got.values())
    busy_until = max([t[1] for t in tasks if t[0] <= drawn] + [0.0])
    tti = max(drawn, busy_until) / 1000.0
    nav_start_ms = 0.0
    counts = page.evaluate("""() => { const n = {requests: performance.getEntriesByType('resource').length};
        const map = window[document.querySelector('.folium-map').id]; let f = 0;
        map.eachLayer(l => { if (l.feature) f += 1; }); n.features = f;
        n.tiles = document.querySelectorAll('.leaflet-tile').length; return n; }""")
    page.wait_for_load_state("networkidle", timeout=180_000)
    bytes_idle = sum(got.values())
    if VERBOSE:
        print(
            f"  {path}: drawn {drawn:.0f} ms, long tasks {[[round(a), round(b)] for a, b in tasks]}",
            file=sys.stderr,
        )
        slow = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter(e => e.responseEnd - e.startTime > 150)
            .map(e => [e.name.split('/').slice(-2).join('/').slice(0, 40), Math.round(e.startTime),
                       Math.round(e.responseStart), Math.round(e.responseEnd)])""")
        print(f"    slow requests (start, first byte, end ms): {slow}", file=sys.stderr)
    context.close()
    return {
        "tti_s": tti,
        "drawn_s": (drawn - nav_start_ms) / 1000.0,
        "bytes_ready": bytes_ready,
        "bytes_idle": bytes_idle,
        **counts,
    }


def serve(url: str, plain_file: str, port_file: str) -> None:
    """The bench's server process: the app plus the plain folium page at /bench/plain."""
    from flask import Response
    from waitress.server import create_server

    from web.app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    html = Path(plain_file).read_bytes()

    @app.get("/bench/plain")
    def _plain():
        return Response(html, mimetype="text/html")

    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    Path(port_file).write_text(str(server.effective_port))
    server.run()


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--buildings", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--backend", choices=("both", "spatialite", "postgis"), default="both")
    ap.add_argument(
        "--db", help="SpatiaLite file to generate into and reuse (default: a temporary one)"
    )
    ap.add_argument("--verbose", action="store_true", help="print each run's timeline")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    for backend in ("spatialite", "postgis") if args.backend == "both" else (args.backend,):
        run(args, backend)
        print()


def run(args, backend: str) -> None:
    """Generate the street on ``backend``, serve it, measure both pages, print the report."""
    from web.app import create_app

    from browser import launch_chromium

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if backend == "postgis":
            from pgserver import postgis_server

            url = stack.enter_context(stack.enter_context(postgis_server()).database())
        else:
            url = f"sqlite:///{args.db or tmp / 'large.sqlite'}"
        engine = make_engine(url)
        reuse = bool(args.db) and Path(args.db).exists() and Path(args.db).stat().st_size > 0
        upgrade(engine)
        started = time.perf_counter()
        with session_factory(engine).begin() as session:
            if reuse:
                counts = {
                    t: session.scalar(sa.select(sa.func.count()).select_from(sa.table(t)))
                    for t in ("building", "grid", "community", "household")
                }
                sizes = {
                    "buildings": counts["building"],
                    "grids": counts["grid"],
                    "communities": counts["community"],
                    "households": counts["household"],
                }
                create_user(session, "admin", "admin", password=PASSWORD)
            else:
                sizes = generate(session, args.buildings)
        gen_s = time.perf_counter() - started
        engine.dispose()

        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
        plain_html, plain_build_s = plain_page(app)
        app.extensions["gridmap_engine"].dispose()
        del app
        plain_file = tmp / "plain.html"
        plain_file.write_bytes(plain_html)
        # The server runs in its own process, as `gridmap serve` does (waitress, 8 threads):
        # sharing this process's GIL with the Playwright driver would slow both.
        port_file = tmp / "port"
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, str(plain_file), str(port_file)]
        )
        stack.callback(proc.wait, timeout=30)
        stack.callback(proc.terminate)
        deadline = time.monotonic() + 120
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the bench server did not start")
            time.sleep(0.2)
        base = f"http://127.0.0.1:{port_file.read_text().strip()}"
        results: dict[str, list[dict]] = {"ours": [], "plain": []}
        with launch_chromium() as browser:
            for _run in range(args.runs):
                results["ours"].append(measure(browser, base, "/", ours=True))
                results["plain"].append(measure(browser, base, "/bench/plain", ours=False))

    def med(name, key):
        return statistics.median(r[key] for r in results[name])

    print(
        f"# bench/web_large.py: street overview of {sizes['buildings']:,} buildings in headless Chromium"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; backend {backend}"
    )
    print(
        f"command: .venv/bin/python bench/web_large.py --buildings {args.buildings} "
        f"--runs {args.runs} --backend {backend}"
    )
    print(
        f"data: {sizes['communities']} communities, {sizes['grids']} grids, "
        f"{sizes['buildings']:,} buildings, {sizes['households']:,} households "
        f"(generated in {gen_s:.1f} s)"
    )
    print(
        f"plain folium page: {len(plain_html) / 1e6:.1f} MB of HTML, built in {plain_build_s:.1f} s "
        "(server side, once, not counted in its time below)"
    )
    print(
        f"budget: < 2 MiB ({BUDGET_BYTES:,} bytes) before interactive, interactive < {BUDGET_S:.0f} s\n"
    )
    print(
        f"{'page':<14}{'interactive s':>15}{'MB by then':>12}{'MB at idle':>12}"
        f"{'requests':>10}{'features':>10}{'tiles':>7}"
    )
    for name, label in (("ours", "gridmap /"), ("plain", "plain folium")):
        print(
            f"{label:<14}{med(name, 'tti_s'):>15.2f}{med(name, 'bytes_ready') / 1e6:>12.2f}"
            f"{med(name, 'bytes_idle') / 1e6:>12.2f}{med(name, 'requests'):>10.0f}"
            f"{med(name, 'features'):>10.0f}{med(name, 'tiles'):>7.0f}"
        )
    print(
        f"\nruns: {args.runs} each, medians shown; every run: "
        + "; ".join(
            f"{n} "
            + ", ".join(f"{r['tti_s']:.2f} s/{r['bytes_ready'] / 1e6:.2f} MB" for r in results[n])
            for n in results
        )
    )
    ratio_t = med("plain", "tti_s") / med("ours", "tti_s")
    ratio_b = med("plain", "bytes_ready") / med("ours", "bytes_ready")
    print(f"plain / ours: {ratio_t:.1f}x the time, {ratio_b:.1f}x the bytes")
    ok = med("ours", "tti_s") < BUDGET_S and med("ours", "bytes_ready") < BUDGET_BYTES
    print(f"ours within budget: {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
