"""GCJ-02 (Amap, Tencent) and BD-09 (Baidu) coordinates: the published forward formulas and
an iterative inverse that lands within a millimetre, and a check that a layer declared WGS84
sits a GCJ-02-like 300-700 m from what is already loaded (pure: no file I/O).

:mod:`gridmap.crs` re-exports everything here; import from either.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pyproj
import shapely
import shapely.geometry
from numpy.typing import ArrayLike

from gridmap.notes import N_, rejected
from gridmap.utm import STORAGE_EPSG, metric_crs

# Amap/Baidu apply their shift only inside this box (the usual published bounds).
CHINA_LON = (72.004, 137.8347)
CHINA_LAT = (0.8293, 55.8271)
# GCJ-02 constants: Krasovsky 1940 ellipsoid.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0
_INVERSE_TOL_DEG = 1e-10  # ~0.01 mm
_INVERSE_MAX_ITER = 50

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")


# --- GCJ-02 / BD-09 -----------------------------------------------------------------------
def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Where the Chinese obfuscation applies (the published bounding box).

    Parameters
    ----------
    lon, lat : array_like
        Degrees.

    Returns
    -------
    numpy.ndarray
        True for points inside the box.
    """
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    inside: np.ndarray = (
        (x > CHINA_LON[0]) & (x < CHINA_LON[1]) & (y > CHINA_LAT[0]) & (y < CHINA_LAT[1])
    )
    return inside


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (degrees) at WGS84 (lon, lat): the widely published formula."""
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat * 180.0 / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    dlon = dlon * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to GCJ-02 (Amap, Tencent), vectorised.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 degrees; points outside China are returned unchanged.
    """
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_delta(x, y)
    inside = in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09 (Baidu's published formula).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees.
    """
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09 (Baidu), through GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 degrees; points outside China only get the BD-09 step.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(
    forward: Callable[[ArrayLike, ArrayLike], tuple[np.ndarray, np.ndarray]],
    lon: ArrayLike,
    lat: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(x) = (lon, lat) by fixed-point iteration x <- x - (forward(x) - target).

    The shift is smooth and tiny against its own scale (a few hundred metres varying over
    hundreds of kilometres), so each step gains several digits; a few steps reach 1e-10 deg.
    """
    tx, ty = np.asarray(lon, float), np.asarray(lat, float)
    x, y = tx.copy(), ty.copy()
    for _ in range(_INVERSE_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - tx, fy - ty
        x, y = x - ex, y - ey
        if not (
            np.nanmax(np.abs(ex), initial=0.0) > _INVERSE_TOL_DEG
            or np.nanmax(np.abs(ey), initial=0.0) > _INVERSE_TOL_DEG
        ):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS84 by iterating the forward formula (error well under 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees.
    """
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02 by inverting the forward formula (error well under 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 degrees.
    """
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 by inverting the forward formulas (error well under 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 degrees.
    """
    return _invert(wgs84_to_bd09, lon, lat)


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def to_wgs84_geometries(geoms: ArrayLike, coords: str) -> np.ndarray:
    """Geometries in GCJ-02 or BD-09 lon/lat to WGS84, vertex by vertex (Z dropped).

    Parameters
    ----------
    geoms : array_like
        Shapely geometries in lon/lat degrees.
    coords : str
        Their coordinate system: 'wgs84' (returned unchanged), 'gcj02' or 'bd09'.

    Returns
    -------
    numpy.ndarray
        The geometries in WGS84 degrees.
    """
    arr = np.asarray(geoms, dtype=object)
    if coords == "wgs84":
        return arr
    if coords not in _TO_WGS84:
        raise rejected(
            N_("unknown coordinate system {coords!r}; use wgs84, gcj02 or bd09"), coords=coords
        )
    convert = _TO_WGS84[coords]

    def _xy(xy: np.ndarray) -> np.ndarray:
        x, y = convert(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(arr, _xy))


def gcj02_shift_m(lon: float, lat: float) -> float:
    """Size of the GCJ-02 shift at a WGS84 point, for telling whether a layer looks shifted.

    Parameters
    ----------
    lon, lat : float
        WGS84 degrees.

    Returns
    -------
    float
        Shift in metres; 0 outside China.
    """
    gx, gy = wgs84_to_gcj02(lon, lat)
    geod = pyproj.Geod(ellps="WGS84")
    return float(geod.inv(lon, lat, float(gx), float(gy))[2])


# --- GCJ-02 offset between layers -----------------------------------------------------------
@dataclass(frozen=True)
class OffsetCheck:
    """How far a new layer sits from existing data, as is and if it were GCJ-02."""

    suspected: bool
    median_m: float  # median distance of the new vertices to existing data, as declared
    median_if_gcj02_m: float  # the same after treating the new layer as GCJ-02
    shift_m: float  # size of the GCJ-02 shift at the layer's centre


def _sample_vertices(geoms: np.ndarray, limit: int) -> np.ndarray:
    coords = shapely.get_coordinates(geoms)
    if len(coords) > limit:
        coords = coords[np.linspace(0, len(coords) - 1, limit).astype(int)]
    return np.asarray(coords)


def _present(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` without the empty and missing ones."""
    kept: np.ndarray = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    return kept


@lru_cache(maxsize=1)
def china_outline() -> Any:
    """Mainland China as a coarse polygon: where GCJ-02 applies.

    ``standards/china_outline.json``, simplified to about 50 km, widened by 0.2 degrees for the
    coast and islands. For telling where data lies only; never drawn or measured.

    Returns
    -------
    shapely.Polygon
        The outline in EPSG:4326 degrees.
    """
    from importlib import resources

    raw = json.loads(
        resources.files("gridmap.standards").joinpath("china_outline.json").read_text("utf-8")
    )
    return shapely.buffer(shapely.geometry.shape(raw["geometry"]), 0.2)


def share_inside(geoms: ArrayLike, area: Any) -> float:
    """Share of geometries whose representative point lies in an area.

    Parameters
    ----------
    geoms : array_like
        Shapely geometries in EPSG:4326.
    area : shapely geometry or None
        The area in EPSG:4326 (None gives 0).

    Returns
    -------
    float
        Share 0-1 of the non-empty geometries inside.
    """
    arr = np.asarray(geoms, dtype=object)
    arr = arr[~shapely.is_empty(arr) & ~shapely.is_missing(arr)]
    if len(arr) == 0 or area is None:
        return 0.0
    shapely.prepare(area)
    return float(np.mean(shapely.contains(area, shapely.point_on_surface(arr))))


def gcj02_offset_check(
    new: ArrayLike,
    existing: ArrayLike,
    *,
    sample: int = 2000,
    min_shift_m: float = 300.0,
    max_shift_m: float = 700.0,
) -> OffsetCheck | None:
    """Does a layer declared WGS84 look like GCJ-02 next to layers already loaded?

    Suspected when the new vertices lie clearly off the existing data as declared (median
    > 60 m) and treating them as GCJ-02 at least halves that distance.

    Parameters
    ----------
    new, existing : array_like
        EPSG:4326 geometries (polygon boundaries are compared as lines).
    sample : int
        How many vertices of ``new`` to measure at most.
    min_shift_m, max_shift_m : float
        Range in metres the GCJ-02 shift must have at the layer for the check to apply.

    Returns
    -------
    OffsetCheck or None
        None when the two do not cover the same area or the GCJ-02 shift there is out of
        range.
    """
    new = _present(np.asarray(new, dtype=object))
    existing = _present(np.asarray(existing, dtype=object))
    if len(new) == 0 or len(existing) == 0:
        return None
    nb = shapely.total_bounds(new)
    eb = shapely.total_bounds(existing)
    pad = 0.02  # ~2 km: data "for the same area"
    if nb[0] > eb[2] + pad or nb[2] < eb[0] - pad or nb[1] > eb[3] + pad or nb[3] < eb[1] - pad:
        return None
    cx, cy = (nb[0] + nb[2]) / 2.0, (nb[1] + nb[3]) / 2.0
    shift = gcj02_shift_m(cx, cy)
    if not (min_shift_m <= shift <= max_shift_m):
        return None
    to_m = pyproj.Transformer.from_crs(STORAGE_EPSG, metric_crs(tuple(nb)), always_xy=True)

    def metric(geoms: np.ndarray) -> np.ndarray:
        return np.asarray(
            shapely.transform(geoms, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        )

    polygonal = shapely.get_type_id(existing) >= 3
    targets = np.where(
        polygonal & (shapely.get_type_id(existing) <= 6), shapely.boundary(existing), existing
    )
    tree = shapely.STRtree(metric(targets))
    pts = _sample_vertices(new, sample)
    as_is = shapely.points(pts)
    gx, gy = gcj02_to_wgs84(pts[:, 0], pts[:, 1])
    as_gcj = shapely.points(np.column_stack([gx, gy]))
    d0 = tree.query_nearest(metric(as_is), return_distance=True, all_matches=False)[1]
    d1 = tree.query_nearest(metric(as_gcj), return_distance=True, all_matches=False)[1]
    m0, m1 = float(np.median(d0)), float(np.median(d1))
    return OffsetCheck(
        suspected=m0 > 60.0 and m1 <= 0.5 * m0, median_m=m0, median_if_gcj02_m=m1, shift_m=shift
    )
