"""One street office's part of the database, for runs split per street office.

A city-wide run computes each street office on its own (one task per street office, on
any machine). :func:`street_view` makes a session see only that street office: its
street, communities, grids and what lies in them (buildings, households, residents, key
sites, inspections, hazards), plus what is *near* it and may count for it: patrol tracks,
roads and facilities within a margin of its grids. The unchanged analysis functions then
run on that session and read only their street's rows, through the database's indexes.

The margins are what makes a street office's figures equal the whole city's for its
grids: patrol matches tracks to streets a few metres away and reads the roads of its
grids' box plus 0.002 degrees, and reachability walks at most ~20 minutes (1.7 km) to a
facility, which may stand in the next street office.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, with_loader_criteria

from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.layers import bbox_clause
from gridmap.errors import NotFound
from gridmap.messages import N_, fail

NEAR_DEG = 0.004  # ~400 m: patrol tracks passing the street office's edge
REACH_DEG = 0.025  # ~2.1 km east-west, 2.8 km north-south: a 20-minute walk and more


@dataclass(frozen=True)
class StreetArea:
    """What a street office's task reads: its ids and the box (lon/lat) of its grids."""

    code: str
    name: str
    street_id: int
    grid_ids: tuple[int, ...]
    bbox: tuple[float, float, float, float]

    def near(self, margin_deg: float) -> tuple[float, float, float, float]:
        """The box grown by a margin on every side, for what may count from nearby.

        Parameters
        ----------
        margin_deg : float
            Margin in degrees (lon/lat).

        Returns
        -------
        tuple of float
            (minx, miny, maxx, maxy) in lon/lat.
        """
        minx, miny, maxx, maxy = self.bbox
        return (minx - margin_deg, miny - margin_deg, maxx + margin_deg, maxy + margin_deg)


def street_codes(session: Session) -> list[str]:
    """Codes of the street offices that have grids, in code order.

    Parameters
    ----------
    session : Session

    Returns
    -------
    list of str
    """
    return list(
        session.scalars(
            sa.select(m.Street.code)
            .join(m.Community, m.Community.street_id == m.Street.id)
            .join(m.Grid, m.Grid.community_id == m.Community.id)
            .distinct()
            .order_by(m.Street.code)
        )
    )


def street_area(session: Session, code: str) -> StreetArea:
    """What a street office's task reads: its ids and the box of its grids.

    Parameters
    ----------
    session : Session
    code : str
        The street office's code.

    Returns
    -------
    StreetArea

    Raises
    ------
    NotFound
        No street office has that code, or it has no grids.
    """
    street = session.scalars(sa.select(m.Street).where(m.Street.code == code)).first()
    if street is None:
        raise fail(NotFound, N_("no street office with code {code}"), code=code)
    grids = read_frame(
        session,
        sa.select(m.Grid.id, m.Grid.geom)
        .join(m.Community, m.Grid.community_id == m.Community.id)
        .where(m.Community.street_id == street.id)
        .order_by(m.Grid.id),
    )
    if not len(grids):
        raise fail(NotFound, N_("street office {code} has no grids"), code=code)
    minx, miny, maxx, maxy = (float(v) for v in grids.total_bounds)
    return StreetArea(
        code, street.name, street.id, tuple(int(i) for i in grids["id"]), (minx, miny, maxx, maxy)
    )


def street_view(session: Session, area: StreetArea) -> Session:
    """Make every ORM query of ``session`` see only ``area`` (see the module docstring).

    Figures computed on it are never taken from or kept in memory.

    Parameters
    ----------
    session : Session
        Changed in place.
    area : StreetArea

    Returns
    -------
    Session
        ``session`` itself.
    """
    grid_ids = list(area.grid_ids)
    buildings = sa.select(m.Building.id).where(m.Building.grid_id.in_(grid_ids))
    households = sa.select(m.Household.id).where(m.Household.building_id.in_(buildings))
    hazards = sa.select(m.Hazard.id).where(m.Hazard.grid_id.in_(grid_ids))
    sites = sa.select(m.KeySite.id).where(m.KeySite.grid_id.in_(grid_ids))
    reach = area.near(REACH_DEG)
    only = [
        with_loader_criteria(m.Street, m.Street.id == area.street_id),
        with_loader_criteria(m.Community, m.Community.street_id == area.street_id),
        with_loader_criteria(m.Grid, m.Grid.id.in_(grid_ids)),
        with_loader_criteria(m.Building, m.Building.grid_id.in_(grid_ids)),
        with_loader_criteria(m.Household, m.Household.building_id.in_(buildings)),
        with_loader_criteria(m.Resident, m.Resident.household_id.in_(households)),
        with_loader_criteria(m.KeySite, m.KeySite.grid_id.in_(grid_ids)),
        with_loader_criteria(m.Inspection, m.Inspection.site_id.in_(sites)),
        with_loader_criteria(m.Hazard, m.Hazard.grid_id.in_(grid_ids)),
        with_loader_criteria(m.HazardEvent, m.HazardEvent.hazard_id.in_(hazards)),
        with_loader_criteria(
            m.PatrolTrack, bbox_clause(session, m.PatrolTrack, area.near(NEAR_DEG))
        ),
        with_loader_criteria(m.Road, bbox_clause(session, m.Road, reach)),
        with_loader_criteria(m.Facility, bbox_clause(session, m.Facility, reach)),
        with_loader_criteria(m.Compound, bbox_clause(session, m.Compound, reach)),
        with_loader_criteria(m.Gate, bbox_clause(session, m.Gate, reach)),
    ]

    def _only_this_street(state) -> None:
        if state.is_select:
            state.statement = state.statement.options(*only)

    event.listen(session, "do_orm_execute", _only_this_street)
    session.info["memo"] = False  # see geodata.db.memo.cached
    session.info["street_view"] = True
    return session
