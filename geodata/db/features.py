"""The rows of each OGC API collection (gridmap.ogc.COLLECTIONS), read for a requester.

Scoped layers (key sites, hazards, patrol tracks) go through the repositories' scope filter,
so a token or a session sees exactly what the web pages show; households and residents never
leave as features, only as counts on buildings, grids and communities (small counts are
suppressed by :func:`gridmap.ogc.suppress_counts`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import geopandas as gpd
import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.backend import Bbox, bbox_clause, in_box, is_postgis
from geodata.db.frames import read_frame
from geodata.db.models import Building, Community, Compound, Grid, Household, PatrolTrack, Street
from geodata.db.scope import scoped
from gridmap import ogc
from gridmap.analysis.patrol import overdue_sites
from gridmap.privacy import Requester


def _streets(session: Session) -> gpd.GeoDataFrame:
    return read_frame(
        session,
        sa.select(Street.id, Street.code, Street.name, Street.geom)
        .where(Street.geom.is_not(None))
        .order_by(Street.id),
    )


def _compounds(session: Session, bbox: Bbox | None) -> gpd.GeoDataFrame:
    stmt = (
        sa.select(
            Compound.id,
            Compound.code,
            Compound.name,
            Community.code.label("community_code"),
            Compound.geom,
        )
        .outerjoin(Community, Compound.community_id == Community.id)
        .order_by(Compound.id)
    )
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, Compound, bbox))
    return read_frame(session, stmt)


def _plain_wkb(session: Session, column):
    """Plain WKB of a geometry column: SpatiaLite's AsEWKB (GeoAlchemy2's default) is several
    times slower on long lines."""
    as_binary = sa.func.ST_AsBinary if is_postgis(session) else sa.func.AsBinary
    return sa.type_coerce(as_binary(column), sa.LargeBinary).label("geom")


def _patrol_tracks(
    session: Session,
    requester: Requester,
    bbox: Bbox | None,
    start: datetime | None,
    end: datetime | None,
) -> gpd.GeoDataFrame:
    """Tracks without their per-point times (what a GIS layer needs, and 10x faster)."""
    stmt = scoped(
        sa.select(
            PatrolTrack.id,
            PatrolTrack.code,
            PatrolTrack.patroller,
            Grid.code.label("grid_code"),
            PatrolTrack.started_at,
            PatrolTrack.ended_at,
            _plain_wkb(session, PatrolTrack.geom),
        ).outerjoin(Grid, PatrolTrack.grid_id == Grid.id),
        requester,
        PatrolTrack,
    )
    if start is not None:
        stmt = stmt.where(PatrolTrack.ended_at >= start)
    if end is not None:
        stmt = stmt.where(PatrolTrack.started_at <= end)
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, PatrolTrack, bbox))
    return read_frame(session, stmt.order_by(PatrolTrack.id))


def _buildings(session: Session, bbox: Bbox | None) -> gpd.GeoDataFrame:
    """Buildings with household and resident counts counted per building through the
    household index (correlated), not by grouping every household of the city per request."""
    mine = Household.building_id == Building.id
    households = (
        sa.select(sa.func.count(Household.id)).where(mine).correlate(Building).scalar_subquery()
    )
    residents = (
        sa.select(sa.cast(sa.func.coalesce(sa.func.sum(Household.size), 0), sa.Integer))
        .where(mine)
        .correlate(Building)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            Building.id,
            Building.code,
            Building.name,
            Building.address,
            Building.floors,
            Building.use,
            Grid.code.label("grid_code"),
            households.label("households"),
            residents.label("residents"),
            _plain_wkb(session, Building.geom),
        )
        .outerjoin(Grid, Building.grid_id == Grid.id)
        .order_by(Building.id)
    )
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, Building, bbox))
    return read_frame(session, stmt)


def _key_sites(session: Session, requester: Requester, as_of) -> gpd.GeoDataFrame:
    f = repo.key_sites_frame(session, requester)
    f = f.join(overdue_sites(f, as_of=as_of()))
    return f.assign(status=np.where(f["overdue"], "overdue", "ok"))


def read_collection(
    session: Session,
    requester: Requester,
    coll: ogc.Collection,
    bbox: Bbox | None,
    *,
    as_of: Callable[[], datetime],
    interval: tuple[datetime | None, datetime | None] | None = None,
) -> gpd.GeoDataFrame:
    """Rows of an OGC collection meeting ``bbox``, ordered by id; counts of people suppressed.

    Parameters
    ----------
    session : Session
        Database session holding the collection's table.
    requester : Requester
        Who asks: personal collections are read in their areas.
    coll : Collection
        The collection.
    bbox : tuple of float or None
        (minx, miny, maxx, maxy) in EPSG:4326; None: everywhere.
    as_of : callable
        Gives "now" for overdue inspections, asked only by the key sites.
    interval : tuple of (datetime or None, datetime or None), optional
        Narrows the patrol tracks read (the caller still filters exactly).

    Returns
    -------
    GeoDataFrame
        ``id``, the collection's properties and the geometry.
    """
    start, end = interval or (None, None)
    readers = {
        "streets": lambda: _streets(session),
        "communities": lambda: repo.communities_frame(session),
        "grids": lambda: repo.grids_frame(session),
        "compounds": lambda: _compounds(session, bbox),
        "buildings": lambda: _buildings(session, bbox),
        "roads": lambda: repo.roads_frame(session, bbox=bbox),
        "facilities": lambda: repo.facilities_frame(session),
        "key_sites": lambda: _key_sites(session, requester, as_of),
        "hazards": lambda: repo.hazards_frame(session, requester),
        "patrol_tracks": lambda: _patrol_tracks(session, requester, bbox, start, end),
    }
    frame = in_box(readers[coll.id](), bbox)
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
    return ogc.suppress_counts(frame, coll)
