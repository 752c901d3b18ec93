"""WGS84 -> GCJ-02 shift of positions and GeoJSON, for overlays drawn on Chinese (Amap)
tiles: the stored data stays WGS84, only what the map shows is shifted."""

from __future__ import annotations

from typing import Any

import numpy as np

from gridmap.crs import wgs84_to_gcj02


def shift_positions(coords: Any, *, lonlat: bool) -> Any:
    """Shift a nested list of positions from WGS84 to GCJ-02.

    Parameters
    ----------
    coords : list
        Positions, nested to any depth.
    lonlat : bool
        Positions are [lon, lat] (GeoJSON order); else [lat, lon] (Leaflet order).

    Returns
    -------
    list
        The shifted positions, nested the same way.
    """
    arr = np.asarray(coords, dtype=float)
    if arr.size == 0:
        return coords
    if arr.dtype == object or arr.ndim == 0:  # ragged (rings of different lengths): recurse
        return [shift_positions(c, lonlat=lonlat) for c in coords]
    flat = arr.reshape(-1, arr.shape[-1])
    lon, lat = (flat[:, 0], flat[:, 1]) if lonlat else (flat[:, 1], flat[:, 0])
    glon, glat = wgs84_to_gcj02(lon, lat)
    out = flat.copy()
    if lonlat:
        out[:, 0], out[:, 1] = glon, glat
    else:
        out[:, 0], out[:, 1] = glat, glon
    return out.reshape(arr.shape).tolist()


def shift_nested(coords: Any, *, lonlat: bool) -> Any:
    """:func:`shift_positions` for nestings numpy refuses (rings of different lengths).

    Parameters
    ----------
    coords : list
        Positions, nested to any depth, the lists of one level not all of one length.
    lonlat : bool
        The order of each position, as for :func:`shift_positions`.

    Returns
    -------
    list
        The shifted positions.
    """
    try:
        return shift_positions(coords, lonlat=lonlat)
    except ValueError:  # numpy refuses ragged nesting: go one level down
        return [shift_nested(c, lonlat=lonlat) for c in coords]


def shift_geojson(obj: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON object (geometry, Feature or FeatureCollection) shifted WGS84 -> GCJ-02.

    Parameters
    ----------
    obj : dict
        The GeoJSON object (EPSG:4326).

    Returns
    -------
    dict
        A shifted copy.
    """
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return {**obj, "features": [shift_geojson(f) for f in obj["features"]]}
    if kind == "Feature":
        geom = obj.get("geometry")
        return {**obj, "geometry": shift_geojson(geom) if geom else geom}
    if kind == "GeometryCollection":
        return {**obj, "geometries": [shift_geojson(g) for g in obj["geometries"]]}
    if "coordinates" in obj:
        return {**obj, "coordinates": shift_nested(obj["coordinates"], lonlat=True)}
    return obj
