"""`gridmap hazards`: the overdue list and the escalation sweep (for a daily cron job)."""

from __future__ import annotations

import json
from datetime import datetime

import click

from gridmap_cli.common import command_session


@click.group("hazards")
def hazards() -> None:
    """Hazard cases (隐患): overdue list, escalation."""


def _as_of(session, text: str | None) -> datetime:
    from geodata.db.analysis import analysis_as_of

    return datetime.fromisoformat(text) if text else analysis_as_of(session)


@hazards.command("overdue")
@click.option("--as-of", help="Judge at this time (ISO, e.g. 2026-11-20T09:00); default now.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def overdue(as_of: str | None, as_json: bool) -> None:
    """Open cases past their deadline, and the count per community."""
    from geodata.db import hazards as cases
    from gridmap.privacy import Requester

    with command_session() as session:
        when = _as_of(session, as_of)
        frame = cases.cases_frame(session, Requester.system(), as_of=when, open_only=True)
        late = frame[frame["overdue"]]
        per = cases.overdue_by_community(frame)
    rows = [
        {
            "code": r.code,
            "community": r.community_name,
            "grid": r.grid_code,
            "status": r.status,
            "days_overdue": r.days_overdue,
            "escalation": int(r.escalation),
            "responsible": r.responsible,
        }
        for r in late.itertuples()
    ]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "as_of": when.isoformat(),
                    "overdue": rows,
                    "per_community": per.to_dict("records"),
                },
                ensure_ascii=False,
                default=str,
            )
        )
        return
    click.echo(f"{len(rows)} overdue of {len(frame)} open cases as of {when:%Y-%m-%d %H:%M}")
    for r in per.itertuples():
        click.echo(
            f"  {r.community_name}: {r.overdue} overdue / {r.open} open "
            f"(longest {r.max_days_overdue:.0f} days)"
        )


@hazards.command("escalate")
@click.option("--as-of", help="Judge at this time (ISO); default now.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def escalate(as_of: str | None, as_json: bool) -> None:
    """Record an escalation step on every overdue case whose level rose (community after the
    deadline, street after 7 days, district after 30). Safe to run every day."""
    from geodata.db import hazards as cases
    from gridmap.privacy import Requester

    with command_session() as session:
        when = _as_of(session, as_of)
        done = cases.sweep_escalations(session, Requester.system("escalation"), as_of=when)
    if as_json:
        click.echo(json.dumps({"as_of": when.isoformat(), "escalated": done}, default=str))
        return
    click.echo(f"{len(done)} cases escalated as of {when:%Y-%m-%d %H:%M}")
    for d in done:
        click.echo(f"  {d['code']}: {d['target']} ({d['days_overdue']:.0f} days overdue)")
