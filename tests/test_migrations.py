"""The one Alembic history creates the schema on fresh PostGIS and SpatiaLite alike."""

import pytest
import sqlalchemy as sa

from geodata.db.engine import make_engine
from geodata.db.migrate import current_revision, head_revision, schema_differences, upgrade
from geodata.db.models import Base

from conftest import BACKENDS


@pytest.mark.parametrize("kind", BACKENDS)
def test_upgrade_head_then_autogenerate_finds_nothing(kind, fresh_database):
    with fresh_database(kind) as url:
        engine = make_engine(url)
        try:
            assert current_revision(engine) is None
            upgrade(engine)
            assert current_revision(engine) == head_revision(engine)
            assert schema_differences(engine) == []
            tables = set(sa.inspect(engine).get_table_names())
            assert set(Base.metadata.tables) <= tables
            # geometry columns are registered with SRID 4326 and a spatial index
            with engine.connect() as c:
                if kind == "spatialite":
                    rows = c.execute(
                        sa.text(
                            "SELECT f_table_name, srid, spatial_index_enabled FROM geometry_columns "
                            "WHERE f_geometry_column = 'geom'"
                        )
                    ).all()
                    assert all(r[1] == 4326 and r[2] == 1 for r in rows)
                else:
                    rows = c.execute(
                        sa.text(
                            "SELECT f_table_name, srid FROM geometry_columns "
                            "WHERE f_geometry_column = 'geom'"
                        )
                    ).all()
                    assert all(r[1] == 4326 for r in rows)
                    indexed = {
                        r[0]
                        for r in c.execute(
                            sa.text(
                                "SELECT tablename FROM pg_indexes WHERE indexdef ILIKE '%gist%geom%'"
                            )
                        )
                    }
                    assert {r[0] for r in rows} <= indexed
                assert len(rows) == 14  # every feature table; building.entrance is extra
            upgrade(engine)  # idempotent
            assert schema_differences(engine) == []
        finally:
            engine.dispose()
