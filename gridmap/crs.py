"""Coordinate reference systems as Chinese data uses them (pure: no file I/O).

* storage: everything is kept in EPSG:4326 (WGS84 lon/lat; CGCS2000 agrees to centimetres);
* metric work: the local UTM zone (:func:`metric_crs`), or a CGCS2000 Gauss-Kruger zone;
* Gauss-Kruger zone inference from bare coordinates (:func:`infer_crs`): an eight-digit
  easting carries its zone number in front (38 500 000 = zone 38), a six-digit one does not,
  and then only the user can say which central meridian was used;
* legacy datums (Beijing 1954, Xi'an 1980): tens of metres off without local parameters;
* GCJ-02 (Amap, Tencent) and BD-09 (Baidu): the published forward formulas and an
  iterative inverse that lands within a millimetre, far inside the 0.5 m the issue asks;
* a check that a layer declared WGS84 sits a GCJ-02-like 300-700 m from what is already
  loaded for the same area (:func:`gcj02_offset_check`).
"""

from __future__ import annotations

import contextlib
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

from gridmap.notes import N_, Note, note, rejected

STORAGE_CRS = "EPSG:4326"
STORAGE_EPSG = 4326

# CGCS2000 Gauss-Kruger families (EPSG registry).
GK3_PREFIXED_FIRST, GK3_ZONES = 4513, range(25, 46)  # zone 25 (75E) .. zone 45 (135E)
GK3_CM_FIRST, GK3_CMS = 4534, range(75, 136, 3)  # CM 75E .. 135E, easting without prefix
GK6_PREFIXED_FIRST, GK6_ZONES = 4491, range(13, 24)  # zone 13 (75E) .. zone 23 (135E)

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


# --- metric CRS -------------------------------------------------------------------------
def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding (lon, lat)."""
    zone = int(min(max((lon + 180.0) // 6.0 + 1, 1), 60))
    return (32600 if lat >= 0 else 32700) + zone


def metric_crs(where: Any) -> pyproj.CRS:
    """The UTM CRS of an area: metres, small distortion; the one way gridmap chooses a
    metric CRS.

    ``where`` is a GeoDataFrame/GeoSeries (any CRS; none set means lon/lat), a shapely
    geometry or array of them in lon/lat, or lon/lat bounds (minx, miny, maxx, maxy). The
    zone is the one holding the centre of the bounds; empty input gives EPSG:32650 (any
    metric CRS will do).
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


def gauss_kruger_epsg(central_meridian: float) -> int:
    """CGCS2000 3-degree Gauss-Kruger CRS without zone prefix (EPSG:4534-4554) for a CM."""
    cm = float(central_meridian)
    if cm != round(cm) or int(cm) not in GK3_CMS:
        raise rejected(
            N_(
                "central meridian {cm} is not one of the CGCS2000 3-degree zones "
                "(75E, 78E ... 135E, every 3 degrees)"
            ),
            cm=central_meridian,
        )
    return GK3_CM_FIRST + (int(cm) - 75) // 3


# --- GCJ-02 / BD-09 -----------------------------------------------------------------------
def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where the Chinese obfuscation applies (the published bounding box)."""
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
    """WGS84 -> GCJ-02 (vectorised); points outside China are returned unchanged."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _gcj_delta(x, y)
    inside = in_china(x, y)
    return np.where(inside, x + dlon, x), np.where(inside, y + dlat, y)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (Baidu's published formula)."""
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
    """GCJ-02 -> WGS84 by iterating the forward formula (error well under 1 mm)."""
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
    """Geometries in GCJ-02 or BD-09 lon/lat -> WGS84 (vertex by vertex, Z dropped).

    ``coords`` 'wgs84' returns the input unchanged.
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
    """Size (metres) of the GCJ-02 shift at a WGS84 point: 0 outside China."""
    gx, gy = wgs84_to_gcj02(lon, lat)
    geod = pyproj.Geod(ellps="WGS84")
    return float(geod.inv(lon, lat, float(gx), float(gy))[2])


# --- what a CRS is, and what bare coordinates are -----------------------------------------
@dataclass(frozen=True)
class CrsChoice:
    """The CRS a layer is in, why we believe it, and warnings about it."""

    crs: pyproj.CRS
    reason: Note
    warnings: tuple[Note, ...] = ()

    @property
    def label(self) -> str:
        """The chosen CRS for messages: ``EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)``."""
        return crs_label(self.crs)


def crs_label(crs: pyproj.CRS) -> str:
    """'EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)' or the CRS's own name."""
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def parse_crs(text: str) -> pyproj.CRS:
    """A user's --crs value: 'EPSG:4549', '4549', a WKT or PROJ string."""
    value = str(text).strip()
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        raise rejected(
            N_(
                "--crs {value!r} is not a CRS pyproj knows ({reason}); give an EPSG "
                "code such as EPSG:4549"
            ),
            value=text,
            reason=str(exc),
        ) from exc


_LEGACY_DATUMS = {
    "beijing 1954": "Beijing 1954",
    "beijing_1954": "Beijing 1954",
    "xian 1980": "Xi'an 1980",
    "xian_1980": "Xi'an 1980",
    "xi'an 1980": "Xi'an 1980",
}


def datum_warnings(crs: pyproj.CRS) -> tuple[Note, ...]:
    """Warn on Beijing 1954 / Xi'an 1980: without local parameters they are tens of metres off."""
    names = [crs.name]
    with contextlib.suppress(pyproj.exceptions.CRSError):
        names.append(crs.datum.name if crs.datum else "")
    text = " ".join(n.lower() for n in names if n)
    for key, label in _LEGACY_DATUMS.items():
        if key in text:
            has_params = "TOWGS84" in crs.to_wkt("WKT1_GDAL").upper()
            return (
                note(
                    N_(
                        "the data uses the {datum} datum: converted to WGS84 {how}; "
                        "expect errors of tens of metres unless the survey bureau gives "
                        "local transformation parameters (ask for CGCS2000 data)"
                    ),
                    datum=label,
                    how=note(N_("with the .prj's TOWGS84 parameters"))
                    if has_params
                    else note(N_("without datum parameters (none in the file)")),
                ),
            )
    return ()


def describe_declared(crs: pyproj.CRS, source: str | Note, wkt: str | None = None) -> CrsChoice:
    """A CRS the file declares (``source`` says where: '.prj', 'GeoPackage', ...)."""
    if wkt and "GAUSS_KRUGER" in wkt.upper():
        reason = note(
            N_(
                "from the {source} (ESRI Gauss_Kruger projection read as Transverse "
                "Mercator): {label}"
            ),
            source=source,
            label=crs_label(crs),
        )
    else:
        reason = note(N_("from the {source}: {label}"), source=source, label=crs_label(crs))
    return CrsChoice(crs, reason, datum_warnings(crs))


def _range(values: np.ndarray) -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    if max(abs(lo), abs(hi)) >= 1000:
        return f"{lo:,.0f}..{hi:,.0f}"
    return f"{lo:.6f}..{hi:.6f}"


def looks_lonlat(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether every coordinate pair lies in the longitude/latitude ranges.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates (finite values only).

    Returns
    -------
    bool
        True when all x are within -180..180 and all y within -90..90 degrees.
    """
    return bool(np.all((x >= -180) & (x <= 180) & (y >= -90) & (y <= 90)))


def _finite_xy(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The coordinate pairs of ``x``, ``y`` where both are finite."""
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    return xs[ok], ys[ok]


def infer_crs(x: ArrayLike, y: ArrayLike, *, central_meridian: float | None = None) -> CrsChoice:
    """The CRS of bare coordinates (no .prj, no CRS in the file).

    * lon/lat ranges -> EPSG:4326;
    * eight-digit eastings whose first two digits are a 3-degree zone (25-45) -> CGCS2000
      3-degree Gauss-Kruger zone (EPSG:4513-4533); a 6-degree zone (13-23) -> EPSG:4491-4501;
    * six-digit eastings -> the zone is not in the numbers: ``central_meridian`` picks
      EPSG:4534-4554, otherwise :class:`~gridmap.notes.InputRejected` says what to pass.
    Raises InputRejected for anything else, and for lat/lon given in swapped order.
    """
    x, y = _finite_xy(x, y)
    if len(x) == 0:
        raise rejected(N_("the file has no coordinates to tell its CRS from; give --crs"))
    if central_meridian is not None:
        epsg = gauss_kruger_epsg(central_meridian)
        return CrsChoice(
            pyproj.CRS.from_epsg(epsg),
            note(
                N_(
                    "central meridian {cm}E given: EPSG:{epsg} (CGCS2000 3-degree "
                    "Gauss-Kruger, eastings without zone prefix)"
                ),
                cm=int(central_meridian),
                epsg=epsg,
            ),
        )
    if looks_lonlat(x, y):
        return CrsChoice(
            pyproj.CRS.from_epsg(STORAGE_EPSG),
            note(
                N_(
                    "no CRS in the file; coordinates are longitude/latitude "
                    "(x {xr}, y {yr}): EPSG:4326 assumed"
                ),
                xr=_range(x),
                yr=_range(y),
            ),
        )
    if looks_lonlat(y, x) and np.all(y > 70) and np.all(x < 56):
        raise rejected(
            N_(
                "coordinates look like latitude/longitude in swapped order (x {xr}, "
                "y {yr}); put longitude first (or swap the lon/lat columns)"
            ),
            xr=_range(x),
            yr=_range(y),
        )
    northing_ok = bool(np.all((y >= 1_000_000) & (y < 10_000_000)))
    if northing_ok and np.all((x >= 10_000_000) & (x < 100_000_000)):
        zones = np.unique(np.floor(x / 1_000_000).astype(int))
        if len(zones) > 1:
            raise rejected(
                N_(
                    "eastings carry different zone prefixes ({zones}); split the "
                    "file by zone or give --crs"
                ),
                zones=", ".join(map(str, zones)),
            )
        zone = int(zones[0])
        families = (
            (3, GK3_ZONES, GK3_PREFIXED_FIRST, zone * 3),
            (6, GK6_ZONES, GK6_PREFIXED_FIRST, zone * 6 - 3),
        )
        for width, zones_, first, cm in families:
            if zone in zones_:
                epsg = first + zone - zones_.start
                return CrsChoice(
                    pyproj.CRS.from_epsg(epsg),
                    note(
                        N_(
                            "no CRS in the file; eight-digit eastings with zone prefix {zone} "
                            "(x {xr}): CGCS2000 {width}-degree Gauss-Kruger zone {zone}, central "
                            "meridian {cm}E, EPSG:{epsg}"
                        ),
                        zone=zone,
                        width=width,
                        cm=cm,
                        epsg=epsg,
                        xr=_range(x),
                    ),
                    (
                        note(
                            N_(
                                "datum assumed CGCS2000; if the survey used Beijing 1954 or Xi'an "
                                "1980, pass the matching --crs"
                            )
                        ),
                    ),
                )
        raise rejected(
            N_(
                "eastings start with {zone}, which is no Gauss-Kruger zone in China "
                "(3-degree 25-45, 6-degree 13-23); give --crs"
            ),
            zone=zone,
        )
    if northing_ok and np.all((x >= 100_000) & (x < 1_000_000)):
        raise rejected(
            N_(
                "no CRS in the file and the eastings have six digits (x {xr}, y {yr}): "
                "a Gauss-Kruger projection without zone prefix, so the central "
                "meridian is unknown. Give --crs with the zone, EPSG:4534-4554 = "
                "CGCS2000 3-degree CM 75E-135E (e.g. EPSG:4548 for 117E, EPSG:4549 "
                "for 120E), or the central meridian"
            ),
            xr=_range(x),
            yr=_range(y),
        )
    raise rejected(
        N_(
            "no CRS in the file and the coordinates (x {xr}, y {yr}) are neither "
            "longitude/latitude nor Gauss-Kruger metres; give --crs"
        ),
        xr=_range(x),
        yr=_range(y),
    )


def check_declared_fits(choice: CrsChoice, x: ArrayLike, y: ArrayLike) -> None:
    """Raise when a declared geographic CRS holds projected numbers (a wrong .prj)."""
    xs, ys = _finite_xy(x, y)
    if not len(xs) or not choice.crs.is_geographic or looks_lonlat(xs, ys):
        return
    raise rejected(
        N_(
            "the declared CRS {label} is geographic but the coordinates (x {xr}, "
            "y {yr}) are not longitude/latitude: the CRS in the file is wrong; pass "
            "the right one with --crs"
        ),
        label=choice.label,
        xr=_range(xs),
        yr=_range(ys),
    )


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
    """Mainland China as a coarse polygon (``standards/china_outline.json``, simplified to
    about 50 km, widened by 0.2 degrees for the coast and islands): where GCJ-02 applies.
    For telling where data lies only; never drawn or measured."""
    from importlib import resources

    raw = json.loads(
        resources.files("gridmap.standards").joinpath("china_outline.json").read_text("utf-8")
    )
    return shapely.buffer(shapely.geometry.shape(raw["geometry"]), 0.2)


def share_inside(geoms: ArrayLike, area: Any) -> float:
    """Share (0-1) of ``geoms`` (EPSG:4326) whose representative point lies in ``area``."""
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

    ``new`` and ``existing`` are arrays of EPSG:4326 geometries (polygon boundaries are
    compared as lines). Returns None when the two do not cover the same area or the GCJ-02
    shift there is not 300-700 m. Suspected when the new vertices lie clearly off the
    existing data as declared (median > 60 m) and treating them as GCJ-02 at least halves
    that distance.
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
