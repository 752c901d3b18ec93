"""data version counters (data_version) bumped by triggers on every write

Revision ID: 0008_data_version
Revises: 0007_sessions
Create Date: 2026-12-03 12:40:00

Figures are kept between requests keyed by these counters: any insert, update or delete
of a table a figure reads bumps its family's counter in the same transaction, whichever
process or tool wrote it, so every server process sees the change at the next request.
"""
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0008_data_version'
down_revision: str | Sequence[str] | None = '0007_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the tables each counter watches (frozen here: a later table gets its own migration)
FAMILIES = {
    "areas": ("district", "street", "community", "grid"),
    "places": ("compound", "gate", "road", "building", "facility", "key_site"),
    "people": ("household", "resident", "household_visit"),
    "events": ("inspection", "patrol_track", "hazard", "hazard_event", "submission", "photo"),
}


def upgrade() -> None:
    """Upgrade schema."""
    table = op.create_table('data_version',
    sa.Column('family', sa.String(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('family', name=op.f('pk_data_version'))
    )
    # 'database' tells two databases apart that once lived at the same address
    op.bulk_insert(table, [{"family": f, "version": 0} for f in FAMILIES]
                   + [{"family": "database", "version": secrets.randbits(62)}])
    if op.get_bind().dialect.name == "postgresql":
        # one bump per statement (a bulk COPY of 50,000 rows is one bump)
        op.execute("""
            CREATE FUNCTION gridmap_bump_data_version() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE data_version SET version = version + 1 WHERE family = TG_ARGV[0];
                RETURN NULL;
            END $$""")
        for family, tables in FAMILIES.items():
            for name in tables:
                op.execute(f"CREATE TRIGGER data_version_{name} AFTER INSERT OR UPDATE OR "
                           f"DELETE OR TRUNCATE ON {name} FOR EACH STATEMENT EXECUTE FUNCTION "
                           f"gridmap_bump_data_version('{family}')")
    else:  # SQLite triggers run per row
        for family, tables in FAMILIES.items():
            for name in tables:
                for event in ("insert", "update", "delete"):
                    op.execute(f"CREATE TRIGGER data_version_{name}_{event} AFTER "
                               f"{event.upper()} ON {name} BEGIN UPDATE data_version SET "
                               f"version = version + 1 WHERE family = '{family}'; END")


def downgrade() -> None:
    """Downgrade schema."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for tables in FAMILIES.values():
        for name in tables:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS data_version_{name} ON {name}")
            else:
                for event in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER IF EXISTS data_version_{name}_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS gridmap_bump_data_version()")
    op.drop_table('data_version')
