"""Rows <-> GeoDataFrames. WKB elements never leave the repository layer."""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

STORAGE_CRS = "EPSG:4326"


def _wkb(value) -> bytes | None:
    if value is None:
        return None
    data = getattr(value, "data", value)
    return bytes(data) if not isinstance(data, str) else bytes.fromhex(data)


def read_frame(session: Session, stmt: Select, *, geom: str = "geom") -> gpd.GeoDataFrame:
    """Run ``stmt`` and return its rows as a GeoDataFrame.

    Parameters
    ----------
    session : Session
        Database session.
    stmt : Select
        The query; its geometry column is read as WKB.
    geom : str
        The name of the geometry column.

    Returns
    -------
    GeoDataFrame
        The rows, in EPSG:4326.
    """
    result = session.execute(stmt)
    df = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    wkb = df.pop(geom)  # also when there are no rows: no stray 'geom' column
    geoms = shapely.from_wkb([_wkb(v) for v in wkb]) if len(df) else []
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS, index=df.index))


def to_ewkt(geom: BaseGeometry | None, srid: int = 4326) -> str | None:
    """EWKT for binding into a Geometry column on either backend.

    Parameters
    ----------
    geom : BaseGeometry or None
        The geometry.
    srid : int
        Its EPSG code.

    Returns
    -------
    str or None
        ``SRID=...;WKT``, None for no geometry.
    """
    if geom is None or geom.is_empty:
        return None
    return f"SRID={srid};{shapely.to_wkt(geom, rounding_precision=-1, trim=True)}"


def as_multi(geoms: Iterable[BaseGeometry]) -> list[BaseGeometry]:
    """Polygons become one-part MultiPolygons: polygon columns are MULTIPOLYGON.

    Parameters
    ----------
    geoms : iterable of BaseGeometry
        The geometries.

    Returns
    -------
    list of BaseGeometry
        The geometries, polygons wrapped.
    """
    out = []
    for g in geoms:
        if g is not None and g.geom_type == "Polygon":
            g = shapely.MultiPolygon([g])
        out.append(g)
    return out
