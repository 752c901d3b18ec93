"""The indicator map: areas coloured by one indicator's value, failures outlined in red,
areas without data grey (no data is not zero).

The page carries only the map's frame, the colour scale and the legend; the browser fetches
the areas from the page's layer endpoint (``indicator_layer_frame`` gives what it sends).
"""

from __future__ import annotations

from collections.abc import Callable

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np

from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import _identity, base_map
from gridmap.maps.standard import Legend

Gettext = Callable[[str], str]
GOOD_COLORS = ["#f7fcf5", "#a1d99b", "#41ab5d", "#006d2c"]  # higher is better
NO_DATA = "#bdbdbd"
FAIL_EDGE = "#c62828"
INDICATOR_PROPS = ["code", "name", "label", "tip", "value", "status", "color", "edge"]


def indicator_colormap(
    values: np.ndarray, *, caption: str, lower_is_better: bool = False
) -> cm.LinearColormap:
    """Colour scale of an indicator from its lowest to its highest value on the map.

    Parameters
    ----------
    values : numpy.ndarray
        The areas' values in the indicator's unit; NaN (no data) is ignored.
    caption : str
        Title shown above the scale (the indicator's name and unit).
    lower_is_better : bool
        Reverse the palette so that dark green stays the good end.

    Returns
    -------
    branca.colormap.LinearColormap
    """
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    colors = GOOD_COLORS[::-1] if lower_is_better else GOOD_COLORS
    return cm.LinearColormap(colors, vmin=lo, vmax=hi if hi > lo else lo + 1, caption=caption)


def indicator_layer_frame(
    areas: gpd.GeoDataFrame, *, unit: str, lower_is_better: bool = False
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """What the map's layer sends for each area: its name, value, shown text, status and
    the fill and edge colours the page's legend explains (the tooltip is name and value).

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        EPSG:4326; code, area_name, value (NaN = no data), shown (text), status, geometry.
    unit : str
        The indicator's unit, written after the shown value.
    lower_is_better : bool
        The indicator's direction (reverses the palette).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, list of str)
        The frame and the properties the layer sends.
    """
    values = areas["value"].to_numpy(float)
    cmap = indicator_colormap(values, caption="", lower_is_better=lower_is_better)
    names = [str(n) for n in areas["area_name"]]
    labels = [
        f"{s} {unit}" if np.isfinite(v) else str(s)
        for s, v in zip(areas["shown"], values, strict=True)
    ]
    frame = areas.assign(
        name=names,
        label=labels,
        tip=[f"{n}: {v}" for n, v in zip(names, labels, strict=True)],
        value=[float(v) if np.isfinite(v) else None for v in values],
        color=[cmap(v) if np.isfinite(v) else NO_DATA for v in values],
        edge=[FAIL_EDGE if s == "fail" else "#555555" for s in areas["status"]],
    )
    return frame, INDICATOR_PROPS


def indicator_map(
    bounds: tuple[float, float, float, float] | None,
    url: str,
    values: np.ndarray,
    *,
    title: str,
    unit: str,
    threshold: str,
    lower_is_better: bool = False,
    params: dict[str, str] | None = None,
    _: Gettext = _identity,
) -> tuple[folium.Map, list[Legend]]:
    """The map frame: the areas fetched from ``url``, their colour scale and a legend for
    no data and failures.

    Parameters
    ----------
    bounds : tuple of float or None
        The areas' box (west, south, east, north) in degrees (EPSG:4326).
    url : str
        The layer endpoint that sends :func:`indicator_layer_frame`.
    values : numpy.ndarray
        The areas' values (NaN = no data), for the colour scale.
    title : str
        The indicator's name.
    unit : str
        The indicator's unit.
    threshold : str
        The target, written in the legend's failure entry.
    lower_is_better : bool
        The indicator's direction (reverses the palette).
    params : dict of str to str, optional
        The page's question (period, indicator), sent along with each layer request.
    _ : callable
        Translates the map's labels.

    Returns
    -------
    tuple of (folium.Map, list of Legend)
        The map and the legends the page renders with it.
    """
    m = base_map(bounds)
    cmap = indicator_colormap(values, caption=f"{title} ({unit})", lower_is_better=lower_is_better)
    DynamicGeoJson(
        url,
        name=title,
        fetch=LayerFetch(
            params=params, bbox=list(bounds) if bounds is not None else None, once=True
        ),
        style={
            "fillColor": {"property": "color"},
            "color": {"property": "edge"},
            "weight": 2,
            "fillOpacity": 0.7,
        },
        tooltip="tip",
        popup=popup_spec(["name", "label"], [_("Area"), _("Value")]),
    ).add_to(m)
    cmap.add_to(m)
    legend = Legend(
        title,
        [
            (NO_DATA, _("No data"), "box"),
            (FAIL_EDGE, _("Target not met") + f" ({threshold})", "line"),
        ],
    )
    return m, [legend]
