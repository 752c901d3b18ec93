"""Benchmark: bbox queries under load, one server process beside `gridmap serve --workers N`.

    .venv/bin/python bench/load.py [--requests 800] [--seconds 60] [--clients 16]
                                   [--workers 2] [--rounds 2]
                                   [--backend both|spatialite|postgis]

The synthetic demo is built fresh into each backend; the server runs as `gridmap serve`
(waitress, 8 threads per process) in its own process tree on 127.0.0.1; ``--clients``
threads of this process (keep-alive HTTP/1.1, a Bearer API token) send, round robin,
``/api/layers/buildings?bbox=..&zoom=17`` and ``/ogc/collections/buildings/items?bbox=..``
for random boxes of about 300 x 300 m inside the street office, until ``--requests`` are
done or ``--seconds`` have passed. Reported: requests/s, p50 and p95 latency per route,
errors (non-200 or failed connections). On PostGIS the peer in the same run is the floor
under the server: the same boxes as one plain ``ST_AsGeoJSON`` query each through psycopg
from as many threads (no HTTP, no properties, no scope). The load generator shares the
machine's cores with the server: the figures are what one machine serving itself can do,
not the server alone, and the load average printed says how busy the machine was.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
GRIDMAP = str(Path(sys.executable).parent / "gridmap")


def _run(args: list[str], url: str) -> str:
    proc = subprocess.run(
        [GRIDMAP, *args],
        env={**os.environ, "GRIDMAP_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _extent(url: str, token: str, port: int) -> list[float]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/ogc/collections/buildings",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["extent"]["spatial"]["bbox"][0]


def _serve(url: str, workers: int, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [GRIDMAP, "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, "GRIDMAP_DATABASE_URL": url, "GRIDMAP_LOG_LEVEL": "WARNING"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _paths(extent: list[float], n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    minx, miny, maxx, maxy = extent
    dx, dy = 0.0035, 0.0027  # about 300 m x 300 m at 40 N
    out = []
    for i in range(n):
        x = rng.uniform(minx, maxx - dx)
        y = rng.uniform(miny, maxy - dy)
        box = f"{x:.6f},{y:.6f},{x + dx:.6f},{y + dy:.6f}"
        if i % 2 == 0:
            out.append(("api", f"/api/layers/buildings?bbox={box}&zoom=17"))
        else:
            out.append(("ogc", f"/ogc/collections/buildings/items?bbox={box}&limit=100"))
    return out


def _in_threads(client, clients: int) -> float:
    """Run ``client`` in ``clients`` threads until all return; the wall time in seconds."""
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return time.perf_counter() - started


def _load(port: int, token: str, paths, clients: int, seconds: float) -> dict:
    lock = threading.Lock()
    queue = list(reversed(paths))
    results: list[tuple[str, float, bool]] = []
    failures: dict[str, int] = {}
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        while time.monotonic() < stop_at:
            with lock:
                if not queue:
                    return
                kind, path = queue.pop()
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                what = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                what = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                results.append((kind, time.perf_counter() - t, ok))
                if not ok:
                    failures[what] = failures.get(what, 0) + 1

    wall = _in_threads(client, clients)

    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else 0.0

    out = {
        "requests": len(results),
        "seconds": wall,
        "rps": len(results) / wall,
        "errors": sum(not ok for _k, _t, ok in results),
        "failures": failures,
    }
    for kind in ("api", "ogc"):
        times = [t for k, t, _ok in results if k == kind]
        out[kind] = (p(times, 50), p(times, 95))
    out["all_p95"] = p([t for _k, t, _ok in results], 95)
    return out


PEER_SQL = """
SELECT ST_AsGeoJSON(b.geom, 7) FROM building b
WHERE b.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326) ORDER BY b.id"""


def _peer(url: str, paths, clients: int, seconds: float) -> dict:
    """The floor under the server: the same boxes as one plain PostGIS query each
    (geometries as GeoJSON text, no properties, no HTTP), from ``clients`` threads with a
    connection each through psycopg."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    boxes = [[float(v) for v in p.split("bbox=")[1].split("&")[0].split(",")] for _k, p in paths]
    lock = threading.Lock()
    queue = list(reversed(boxes))
    times: list[float] = []
    stop_at = time.monotonic() + seconds

    def client():
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < stop_at:
                with lock:
                    if not queue:
                        return
                    box = queue.pop()
                t = time.perf_counter()
                conn.execute(PEER_SQL, box).fetchall()
                with lock:
                    times.append(time.perf_counter() - t)

    wall = _in_threads(client, clients)
    return {
        "rps": len(times) / wall,
        "requests": len(times),
        "p50": statistics.quantiles(times, n=100)[49] * 1000,
        "p95": statistics.quantiles(times, n=100)[94] * 1000,
    }


def bench_backend(backend: str, url: str, args, tmp: Path) -> list[str]:
    started = time.perf_counter()
    _run(["demo", "--build-only"], url)
    built = time.perf_counter() - started
    token = (
        _run(["token", "add", "admin", "--days", "1", "--name", "bench"], url)
        .strip()
        .splitlines()[-1]
    )
    stats = json.loads(_run(["stats", "--json"], url))
    lines = [
        f"backend {backend}: demo with {stats['building']:,} buildings, "
        f"{stats['household']:,} households (built in {built:.0f} s)",
        "",
        f"{'server':<26}{'req/s':>7}{'p95 ms':>8}{'api p50/p95':>14}{'ogc p50/p95':>14}"
        f"{'errors':>8}{'requests':>10}",
    ]
    extent = None
    # alternated over --rounds: the machine's other work drifts during a run, and one
    # order alone would credit the drift to the number of processes
    for workers in (1, args.workers) * args.rounds:
        port = _free_port()
        proc = _serve(url, workers, port, tmp / f"serve-{backend}-{workers}.log")
        try:
            extent = extent or _extent(url, token, port)
            paths = _paths(extent, args.requests)
            _load(port, token, paths[: args.clients * 2], args.clients, 30)  # warm up
            r = _load(port, token, paths, args.clients, args.seconds)
        finally:
            _stop(proc)
        name = "gridmap serve" if workers == 1 else f"gridmap serve --workers {workers}"
        lines.append(
            f"{name:<26}{r['rps']:>7.1f}{r['all_p95']:>8.0f}"
            f"{r['api'][0]:>7.0f}/{r['api'][1]:<6.0f}{r['ogc'][0]:>7.0f}/"
            f"{r['ogc'][1]:<6.0f}{r['errors']:>8}{r['requests']:>10}"
        )
        if r["failures"]:
            log = (tmp / f"serve-{backend}-{workers}.log").read_text().strip().splitlines()
            lines.append(f"  errors: {r['failures']}; server log ends: {log[-1:] or '-'}")
    if backend == "postgis" and extent:
        peer = _peer(url, _paths(extent, args.requests), args.clients, args.seconds)
        lines.append(
            f"{'peer: plain ST_AsGeoJSON':<26}{peer['rps']:>7.1f}{peer['p95']:>8.0f}"
            f"{'':>14}{'':>14}{0:>8}{peer['requests']:>10}"
        )
    lines.append(
        "load average after the runs (other work shares the machine): "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times to run the pair (one process, --workers) in turn",
    )
    parser.add_argument("--backend", choices=("both", "spatialite", "postgis"), default="both")
    args = parser.parse_args()
    backends = ["spatialite", "postgis"] if args.backend == "both" else [args.backend]
    print(
        "# bench/load.py: bbox queries at "
        f"{args.clients} concurrent clients, one server process beside --workers "
        f"{args.workers}"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )
    print(
        f"command: .venv/bin/python bench/load.py --requests {args.requests} --seconds "
        f"{args.seconds:g} --clients {args.clients} --workers {args.workers} "
        f"--rounds {args.rounds} "
        f"--backend {args.backend}"
    )
    print(
        "requests: half /api/layers/buildings?bbox=..&zoom=17, half "
        "/ogc/collections/buildings/items?bbox=..&limit=100; random ~300 m boxes; "
        "latencies in ms"
    )
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            if backend == "spatialite":
                url = f"sqlite:///{Path(tmp) / 'load.sqlite'}"
            else:
                from pgserver import postgis_server

                server = stack.enter_context(postgis_server())
                url = stack.enter_context(server.database())
            print()
            for line in bench_backend(backend, url, args, Path(tmp)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
