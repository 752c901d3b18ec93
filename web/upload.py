"""The import page: upload a file, read the report and the preview map, confirm, see the result.

Checking and writing run in a background thread per upload (a *job*), so a large
file never holds a request open: the job page polls ``/import/<job>/status`` and
shows a progress bar until the report (or the result) is ready. Confirming runs the
whole import again inside one transaction (the database may have changed since the
preview) and writes only when that report has no error: all or nothing.

Every job is also a row of the ``job`` table (state, progress, report), written in short
transactions beside the import's own, so any server process lists it (``/import/jobs``)
and answers its status; a server that starts marks the jobs of a dead process
'interrupted' (their import never committed: nothing of it is in the database). The
uploaded file and, after each check, the job with its report and preview are kept under
``GRIDMAP_HOME/jobs/<id>/``, so with ``gridmap serve --workers N`` any process shows the
preview and confirms (the job's row decides who runs it: a job is confirmed once); the
folder is dropped an hour after the last use.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from geodata.db import repo
from geodata.db.engine import gridmap_home
from geodata.db.jobs import RUNNING, claim_job, get_job, interrupt_orphans, list_jobs, save_job
from geodata.export import FORMATS as EXPORT_FORMATS
from geodata.export import SUFFIX as EXPORT_SUFFIX
from geodata.export import export_layer
from geodata.fields import VOCABS, dump_mapping, load_mapping, with_choices
from geodata.importer import ImportOptions, Prepared, prepare, write
from geodata.readers import LayerChoiceNeeded, Limits, ReadOptions, spool
from gridmap import permissions, vocab
from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFound
from gridmap.layers import REGISTRY as LAYERS
from gridmap.maps.imports import import_preview_map
from gridmap.messages import fail
from gridmap.notes import N_, Note, group_problems
from gridmap.privacy import Requester
from gridmap.standards.poi import EXCLUDE
from web.db import db_session
from web.i18n import current_lang, error_text
from web.maps import render_map  # basemap, standard controls, offline assets

bp = Blueprint("upload", __name__)
JOB_TTL_S = 3600
PROGRESS_EVERY_S = 1.0


def layer_labels() -> dict[str, str]:
    """Layer -> its title in the page's language (from the layer registry)."""
    lang = current_lang()
    return {spec.name: spec.title(lang) for spec in LAYERS}


def kind_labels() -> dict[str, str]:
    return {
        "repaired": _("repaired"),
        "dropped": _("dropped"),
        "unreadable_geometry": _("unreadable"),
        "overlap": _("overlap"),
        "gap": _("gap"),
        "crosses_community": _("crosses boundary"),
        "outside_community": _("outside community"),
        "duplicate_code": _("duplicate code"),
        "duplicate": _("duplicate"),
        "overloaded": _("too many households"),
        "underloaded": _("too few households"),
        "generated_code": _("code generated"),
        "code_fallback": _("code"),
        "code_format": _("code format"),
        "no_community": _("no community"),
        "unknown_parent": _("unknown parent"),
        "bad_value": _("bad value"),
        "missing_name": _("no name"),
        "missing_category": _("no category"),
        "no_coordinates": _("no coordinates"),
        "wrong_geometry": _("wrong geometry"),
        "multipart": _("several parts"),
        "converted": _("converted"),
        "matched_by_name": _("matched by name"),
        "unknown_building": _("unknown building"),
        "ambiguous_address": _("ambiguous address"),
        "unknown_household": _("unknown household"),
        "bad_id_number": _("ID number"),
        "out_of_scope": _("outside your areas"),
        "bad_time": _("bad time"),
        "defaulted": _("default used"),
        "bad_code": _("bad code"),
        "missing_code": _("no code"),
        "not_allowed": _("not allowed for your role"),
        "too_many_vertices": _("too many vertices"),
        "workflow_field": _("changes only through the workflow"),
    }


def severity_labels() -> dict[str, str]:
    return {"error": _("error"), "warning": _("warning"), "info": _("info")}


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
    """Where every server process keeps the uploads and checked jobs: GRIDMAP_HOME/jobs,
    or without GRIDMAP_HOME the system's temporary directory (shared by the workers too)."""
    if os.environ.get("GRIDMAP_HOME"):
        return gridmap_home() / "jobs"
    return Path(tempfile.gettempdir()) / f"gridmap-jobs-{os.getuid()}"


def _job_folder(job_id: str) -> Path:
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
        job = self.find(job_id, owner)
        if job is None:
            row = get_job(db_session(), job_id)
            if row is not None and row.owner == owner and row.state in RUNNING:
                raise _not_now()  # another process checks or writes it now
            raise fail(NotFound, N_("No import job {id}."), id=job_id)
        return job

    def find(self, job_id: str, owner: str) -> Job | None:
        """The job if this process runs it or it is at rest (None: another process runs
        it, or unknown)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not job.running:
            row = get_job(db_session(), job_id)
            if row is None or row.state in RUNNING:
                return None
            job = _stored(job_id)
            if job is None or job.state != row.state:  # e.g. interrupted: the row tells
                return None
            with self._lock:
                self._jobs[job_id] = job
        if job.owner != owner:
            return None
        job.touched = time.time()
        return job

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


def _jobs() -> Jobs:
    return current_app.extensions.setdefault("gridmap_import_jobs", Jobs())


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or Limits().max_bytes)


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
    import logging

    logging.getLogger(__name__).exception("import %s failed", stage, exc_info=exc)


def _start(job: Job, *, confirm: bool, claim_from: tuple[str, ...] | None = None) -> None:
    """Run ``job`` in a thread of this process. ``claim_from``: the states the job's row
    must be in (409 when another process or request has started it meanwhile)."""
    sessions = current_app.extensions["gridmap_sessions"]
    state = "writing" if confirm else "checking"
    if claim_from is not None and not claim_job(
        sessions, job.id, from_states=claim_from, to_state=state
    ):
        raise _not_now()
    job.sessions = sessions
    job.state = state
    job.stage, job.done, job.total, job.error = "read", 0, 0, None
    job.running, job.run = True, state
    _jobs().add(job)
    job.save()
    threading.Thread(
        target=_run,
        args=(job, sessions),
        kwargs={"confirm": confirm},
        daemon=True,
        name=f"import-{job.id}",
    ).start()


# --- views -------------------------------------------------------------------------------------
def _form_context(error: str | None = None, values: dict | None = None) -> dict:
    session = db_session()
    communities = repo.communities_frame(session)
    writable = permissions.layers_writable(g.requester.role)
    layers = {k: v for k, v in layer_labels().items() if k in writable}
    return {
        "layers": layers,
        "error": error,
        "values": values or {},
        "communities": communities[["code", "name"]].to_dict("records"),
        "max_mb": _max_bytes() // (1024 * 1024),
    }


def _options(form, mapping_text: str | None, mapping_name: str | None) -> ImportOptions:
    def number(name: str, default=None, kind=float):
        raw = (form.get(name) or "").strip()
        if not raw:
            return default
        try:
            return kind(raw)
        except ValueError as exc:
            raise GridmapError(_("%(field)s must be a number", field=name)) from exc

    read = ReadOptions(
        layer=(form.get("source_layer") or "").strip() or None,
        crs=(form.get("crs") or "").strip() or None,
        central_meridian=number("central_meridian"),
        coords=form.get("coords") or "wgs84",
        encoding=(form.get("encoding") or "").strip() or None,
        limits=Limits(max_bytes=_max_bytes()),
    )
    return ImportOptions(
        read=read,
        community=(form.get("community") or "").strip() or None,
        mapping=load_mapping(None, text=mapping_text, display=mapping_name)
        if mapping_text
        else load_mapping(None),
        code_scheme=form.get("code_scheme") or "15",
        service_code=(form.get("service_code") or "").strip() or None,
        target_min=number("target_min", 300, int),
        target_max=number("target_max", 500, int),
    )


@bp.route("/import", methods=["GET", "POST"])
def upload_page():
    if request.method == "GET":
        return render_template("upload/form.html", **_form_context())
    try:
        upload = request.files.get("file")
        form = request.form
    except RequestEntityTooLarge:
        return render_template(
            "upload/form.html",
            **_form_context(
                _("The file is larger than the %(mb)s MB limit.", mb=_max_bytes() // 1048576)
            ),
        ), 413
    values = form.to_dict()
    layer = form.get("layer")
    if not permissions.layers_writable(g.requester.role):
        return render_template(
            "upload/form.html", **_form_context(_("Your role may not import data."), values)
        ), 403
    if layer not in LAYERS:
        return render_template(
            "upload/form.html", **_form_context(_("Choose what the file holds."), values)
        ), 400
    if upload is None or not upload.filename:
        return render_template(
            "upload/form.html", **_form_context(_("Choose a file to import."), values)
        ), 400
    if not permissions.may_write(g.requester.role, layer):
        return render_template(
            "upload/form.html",
            **_form_context(
                _("Your role may not import %(layer)s.", layer=layer_labels()[layer]), values
            ),
        ), 403
    job_id = secrets.token_urlsafe(12)
    folder = _job_folder(job_id)
    try:
        mapping_file = request.files.get("mapping")
        mapping_text = (
            mapping_file.read().decode("utf-8-sig")
            if mapping_file and mapping_file.filename
            else None
        )
        options = _options(form, mapping_text, mapping_file.filename if mapping_text else None)
        path = spool(upload.stream, upload.filename, folder, max_bytes=_max_bytes())
        upload.close()  # large uploads arrive in a temporary file: release it now
    except (GridmapError, UnicodeDecodeError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        message = error_text(exc)
        return render_template("upload/form.html", **_form_context(message, values)), 400
    job = Job(
        id=job_id,
        owner=g.user.username,
        requester=g.requester,
        folder=folder,
        path=path,
        filename=path.name,
        layer=layer,
        options=options,
    )
    _start(job, confirm=False)
    return redirect(url_for("upload.job_page", job_id=job.id))


@bp.get("/export")
def export_download():
    """Download a layer as GeoJSON, GeoPackage or zipped Shapefile (scoped, masked, audited)."""
    layer, fmt = request.args.get("layer", ""), request.args.get("format", "")
    if layer not in LAYERS or fmt not in EXPORT_FORMATS:
        raise fail(InvalidInput, N_("Choose a layer and a format to export."))
    folder = Path(tempfile.mkdtemp(prefix="gridmap-export-"))
    try:
        path, _n = export_layer(
            db_session(), layer, fmt, folder / f"{layer}{EXPORT_SUFFIX[fmt]}", g.requester
        )
        data = path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    mimetype = {
        "geojson": "application/geo+json",
        "gpkg": "application/geopackage+sqlite3",
        "shp": "application/zip",
    }[fmt]
    return send_file(
        BytesIO(data),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{layer}{EXPORT_SUFFIX[fmt]}",
    )


def _job_row(job_id: str):
    """The job's row, for a job this process does not run (another process's, or one a
    restart interrupted); 404 unless it is the user's."""
    row = get_job(db_session(), job_id)
    if row is None or row.owner != g.user.username:
        raise fail(NotFound, N_("No import job {id}."), id=job_id)
    return row


def recover_jobs(app) -> list[str]:
    """At server start: jobs whose process died are 'interrupted' (see geodata.db.jobs)."""
    import sqlalchemy as sa

    if not sa.inspect(app.extensions["gridmap_engine"]).has_table("job"):
        return []  # a database not migrated yet: no jobs to recover
    with app.extensions["gridmap_sessions"].begin() as session:
        return interrupt_orphans(session)


def state_labels() -> dict[str, str]:
    return {
        "checking": _("Checking"),
        "ready": _("Checked, waiting for confirmation"),
        "writing": _("Writing"),
        "done": _("Written"),
        "failed": _("Failed"),
        "interrupted": _("Interrupted by a server restart; nothing was written"),
    }


@bp.get("/import/jobs")
def jobs_page():
    """Every import job (the user's own; all for administrators), from any server process."""
    owner = None if g.requester.role == "admin" else g.user.username
    rows = list_jobs(db_session(), owner=owner)
    return render_template(
        "upload/jobs.html", jobs=rows, layers=layer_labels(), states=state_labels()
    )


@bp.get("/import/<job_id>/status")
def job_status(job_id: str):
    job = _jobs().find(job_id, g.user.username)
    if job is None:
        row = _job_row(job_id)
        return jsonify(
            state=row.state,
            stage=state_labels().get(row.state, row.state),
            done=row.done,
            total=row.total,
        )
    stage = {"read": _("Reading the file"), "check": _("Checking"), "write": _("Writing")}.get(
        job.stage, job.stage
    )
    # until the run is stored and its row written, the other processes still see it run
    state = job.run if job.running else job.state
    return jsonify(state=state, stage=stage, done=job.done, total=job.total)


def _not_now() -> GridmapError:
    """A step asked of a job that is not waiting for it (a second tab, a reload)."""
    return fail(Conflict, N_("This import is not waiting for that step any more; reload the page."))


@bp.post("/import/<job_id>/confirm")
def job_confirm(job_id: str):
    job = _jobs().get(job_id, g.user.username)
    if job.state != "ready" or job.prepared is None or not job.prepared.report.ok:
        raise _not_now()
    _start(job, confirm=True, claim_from=("ready",))
    return redirect(url_for("upload.job_page", job_id=job.id))


@bp.post("/import/<job_id>/layer")
def job_layer(job_id: str):
    """Re-check the same file with the layer (sheet, archive member) the user chose."""
    job = _jobs().get(job_id, g.user.username)
    if job.state != "failed":
        raise _not_now()
    job.options.read.layer = request.form.get("source_layer") or None
    job.choices = []
    _start(job, confirm=False, claim_from=("failed",))
    return redirect(url_for("upload.job_page", job_id=job.id))


def _text(item) -> str:
    if item is None:
        return ""
    return item.render(_) if isinstance(item, Note) else str(item)


def _category_choices(layer: str) -> list[tuple[str, str]]:
    terms = VOCABS.get(f"{layer}.category", ())
    lang = current_lang()
    return [(code, f"{text} ({code})") for code, text in vocab.labels(terms, lang).items()]


def _decision(entry: dict) -> str:
    """What the select shows for one category value: a code, 'exclude' or '' (unmapped)."""
    return EXCLUDE if entry["excluded"] else entry["category"] or ""


@bp.post("/import/<job_id>/mapping")
def job_mapping(job_id: str):
    """Check the same file again with the values and columns the person chose on the page."""
    job = _jobs().get(job_id, g.user.username)
    if job.state != "ready" or job.prepared is None:
        raise _not_now()
    report, form = job.prepared.report, request.form
    values: dict[str, str | None] = {}
    for i, entry in enumerate(report.categories):
        choice = form.get(f"cat-{i}")
        if choice is None or choice == _decision(entry):
            continue
        values[entry["value"]] = choice or None
    allowed = LAYERS[job.layer].allowed
    columns: dict[str, str | None] = {}
    for i, col in enumerate(report.props_columns):
        choice = form.get(f"col-{i}") or "props"
        if choice not in allowed and choice not in ("props", "ignore"):
            raise fail(
                InvalidInput,
                N_("Column {column}: choose a field, keep it or ignore it."),
                column=col,
            )
        columns[col] = None if choice == "props" else choice
    job.options.mapping = with_choices(job.options.mapping, values=values, columns=columns)
    _start(job, confirm=False, claim_from=("ready",))
    return redirect(url_for("upload.job_page", job_id=job.id))


@bp.get("/import/<job_id>/mapping.yaml")
def job_mapping_file(job_id: str):
    """The choices made so far as the mapping file `gridmap import --mapping` takes."""
    job = _jobs().get(job_id, g.user.username)
    text = dump_mapping(job.options.mapping, layer=job.layer)
    return send_file(
        BytesIO(text.encode("utf-8")),
        mimetype="application/x-yaml",
        as_attachment=True,
        download_name=f"{Path(job.filename).stem}-mapping.yaml",
    )


@bp.get("/import/<job_id>")
def job_page(job_id: str):
    job = _jobs().find(job_id, g.user.username)
    if job is None:
        return render_template(
            "upload/job_row.html",
            row=_job_row(job_id),
            layers=layer_labels(),
            states=state_labels(),
        )
    # The worker thread may finish while this page renders: read the state once so the
    # page never says "ready" without the report (or polls a job that is over).
    state = job.run if job.running else job.state
    context = {
        "job": job,
        "state": state,
        "layers": layer_labels(),
        "kinds": kind_labels(),
        "severities": severity_labels(),
        "t": _text,
        "map": None,
        "report": None,
    }
    if job.prepared is not None and state in ("ready", "done", "failed"):
        report = job.prepared.report
        context["report"] = report
        context["groups"] = group_problems(report.problems)
        context["category_choices"] = _category_choices(job.layer)
        context["categories"] = sorted(
            enumerate(report.categories),
            key=lambda ie: (ie[1]["category"] is not None or ie[1]["excluded"], -ie[1]["count"]),
        )
        context["decision"] = _decision
        context["field_choices"] = sorted(LAYERS[job.layer].allowed - set(report.mapping.values()))
        context["has_mapping"] = bool(job.options.mapping.fields or job.options.mapping.values)
        if state == "ready" and job.prepared.spec.geometry is not None:
            grids = repo.grids_frame(db_session())
            m = import_preview_map(job.prepared.preview, grids, _=_)
            context["map"] = render_map(m)
    return render_template("upload/job.html", **context)
