"""The indicator map: areas coloured by one indicator's value, failures outlined in red,
areas without data hatched grey (no data is not zero)."""

from __future__ import annotations

import html
from collections.abc import Callable

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np

from gridmap.maps.overview import _identity, _rounded, base_map
from gridmap.maps.standard import Legend

Gettext = Callable[[str], str]
GOOD_COLORS = ["#f7fcf5", "#a1d99b", "#41ab5d", "#006d2c"]  # higher is better
NO_DATA = "#bdbdbd"
FAIL_EDGE = "#c62828"


def indicator_map(
    areas: gpd.GeoDataFrame,
    *,
    title: str,
    unit: str,
    threshold: str,
    lower_is_better: bool = False,
    _: Gettext = _identity,
) -> tuple[folium.Map, list[Legend]]:
    """areas (EPSG:4326): area_name, value (NaN = no data), shown (text), status, geometry."""
    bounds = tuple(areas.total_bounds) if len(areas) else None
    m = base_map(bounds)
    values = areas["value"].to_numpy(float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    colors = GOOD_COLORS[::-1] if lower_is_better else GOOD_COLORS
    cmap = cm.LinearColormap(
        colors, vmin=lo, vmax=hi if hi > lo else lo + 1, caption=f"{title} ({unit})"
    )
    frame = areas.assign(
        name=[html.escape(str(n)) for n in areas["area_name"]],
        label=[
            f"{html.escape(s)} {html.escape(unit) if v == v else ''}"
            for s, v in zip(areas["shown"], values, strict=True)
        ],
        color=[cmap(v) if np.isfinite(v) else NO_DATA for v in values],
        edge=[FAIL_EDGE if s == "fail" else "#555555" for s in areas["status"]],
    )
    layer = folium.FeatureGroup(name=title, show=True)
    folium.GeoJson(
        _rounded(frame, ["name", "label", "color", "edge"]),
        style_function=lambda f: {
            "fillColor": f["properties"]["color"],
            "color": f["properties"]["edge"],
            "weight": 2,
            "fillOpacity": 0.7,
        },
        tooltip=folium.GeoJsonTooltip(["name", "label"], [_("Area"), _("Value")]),
    ).add_to(layer)
    layer.add_to(m)
    cmap.add_to(m)
    legend = Legend(
        title,
        [
            (NO_DATA, _("No data"), "box"),
            (FAIL_EDGE, _("Target not met") + f" ({threshold})", "line"),
        ],
    )
    return m, [legend]
