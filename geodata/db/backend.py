"""What differs between the two backends, said once: which one a session is on, and
"geometry's box meets this box" through the spatial index of either (PostGIS ``&&`` on the
GiST index; SpatiaLite's R*Tree ``idx_<table>_geom``, as SpatiaLite has no ST_MakeEnvelope).
"""

from __future__ import annotations

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.orm import Session

Bbox = tuple[float, float, float, float]


def is_postgis(session: Session) -> bool:
    """Whether a session is on PostGIS rather than SpatiaLite.

    Parameters
    ----------
    session : Session
        Database session, whose dialect is read.

    Returns
    -------
    bool
        True on PostGIS, False on SpatiaLite.
    """
    return session.get_bind().dialect.name == "postgresql"


def bbox_clause(session: Session, model, bbox: Bbox, column: str = "geom"):
    """A WHERE clause: the row's geometry box intersects ``bbox``, through the spatial index.

    Parameters
    ----------
    session : Session
        Database session (chooses the backend's form).
    model : mapped class
        The table's model; its ``id`` and geometry column are used.
    bbox : tuple of float
        (minx, miny, maxx, maxy) in EPSG:4326.
    column : str
        The geometry column.

    Returns
    -------
    ColumnElement
        The clause to pass to ``.where()``.
    """
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    geom = getattr(model, column)
    if is_postgis(session):
        return geom.op("&&")(sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))
    index = sa.table(
        f"idx_{model.__tablename__}_{column}",
        sa.column("pkid"),
        sa.column("xmin"),
        sa.column("xmax"),
        sa.column("ymin"),
        sa.column("ymax"),
    )
    hits = sa.select(index.c.pkid).where(
        index.c.xmin <= maxx, index.c.xmax >= minx, index.c.ymin <= maxy, index.c.ymax >= miny
    )
    return model.id.in_(hits)


def in_box(frame: gpd.GeoDataFrame, bbox: Bbox | None) -> gpd.GeoDataFrame:
    """The rows of ``frame`` whose geometry box meets ``bbox`` (all rows without a box).

    Parameters
    ----------
    frame : GeoDataFrame
        Rows in the CRS of ``bbox``.
    bbox : tuple of float or None
        (minx, miny, maxx, maxy); None keeps every row.

    Returns
    -------
    GeoDataFrame
        The rows meeting the box.
    """
    if bbox is None or not len(frame):
        return frame
    minx, miny, maxx, maxy = bbox
    b = frame.geometry.bounds
    hit = (b["minx"] <= maxx) & (b["maxx"] >= minx) & (b["miny"] <= maxy) & (b["maxy"] >= miny)
    return frame[hit.to_numpy()]
