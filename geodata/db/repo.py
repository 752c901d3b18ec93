"""Repositories: the only way rows leave the database.

Queries that return hazards, patrol tracks or key sites take the requesting user
(``Requester``) and pass through ``scope.scoped``; households and residents are read
through :mod:`geodata.db.people`, which masks and audits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.backend import bbox_clause
from geodata.db.frames import read_frame
from geodata.db.models import (
    AuditLog,
    Building,
    Community,
    Compound,
    District,
    Facility,
    Grid,
    Hazard,
    Household,
    Inspection,
    KeySite,
    PatrolTrack,
    Road,
    Street,
)
from geodata.db.scope import scoped, visible_grids
from gridmap.errors import NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.noding import vertical_layer
from gridmap.privacy import Requester


def audit(
    session: Session,
    requester: Requester,
    action: str,
    target: str | None = None,
    detail: dict | None = None,
) -> None:
    """Write one audit-log entry in the caller's transaction.

    Parameters
    ----------
    session : Session
        Database session the entry is added to.
    requester : Requester
        Who did it.
    action : str
        What was done (``view_households``, ``grid_assign`` ...).
    target : str, optional
        The code of what it was done to.
    detail : dict, optional
        Counts and choices worth keeping (no personal data).
    """
    session.add(
        AuditLog(
            at=datetime.now(),
            username=requester.username,
            action=action,
            target=target,
            detail=detail,
        )
    )


# --- aggregates for maps (no personal data) -----------------------------------
def _total(column):
    """SUM as an integer on both backends (PostgreSQL's SUM of integers is NUMERIC)."""
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.Integer)


def _households_per_grid():
    return (
        sa.select(
            Building.grid_id.label("grid_id"),
            sa.func.count(sa.distinct(Building.id)).label("buildings"),
            sa.func.count(Household.id).label("households"),
            _total(Household.size).label("residents"),
        )
        .outerjoin(Household, Household.building_id == Building.id)
        .group_by(Building.grid_id)
        .subquery()
    )


def grids_frame(session: Session, *, community_code: str | None = None) -> gpd.GeoDataFrame:
    """Grids with their community, leader, target and household/resident/building counts.

    Parameters
    ----------
    session : Session
        Database session holding the grids.
    community_code : str, optional
        Only the grids of this community.

    Returns
    -------
    GeoDataFrame
        One row per grid (EPSG:4326), by code.
    """
    per = _households_per_grid()
    stmt = (
        sa.select(
            Grid.id,
            Grid.code,
            Grid.name,
            Grid.kind,
            Grid.leader,
            Grid.target_households,
            Community.code.label("community_code"),
            Community.name.label("community_name"),
            sa.func.coalesce(per.c.buildings, 0).label("buildings"),
            sa.func.coalesce(per.c.households, 0).label("households"),
            sa.func.coalesce(per.c.residents, 0).label("residents"),
            Grid.geom,
        )
        .outerjoin(Community, Grid.community_id == Community.id)
        .outerjoin(per, per.c.grid_id == Grid.id)
        .order_by(Grid.code)
    )
    if community_code:
        stmt = stmt.where(Community.code == community_code)
    return read_frame(session, stmt)


def communities_frame(session: Session) -> gpd.GeoDataFrame:
    """Communities with their street and grid, household and resident counts.

    Parameters
    ----------
    session : Session
        Database session holding the communities.

    Returns
    -------
    GeoDataFrame
        id, code, name, street_name, grids, households, residents (EPSG:4326), by code.
    """
    per = _households_per_grid()
    grid_totals = (
        sa.select(
            Grid.community_id.label("community_id"),
            sa.func.count(Grid.id).label("grids"),
            _total(per.c.households).label("households"),
            _total(per.c.residents).label("residents"),
        )
        .outerjoin(per, per.c.grid_id == Grid.id)
        .group_by(Grid.community_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Community.id,
            Community.code,
            Community.name,
            Street.name.label("street_name"),
            sa.func.coalesce(grid_totals.c.grids, 0).label("grids"),
            sa.func.coalesce(grid_totals.c.households, 0).label("households"),
            sa.func.coalesce(grid_totals.c.residents, 0).label("residents"),
            Community.geom,
        )
        .outerjoin(Street, Community.street_id == Street.id)
        .outerjoin(grid_totals, grid_totals.c.community_id == Community.id)
        .order_by(Community.code)
    )
    return read_frame(session, stmt)


def buildings_frame(
    session: Session,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    grid_code: str | None = None,
) -> gpd.GeoDataFrame:
    """Buildings with household and resident counts (aggregates only).

    Parameters
    ----------
    session : Session
        Database session holding the buildings.
    bbox : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326.
    grid_code : str, optional
        Only the buildings of this grid.

    Returns
    -------
    GeoDataFrame
        One row per building (EPSG:4326).
    """
    per = (
        sa.select(
            Household.building_id.label("building_id"),
            sa.func.count(Household.id).label("households"),
            _total(Household.size).label("residents"),
        )
        .group_by(Household.building_id)
        .subquery()
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
            sa.func.coalesce(per.c.households, 0).label("households"),
            sa.func.coalesce(per.c.residents, 0).label("residents"),
            Building.geom,
        )
        .outerjoin(Grid, Building.grid_id == Grid.id)
        .outerjoin(per, per.c.building_id == Building.id)
        .order_by(Building.code)
    )
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    if bbox:  # through the spatial index of either backend (SpatiaLite has no ST_MakeEnvelope)
        stmt = stmt.where(bbox_clause(session, Building, bbox))
    return read_frame(session, stmt)


def boundary_extents(session: Session) -> dict[str, tuple[float, float, float, float]]:
    """The extents of the districts and of the streets, for the layers holding rows.

    Boundaries carry no personal data; every user may see them.

    Parameters
    ----------
    session : Session
        Database session holding the boundaries.

    Returns
    -------
    dict of str to tuple of float
        Layer -> (minx, miny, maxx, maxy) in EPSG:4326.
    """
    out: dict[str, tuple[float, float, float, float]] = {}
    for layer, model in (("districts", District), ("streets", Street)):
        frame = read_frame(
            session, sa.select(model.id, sa.func.ST_Envelope(model.geom).label("geom"))
        )
        if len(frame):
            minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
            out[layer] = (minx, miny, maxx, maxy)
    return out


def street_summary(session: Session) -> dict:
    """Name and label of the street office shown on the overview.

    Parameters
    ----------
    session : Session
        Database session holding the street.

    Returns
    -------
    dict
        name, code and label (name and label None when no street is loaded).
    """
    street = session.scalars(sa.select(Street).order_by(Street.code)).first()
    if street is None:
        return {"name": None, "label": None}
    return {"name": street.name, "code": street.code, "label": (street.props or {}).get("label")}


# --- activity in the requester's areas (scoped) ---------------------------------
def hazards_frame(
    session: Session, requester: Requester, *, open_only: bool = False, grid_code: str | None = None
) -> gpd.GeoDataFrame:
    """Hazard cases in the requester's areas, oldest first.

    Parameters
    ----------
    session : Session
        Database session holding the cases.
    requester : Requester
        Whose areas choose the cases.
    open_only : bool
        Leave out closed cases.
    grid_code : str, optional
        Only the cases of this grid.

    Returns
    -------
    GeoDataFrame
        Code, category, severity, status, dates, responsible and grid_code (EPSG:4326).
    """
    stmt = scoped(
        sa.select(
            Hazard.id,
            Hazard.code,
            Hazard.category,
            Hazard.severity,
            Hazard.status,
            Hazard.description,
            Hazard.found_at,
            Hazard.deadline,
            Hazard.closed_at,
            Hazard.responsible,
            Grid.code.label("grid_code"),
            Hazard.geom,
        ).outerjoin(Grid, Hazard.grid_id == Grid.id),
        requester,
        Hazard,
    )
    if open_only:
        stmt = stmt.where(Hazard.status != "closed")
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    return read_frame(session, stmt.order_by(Hazard.found_at))


def patrol_tracks_frame(
    session: Session,
    requester: Requester,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    grid_code: str | None = None,
) -> gpd.GeoDataFrame:
    """Patrol tracks in the requester's areas that overlap ``start``-``end``, oldest first.

    Parameters
    ----------
    session : Session
        Database session holding the tracks.
    requester : Requester
        Whose areas choose the tracks.
    start, end : datetime, optional
        Only tracks ending after ``start`` and starting before ``end``.
    grid_code : str, optional
        Only the tracks of this grid.

    Returns
    -------
    GeoDataFrame
        Code, patroller, start and end, vertex times (seconds), grid_code, props (EPSG:4326).
    """
    stmt = scoped(
        sa.select(
            PatrolTrack.id,
            PatrolTrack.code,
            PatrolTrack.patroller,
            PatrolTrack.started_at,
            PatrolTrack.ended_at,
            PatrolTrack.times,
            Grid.code.label("grid_code"),
            PatrolTrack.props,
            PatrolTrack.geom,
        ).outerjoin(Grid, PatrolTrack.grid_id == Grid.id),
        requester,
        PatrolTrack,
    )
    if start:
        stmt = stmt.where(PatrolTrack.ended_at >= start)
    if end:
        stmt = stmt.where(PatrolTrack.started_at < end)
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    return read_frame(session, stmt.order_by(PatrolTrack.started_at))


# --- patrol, risk and heatmaps ---------------------------------------------------
def visible_grids_frame(
    session: Session, requester: Requester, *, grid_code: str | None = None
) -> gpd.GeoDataFrame:
    """The grids the requester may see (code, name, community, leader, counts, geometry).

    Parameters
    ----------
    session : Session
        Database session holding the grids.
    requester : Requester
        Whose areas choose the grids.
    grid_code : str, optional
        Only this grid: NotFound when unknown, PermissionDenied when outside the areas.

    Returns
    -------
    GeoDataFrame
        The grids (EPSG:4326).
    """
    frame = grids_frame(session)
    if grid_code is not None:
        if not (frame["code"] == grid_code).any():
            raise fail(NotFound, N_("no grid with code {code}"), code=grid_code)
        frame = frame[frame["code"] == grid_code]
    allowed = visible_grids(requester)
    if allowed is not None:
        ids = set(session.scalars(allowed))
        mine = frame["id"].isin(ids)
        if grid_code is not None and not mine.any():
            raise fail(
                PermissionDenied,
                N_("grid {code} is outside the areas assigned to {name}"),
                code=grid_code,
                name=requester.username,
            )
        frame = frame[mine]
    return frame.reset_index(drop=True)


def roads_frame(
    session: Session,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    network_tags: bool = False,
) -> gpd.GeoDataFrame:
    """Street and path lines (id, code, name, highway, foot, access, geometry).

    Parameters
    ----------
    session : Session
        Database session holding the roads.
    bbox : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326.
    network_tags : bool
        Add compound_code and layer (bridge/tunnel level), which decide where a private road
        may be walked and where streets meet.

    Returns
    -------
    GeoDataFrame
        The roads (EPSG:4326).
    """
    cols: list[Any] = [Road.id, Road.code, Road.name, Road.highway, Road.foot, Road.access]
    if network_tags:
        cols += [Compound.code.label("compound_code"), Road.props]
    stmt = sa.select(*cols, Road.geom).order_by(Road.id)
    if network_tags:
        stmt = stmt.outerjoin(Compound, Road.compound_id == Compound.id)
    frame = read_frame(session, stmt)
    if network_tags:
        frame["layer"] = [
            vertical_layer(*(p.get(k) for k in ("layer", "bridge", "tunnel")))
            if isinstance(p, dict)
            else 0
            for p in frame["props"]
        ]
        frame = frame.drop(columns="props")
    if bbox:  # in Python: the same on both backends, and a street office has few roads
        minx, miny, maxx, maxy = bbox
        frame = frame.cx[minx:maxx, miny:maxy].reset_index(drop=True)
    return frame


def key_sites_frame(
    session: Session,
    requester: Requester,
    *,
    grid_code: str | None = None,
    until: datetime | None = None,
) -> gpd.GeoDataFrame:
    """Key sites in the requester's areas with their last inspection (NaT when never).

    Parameters
    ----------
    session : Session
        Database session holding the key sites.
    requester : Requester
        Whose areas choose the sites.
    grid_code : str, optional
        Only the sites of this grid.
    until : datetime, optional
        The last inspection before this moment (a past period's view).

    Returns
    -------
    GeoDataFrame
        The key sites with ``last_inspected`` (EPSG:4326), by code.
    """
    latest = sa.select(Inspection.site_id, sa.func.max(Inspection.inspected_at).label("last"))
    if until is not None:
        latest = latest.where(Inspection.inspected_at < until)
    last = latest.group_by(Inspection.site_id).subquery()
    stmt = scoped(
        sa.select(
            KeySite.id,
            KeySite.code,
            KeySite.name,
            KeySite.category,
            KeySite.address,
            KeySite.inspection_interval_days,
            Grid.code.label("grid_code"),
            last.c.last.label("last_inspected"),
            KeySite.geom,
        )
        .outerjoin(Grid, KeySite.grid_id == Grid.id)
        .outerjoin(last, last.c.site_id == KeySite.id),
        requester,
        KeySite,
    )
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    frame = read_frame(session, stmt.order_by(KeySite.code))
    frame["last_inspected"] = pd.to_datetime(frame["last_inspected"])
    return frame


def latest_activity(session: Session) -> datetime | None:
    """The newest patrol, hazard or inspection time: the "today" of a demo database.

    Parameters
    ----------
    session : Session
        Database session holding the records.

    Returns
    -------
    datetime or None
        The newest time, None when nothing is recorded.
    """
    times = [
        session.execute(sa.select(sa.func.max(col))).scalar()
        for col in (PatrolTrack.ended_at, Hazard.found_at, Inspection.inspected_at)
    ]
    found = [pd.Timestamp(t).to_pydatetime() for t in times if t is not None]
    return max(found) if found else None


def facilities_frame(session: Session, *, category: str | None = None) -> gpd.GeoDataFrame:
    """Service facilities (id, code, name, category, capacity, geometry); not personal data.

    Parameters
    ----------
    session : Session
        Database session holding the facilities.
    category : str, optional
        Only this category.

    Returns
    -------
    GeoDataFrame
        The facilities (EPSG:4326).
    """
    stmt = sa.select(
        Facility.id,
        Facility.code,
        Facility.name,
        Facility.category,
        Facility.capacity,
        Facility.geom,
    ).order_by(Facility.id)
    if category:
        stmt = stmt.where(Facility.category == category)
    return read_frame(session, stmt)
