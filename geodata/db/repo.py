"""Repositories: the only way rows leave the database.

Queries that return households, residents, hazards or patrol tracks take the
requesting user (``Requester``) and pass through ``scope.scoped``. Personal
fields leave masked unless the caller asks for them with ``reveal=True`` and
the requester's role allows it; every such read is written to the audit log.
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
    Resident,
    Road,
    Street,
)
from geodata.db.scope import scoped, visible_grids
from gridmap.errors import NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.noding import vertical_layer
from gridmap.privacy import Requester, mask_id_number, mask_name, mask_phone


def audit(
    session: Session,
    requester: Requester,
    action: str,
    target: str | None = None,
    detail: dict | None = None,
) -> None:
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
    """Grids with their community, leader, target and household/resident/building counts."""
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
    """Buildings with household and resident counts (aggregates only)."""
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
    """(minx, miny, maxx, maxy) of the districts and of the streets, for the layers holding
    rows (boundaries carry no personal data; every user may see them)."""
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
    """Name and label of the street office shown on the overview."""
    street = session.scalars(sa.select(Street).order_by(Street.code)).first()
    if street is None:
        return {"name": None, "label": None}
    return {"name": street.name, "code": street.code, "label": (street.props or {}).get("label")}


# --- personal data (scoped, masked, audited) -----------------------------------
def _check_reveal(requester: Requester, reveal: bool) -> None:
    if reveal and not requester.may_reveal:
        raise fail(
            PermissionDenied,
            N_("role {given} may not see unmasked personal data; ask a grid leader or admin"),
            given=repr(requester.role),
        )


def households(
    session: Session, requester: Requester, *, grid_code: str | None = None, tag: str | None = None
) -> list[dict]:
    stmt = scoped(
        sa.select(
            Household.id,
            Household.code,
            Household.unit,
            Household.floor,
            Household.room,
            Household.size,
            Household.tags,
            Household.building_id,
        ),
        requester,
        Household,
    )
    if grid_code:
        grid_id = sa.select(Grid.id).where(Grid.code == grid_code).scalar_subquery()
        stmt = stmt.where(
            Household.building_id.in_(sa.select(Building.id).where(Building.grid_id == grid_id))
        )
    rows = [dict(r._mapping) for r in session.execute(stmt.order_by(Household.code))]
    if tag:
        rows = [r for r in rows if tag in (r["tags"] or [])]
    audit(session, requester, "view_households", grid_code, {"count": len(rows), "tag": tag})
    return rows


def residents(
    session: Session,
    requester: Requester,
    *,
    grid_code: str | None = None,
    household_id: int | None = None,
    tag: str | None = None,
    reveal: bool = False,
) -> list[dict]:
    """Residents in the requester's areas; name, phone and ID number masked unless revealed."""
    _check_reveal(requester, reveal)
    stmt = scoped(
        sa.select(
            Resident.id,
            Resident.household_id,
            Resident.name,
            Resident.id_number,
            Resident.phone,
            Resident.birth_year,
            Resident.sex,
            Resident.tags,
        ),
        requester,
        Resident,
    )
    if household_id is not None:
        stmt = stmt.where(Resident.household_id == household_id)
    if grid_code:
        grid_id = sa.select(Grid.id).where(Grid.code == grid_code).scalar_subquery()
        in_grid = sa.select(Household.id).join(Building, Household.building_id == Building.id)
        stmt = stmt.where(Resident.household_id.in_(in_grid.where(Building.grid_id == grid_id)))
    rows = [dict(r._mapping) for r in session.execute(stmt.order_by(Resident.id))]
    if tag:
        rows = [r for r in rows if tag in (r["tags"] or [])]
    if not reveal:
        for r in rows:
            r["name"] = mask_name(r["name"])
            r["phone"] = mask_phone(r["phone"])
            r["id_number"] = mask_id_number(r["id_number"])
    audit(
        session,
        requester,
        "reveal_residents" if reveal else "view_residents",
        grid_code,
        {"count": len(rows), "household_id": household_id, "tag": tag},
    )
    return rows


def hazards_frame(
    session: Session, requester: Requester, *, open_only: bool = False, grid_code: str | None = None
) -> gpd.GeoDataFrame:
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

    Raises NotFound for an unknown ``grid_code`` and PermissionDenied for one outside
    the requester's areas.
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
    """Street and path lines (id, code, name, highway, foot, access, geometry); with
    ``network_tags`` also compound_code and layer (bridge/tunnel level), which decide where
    a private road may be walked and where streets meet."""
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
    """Key sites in the requester's areas with their last inspection (NaT when never);
    with ``until``, the last inspection before that moment (a past period's view)."""
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


def group_members(
    session: Session, requester: Requester, *, purpose: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households (id, building_id, tags) and residents (household_id, birth_year, tags) of
    the requester's areas, for aggregate counts only: no names, phones or ID numbers leave.

    Audited as an aggregate use of personal data with ``purpose``.
    """
    hh_stmt = scoped(
        sa.select(Household.id, Household.building_id, Household.tags), requester, Household
    )
    res_stmt = scoped(
        sa.select(Resident.household_id, Resident.birth_year, Resident.tags), requester, Resident
    )
    hh = pd.DataFrame(session.execute(hh_stmt).all(), columns=["id", "building_id", "tags"])
    res = pd.DataFrame(
        session.execute(res_stmt).all(), columns=["household_id", "birth_year", "tags"]
    )
    audit(
        session,
        requester,
        "aggregate_personal",
        purpose,
        {"households": len(hh), "residents": len(res)},
    )
    return hh, res


def latest_activity(session: Session) -> datetime | None:
    """The newest patrol, hazard or inspection time: the "today" of a demo database."""
    times = [
        session.execute(sa.select(sa.func.max(col))).scalar()
        for col in (PatrolTrack.ended_at, Hazard.found_at, Inspection.inspected_at)
    ]
    found = [pd.Timestamp(t).to_pydatetime() for t in times if t is not None]
    return max(found) if found else None


def facilities_frame(session: Session, *, category: str | None = None) -> gpd.GeoDataFrame:
    """Service facilities (id, code, name, category, capacity, geometry); not personal data."""
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
