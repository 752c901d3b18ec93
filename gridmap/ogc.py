"""OGC API - Features (Part 1 Core, GeoJSON, OpenAPI 3.0, HTML; Part 2 CRS): the pure parts.

The collections gridmap publishes and the conformance classes it declares
(:mod:`gridmap.ogc_collections`), parsing of the query parameters (bbox, bbox-crs, crs,
datetime, limit, offset, property filters, here) and building GeoJSON feature collections with
paging links (:mod:`gridmap.ogc_output`); this module re-exports all of it. No web framework and no SQL here: the
reading happens in :mod:`geodata.db.features`, the HTTP in ``web/ogc.py``.

Storage is WGS84 lon/lat (CRS84). EPSG:4326 and EPSG:4490 (CGCS2000) are served with their
authority axis order, latitude first; CGCS2000 and WGS84 agree to centimetres, so the two
differ from CRS84 only in that order.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from gridmap.analysis.density import DEFAULT_K, suppressed
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.ogc_collections import (
    BY_ID,
    COLLECTIONS,
    CONFORMANCE,
    COORD_DECIMALS,
    CRS84,
    CRS_LIST,
    DEFAULT_LIMIT,
    EPSG4326,
    EPSG4490,
    GEOJSON,
    LAT_FIRST,
    MAX_LIMIT,
    QUERYABLES_REL,
    SCHEMA_JSON,
    Collection,
    collection,
)
from gridmap.ogc_output import (
    _plain,
    collection_json,
    extent_of,
    feature_json,
    features,
    geometries_in,
    page_links,
)

# The names of gridmap.ogc_collections and gridmap.ogc_output are part of this module's
# interface too.
__all__ = [
    "BY_ID",
    "COLLECTIONS",
    "CONFORMANCE",
    "COORD_DECIMALS",
    "CRS84",
    "CRS_LIST",
    "Collection",
    "DEFAULT_LIMIT",
    "EPSG4326",
    "EPSG4490",
    "GEOJSON",
    "LAT_FIRST",
    "MAX_LIMIT",
    "QUERYABLES_REL",
    "SCHEMA_JSON",
    "collection",
    "collection_json",
    "extent_of",
    "feature_json",
    "features",
    "geometries_in",
    "page_links",
    "parse_bbox",
    "parse_crs",
    "parse_datetime",
    "parse_int",
    "parse_sortby",
    "property_filters",
    "property_mask",
    "queryables",
    "sort_frame",
    "suppress_counts",
    "time_mask",
]


# --- parameters -------------------------------------------------------------------------
def parse_crs(value: str | None, *, name: str = "crs") -> str:
    """A ``crs`` or ``bbox-crs`` parameter, checked against the CRSs served.

    Parameters
    ----------
    value : str or None
        The parameter (absent: CRS84).
    name : str
        The parameter's name, for the refusal.

    Returns
    -------
    str
        The CRS URI.
    """
    if value is None or value == "":
        return CRS84
    if value not in CRS_LIST:
        raise fail(
            InvalidInput,
            N_("{name} {value} is not supported; use one of {choices}"),
            name=name,
            value=value,
            choices=", ".join(CRS_LIST),
        )
    return value


def parse_bbox(value: str | None, bbox_crs: str = CRS84) -> tuple[float, ...] | None:
    """``minx,miny,maxx,maxy`` (or with heights: 6 numbers) in ``bbox_crs`` -> a lon/lat box.

    A box may cross the antimeridian in CRS84 (minx > maxx) in the standard; gridmap's areas
    never do, so such a box is refused with a clear message rather than misread.

    Parameters
    ----------
    value : str or None
        The ``bbox`` parameter.
    bbox_crs : str
        The CRS URI the numbers are in.

    Returns
    -------
    tuple of float or None
        (minx, miny, maxx, maxy) in degrees; None when no box is given.
    """
    if value is None or value == "":
        return None
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(v) for v in numbers):
        raise fail(
            InvalidInput,
            N_("bbox must be 4 numbers minx,miny,maxx,maxy, got {value}"),
            value=value[:100],
        )
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if bbox_crs in LAT_FIRST:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if minx > maxx or miny > maxy:
        raise fail(
            InvalidInput, N_("bbox {value}: the lower corner must come first"), value=value[:100]
        )
    return (minx, miny, maxx, maxy)


def parse_int(value: str | None, *, name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter within bounds.

    Parameters
    ----------
    value : str or None
        The parameter (absent: ``default``).
    name : str
        The parameter's name, for the refusal.
    default : int
        The value when absent.
    low, high : int
        The allowed range, inclusive.

    Returns
    -------
    int
        The number.
    """
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise fail(
            InvalidInput,
            N_("{name} must be a whole number, got {value}"),
            name=name,
            value=value[:50],
        ) from None
    if not low <= n <= high:
        raise fail(
            InvalidInput,
            N_("{name} must be between {low} and {high}, got {value}"),
            name=name,
            low=low,
            high=high,
            value=n,
        )
    return n


def _instant(text: str) -> datetime | None:
    if text in ("..", ""):
        return None
    try:
        t = pd.Timestamp(text)
    except ValueError:
        raise fail(
            InvalidInput, N_("datetime {value} is not an RFC 3339 date or time"), value=text[:60]
        ) from None
    if t is pd.NaT:
        raise fail(
            InvalidInput, N_("datetime {value} is not an RFC 3339 date or time"), value=text[:60]
        )
    if t.tzinfo is not None:  # stored times are naive China Standard Time
        t = t.tz_convert("Asia/Shanghai").tz_localize(None)
    when: datetime = t.to_pydatetime()
    return when


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None] | None:
    """The ``datetime`` parameter as an interval.

    ``2026-11-03T08:00:00Z``, ``2026-11-03`` (the whole day), ``start/end``, ``../end``,
    ``start/..``; the end is exclusive for a date, inclusive otherwise.

    Parameters
    ----------
    value : str or None
        The parameter.

    Returns
    -------
    tuple or None
        (start, end), either None when open; None when no parameter is given.
    """
    if value is None or value == "":
        return None
    if "/" in value:
        a, _sep, b = value.partition("/")
        start, end = _instant(a), _instant(b)
        if start is None and end is None:
            raise fail(
                InvalidInput,
                N_("datetime {value}: at least one end must be given"),
                value=value[:60],
            )
        if start is not None and end is not None and start > end:
            raise fail(
                InvalidInput, N_("datetime {value}: the start is after the end"), value=value[:60]
            )
        return start, end
    t = _instant(value)
    if len(value) == 10:  # a date: the whole day
        return t, t + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return t, t


def time_mask(
    frame: pd.DataFrame, columns: tuple[str, ...], interval: tuple[datetime | None, datetime | None]
) -> np.ndarray:
    """Rows whose instant (one column) or [start, end] (two) meets the closed interval.

    Parameters
    ----------
    frame : pandas.DataFrame
        The features.
    columns : tuple of str
        The time column, or the start and end columns.
    interval : tuple
        (start, end) from :func:`parse_datetime`.

    Returns
    -------
    numpy.ndarray
        Boolean per row.
    """
    start, end = interval
    first = pd.to_datetime(frame[columns[0]])
    last = pd.to_datetime(frame[columns[-1]])
    keep = np.ones(len(frame), dtype=bool)
    if start is not None:
        keep &= (last >= start).to_numpy()
    if end is not None:
        keep &= (first <= end).to_numpy()
    return keep


def property_mask(frame: pd.DataFrame, coll: Collection, filters: dict[str, str]) -> np.ndarray:
    """Rows whose property equals each filter (numbers compared as numbers).

    Parameters
    ----------
    frame : pandas.DataFrame
        The features.
    coll : Collection
        Their collection.
    filters : dict of str to str
        Property -> value asked for.

    Returns
    -------
    numpy.ndarray
        Boolean per row.
    """
    keep = np.ones(len(frame), dtype=bool)
    for name, wanted in filters.items():
        column = frame[name]
        if coll.properties[name] in ("integer", "number"):
            try:
                number = float(wanted)
            except ValueError:
                raise fail(
                    InvalidInput,
                    N_("{name} must be a number, got {value}"),
                    name=name,
                    value=wanted[:50],
                ) from None
            keep &= (pd.to_numeric(column, errors="coerce") == number).to_numpy()
        else:
            keep &= np.array(
                [v is not None and str(v) == wanted for v in _plain(column)], dtype=bool
            )
    return keep


def property_filters(coll: Collection, args: dict[str, str]) -> dict[str, str]:
    """The query parameters that filter on a property of the collection.

    Parameters
    ----------
    coll : Collection
        The collection.
    args : dict of str to str
        Every query parameter.

    Returns
    -------
    dict of str to str
        Property -> value.
    """
    return {k: v for k, v in args.items() if k in coll.properties}


def queryables(coll: Collection, url: str, title: str) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (OGC API - Features Part 3): every property,
    each a ``property=value`` filter on the items.

    Parameters
    ----------
    coll : Collection
        The collection.
    url : str
        The queryables' own URL (the schema's ``$id``).
    title : str
        The schema's title.

    Returns
    -------
    dict
        The JSON Schema.
    """
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": title,
        "properties": {
            name: {"title": name, "type": kind} for name, kind in coll.properties.items()
        },
        "additionalProperties": False,
    }


def parse_sortby(value: str | None, coll: Collection) -> list[tuple[str, bool]]:
    """The ``sortby`` parameter: ``name,-floors`` (``+`` or nothing: ascending, ``-``:
    descending); only the collection's properties sort.

    Parameters
    ----------
    value : str or None
        The parameter.
    coll : Collection
        The collection.

    Returns
    -------
    list of tuple
        (property, ascending) pairs.
    """
    if value is None or value.strip() == "":
        return []
    keys = []
    for part in value.split(","):
        part = part.strip()
        ascending = not part.startswith("-")
        name = part.lstrip("+-")
        if name not in coll.properties:
            raise fail(
                InvalidInput,
                N_("sortby {value}: {id} has no property {name}; sort by {choices}"),
                value=value[:100],
                id=coll.id,
                name=name[:50],
                choices=", ".join(coll.properties),
            )
        keys.append((name, ascending))
    return keys


def sort_frame(frame: pd.DataFrame, keys: list[tuple[str, bool]]) -> pd.DataFrame:
    """Rows in the order of ``keys`` (missing values last), ties kept in id order.

    Parameters
    ----------
    frame : pandas.DataFrame
        The features.
    keys : list of tuple
        (property, ascending) pairs.

    Returns
    -------
    pandas.DataFrame
        The sorted rows.
    """
    if not keys or not len(frame):
        return frame
    out = frame
    for name, ascending in reversed(keys):  # stable sorts, the last key first
        out = out.sort_values(name, ascending=ascending, kind="stable", na_position="last")
    return out


# --- privacy --------------------------------------------------------------------------------
def suppress_counts(frame: pd.DataFrame, coll: Collection, *, k: int = DEFAULT_K) -> pd.DataFrame:
    """Counts of people on a feature with fewer than ``k`` households (but some) become null: a
    count of 1-4 can identify a family. Zero stays zero.

    Parameters
    ----------
    frame : pandas.DataFrame
        The features.
    coll : Collection
        Their collection (which properties count people).
    k : int
        The smallest household count shown.

    Returns
    -------
    pandas.DataFrame
        The rows with the small counts nulled (the frame itself when nothing counts people).
    """
    if not coll.counts or not len(frame):
        return frame
    hide = suppressed(frame["households"].fillna(0), k=k)
    out = frame.copy()
    for name in coll.counts:
        out[name] = out[name].astype(object).where(~hide, None)
    return out
