"""Import jobs as rows: a server killed while writing leaves none of the import's rows, and the
server started after it lists the job as interrupted (real `gridmap serve` processes, real
HTTP, the real Amap hospital file)."""

import re
import signal
import socket
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

from geodata.db.engine import make_engine, session_factory
from geodata.db.jobs import interrupt_orphans
from geodata.db.models import Facility, Job

from conftest import run_gridmap, start_server

HOSPITALS = "poi/shanghai_amap/shanghai_hospital.csv"
MAPPING = (
    "values:\n  category:\n    医疗保健服务;急救中心;急救中心: hospital\n"
    "    医疗保健服务;疾病预防机构;疾病预防: exclude\n"
)
PASSWORD = "jobs-test-password"


def _serve(url: str, home: Path) -> tuple[subprocess.Popen, str]:
    return start_server(
        url,
        ready=(200, 503),
        env={"GRIDMAP_HOME": str(home), "GRIDMAP_SECRET_KEY": "jobs-test-secret"},
    )


def _token(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def _login(base: str) -> requests.Session:
    s = requests.Session()
    token = _token(s.get(base + "/login").text)
    r = s.post(
        base + "/login", data={"csrf_token": token, "username": "admin", "password": PASSWORD}
    )
    assert r.ok
    return s


def _several(path: Path, tmp_path: Path, *, copies: int) -> Path:
    """The real file several times over (names numbered, so no row repeats another): a
    write long enough to be caught in the middle."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str)
    out = tmp_path / f"hospitals_x{copies}.csv"
    pd.concat([frame.assign(name=frame["name"] + f"（{i}）") for i in range(copies)]).to_csv(
        out, index=False
    )
    return out


def _facilities(url: str) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return s.scalar(sa.select(sa.func.count()).select_from(Facility))
    finally:
        engine.dispose()


def test_a_restarted_server_lists_the_interrupted_job_and_holds_none_of_its_rows(
    backend, fresh_database, shared_data, tmp_path
):
    with fresh_database(backend) as url:
        run_gridmap("db", "upgrade", url=url)
        run_gridmap("user", "add", "admin", "--role", "admin", "--password", PASSWORD, url=url)
        proc, base = _serve(url, tmp_path)
        try:
            s = _login(base)
            token = _token(s.get(base + "/import").text)
            with open(_several(shared_data / HOSPITALS, tmp_path, copies=4), "rb") as f:
                r = s.post(
                    base + "/import",
                    data={"csrf_token": token, "layer": "facilities"},
                    files={
                        "file": ("shanghai_hospital.csv", f),
                        "mapping": ("m.yaml", MAPPING.encode("utf-8")),
                    },
                    allow_redirects=False,
                )
            job = r.headers["Location"]
            job_id = job.rsplit("/", 1)[1]
            status = {"state": "checking"}
            while status["state"] == "checking":
                time.sleep(0.2)
                status = s.get(base + job + "/status").json()
            assert status["state"] == "ready"
            r = s.post(
                base + job + "/confirm",
                data={"csrf_token": _token(s.get(base + job).text)},
                allow_redirects=False,
            )
            assert r.status_code == 302
            # kill the server once the write has begun (rows sent, not committed)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                status = s.get(base + job + "/status").json()
                if status["state"] == "writing" and status["total"] > 100 and status["done"] > 0:
                    break
                assert status["state"] == "writing", status
                time.sleep(0.02)
            assert 0 < status["done"] < status["total"], status
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        assert _facilities(url) == 0
        proc, base = _serve(url, tmp_path)
        try:
            s = _login(base)
            listing = s.get(base + "/import/jobs").text
            assert f'data-job="{job_id}" data-state="interrupted"' in listing
            assert "shanghai_hospital.csv" in listing
            assert s.get(base + f"/import/{job_id}/status").json()["state"] == "interrupted"
            page = s.get(base + f"/import/{job_id}").text
            assert 'data-state="interrupted"' in page and "没有写入任何数据" in page
        finally:
            proc.kill()
            proc.wait(timeout=10)
        assert _facilities(url) == 0


def test_only_jobs_of_dead_processes_or_long_silent_hosts_are_interrupted(session):
    host = socket.gethostname()
    now = datetime.now().replace(microsecond=0)
    rows = [
        ("alive", host, 101, now),
        ("dead", host, 102, now),
        ("elsewhere-recent", "other-host", 1, now - timedelta(minutes=5)),
        ("elsewhere-silent", "other-host", 1, now - timedelta(hours=2)),
    ]
    for job_id, job_host, pid, updated in rows:
        session.add(
            Job(
                id=job_id,
                kind="import",
                owner="u",
                title="f.csv",
                state="writing",
                done=0,
                total=0,
                host=job_host,
                pid=pid,
                created_at=updated,
                updated_at=updated,
            )
        )
    session.add(
        Job(
            id="finished",
            kind="import",
            owner="u",
            title="f.csv",
            state="done",
            done=1,
            total=1,
            host=host,
            pid=102,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    gone = interrupt_orphans(session, alive=lambda pid: pid == 101, now=now)
    assert sorted(gone) == ["dead", "elsewhere-silent"]
    states = dict(session.execute(sa.select(Job.id, Job.state)).all())
    assert states == {
        "alive": "writing",
        "dead": "interrupted",
        "elsewhere-recent": "writing",
        "elsewhere-silent": "interrupted",
        "finished": "done",
    }
