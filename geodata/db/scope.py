"""The one place where a requester's areas become a SQL filter.

Households, residents, hazards and patrol tracks all reach a grid; a requester
sees a row only when that grid lies in one of their assigned grids, in a grid
of an assigned community, or in a community of an assigned street.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import Select

from geodata.db.models import (
    Building,
    Community,
    Grid,
    Hazard,
    Household,
    KeySite,
    PatrolTrack,
    Resident,
)
from gridmap.privacy import Requester


def visible_grids(requester: Requester) -> Select | None:
    """A SELECT of the grid ids the requester may see; None when unrestricted."""
    if requester.all_areas:
        return None
    return (
        sa.select(Grid.id)
        .outerjoin(Community, Grid.community_id == Community.id)
        .where(
            sa.or_(
                Grid.id.in_(requester.grid_ids or [-1]),
                Grid.community_id.in_(requester.community_ids or [-1]),
                Community.street_id.in_(requester.street_ids or [-1]),
            )
        )
    )


def scoped(stmt: Select, requester: Requester, entity) -> Select:
    """Restrict ``stmt`` (which selects from ``entity``) to the requester's areas."""
    grids = visible_grids(requester)
    if grids is None:
        return stmt
    if entity is Household:
        stmt = stmt.join(Building, Household.building_id == Building.id)
        return stmt.where(Building.grid_id.in_(grids))
    if entity is Resident:
        stmt = stmt.join(Household, Resident.household_id == Household.id).join(
            Building, Household.building_id == Building.id
        )
        return stmt.where(Building.grid_id.in_(grids))
    if entity in (Hazard, PatrolTrack, Building, KeySite):
        return stmt.where(entity.grid_id.in_(grids))
    if entity is Grid:
        return stmt.where(Grid.id.in_(grids))
    raise TypeError(f"no scope rule for {entity.__name__}")


def visible_grid_codes(session, requester: Requester) -> set[str] | None:
    """The codes of the grids the requester may see; None when unrestricted."""
    grids = visible_grids(requester)
    if grids is None:
        return None
    return set(session.scalars(sa.select(Grid.code).where(Grid.id.in_(grids))))
