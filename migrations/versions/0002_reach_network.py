"""walking network (walk_network, walk_node, walk_edge) and reachability runs (reach_run, reach_result)

Revision ID: 0002_reach_network
Revises: 0001
Create Date: 2026-11-23 10:40:52.362354

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = '0002_reach_network'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('walk_network',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('built_at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('crs', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('node_count', sa.Integer(), nullable=False),
    sa.Column('edge_count', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('warnings', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_network'))
    )
    op.create_index(op.f('ix_walk_network_fingerprint'), 'walk_network', ['fingerprint'], unique=False)
    op.create_table('reach_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('speed_kmh', sa.Float(), nullable=False),
    sa.Column('max_distance_m', sa.Float(), nullable=True),
    sa.Column('detour_factor', sa.Float(), nullable=True),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['network_id'], ['walk_network.id'], name=op.f('fk_reach_run_network_id_walk_network'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reach_run'))
    )
    op.create_index(op.f('ix_reach_run_created_at'), 'reach_run', ['created_at'], unique=False)
    op.create_index(op.f('ix_reach_run_network_id'), 'reach_run', ['network_id'], unique=False)
    op.create_geospatial_table('walk_node',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('gate_code', sa.String(length=48), nullable=True),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_walk_node_compound_id_compound'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['network_id'], ['walk_network.id'], name=op.f('fk_walk_node_network_id_walk_network'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_node'))
    )
    op.create_geospatial_index('idx_walk_node_geom', 'walk_node', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_walk_node_compound_id'), 'walk_node', ['compound_id'], unique=False)
    op.create_index(op.f('ix_walk_node_network_id'), 'walk_node', ['network_id'], unique=False)
    op.create_table('reach_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('minutes', sa.Float(), nullable=True),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('snap', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_reach_result_building_id_building'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_reach_result_facility_id_facility'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['reach_run.id'], name=op.f('fk_reach_result_run_id_reach_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reach_result'))
    )
    op.create_index(op.f('ix_reach_result_building_id'), 'reach_result', ['building_id'], unique=False)
    op.create_index(op.f('ix_reach_result_category'), 'reach_result', ['category'], unique=False)
    op.create_index(op.f('ix_reach_result_facility_id'), 'reach_result', ['facility_id'], unique=False)
    op.create_index(op.f('ix_reach_result_run_id'), 'reach_result', ['run_id'], unique=False)
    op.create_geospatial_table('walk_edge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('u', sa.Integer(), nullable=False),
    sa.Column('v', sa.Integer(), nullable=False),
    sa.Column('length_m', sa.Float(), nullable=False),
    sa.Column('highway', sa.String(length=32), nullable=True),
    sa.Column('road_id', sa.Integer(), nullable=True),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_walk_edge_compound_id_compound'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['network_id'], ['walk_network.id'], name=op.f('fk_walk_edge_network_id_walk_network'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], name=op.f('fk_walk_edge_road_id_road'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_walk_edge'))
    )
    op.create_geospatial_index('idx_walk_edge_geom', 'walk_edge', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_walk_edge_compound_id'), 'walk_edge', ['compound_id'], unique=False)
    op.create_index(op.f('ix_walk_edge_network_id'), 'walk_edge', ['network_id'], unique=False)
    op.create_index(op.f('ix_walk_edge_road_id'), 'walk_edge', ['road_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_walk_edge_road_id'), table_name='walk_edge')
    op.drop_index(op.f('ix_walk_edge_network_id'), table_name='walk_edge')
    op.drop_index(op.f('ix_walk_edge_compound_id'), table_name='walk_edge')
    op.drop_geospatial_index('idx_walk_edge_geom', table_name='walk_edge', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('walk_edge')
    op.drop_index(op.f('ix_reach_result_run_id'), table_name='reach_result')
    op.drop_index(op.f('ix_reach_result_facility_id'), table_name='reach_result')
    op.drop_index(op.f('ix_reach_result_category'), table_name='reach_result')
    op.drop_index(op.f('ix_reach_result_building_id'), table_name='reach_result')
    op.drop_table('reach_result')
    op.drop_index(op.f('ix_walk_node_network_id'), table_name='walk_node')
    op.drop_index(op.f('ix_walk_node_compound_id'), table_name='walk_node')
    op.drop_geospatial_index('idx_walk_node_geom', table_name='walk_node', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('walk_node')
    op.drop_index(op.f('ix_reach_run_network_id'), table_name='reach_run')
    op.drop_index(op.f('ix_reach_run_created_at'), table_name='reach_run')
    op.drop_table('reach_run')
    op.drop_index(op.f('ix_walk_network_fingerprint'), table_name='walk_network')
    op.drop_table('walk_network')
