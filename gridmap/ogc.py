"""OGC API - Features (Part 1 Core, GeoJSON, OpenAPI 3.0, HTML; Part 2 CRS): the pure parts.

The collections gridmap publishes, the conformance classes it declares, parsing of the query
parameters (bbox, bbox-crs, crs, datetime, limit, offset, property filters) and building
GeoJSON feature collections with paging links. No web framework and no SQL here: the
reading happens in :mod:`geodata.db.features`, the HTTP in ``web/ogc.py``.

Storage is WGS84 lon/lat (CRS84). EPSG:4326 and EPSG:4490 (CGCS2000) are served with their
authority axis order, latitude first; CGCS2000 and WGS84 agree to centimetres, so the two
differ from CRS84 only in that order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import mapping

from gridmap.analysis.density import DEFAULT_K, suppressed
from gridmap.errors import InvalidInput, NotFound
from gridmap.layers import REGISTRY
from gridmap.messages import N_, fail

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRS_LIST = (CRS84, EPSG4326, EPSG4490)
LAT_FIRST = frozenset({EPSG4326, EPSG4490})

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: each collection's queryables (its properties), filtered as property=value
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
COORD_DECIMALS = 7  # about 1 cm
GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class Collection:
    """One published layer. ``properties``: name -> JSON type ("string", "integer",
    "number"); every one is a simple equality filter on the items. ``time``: the property
    (or the start and end properties) the datetime parameter filters on."""

    id: str
    title: str
    description: str
    geometry: str
    properties: dict[str, str]
    time: tuple[str, ...] = ()
    scoped: bool = False
    counts: tuple[str, ...] = field(default=())  # aggregate counts of people: suppressed


_AREA_COUNTS = {"households": "integer", "residents": "integer"}


def _published(
    id_: str, title: str, description: str, properties: dict[str, str], **kw: Any
) -> Collection:
    """A collection of the layer ``id_``, its geometry type as the layer registry says."""
    return Collection(id_, title, description, REGISTRY[id_].geometry_type, properties, **kw)


COLLECTIONS: tuple[Collection, ...] = (
    _published(
        "streets",
        N_("Street offices"),
        N_("Street office boundaries (街道)."),
        {"code": "string", "name": "string"},
    ),
    _published(
        "communities",
        N_("Communities"),
        N_(
            "Community boundaries (社区) with their "
            "number of grids and, suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "street_name": "string",
            "grids": "integer",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "grids",
        N_("Grids"),
        N_(
            "Grid polygons (网格) with leader, target and, "
            "suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "community_code": "string",
            "community_name": "string",
            "leader": "string",
            "target_households": "integer",
            "buildings": "integer",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "compounds",
        N_("Compounds"),
        N_("Residential compounds (小区/院落)."),
        {"code": "string", "name": "string", "community_code": "string"},
    ),
    _published(
        "buildings",
        N_("Buildings"),
        N_(
            "Building footprints with address, floors, "
            "use and, suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "address": "string",
            "floors": "integer",
            "use": "string",
            "grid_code": "string",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "roads",
        N_("Roads"),
        N_("Street and path lines."),
        {"code": "string", "name": "string", "highway": "string"},
    ),
    _published(
        "facilities",
        N_("Facilities"),
        N_("Service facilities by category."),
        {"code": "string", "name": "string", "category": "string", "capacity": "integer"},
    ),
    _published(
        "key_sites",
        N_("Key sites"),
        N_("Key sites in your areas with their last inspection."),
        {
            "code": "string",
            "name": "string",
            "category": "string",
            "address": "string",
            "grid_code": "string",
            "last_inspected": "string",
            "status": "string",
        },
        scoped=True,
    ),
    _published(
        "hazards",
        N_("Hazards"),
        N_("Hazard cases in your areas; datetime filters on the time found."),
        {
            "code": "string",
            "category": "string",
            "severity": "string",
            "status": "string",
            "found_at": "string",
            "deadline": "string",
            "closed_at": "string",
            "responsible": "string",
            "grid_code": "string",
        },
        time=("found_at",),
        scoped=True,
    ),
    _published(
        "patrol_tracks",
        N_("Patrol tracks"),
        N_("GPS patrol tracks in your areas; datetime filters on the patrol's start and end."),
        {
            "code": "string",
            "patroller": "string",
            "grid_code": "string",
            "started_at": "string",
            "ended_at": "string",
        },
        time=("started_at", "ended_at"),
        scoped=True,
    ),
)
BY_ID = {c.id: c for c in COLLECTIONS}


def collection(collection_id: str) -> Collection:
    if collection_id not in BY_ID:
        raise fail(
            NotFound,
            N_("no collection {id}; collections are {choices}"),
            id=collection_id,
            choices=", ".join(BY_ID),
        )
    return BY_ID[collection_id]


# --- parameters -------------------------------------------------------------------------
def parse_crs(value: str | None, *, name: str = "crs") -> str:
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

    A box may cross the antimeridian in CRS84 (minx > maxx) in the standard; gridmap's
    areas never do, so such a box is refused with a clear message rather than misread.
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
    """``2026-11-03T08:00:00Z``, ``2026-11-03`` (the whole day), ``start/end``, ``../end``,
    ``start/..`` -> (start, end), end exclusive for a date, inclusive otherwise."""
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
    """Rows whose instant (one column) or [start, end] (two) meets the closed interval."""
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
    """Rows whose property equals each filter (numbers compared as numbers)."""
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
    return {k: v for k, v in args.items() if k in coll.properties}


def queryables(coll: Collection, url: str, title: str) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (OGC API - Features Part 3): every
    property, each a ``property=value`` filter on the items."""
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
    """``sortby=name,-floors`` (``+`` or nothing: ascending, ``-``: descending) ->
    [(property, ascending)]; only the collection's properties sort."""
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
    """Rows in the order of ``keys`` (missing values last), ties kept in id order."""
    if not keys or not len(frame):
        return frame
    out = frame
    for name, ascending in reversed(keys):  # stable sorts, the last key first
        out = out.sort_values(name, ascending=ascending, kind="stable", na_position="last")
    return out


# --- privacy --------------------------------------------------------------------------------
def suppress_counts(frame: pd.DataFrame, coll: Collection, *, k: int = DEFAULT_K) -> pd.DataFrame:
    """Counts of people on a feature with fewer than ``k`` households (but some) become
    null: a count of 1-4 can identify a family. Zero stays zero."""
    if not coll.counts or not len(frame):
        return frame
    hide = suppressed(frame["households"].fillna(0), k=k)
    out = frame.copy()
    for name in coll.counts:
        out[name] = out[name].astype(object).where(~hide, None)
    return out


# --- output -----------------------------------------------------------------------------
def _plain(values: Iterable[Any]) -> list[Any]:
    """JSON-ready values: numpy scalars -> Python, NaN/NaT -> None, times -> ISO 8601."""
    out: list[Any] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
            out.append(None)
        elif isinstance(v, pd.Timestamp | datetime):
            out.append(pd.Timestamp(v).isoformat())
        elif isinstance(v, date):
            out.append(v.isoformat())
        elif isinstance(v, np.generic):
            item = v.item()
            out.append(None if isinstance(item, float) and math.isnan(item) else item)
        else:
            out.append(v)
    return out


def geometries_in(geoms: ArrayLike, crs: str) -> list[Any]:
    """Geometries (lon/lat) in the axis order of ``crs``, rounded to ~1 cm."""
    arr = np.asarray(geoms, dtype=object)
    if crs in LAT_FIRST:
        arr = shapely.transform(arr, lambda c: c[:, ::-1])
    return list(shapely.set_precision(arr, 10**-COORD_DECIMALS)) if len(arr) else []


def features(frame: pd.DataFrame, coll: Collection, crs: str) -> list[dict[str, Any]]:
    """GeoJSON features of ``frame`` (columns id, the collection's properties, geometry)."""
    columns = {name: _plain(frame[name]) for name in coll.properties}
    for name, kind in coll.properties.items():
        if kind == "integer":  # pandas keeps integers with gaps as floats
            columns[name] = [None if v is None else int(v) for v in columns[name]]
    ids = _plain(frame["id"])
    out = []
    for i, geom in enumerate(geometries_in(frame.geometry.to_numpy(), crs)):
        out.append(
            {
                "type": "Feature",
                "id": ids[i],
                "geometry": mapping(geom) if geom is not None else None,
                "properties": {name: columns[name][i] for name in coll.properties},
            }
        )
    return out


def page_links(
    url: str,
    args: dict[str, str],
    *,
    offset: int,
    limit: int,
    matched: int,
    title_next: str = "next page",
    title_prev: str = "previous page",
) -> list[dict[str, str]]:
    """self, next (when more rows follow), prev (when not on the first page)."""

    def at(new_offset: int, f: str | None = None) -> str:
        query = {**args, "offset": str(new_offset), "limit": str(limit)}
        if f:
            query["f"] = f
        return f"{url}?{urlencode(query)}"

    links = [
        {"href": at(offset, "json"), "rel": "self", "type": GEOJSON},
        {"href": at(offset, "html"), "rel": "alternate", "type": "text/html"},
    ]
    if offset + limit < matched:
        links.append(
            {
                "href": at(offset + limit, "json"),
                "rel": "next",
                "type": GEOJSON,
                "title": title_next,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": at(max(0, offset - limit), "json"),
                "rel": "prev",
                "type": GEOJSON,
                "title": title_prev,
            }
        )
    return links


def extent_of(bounds: tuple[float, float, float, float] | None) -> dict[str, Any]:
    """The collection's spatial extent in CRS84 (OGC requires CRS84 here)."""
    box = (
        [list(bounds)]
        if bounds and all(math.isfinite(v) for v in bounds)
        else [[-180.0, -90.0, 180.0, 90.0]]
    )
    return {"spatial": {"bbox": box, "crs": CRS84}}


# --- GeoJSON text from pieces (geometries written by the database) ------------------------
def feature_json(fid: object, geometry_json: str | None, properties: dict[str, Any]) -> str:
    """One GeoJSON feature as text around a geometry that is already GeoJSON text;
    ``fid`` None: a feature without an id (map layers)."""
    head = '{"type":"Feature",' + (f'"id":{json.dumps(fid)},' if fid is not None else "")
    return (
        f'{head}"geometry":{geometry_json or "null"},'
        f'"properties":{json.dumps(properties, ensure_ascii=False)}}}'
    )


def collection_json(features: list[str], members: dict[str, Any] | None = None) -> str:
    """A FeatureCollection as text: the feature texts, then ``members`` (counts, links)."""
    rest = json.dumps(members, ensure_ascii=False)[1:] if members else "}"
    sep = "," if members else ""
    return f'{{"type":"FeatureCollection","features":[{",".join(features)}]{sep}{rest}'
