"""The mapping step of an import: the person maps the file's category values and columns on
the job page, the same file is checked again with those choices, and the choices can be
taken away as the mapping file `gridmap import --mapping` reads."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from flask import g, redirect, request, send_file, url_for

from geodata.fields import VOCABS, dump_mapping, with_choices
from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.layers import REGISTRY as LAYERS
from gridmap.messages import fail
from gridmap.notes import N_
from gridmap.standards.poi import EXCLUDE
from web.i18n import current_lang
from web.import_jobs import job_registry, not_now, start_job


def category_choices(layer: str) -> list[tuple[str, str]]:
    """The categories a value of ``layer`` may be mapped to: (code, label)."""
    terms = VOCABS.get(f"{layer}.category", ())
    lang = current_lang()
    return [(code, f"{text} ({code})") for code, text in vocab.labels(terms, lang).items()]


def decision(entry: dict) -> str:
    """What the select shows for one category value: a code, 'exclude' or '' (unmapped)."""
    return EXCLUDE if entry["excluded"] else entry["category"] or ""


def job_mapping(job_id: str):
    """Check the same file again with the values and columns the person chose on the page."""
    job = job_registry().get(job_id, g.user.username)
    if job.state != "ready" or job.prepared is None:
        raise not_now()
    report, form = job.prepared.report, request.form
    values: dict[str, str | None] = {}
    for i, entry in enumerate(report.categories):
        choice = form.get(f"cat-{i}")
        if choice is None or choice == decision(entry):
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
    start_job(job, confirm=False, claim_from=("ready",))
    return redirect(url_for("upload.job_page", job_id=job.id))


def job_mapping_file(job_id: str):
    """The choices made so far as the mapping file `gridmap import --mapping` takes."""
    job = job_registry().get(job_id, g.user.username)
    text = dump_mapping(job.options.mapping, layer=job.layer)
    return send_file(
        BytesIO(text.encode("utf-8")),
        mimetype="application/x-yaml",
        as_attachment=True,
        download_name=f"{Path(job.filename).stem}-mapping.yaml",
    )
