"""The one place where a requester's areas become a SQL filter.

Households, residents, hazards and patrol tracks all reach a grid; a requester
sees a row only when that grid lies in one of their assigned grids, in a grid
of an assigned community, or in a community of an assigned street.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
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
from gridmap.errors import NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester


def visible_grids(requester: Requester) -> Select | None:
    """A SELECT of the grid ids the requester may see.

    Parameters
    ----------
    requester : Requester
        Whose assigned grids, communities and streets count.

    Returns
    -------
    Select or None
        The grid ids; None when unrestricted.
    """
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
    """Restrict ``stmt`` (which selects from ``entity``) to the requester's areas.

    Parameters
    ----------
    stmt : Select
        The query.
    requester : Requester
        Whose areas restrict it.
    entity : mapped class
        Household, Resident, Hazard, PatrolTrack, Building, KeySite or Grid.

    Returns
    -------
    Select
        ``stmt`` joined and filtered to the rows of grids the requester may see.
    """
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
    """The codes of the grids the requester may see.

    Parameters
    ----------
    session : Session
        Database session holding the grids.
    requester : Requester
        Whose areas count.

    Returns
    -------
    set of str or None
        The codes; None when unrestricted.
    """
    grids = visible_grids(requester)
    if grids is None:
        return None
    return set(session.scalars(sa.select(Grid.code).where(Grid.id.in_(grids))))


def key_site_in_areas(session: Session, requester: Requester, code: str) -> KeySite:
    """Key site ``code``, refused when it does not exist or lies outside the requester's areas.

    Parameters
    ----------
    session : Session
        Database session holding the key sites.
    requester : Requester
        Who asks: the site must lie in their areas.
    code : str
        The key site's code.

    Returns
    -------
    KeySite
        The key site's row.
    """
    site = session.scalar(sa.select(KeySite).where(KeySite.code == code))
    if site is None:
        raise fail(NotFound, N_("no key site with code {code}"), code=code)
    if (
        session.scalar(
            scoped(sa.select(KeySite.id).where(KeySite.id == site.id), requester, KeySite)
        )
        is None
    ):
        raise fail(PermissionDenied, N_("Key site {code} is outside your areas."), code=code)
    return site


def household_in_areas(session: Session, requester: Requester, code: str) -> Household:
    """Household ``code``, refused when it does not exist or lies outside the requester's areas.

    Parameters
    ----------
    session : Session
        Database session holding the households.
    requester : Requester
        Who asks: the household's building must lie in their areas.
    code : str
        The household's code.

    Returns
    -------
    Household
        The household's row.
    """
    hh = session.scalar(
        scoped(sa.select(Household).where(Household.code == code), requester, Household)
    )
    if hh is None:
        exists = session.scalar(sa.select(Household.id).where(Household.code == code))
        if exists is None:
            raise fail(NotFound, N_("no household with code {code}"), code=code)
        raise fail(PermissionDenied, N_("Household {code} is outside your areas."), code=code)
    return hh


# --- writing: where a row lies, and whether the requester may write there ----------------------
# The place a layer's rows are judged by: a grid, a community, a street, or (for street-wide
# layers that belong to no grid) the geometry itself against the requester's streets.
PLACE_LEVEL = {
    "buildings": "grid",
    "key_sites": "grid",
    "patrol_tracks": "grid",
    "hazards": "grid",
    "households": "grid",
    "residents": "grid",
    "grids": "community",
    "compounds": "community",
    "gates": "community",
    "communities": "street",
    "streets": "street",
    "roads": "area",
    "facilities": "area",
}


def writable_places(session, requester: Requester, level: str):
    """The grid/community/street ids (or, for ``area``, a geometry) the requester may write in.

    Parameters
    ----------
    session : Session
        Database session holding the places.
    requester : Requester
        Who writes.
    level : str
        "grid", "community", "street" or "area" (see ``PLACE_LEVEL``).

    Returns
    -------
    set of int, geometry or None
        The ids (or the union of the requester's streets); None when unrestricted.
    """
    import shapely

    if requester.all_areas:
        return None
    grids = set(session.scalars(visible_grids(requester)))
    if level == "grid":
        return grids
    streets = set(requester.street_ids)
    if level == "street":
        return streets
    if level == "community":
        return set(
            session.scalars(
                sa.select(Community.id).where(
                    sa.or_(
                        Community.id.in_(requester.community_ids or [-1]),
                        Community.street_id.in_(streets or [-1]),
                    )
                )
            )
        ) | set(session.scalars(sa.select(Grid.community_id).where(Grid.id.in_(grids or [-1]))))
    if level == "area":
        from geodata.db.frames import read_frame
        from geodata.db.models import Street

        frame = read_frame(
            session, sa.select(Street.id, Street.geom).where(Street.id.in_(streets or [-1]))
        )
        shapes = [g for g in frame.geometry if g is not None]
        return shapely.union_all(shapes) if shapes else shapely.Point()
    raise ValueError(f"no place level {level!r}")


def existing_places(session, layer: str, model, ids: list[int]) -> dict:
    """The place (grid/community/street id, or geometry) of existing rows of a layer.

    Parameters
    ----------
    session : Session
        Database session holding the rows.
    layer : str
        The layer (a key of ``PLACE_LEVEL``).
    model : mapped class
        The layer's model.
    ids : list of int
        The rows' ids.

    Returns
    -------
    dict
        Row id -> its place.
    """
    from geodata.db.models import Compound, Gate

    if not ids:
        return {}
    level = PLACE_LEVEL[layer]
    if layer == "households":
        stmt = (
            sa.select(Household.id, Building.grid_id)
            .join(Building, Household.building_id == Building.id)
            .where(Household.id.in_(ids))
        )
    elif layer == "residents":
        stmt = (
            sa.select(Resident.id, Building.grid_id)
            .join(Household, Resident.household_id == Household.id)
            .join(Building, Household.building_id == Building.id)
            .where(Resident.id.in_(ids))
        )
    elif layer == "gates":
        stmt = (
            sa.select(Gate.id, Compound.community_id)
            .outerjoin(Compound, Gate.compound_id == Compound.id)
            .where(Gate.id.in_(ids))
        )
    elif layer == "streets":
        stmt = sa.select(model.id, model.id).where(model.id.in_(ids))
    elif level == "area":
        from geodata.db.frames import read_frame

        frame = read_frame(session, sa.select(model.id, model.geom).where(model.id.in_(ids)))
        return dict(zip(frame["id"], frame.geometry, strict=True))
    else:
        column = {"grid": "grid_id", "community": "community_id", "street": "street_id"}[level]
        stmt = sa.select(model.id, getattr(model, column)).where(model.id.in_(ids))
    return dict(session.execute(stmt).all())


def in_place(place, allowed) -> bool:
    """Whether a place lies in ``allowed``.

    Parameters
    ----------
    place : int, geometry or None
        An id, or a geometry for ``area`` layers.
    allowed : set, geometry or None
        What :func:`writable_places` gave (None: anywhere).

    Returns
    -------
    bool
        True when the place is allowed.
    """
    if allowed is None:
        return True
    if place is None:
        return False
    if hasattr(allowed, "geom_type"):
        return not allowed.is_empty and bool(allowed.intersects(place))
    return place in allowed
