"""An import job under `gridmap serve --workers 2`: its progress, report and preview come
from either worker process, either one confirms it, and it is written once (real processes,
real HTTP on new connections, the real Amap hospital file)."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pandas as pd
import requests

from conftest import run_gridmap, start_server

HOSPITALS = "poi/shanghai_amap/shanghai_hospital.csv"
EXCLUDED = "医疗保健服务;疾病预防机构;疾病预防"
MAPPING = (
    f"values:\n  category:\n    医疗保健服务;急救中心;急救中心: hospital\n    {EXCLUDED}: exclude\n"
)
PASSWORD = "workers-test-password"
CLOSE = {"Connection": "close"}  # a new connection each time: the kernel picks the worker


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def _pids(log: Path, path: str) -> set[str]:
    """The worker processes whose access log shows a 200 for ``path``."""
    time.sleep(0.3)  # the access line is written after the response
    text = log.read_text()
    return set(re.findall(r"\[(\d+)\] GET " + re.escape(path) + r" 200", text))


def test_a_job_is_followed_previewed_and_confirmed_across_two_workers(
    backend, fresh_database, shared_data, tmp_path
):
    source = shared_data / HOSPITALS
    rows = pd.read_csv(source, dtype=str)
    with fresh_database(backend) as url:
        run_gridmap("db", "upgrade", url=url)
        run_gridmap("user", "add", "admin", "--role", "admin", "--password", PASSWORD, url=url)
        log = tmp_path / "serve.log"
        proc, base = start_server(
            url,
            "--workers",
            "2",
            "--threads",
            "2",
            log=log,
            timeout_s=90,
            env={
                "GRIDMAP_HOME": str(tmp_path),
                "GRIDMAP_SECRET_KEY": "workers-test-secret",
                "GRIDMAP_LOG_LEVEL": "INFO",
            },
        )
        try:
            s = requests.Session()
            s.post(
                base + "/login",
                data={
                    "csrf_token": _csrf(s.get(base + "/login").text),
                    "username": "admin",
                    "password": PASSWORD,
                },
                headers=CLOSE,
            )
            with open(source, "rb") as f:
                r = s.post(
                    base + "/import",
                    data={"csrf_token": _csrf(s.get(base + "/import").text), "layer": "facilities"},
                    files={
                        "file": ("shanghai_hospital.csv", f),
                        "mapping": ("m.yaml", MAPPING.encode("utf-8")),
                    },
                    headers=CLOSE,
                    allow_redirects=False,
                )
            job = r.headers["Location"]
            assert (tmp_path / "jobs" / job.rsplit("/", 1)[1]).is_dir()
            status = {"state": "checking"}
            deadline = time.monotonic() + 180
            while status["state"] == "checking" and time.monotonic() < deadline:
                time.sleep(0.1)
                status = s.get(base + job + "/status", headers=CLOSE).json()
            assert status["state"] == "ready", status
            assert status["done"] == status["total"] > 0
            # the report and the preview map from both workers (the one that checked the
            # file and the other, which reads the stored job)
            pages = []
            for _ in range(40):
                page = s.get(base + job, headers=CLOSE)
                assert page.status_code == 200
                pages.append(page.text)
                if len(_pids(log, job)) == 2:
                    break
            assert len(_pids(log, job)) == 2, log.read_text()[-3000:]
            for text in pages:
                assert 'data-state="ready"' in text
                assert "leaflet" in text.lower() and "/confirm" in text
            confirm = _csrf(pages[-1])
            r = s.post(
                base + job + "/confirm",
                data={"csrf_token": confirm},
                headers=CLOSE,
                allow_redirects=False,
            )
            assert r.status_code == 302
            again = s.post(
                base + job + "/confirm",
                data={"csrf_token": confirm},
                headers=CLOSE,
                allow_redirects=False,
            )
            assert again.status_code == 409  # claimed once, whichever worker is asked
            deadline = time.monotonic() + 300
            while status["state"] != "done" and time.monotonic() < deadline:
                time.sleep(0.2)
                status = s.get(base + job + "/status", headers=CLOSE).json()
                assert status["state"] in ("writing", "done"), status
            assert status["state"] == "done"
            assert len(_pids(log, job + "/status")) == 2
            done_pages = [s.get(base + job, headers=CLOSE).text for _ in range(6)]
            assert all('data-state="done"' in t for t in done_pages)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        served = json.loads(run_gridmap("stats", "--json", url=url).stdout)["facility"]
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    with fresh_database(backend) as url:  # the same file through the command line
        run_gridmap("db", "upgrade", url=url)
        run_gridmap("import", "facilities", str(source), "--mapping", str(mapping), url=url)
        single = json.loads(run_gridmap("stats", "--json", url=url).stdout)["facility"]
    assert served == single > 0.9 * len(rows)  # written once, all of it
