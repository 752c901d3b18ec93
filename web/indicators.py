"""指标考核: the indicators per street, community and grid; JSON, Excel and the A4 print view.

    GET /indicators?period=&level=         the page (a table per level)
    GET /indicators/print?period=          the A4 print view handed upward
    GET /indicators/download.xlsx?period=  the Excel workbook (audited)
    GET /api/indicators?level=&period=     JSON: the same rows as `gridmap indicators --json`
    GET /indicators/layers/<indicator>?period=&bbox=&zoom=   the map's areas (GeoJSON)

Every figure comes from geodata.db.indicators.indicator_report (all data; the viewer's
areas only choose rows), so the page, the download, the API and the command line agree.
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, Response, abort, g, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import repo
from geodata.db.indicators import indicator_report, resolve_period
from geodata.indicator_export import indicators_xlsx, status_text
from gridmap.display import show
from gridmap.maps.indicators import indicator_layer_frame, indicator_map
from web.db import db_session
from web.i18n import current_lang
from web.maps import layer_response, render_map

bp = Blueprint("indicators", __name__)
LEVELS = ("street", "community", "grid")


def _report(*, corrections: bool = False) -> dict:
    level = request.args.get("level") or None
    return indicator_report(
        db_session(),
        g.requester,
        period=resolve_period(request.args.get("period") or None),
        level=level,
        lang=current_lang(),
        corrections=corrections,
    )


def sparkline(trend: list[dict], value, *, width: int = 64, height: int = 16) -> str:
    """SVG polyline points of the closed periods' values then this one ('' under two)."""
    values = [t["value"] for t in trend] + [value]
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    return " ".join(
        f"{k * step:.1f},{height - 1 - (v - lo) / span * (height - 2):.1f}"
        for k, v in enumerate(values)
    )


def _tables(report: dict) -> list[dict]:
    out = []
    for level in LEVELS:
        rows = [
            dict(
                r,
                shown=show(r["value"]),
                result=status_text(r),
                spark=sparkline(r.get("trend") or [], r["value"]),
            )
            for r in report["indicators"]
            if r["level"] == level
        ]
        if rows:
            out.append({"level": level, "rows": rows})
    return out


def _definitions(report: dict) -> list[dict]:
    """Each indicator once, with its formula, source and target (the rows link here)."""
    seen: dict[str, dict] = {}
    for r in report["indicators"]:
        seen.setdefault(r["indicator"], r)
    return [
        {k: r[k] for k in ("indicator", "name", "formula", "source", "threshold")}
        for r in seen.values()
    ]


@bp.get("/api/indicators")
def api_indicators():
    return jsonify(_report(corrections=request.args.get("corrections") == "1"))


def _map_choices() -> list:
    """The indicators a map can show: those reported per grid or per community."""
    from gridmap.standards.indicators import load_indicators

    return [i for i in load_indicators().enabled() if {"grid", "community"} & set(i.levels)]


def _map_areas(ind):
    """The viewer's grids (or communities) with ``ind``'s value, shown text and status,
    in EPSG:4326 (the areas without a row for the viewer left out)."""
    level = "grid" if "grid" in ind.levels else "community"
    session = db_session()
    rep = indicator_report(
        session,
        g.requester,
        period=resolve_period(request.args.get("period") or None),
        level=level,
        lang=current_lang(),
    )
    rows = {r["area"]: r for r in rep["indicators"] if r["indicator"] == ind.id}
    if level == "grid":
        areas = repo.visible_grids_frame(session, g.requester)[["code", "geometry"]]
    else:
        areas = repo.communities_frame(session)[["code", "geometry"]]
    areas = areas[areas["code"].isin(rows)].reset_index(drop=True)
    return areas.assign(
        area_name=[rows[c]["area_name"] for c in areas["code"]],
        value=[np.nan if rows[c]["value"] is None else rows[c]["value"] for c in areas["code"]],
        shown=[show(rows[c]["value"]) for c in areas["code"]],
        status=[rows[c]["status"] for c in areas["code"]],
    )


def _choropleth(chosen: str):
    """The map of one indicator over the viewer's grids (or communities), and the choices;
    the page holds the frame and the scale, the areas come from ``indicator_layer``."""
    items = _map_choices()
    ind = next((i for i in items if i.id == chosen), items[0] if items else None)
    if ind is None:
        return None, [], None
    areas = _map_areas(ind)
    if not len(areas):
        return None, items, ind
    m, legends = indicator_map(
        tuple(float(v) for v in areas.total_bounds),
        url_for("indicators.indicator_layer", indicator=ind.id),
        areas["value"].to_numpy(float),
        title=ind.name(current_lang()),
        unit=ind.unit,
        threshold=ind.threshold_text(current_lang()),
        lower_is_better=ind.direction == "lower",
        params={"period": request.args.get("period", "")},
        _=_,
    )
    return render_map(m, legends=legends), items, ind


@bp.get("/indicators/layers/<indicator>")
def indicator_layer(indicator: str):
    """The areas of the indicator map (the viewer's, values the same for every viewer)."""
    ind = next((i for i in _map_choices() if i.id == indicator), None)
    if ind is None:
        abort(404)
    frame, props = indicator_layer_frame(
        _map_areas(ind), unit=ind.unit, lower_is_better=ind.direction == "lower"
    )
    return layer_response(frame, props)


@bp.get("/indicators")
def indicators_page():
    report = _report(corrections=request.args.get("corrections") == "1")
    map_parts, choices, shown_ind = _choropleth(request.args.get("map", ""))
    return render_template(
        "indicators/index.html",
        report=report,
        tables=_tables(report),
        definitions=_definitions(report),
        args=request.args,
        street=repo.street_summary(db_session()),
        map=map_parts,
        map_choices=choices,
        map_indicator=shown_ind,
        lang=current_lang(),
    )


@bp.get("/indicators/print")
def indicators_print():
    report = _report()
    return render_template(
        "indicators/print.html",
        report=report,
        tables=_tables(report),
        street=repo.street_summary(db_session()),
    )


@bp.get("/indicators/download.xlsx")
def indicators_download():
    report = _report()
    repo.audit(
        db_session(),
        g.requester,
        "export_indicators",
        report["period"]["label"],
        {"rows": len(report["indicators"])},
    )
    name = f"indicators-{report['period']['label'].replace('/', '_')}.xlsx"
    return Response(
        indicators_xlsx(report),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
