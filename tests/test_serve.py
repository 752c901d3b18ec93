"""`gridmap serve --workers 2`: two processes answer on one port; SIGTERM stops them all."""

from __future__ import annotations

import re
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import start_server


def test_two_worker_processes_share_the_port_and_stop_together(demo_db, backend, tmp_path):
    if backend != "spatialite":  # processes and sockets do not depend on the database;
        pytest.skip("once is enough: bench/load.py serves PostGIS with --workers")
    url = demo_db[0].url.render_as_string(hide_password=False)
    proc, base = start_server(
        url,
        "--workers",
        "2",
        "--threads",
        "2",
        env={"GRIDMAP_LOG_LEVEL": "INFO"},
        log=tmp_path / "serve.log",
    )
    try:

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
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
