"""Heatmaps on a folium map: the metric density as an image overlay with a legend, the
cells as a choropleth with popups, and a weekly time slider for history layers.

The density was computed in metres (gridmap.analysis.density); here it is only
coloured and resampled onto Web Mercator, because Leaflet stretches an image
overlay linearly in its own (Web Mercator) pixel space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import TimestampedGeoJson
from pyproj import Transformer

from gridmap.analysis.density import Surface
from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson

Gettext = Callable[[str], str]
# Light yellow -> orange -> dark red (ColorBrewer YlOrRd), readable on a blank base map.
PALETTE = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
# Travel time: short is good (green), long is bad (red).
TIME_PALETTE = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"]


def _hex_rgb(colors: list[str]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)


def scale_max(values: np.ndarray) -> float:
    """Top of the colour scale: the 99th percentile of the positive values (one hot spot
    should not wash out the rest), at least a tiny positive number."""
    v = values[np.isfinite(values) & (values > 0)]
    return float(np.percentile(v, 99)) if len(v) else 1.0


def colorize(
    values: np.ndarray,
    *,
    vmax: float,
    colors: list[str] = PALETTE,
    min_fraction: float = 0.02,
    opacity: float = 0.75,
) -> np.ndarray:
    """RGBA uint8 image of ``values`` on 0..vmax; transparent where NaN or below
    ``min_fraction`` x vmax (empty land stays see-through)."""
    rgb = _hex_rgb(colors)
    f = np.clip(np.nan_to_num(values / vmax if vmax > 0 else values * 0, nan=0.0), 0, 1)
    pos = f * (len(colors) - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, len(colors) - 1)
    t = (pos - lo)[..., None]
    out = np.zeros(values.shape + (4,), dtype=np.uint8)
    out[..., :3] = np.round(rgb[lo] * (1 - t) + rgb[hi] * t).astype(np.uint8)
    visible = np.isfinite(values) & (values >= min_fraction * vmax)
    out[..., 3] = np.where(visible, int(round(opacity * 255)), 0)
    return out


def to_web_mercator(
    surface: Surface, *, oversample: int = 2
) -> tuple[np.ndarray, list[list[float]]]:
    """Resample ``surface`` (nearest cell) onto a Web Mercator grid.

    Returns (values in mercator rows/cols, [[south, west], [north, east]] bounds).
    """
    to_merc = Transformer.from_crs(surface.crs, 3857, always_xy=True)
    back = Transformer.from_crs(3857, surface.crs, always_xy=True)
    minx, miny, maxx, maxy = to_merc.transform_bounds(*surface.bounds)
    # Mercator metres are stretched by 1/cos(lat): keep about ``oversample`` pixels per cell.
    lat_c = Transformer.from_crs(3857, 4326, always_xy=True).transform(
        (minx + maxx) / 2, (miny + maxy) / 2
    )[1]
    px = surface.cell_m / np.cos(np.radians(lat_c)) / oversample
    nx = max(1, int(np.ceil((maxx - minx) / px)))
    ny = max(1, int(np.ceil((maxy - miny) / px)))
    xs = minx + (np.arange(nx) + 0.5) * (maxx - minx) / nx
    ys = maxy - (np.arange(ny) + 0.5) * (maxy - miny) / ny
    gx, gy = np.meshgrid(xs, ys)
    sx, sy = back.transform(gx.ravel(), gy.ravel())
    values = surface.sample(sx, sy).reshape(ny, nx)
    to_ll = Transformer.from_crs(3857, 4326, always_xy=True)
    west, south = to_ll.transform(minx, miny)
    east, north = to_ll.transform(maxx, maxy)
    return values, [[south, west], [north, east]]


def legend(vmax: float, caption: str, *, colors: list[str] = PALETTE) -> cm.LinearColormap:
    """Colour scale of a heat map from 0 to ``vmax``.

    Parameters
    ----------
    vmax : float
        Top of the scale (in the surface's units, e.g. households per hectare); at least 1e-9.
    caption : str
        Title shown above the scale.
    colors : list of str
        Hex colours from low to high.

    Returns
    -------
    branca.colormap.LinearColormap
    """
    return cm.LinearColormap(colors, vmin=0, vmax=max(vmax, 1e-9), caption=caption)


def add_surface(
    m: folium.Map,
    surface: Surface,
    *,
    caption: str,
    name: str,
    colors: list[str] = PALETTE,
    vmax: float | None = None,
    show: bool = True,
) -> cm.LinearColormap:
    """The coloured surface as an ImageOverlay on ``m`` plus its legend; returns the legend."""
    vmax = vmax or scale_max(surface.values)
    values, bounds = to_web_mercator(surface)
    rgba = colorize(values, vmax=vmax, colors=colors)
    folium.raster_layers.ImageOverlay(
        rgba, bounds=bounds, name=name, pixelated=True, interactive=False, zindex=2, show=show
    ).add_to(m)
    cmap = legend(vmax, caption, colors=colors)
    cmap.add_to(m)
    return cmap


def add_cells(
    m: folium.Map,
    cells: gpd.GeoDataFrame,
    *,
    name: str,
    value_label: str,
    density_label: str,
    cmap: cm.LinearColormap,
    show: bool = False,
    extra: dict[str, str] | None = None,
) -> None:
    """The cells (EPSG:4326; value, per_ha) as a choropleth with popups."""
    if not len(cells):
        return
    data, _sent = cell_frame(cells)
    fields = ["value", "per_ha", *(extra or {})]
    labels = [value_label, density_label, *(extra or {}).values()]
    vmax = cmap.vmax
    group = folium.FeatureGroup(name=name, show=show)
    SafeGeoJson(
        _rounded(data, fields),
        style_function=lambda f: {
            "fillColor": cmap(min(f["properties"]["per_ha"], vmax)),
            "color": "#7f7f7f",
            "weight": 0.3,
            "fillOpacity": 0.7,
        },
        highlight_function=lambda f: {"weight": 2, "color": "#1f4e79"},
        popup=folium.GeoJsonPopup(fields, labels),
        tooltip=folium.GeoJsonTooltip(["value"], [value_label]),
    ).add_to(group)
    group.add_to(m)


def weekly_slider(
    m: folium.Map,
    weekly: pd.DataFrame,
    *,
    cell_m: float,
    crs: Any,
    name: str,
    colors: list[str] = PALETTE,
) -> int:
    """Square cells per ISO week (weekly: cell, ix, iy, week, value) on a time slider.

    A TimestampedGeoJson (leaflet-timedimension): one feature per non-empty cell and week,
    shown for that week. (TimeSliderChoropleth would load d3 v4 over the d3 v3 that the
    legend needs.) Returns the number of weeks on the slider.
    """
    if weekly is None or not len(weekly):
        return 0
    w = weekly.reset_index(drop=True)
    geoms = shapely.box(
        w["ix"] * cell_m, w["iy"] * cell_m, (w["ix"] + 1) * cell_m, (w["iy"] + 1) * cell_m
    )
    ll = gpd.GeoSeries(geoms, crs=crs).to_crs(4326)
    coords = [[[round(x, 6), round(y, 6)] for x, y in g.exterior.coords] for g in ll]
    vmax = float(np.percentile(w["value"], 99)) or 1.0
    cmap = cm.LinearColormap(colors, vmin=0, vmax=vmax)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "times": [pd.Timestamp(week).strftime("%Y-%m-%d")],
                "style": {
                    "fillColor": cmap(min(v, vmax)),
                    "color": cmap(min(v, vmax)),
                    "weight": 0.5,
                    "fillOpacity": 0.75,
                },
                "popup": f"{pd.Timestamp(week):%Y-%m-%d}: {v:.1f}",
            },
        }
        for ring, week, v in zip(coords, w["week"], w["value"].astype(float), strict=True)
    ]
    TimestampedGeoJson(
        {"type": "FeatureCollection", "features": features},
        period="P1W",
        duration="P6D",
        add_last_point=False,
        auto_play=False,
        loop=False,
        date_options="YYYY-MM-DD",
        time_slider_drag_update=True,
    ).add_to(m)
    return int(w["week"].nunique())


def cell_frame(cells: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The cells as the cells layer sends them (rounded) and the properties it sends."""
    data = cells.assign(value=cells["value"].round(1), per_ha=cells["per_ha"].round(2))
    return data, ["value", "per_ha", *(["households"] if "households" in cells else [])]


def heatmap_map(
    surface: Surface,
    cells: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    caption: str,
    layer_name: str,
    value_label: str,
    weekly: pd.DataFrame | None = None,
    weekly_cell_m: float | None = None,
    travel_time: bool = False,
    cells_url: str | None = None,
    params: dict[str, str] | None = None,
    _: Gettext = _identity,
) -> folium.Map:
    """The heatmap page's map: grid outlines, the density image with legend, the cells
    (choropleth with popups, off by default; fetched from ``cells_url`` with ``params``
    when given, else embedded) and, when ``weekly`` is given, the weekly slider (the
    density image then starts hidden so the weeks are readable)."""
    bounds = tuple(grids.total_bounds) if len(grids) else None
    m = base_map(bounds)
    colors = TIME_PALETTE if travel_time else PALETTE
    slider = weekly is not None and len(weekly) > 0
    cmap = add_surface(m, surface, caption=caption, name=layer_name, colors=colors, show=not slider)
    density_label = _("Minutes") if travel_time else _("Per hectare")
    extra = {"households": _("Households")} if "households" in cells else None
    if cells_url is None:
        add_cells(
            m,
            cells,
            name=_("Cells"),
            value_label=value_label,
            density_label=density_label,
            cmap=cmap,
            extra=extra,
        )
    elif len(cells):
        n = len(colors)
        DynamicGeoJson(
            cells_url,
            name=_("Cells"),
            show=False,
            style={
                "fillColor": {
                    "property": "per_ha",
                    "stops": [[cmap.vmax * i / (n - 1), c] for i, c in enumerate(colors)],
                },
                "color": "#7f7f7f",
                "weight": 0.3,
                "fillOpacity": 0.7,
            },
            fetch=LayerFetch(
                params=params, once=True, bbox=list(grids.total_bounds) if len(grids) else None
            ),
            tooltip="value",
            popup=popup_spec(
                ["value", "per_ha", *(extra or {})],
                [value_label, density_label, *(extra or {}).values()],
            ),
        ).add_to(m)
    if slider:
        weekly_slider(
            m,
            weekly,
            cell_m=weekly_cell_m or surface.cell_m,
            crs=surface.crs,
            name=_("By week"),
            colors=colors,
        )
    SafeGeoJson(
        _rounded(grids.assign(name=grids["name"].fillna("")), ["code", "name"]),
        name=_("Grids"),
        style_function=lambda f: {"fill": False, "color": "#08306b", "weight": 1.5},
        tooltip=folium.GeoJsonTooltip(["name"], [_("Grid")]),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
