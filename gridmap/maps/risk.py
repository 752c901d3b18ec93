"""The risk map: grids coloured by risk score, building markers whose popups list the
components that make up each score."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.analysis.risk import component_label
from gridmap.maps.overview import _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson

Gettext = Callable[[str], str]
RISK_COLORS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]


def explain_html(components: pd.DataFrame, score: pd.Series, *, lang: str, _: Gettext) -> list[str]:
    """Per row: an HTML table of the non-zero components, largest first, and the total."""
    out = []
    labels = {c: html.escape(component_label(c, lang)) for c in components.columns}
    values = components.to_numpy(float)
    cols = list(components.columns)
    for i, total in enumerate(score.to_numpy(float)):
        nz = np.flatnonzero(values[i])
        order = nz[np.argsort(-values[i][nz])]
        rows = "".join(f"<tr><td>{labels[cols[j]]}</td><td style='text-align:right'>"
                       f"{values[i][j]:g}</td></tr>" for j in order)
        out.append(f"<table class='gm-risk'>{rows}<tr><th>{html.escape(_('Risk score'))}</th>"
                   f"<th style='text-align:right'>{total:g}</th></tr></table>")
    return out


def risk_colormap(values: Sequence[float] | np.ndarray, caption: str) -> cm.LinearColormap:
    """Colour scale of risk points, from 0 to the highest score (1 when none is above 0).

    Parameters
    ----------
    values : sequence of float
        Risk scores (points); NaN is ignored.
    caption : str
        Title shown above the scale.

    Returns
    -------
    branca.colormap.LinearColormap
    """
    vmax = float(np.nanmax(values)) if len(values) and np.nanmax(values) > 0 else 1.0
    return cm.LinearColormap(RISK_COLORS, vmin=0, vmax=vmax, caption=caption)


def risk_map(grids: gpd.GeoDataFrame, grid_components: pd.DataFrame,
             buildings: gpd.GeoDataFrame, building_components: pd.DataFrame, *,
             lang: str = "zh", _: Gettext = _identity) -> folium.Map:
    """grids (code, name, score, geometry) and buildings (address, grid_code, score,
    geometry), EPSG:4326, each with its component frame (index-aligned)."""
    bounds = tuple(grids.total_bounds) if len(grids) else None
    m = base_map(bounds)
    gcmap = risk_colormap(grids["score"], _("Grid risk score"))
    g = grids[["code", "name", "score", "geometry"]].assign(
        name=grids["name"].fillna(""),
        explain=explain_html(grid_components, grids["score"], lang=lang, _=_))
    layer = folium.FeatureGroup(name=_("Grids by risk"), show=True)
    SafeGeoJson(
        _rounded(g, ["code", "name", "score", "explain"]), markup=("explain",),
        style_function=lambda f: {"fillColor": gcmap(f["properties"]["score"]),
                                  "color": "#555555", "weight": 1, "fillOpacity": 0.55},
        highlight_function=lambda f: {"weight": 3, "color": "#1f4e79"},
        tooltip=folium.GeoJsonTooltip(["name", "score"], [_("Grid"), _("Risk score")]),
        popup=folium.GeoJsonPopup(["name", "explain"], [_("Grid"), ""], max_width=420),
    ).add_to(layer)
    layer.add_to(m)

    bcmap = risk_colormap(buildings["score"], _("Building risk score"))
    pts = buildings.assign(
        geometry=buildings.geometry.representative_point(),
        address=buildings["address"].fillna(buildings.get("code", "")).fillna(""),
        explain=explain_html(building_components, buildings["score"], lang=lang, _=_))
    pts = pts[pts["score"] > 0]
    blayer = folium.FeatureGroup(name=_("Buildings by risk"), show=True)
    if len(pts):
        SafeGeoJson(
            _rounded(pts, ["address", "grid_code", "score", "explain"]), markup=("explain",),
            marker=folium.CircleMarker(radius=5, fill=True, weight=1, fill_opacity=0.9),
            style_function=lambda f: {"fillColor": bcmap(f["properties"]["score"]),
                                      "color": "#444444",
                                      "radius": 4 + 8 * min(1.0, f["properties"]["score"] / bcmap.vmax)},
            tooltip=folium.GeoJsonTooltip(["address", "score"], [_("Address"), _("Risk score")]),
            popup=folium.GeoJsonPopup(["address", "explain"], [_("Address"), ""], max_width=420),
        ).add_to(blayer)
    blayer.add_to(m)
    gcmap.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
