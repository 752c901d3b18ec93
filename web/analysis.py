"""Analysis pages: patrol coverage, risk, heatmaps (with GeoTIFF/PNG downloads).

Views parse the request, call one function of geodata.db.analysis, build the map
with a pure builder from gridmap.maps and render. Typed errors (bad period, unknown
grid or layer) are shown on the page above the form.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from geodata.db import analysis, heatmaps, repo
from gridmap.analysis import groups as groups_mod
from gridmap.analysis import patrol as patrol_mod
from gridmap.analysis.risk import component_label, load_weights
from gridmap.display import grid_label
from gridmap.errors import GridmapError, InvalidInput
from gridmap.maps.amap_shift import shift_geojson
from gridmap.maps.heatmap import (
    PALETTE,
    TIME_PALETTE,
    HeatmapView,
    cell_frame,
    colorize,
    heatmap_map,
    scale_max,
    weekly_features,
)
from gridmap.maps.patrol import PATROL_LAYERS, patrol_layer_frames, patrol_map
from gridmap.maps.risk import RISK_LAYERS, risk_layer_frames, risk_map
from web.db import db_session
from web.i18n import current_lang, error_text
from web.maps import (  # basemap, controls, offline assets
    layer_response,
    render_map,
    requested_display,
)

bp = Blueprint("analysis", __name__)

BANDWIDTHS_M = (50, 100, 150, 200, 300, 500)
MAP_TRACKS = 200  # tracks drawn on the patrol map (the latest)
CELLS_M = (25, 50, 100, 200)


def _period(text: str | None) -> patrol_mod.Period | None:
    return patrol_mod.parse_period(text) if text else None


def _grid_choices(session) -> list[dict]:
    grids = repo.visible_grids_frame(session, g.requester)
    return [
        {"code": r.code, "name": grid_label(r.community_name, r.name, r.code)}
        for r in grids.itertuples()
    ]


def _number(name: str, default: float, *, lo: float, hi: float) -> float:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s must be a number of metres", field=name)) from exc
    if not lo <= value <= hi:
        raise InvalidInput(
            _("%(field)s must be between %(lo)s and %(hi)s metres", field=name, lo=lo, hi=hi)
        )
    return value


# --- patrol -----------------------------------------------------------------------------
def _patrol_args() -> dict:
    args = {k: request.args.get(k, "") for k in ("period", "by", "shift", "grid")}
    args["by"] = args["by"] if args["by"] in ("day", "week", "month") else "period"
    args["shift"] = args["shift"] if args["shift"] in ("day", "night") else "all"
    return args


def _map_params(args: dict) -> dict:
    """The page's own question, sent along with each layer request (empty ones left out)."""
    return {k: v for k, v in args.items() if v and k != "by"}


@bp.route("/patrol")
def patrol_page():
    session = db_session()
    args = _patrol_args()
    by, shift = args["by"], args["shift"]
    grid_choices = _grid_choices(session)
    error = None
    try:
        res = analysis.patrol_report(
            session,
            g.requester,
            period=_period(args["period"]),
            by=by,
            shift=shift,
            grid_code=args["grid"] or None,
        )
    except GridmapError as exc:
        error = error_text(exc)
        args = {"period": "", "by": "period", "shift": shift, "grid": ""}
        res = analysis.patrol_report(session, g.requester, shift=shift)
    rep = res.report
    n_tracks = min(MAP_TRACKS, int(rep.pieces["track"].nunique()) if len(rep.pieces) else 0)
    m = patrol_map(
        _bounds(res.grids),
        {n: url_for("analysis.patrol_layer", name=n) for n in PATROL_LAYERS},
        params=_map_params(args),
        _=_,
        tracks_label=_("Patrol tracks (latest %(n)s)", n=n_tracks),
    )
    overdue = res.overdue_only()
    unpatrolled = rep.unpatrolled.drop(columns="geometry").groupby("grid_code").head(3)
    return render_template(
        "analysis/patrol.html",
        map=render_map(m),
        error=error,
        args=args,
        by=by,
        shift=shift,
        grids=grid_choices,
        grid_names={c["code"]: c["name"] for c in grid_choices},
        period=res.period,
        as_of=res.as_of,
        totals=rep.totals(),
        cleaning=rep.cleaning,
        coverage=rep.grids.to_dict("records"),
        overdue=overdue.drop(columns="geometry")
        .assign(
            days=[_("never") if d == float("inf") else f"{d:.0f}" for d in overdue["days_overdue"]]
        )
        .to_dict("records"),
        unpatrolled=unpatrolled.to_dict("records"),
        patrollers=rep.patrollers.to_dict("records"),
        options=rep.options,
        street=repo.street_summary(session),
    ), 400 if error else 200


def _bounds(grids) -> tuple[float, float, float, float] | None:
    return tuple(float(v) for v in grids.total_bounds) if len(grids) else None


@bp.route("/patrol/layers/<name>")
def patrol_layer(name: str):
    if name not in PATROL_LAYERS:
        abort(404)
    args = _patrol_args()
    res = analysis.patrol_report(
        db_session(),
        g.requester,
        period=_period(args["period"]),
        shift=args["shift"],
        grid_code=args["grid"] or None,
    )
    rep = res.report

    def tracks():  # the latest, simplified to 10 m (the tables count them all)
        latest = rep.pieces.sort_values("started_at", ascending=False).head(MAP_TRACKS)
        return latest.assign(geometry=latest.geometry.simplify(10.0)).to_crs(4326)

    frames = patrol_layer_frames(
        res.grids,
        rep.grids,
        rep.segments,
        tracks,
        res.overdue_only(),
        only=name,
        lang=current_lang(),
        _=_,
    )
    return layer_response(*frames[name])


# --- risk -------------------------------------------------------------------------------
def _risk(grid: str, period: str) -> analysis.RiskReport:
    return analysis.risk_report(
        db_session(),
        g.requester,
        grid_code=grid or None,
        weights=load_weights(current_app.config["SETTINGS"].risk_weights),
        period=_period(period),
    )


@bp.route("/risk")
def risk_page():
    session = db_session()
    grid, period = request.args.get("grid", ""), request.args.get("period", "")
    error = None
    try:
        rep = _risk(grid, period)
    except GridmapError as exc:
        error = error_text(exc)
        grid = period = ""
        rep = _risk("", "")
    lang = current_lang()
    comp_cols = list(rep.grid_risk.components.columns)
    bcols = list(rep.building_risk.components.columns)
    shown_buildings = rep.buildings[rep.buildings["score"] > 0]
    m = risk_map(
        _bounds(rep.grids),
        {n: url_for("analysis.risk_layer", name=n) for n in RISK_LAYERS},
        grid_scores=rep.grids["score"],
        building_scores=shown_buildings["score"],
        grid_components=comp_cols,
        building_components=bcols,
        params=_map_params({"grid": grid, "period": period}),
        lang=lang,
        _=_,
    )
    grids = rep.grids.sort_values("score", ascending=False)
    grid_rows = [
        {
            "code": r["code"],
            "name": r["name"],
            "score": r["score"],
            "households": r["households"],
            "rate": r["per_100_households"],
            "parts": [
                (component_label(e["component"], lang), e["count"], e["points"])
                for e in rep.grid_risk.explain(i)
            ],
        }
        for i, r in grids.iterrows()
    ]
    top = rep.buildings.sort_values("score", ascending=False).head(15)
    building_rows = [
        {
            "code": r["code"],
            "address": r["address"] if isinstance(r["address"], str) else r["code"],
            "grid_code": r["grid_code"],
            "score": r["score"],
            "parts": [
                (component_label(e["component"], lang), e["count"], e["points"])
                for e in rep.building_risk.explain(i)
            ],
        }
        for i, r in top.iterrows()
    ]
    return render_template(
        "analysis/risk.html",
        map=render_map(m),
        error=error,
        grid=grid,
        period=period,
        grids=_grid_choices(session),
        grid_rows=grid_rows,
        building_rows=building_rows,
        as_of=rep.as_of,
        window=rep.patrol_period,
        by_building=rep.vulnerable_by_building,
        street=repo.street_summary(session),
    ), 400 if error else 200


@bp.route("/risk/layers/<name>")
def risk_layer(name: str):
    if name not in RISK_LAYERS:
        abort(404)
    rep = _risk(request.args.get("grid", ""), request.args.get("period", ""))
    frames = risk_layer_frames(
        rep.grids,
        rep.grids[list(rep.grid_risk.components.columns)],
        rep.buildings,
        rep.buildings[list(rep.building_risk.components.columns)],
    )
    return layer_response(*frames[name])


# --- heatmaps ---------------------------------------------------------------------------
def _heatmap_params() -> dict:
    kind = request.args.get("layer", "households")
    group = request.args.get("group", "elderly_alone")
    layer = (
        f"group:{group}"
        if kind == "group"
        else (f"reach:{request.args.get('category', '')}" if kind == "reach" else kind)
    )
    return {
        "kind": kind,
        "group": group,
        "layer": layer,
        "category": request.args.get("category", ""),
        "bandwidth_m": _number("bandwidth_m", 150.0, lo=10, hi=2000),
        "cell_m": _number("cell_m", 50.0, lo=5, hi=500),
        "kernel": request.args.get("kernel", "quartic"),
        "cells": request.args.get("cells", "square"),
        "period": request.args.get("period", ""),
        "grid": request.args.get("grid", ""),
        "weekly": request.args.get("weekly") == "1",
    }


def _compute(p: dict) -> heatmaps.Heatmap:
    return heatmaps.heatmap(
        db_session(),
        g.requester,
        layer=p["layer"],
        options=heatmaps.HeatmapOptions(
            bandwidth_m=p["bandwidth_m"], cell_m=p["cell_m"], kernel=p["kernel"], cells=p["cells"]
        ),
        period=_period(p["period"]),
        grid_code=p["grid"] or None,
    )


def _unit_label(units: str) -> str:
    return {
        "households": _("Households"),
        "residents": _("Residents"),
        "hazards": _("Open hazards"),
        "incidents": _("Incidents"),
        "patrol_minutes": _("Patrol minutes"),
        "minutes": _("Facilities"),
    }.get(units, units)


@bp.route("/heatmap")
def heatmap_page():
    session = db_session()
    error = None
    try:
        p = _heatmap_params()
        hm = _compute(p)
    except GridmapError as exc:
        error = error_text(exc)
        p = {
            "kind": "households",
            "group": "elderly_alone",
            "layer": "households",
            "category": "",
            "bandwidth_m": 150.0,
            "cell_m": 50.0,
            "kernel": "quartic",
            "cells": "square",
            "period": "",
            "grid": "",
            "weekly": False,
        }
        hm = _compute(p)
    travel = hm.surface.units == "minutes"
    unit = _unit_label(hm.units)
    lang = current_lang()
    caption = _caption(p, hm)
    grids = repo.visible_grids_frame(session, g.requester, grid_code=p["grid"] or None)
    query = {k: v for k, v in request.args.items() if k != "lang"}
    slider = p["weekly"] and hm.weekly is not None and len(hm.weekly) > 0
    view = HeatmapView(
        caption=caption,
        layer_name=_("Density"),
        value_label=_("Walking minutes") if travel else unit,
        travel_time=travel,
        cells_url=url_for("analysis.heatmap_cells"),
        weeks_url=url_for("analysis.heatmap_weeks") if slider else None,
        params=query,
    )
    m = heatmap_map(hm.surface, hm.cells, grids, view, _=_)
    return render_template(
        "analysis/heatmap.html",
        map=render_map(m),
        error=error,
        p=p,
        hm=hm,
        unit=unit,
        caption=caption,
        integral=None if travel else hm.surface.integral(),
        group_choices=[(c, groups_mod.group_label(c, lang)) for c in groups_mod.group_codes()],
        categories=_facility_categories(lang),
        bandwidths=BANDWIDTHS_M,
        cells_m=CELLS_M,
        grids=_grid_choices(session),
        weeks=0 if hm.weekly is None else hm.weekly["week"].nunique(),
        download_tif=url_for("analysis.heatmap_download", fmt="tif", **query),
        download_png=url_for("analysis.heatmap_download", fmt="png", **query),
        street=repo.street_summary(session),
    ), 400 if error else 200  # the page says what


def _caption(p: dict, hm: heatmaps.Heatmap) -> str:
    """What the surface shows, with its unit (the map's legend and the PNG's title)."""
    if hm.surface.units == "minutes":
        names = dict(_facility_categories(current_lang()))
        return _(
            "Walking minutes to the nearest %(category)s",
            category=names.get(p["category"], p["category"]),
        )
    return _(
        "%(unit)s per hectare (bandwidth %(bw)s m, cells %(cell)s m)",
        unit=_unit_label(hm.units),
        bw=f"{hm.bandwidth_m:g}",
        cell=f"{hm.cell_m:g}",
    )


@bp.route("/heatmap/layers/cells")
def heatmap_cells():
    """The heatmap's cells (small counts already suppressed) in the map's box."""
    hm = _compute(_heatmap_params())  # bbox, zoom and display are the layer's own
    return layer_response(*cell_frame(hm.cells))


@bp.route("/heatmap/layers/weeks")
def heatmap_weeks():
    """The weekly slider's cells of the heatmap's history layer (all weeks, the whole box:
    the slider shows one week at a time)."""
    hm = _compute(_heatmap_params())
    s = hm.surface
    body = weekly_features(
        hm.weekly,
        cell_m=hm.weekly_cell_m or s.cell_m,
        crs=s.crs,
        colors=TIME_PALETTE if s.units == "minutes" else PALETTE,
    )
    if requested_display() == "gcj02":
        body = shift_geojson(body)
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, max-age=30"
    return response


def _facility_categories(lang: str) -> list[tuple[str, str]]:
    from gridmap import vocab

    return list(vocab.labels(vocab.FACILITY_CATEGORIES, lang).items())


@bp.route("/heatmap/download.<fmt>")
def heatmap_download(fmt: str):
    from geodata.raster import surface_bytes
    from gridmap.maps.heatmap_png import heatmap_png

    if fmt not in ("tif", "png"):
        raise InvalidInput(_("Downloads are GeoTIFF (.tif) or PNG (.png)."))
    p = _heatmap_params()
    hm = _compute(p)
    s = hm.surface
    if fmt == "png":  # for people: a readable size, the grids, a colour bar with the unit
        colors = TIME_PALETTE if s.units == "minutes" else PALETTE
        vmax = scale_max(s.values)
        travel = s.units == "minutes"
        unit = (
            _("Walking minutes")
            if travel
            else _("%(unit)s per hectare", unit=_unit_label(hm.units))
        )
        grids = repo.visible_grids_frame(db_session(), g.requester, grid_code=p["grid"] or None)
        data = heatmap_png(
            s,
            colorize(s.values, vmax=vmax, colors=colors),
            grids,
            vmax=vmax,
            title=_caption(p, hm),
            unit_label=unit,
            colors=colors,
        )
    else:
        data = surface_bytes(s, fmt, tags={"layer": p["layer"], "bandwidth_m": p["bandwidth_m"]})
    repo.audit(
        db_session(),
        g.requester,
        "export_heatmap",
        p["layer"],
        {"format": fmt, "personal": hm.personal, "cell_m": p["cell_m"]},
    )
    name = f"heatmap-{p['layer'].replace(':', '-')}-{p['bandwidth_m']:g}m.{fmt}"
    mime = "image/tiff" if fmt == "tif" else "image/png"
    return Response(
        data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
