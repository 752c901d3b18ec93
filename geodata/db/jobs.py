"""Long runs as rows of the ``job`` table: any server process shows them, a restart finds them.

The work itself (an import) runs in its own transaction; a job's row is written in short
transactions of its own beside it, so a process that dies mid-write leaves its job row
saying 'writing' and none of the import's rows. :func:`interrupt_orphans`, called when a
server starts, marks such jobs 'interrupted'.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from geodata.db.models import Job

RUNNING = ("checking", "writing")
STALE_AFTER = timedelta(minutes=30)  # a running job on another host unheard of for this long


def here() -> tuple[str, int]:
    """The host and process that a job row records as its runner.

    Returns
    -------
    tuple of (str, int)
        The host name (at most 100 characters) and the process id.
    """
    return socket.gethostname()[:100], os.getpid()


def save_job(sessions: sessionmaker[Session], job_id: str, **values) -> None:
    """Create or update one job row in a short transaction of its own.

    Parameters
    ----------
    sessions : sessionmaker
        Opens the job's own transaction, apart from the work the job does.
    job_id : str
        The job's id; the row is created when there is none.
    **values
        Columns to set (state, done, total, error, result ...).
    """
    host, pid = here()
    now = datetime.now().replace(microsecond=0)
    with sessions.begin() as session:
        row = session.get(Job, job_id)
        if row is None:
            row = Job(id=job_id, host=host, pid=pid, created_at=now, done=0, total=0)
            session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.host, row.pid, row.updated_at = host, pid, now


def get_job(session: Session, job_id: str) -> Job | None:
    """One job by id.

    Parameters
    ----------
    session : Session
        An open session.
    job_id : str
        The job's id.

    Returns
    -------
    Job or None
        The row, or None when there is no such job.
    """
    return session.get(Job, job_id)


def list_jobs(session: Session, *, owner: str | None, limit: int = 100) -> list[Job]:
    """The newest jobs first.

    Parameters
    ----------
    session : Session
        An open session.
    owner : str or None
        Only this user's jobs; None lists everyone's.
    limit : int
        At most this many rows.

    Returns
    -------
    list of Job
        Newest first.
    """
    stmt = sa.select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if owner is not None:
        stmt = stmt.where(Job.owner == owner)
    return list(session.scalars(stmt))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def interrupt_orphans(
    session: Session, *, alive: Callable[[int], bool] = _alive, now: datetime | None = None
) -> list[str]:
    """Mark running jobs whose process is gone as 'interrupted'.

    A job of this host is orphaned when its process no longer runs; a job of another host
    when it has not been updated for :data:`STALE_AFTER`. Their imports never committed:
    the rows they were writing are not in the database.

    Parameters
    ----------
    session : Session
        The caller's transaction; the caller commits.
    alive : callable
        Tells whether a process id of this host still runs.
    now : datetime, optional
        The time to judge staleness by (default: now).

    Returns
    -------
    list of str
        The ids of the jobs marked interrupted.
    """
    host, _pid = here()
    now = now or datetime.now()
    out = []
    for job in session.scalars(sa.select(Job).where(Job.state.in_(RUNNING))):
        gone = not alive(job.pid) if job.host == host else now - job.updated_at > STALE_AFTER
        if gone:
            job.state = "interrupted"
            job.error = "the server stopped while this job ran; nothing was written"
            job.updated_at = now.replace(microsecond=0)
            out.append(job.id)
    return out


def claim_job(
    sessions: sessionmaker[Session], job_id: str, *, from_states: tuple[str, ...], to_state: str
) -> bool:
    """Move the job from one of ``from_states`` to ``to_state`` unless another process (or
    a second click) did first: with several server processes, one job is confirmed once.

    Parameters
    ----------
    sessions : sessionmaker
        Opens the short transaction of the claim.
    job_id : str
        The job's id.
    from_states : tuple of str
        The states the job may be in to be claimed.
    to_state : str
        The state it moves to.

    Returns
    -------
    bool
        True when this call moved it, False when it was not in one of ``from_states``.
    """
    with sessions.begin() as session:
        # An UPDATE answers a CursorResult (with rowcount); Session.execute's stubs say Result.
        stmt = (
            sa.update(Job)
            .where(Job.id == job_id, Job.state.in_(from_states))
            .values(state=to_state)
        )
        result = cast(sa.CursorResult, session.execute(stmt))
        return result.rowcount == 1
