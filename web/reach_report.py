"""What the planner page and the print view show of a plan: the coverage per threshold and
community, the rules, the comparison, the reasons and the suggested sites, and the map."""

from __future__ import annotations

import math

from flask import url_for
from flask_babel import gettext as _

from geodata.planning import CategoryPlan
from gridmap import vocab
from gridmap.maps.reach import ReachMeasure, reach_map
from gridmap.units import minutes_for
from web.maps import render_map  # basemap, standard controls, offline assets
from web.reach_plans import buildings_frame, method_text, reason_labels


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _map(plan: CategoryPlan, lang: str, run_id: int | None = None):
    fac = plan.main.inputs.facilities
    label = vocab.label(vocab.FACILITY_CATEGORIES, plan.request.category, lang)
    # a stored run's buildings are fetched by the page (the HTML stays small)
    url = url_for("reach.planner_buildings") if run_id is not None else None
    return reach_map(
        buildings_frame(plan),
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
            method_text=method_text(plan, lang),
        ),
        _=_,
        buildings_url=url,
        params={"run": run_id} if run_id is not None else None,
    )


def _summary_rows(plan: CategoryPlan, cov) -> list[dict]:
    """The street's residents covered at each threshold."""
    speed = plan.request.speed_kmh
    summary = []
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
    return summary


def _community_rows(plan: CategoryPlan, cov) -> list[dict]:
    """Each community's share of residents covered, one cell per threshold."""
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
    return per_community


def _rule_rows(plan: CategoryPlan) -> list[dict]:
    """The rules about this category, for the street and each community."""
    req = plan.request
    rules_df = plan.main.rules
    mine = (
        rules_df[rules_df["categories"].map(lambda s: req.category in s.split(","))]
        if len(rules_df)
        else rules_df
    )
    return [
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


def plan_context(
    plan: CategoryPlan, lang: str, *, with_map: bool = True, run_id: int | None = None
) -> dict:
    """What the page (and, without the map, the print view) shows of ``plan``."""
    cov = plan.coverage()
    b = plan.buildings
    uncovered = b[b["state"].isin(["uncovered", "paper_only"])]
    return {
        "map": render_map(_map(plan, lang, run_id)) if with_map else None,
        "label": method_text(plan, lang),
        "method": plan.main.method,
        "distance_m": plan.distance_m,
        "minutes_at_speed": plan.minutes_at_speed,
        "totals": {
            k: plan.street_totals(r)
            for k, r in (("radius", plan.radius), ("walk", plan.walk))
            if r is not None
        },
        "summary": _summary_rows(plan, cov),
        "communities": _community_rows(plan, cov),
        "rules": _rule_rows(plan),
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
