"""The CRS gridmap stores in (EPSG:4326) and the one it measures in (the local UTM zone).

:mod:`gridmap.crs` re-exports everything here; import from either.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyproj
import shapely

STORAGE_CRS = "EPSG:4326"
STORAGE_EPSG = 4326


# --- metric CRS -------------------------------------------------------------------------
def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding a point.

    Parameters
    ----------
    lon, lat : float
        WGS84 degrees.

    Returns
    -------
    int
        EPSG code (326xx north, 327xx south).
    """
    zone = int(min(max((lon + 180.0) // 6.0 + 1, 1), 60))
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs(where: Any) -> pyproj.CRS:
    """The UTM CRS of an area: metres, small distortion; the one way gridmap chooses a
    metric CRS.

    The zone is the one holding the centre of the bounds.

    Parameters
    ----------
    where : GeoDataFrame, GeoSeries, geometries or tuple
        A GeoDataFrame/GeoSeries (any CRS; none set means lon/lat), a shapely geometry or
        array of them in lon/lat, or lon/lat bounds (minx, miny, maxx, maxy) in degrees.

    Returns
    -------
    pyproj.CRS
        The UTM CRS; EPSG:32650 for empty input (any metric CRS will do).
    """
    minx, miny, maxx, maxy = _lonlat_bounds(where)
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return pyproj.CRS.from_epsg(32650)
    return pyproj.CRS.from_epsg(utm_epsg((minx + maxx) / 2.0, (miny + maxy) / 2.0))


def _lonlat_bounds(where: Any) -> tuple[float, float, float, float]:
    if hasattr(where, "total_bounds"):  # GeoDataFrame / GeoSeries
        if len(where) == 0:
            return (np.nan, np.nan, np.nan, np.nan)
        if where.crs is not None and not where.crs.is_geographic:
            where = where.to_crs(STORAGE_CRS)
        return _four(where.total_bounds)
    if (
        isinstance(where, tuple | list)
        and len(where) == 4
        and all(isinstance(v, int | float | np.floating | np.integer) for v in where)
    ):
        return _four(where)
    return _four(shapely.total_bounds(np.asarray(where, dtype=object)))


def _four(bounds: Any) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return minx, miny, maxx, maxy
