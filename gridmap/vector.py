"""Map data for the browser, lean: GeoJSON by bbox and zoom, and tiles in tile space.

* :func:`feature_collection`: a GeoDataFrame (EPSG:4326) becomes a GeoJSON dict with only
  the named properties, geometries simplified to half a screen pixel at ``zoom`` and
  coordinates rounded to what that zoom can show, optionally shifted to GCJ-02 for display;
* tile arithmetic (:func:`tile_bounds_3857`, :func:`tile_bbox_4326`) and geometries in
  tile space (:func:`tile_geometries`), which :mod:`gridmap.mvt` encodes.

Pure: numpy and shapely only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.crs import wgs84_to_gcj02
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.mvt import MVT_BUFFER, MVT_EXTENT

EARTH_RADIUS_M = 6378137.0
ORIGIN_M = math.pi * EARTH_RADIUS_M  # half the Web Mercator world width
MAX_ZOOM = 22


# --- zoom-dependent generalisation -------------------------------------------------------
def pixel_deg(zoom: float) -> float:
    """Width of one 256-px screen pixel in degrees of longitude at ``zoom``.

    Parameters
    ----------
    zoom : float
        Web map zoom level.

    Returns
    -------
    float
        Degrees of longitude.
    """
    return float(360.0 / (256.0 * 2.0**zoom))


def simplify_tolerance_deg(zoom: float) -> float:
    """Half a pixel: anything smaller cannot be seen at this zoom.

    Parameters
    ----------
    zoom : float
        Web map zoom level.

    Returns
    -------
    float
        Simplification tolerance in degrees.
    """
    return pixel_deg(zoom) / 2.0


def coordinate_decimals(zoom: float) -> int:
    """Decimals of a degree that still resolve a tenth of a pixel (5 at z12 .. 7 at z20+).

    Parameters
    ----------
    zoom : float
        Web map zoom level.

    Returns
    -------
    int
        Number of decimals to round coordinates to.
    """
    return int(min(7, max(5, math.ceil(-math.log10(pixel_deg(zoom) / 10.0)))))


def parse_bbox(text: str | None) -> tuple[float, float, float, float]:
    """A ``minx,miny,maxx,maxy`` box in degrees, checked.

    Parameters
    ----------
    text : str or None
        The box as sent in a request.

    Returns
    -------
    tuple of float
        (minx, miny, maxx, maxy) in degrees.

    Raises
    ------
    InvalidInput
        Naming what is wrong with the box.
    """
    try:
        minx, miny, maxx, maxy = (float(v) for v in (text or "").split(","))
    except ValueError as exc:
        raise fail(
            InvalidInput, N_("bbox must be four numbers minx,miny,maxx,maxy, got {text}"), text=text
        ) from exc
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise fail(
            InvalidInput,
            N_("bbox {text} is not a lon/lat box with minx < maxx and miny < maxy"),
            text=text,
        )
    return minx, miny, maxx, maxy


def parse_zoom(text: str | None, default: int = 16) -> int:
    """A zoom level from query text.

    Parameters
    ----------
    text : str or None
        The ``z`` parameter as sent; None or empty gives ``default``.
    default : int
        Zoom used when no text is given.

    Returns
    -------
    int
        Zoom level, 0 to :data:`MAX_ZOOM`.

    Raises
    ------
    InvalidInput
        When the text is not a whole number in that range.
    """
    if text in (None, ""):
        return default
    try:
        z = int(float(text))
    except (ValueError, OverflowError) as exc:  # "abc", "inf", "1e309"
        raise fail(
            InvalidInput,
            N_("zoom must be a whole number 0-{max}, got {text}"),
            max=MAX_ZOOM,
            text=text,
        ) from exc
    if not 0 <= z <= MAX_ZOOM:
        raise fail(
            InvalidInput,
            N_("zoom must be a whole number 0-{max}, got {text}"),
            max=MAX_ZOOM,
            text=text,
        )
    return z


def shift_geometries(geoms: np.ndarray, display: str) -> np.ndarray:
    """Geometries (EPSG:4326) as shown on a ``display`` basemap: ``gcj02`` shifts them.

    Parameters
    ----------
    geoms : numpy.ndarray
        Shapely geometries in EPSG:4326.
    display : str
        The basemap's coordinate system: ``wgs84`` or ``gcj02``.

    Returns
    -------
    numpy.ndarray
        The geometries in the display's coordinates.
    """
    if display != "gcj02":
        return geoms

    def fwd(xy: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(np.asarray(geoms), fwd))


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return (
            None
            if math.isnan(value)
            else (int(value) if float(value).is_integer() else round(float(value), 3))
        )
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if hasattr(value, "isoformat"):
        return (
            value.isoformat(sep=" ", timespec="minutes")
            if hasattr(value, "hour")
            else (value.isoformat())
        )
    return value


def feature_collection(
    frame: gpd.GeoDataFrame,
    properties: Sequence[str],
    *,
    zoom: float,
    display: str = "wgs84",
    simplify: bool = True,
) -> dict[str, Any]:
    """GeoJSON FeatureCollection of ``frame`` (EPSG:4326) for a map at ``zoom``.

    Only ``properties`` travel; polygons and lines are simplified to half a pixel
    (topology kept), every coordinate is rounded to :func:`coordinate_decimals`, and for
    ``display="gcj02"`` the geometries are shifted to GCJ-02 first.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The features, EPSG:4326.
    properties : sequence of str
        The columns sent as properties.
    zoom : float
        Web map zoom level the features are shown at.
    display : str
        The basemap's coordinate system: ``wgs84`` or ``gcj02``.
    simplify : bool
        Simplify polygons and lines to half a pixel.

    Returns
    -------
    dict
        The FeatureCollection, ready for ``json.dumps``.
    """
    geoms = np.asarray(frame.geometry.values)
    if len(geoms) and simplify:
        lines = ~np.isin(shapely.get_type_id(geoms), (0, 4))  # leave points alone
        geoms = geoms.copy()
        geoms[lines] = shapely.simplify(
            geoms[lines], simplify_tolerance_deg(zoom), preserve_topology=True
        )
    geoms = shift_geometries(geoms, display)
    decimals = coordinate_decimals(zoom)
    if len(geoms):
        geoms = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    cols = [frame[p].tolist() for p in properties]
    features = []
    for i, geom in enumerate(geoms):
        if geom is None or geom.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(geom),
                "properties": {p: _clean(cols[k][i]) for k, p in enumerate(properties)},
            }
        )
    return {"type": "FeatureCollection", "features": features}


# --- tiles ------------------------------------------------------------------------------------
def check_tile(z: int, x: int, y: int) -> None:
    """Refuse tile coordinates outside the XYZ pyramid.

    Parameters
    ----------
    z, x, y : int
        Zoom level and tile column and row (``x``, ``y`` in 0 .. 2**z - 1).

    Raises
    ------
    InvalidInput
        When ``z`` exceeds :data:`MAX_ZOOM` or ``x``/``y`` lie outside the zoom level.
    """
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise fail(
            InvalidInput,
            N_("no tile {z}/{x}/{y}: z must be 0-{max} and x, y 0-{last}"),
            z=z,
            x=x,
            y=y,
            max=MAX_ZOOM,
            last=2**z - 1,
        )


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of an XYZ tile in Web Mercator metres.

    Parameters
    ----------
    z, x, y : int
        Zoom, column and row of the tile.

    Returns
    -------
    tuple of float
        The tile's bounds in metres (EPSG:3857).
    """
    size = 2 * ORIGIN_M / 2**z
    minx = -ORIGIN_M + x * size
    maxy = ORIGIN_M - y * size
    return minx, maxy - size, minx + size, maxy


def mercator_to_lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator (EPSG:3857) metres to longitude/latitude degrees.

    Parameters
    ----------
    x, y : array_like
        Easting and northing, metres.

    Returns
    -------
    lon, lat : numpy.ndarray
        Degrees (spherical inverse of :func:`lonlat_to_mercator`).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    lon = np.degrees(x / EARTH_RADIUS_M)
    lat = np.degrees(2 * np.arctan(np.exp(y / EARTH_RADIUS_M)) - math.pi / 2)
    return lon, lat


def lonlat_to_mercator(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude degrees to Web Mercator (EPSG:3857) metres.

    Parameters
    ----------
    lon, lat : array_like
        Degrees; latitude is clipped to +-85.0511 (the square world of web maps).

    Returns
    -------
    x, y : numpy.ndarray
        Easting and northing, metres.
    """
    lon, lat = np.asarray(lon, float), np.clip(np.asarray(lat, float), -85.0511, 85.0511)
    x = np.radians(lon) * EARTH_RADIUS_M
    y = np.log(np.tan(math.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS_M
    return x, y


def tile_bbox_4326(
    z: int, x: int, y: int, *, buffer: float = 0.0
) -> tuple[float, float, float, float]:
    """Lon/lat box of a tile, grown by ``buffer`` (a fraction of the tile's width).

    Parameters
    ----------
    z, x, y : int
        Zoom, column and row of the tile.
    buffer : float
        Margin as a fraction of the tile's width.

    Returns
    -------
    tuple of float
        (minx, miny, maxx, maxy) in degrees (EPSG:4326).
    """
    minx, miny, maxx, maxy = tile_bounds_3857(z, x, y)
    pad = (maxx - minx) * buffer
    lon, lat = mercator_to_lonlat([minx - pad, maxx + pad], [miny - pad, maxy + pad])
    return float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1])


def to_tile_coords(
    geoms: np.ndarray | Sequence[BaseGeometry], z: int, x: int, y: int, *, extent: int = MVT_EXTENT
) -> np.ndarray:
    """Lon/lat geometries in tile pixel space (0..extent, y down), as float shapely geoms.

    Parameters
    ----------
    geoms : numpy.ndarray or sequence of shapely geometries
        Geometries in EPSG:4326.
    z, x, y : int
        Zoom, column and row of the tile.
    extent : int
        Tile extent in tile units.

    Returns
    -------
    numpy.ndarray
        The geometries in tile space.
    """
    minx, miny, maxx, maxy = tile_bounds_3857(z, x, y)
    scale = extent / (maxx - minx)

    def fwd(xy: np.ndarray) -> np.ndarray:
        mx, my = lonlat_to_mercator(xy[:, 0], xy[:, 1])
        return np.column_stack([(mx - minx) * scale, (maxy - my) * scale])

    return np.asarray(shapely.transform(np.asarray(geoms), fwd))


def tile_geometries(
    geoms: np.ndarray | Sequence[BaseGeometry],
    z: int,
    x: int,
    y: int,
    *,
    extent: int = MVT_EXTENT,
    buffer: int = MVT_BUFFER,
) -> np.ndarray:
    """What ``ST_AsMVTGeom(geom, tile, extent, buffer, clip=true)`` does, for footprints.

    The geometries go into tile space, are clipped to the tile plus ``buffer`` units and
    snapped to whole units.

    Parameters
    ----------
    geoms : numpy.ndarray or sequence of shapely geometries
        Geometries in EPSG:4326.
    z, x, y : int
        Zoom, column and row of the tile.
    extent : int
        Tile extent in tile units.
    buffer : int
        Margin kept around the tile, in tile units.

    Returns
    -------
    numpy.ndarray
        The tile-space geometries (empty where nothing is left).
    """
    g = to_tile_coords(geoms, z, x, y, extent=extent)
    g = shapely.clip_by_rect(g, -buffer, -buffer, extent + buffer, extent + buffer)
    # snap to the integer grid (rounding: set_precision is 20x slower and the encoder drops
    # the repeated points and collapsed rings rounding leaves)
    g = shapely.transform(g, np.round)
    # No simplify / make_valid here (ST_AsMVTGeom does both): footprints are a handful of
    # vertices, the encoder drops repeated points and collapsed rings, and canvas fills the
    # rare self-touching ring after rounding the same way. Together they cost more than the
    # rest of a 17,000-building tile.
    return np.asarray(g)
