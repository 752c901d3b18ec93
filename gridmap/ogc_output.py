"""GeoJSON features, paging links and extents of OGC API - Features responses;
re-exported by :mod:`gridmap.ogc`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from shapely.geometry import mapping

from gridmap.ogc_collections import COORD_DECIMALS, CRS84, GEOJSON, LAT_FIRST, Collection


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
    """Geometries (lon/lat) in the axis order of ``crs``, rounded to ~1 cm.

    Parameters
    ----------
    geoms : array_like
        Shapely geometries in lon/lat.
    crs : str
        The CRS URI asked for.

    Returns
    -------
    list
        GeoJSON geometry mappings.
    """
    arr = np.asarray(geoms, dtype=object)
    if crs in LAT_FIRST:
        arr = shapely.transform(arr, lambda c: c[:, ::-1])
    return list(shapely.set_precision(arr, 10**-COORD_DECIMALS)) if len(arr) else []


def features(frame: pd.DataFrame, coll: Collection, crs: str) -> list[dict[str, Any]]:
    """GeoJSON features of a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns id, the collection's properties, geometry.
    coll : Collection
        The collection.
    crs : str
        The CRS URI asked for.

    Returns
    -------
    list of dict
        The features.
    """
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
    """The links of a page of items: self, alternate, next (when more rows follow), prev (when
    not on the first page).

    Parameters
    ----------
    url : str
        The items' URL.
    args : dict of str to str
        The query parameters to keep.
    offset, limit : int
        The page.
    matched : int
        Rows matching the query.
    title_next, title_prev : str
        Titles of the next and previous links (in the viewer's language).

    Returns
    -------
    list of dict
        The links.
    """

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
    """The collection's spatial extent in CRS84 (OGC requires CRS84 here).

    Parameters
    ----------
    bounds : tuple of float or None
        (minx, miny, maxx, maxy) in degrees; None when the collection is empty.

    Returns
    -------
    dict
        The ``extent`` member.
    """
    box = (
        [list(bounds)]
        if bounds and all(math.isfinite(v) for v in bounds)
        else [[-180.0, -90.0, 180.0, 90.0]]
    )
    return {"spatial": {"bbox": box, "crs": CRS84}}


# --- GeoJSON text from pieces (geometries written by the database) ------------------------
def feature_json(fid: object, geometry_json: str | None, properties: dict[str, Any]) -> str:
    """One GeoJSON feature as text around a geometry that is already GeoJSON text.

    Parameters
    ----------
    fid : object
        The feature's id; None for a feature without an id (map layers).
    geometry_json : str or None
        The geometry as GeoJSON text.
    properties : dict
        The properties.

    Returns
    -------
    str
        The feature as JSON text.
    """
    head = '{"type":"Feature",' + (f'"id":{json.dumps(fid)},' if fid is not None else "")
    return (
        f'{head}"geometry":{geometry_json or "null"},'
        f'"properties":{json.dumps(properties, ensure_ascii=False)}}}'
    )


def collection_json(features: list[str], members: dict[str, Any] | None = None) -> str:
    """A FeatureCollection as text: the feature texts, then ``members`` (counts, links).

    Parameters
    ----------
    features : list of str
        Feature texts.
    members : dict, optional
        Further members of the collection.

    Returns
    -------
    str
        The collection as JSON text.
    """
    rest = json.dumps(members, ensure_ascii=False)[1:] if members else "}"
    sep = "," if members else ""
    return f'{{"type":"FeatureCollection","features":[{",".join(features)}]{sep}{rest}'
