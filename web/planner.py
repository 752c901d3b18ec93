"""The planner's reachability page: one facility category at a time on the map, the rule
report beside it, and where new facilities would cover the most uncovered residents.

The view parses the request, calls ``geodata.reachability`` (network from the database,
stored once and reused; nothing else is written), builds the map with
``gridmap.maps.reach.reach_map`` and renders. Only aggregates are shown.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from geodata.db import repo
from geodata.reachability import compute_reach, gaps_for, isochrones_for, suggest_for
from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput
from gridmap.maps.reach import reach_map
from gridmap.standards.rules import load_rules
from web.db import db_session
from web.maps import render_map  # basemap, standard controls, offline assets

bp = Blueprint("reach", __name__)

LEVELS = (5, 10, 15)
SPEEDS = (3.0, 3.6, 4.0, 4.5, 5.0)
DEFAULT_CATEGORY = "health_center"


def _lang() -> str:
    return str(get_locale() or "zh")


def _category_choices(lang: str, present: set[str]) -> list[dict]:
    out = []
    for level in sorted(LEVELS, reverse=True):
        for c in vocab.FACILITY_CATEGORIES:
            if c.level_min == level:
                out.append({"code": c.code, "label": c.zh if lang == "zh" else c.en,
                            "level": level, "present": c.code in present})
    return out


def _arg_choice(name: str, allowed, default, cast):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name,
                             value=raw)) from exc
    if value not in allowed:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name, value=raw))
    return value


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


@bp.route("/planner")
def planner_page():
    session = db_session()
    lang = _lang()
    facilities_present = set(repo_categories(session))
    categories = _category_choices(lang, facilities_present)
    error = None
    category = request.args.get("category") or (
        DEFAULT_CATEGORY if DEFAULT_CATEGORY in facilities_present else
        next((c["code"] for c in categories if c["present"]), DEFAULT_CATEGORY))
    try:
        if category not in vocab.FACILITY_CODES:
            raise InvalidInput(_("Unknown facility category %(c)s", c=category))
        minutes = _arg_choice("minutes", LEVELS, 15, int)
        speed = _arg_choice("speed", SPEEDS, 4.0, float)
        k = _arg_choice("k", range(0, 6), 3, int)
        context = _compute(session, category, minutes, speed, k, lang)
    except GridmapError as exc:
        error = str(exc)
        minutes, speed, k = 15, 4.0, 3
        context = None
    street = repo.street_summary(session)
    return render_template("reach/planner.html", error=error, categories=categories,
                           category=category, minutes=minutes, speed=speed, k=k, levels=LEVELS,
                           speeds=SPEEDS, street=street, ctx=context,
                           category_label=vocab.label(vocab.FACILITY_CATEGORIES, category, lang),
                           map=context["map"] if context else None)


def repo_categories(session) -> list[str]:
    import sqlalchemy as sa

    from geodata.db.models import Facility

    return [c for (c,) in session.execute(sa.select(Facility.category).distinct())]


def _compute(session, category: str, minutes: int, speed: float, k: int, lang: str) -> dict:
    rules = load_rules()
    needed = [category] + [c for r in rules.rules_for(category) for c in r.categories]
    report = compute_reach(session, categories=list(dict.fromkeys(needed)), minutes=LEVELS,
                           speed_kmh=speed, store=False, lang=lang)
    threshold = next(t for t in report.thresholds if int(t.minutes) == minutes)
    distance = threshold.distance_m
    levels = [t.distance_m for t in report.thresholds]
    merged = isochrones_for(report, category, distances_m=levels, per_facility=False)
    per = isochrones_for(report, category, distances_m=[distance], per_facility=True)
    iso = merged if per.empty else gpd.GeoDataFrame(
        pd.concat([merged, per[per["facility"].notna()]], ignore_index=True), crs=merged.crs)
    covered_area = merged[np.isclose(merged["distance_m"], distance)].geometry
    gaps = gaps_for(report, category, distance,
                    covered_area=covered_area.iloc[0] if len(covered_area) else None)
    picks = None
    sugg = None
    if k > 0:
        sugg, picks = suggest_for(report, category, distance_m=distance, k=k, gaps=gaps)
    b = report.inputs.buildings
    dist = report.reach.distance(category)
    fac = report.inputs.facilities
    names = fac["name"]
    nearest = report.reach.table[f"{category}_id"]
    frame = b[["address", "residents", "households", "geometry"]].assign(
        distance_m=dist.round(0), minutes=report.reach.table[f"{category}_min"].round(1),
        facility_name=[names.get(i) if i is not None else None for i in nearest],
        covered=(dist <= distance).to_numpy(), residential=(b["residents"] > 0).to_numpy())
    label = vocab.label(vocab.FACILITY_CATEGORIES, category, lang)
    m = reach_map(frame, fac[fac["category"] == category], iso, gaps, picks,
                  category_label=label, distance_m=distance,
                  minutes=distance / (speed * 1000 / 60), speed_kmh=speed,
                  estimate=report.method == "estimate", _=_)
    # Tables beside the map.
    cov = report.coverage[(report.coverage["category"] == category)]
    street_cov = cov[cov["level"] == "street"]
    summary = [{"label": t.label, "distance_m": t.distance_m,
                "minutes": t.distance_m / (speed * 1000 / 60),
                "residents": int(r["residents"]), "covered": int(r["residents_covered"]),
                "share": _num(r["residents_share"]),
                "households": int(r["households"]),
                "households_covered": int(r["households_covered"])}
               for t in report.thresholds
               for _i, r in street_cov[street_cov["threshold"] == t.label].iterrows()]
    per_community = []
    comm = cov[cov["level"] == "community"]
    for code, rows in comm.groupby("area", sort=True):
        cells = {r["threshold"]: _num(r["residents_share"]) for _i, r in rows.iterrows()}
        per_community.append({"code": code,
                              "name": report.inputs.names["community"].get(code, code or "-"),
                              "residents": int(rows["residents"].iloc[0]),
                              "shares": [cells.get(t.label) for t in report.thresholds]})
    rules_df = report.rules
    mine = rules_df[rules_df["categories"].map(lambda s: category in s.split(","))] \
        if len(rules_df) else rules_df
    rule_rows = [{"rule": r["rule"], "title": r["title"], "clause": r["clause"],
                  "level": r["level"], "area": r["area_name"] or "-",
                  "threshold_m": r["threshold_m"], "minutes": r["minutes"],
                  "share": _num(r["share"]), "min_share": r["min_share"],
                  "passed": r["passed"]}
                 for _i, r in mine[mine["level"].isin(["street", "community"])].iterrows()]
    sites = []
    if picks is not None:
        for (_i, p), pt in zip(picks.iterrows(), picks.geometry, strict=True):
            sites.append({"rank": int(p["rank"]), "lon": pt.x, "lat": pt.y,
                          "residents_added": int(p["residents_added"]),
                          "households_added": int(p["households_added"]),
                          "share_before": _num(p["share_before"]),
                          "share_after": _num(p["share_after"])})
    uncovered = frame[frame["residential"] & ~frame["covered"]]
    return {
        "map": render_map(m), "label": report.label(lang), "method": report.method,
        "distance_m": distance, "minutes_at_speed": distance / (speed * 1000 / 60),
        "summary": summary, "communities": per_community, "rules": rule_rows,
        "sites": sites, "candidates": 0 if sugg is None else len(sugg.ranking),
        "gaps": len(gaps), "gap_residents": int(gaps["residents"].sum()) if len(gaps) else 0,
        "uncovered_buildings": len(uncovered),
        "uncovered_residents": int(uncovered["residents"].sum()),
        "facilities": int((fac["category"] == category).sum()),
        "thresholds": report.thresholds, "warnings": report.warnings,
        "network": report.network,
    }
