"""the field app: submission (idempotent deliveries), household_visit, photo

Revision ID: 0005_field_app
Revises: 0004_jobs

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0005_field_app'
down_revision: Union[str, Sequence[str], None] = '0004_jobs'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=True),
    sa.Column('made_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('client_id', name=op.f('uq_submission_client_id'))
    )
    op.create_index(op.f('ix_submission_ref'), 'submission', ['ref'], unique=False)
    op.create_index(op.f('ix_submission_username'), 'submission', ['username'], unique=False)
    op.create_table('household_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('visited_at', sa.DateTime(), nullable=False),
    sa.Column('visitor', sa.String(length=50), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_household_visit_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household_visit'))
    )
    op.create_index(op.f('ix_household_visit_household_id'), 'household_visit', ['household_id'], unique=False)
    op.create_index(op.f('ix_household_visit_visited_at'), 'household_visit', ['visited_at'], unique=False)
    op.create_table('photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('uploaded_by', sa.String(length=50), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo'))
    )
    op.create_index(op.f('ix_photo_owner_id'), 'photo', ['owner_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_photo_owner_id'), table_name='photo')
    op.drop_table('photo')
    op.drop_index(op.f('ix_household_visit_visited_at'), table_name='household_visit')
    op.drop_index(op.f('ix_household_visit_household_id'), table_name='household_visit')
    op.drop_table('household_visit')
    op.drop_index(op.f('ix_submission_username'), table_name='submission')
    op.drop_index(op.f('ix_submission_ref'), table_name='submission')
    op.drop_table('submission')
