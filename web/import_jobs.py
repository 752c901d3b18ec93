"""Import jobs: each upload is checked (and, once confirmed, written) in a background thread
of the server process that took it, so a large file never holds a request open.

Every job is also a row of the ``job`` table (state, progress, report), written in short
transactions beside the import's own, so any server process lists it and answers its
status; a server that starts marks the jobs of a dead process 'interrupted' (their import
never committed: nothing of it is in the database). The uploaded file and, after each
check, the job with its report and preview are kept under ``GRIDMAP_HOME/jobs/<id>/``, so
with ``gridmap serve --workers N`` any process shows the preview and confirms (the job's row
decides who runs it: a job is confirmed once); the folder is dropped an hour after the last
use.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app, g
from sqlalchemy.exc import SQLAlchemyError

from geodata.db.jobs import RUNNING, claim_job, get_job, interrupt_orphans, save_job
from geodata.importer import ImportOptions, Prepared, prepare, write
from geodata.readers import LayerChoiceNeeded
from gridmap.errors import Conflict, GridmapError, NotFound
from gridmap.messages import fail
from gridmap.notes import N_, Note
from gridmap.privacy import Requester
from web.db import db_session

JOB_TTL_S = 3600
PROGRESS_EVERY_S = 1.0


@dataclass
class Job:
    id: str
    owner: str
    requester: Requester
    folder: Path
    path: Path
    filename: str
    layer: str
    options: ImportOptions
    state: str = "checking"  # checking | ready | failed | writing | done
    stage: str = "read"
    done: int = 0
    total: int = 0
    prepared: Prepared | None = None
    error: Note | str | None = None
    choices: list[str] = field(default_factory=list)
    touched: float = field(default_factory=time.time)
    sessions: Any = None  # the app's sessionmaker: the job's row is written with it
    saved: float = 0.0
    running: bool = False  # a thread of this process checks or writes it
    run: str = "checking"  # what that thread does: checking | writing

    def __getstate__(self) -> dict:
        return {**self.__dict__, "sessions": None, "running": False}

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total
        self.touched = time.time()
        if self.touched - self.saved < PROGRESS_EVERY_S:
            return
        # SQLite has one writer: while the import writes, its row waits for the end.
        if stage == "write" and self.sessions.kw["bind"].dialect.name == "sqlite":
            return
        self.save()

    def save(self, **values) -> None:
        """This job's row (state, progress, and ``values`` such as the report)."""
        self.saved = time.time()
        error = self.error.text if isinstance(self.error, Note) else self.error
        try:
            save_job(
                self.sessions,
                self.id,
                kind="import",
                owner=self.owner,
                title=self.filename[:200],
                layer=self.layer,
                state=self.state,
                stage=self.stage,
                done=self.done,
                total=self.total,
                error=error,
                **values,
            )
        except SQLAlchemyError:  # the row is for other processes; the import goes on
            logging.getLogger(__name__).exception("job %s: row not saved", self.id)


def jobs_dir() -> Path:
    """Where every server process keeps the uploads and checked jobs: the ``jobs`` folder of
    the app's home (GRIDMAP_HOME, as read into its Settings)."""
    return current_app.config["SETTINGS"].home / "jobs"


def job_folder(job_id: str) -> Path:
    """A new job's folder; the jobs folder is made private to this user."""
    root = jobs_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = root / job_id
    folder.mkdir(mode=0o700)
    return folder


def _trusted(path: Path) -> bool:
    """Only a job this user wrote is loaded (a pickle runs code): the file and the jobs
    folder are ours and nobody else may write to the folder."""
    try:
        root, own = path.parent.parent.stat(), path.stat()
    except FileNotFoundError:
        return False
    uid = os.getuid()
    return root.st_uid == uid and own.st_uid == uid and not root.st_mode & 0o022


def _store(job: Job) -> None:
    """The job as it stands after a run, for any process (written whole, then renamed)."""
    tmp = job.folder / "job.pickle.tmp"
    with open(tmp, "wb") as f:
        pickle.dump(job, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.chmod(tmp, 0o600)
    os.replace(tmp, job.folder / "job.pickle")


def _stored(job_id: str) -> Job | None:
    if not job_id.replace("-", "").replace("_", "").isalnum():
        return None
    path = jobs_dir() / job_id / "job.pickle"
    if not _trusted(path):
        return None
    try:
        with open(path, "rb") as f:
            job = pickle.load(f)  # noqa: S301 - written by this server (see _trusted)
    except (FileNotFoundError, EOFError, pickle.UnpicklingError):
        return None
    os.utime(path)  # in use: not expired
    return job


class Jobs:
    """Import jobs: the ones this process runs (live progress) in memory; any other one
    from its folder, unless its row says another process runs it."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._expire()
            self._jobs[job.id] = job

    def get(self, job_id: str, owner: str) -> Job:
        job, row = self._lookup(job_id, owner)
        if job is None:
            if row is not None and row.owner == owner and row.state in RUNNING:
                raise not_now()  # another process checks or writes it now
            raise fail(NotFound, N_("No import job {id}."), id=job_id)
        return job

    def find(self, job_id: str, owner: str) -> Job | None:
        """The job if this process runs it or it is at rest (None: another process runs
        it, or unknown)."""
        return self._lookup(job_id, owner)[0]

    def _lookup(self, job_id: str, owner: str) -> tuple[Job | None, Any]:
        """``find``, with the job's row when it was read (None when this process runs the
        job: its row is not needed)."""
        row = None
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not job.running:
            row = get_job(db_session(), job_id)
            if row is None or row.state in RUNNING:
                return None, row
            job = _stored(job_id)
            if job is None or job.state != row.state:  # e.g. interrupted: the row tells
                return None, row
            with self._lock:
                self._jobs[job_id] = job
        if job.owner != owner:
            return None, row
        job.touched = time.time()
        return job, row

    def _expire(self) -> None:
        now = time.time()
        for key, job in list(self._jobs.items()):
            if now - job.touched > JOB_TTL_S and not job.running:
                del self._jobs[key]
        folders = jobs_dir().glob("*/job.pickle") if jobs_dir().is_dir() else ()
        for path in folders:
            try:
                old = now - path.stat().st_mtime > JOB_TTL_S
            except FileNotFoundError:
                continue
            if old and path.parent.name not in self._jobs:
                shutil.rmtree(path.parent, ignore_errors=True)


def job_registry() -> Jobs:
    return current_app.extensions.setdefault("gridmap_import_jobs", Jobs())


def _run(job: Job, sessions, *, confirm: bool) -> None:
    """Check (and when ``confirm``, write) ``job`` in its own transaction. Runs in a thread."""
    session = sessions()
    try:
        prepared = prepare(
            session,
            job.path,
            job.layer,
            job.options,
            job.requester,
            progress=job.progress,
            display_name=job.filename,
            workdir=Path(tempfile.mkdtemp(dir=job.folder)),
        )
        job.prepared = prepared
        if not confirm:
            session.rollback()
            job.state = "ready"
        elif not prepared.report.ok:
            session.rollback()
            job.error = Note(
                N_(
                    "the data changed since the preview: the import now has {n} "
                    "errors; nothing was written"
                ),
                {"n": len(prepared.report.errors)},
            )
            job.state = "failed"
        else:
            write(session, prepared, progress=job.progress)
            session.commit()
            job.state = "done"
    except LayerChoiceNeeded as exc:
        session.rollback()
        job.error, job.choices, job.state = exc.note, exc.choices, "failed"
    except GridmapError as exc:
        session.rollback()
        job.error, job.state = getattr(exc, "note", None) or str(exc), "failed"
    except Exception as exc:  # noqa: BLE001 - shown on the page; the transaction rolled back
        session.rollback()
        job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        _log_failure("writing" if confirm else "checking", exc)
    finally:
        session.close()
        report = job.prepared.report.as_dict() if job.prepared is not None else None
        # numpy numbers and times as plain JSON, as the command line prints them
        try:  # stored before the row says so: a process that sees the row finds the job
            _store(job)
        except (OSError, pickle.PicklingError):
            logging.getLogger(__name__).exception("job %s: not stored", job.id)
        job.save(result=json.loads(json.dumps(report, default=str)))
        job.running = False


def _log_failure(stage: str, exc: Exception) -> None:
    logging.getLogger(__name__).exception("import %s failed", stage, exc_info=exc)


def start_job(job: Job, *, confirm: bool, claim_from: tuple[str, ...] | None = None) -> None:
    """Run ``job`` in a thread of this process. ``claim_from``: the states the job's row
    must be in (409 when another process or request has started it meanwhile)."""
    sessions = current_app.extensions["gridmap_sessions"]
    state = "writing" if confirm else "checking"
    if claim_from is not None and not claim_job(
        sessions, job.id, from_states=claim_from, to_state=state
    ):
        raise not_now()
    job.sessions = sessions
    job.state = state
    job.stage, job.done, job.total, job.error = "read", 0, 0, None
    job.running, job.run = True, state
    job_registry().add(job)
    job.save()
    threading.Thread(
        target=_run,
        args=(job, sessions),
        kwargs={"confirm": confirm},
        daemon=True,
        name=f"import-{job.id}",
    ).start()


def job_row(job_id: str):
    """The job's row, for a job this process does not run (another process's, or one a
    restart interrupted); 404 unless it is the user's."""
    row = get_job(db_session(), job_id)
    if row is None or row.owner != g.user.username:
        raise fail(NotFound, N_("No import job {id}."), id=job_id)
    return row


def recover_jobs(app) -> list[str]:
    """At server start: jobs whose process died are 'interrupted' (see geodata.db.jobs)."""
    if not sa.inspect(app.extensions["gridmap_engine"]).has_table("job"):
        return []  # a database not migrated yet: no jobs to recover
    with app.extensions["gridmap_sessions"].begin() as session:
        return interrupt_orphans(session)


def not_now() -> GridmapError:
    """A step asked of a job that is not waiting for it (a second tab, a reload)."""
    return fail(Conflict, N_("This import is not waiting for that step any more; reload the page."))
