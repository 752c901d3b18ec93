"""`gridmap run patrol --all-streets` on a real Dask cluster (a scheduler and two workers on
127.0.0.1, as separate processes) against a generated city of three street offices:
identical rows to the run without a cluster, also when a worker is killed mid-run; and
each street office's rows equal the whole city's figures for its grids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from geodata.db import models as m
from geodata.db.engine import make_engine, session_factory
from geodata.db.migrate import upgrade
from geodata.demo import store_city_of_streets
from geodata.street_runs import SCHEDULER_ENV, stored_results
from gridmap.analysis.patrol import parse_period

from conftest import free_port, run_gridmap

STREETS = 3
# generous: on a loaded two-core CI machine a worker process takes long to import and connect
START_TIMEOUT_S = 240
DASK = Path(sys.executable).parent / "dask"


def _last_week() -> str:
    year, week, _ = (date.today() - timedelta(days=7)).isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture(scope="module")
def city(fresh_database):
    """(url, sessions) of a PostGIS database holding a generated city of three street offices.

    PostGIS only: a cluster's workers on several machines share a database server; the
    tasks themselves run on both backends in ``test_sequential_run_on_the_demo``.
    """
    with fresh_database("postgis") as url:
        engine = make_engine(url)
        upgrade(engine)
        sessions = session_factory(engine)
        store_city_of_streets(sessions, STREETS)
        yield url, sessions
        engine.dispose()


@contextmanager
def dask_cluster(tmp_path: Path, workers: int = 2):
    """A `dask scheduler` and ``workers`` `dask worker` processes (no nanny: a killed worker
    stays dead); yields (address, worker processes). Every process is stopped afterwards."""
    from dask.distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    procs: list[subprocess.Popen] = []
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115 - closed below
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(DASK),
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    address.rsplit(":", 1)[1],
                    "--no-dashboard",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        for k in range(workers):
            procs.append(
                subprocess.Popen(
                    [
                        str(DASK),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{k}",
                        "--local-directory",
                        str(tmp_path / f"w{k}"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        with Client(address, timeout=START_TIMEOUT_S) as client:
            client.wait_for_workers(workers, timeout=START_TIMEOUT_S)
            pids = client.run(os.getpid)
        assert sorted(pids.values()) == sorted(p.pid for p in procs[1:])
        yield address, procs[1:]
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def _rows(sessions, period: str) -> list[dict]:
    with sessions() as s:
        return stored_results(s, "patrol", parse_period(period))


def _run_jobs(sessions, layer: str = "patrol") -> list[m.Job]:
    with sessions() as s:
        return list(
            s.scalars(
                sa.select(m.Job)
                .where(m.Job.kind == "run", m.Job.layer == layer)
                .order_by(m.Job.created_at, m.Job.id)
            )
        )


def _tasks(sessions, run_id: str) -> list[m.Job]:
    with sessions() as s:
        return list(
            s.scalars(sa.select(m.Job).where(m.Job.id.like(f"{run_id}-%")).order_by(m.Job.id))
        )


def _equals_whole_city(sessions, rows: list[dict], period: str) -> None:
    """Each street office's rows are the whole city's patrol figures of its grids."""
    from geodata.db.analysis import patrol_figures

    with sessions() as s:
        whole = patrol_figures(s, period=parse_period(period)).report.grids.set_index("grid_code")
    assert sorted(r["area"] for r in rows) == sorted(whole.index)
    for r in rows:
        v = r["values"]
        assert v["grid_code"] == r["area"]
        for col in (
            "street_m",
            "patrolled_m",
            "households",
            "households_covered",
            "buildings_passed",
            "key_sites_visited",
            "patrols",
        ):
            assert v[col] == pytest.approx(float(whole.loc[r["area"], col])), (r["area"], col)


def test_sequential_run_on_the_demo(demo_db):
    engine = demo_db[0]
    url = engine.url.render_as_string(hide_password=False)
    period = _last_week()
    proc = run_gridmap(
        "run", "patrol", "--all-streets", "--period", period, "--sequential", url=url
    )
    assert "1 of 1 street offices done" in proc.stdout
    rows = _rows(session_factory(engine), period)
    assert sum(r["values"]["patrols"] for r in rows) > 0
    _equals_whole_city(session_factory(engine), rows, period)


@pytest.mark.backend("postgis")
def test_patrol_on_dask_workers_equals_local_run_and_survives_a_killed_worker(city, tmp_path):
    url, sessions = city
    period = _last_week()
    env_without = {k: v for k, v in os.environ.items() if k != SCHEDULER_ENV}

    # the peer: the same tasks one after another in the command's own process
    proc = run_gridmap(
        "run", "patrol", "--all-streets", "--period", period, "--sequential", url=url
    )
    assert f"{STREETS} of {STREETS} street offices done" in proc.stdout
    local = _rows(sessions, period)
    assert {r["street"] for r in local} == {f"110108{k:03d}" for k in range(1, STREETS + 1)}
    with sessions() as s:
        grids = s.scalar(sa.select(sa.func.count(m.Grid.id)))
    assert len(local) == grids  # one row per grid of the city
    assert sum(r["values"]["patrols"] for r in local) > 0

    _equals_whole_city(sessions, local, period)

    with dask_cluster(tmp_path) as (address, workers):
        env = {**env_without, SCHEDULER_ENV: address, "GRIDMAP_DATABASE_URL": url}
        exe = Path(sys.executable).parent / "gridmap"
        proc = subprocess.run(
            [str(exe), "run", "patrol", "--all-streets", "--period", period],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"on {address}" in proc.stderr and "done" in proc.stdout
        assert _rows(sessions, period) == local
        run = _run_jobs(sessions)[-1]
        assert (run.state, run.done, run.total) == ("done", STREETS, STREETS)
        tasks = _tasks(sessions, run.id)
        assert [t.state for t in tasks] == ["done"] * STREETS
        assert {t.pid for t in tasks} <= {w.pid for w in workers}  # computed on the workers

        # kill the worker computing a street office; its task is run again on the other one
        running = subprocess.Popen(
            [str(exe), "run", "patrol", "--all-streets", "--period", period],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        victim = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while victim is None and time.monotonic() < deadline and running.poll() is None:
            jobs = _run_jobs(sessions)
            if len(jobs) > 2:
                busy = [t.pid for t in _tasks(sessions, jobs[-1].id) if t.state == "writing"]
                victim = next((w for w in workers if w.pid in busy), None)
            time.sleep(0.1)
        assert victim is not None, "no worker was seen computing"
        victim.kill()
        victim.wait()
        out, err = running.communicate(timeout=300)
        assert running.returncode == 0, err
        assert f"{STREETS} of {STREETS} street offices done" in out
        assert _rows(sessions, period) == local
        run = _run_jobs(sessions)[-1]
        assert (run.state, run.done) == ("done", STREETS)
        survivor = next(w for w in workers if w is not victim)
        tasks = _tasks(sessions, run.id)
        assert [t.state for t in tasks] == ["done"] * STREETS
        assert {t.pid for t in tasks} == {survivor.pid}  # the killed one's task was redone
        assert sorted(t.result["attempts"] for t in tasks) == [1] * (STREETS - 1) + [2]

        # bad data in one street office: its task fails three times and is reported
        with _broken_track(sessions, "110108003", period) as track_code:
            proc = subprocess.run(
                [str(exe), "run", "patrol", "--all-streets", "--period", period],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert proc.returncode == 1
        assert f"{STREETS - 1} of {STREETS} street offices done" in proc.stdout
        assert f"FAILED 110108003: InvalidInput: patrol track {track_code}" in proc.stderr
        run = _run_jobs(sessions)[-1]
        assert run.state == "failed" and "110108003" in run.error
        tasks = {t.title.rsplit(" ", 1)[1]: t for t in _tasks(sessions, run.id)}
        assert tasks["110108003"].state == "failed"
        assert tasks["110108003"].result["attempts"] == 3  # the first try and two retries
        assert "patrol track" in tasks["110108003"].error
        assert [tasks[c].state for c in ("110108001", "110108002")] == ["done", "done"]
    # the failed street office kept its rows of the run before
    assert _rows(sessions, period) == local


@contextmanager
def _broken_track(sessions, street: str, period: str):
    """One patrol track of ``street`` in ``period`` with a time missing (a real import
    error the patrol analysis rejects); restored afterwards."""
    p = parse_period(period)
    with sessions.begin() as s:
        track = s.scalars(
            sa.select(m.PatrolTrack)
            .join(m.Grid, m.PatrolTrack.grid_id == m.Grid.id)
            .where(
                m.Grid.code.like(f"{street}%"),
                m.PatrolTrack.started_at >= p.start,
                m.PatrolTrack.started_at < p.end,
            )
            .order_by(m.PatrolTrack.id)
        ).first()
        track_id, code, times = track.id, track.code, list(track.times)
        track.times = times[:-1]
    try:
        yield code
    finally:
        with sessions.begin() as s:
            s.get(m.PatrolTrack, track_id).times = times


def test_run_risk_hands_the_installations_weights_to_every_task(demo_db, tmp_path, monkeypatch):
    """`gridmap run risk` reads GRIDMAP_RISK_WEIGHTS once and every task scores with it."""
    from geodata.db.analysis import period_as_of, risk_report
    from gridmap.analysis.risk import load_weights
    from gridmap.privacy import Requester

    engine = demo_db[0]
    url = engine.url.render_as_string(hide_password=False)
    period = _last_week()
    weights_file = tmp_path / "weights.yaml"
    weights_file.write_text("hazards:\n  per_open:\n    low: 40\n    medium: 60\n    high: 90\n")
    monkeypatch.setenv("GRIDMAP_RISK_WEIGHTS", str(weights_file))
    run_gridmap("run", "risk", "--all-streets", "--period", period, "--sequential", url=url)
    sessions = session_factory(engine)
    with sessions() as s:
        rows = stored_results(s, "risk", parse_period(period))
        as_of = period_as_of(parse_period(period))
        local = risk_report(
            s, Requester.system("t"), weights=load_weights(weights_file), as_of=as_of
        )
        shipped = risk_report(s, Requester.system("t"), as_of=as_of)
    local_score = local.grids.set_index("code")["score"]
    shipped_score = shipped.grids.set_index("code")["score"]
    assert sorted(r["area"] for r in rows) == sorted(local_score.index)
    for r in rows:
        assert r["values"]["score"] == pytest.approx(float(local_score[r["area"]])), r["area"]
    assert (local_score > shipped_score).any()  # the file's weights were the ones used
