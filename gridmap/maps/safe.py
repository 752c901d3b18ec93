"""The one way data reaches a folium popup or tooltip: escaped.

folium's GeoJsonTooltip and GeoJsonPopup put property values into the page as HTML, so
a key site named ``<img src=x onerror=...>`` would run in every browser that opens the
map. Every map builds its GeoJSON layers through :class:`SafeGeoJson`, which
HTML-escapes every text property first; a column that is markup by construction (a
link built from escaped parts) is named in ``markup``. Names are data, never markup.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return html.escape(value)
    if isinstance(value, list):
        return [_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    return value


def escaped_geojson(data: Any, markup: tuple[str, ...] = ()) -> dict[str, Any]:
    """A FeatureCollection with its text properties HTML-escaped.

    Parameters
    ----------
    data : dict, str or geopandas.GeoDataFrame
        The FeatureCollection (dict, JSON text or GeoDataFrame).
    markup : tuple of str
        Properties that are markup by construction (built from escaped parts): left as
        they are.

    Returns
    -------
    dict
        The FeatureCollection, safe to hand to folium.
    """
    if hasattr(data, "to_json"):
        data = data.to_json(drop_id=True, na="null")
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise TypeError(f"SafeGeoJson takes GeoJSON data, not {type(data).__name__}")
    features = data.get("features", [data] if data.get("type") == "Feature" else [])
    for feature in features:
        props = feature.get("properties") or {}
        feature["properties"] = {k: v if k in markup else _escape(v) for k, v in props.items()}
    return data


class SafeGeoJson(folium.GeoJson):
    """folium.GeoJson whose text properties are HTML-escaped (``markup``: trusted columns)."""

    def __init__(self, data: Any, *, markup: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(escaped_geojson(data, markup), **kwargs)


def safe_text(value: object) -> str:
    """A plain text for folium's ``tooltip=``/``popup=`` strings.

    folium places those inside a JavaScript template literal that becomes HTML, so the
    text is HTML-escaped and the template literal's own specials (backtick, ``$``,
    backslash) become character references.

    Parameters
    ----------
    value : object
        The text (None gives an empty string).

    Returns
    -------
    str
        The escaped text.
    """
    return html.escape("" if value is None else str(value)).translate(
        {ord("`"): "&#96;", ord("$"): "&#36;", ord("\\"): "&#92;"}
    )
