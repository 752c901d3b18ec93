"""`gridmap serve --workers 2`: two processes answer on one port; SIGTERM stops them all."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_worker_processes_share_the_port_and_stop_together(demo_db, backend, tmp_path):
    if backend != "spatialite":  # processes and sockets do not depend on the database;
        pytest.skip("once is enough: bench/load.py serves PostGIS with --workers")
    url = demo_db[0].url.render_as_string(hide_password=False)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    exe = Path(sys.executable).parent / "gridmap"
    proc = subprocess.Popen([str(exe), "serve", "--workers", "2", "--threads", "2",
                             "--port", str(port)],
                            env={**os.environ, "GRIDMAP_DATABASE_URL": url,
                                 "GRIDMAP_LOG_LEVEL": "INFO"},
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, \
                    (tmp_path / "serve.log").read_text()
                time.sleep(0.3)

        def hit(_i):
            with urllib.request.urlopen(f"{base}/healthz", timeout=30) as r:
                return r.status

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(hit, range(40))) == {200}
        time.sleep(0.5)
        text = (tmp_path / "serve.log").read_text()
        pids = set(re.findall(r"\[(\d+)\] GET /healthz 200", text))
        assert len(pids) == 2, text[-2000:]
        assert str(proc.pid) not in pids  # the parent only supervises
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) is not None
        log.close()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or \
            "zombie" in Path(f"/proc/{pid}/status").read_text()
