"""initial schema

Revision ID: 0001
Revises: 

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_bind().dialect.name == "postgresql":
        # Needs a superuser once per database; a DBA can run it beforehand instead.
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'], unique=False)
    op.create_index(op.f('ix_audit_log_username'), 'audit_log', ['username'], unique=False)
    op.create_geospatial_table('district',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_district')),
    sa.UniqueConstraint('code', name=op.f('uq_district_code'))
    )
    op.create_geospatial_index('idx_district_geom', 'district', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_geospatial_table('facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility')),
    sa.UniqueConstraint('code', name=op.f('uq_facility_code'))
    )
    op.create_geospatial_index('idx_facility_geom', 'facility', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_facility_category'), 'facility', ['category'], unique=False)
    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('basemap', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_user_username'))
    )
    op.create_geospatial_table('street',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_street_district_id_district'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street')),
    sa.UniqueConstraint('code', name=op.f('uq_street_code'))
    )
    op.create_geospatial_index('idx_street_geom', 'street', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_street_district_id'), 'street', ['district_id'], unique=False)
    op.create_geospatial_table('community',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_community_street_id_street'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community')),
    sa.UniqueConstraint('code', name=op.f('uq_community_code'))
    )
    op.create_geospatial_index('idx_community_geom', 'community', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_community_street_id'), 'community', ['street_id'], unique=False)
    op.create_table('user_street',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['street_id'], ['street.id'], name=op.f('fk_user_street_street_id_street'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_user_street_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'street_id', name=op.f('pk_user_street'))
    )
    op.create_geospatial_table('compound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_compound_community_id_community'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compound')),
    sa.UniqueConstraint('code', name=op.f('uq_compound_code'))
    )
    op.create_geospatial_index('idx_compound_geom', 'compound', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_compound_community_id'), 'compound', ['community_id'], unique=False)
    op.create_geospatial_table('grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('leader', sa.String(length=50), nullable=True),
    sa.Column('leader_phone', sa.String(length=20), nullable=True),
    sa.Column('target_households', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_grid_community_id_community'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grid')),
    sa.UniqueConstraint('code', name=op.f('uq_grid_code'))
    )
    op.create_geospatial_index('idx_grid_geom', 'grid', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_grid_community_id'), 'grid', ['community_id'], unique=False)
    op.create_table('user_community',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], name=op.f('fk_user_community_community_id_community'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_user_community_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'community_id', name=op.f('pk_user_community'))
    )
    op.create_geospatial_table('building',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('floors', sa.Integer(), nullable=True),
    sa.Column('use', sa.String(length=16), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('entrance', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_building_compound_id_compound'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_building_grid_id_grid'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_building')),
    sa.UniqueConstraint('code', name=op.f('uq_building_code'))
    )
    op.create_geospatial_index('idx_building_geom', 'building', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_building_address'), 'building', ['address'], unique=False)
    op.create_index(op.f('ix_building_compound_id'), 'building', ['compound_id'], unique=False)
    op.create_index(op.f('ix_building_grid_id'), 'building', ['grid_id'], unique=False)
    op.create_geospatial_table('gate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_gate_compound_id_compound'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate')),
    sa.UniqueConstraint('code', name=op.f('uq_gate_code'))
    )
    op.create_geospatial_index('idx_gate_geom', 'gate', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_gate_compound_id'), 'gate', ['compound_id'], unique=False)
    op.create_geospatial_table('hazard',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('found_at', sa.DateTime(), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('reporter', sa.String(length=50), nullable=True),
    sa.Column('responsible', sa.String(length=50), nullable=True),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_hazard_grid_id_grid'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard')),
    sa.UniqueConstraint('code', name=op.f('uq_hazard_code'))
    )
    op.create_geospatial_index('idx_hazard_geom', 'hazard', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_hazard_grid_id'), 'hazard', ['grid_id'], unique=False)
    op.create_index(op.f('ix_hazard_status'), 'hazard', ['status'], unique=False)
    op.create_geospatial_table('key_site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('inspection_interval_days', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_key_site_grid_id_grid'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_site')),
    sa.UniqueConstraint('code', name=op.f('uq_key_site_code'))
    )
    op.create_geospatial_index('idx_key_site_geom', 'key_site', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_key_site_category'), 'key_site', ['category'], unique=False)
    op.create_index(op.f('ix_key_site_grid_id'), 'key_site', ['grid_id'], unique=False)
    op.create_geospatial_table('patrol_track',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('patroller', sa.String(length=50), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=False),
    sa.Column('times', sa.JSON(), nullable=False),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_patrol_track_grid_id_grid'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patrol_track')),
    sa.UniqueConstraint('code', name=op.f('uq_patrol_track_code'))
    )
    op.create_geospatial_index('idx_patrol_track_geom', 'patrol_track', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_patrol_track_grid_id'), 'patrol_track', ['grid_id'], unique=False)
    op.create_index(op.f('ix_patrol_track_patroller'), 'patrol_track', ['patroller'], unique=False)
    op.create_index(op.f('ix_patrol_track_started_at'), 'patrol_track', ['started_at'], unique=False)
    op.create_geospatial_table('road',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('highway', sa.String(length=32), nullable=False),
    sa.Column('foot', sa.String(length=16), nullable=True),
    sa.Column('access', sa.String(length=16), nullable=True),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='LINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['compound_id'], ['compound.id'], name=op.f('fk_road_compound_id_compound'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_road')),
    sa.UniqueConstraint('code', name=op.f('uq_road_code'))
    )
    op.create_geospatial_index('idx_road_geom', 'road', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_road_compound_id'), 'road', ['compound_id'], unique=False)
    op.create_table('user_grid',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_user_grid_grid_id_grid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_user_grid_user_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'grid_id', name=op.f('pk_user_grid'))
    )
    op.create_table('hazard_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hazard_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_event_hazard_id_hazard'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_event'))
    )
    op.create_index(op.f('ix_hazard_event_hazard_id'), 'hazard_event', ['hazard_id'], unique=False)
    op.create_table('household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=True),
    sa.Column('floor', sa.Integer(), nullable=True),
    sa.Column('room', sa.String(length=16), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_household_building_id_building'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_household')),
    sa.UniqueConstraint('code', name=op.f('uq_household_code'))
    )
    op.create_index(op.f('ix_household_building_id'), 'household', ['building_id'], unique=False)
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('inspected_at', sa.DateTime(), nullable=False),
    sa.Column('inspector', sa.String(length=50), nullable=True),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('photos', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['key_site.id'], name=op.f('fk_inspection_site_id_key_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection'))
    )
    op.create_index(op.f('ix_inspection_inspected_at'), 'inspection', ['inspected_at'], unique=False)
    op.create_index(op.f('ix_inspection_site_id'), 'inspection', ['site_id'], unique=False)
    op.create_table('resident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('props', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_resident_household_id_household'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident'))
    )
    op.create_index(op.f('ix_resident_household_id'), 'resident', ['household_id'], unique=False)
    op.create_index(op.f('ix_resident_id_number'), 'resident', ['id_number'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_resident_id_number'), table_name='resident')
    op.drop_index(op.f('ix_resident_household_id'), table_name='resident')
    op.drop_table('resident')
    op.drop_index(op.f('ix_inspection_site_id'), table_name='inspection')
    op.drop_index(op.f('ix_inspection_inspected_at'), table_name='inspection')
    op.drop_table('inspection')
    op.drop_index(op.f('ix_household_building_id'), table_name='household')
    op.drop_table('household')
    op.drop_index(op.f('ix_hazard_event_hazard_id'), table_name='hazard_event')
    op.drop_table('hazard_event')
    op.drop_table('user_grid')
    op.drop_index(op.f('ix_road_compound_id'), table_name='road')
    op.drop_geospatial_index('idx_road_geom', table_name='road', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road')
    op.drop_index(op.f('ix_patrol_track_started_at'), table_name='patrol_track')
    op.drop_index(op.f('ix_patrol_track_patroller'), table_name='patrol_track')
    op.drop_index(op.f('ix_patrol_track_grid_id'), table_name='patrol_track')
    op.drop_geospatial_index('idx_patrol_track_geom', table_name='patrol_track', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('patrol_track')
    op.drop_index(op.f('ix_key_site_grid_id'), table_name='key_site')
    op.drop_index(op.f('ix_key_site_category'), table_name='key_site')
    op.drop_geospatial_index('idx_key_site_geom', table_name='key_site', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('key_site')
    op.drop_index(op.f('ix_hazard_status'), table_name='hazard')
    op.drop_index(op.f('ix_hazard_grid_id'), table_name='hazard')
    op.drop_geospatial_index('idx_hazard_geom', table_name='hazard', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('hazard')
    op.drop_index(op.f('ix_gate_compound_id'), table_name='gate')
    op.drop_geospatial_index('idx_gate_geom', table_name='gate', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('gate')
    op.drop_index(op.f('ix_building_grid_id'), table_name='building')
    op.drop_index(op.f('ix_building_compound_id'), table_name='building')
    op.drop_index(op.f('ix_building_address'), table_name='building')
    op.drop_geospatial_index('idx_building_geom', table_name='building', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('building')
    op.drop_table('user_community')
    op.drop_index(op.f('ix_grid_community_id'), table_name='grid')
    op.drop_geospatial_index('idx_grid_geom', table_name='grid', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grid')
    op.drop_index(op.f('ix_compound_community_id'), table_name='compound')
    op.drop_geospatial_index('idx_compound_geom', table_name='compound', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('compound')
    op.drop_table('user_street')
    op.drop_index(op.f('ix_community_street_id'), table_name='community')
    op.drop_geospatial_index('idx_community_geom', table_name='community', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('community')
    op.drop_index(op.f('ix_street_district_id'), table_name='street')
    op.drop_geospatial_index('idx_street_geom', table_name='street', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street')
    op.drop_table('staff_user')
    op.drop_index(op.f('ix_facility_category'), table_name='facility')
    op.drop_geospatial_index('idx_facility_geom', table_name='facility', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('facility')
    op.drop_geospatial_index('idx_district_geom', table_name='district', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('district')
    op.drop_index(op.f('ix_audit_log_username'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_at'), table_name='audit_log')
    op.drop_table('audit_log')
