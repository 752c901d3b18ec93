"""Search by grid code or name, building address, site name (key sites and facilities),
community name and hazard code. Nothing personal is searched; hazards are scoped.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.models import Building, Community, Facility, Grid, Hazard, KeySite
from geodata.db.scope import scoped
from gridmap.privacy import Requester


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _xy(session: Session, geom):
    """Longitude and latitude of a point on the geometry (centroid for polygons)."""
    point = sa.func.ST_PointOnSurface(geom)
    return sa.func.ST_X(point).label("lon"), sa.func.ST_Y(point).label("lat")


def search(
    session: Session, requester: Requester, query: str, *, limit: int = 20
) -> dict[str, list[dict]]:
    """Matches per kind (grids, communities, buildings, key_sites, facilities, hazards),
    each row with code, name/label, the grid it lies in when known, and lon/lat."""
    q = (query or "").strip()
    if not q:
        return {}
    pattern = _like(q)

    def rows(stmt) -> list[dict]:
        return [dict(r._mapping) for r in session.execute(stmt.limit(limit))]

    out = {
        "grids": rows(
            sa.select(
                Grid.code,
                Grid.name,
                Grid.leader,
                Grid.code.label("grid_code"),
                *_xy(session, Grid.geom),
            )
            .where(sa.or_(Grid.code.like(q + "%"), Grid.name.ilike(pattern, escape="\\")))
            .order_by(Grid.code)
        ),
        "communities": rows(
            sa.select(Community.code, Community.name, *_xy(session, Community.geom))
            .where(sa.or_(Community.code == q, Community.name.ilike(pattern, escape="\\")))
            .order_by(Community.code)
        ),
        "buildings": rows(
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
        ),
        "key_sites": rows(
            scoped(  # the same scope as the map's key sites
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
        ),
        "facilities": rows(
            sa.select(Facility.code, Facility.name, Facility.category, *_xy(session, Facility.geom))
            .where(sa.or_(Facility.code == q, Facility.name.ilike(pattern, escape="\\")))
            .order_by(Facility.name)
        ),
        "hazards": rows(
            scoped(
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
        ),
    }
    return {k: v for k, v in out.items() if v}
