"""Buildings in a box as GeoJSON text made by PostGIS: the busiest map and OGC query.

The general path (read_frame -> GeoDataFrame -> shapely -> dict -> json) spends most of a
request in Python per row; here PostGIS writes each geometry's GeoJSON (the same GEOS
operations the general path runs in shapely: reduce precision, simplify preserving
topology) and Python only joins the pieces. The rows, their order, the counts and the
small-count suppression are the general path's (tests compare the two on the demo).
SpatiaLite and every other layer keep the general path.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.layers import is_postgis
from gridmap import ogc, vocab
from gridmap.analysis.density import DEFAULT_K, suppressed

Bbox = tuple[float, float, float, float]

_COUNTS = """
    (SELECT count(h.id) FROM household h WHERE h.building_id = b.id) AS households,
    (SELECT CAST(coalesce(sum(h.size), 0) AS integer) FROM household h
      WHERE h.building_id = b.id) AS residents"""

_OGC_SQL = sa.text(f"""
SELECT b.id, b.code, b.name, b.address, b.floors, b.use, g.code AS grid_code, {_COUNTS},
       ST_AsGeoJSON(ST_Multi(ST_ReducePrecision(
                        CASE WHEN :lat_first THEN ST_FlipCoordinates(b.geom) ELSE b.geom END,
                        :grid)), :decimals) AS geometry,
       count(*) OVER () AS matched
FROM building b LEFT JOIN grid g ON g.id = b.grid_id
WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
  AND ST_XMin(b.geom) <= :maxx AND ST_XMax(b.geom) >= :minx
  AND ST_YMin(b.geom) <= :maxy AND ST_YMax(b.geom) >= :miny
ORDER BY b.id
LIMIT :limit OFFSET :offset""")

_MAP_SQL = sa.text(f"""
SELECT b.id, b.code, b.address, b.floors, b.use, g.code AS grid_code, {_COUNTS},
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :tolerance), :decimals) AS geometry
FROM building b LEFT JOIN grid g ON g.id = b.grid_id
WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
  AND b.geom IS NOT NULL AND (CAST(:grid_code AS text) IS NULL OR g.code = :grid_code)
ORDER BY b.id""")


def usable(session: Session) -> bool:
    """Whether buildings can be written as GeoJSON by the database (PostGIS only).

    Parameters
    ----------
    session : Session
        Database session.

    Returns
    -------
    bool
        True on PostGIS, whose SQL writes the GeoJSON.
    """
    return is_postgis(session)


def _box(bbox: Bbox) -> dict:
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


def _int_or_none(value):
    if value is None:
        return None
    f = float(value)
    return int(f) if f.is_integer() else round(f, 3)


def ogc_page(
    session: Session, bbox: Bbox, crs: str, *, limit: int, offset: int, k: int = DEFAULT_K
) -> tuple[list[str], int]:
    """One page of the OGC ``buildings`` collection inside ``bbox``, as GeoJSON feature texts.

    Written as :func:`gridmap.ogc.features` writes them; the counts of buildings with fewer
    than ``k`` households are hidden.

    Parameters
    ----------
    session : Session
        Database session (PostGIS).
    bbox : tuple of float
        (minx, miny, maxx, maxy) in EPSG:4326.
    crs : str
        The CRS URI asked for (its axis order decides the coordinates' order).
    limit, offset : int
        The page's size and first row.
    k : int
        Fewest households a building's counts may show.

    Returns
    -------
    tuple of (list of str, int)
        The features of the page and numberMatched.
    """
    rows = session.execute(
        _OGC_SQL,
        {
            **_box(bbox),
            "lat_first": crs in ogc.LAT_FIRST,
            "grid": 10**-ogc.COORD_DECIMALS,
            "decimals": ogc.COORD_DECIMALS,
            "limit": limit,
            "offset": offset,
        },
    ).all()
    matched = rows[0].matched if rows else _count(session, bbox)
    hide: list[bool] = suppressed([r.households for r in rows], k=k).tolist() if rows else []
    out = []
    for r, hidden in zip(rows, hide, strict=True):
        props = {
            "code": r.code,
            "name": r.name,
            "address": r.address,
            "floors": None if r.floors is None else int(r.floors),
            "use": r.use,
            "grid_code": r.grid_code,
            "households": None if hidden else int(r.households),
            "residents": None if hidden else int(r.residents),
        }
        out.append(ogc.feature_json(r.id, r.geometry, props))
    return out, int(matched)


def _count(session: Session, bbox: Bbox) -> int:
    """Rows in the box when the page asked for lies past the last one."""
    return int(
        session.execute(
            sa.text("""
        SELECT count(*) FROM building b
        WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
          AND ST_XMin(b.geom) <= :maxx AND ST_XMax(b.geom) >= :minx
          AND ST_YMin(b.geom) <= :maxy AND ST_YMax(b.geom) >= :miny"""),
            _box(bbox),
        ).scalar_one()
    )


def map_features(
    session: Session,
    bbox: Bbox,
    *,
    tolerance_deg: float,
    decimals: int,
    lang: str = "zh",
    grid_code: str | None = None,
) -> list[str]:
    """The map layer ``buildings`` in ``bbox`` as GeoJSON feature texts (WGS84 display only).

    Written as :func:`gridmap.vector.feature_collection` writes them.

    Parameters
    ----------
    session : Session
        Database session (PostGIS) holding the buildings.
    bbox : tuple of float
        (minx, miny, maxx, maxy) in EPSG:4326.
    tolerance_deg : float
        Simplification tolerance in degrees.
    decimals : int
        Decimals of the coordinates written.
    lang : str
        Language of the use label ("zh" or "en").
    grid_code : str, optional
        Only the buildings of this grid.

    Returns
    -------
    list of str
        One GeoJSON feature per building.
    """
    rows = session.execute(
        _MAP_SQL,
        {**_box(bbox), "tolerance": tolerance_deg, "decimals": decimals, "grid_code": grid_code},
    ).all()
    out = []
    for r in rows:
        if r.geometry is None or '"coordinates":[]' in r.geometry:
            continue
        props = {
            "id": r.id,
            "address": r.address if r.address is not None else r.code,
            "households": int(r.households),
            "floors": _int_or_none(r.floors),
            "use": vocab.label(vocab.BUILDING_USES, r.use, lang),
            "grid_code": r.grid_code,
        }
        out.append(ogc.feature_json(None, r.geometry, props))
    return out
