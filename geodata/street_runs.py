"""City-wide runs split per street office: one task per street office, on Dask or in turn.

Each task (:func:`run_street`) opens the database itself, computes one analysis of one
street office on a :func:`~geodata.db.street_view.street_view` session with the same
functions the pages use, and replaces that street office's rows of the ``street_result``
table in a short transaction of its own, so any worker of a Dask cluster that reaches
the database can run it, a task killed half-way leaves nothing behind, and running it
again (a retry) gives the same rows. The run and every task are rows of the ``job``
table: queued, writing (with the worker's host and pid), done or failed with the error.

:func:`run_streets` drives a run: on a Dask cluster (``GRIDMAP_DASK_SCHEDULER``, else a
local cluster of one process per core) or, with ``scheduler="sequential"``, one street
office after another in this process (the peer of the benchmark; the same tasks).
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.jobs import save_job
from gridmap.analysis.patrol import Period
from gridmap.errors import ConfigError
from gridmap.json_values import json_value
from gridmap.messages import N_, fail

ANALYSES = ("patrol", "risk", "indicators", "reach")
SCHEDULER_ENV = "GRIDMAP_DASK_SCHEDULER"
SEQUENTIAL = "sequential"
RETRIES = 2  # a task failing (or losing its worker) three times is reported as failed
# Allocations between two collections of the youngest generation while a task computes
# (Python's default: 700).
GC_THRESHOLD = 20_000


# --- what each analysis stores per street office ------------------------------------------
def _records(frame: pd.DataFrame, level: str, area_column: str) -> list[tuple[str, str, dict]]:
    plain = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    return [
        (level, str(r[area_column]), {k: json_value(v) for k, v in r.items()})
        for r in plain.to_dict("records")
    ]


def _patrol(session: Session, period: Period, inputs: dict) -> list[tuple[str, str, dict]]:
    from geodata.db.analysis import patrol_figures

    res = patrol_figures(session, period=period, username="run")
    overdue = res.overdue[res.overdue["overdue"].astype(bool)].groupby("grid_code").size()
    grids = res.report.grids.assign(
        key_sites_overdue=lambda g: g["grid_code"].map(overdue).fillna(0).astype(int)
    )
    return _records(grids, "grid", "grid_code")


def _risk(session: Session, period: Period, inputs: dict) -> list[tuple[str, str, dict]]:
    from geodata.db.analysis import period_as_of, risk_report
    from gridmap.privacy import Requester

    rep = risk_report(
        session,
        Requester.system("run"),
        weights=inputs.get("risk_weights"),
        as_of=period_as_of(period),
    )
    grids = rep.grids.drop(columns=["leader"], errors="ignore")
    return _records(grids, "grid", "code")


def _indicators(session: Session, period: Period, inputs: dict) -> list[tuple[str, str, dict]]:
    from geodata.db.indicators import compute_rows
    from gridmap.standards.indicators import load_indicators

    rows = compute_rows(session, period, indicators=load_indicators(), username="run")
    return [
        (r["level"], f"{r['area']}:{r['indicator']}", {k: json_value(v) for k, v in r.items()})
        for r in rows.to_dict("records")
    ]


def _reach(session: Session, period: Period, inputs: dict) -> list[tuple[str, str, dict]]:
    from geodata.reachability import compute_reach

    rep = compute_reach(session, store=False)
    cov = rep.coverage
    out = []
    for (level, area), rows in cov.groupby(["level", "area"], sort=True):
        out.append(
            (
                str(level),
                str(area),
                {
                    "coverage": [
                        {k: json_value(v) for k, v in r.items() if k not in ("level", "area")}
                        for r in rows.to_dict("records")
                    ]
                },
            )
        )
    return out


# each takes the street office's view, the period and the run's inputs (e.g. risk weights)
COMPUTE: dict[str, Callable[[Session, Period, dict], list[tuple[str, str, dict]]]] = {
    "patrol": _patrol,
    "risk": _risk,
    "indicators": _indicators,
    "reach": _reach,
}


# --- one task -------------------------------------------------------------------------------
@contextmanager
def _collect_less() -> Iterator[None]:
    """Collect garbage less often while a task computes.

    A street office's frames and geometries are a few hundred thousand objects that live
    until the task ends; at the default threshold the collector scans them again and
    again, about a fifth of the task's CPU time. Cycles are still collected, later.
    """
    before = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _store_rows(
    sessions,
    run_id: str,
    analysis: str,
    street_code: str,
    period: Period,
    rows: list[tuple[str, str, dict]],
) -> None:
    """Replace the street office's rows of ``analysis`` for ``period``, in one transaction."""
    start, end = period.start, period.end
    now = datetime.now().replace(microsecond=0)
    with sessions.begin() as session:
        session.execute(
            sa.delete(m.StreetResult).where(
                m.StreetResult.analysis == analysis,
                m.StreetResult.period_start == start,
                m.StreetResult.period_end == end,
                m.StreetResult.street_code == street_code,
            )
        )
        session.add_all(
            m.StreetResult(
                run_id=run_id,
                analysis=analysis,
                period_start=start,
                period_end=end,
                street_code=street_code,
                level=level,
                area=area_code,
                values=values,
                computed_at=now,
            )
            for level, area_code, values in rows
        )


def run_street(
    url: str,
    analysis: str,
    street_code: str,
    start: datetime,
    end: datetime,
    run_id: str,
    task_id: str,
    inputs: dict | None = None,
) -> dict:
    """Compute ``analysis`` of one street office for [start, end) and store its rows.

    Runs on a Dask worker (or in the calling process). Raises on failure after writing the
    error into the task's job row.

    Parameters
    ----------
    url : str
        The database URL (each task opens the database itself).
    analysis : str
        One of ANALYSES.
    street_code : str
    start, end : datetime
        The period, half-open.
    run_id : str
        The run's job id, kept with the rows.
    task_id : str
        This task's job id.
    inputs : dict, optional
        What the run hands every task, read once where the run starts (``risk_weights``:
        the installation's risk weights, so workers on other machines need no copy).

    Returns
    -------
    dict
        street, rows stored and seconds taken.
    """
    from geodata.db.engine import make_engine, session_factory
    from geodata.db.street_view import street_area, street_view

    started = time.perf_counter()
    engine = make_engine(url)
    sessions = session_factory(engine)
    try:
        with sessions() as session:  # a retry (or a lost worker's task run again) counts on
            row = session.get(m.Job, task_id)
            attempts = ((row.result or {}).get("attempts", 0) if row is not None else 0) + 1
        save_job(
            sessions,
            task_id,
            state="writing",
            stage="computing",
            error=None,
            result={"attempts": attempts},
        )
        period = Period(start, end)
        with sessions() as session:  # read only: the computation's audit rows are not kept
            area = street_area(session, street_code)
            with _collect_less():
                rows = COMPUTE[analysis](street_view(session, area), period, inputs or {})
            session.rollback()
        save_job(sessions, task_id, stage="storing")
        _store_rows(sessions, run_id, analysis, street_code, Period(start, end), rows)
        seconds = round(time.perf_counter() - started, 2)
        summary = {"street": street_code, "rows": len(rows), "seconds": seconds}
        save_job(
            sessions,
            task_id,
            state="done",
            stage=None,
            done=1,
            result={**summary, "attempts": attempts},
        )
        return summary
    except Exception as exc:
        save_job(sessions, task_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        engine.dispose()


# --- a run --------------------------------------------------------------------------------
@dataclass
class RunOutcome:
    run_id: str
    analysis: str
    period: Period
    where: str  # "sequential", "local cluster (N processes)" or the address
    done: list[dict] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # street code -> error
    seconds: float = 0.0


def _client(scheduler: str | None, workers: int | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=20), scheduler
        except (OSError, TimeoutError) as exc:
            raise fail(
                ConfigError,
                N_("cannot reach the Dask scheduler {scheduler} ({variable}): {error}"),
                scheduler=scheduler,
                variable=SCHEDULER_ENV,
                error=str(exc),
            ) from exc
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
    )
    return Client(cluster), f"local cluster ({n} processes)"


def run_streets(
    sessions,
    url: str,
    analysis: str,
    period: Period,
    *,
    codes: list[str] | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    owner: str = "cli",
    progress: Callable[[dict | None, str | None], None] | None = None,
    inputs: dict | None = None,
) -> RunOutcome:
    """Run ``analysis`` for every street office with grids (or ``codes``) in ``period``.

    Failed tasks are reported in the outcome (and their job rows), never dropped.

    Parameters
    ----------
    sessions : sessionmaker
        Sessions of the database the run's job rows are written to.
    url : str
        The database URL the tasks open.
    analysis : str
        One of ANALYSES.
    period : Period
    codes : list of str or None
        The street offices; None for every one with grids.
    scheduler : str or None
        A Dask scheduler address, None for a local cluster, or "sequential".
    workers : int or None
        Processes of the local cluster (default one per core).
    owner : str
        Who started the run (kept in the job rows).
    progress : callable or None
        ``progress(summary, failed_code)`` after each task.
    inputs : dict or None
        Handed to every task (see :func:`run_street`).

    Returns
    -------
    RunOutcome
    """
    from geodata.db.street_view import street_codes

    if analysis not in COMPUTE:
        raise ValueError(f"analysis must be one of {', '.join(ANALYSES)}")
    with sessions() as session:
        codes = codes or street_codes(session)
    client, where = (None, SEQUENTIAL) if scheduler == SEQUENTIAL else _client(scheduler, workers)
    run_id = uuid.uuid4().hex[:20]
    outcome = RunOutcome(run_id, analysis, period, where)
    try:
        _run(sessions, client, outcome, url, codes, owner, progress, inputs or {})
    except BaseException as exc:  # Ctrl+C or a lost cluster: the run's row says so
        save_job(
            sessions,
            run_id,
            state="interrupted",
            stage=None,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    finally:
        if client is not None:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None and scheduler is None:
                cluster.close()
    _record_outcome(sessions, outcome)
    return outcome


def _record_outcome(sessions, outcome: RunOutcome) -> None:
    """The run's job row says how it ended: done, or failed naming each failed street office."""
    save_job(
        sessions,
        outcome.run_id,
        state="failed" if outcome.failed else "done",
        stage=None,
        result={
            "where": outcome.where,
            "seconds": outcome.seconds,
            "streets": len(outcome.done),
            "failed": outcome.failed,
        },
        error="; ".join(f"{c}: {e}" for c, e in outcome.failed.items())[:2000] or None,
    )


def _run(
    sessions,
    client,
    outcome: RunOutcome,
    url: str,
    codes: list[str],
    owner: str,
    progress,
    inputs: dict,
) -> None:
    run_id, analysis, period = outcome.run_id, outcome.analysis, outcome.period
    tasks = {code: f"{run_id}-{k:04d}" for k, code in enumerate(codes)}
    save_job(
        sessions,
        run_id,
        kind="run",
        owner=owner,
        layer=analysis,
        state="writing",
        stage="queued",
        total=len(codes),
        title=f"{analysis} {period.label}: {len(codes)} street offices",
    )
    for code, task_id in tasks.items():
        save_job(
            sessions,
            task_id,
            kind="run_task",
            owner=owner,
            layer=analysis,
            state="queued",
            total=1,
            title=f"{analysis} {period.label} {code}",
        )
    started = time.perf_counter()

    def finished(code: str, summary: dict | None, error: str | None) -> None:
        if summary is not None:
            outcome.done.append(summary)
        else:
            outcome.failed[code] = error or "failed"
        save_job(sessions, run_id, stage="running", done=len(outcome.done) + len(outcome.failed))
        if progress:
            progress(summary, None if summary is not None else code)

    args = [
        (url, analysis, code, period.start, period.end, run_id, tasks[code], inputs)
        for code in codes
    ]
    if client is None:
        for a in args:
            try:
                finished(a[2], run_street(*a), None)
            except Exception as exc:  # reported with the others at the end
                finished(a[2], None, f"{type(exc).__name__}: {exc}")
    else:
        from dask.distributed import as_completed

        futures = {
            client.submit(
                run_street, *a, key=f"{analysis}-{a[2]}-{run_id}", retries=RETRIES, pure=False
            ): a[2]
            for a in args
        }
        for fut in as_completed(futures):
            code = futures[fut]
            if fut.status == "finished":
                finished(code, fut.result(), None)
            else:
                error = fut.exception()
                finished(code, None, f"{type(error).__name__}: {error}")
                save_job(
                    sessions,
                    tasks[code],
                    state="failed",
                    error=f"{type(error).__name__}: {error}"[:2000],
                )
    outcome.seconds = round(time.perf_counter() - started, 2)


def stored_results(session: Session, analysis: str, period: Period) -> list[dict]:
    """The stored rows of ``analysis`` for ``period``, in street, level and area order.

    Parameters
    ----------
    session : Session
    analysis : str
        One of ANALYSES.
    period : Period

    Returns
    -------
    list of dict
        street, level, area and values per row.
    """
    rows = session.execute(
        sa.select(
            m.StreetResult.street_code,
            m.StreetResult.level,
            m.StreetResult.area,
            m.StreetResult.values,
        )
        .where(
            m.StreetResult.analysis == analysis,
            m.StreetResult.period_start == period.start,
            m.StreetResult.period_end == period.end,
        )
        .order_by(m.StreetResult.street_code, m.StreetResult.level, m.StreetResult.area)
    ).all()
    return [{"street": s, "level": lv, "area": a, "values": v} for s, lv, a, v in rows]
