"""results of city-wide runs per street office (street_result)

Revision ID: 0009_street_results
Revises: 0008_data_version
Create Date: 2026-12-03 12:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0009_street_results'
down_revision: Union[str, Sequence[str], None] = '0008_data_version'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('street_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('analysis', sa.String(length=20), nullable=False),
    sa.Column('period_start', sa.DateTime(), nullable=False),
    sa.Column('period_end', sa.DateTime(), nullable=False),
    sa.Column('street_code', sa.String(length=20), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_result'))
    )
    op.create_index(op.f('ix_street_result_run_id'), 'street_result', ['run_id'], unique=False)
    op.create_index('ix_street_result_run_key', 'street_result',
                    ['analysis', 'period_start', 'period_end', 'street_code'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_street_result_run_key', table_name='street_result')
    op.drop_index(op.f('ix_street_result_run_id'), table_name='street_result')
    op.drop_table('street_result')
