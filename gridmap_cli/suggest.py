"""`gridmap suggest`: where k new facilities of a category would cover the most residents."""

from __future__ import annotations

import json
import time

import click

from gridmap.errors import InvalidInput
from gridmap_cli.common import command_session, percent, rounded, upgrade
from gridmap_cli.reach import SPEED_HELP


@click.command("suggest")
@click.option("--category", required=True, help="Facility category code, e.g. health_station.")
@click.option("--k", default=3, show_default=True, help="How many new sites.")
@click.option(
    "--level",
    type=click.Choice(["5", "10", "15"]),
    help="Life-circle level whose walking distance counts as covered (GB 50180-2018 "
    "Table 4.0.1: 300/500/1000 m). Default: the category's own level.",
)
@click.option(
    "--method",
    type=click.Choice(["network", "radius"]),
    default="network",
    show_default=True,
    help="Cover on foot (the walking network; an estimate without roads) or "
    "within the service radius (straight line).",
)
@click.option(
    "--candidates",
    "candidates_file",
    type=click.Path(dir_okay=False),
    help="Your candidate sites (point layer; a name column labels them).",
)
@click.option(
    "--from-public",
    is_flag=True,
    help="Choose among the public buildings (use 公共服务) instead of street points "
    "inside the gaps.",
)
@click.option("--speed-kmh", default=4.0, show_default=True, help=SPEED_HELP)
@click.option(
    "--rules", "rules_path", type=click.Path(dir_okay=False), help="Your rules file (YAML)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def suggest_cmd(
    category, k, level, method, candidates_file, from_public, speed_kmh, rules_path, as_json
) -> None:
    """Where k new facilities of a category would cover the most uncovered residents.

    Greedy: each pick is the candidate adding the most residents not yet within reach;
    each site is given with the nearest street and address, coverage before and after.
    The planner's page computes the same (same function, same defaults).
    """
    from geodata.planning import PlanRequest, plan_category

    if k < 1:
        raise InvalidInput("--k must be at least 1")
    if candidates_file and from_public:
        raise InvalidInput("give --candidates FILE or --from-public, not both")
    points = ()
    if candidates_file:
        from geodata.reach_files import read_candidates

        points = read_candidates(candidates_file)
    request = PlanRequest(
        category,
        view=method,
        minutes=int(level) if level else None,
        speed_kmh=speed_kmh,
        k=k,
        candidates="file" if points else "public" if from_public else "gaps",
        candidate_points=points,
    )
    upgrade()
    started = time.perf_counter()
    with command_session() as session:
        plan = plan_category(session, request, rules_path=rules_path, store=False, lang="en")
    seconds = time.perf_counter() - started
    rows = site_rows(plan)
    if as_json:
        click.echo(json.dumps(_plan_json(plan, rows, request, seconds), ensure_ascii=False))
        return
    _echo_plan(plan, rows, category)


def _plan_json(plan, rows: list[dict], request, seconds: float) -> dict:
    """The suggested sites and the coverage they start from, as one JSON object."""
    before = plan.street_totals()
    report = plan.main
    return {
        "category": request.category,
        "k": request.k,
        "distance_m": plan.distance_m,
        "minutes": round(plan.minutes_at_speed, 2),
        "speed_kmh": request.speed_kmh,
        "method": report.method,
        "label": report.label("en"),
        "residents_total": before["residents"],
        "residents_covered": before["residents_covered"],
        "candidate_source": plan.candidate_source,
        "candidates": plan.candidates,
        "gaps": len(plan.gaps),
        "facilities": plan.facility_counts(),
        "picks": rows,
        "seconds": round(seconds, 2),
    }


def _echo_plan(plan, rows: list[dict], category: str) -> None:
    """The suggested sites as text, each with what it adds."""
    report = plan.main
    click.echo(report.label("en").upper() if report.method == "estimate" else report.label("en"))
    click.echo(
        f"{category}: covered within {plan.distance_m:.0f} m "
        f"({plan.minutes_at_speed:.1f} min); {len(plan.gaps)} gap areas, "
        f"{plan.candidates} candidate sites ({plan.candidate_source})"
    )
    if not rows:
        click.echo("no candidate adds anyone: nothing to suggest")
    for r in rows:
        where = ", ".join(
            x
            for x in (
                r["candidate"],
                r["street"] and f"{r['street']} ({r['street_m']:.0f} m)",
                r["address"],
            )
            if x
        )
        click.echo(
            f"  {r['rank']}. {where} ({r['lon']:.6f}, {r['lat']:.6f})  "
            f"+{r['residents_added']} residents, +{r['households_added']} households  "
            f"coverage {percent(r['share_before'])} -> {percent(r['share_after'])}"
        )


def site_rows(plan) -> list[dict]:
    """The suggested sites as plain values (JSON and text)."""
    if plan.picks is None:
        return []
    keys = (
        "rank",
        "lon",
        "lat",
        "street",
        "street_m",
        "address",
        "residents_added",
        "households_added",
        "residents_covered_before",
        "residents_covered_after",
        "share_before",
        "share_after",
    )
    out = []
    for rec in plan.picks.drop(columns="geometry").to_dict("records"):
        row = {k: rounded(rec[k]) for k in keys}
        row["candidate"] = rec["candidate_label"]
        out.append(row)
    return out
