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
from dataclasses import dataclass

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from gridmap.gcj02 import (
    CHINA_LAT,
    CHINA_LON,
    COORD_SYSTEMS,
    OffsetCheck,
    bd09_to_gcj02,
    bd09_to_wgs84,
    china_outline,
    gcj02_offset_check,
    gcj02_shift_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    share_inside,
    to_wgs84_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from gridmap.notes import N_, Note, note, rejected
from gridmap.utm import STORAGE_CRS, STORAGE_EPSG, metric_crs, utm_epsg

# The names of gridmap.utm and gridmap.gcj02 are part of this module's interface too.
__all__ = [
    "CHINA_LAT",
    "CHINA_LON",
    "COORD_SYSTEMS",
    "CrsChoice",
    "GK3_CMS",
    "GK3_CM_FIRST",
    "GK3_PREFIXED_FIRST",
    "GK3_ZONES",
    "GK6_PREFIXED_FIRST",
    "GK6_ZONES",
    "OffsetCheck",
    "STORAGE_CRS",
    "STORAGE_EPSG",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_declared_fits",
    "china_outline",
    "crs_label",
    "datum_warnings",
    "describe_declared",
    "gauss_kruger_epsg",
    "gcj02_offset_check",
    "gcj02_shift_m",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "infer_crs",
    "looks_lonlat",
    "metric_crs",
    "parse_crs",
    "share_inside",
    "to_wgs84_geometries",
    "utm_epsg",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


# CGCS2000 Gauss-Kruger families (EPSG registry).
GK3_PREFIXED_FIRST, GK3_ZONES = 4513, range(25, 46)  # zone 25 (75E) .. zone 45 (135E)
GK3_CM_FIRST, GK3_CMS = 4534, range(75, 136, 3)  # CM 75E .. 135E, easting without prefix
GK6_PREFIXED_FIRST, GK6_ZONES = 4491, range(13, 24)  # zone 13 (75E) .. zone 23 (135E)


def gauss_kruger_epsg(central_meridian: float) -> int:
    """CGCS2000 3-degree Gauss-Kruger CRS without zone prefix (EPSG:4534-4554) for a CM.

    Parameters
    ----------
    central_meridian : float
        Central meridian in degrees east (75, 78 ... 135).

    Returns
    -------
    int
        The EPSG code.
    """
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
    """A CRS for messages: 'EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)'.

    Parameters
    ----------
    crs : pyproj.CRS
        The CRS to name.

    Returns
    -------
    str
        EPSG code and name, or the CRS's own name when it has no EPSG code.
    """
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def parse_crs(text: str) -> pyproj.CRS:
    """A user's --crs value: 'EPSG:4549', '4549', a WKT or PROJ string.

    Parameters
    ----------
    text : str
        What the user gave.

    Returns
    -------
    pyproj.CRS
        The CRS; InputRejected when pyproj does not know it.
    """
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
    """Warn on Beijing 1954 / Xi'an 1980: without local parameters they are tens of metres off.

    Parameters
    ----------
    crs : pyproj.CRS
        The CRS of a layer.

    Returns
    -------
    tuple of Note
        One warning for a legacy datum, else empty.
    """
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
    """A CRS the file declares, with the reason shown to the user.

    Parameters
    ----------
    crs : pyproj.CRS
        The declared CRS.
    source : str or Note
        Where it was declared: '.prj', 'GeoPackage', ...
    wkt : str, optional
        The declaration's WKT, to mention an ESRI Gauss_Kruger projection.

    Returns
    -------
    CrsChoice
        The CRS, the reason and datum warnings.
    """
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

    Parameters
    ----------
    x, y : array_like
        Eastings and northings (or longitudes and latitudes); non-finite pairs are ignored.
    central_meridian : float, optional
        Central meridian in degrees east of six-digit Gauss-Kruger eastings.

    Returns
    -------
    CrsChoice
        The CRS and the reason it was chosen.

    Raises
    ------
    InputRejected
        For anything else, and for lat/lon given in swapped order.
    """
    x, y = _finite_xy(x, y)
    if len(x) == 0:
        raise rejected(N_("the file has no coordinates to tell its CRS from; give --crs"))
    if central_meridian is not None:
        return _given_central_meridian(central_meridian)
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
        return _zone_prefixed(x)
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


def _given_central_meridian(central_meridian: float) -> CrsChoice:
    """The 3-degree zone without prefix the user named by its central meridian."""
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


def _zone_prefixed(x: np.ndarray) -> CrsChoice:
    """The Gauss-Kruger zone named by the first two digits of eight-digit eastings."""
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


def check_declared_fits(choice: CrsChoice, x: ArrayLike, y: ArrayLike) -> None:
    """Raise when a declared geographic CRS holds projected numbers (a wrong .prj).

    Parameters
    ----------
    choice : CrsChoice
        The declared CRS.
    x, y : array_like
        The layer's coordinates.
    """
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
