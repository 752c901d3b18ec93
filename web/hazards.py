"""Hazard cases: the list with overdue cases per community, reporting on the map, and one
case with its history and the steps this user may take."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import field_photos, repo
from geodata.db import hazards as cases_repo
from geodata.db.analysis import analysis_as_of, figures_requester
from gridmap import hazards as rules
from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput, PermissionDenied
from gridmap.maps.hazards import hazards_map
from web.db import db_session
from web.i18n import action_labels, current_lang, error_text
from web.maps import current_display, point_from_display, render_map

bp = Blueprint("hazards", __name__, url_prefix="/hazards")


def _labels(lang: str) -> dict:
    def terms(ts):
        return vocab.labels(ts, lang)

    return {
        "status": terms(vocab.HAZARD_STATUSES),
        "category": terms(vocab.HAZARD_CATEGORIES),
        "severity": terms(vocab.HAZARD_SEVERITIES),
        "action": action_labels(),
        "escalation": {0: "", 1: _("Community"), 2: _("Street office"), 3: _("District")},
    }


def _records(frame) -> list[dict]:
    return frame.drop(columns="geometry").to_dict("records")


@bp.route("/")
def index():
    session = db_session()
    as_of = analysis_as_of(session)
    args = {k: request.args.get(k, "") for k in ("status", "community", "grid", "overdue")}
    if args["status"] and args["status"] not in vocab.HAZARD_STATUS_CODES:
        raise InvalidInput(_("Unknown status %(s)s.", s=args["status"]))
    everything = cases_repo.cases_frame(session, g.requester, as_of=as_of)
    cases = cases_repo.cases_frame(
        session,
        g.requester,
        as_of=as_of,
        status=args["status"] or None,
        community_code=args["community"] or None,
        grid_code=args["grid"] or None,
        overdue_only=args["overdue"] == "1",
        open_only=not args["status"] and args["overdue"] != "1" and request.args.get("all") != "1",
    )
    grids = repo.visible_grids_frame(session, g.requester)
    lang = current_lang()
    m, legends = hazards_map(
        grids, cases, lang=lang, detail_url=url_for("hazards.detail", code="__ID__"), _=_
    )
    # A community's counts are one figure for every viewer: counted over all its cases,
    # shown for the communities of the viewer's grids.
    every_case = cases_repo.cases_frame(session, figures_requester(g.requester), as_of=as_of)
    per_community = cases_repo.overdue_by_community(every_case)
    per_community = per_community[
        per_community["community_code"].isin(set(grids["community_code"]))
    ]
    communities = sorted(
        {
            (r["community_code"], r["community_name"])
            for r in _records(everything)
            if r["community_code"]
        }
    )
    return render_template(
        "hazards/index.html",
        map=render_map(m, legends=legends),
        cases=_records(cases),
        per_community=per_community.to_dict("records"),
        args=args,
        as_of=as_of,
        labels=_labels(lang),
        communities=communities,
        grids=grids[["code", "name"]].to_dict("records"),
        open_total=int((everything["status"] != "closed").sum()),
        overdue_total=int(everything["overdue"].sum()),
        may_report=g.requester.role in rules.TRANSITIONS["report"].roles,
        may_escalate=g.requester.role in rules.STAFF,
        show_all=request.args.get("all") == "1",
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    session = db_session()
    lang = current_lang()
    error = None
    values = {
        k: request.form.get(k, "") for k in ("category", "severity", "description", "lat", "lon")
    }
    if g.requester.role not in rules.TRANSITIONS["report"].roles:
        raise PermissionDenied(_("Your role may not report hazards."))
    if request.method == "POST":
        try:
            try:
                lon, lat = float(values["lon"]), float(values["lat"])
            except ValueError as exc:
                raise InvalidInput(_("Click on the map to place the hazard.")) from exc
            lon, lat = point_from_display(lon, lat, request.form.get("display"))
            hazard = cases_repo.report(
                session,
                g.requester,
                lon=lon,
                lat=lat,
                category=values["category"],
                severity=values["severity"],
                description=values["description"],
            )
            flash(_("Hazard %(code)s reported.", code=hazard.code), "success")
            return redirect(url_for("hazards.detail", code=hazard.code))
        except GridmapError as exc:
            session.rollback()
            error = error_text(exc)
    grids = repo.visible_grids_frame(session, g.requester)
    m, legends = hazards_map(grids, _empty_cases(), lang=lang, pick=True, _=_)
    return render_template(
        "hazards/new.html",
        map=render_map(m, legends=legends),
        error=error,
        values=values,
        labels=_labels(lang),
        display=current_display(),
        categories=vocab.HAZARD_CATEGORIES,
        severities=vocab.HAZARD_SEVERITIES,
    ), 400 if error else 200


def _empty_cases():
    import geopandas as gpd

    cols = [
        "code",
        "category",
        "severity",
        "status",
        "overdue",
        "deadline",
        "responsible",
        "grid_name",
    ]
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=4326))


def _detail(code: str, *, error: str | None = None, status: int = 200):
    session = db_session()
    as_of = analysis_as_of(session)
    hazard = cases_repo.get(session, g.requester, code)
    case = cases_repo.cases_frame(session, g.requester, as_of=as_of).query("code == @code")
    history = cases_repo.history(session, g.requester, code)
    actions = cases_repo.allowed_actions(session, g.requester, hazard)
    grids = repo.visible_grids_frame(session, g.requester)
    lang = current_lang()
    m, legends = hazards_map(grids, case, lang=lang, focus=case, _=_)
    repo.audit(session, g.requester, "hazard_view", code)
    row = _records(case)[0]
    photos = field_photos.hazard_photos(session, g.requester, code)
    return render_template(
        "hazards/detail.html",
        map=render_map(m, legends=legends),
        case=row,
        hazard=hazard,
        history=history,
        actions=actions,
        labels=_labels(lang),
        error=error,
        as_of=as_of,
        photos=photos,
        default_deadline=rules.default_deadline(hazard.severity, as_of).date().isoformat(),
        today=datetime.now().date().isoformat(),
    ), status


@bp.route("/<code>")
def detail(code: str):
    return _detail(code)


@bp.post("/<code>/act")
def act(code: str):
    session = db_session()
    form = request.form
    deadline = None
    try:
        if form.get("deadline"):
            try:
                deadline = datetime.combine(
                    datetime.strptime(form["deadline"], "%Y-%m-%d").date(), datetime.max.time()
                ).replace(microsecond=0)
            except ValueError as exc:
                raise InvalidInput(_("The deadline must be a date (YYYY-MM-DD).")) from exc
        cases_repo.act(
            session,
            g.requester,
            code,
            form.get("action", ""),
            note=form.get("note"),
            responsible=form.get("responsible"),
            deadline=deadline,
        )
    except (InvalidInput, PermissionDenied) as exc:
        session.rollback()
        return _detail(
            code, error=error_text(exc), status=403 if isinstance(exc, PermissionDenied) else 400
        )
    flash(_("Saved: %(action)s.", action=action_labels().get(form.get("action"), "")), "success")
    return redirect(url_for("hazards.detail", code=code))


@bp.post("/escalate")
def escalate():
    if g.requester.role not in rules.STAFF:
        raise PermissionDenied(_("Only community and street staff escalate cases."))
    session = db_session()
    done = cases_repo.sweep_escalations(session, g.requester, as_of=analysis_as_of(session))
    flash(_("%(n)s overdue cases escalated.", n=len(done)), "success")
    return redirect(url_for("hazards.index", overdue="1"))
