"""Search by grid code or name, building address, site name (key sites and facilities),
community name and hazard code. Nothing personal is searched; hazards are scoped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from geodata.db.models import Building, Community, Facility, Grid, Hazard, KeySite
from geodata.db.scope import scoped
from gridmap.privacy import Requester


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _xy(session: Session, geom):
    """Longitude and latitude of a point on the geometry (centroid for polygons)."""
    point = sa.func.ST_PointOnSurface(geom)
    return sa.func.ST_X(point).label("lon"), sa.func.ST_Y(point).label("lat")


def search(
    session: Session, requester: Requester, query: str, *, limit: int = 20
) -> dict[str, list[dict]]:
    """Places, sites and cases whose code or name matches ``query``.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: key sites and hazards are those of their areas.
    query : str
        A code (grids: its start), or part of a name, address or hazard code.
    limit : int
        Most rows per kind.

    Returns
    -------
    dict of str to list of dict
        Per kind found (grids, communities, buildings, key_sites, facilities, hazards), rows
        with code, name/label, the grid they lie in when known, and lon/lat.
    """
    q = (query or "").strip()
    if not q:
        return {}
    pattern = _like(q)

    def rows(stmt) -> list[dict]:
        return [dict(r._mapping) for r in session.execute(stmt.limit(limit))]

    out = {
        "grids": rows(_grids(session, q, pattern)),
        "communities": rows(_communities(session, q, pattern)),
        "buildings": rows(_buildings(session, q, pattern)),
        "key_sites": rows(_key_sites(session, requester, q, pattern)),
        "facilities": rows(_facilities(session, q, pattern)),
        "hazards": rows(_hazards(session, requester, pattern)),
    }
    return {k: v for k, v in out.items() if v}


def _grids(session: Session, q: str, pattern: str) -> Select:
    return (
        sa.select(
            Grid.code,
            Grid.name,
            Grid.leader,
            Grid.code.label("grid_code"),
            *_xy(session, Grid.geom),
        )
        .where(sa.or_(Grid.code.like(q + "%"), Grid.name.ilike(pattern, escape="\\")))
        .order_by(Grid.code)
    )


def _communities(session: Session, q: str, pattern: str) -> Select:
    return (
        sa.select(Community.code, Community.name, *_xy(session, Community.geom))
        .where(sa.or_(Community.code == q, Community.name.ilike(pattern, escape="\\")))
        .order_by(Community.code)
    )


def _buildings(session: Session, q: str, pattern: str) -> Select:
    return (
        sa.select(
            Building.code,
            Building.name,
            Building.address,
            Grid.code.label("grid_code"),
            *_xy(session, Building.geom),
        )
        .outerjoin(Grid, Building.grid_id == Grid.id)
        .where(
            sa.or_(
                Building.code == q,
                Building.address.ilike(pattern, escape="\\"),
                Building.name.ilike(pattern, escape="\\"),
            )
        )
        .order_by(Building.address, Building.code)
    )


def _key_sites(session: Session, requester: Requester, q: str, pattern: str) -> Select:
    return scoped(  # the same scope as the map's key sites
        sa.select(
            KeySite.code,
            KeySite.name,
            KeySite.category,
            KeySite.address,
            Grid.code.label("grid_code"),
            *_xy(session, KeySite.geom),
        )
        .outerjoin(Grid, KeySite.grid_id == Grid.id)
        .where(
            sa.or_(
                KeySite.code == q,
                KeySite.name.ilike(pattern, escape="\\"),
                KeySite.address.ilike(pattern, escape="\\"),
            )
        ),
        requester,
        KeySite,
    ).order_by(KeySite.name)


def _facilities(session: Session, q: str, pattern: str) -> Select:
    return (
        sa.select(Facility.code, Facility.name, Facility.category, *_xy(session, Facility.geom))
        .where(sa.or_(Facility.code == q, Facility.name.ilike(pattern, escape="\\")))
        .order_by(Facility.name)
    )


def _hazards(session: Session, requester: Requester, pattern: str) -> Select:
    return scoped(
        sa.select(
            Hazard.code,
            Hazard.category,
            Hazard.status,
            Grid.code.label("grid_code"),
            *_xy(session, Hazard.geom),
        )
        .outerjoin(Grid, Hazard.grid_id == Grid.id)
        .where(Hazard.code.ilike(pattern, escape="\\")),
        requester,
        Hazard,
    ).order_by(Hazard.code)
