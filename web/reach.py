"""The planner's reachability page: one facility category at a time, as the service radius
(服务半径), on foot (步行可达) or both (对比); the rule report beside the map; where new
facilities would cover the most; and the results to take away (per-building CSV/XLSX,
isochrones, circles and gaps as GeoPackage/KML, a print-resolution PNG, the A4 print view).

The views parse the request, call ``geodata.planning.plan_category`` (the same function and
defaults as `gridmap suggest` and `gridmap reach --method compare`) and render. A page run
is stored like a CLI run; downloads and the print view re-open it by its id
(``?run=<id>``) and store nothing. Only aggregates are shown.
"""

from __future__ import annotations

import io
import math
import tempfile
import threading
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from geodata.db import memo, repo
from geodata.db.models import Facility, ReachRun
from geodata.db.scope import visible_grid_codes
from geodata.planning import LEVELS, CategoryPlan, PlanRequest, own_level, plan_category
from geodata.reachability import latest_runs
from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput, NotFound
from gridmap.maps.reach import ReachMeasure, reach_map
from gridmap.maps.reach_png import reach_png
from gridmap.privacy import neutralise_frame
from gridmap.units import minutes_for
from web.db import db_session
from web.i18n import current_lang, error_text
from web.maps import render_map  # basemap, standard controls, offline assets

bp = Blueprint("reach", __name__)

SPEEDS = (3.0, 3.6, 4.0, 4.5, 5.0)
DEFAULT_CATEGORY = "health_center"
DOWNLOADS = {"buildings": ("csv", "xlsx"), "layers": ("gpkg", "kml"), "map": ("png",)}


def view_labels() -> dict[str, str]:
    return {"radius": _("Service radius"), "network": _("On foot"), "compare": _("Compare")}


def reason_labels() -> dict[str, str]:
    return {
        "off_network": _("Off the walking network"),
        "gate": _("The compound's gates are on the far side"),
        "barrier": _("A barrier without a crossing (river, railway, expressway)"),
        "detour": _("Detour more than twice the straight line"),
        "longer_route": _("The walking route is longer"),
    }


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


def _arg_choice(name: str, allowed, default, cast):
    raw = request.values.get(name)
    if raw in (None, ""):
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name, value=raw)) from exc
    if value not in allowed:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name, value=raw))
    return value


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _categories_present(session) -> set[str]:
    return {c for (c,) in session.execute(sa.select(Facility.category).distinct())}


def stored_request(session, run_id: int) -> PlanRequest:
    """The request a page run was computed for."""
    run = session.get(ReachRun, run_id)
    plan = (run.params or {}).get("plan") if run is not None else None
    if plan is None:
        raise NotFound(
            _(
                "No planner run %(id)s (runs from the command line cannot be re-opened here).",
                id=run_id,
            )
        )
    plan["candidate_points"] = tuple(tuple(p) for p in plan.get("candidate_points") or ())
    return PlanRequest(**plan)


def _request_from_form(present: set[str]) -> PlanRequest:
    category = request.values.get("category") or (
        DEFAULT_CATEGORY
        if DEFAULT_CATEGORY in present
        else next(
            (c.code for c in vocab.FACILITY_CATEGORIES if c.code in present), DEFAULT_CATEGORY
        )
    )
    if category not in vocab.FACILITY_CODES:
        raise InvalidInput(_("Unknown facility category %(c)s", c=category))
    return PlanRequest(
        category=category,
        view=_arg_choice("view", tuple(view_labels()), "network", str),
        minutes=_arg_choice("minutes", LEVELS, own_level(category), int),
        speed_kmh=_arg_choice("speed", SPEEDS, 4.0, float),
        k=_arg_choice("k", range(0, 6), 3, int),
        candidates=_arg_choice("candidates", ("gaps", "public"), "gaps", str),
    )


def _run_id_arg() -> int | None:
    raw = request.values.get("run")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field="run", value=raw)) from exc


class RecentPlans:
    """The last few page runs' results, by run id and language, so that the downloads and
    the print view that follow a page give that run's figures at once. A run's results do
    not change; one that has left (or another server process) is computed again from its
    stored request."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        # (run id, language) -> (plan, files rendered from it: the PNG takes seconds)
        self._plans: OrderedDict[tuple[int, str], tuple[CategoryPlan, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: int, lang: str, plan: CategoryPlan) -> None:
        with self._lock:
            self._plans[(run_id, lang)] = (plan, {})
            self._plans.move_to_end((run_id, lang))
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def get(self, run_id: int, lang: str) -> CategoryPlan | None:
        with self._lock:
            entry = self._plans.get((run_id, lang))
            return entry[0] if entry else None

    def file(self, run_id: int, lang: str, name: str, make) -> bytes:
        """The file ``name`` of a run, made once by ``make()`` while the run is here."""
        with self._lock:
            entry = self._plans.get((run_id, lang))
            if entry is not None and name in entry[1]:
                return entry[1][name]
        data = make()
        with self._lock:
            entry = self._plans.get((run_id, lang))
            if entry is not None:
                entry[1][name] = data
        return data


def recent_plans() -> RecentPlans:
    """This app's recent plans (run ids belong to its database)."""
    return current_app.extensions.setdefault("gridmap_recent_plans", RecentPlans())


def _plan_of_run(session, run_id: int, lang: str) -> CategoryPlan:
    plan = recent_plans().get(run_id, lang)
    if plan is None:
        plan = plan_category(session, stored_request(session, run_id), store=False, lang=lang)
        recent_plans().put(run_id, lang, plan)
    return plan


def _plan_for_download() -> tuple[CategoryPlan, int]:
    run_id = _run_id_arg()
    if run_id is None:
        raise InvalidInput(_("Say which run to download (run=<id>, from the planner page)."))
    return _plan_of_run(db_session(), run_id, current_lang()), run_id


@bp.route("/planner", methods=["GET", "POST"])
def planner_page():
    session = db_session()
    lang = current_lang()
    present = _categories_present(session)
    error = None
    plan = None
    req = None
    run_id = _run_id_arg() if request.method == "GET" else None
    try:
        if request.method == "POST":
            return _upload_candidates(session, present)
        if run_id is not None:
            plan = _plan_of_run(session, run_id, lang)
            req = plan.request
        else:
            req = _request_from_form(present)
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
    context = _context(plan, lang, run_id=run_id) if plan is not None else None
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
    from geodata.reach_files import read_candidates
    from geodata.readers import spool

    upload = request.files.get("candidates_file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("Choose a file of candidate sites first."))
    base = _request_from_form(present)
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


def _buildings_frame(plan: CategoryPlan) -> gpd.GeoDataFrame:
    b = plan.buildings
    return b[["address", "residents", "households", "state", "geometry"]].assign(
        distance_m=plan.main.reach.distance(plan.request.category).round(0),
        minutes=b["walk_min"].round(1),
        facility_name=b["facility_name"],
    )


def _map(plan: CategoryPlan, lang: str, run_id: int | None = None):
    fac = plan.main.inputs.facilities
    label = vocab.label(vocab.FACILITY_CATEGORIES, plan.request.category, lang)
    # a stored run's buildings are fetched by the page (the HTML stays small)
    url = url_for("reach.planner_buildings") if run_id is not None else None
    return reach_map(
        _buildings_frame(plan),
        fac[fac["category"] == plan.request.category],
        plan.reach_areas,
        plan.gaps,
        plan.picks,
        measure=ReachMeasure(
            category_label=label,
            distance_m=plan.distance_m,
            minutes=plan.minutes_at_speed,
            speed_kmh=plan.request.speed_kmh,
            estimate=plan.main.method == "estimate",
            method_text=_method_text(plan, lang),
        ),
        _=_,
        buildings_url=url,
        params={"run": run_id} if run_id is not None else None,
    )


@bp.route("/planner/layers/buildings")
def planner_buildings():
    """A stored run's buildings by state, in the map's box."""
    from gridmap.maps.reach import building_layer_frame
    from web.maps import layer_response

    plan, _run = _plan_for_download()
    return layer_response(*building_layer_frame(_buildings_frame(plan)))


def _method_text(plan: CategoryPlan, lang: str) -> str:
    if plan.request.view == "compare":
        return _("Service radius (circles) beside %(walk)s", walk=plan.walk.label(lang))
    return plan.main.label(lang)


def _context(
    plan: CategoryPlan, lang: str, *, with_map: bool = True, run_id: int | None = None
) -> dict:
    req = plan.request
    speed = req.speed_kmh
    summary = []
    cov = plan.coverage()
    street_cov = cov[cov["level"] == "street"]
    for t in plan.main.thresholds:
        for _i, r in street_cov[street_cov["threshold"] == t.label].iterrows():
            summary.append(
                {
                    "label": t.label,
                    "distance_m": t.distance_m,
                    "minutes": float(minutes_for(t.distance_m, speed)),
                    "residents": int(r["residents"]),
                    "covered": int(r["residents_covered"]),
                    "share": _num(r["residents_share"]),
                }
            )
    names = plan.main.inputs.names
    per_community = []
    comm = cov[cov["level"] == "community"]
    for code, rows in comm.groupby("area", sort=True):
        cells = {r["threshold"]: _num(r["residents_share"]) for _i, r in rows.iterrows()}
        per_community.append(
            {
                "code": code,
                "name": names["community"].get(code, code or "-"),
                "residents": int(rows["residents"].iloc[0]),
                "shares": [cells.get(t.label) for t in plan.main.thresholds],
            }
        )
    rules_df = plan.main.rules
    mine = (
        rules_df[rules_df["categories"].map(lambda s: req.category in s.split(","))]
        if len(rules_df)
        else rules_df
    )
    rule_rows = [
        {
            "rule": r["rule"],
            "title": r["title"],
            "clause": r["clause"],
            "level": r["level"],
            "area": r["area_name"] or "-",
            "threshold_m": r["threshold_m"],
            "minutes": r["minutes"],
            "share": _num(r["share"]),
            "min_share": r["min_share"],
            "passed": r["passed"],
        }
        for _i, r in mine[mine["level"].isin(["street", "community"])].iterrows()
    ]
    b = plan.buildings
    uncovered = b[b["state"].isin(["uncovered", "paper_only"])]
    return {
        "map": render_map(_map(plan, lang, run_id)) if with_map else None,
        "label": _method_text(plan, lang),
        "method": plan.main.method,
        "distance_m": plan.distance_m,
        "minutes_at_speed": plan.minutes_at_speed,
        "totals": {
            k: plan.street_totals(r)
            for k, r in (("radius", plan.radius), ("walk", plan.walk))
            if r is not None
        },
        "summary": summary,
        "communities": per_community,
        "rules": rule_rows,
        "compare": _compare_rows(plan),
        "reasons": _reason_rows(plan),
        "sites": _site_rows(plan),
        "candidates": plan.candidates,
        "candidate_source": plan.candidate_source,
        "gaps": len(plan.gaps),
        "gap_residents": int(plan.gaps["residents"].sum()) if len(plan.gaps) else 0,
        "uncovered_buildings": len(uncovered),
        "uncovered_residents": int(uncovered["residents"].sum()),
        "facilities": plan.facility_counts(),
        "thresholds": plan.main.thresholds,
        "max_distance_m": plan.main.params["max_distance_m"],
        "warnings": plan.main.warnings,
        "network": plan.main.network,
    }


def _compare_rows(plan: CategoryPlan) -> dict | None:
    """Inside the radius / on foot / on paper only, for the street, each community and
    each grid."""
    if plan.compare is None:
        return None
    names = plan.main.inputs.names
    out: dict = {}
    for level in ("street", "community", "grid"):
        rows = plan.compare[plan.compare["level"] == level]
        out[level] = [
            {**r, "name": names[level].get(r["area"], r["area"] or "-")}
            for r in rows.to_dict("records")
        ]
    return out


def _reason_rows(plan: CategoryPlan) -> list[dict]:
    b = plan.buildings
    po = b[b["paper_only"].astype(bool)]
    if po.empty:
        return []
    labels = reason_labels()
    counts = po.groupby("reason").agg(buildings=("code", "size"), residents=("residents", "sum"))
    return [
        {
            "code": code,
            "label": labels.get(code, code),
            "buildings": int(counts.loc[code, "buildings"]),
            "residents": int(counts.loc[code, "residents"]),
        }
        for code in labels
        if code in counts.index
    ]


def _site_rows(plan: CategoryPlan) -> list[dict]:
    if plan.picks is None:
        return []
    out = []
    for rec in plan.picks.drop(columns="geometry").to_dict("records"):
        out.append(
            {
                "rank": int(rec["rank"]),
                "lon": rec["lon"],
                "lat": rec["lat"],
                "street": rec["street"],
                "street_m": _num(rec["street_m"]),
                "address": rec["address"],
                "candidate": rec["candidate_label"],
                "residents_added": int(rec["residents_added"]),
                "households_added": int(rec["households_added"]),
                "share_before": _num(rec["share_before"]),
                "share_after": _num(rec["share_after"]),
            }
        )
    return out


# --- results to take away ----------------------------------------------------------------


def building_columns() -> dict[str, str]:
    """Per-building download columns and their headers (Chinese in the zh interface)."""
    return {
        "code": _("Building code"),
        "name": _("Name"),
        "address": _("Address"),
        "grid": _("Grid code"),
        "grid_name": _("Grid"),
        "community_name": _("Community"),
        "use": _("Use"),
        "households": _("Households"),
        "residents": _("Residents"),
        "straight_m": _("Straight-line distance (m)"),
        "walk_m": _("Walking distance (m)"),
        "walk_min": _("Walking time (min)"),
        "facility_code": _("Nearest facility code"),
        "facility_name": _("Nearest facility"),
        "covered": _("Covered"),
        "paper_only": _("Covered on paper only"),
        "reason": _("Reason"),
        "detour": _("Detour factor"),
    }


def building_table(plan: CategoryPlan, lang: str) -> pd.DataFrame:
    """The per-building results with headers for people: yes/no, reasons in words, empty
    cells (never NaN) where there is no value; only buildings in the requester's areas."""
    b = plan.buildings
    visible = visible_grid_codes(db_session(), g.requester)
    if visible is not None:
        b = b[b["grid"].isin(visible)]
    names = plan.main.inputs.names
    yes, no = _("yes"), _("no")
    reasons = reason_labels()
    t = pd.DataFrame(
        {
            "code": b["code"],
            "name": b["name"],
            "address": b["address"],
            "grid": b["grid"],
            "grid_name": b["grid"].map(names["grid"]),
            "community_name": b["community"].map(names["community"]),
            "use": [vocab.label(vocab.BUILDING_USES, u, lang) if u else None for u in b["use"]],
            "households": b["households"].astype(int),
            "residents": b["residents"].astype(int),
            "straight_m": b["straight_m"].round(1),
            "walk_m": b["walk_m"].round(1),
            "walk_min": b["walk_min"].round(2),
            "facility_code": b["facility_code"],
            "facility_name": b["facility_name"],
            "covered": [yes if c else no for c in b["covered"]],
            "paper_only": [
                yes if p else (no if plan.compare is not None else None) for p in b["paper_only"]
            ],
            "reason": [reasons.get(r) if r else None for r in b["reason"]],
            "detour": pd.to_numeric(b["detour"], errors="coerce").round(2),
        }
    )
    if plan.radius is None:
        t = t.drop(columns=["straight_m"])
    if plan.walk is None:
        t = t.drop(columns=["walk_m", "walk_min"])
    if plan.compare is None:
        t = t.drop(columns=["paper_only", "reason", "detour"])
    t = t.astype(object).where(t.notna(), None)
    return t.rename(columns=building_columns())


def layer_frames(plan: CategoryPlan) -> dict[str, gpd.GeoDataFrame]:
    """The map's layers for GeoPackage/KML: reach (isochrones, or circles in the radius
    view), radius circles (comparison), gaps and suggested sites, with Chinese/English
    attribute names."""
    areas = plan.reach_areas
    speed = plan.request.speed_kmh
    out = {}
    for kind, layer in (
        ("isochrone", "isochrones"),
        ("estimate", "isochrones"),
        ("circle", "radius_circles"),
    ):
        part = areas[areas["kind"] == kind]
        if len(part):
            out[layer] = gpd.GeoDataFrame(
                {
                    _("Kind"): [
                        _("Service radius (circle)")
                        if kind == "circle"
                        else _("Walking reach (isochrone)")
                    ]
                    * len(part),
                    _("Facility code"): part["code"].fillna(_("all facilities")),
                    _("Name"): part["name"].fillna(_("all facilities")),
                    _("Distance (m)"): part["distance_m"].round(1),
                    _("Walking time (min)"): pd.Series(
                        minutes_for(part["distance_m"], speed), index=part.index
                    ).round(2)
                    if kind != "circle"
                    else None,
                    _("Method"): plan.radius.label(current_lang())
                    if kind == "circle"
                    else plan.main.label(current_lang()),
                },
                geometry=part.geometry.values,
                crs=areas.crs,
            )
    if len(plan.gaps):
        out["gaps"] = gpd.GeoDataFrame(
            {
                _("Name"): [_("Gap %(n)s", n=i + 1) for i in range(len(plan.gaps))],
                _("Buildings"): plan.gaps["buildings"],
                _("Residents"): plan.gaps["residents"],
                _("Households"): plan.gaps["households"],
                _("Distance (m)"): plan.distance_m,
            },
            geometry=plan.gaps.geometry.values,
            crs=plan.gaps.crs,
        )
    if plan.picks is not None and len(plan.picks):
        p = plan.picks
        out["suggested_sites"] = gpd.GeoDataFrame(
            {
                _("Name"): [_("New site %(n)s", n=int(r)) for r in p["rank"]],
                _("Rank"): p["rank"],
                _("Nearest street"): p["street"],
                _("Address"): p["address"],
                _("Candidate"): p["candidate_label"],
                _("Residents added"): p["residents_added"],
                _("Households added"): p["households_added"],
                _("Coverage before"): p["share_before"].round(4),
                _("Coverage after"): p["share_after"].round(4),
            },
            geometry=p.geometry.values,
            crs=p.crs,
        )
    return out


def _file_name(plan: CategoryPlan, name: str, fmt: str) -> str:
    return f"reach-{plan.request.category}-{plan.request.view}-{plan.distance_m:.0f}m-{name}.{fmt}"


def png_labels(plan: CategoryPlan, lang: str) -> dict[str, str]:
    label = vocab.label(vocab.FACILITY_CATEGORIES, plan.request.category, lang)
    view = view_labels()[plan.request.view]
    return {
        "title": f"{label} · {view} · {plan.distance_m:.0f} m",
        "subtitle": _method_text(plan, lang) + " · " + datetime.now().strftime("%Y-%m-%d"),
        "legend": _("Legend"),
        "covered": _("Covered"),
        "paper_only": _("Covered on paper only"),
        "uncovered": _("Not covered"),
        "other": _("Not residential"),
        "gap": _("Gap"),
        "facility": _("Facility"),
        "site": _("Suggested site"),
        "isochrone": _("Walking reach (isochrone)"),
        "circle": _("Service radius (circle)"),
        "scale_unit": "m",
        "north": _("N"),
        "scale_bar": _("Scale bar"),
        "north_arrow": _("North arrow"),
    }


def map_png(plan: CategoryPlan, lang: str) -> bytes:
    fac = plan.main.inputs.facilities
    return reach_png(
        plan.buildings,
        fac[fac["category"] == plan.request.category],
        plan.reach_areas,
        plan.gaps,
        plan.picks,
        crs=plan.main.metric_crs,
        distance_m=plan.distance_m,
        labels=png_labels(plan, lang),
    )


@bp.route("/planner/download/<name>.<fmt>")
def download(name: str, fmt: str):
    if fmt not in DOWNLOADS.get(name, ()):
        raise InvalidInput(_("Downloads are buildings.csv/.xlsx, layers.gpkg/.kml and map.png."))
    plan, run_id = _plan_for_download()
    lang = current_lang()
    if name == "buildings":
        table = neutralise_frame(building_table(plan, lang))  # names never run as formulas
        if fmt == "csv":
            data = table.to_csv(index=False).encode("utf-8-sig")  # Excel reads the BOM
            mime = "text/csv; charset=utf-8"
        else:
            buf = io.BytesIO()
            table.to_excel(buf, index=False, sheet_name=_("Buildings"))
            data = buf.getvalue()
            mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif name == "layers":
        data = _layers_file(layer_frames(plan), fmt)
        mime = (
            "application/geopackage+sqlite3"
            if fmt == "gpkg"
            else "application/vnd.google-earth.kml+xml"
        )
    else:
        data = recent_plans().file(run_id, lang, "map.png", lambda: map_png(plan, lang))
        mime = "image/png"
    repo.audit(
        db_session(),
        g.requester,
        "export_reach",
        f"run {run_id}",
        {"file": f"{name}.{fmt}", "category": plan.request.category, "view": plan.request.view},
    )
    db_session().commit()
    return Response(
        data,
        mimetype=mime,
        headers={"Content-Disposition": f'attachment; filename="{_file_name(plan, name, fmt)}"'},
    )


def _layers_file(frames: dict[str, gpd.GeoDataFrame], fmt: str) -> bytes:
    """One file, one layer per frame (KML: one folder each, placemarks named)."""
    with tempfile.TemporaryDirectory(prefix="gridmap-reach-") as folder:
        path = Path(folder) / f"layers.{fmt}"
        for k, (layer, frame) in enumerate(frames.items()):
            options: dict = {"mode": "a"} if k else {}
            if fmt == "kml" and not k:
                options["dataset_options"] = {"NameField": _("Name")}
            frame.to_file(path, layer=layer, driver="GPKG" if fmt == "gpkg" else "KML", **options)
        return path.read_bytes()


@bp.route("/planner/print")
def print_view():
    """The A4 print view: the map at print resolution, the totals, the comparison per
    community, the rules and the suggested sites."""
    plan, run_id = _plan_for_download()
    lang = current_lang()
    ctx = _context(plan, lang, with_map=False)
    repo.audit(
        db_session(),
        g.requester,
        "print_reach",
        f"run {run_id}",
        {"category": plan.request.category, "view": plan.request.view},
    )
    db_session().commit()
    return render_template(
        "reach/print.html",
        ctx=ctx,
        req=plan.request,
        run_id=run_id,
        views=view_labels(),
        printed_at=datetime.now(),
        category_label=vocab.label(vocab.FACILITY_CATEGORIES, plan.request.category, lang),
        png_url=url_for("reach.download", name="map", fmt="png", run=run_id),
        street=repo.street_summary(db_session()),
    )
