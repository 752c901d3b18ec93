"""`gridmap indicators`: the assessment indicators per grid, community and street; closing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gridmap_cli.common import command_session

LEVELS = ("grid", "community", "street")


def _requester(session, username: str | None):
    from geodata.db.models import StaffUser
    from geodata.db.users import requester_for
    from gridmap.errors import NotFound
    from gridmap.privacy import Requester

    if not username:
        return Requester.system("cli")
    import sqlalchemy as sa

    user = session.scalars(sa.select(StaffUser).where(StaffUser.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username!r} (gridmap user add ...)")
    return requester_for(user)


def _progress(label: str):
    steps = ["buildings", "reach", "patrol", "hazards", "register"]
    bar = click.progressbar(length=len(steps), label=label, file=sys.stderr)
    return bar, (lambda _step: bar.update(1))


def _print(report: dict) -> None:
    from gridmap.display import show

    click.echo(
        f"period {report['period']['label']} ({report['source']}"
        + (f", closed {report['closed_at']}" if report["closed_at"] else "")
        + ")"
    )
    status = {"pass": "pass", "fail": "FAIL", "no_data": "no data"}
    for r in report["indicators"]:
        stars = f" {r['stars']}*" if r.get("stars") is not None else ""
        click.echo(
            f"{r['level']:9} {r['area_name'][:24]:24} {r['indicator']:30} "
            f"{show(r['value']):>10} {r['unit'] if r['value'] is not None else '':6} "
            f"{r['threshold']:24} "
            f"{status.get(r['status'], r['status'])}{stars}"
        )
    for c in report.get("corrections") or []:
        click.echo(
            f"correction since closing: {c['indicator']} {c['level']} {c['area_name']}: "
            f"reported {show(c['reported'])}, now {show(c['now'])}"
        )


@click.group("indicators", invoke_without_command=True)
@click.option("--level", type=click.Choice(LEVELS), help="Only this level.")
@click.option(
    "--period",
    help="A month (2026-11), ISO week (2026-W47), day or START/END. "
    "Default: the last 30 days up to today.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False),
    help="Your indicators file: overrides shipped indicators by id, adds new ones.",
)
@click.option("--as", "as_user", help="Answer as this user (their areas' rows).")
@click.option(
    "--corrections",
    is_flag=True,
    help="For a closed period: recompute and list values changed since closing.",
)
@click.option("--list", "list_only", is_flag=True, help="List the indicators and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--xlsx",
    "xlsx_path",
    type=click.Path(dir_okay=False),
    help="Also write the table to this Excel file (one sheet per level).",
)
@click.pass_context
def indicators(
    ctx, level, period, rules_path, as_user, corrections, list_only, as_json, xlsx_path
) -> None:
    """Assessment indicators (指标考核) per grid, community and street for a period, each
    judged against its target and citing its source (gridmap/standards/indicators.yaml).
    A closed period answers from its snapshot."""
    if ctx.invoked_subcommand is not None:
        return
    from geodata.db.indicators import indicator_report, resolve_period
    from gridmap.standards.indicators import load_indicators

    if list_only:
        items = load_indicators(rules_path)
        rows = [
            {
                "id": i.id,
                "name_zh": i.name_zh,
                "name_en": i.name_en,
                "formula": i.formula,
                "unit": i.unit,
                "levels": list(i.levels),
                "direction": i.direction,
                "target": i.target,
                "threshold": i.threshold_text(),
                "source": i.source,
                "enabled": i.enabled,
            }
            for i in items.indicators
        ]
        if as_json:
            click.echo(
                json.dumps(
                    {"indicators": rows, "params": items.params, "sources": list(items.sources)},
                    ensure_ascii=False,
                )
            )
        else:
            for r in rows:
                click.echo(
                    f"{r['id']:30} {r['threshold']:24} {','.join(r['levels']):22} "
                    f"{r['name_zh']}{'' if r['enabled'] else ' (disabled)'}"
                )
        return
    chosen = resolve_period(period)
    bar, step = _progress("indicators")
    with bar, command_session() as session:
        report = indicator_report(
            session,
            _requester(session, as_user),
            period=chosen,
            level=level,
            rules_path=rules_path,
            corrections=corrections,
            progress=step,
        )
    if xlsx_path:
        from geodata.indicator_export import indicators_xlsx

        Path(xlsx_path).write_bytes(indicators_xlsx(report))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        _print(report)


@indicators.command("close")
@click.option("--period", required=True, help="The period to close, e.g. 2026-11.")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False),
    help="Your indicators file (as for the report).",
)
@click.option(
    "--by",
    "closed_by",
    default="cli",
    show_default=True,
    help="Who closes it (recorded and audited).",
)
@click.option("--replace", is_flag=True, help="Close an already closed period again.")
def close(period, rules_path, closed_by, replace) -> None:
    """Store every indicator of an ended period (its snapshot): the report stays the same
    whatever is corrected later; corrections are listed beside it."""
    from geodata.db.indicators import close_period
    from gridmap.analysis.patrol import parse_period

    chosen = parse_period(period)
    bar, step = _progress("closing")
    with bar, command_session() as session:
        n = close_period(
            session, chosen, by=closed_by, rules_path=rules_path, replace=replace, progress=step
        )
    click.echo(f"closed {chosen.label}: {n} indicator values stored")
