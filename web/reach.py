"""The planner's reachability page: one facility category at a time, as the service radius
(服务半径), on foot (步行可达) or both (对比); the rule report beside the map; where new
facilities would cover the most; and the results to take away (per-building CSV/XLSX,
isochrones, circles and gaps as GeoPackage/KML, a print-resolution PNG, the A4 print view).

The views parse the request, call ``geodata.planning.plan_category`` (the same function and
defaults as `gridmap suggest` and `gridmap reach --method compare`) and render. A page run
is stored like a CLI run; downloads and the print view re-open it by its id
(``?run=<id>``) and store nothing. Only aggregates are shown.

This module holds the blueprint, the page and its URL rules; the request and the recent runs
are in ``web.reach_plans``, what the page shows in ``web.reach_report``, and the results to
take away in ``web.reach_exports``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import memo, repo
from geodata.db.models import Facility
from geodata.planning import LEVELS, PlanRequest, own_level, plan_category
from geodata.reach_files import read_candidates
from geodata.reachability import latest_runs
from geodata.readers import spool
from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput
from gridmap.maps.reach import building_layer_frame
from web.db import db_session
from web.i18n import current_lang, error_text
from web.maps import layer_response
from web.reach_exports import DOWNLOADS, download, print_view
from web.reach_plans import (
    DEFAULT_CATEGORY,
    SPEEDS,
    buildings_frame,
    plan_for_download,
    plan_of_run,
    recent_plans,
    request_from_form,
    run_id_arg,
    view_labels,
)
from web.reach_report import plan_context

bp = Blueprint("reach", __name__)


def _category_choices(lang: str, present: set[str]) -> list[dict]:
    out = []
    names = vocab.labels(vocab.FACILITY_CATEGORIES, lang)
    for level in sorted(LEVELS, reverse=True):
        for c in vocab.FACILITY_CATEGORIES:
            if c.level_min == level:
                out.append(
                    {
                        "code": c.code,
                        "label": names[c.code],
                        "level": level,
                        "present": c.code in present,
                    }
                )
    return out


def _categories_present(session) -> set[str]:
    return {c for (c,) in session.execute(sa.select(Facility.category).distinct())}


@bp.route("/planner", methods=["GET", "POST"])
def planner_page():
    session = db_session()
    lang = current_lang()
    present = _categories_present(session)
    error = None
    plan = None
    req = None
    run_id = run_id_arg() if request.method == "GET" else None
    try:
        if request.method == "POST":
            return _upload_candidates(session, present)
        if run_id is not None:
            plan = plan_of_run(session, run_id, lang)
            req = plan.request
        else:
            req = request_from_form(present)
            # the same question on the same data is the run already stored: no new run
            plan = memo.cached(
                session,
                ("planner", repr(req), lang),
                lambda: plan_category(
                    session, req, store=True, lang=lang, created_by=g.user.username
                ),
            )
            run_id = plan.run_ids[-1]
            recent_plans().put(run_id, lang, plan)
    except GridmapError as exc:
        session.rollback()
        error = error_text(exc)
    if req is None:
        cat = request.values.get("category") or DEFAULT_CATEGORY
        req = PlanRequest(cat if cat in vocab.FACILITY_CODES else DEFAULT_CATEGORY)
    context = plan_context(plan, lang, run_id=run_id) if plan is not None else None
    return render_template(
        "reach/planner.html",
        error=error,
        categories=_category_choices(lang, present),
        req=req,
        minutes=req.minutes or own_level(req.category),
        levels=LEVELS,
        speeds=SPEEDS,
        views=view_labels(),
        ctx=context,
        run_id=run_id if plan is not None else None,
        downloads=_download_links(run_id) if plan is not None else None,
        runs=_runs(session),
        street=repo.street_summary(session),
        category_label=vocab.label(vocab.FACILITY_CATEGORIES, req.category, lang),
        map=context["map"] if context else None,
    ), 400 if error else 200


def _upload_candidates(session, present: set[str]):
    """The planner's own candidate sites (a point layer or a table with lon/lat): the page
    run is stored with them, then opened by its id."""
    upload = request.files.get("candidates_file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("Choose a file of candidate sites first."))
    base = request_from_form(present)
    with tempfile.TemporaryDirectory(prefix="gridmap-candidates-") as folder:
        path = spool(upload.stream, upload.filename, Path(folder), max_bytes=50 * 1024 * 1024)
        points = read_candidates(path)
    req = PlanRequest(
        base.category, base.view, base.minutes, base.speed_kmh, max(base.k, 1), "file", points
    )
    plan = plan_category(session, req, store=True, lang=current_lang(), created_by=g.user.username)
    recent_plans().put(plan.run_ids[-1], current_lang(), plan)
    return redirect(url_for("reach.planner_page", run=plan.run_ids[-1]))


def _download_links(run_id: int | None) -> dict | None:
    if run_id is None:
        return None
    links = {
        f"{name}_{fmt}": url_for("reach.download", name=name, fmt=fmt, run=run_id)
        for name, fmts in DOWNLOADS.items()
        for fmt in fmts
    }
    links["print"] = url_for("reach.print_view", run=run_id)
    return links


def _runs(session) -> list[dict]:
    out = []
    for r in latest_runs(session, limit=12):
        plan = r.get("plan") or {}
        out.append(
            {
                **r,
                "view": view_labels().get(plan.get("view"), "-") if plan else "-",
                "category": plan.get("category"),
                "url": url_for("reach.planner_page", run=r["id"]) if plan else None,
            }
        )
    return out


@bp.route("/planner/layers/buildings")
def planner_buildings():
    """A stored run's buildings by state, in the map's box."""
    plan, _run = plan_for_download()
    return layer_response(*building_layer_frame(buildings_frame(plan)))


# the results to take away, on this blueprint (web.reach_exports)
bp.add_url_rule("/planner/download/<name>.<fmt>", view_func=download)
bp.add_url_rule("/planner/print", view_func=print_view)
