"""The import page: upload a file, read the report and the preview map, confirm, see the result.

Checking and writing run in a background thread per upload (a *job*), so a large
file never holds a request open: the job page polls ``/import/<job>/status`` and
shows a progress bar until the report (or the result) is ready. Confirming runs the
whole import again inside one transaction (the database may have changed since the
preview) and writes only when that report has no error: all or nothing.

The jobs themselves (threads, their rows, their folders under ``GRIDMAP_HOME/jobs``) are in
``web.import_jobs``; the step where the person maps values and columns in
``web.import_mapping``. This module holds the blueprint, the form, the job pages and the
export download.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from io import BytesIO
from pathlib import Path

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
from werkzeug.exceptions import RequestEntityTooLarge

from geodata.db import repo
from geodata.db.jobs import list_jobs
from geodata.export import FORMATS as EXPORT_FORMATS
from geodata.export import SUFFIX as EXPORT_SUFFIX
from geodata.export import export_layer
from geodata.fields import load_mapping
from geodata.importer import ImportOptions
from geodata.readers import Limits, ReadOptions, spool
from gridmap import permissions
from gridmap.errors import GridmapError, InvalidInput
from gridmap.layers import REGISTRY as LAYERS
from gridmap.maps.imports import import_preview_map
from gridmap.messages import fail
from gridmap.notes import N_, Note, group_problems
from web.db import db_session
from web.i18n import current_lang, error_text
from web.import_jobs import Job, job_folder, job_registry, job_row, not_now, start_job
from web.import_mapping import category_choices, decision, job_mapping, job_mapping_file
from web.maps import render_map  # basemap, standard controls, offline assets

bp = Blueprint("upload", __name__)


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


def _max_bytes() -> int:
    return int(current_app.config.get("MAX_CONTENT_LENGTH") or Limits().max_bytes)


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
        limits=current_app.config["SETTINGS"].read_limits(_max_bytes()),
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
    folder = job_folder(job_id)
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
    start_job(job, confirm=False)
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
    job = job_registry().find(job_id, g.user.username)
    if job is None:
        row = job_row(job_id)
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


@bp.post("/import/<job_id>/confirm")
def job_confirm(job_id: str):
    job = job_registry().get(job_id, g.user.username)
    if job.state != "ready" or job.prepared is None or not job.prepared.report.ok:
        raise not_now()
    start_job(job, confirm=True, claim_from=("ready",))
    return redirect(url_for("upload.job_page", job_id=job.id))


@bp.post("/import/<job_id>/layer")
def job_layer(job_id: str):
    """Re-check the same file with the layer (sheet, archive member) the user chose."""
    job = job_registry().get(job_id, g.user.username)
    if job.state != "failed":
        raise not_now()
    job.options.read.layer = request.form.get("source_layer") or None
    job.choices = []
    start_job(job, confirm=False, claim_from=("failed",))
    return redirect(url_for("upload.job_page", job_id=job.id))


def _text(item) -> str:
    if item is None:
        return ""
    return item.render(_) if isinstance(item, Note) else str(item)


# the mapping step, on this blueprint (web.import_mapping)
bp.add_url_rule("/import/<job_id>/mapping", view_func=job_mapping, methods=["POST"])
bp.add_url_rule("/import/<job_id>/mapping.yaml", view_func=job_mapping_file, methods=["GET"])


@bp.get("/import/<job_id>")
def job_page(job_id: str):
    job = job_registry().find(job_id, g.user.username)
    if job is None:
        return render_template(
            "upload/job_row.html",
            row=job_row(job_id),
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
        context["category_choices"] = category_choices(job.layer)
        context["categories"] = sorted(
            enumerate(report.categories),
            key=lambda ie: (ie[1]["category"] is not None or ie[1]["excluded"], -ie[1]["count"]),
        )
        context["decision"] = decision
        context["field_choices"] = sorted(LAYERS[job.layer].allowed - set(report.mapping.values()))
        context["has_mapping"] = bool(job.options.mapping.fields or job.options.mapping.values)
        if state == "ready" and job.prepared.spec.geometry is not None:
            grids = repo.grids_frame(db_session())
            m = import_preview_map(job.prepared.preview, grids, _=_)
            context["map"] = render_map(m)
    return render_template("upload/job.html", **context)
