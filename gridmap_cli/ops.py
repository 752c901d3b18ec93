"""`gridmap backup FILE` and `gridmap restore FILE` (see geodata.backup)."""

from __future__ import annotations

from pathlib import Path

import click

from gridmap_cli.common import make_engine, settings


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """Write the database (pg_dump on PostGIS, a consistent SQLite copy on SpatiaLite) and
    GRIDMAP_HOME/photos into the archive FILE."""
    from geodata.backup import backup as run

    engine = make_engine()
    try:
        manifest = run(engine, file, home=settings().home)
    finally:
        engine.dispose()
    rows = sum(manifest["counts"].values())
    click.echo(
        f"backup of {manifest['backend']} ({rows} rows, schema {manifest['revision']}) "
        f"written to {file}"
    )


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def restore(file: Path) -> None:
    """Restore the archive FILE into the configured database, which must be empty and of the
    same backend (create a new one first); photos go to GRIDMAP_HOME/photos."""
    from geodata.backup import restore as run

    engine = make_engine()
    try:
        manifest = run(engine, file, home=settings().home)
    finally:
        engine.dispose()
    rows = sum(manifest["counts"].values())
    click.echo(
        f"restored {rows} rows of {manifest['backend']} (backup of "
        f"{manifest['created']}, schema {manifest['revision']}); run `gridmap db "
        "upgrade` if this gridmap is newer"
    )


COMMANDS = (backup, restore)
