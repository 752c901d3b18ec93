"""Alembic environment shared by PostGIS and SpatiaLite.

geoalchemy2's helpers render spatial tables and indexes the right way on each
backend; ``include_object`` keeps autogenerate away from the spatial system
tables (spatial_ref_sys, geometry_columns, SpatiaLite's many internals).
"""

from alembic import context
from geoalchemy2 import alembic_helpers

from geodata.db.engine import is_sqlite, make_engine
from geodata.db.migrate import include_object
from geodata.db.models import Base
from geodata.settings import Settings

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        render_as_batch=is_sqlite(connection.engine),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(
        config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url
    )
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
