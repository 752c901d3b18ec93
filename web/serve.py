"""Serving with several processes: ``gridmap serve --workers N``.

Each worker is a forked process with its own app, database connections and waitress
threads, listening on the same address through SO_REUSEPORT, so the kernel spreads new
connections over the workers (a slow analysis in one worker does not hold up the others,
and CPU-bound work uses every core). The parent only supervises: a worker that dies is
replaced; SIGTERM or Ctrl+C stops them all.

What is shared: sessions, API tokens and import jobs are rows of the database; an upload
and its checked job (report, preview) are files under ``GRIDMAP_HOME/jobs``, so any worker
shows, re-checks or confirms it, and the job's row lets one of them confirm it once. What
stays per process are caches that each worker fills for itself and that never disagree with
the database (static files, the SpatiaLite tile index, planner runs, analysis figures keyed
by the data fingerprint of geodata.db.memo).
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import socket
import time

from geodata.settings import Settings

log = logging.getLogger("gridmap.serve")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def pool_for_threads(settings: Settings, threads: int) -> Settings:
    """At least one pooled database connection per waitress thread: with fewer, busy threads
    open and close overflow connections on every request, which costs PostgreSQL a new
    backend process each time."""
    return dataclasses.replace(settings, db_pool_size=max(settings.db_pool_size, threads))


def _worker(host: str, port: int, threads: int, settings: Settings) -> None:
    from waitress import serve

    from web.app import create_app

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sock = _listen(host, port)
    app = create_app(settings=pool_for_threads(settings, threads))  # after the fork: own engine
    serve(app, sockets=[sock], threads=threads, ident="gridmap")


def serve_workers(host: str, port: int, *, workers: int, threads: int = 8) -> None:
    """Run ``workers`` processes until SIGTERM/SIGINT; replaces a worker that dies."""
    from web.app import _secret_key
    from web.logs import configure_level

    settings = Settings.from_env()
    configure_level(settings.log_level)
    _secret_key(settings)  # made once here, not raced by the workers (sessions are shared)
    ctx = multiprocessing.get_context("fork")
    stopping = False

    def start():
        p = ctx.Process(target=_worker, args=(host, port, threads, settings), daemon=False)
        p.start()
        return p

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs = [start() for _ in range(workers)]
    log.info(
        "serving on http://%s:%d/ with %d worker processes (%s)",
        host,
        port,
        workers,
        ", ".join(str(p.pid) for p in procs),
    )
    started = time.monotonic()
    try:
        while not stopping:
            time.sleep(0.2)
            for i, p in enumerate(procs):
                if p.is_alive() or stopping:
                    continue
                if time.monotonic() - started < 5:  # failing at once: the port, the database
                    raise SystemExit(
                        f"worker {p.pid} exited at start (code {p.exitcode}); see the log above"
                    )
                log.warning("worker %d exited (code %s); starting another", p.pid, p.exitcode)
                procs[i] = start()
    finally:
        for p in procs:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join(timeout=10)
