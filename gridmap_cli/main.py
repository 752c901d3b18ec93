"""`gridmap`: set up the database, build the demo, serve the web app, manage users.

Every command reads the database from GRIDMAP_DATABASE_URL (default: a
SpatiaLite file gridmap.sqlite under GRIDMAP_HOME, itself defaulting to the
working directory). Errors print one line and exit non-zero.
"""

from __future__ import annotations

import json
import sys
import time

import click
from sqlalchemy.exc import OperationalError

from gridmap.errors import GridmapError
from gridmap_cli.common import command_session, settings, upgrade
from gridmap_cli.hazards import hazards
from gridmap_cli.heatmap import heatmap_cmd
from gridmap_cli.imports import export_cmd, import_cmd
from gridmap_cli.indicators import indicators
from gridmap_cli.network import network_group, standards_cmd
from gridmap_cli.ops import COMMANDS as OPS_COMMANDS
from gridmap_cli.patrol import patrol_cmd
from gridmap_cli.reach import reach_cmd
from gridmap_cli.risk import risk_cmd
from gridmap_cli.run import run_cmd
from gridmap_cli.suggest import suggest_cmd
from gridmap_cli.tokens import token


class Cli(click.Group):
    """Turns gridmap's typed errors into one-line messages and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GridmapError as exc:
            raise click.ClickException(str(exc)) from exc
        except OperationalError as exc:
            from sqlalchemy.engine import make_url

            where = make_url(settings().database_url).render_as_string(hide_password=True)
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise click.ClickException(f"cannot use the database {where}: {reason}") from exc


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gridmap")
def cli() -> None:
    """gridmap: grid management and maps for community governance (社区网格化治理)."""


# --- db -----------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def dbupgrade() -> None:
    """Create or migrate the schema to the latest version (PostGIS or SpatiaLite)."""
    from sqlalchemy.engine import make_url

    upgrade()
    click.echo(
        f"schema up to date: {make_url(settings().database_url).render_as_string(hide_password=True)}"
    )


# --- demo -----------------------------------------------------------------------
@cli.command()
@click.option("--build-only", is_flag=True, help="Build the demo data, do not serve it.")
@click.option(
    "--osm",
    "osm_path",
    type=click.Path(dir_okay=False),
    help="Build from a real OSM extract (.osm, .osm.bz2, .osm.pbf) instead of synthetic data.",
)
@click.option("--seed", default=7, show_default=True, help="Seed of the synthetic data.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(build_only: bool, osm_path: str | None, seed: int, host: str, port: int) -> None:
    """Build a demo street office into the configured database, then serve it."""
    from geodata.demo import ensure_demo_target, make_city, store_demo, total_rows

    started = time.perf_counter()
    upgrade()
    with command_session() as session:
        ensure_demo_target(session)  # fail before spending time on the build
    click.echo(
        "computing the demo street office ..." if osm_path is None else f"reading {osm_path} ..."
    )
    city = make_city(seed=seed, osm_path=osm_path)
    with (
        click.progressbar(length=total_rows(city), label="writing", file=sys.stderr) as bar,
        command_session() as session,
    ):
        written, password = store_demo(session, city, lambda _table, n: bar.update(n))
    click.echo(f"{city.label}")
    click.echo(", ".join(f"{k}: {v}" for k, v in written.items() if v))
    click.echo(f"built in {time.perf_counter() - started:.1f} s")
    click.echo(
        f"log in as: admin / {password}   (shown once; reset with "
        "`gridmap user add admin --role admin --password ...`)"
    )
    if not build_only:
        _serve(host, port)


# --- serve -----------------------------------------------------------------------
def _serve(host: str, port: int, workers: int = 1, threads: int = 8) -> None:
    if workers > 1:
        from web.serve import serve_workers

        click.echo(f"serving on http://{host}:{port}/ with {workers} processes (Ctrl+C to stop)")
        serve_workers(host, port, workers=workers, threads=threads)
        return
    from waitress import serve as waitress_serve

    from web.app import create_app
    from web.serve import pool_for_threads

    app = create_app(settings=pool_for_threads(settings(), threads))
    click.echo(f"serving on http://{host}:{port}/  (Ctrl+C to stop)")
    waitress_serve(app, host=host, port=port, threads=threads, ident="gridmap")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes sharing the port (SO_REUSEPORT); more use more cores.",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="waitress threads per process.",
)
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app with waitress (a production WSGI server), in one or more processes."""
    upgrade()
    _serve(host, port, workers, threads)


# --- stats -----------------------------------------------------------------------
@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: table -> rows.")
def stats(as_json: bool) -> None:
    """Row counts of every table."""
    from geodata.db.store import table_counts

    with command_session() as session:
        counts = table_counts(session)
    if as_json:
        click.echo(json.dumps(counts))
    else:
        width = max(map(len, counts))
        for name, n in counts.items():
            click.echo(f"{name:<{width}}  {n:>8}")


# --- users -----------------------------------------------------------------------
@cli.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(
        ["admin", "street_staff", "community_staff", "grid_leader", "planner", "viewer"]
    ),
)
@click.option("--password", help="At least 8 characters; generated and printed when omitted.")
@click.option("--display-name", help="Name shown in the interface.")
@click.option("--grid", "grids", multiple=True, help="Assigned grid code (repeatable).")
@click.option(
    "--community", "communities", multiple=True, help="Assigned community code (repeatable)."
)
@click.option("--street", "streets", multiple=True, help="Assigned street code (repeatable).")
def user_add(name, role, password, display_name, grids, communities, streets) -> None:
    """Add a user, or update an existing one's role, password and areas."""
    from geodata.db.users import create_user

    upgrade()
    with command_session() as session:
        _user, pw = create_user(
            session,
            name,
            role,
            password=password,
            display_name=display_name,
            grid_codes=list(grids),
            community_codes=list(communities),
            street_codes=list(streets),
        )
    click.echo(f"user {name} ({role}) saved" + ("" if password else f"; password: {pw}"))


for _command in (
    patrol_cmd,
    risk_cmd,
    heatmap_cmd,
    import_cmd,
    export_cmd,
    reach_cmd,
    suggest_cmd,
    network_group,
    standards_cmd,
    hazards,
    token,
    *OPS_COMMANDS,
    indicators,
    run_cmd,
):
    cli.add_command(_command)


def main() -> None:  # pragma: no cover - console entry point
    cli()
