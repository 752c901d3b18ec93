"""`gridmap run ANALYSIS --all-streets`: a city-wide run, one task per street office on Dask."""

from __future__ import annotations

import sys

import click

from gridmap_cli.common import make_engine, settings

ANALYSES = ("patrol", "risk", "indicators", "reach")  # geodata.street_runs.COMPUTE


def _inputs(analysis: str) -> dict:
    """What every task of the run is handed: the installation's risk weights for risk."""
    from gridmap.analysis.risk import load_weights

    return {"risk_weights": load_weights(settings().risk_weights)} if analysis == "risk" else {}


@click.command("run")
@click.argument("analysis", type=click.Choice(ANALYSES))
@click.option("--all-streets", is_flag=True, help="Every street office that has grids.")
@click.option("--street", "streets", multiple=True, help="Only this street office (repeatable).")
@click.option(
    "--period",
    help="A month (2026-11), ISO week (2026-W47), day or START/END. "
    "Default: the last 30 days up to today.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Processes of the local cluster (default: one per core).",
)
@click.option(
    "--sequential",
    is_flag=True,
    help="No cluster: the same tasks one after another in this process.",
)
def run_cmd(analysis, all_streets, streets, period, workers, sequential) -> None:
    """Compute patrol coverage, risk, indicators or reachability of many street offices,
    one task per street office on a Dask cluster, each reading its street office from the
    database and writing its rows back (table street_result; progress in the job table).

    The cluster is a local one (a process per core) unless the environment variable
    GRIDMAP_DASK_SCHEDULER names a scheduler (tcp://host:8786) whose workers have gridmap
    installed and reach the same database. A failed task is retried twice, then reported;
    the command then exits non-zero.
    """
    from sqlalchemy.engine import make_url

    from geodata.db.engine import session_factory
    from geodata.db.indicators import resolve_period
    from geodata.db.migrate import upgrade
    from geodata.db.street_view import street_codes
    from geodata.street_runs import SCHEDULER_ENV, SEQUENTIAL, run_streets
    from gridmap.errors import InvalidInput, NotFound

    if all_streets == bool(streets):
        raise InvalidInput("say which street offices: --all-streets or --street CODE")
    chosen = resolve_period(period)
    url = settings().database_url
    engine = make_engine()
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        with sessions() as session:
            known = street_codes(session)
        codes = known if all_streets else list(dict.fromkeys(streets))
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise NotFound(f"no street office with grids: {', '.join(unknown)}")
        if not codes:
            raise NotFound("no street office has grids: import them or build the demo")
        scheduler = SEQUENTIAL if sequential else settings().dask_scheduler
        where = (
            "in this process"
            if sequential
            else (f"on {scheduler}" if scheduler else "on a local Dask cluster")
        )
        click.echo(f"{analysis} {chosen.label}: {len(codes)} street offices {where}", err=True)
        with click.progressbar(length=len(codes), label=analysis, file=sys.stderr) as bar:
            outcome = run_streets(
                sessions,
                make_url(url).render_as_string(hide_password=False),
                analysis,
                chosen,
                codes=codes,
                scheduler=scheduler,
                workers=workers,
                progress=lambda _summary, _failed: bar.update(1),
                inputs=_inputs(analysis),
            )
    finally:
        engine.dispose()
    rows = sum(s["rows"] for s in outcome.done)
    click.echo(
        f"{analysis} {chosen.label}: {len(outcome.done)} of {len(codes)} street offices "
        f"done, {rows} rows stored, {outcome.seconds:.1f} s ({outcome.where}); "
        f"job {outcome.run_id}"
    )
    for code, error in sorted(outcome.failed.items()):
        click.echo(f"FAILED {code}: {error}", err=True)
    if outcome.failed:
        raise click.ClickException(
            f"{len(outcome.failed)} street offices failed after retries ({SCHEDULER_ENV} "
            f"{'set' if settings().dask_scheduler else 'unset'}); see job {outcome.run_id}"
        )
