"""indicator snapshots of closed periods (indicator_snapshot)

Revision ID: 0006_indicator_snapshots
Revises: 0005_field_app
Create Date: 2026-12-03 08:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0006_indicator_snapshots'
down_revision: Union[str, Sequence[str], None] = '0005_field_app'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('indicator_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('indicator', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('area', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('row', sa.JSON(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by', sa.String(length=50), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_snapshot')),
    sa.UniqueConstraint('period_start', 'period_end', 'indicator', 'level', 'area',
                        name='uq_indicator_snapshot_row')
    )
    op.create_index(op.f('ix_indicator_snapshot_period_start'), 'indicator_snapshot',
                    ['period_start'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_indicator_snapshot_period_start'), table_name='indicator_snapshot')
    op.drop_table('indicator_snapshot')
