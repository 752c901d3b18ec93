"""`gridmap risk`: the explainable risk index per grid and building."""

from __future__ import annotations

import json

import click

from gridmap.json_values import json_value
from gridmap_cli.common import command_session, settings, steps


@click.command("risk")
@click.option(
    "--period",
    help="Judge as of this period's end, with its patrols (START/END, a "
    "day, a month 2025-06 or a week 2025-W23). Default: now, with the weights' "
    "patrol window of whole days.",
)
@click.option("--grid", "grid_code", help="Only this grid.")
@click.option(
    "--weights",
    type=click.Path(dir_okay=False),
    help="YAML file overriding gridmap/standards/risk_weights.yaml (also $GRIDMAP_RISK_WEIGHTS).",
)
@click.option("--top", default=10, show_default=True, help="Buildings listed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def risk_cmd(period, grid_code, weights, top, as_json):
    """Explainable risk index per grid and building: every score with its components."""
    from geodata.db.analysis import risk_report
    from gridmap.analysis.patrol import parse_period
    from gridmap.analysis.risk import load_weights
    from gridmap.privacy import Requester

    w = load_weights(weights or settings().risk_weights)
    chosen = parse_period(period) if period else None
    with steps("risk", 6) as step, command_session() as session:
        rep = risk_report(
            session,
            Requester.system("cli"),
            grid_code=grid_code,
            weights=w,
            period=chosen,
            progress=step,
        )
    grids = rep.grids.sort_values("score", ascending=False)
    buildings = rep.buildings.sort_values("score", ascending=False)
    if as_json:
        click.echo(json.dumps(_risk_json(rep, grids, buildings, top), ensure_ascii=False))
        return
    _echo_risk(rep, grids, buildings, top, weights)


def _explain(result, i) -> list[dict]:
    return [
        {"component": e["component"], "count": e["count"], "points": e["points"]}
        for e in result.explain(i)
    ]


def _risk_json(rep, grids, buildings, top: int) -> dict:
    """Every grid and the ``top`` buildings with their scores' components, as one JSON object."""
    return {
        "as_of": rep.as_of.isoformat(),
        "weights": rep.weights,
        "patrol_window": rep.patrol_period.label,
        "grids": [
            {
                "code": r["code"],
                "name": r["name"],
                "score": json_value(r["score"]),
                "households": json_value(r["households"]),
                "per_100_households": json_value(r["per_100_households"]),
                "components": _explain(rep.grid_risk, i),
            }
            for i, r in grids.iterrows()
        ],
        "buildings": [
            {
                "code": r["code"],
                "address": json_value(r["address"]),
                "grid_code": r["grid_code"],
                "score": json_value(r["score"]),
                "components": _explain(rep.building_risk, i),
            }
            for i, r in buildings.head(top).iterrows()
        ],
        "buildings_total": len(buildings),
    }


def _echo_risk(rep, grids, buildings, top: int, weights) -> None:
    """Every grid and the ``top`` buildings as text, each score with its largest components."""
    from gridmap.analysis.risk import component_label

    click.echo(
        f"risk index as of {rep.as_of:%Y-%m-%d} (weights: {weights or 'defaults'}); "
        "every score is the sum of its components"
    )
    for i, r in grids.iterrows():
        parts = ", ".join(
            f"{component_label(e['component'], 'en')} {e['points']:g}"
            for e in rep.grid_risk.explain(i)[:4]
        )
        rate = r["per_100_households"]
        click.echo(
            f"{r['code']}  {r['name']}  {r['score']:g}"
            f" ({'-' if rate != rate else f'{rate:g}'} per 100 households)  = {parts}"
            + (" ..." if len(rep.grid_risk.explain(i)) > 4 else "")
        )
    click.echo(f"\ntop {min(top, len(buildings))} buildings of {len(buildings)}:")
    for i, r in buildings.head(top).iterrows():
        parts = ", ".join(
            f"{component_label(e['component'], 'en')} {e['points']:g}"
            for e in rep.building_risk.explain(i)
        )
        click.echo(
            f"{r['code']}  {r['address'] if isinstance(r['address'], str) else ''}  "
            f"{r['score']:g}  = {parts}"
        )
