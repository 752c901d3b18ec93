"""Run the Alembic migrations from code (the CLI and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Engine

import migrations
from geodata.db.models import Base

MIGRATIONS_DIR = Path(migrations.__file__).parent


def include_object(obj, name, obj_type, reflected, compare_to) -> bool:
    """Compare only gridmap's own tables: PostGIS and SpatiaLite own the rest.

    Parameters
    ----------
    obj, name, obj_type, reflected, compare_to
        What Alembic's ``include_object`` hook is given.

    Returns
    -------
    bool
        Whether autogenerate compares the object.
    """
    if obj_type == "table" and reflected and name not in Base.metadata.tables:
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for ``engine`` with gridmap's migrations.

    Parameters
    ----------
    engine : Engine
        The database migrated.

    Returns
    -------
    alembic.config.Config
        The configuration.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` inside one transaction.

    Parameters
    ----------
    engine : Engine
        The database migrated.
    revision : str
        The migration to reach ("head": the newest).
    """
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at.

    Parameters
    ----------
    engine : Engine
        The database asked.

    Returns
    -------
    str or None
        The revision, None for an empty database.
    """
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest migration gridmap ships.

    Parameters
    ----------
    engine : Engine
        Any engine (the configuration needs one).

    Returns
    -------
    str or None
        The head revision.
    """
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def schema_differences(engine: Engine) -> list:
    """What autogenerate would change between the models and this database.

    Parameters
    ----------
    engine : Engine
        The database compared.

    Returns
    -------
    list
        Alembic's differences ([] = in sync).
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, Base.metadata)
