"""The planner's results to take away: per-building CSV/XLSX, isochrones, circles, gaps and
sites as GeoPackage/KML, a print-resolution PNG, and the A4 print view. Each re-opens a
page run by its id (``?run=<id>``) and stores nothing."""

from __future__ import annotations

import io
import tempfile
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
from flask import Response, g, render_template, url_for
from flask_babel import gettext as _

from geodata.db import repo
from geodata.db.scope import visible_grid_codes
from geodata.planning import CategoryPlan
from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.maps.reach_png import reach_png
from gridmap.privacy import neutralise_frame
from gridmap.units import minutes_for
from web.db import db_session
from web.i18n import current_lang
from web.reach_plans import method_text, plan_for_download, reason_labels, recent_plans, view_labels
from web.reach_report import plan_context

DOWNLOADS = {"buildings": ("csv", "xlsx"), "layers": ("gpkg", "kml"), "map": ("png",)}


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
        "subtitle": method_text(plan, lang) + " · " + datetime.now().strftime("%Y-%m-%d"),
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


def download(name: str, fmt: str):
    if fmt not in DOWNLOADS.get(name, ()):
        raise InvalidInput(_("Downloads are buildings.csv/.xlsx, layers.gpkg/.kml and map.png."))
    plan, run_id = plan_for_download()
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


def print_view():
    """The A4 print view: the map at print resolution, the totals, the comparison per
    community, the rules and the suggested sites."""
    plan, run_id = plan_for_download()
    lang = current_lang()
    ctx = plan_context(plan, lang, with_map=False)
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
