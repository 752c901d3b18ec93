"""Heatmaps on a folium map: the metric density as an image overlay with a legend, the
cells as a choropleth with popups, and a weekly time slider for history layers (cells and
weeks fetched by the browser from the page's layer endpoints).

The density was computed in metres (gridmap.analysis.density); here it is only
coloured and resampled onto Web Mercator, because Leaflet stretches an image
overlay linearly in its own (Web Mercator) pixel space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import TimestampedGeoJson
from folium.template import Template as FoliumTemplate
from pyproj import Transformer

from gridmap.analysis.density import Surface
from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson
from gridmap.maps.standard import GridmapLayer

Gettext = Callable[[str], str]
# Light yellow -> orange -> dark red (ColorBrewer YlOrRd), readable on a blank base map.
PALETTE = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"]
# Travel time: short is good (green), long is bad (red).
TIME_PALETTE = ["#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027"]


def _hex_rgb(colors: list[str]) -> np.ndarray:
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors], dtype=float)


def scale_max(values: np.ndarray) -> float:
    """Top of the colour scale: the 99th percentile of the positive values, so that one hot
    spot does not wash out the rest.

    Parameters
    ----------
    values : numpy.ndarray
        The surface's values (e.g. households per hectare); NaN and non-positive ignored.

    Returns
    -------
    float
        The top of the scale in the values' unit (1 when nothing is positive).
    """
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
    """The surface as an RGBA image on 0..``vmax``, see-through where there is (almost)
    nothing so that empty land shows the base map.

    Parameters
    ----------
    values : numpy.ndarray
        The surface's values, rows by columns (NaN = outside).
    vmax : float
        Top of the scale in the values' unit; higher values take the last colour.
    colors : list of str
        Hex colours from low to high.
    min_fraction : float
        Values below this fraction of ``vmax`` are transparent.
    opacity : float
        Opacity (0..1) of the coloured pixels.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape ``values.shape + (4,)``.
    """
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
    """Resample ``surface`` (nearest cell) onto a Web Mercator grid, because Leaflet
    stretches an image overlay linearly in Web Mercator.

    Parameters
    ----------
    surface : Surface
        The surface in its metric CRS.
    oversample : int
        Pixels per cell side (at the surface's centre latitude).

    Returns
    -------
    tuple of (numpy.ndarray, list)
        The values in Web Mercator rows and columns, and the image's
        ``[[south, west], [north, east]]`` in degrees (EPSG:4326).
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
    """Add the coloured surface to ``m`` as an image overlay, with its legend.

    Parameters
    ----------
    m : folium.Map
        The map to draw on.
    surface : Surface
        The surface in its metric CRS.
    caption : str
        The legend's title (what is shown, with its unit).
    name : str
        The image's name in the layer list.
    colors : list of str
        Hex colours from low to high.
    vmax : float, optional
        Top of the scale in the surface's unit (default :func:`scale_max`).
    show : bool
        Whether the image is on when the page opens.

    Returns
    -------
    branca.colormap.LinearColormap
        The legend, whose scale the cells reuse.
    """
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
    """Add the cells to ``m`` as an embedded choropleth with popups (nothing when empty).

    Parameters
    ----------
    m : folium.Map
        The map to draw on.
    cells : geopandas.GeoDataFrame
        EPSG:4326; value, per_ha (value per hectare).
    name : str
        The layer's name in the layer list.
    value_label, density_label : str
        Popup labels of the value and of the value per hectare.
    cmap : branca.colormap.LinearColormap
        The surface's colour scale (applied to per_ha).
    show : bool
        Whether the layer is on when the page opens.
    extra : dict of str to str, optional
        Further columns for the popup, with their labels.
    """
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


def weekly_features(
    weekly: pd.DataFrame | None, *, cell_m: float, crs: Any, colors: list[str] = PALETTE
) -> dict[str, Any]:
    """The weekly slider's features: one square cell per non-empty cell and ISO week,
    styled on the 99th percentile of the weekly values and shown for its week.

    Parameters
    ----------
    weekly : pandas.DataFrame or None
        cell, ix, iy, week, value: the cell's column and row on the metric grid and its
        value in that week (e.g. patrol minutes); None or empty gives no features.
    cell_m : float
        Side of the weekly cells in metres.
    crs : Any
        The metric CRS of the cell grid (EPSG code or pyproj CRS).
    colors : list of str
        Hex colours from low to high.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection in EPSG:4326; each feature has ``times`` (its week),
        ``value``, ``style`` and ``popup`` properties.
    """
    if weekly is None or not len(weekly):
        return {"type": "FeatureCollection", "features": []}
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
                "value": round(v, 1),
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
    return {"type": "FeatureCollection", "features": features}


class WeeklySlider(GridmapLayer, TimestampedGeoJson):
    """The weekly cells on a time slider (leaflet-timedimension), fetched from ``url``
    (which sends :func:`weekly_features`) with ``params``: a street's weeks of history
    are too many features to write into the page. (TimeSliderChoropleth would load d3 v4
    over the d3 v3 that the legend needs.)"""

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
        (function (map) {
          GM.begin();
          var url = GM.withParams({{ this.url|tojson }},
                                  Object.assign({display: {{ this.display|tojson }}}, {{ this.params|tojson }}));
          fetch(url, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
            .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
            .then(function (data) {
              var Control = L.Control.TimeDimension.extend({
                _getDisplayDateFormat: function (date) {
                  return moment(date).format({{ this.date_options|tojson }});
                }
              });
              map.timeDimension = L.timeDimension({period: {{ this.period|tojson }}});
              map.addControl(new Control({{ this.options|tojavascript }}));
              var cells = L.geoJson(data, {
                style: function (f) { return f.properties.style; },
                onEachFeature: function (f, l) { l.bindPopup(GM.esc(f.properties.popup)); }
              });
              map.gmWeeks = L.timeDimension.layer.geoJson(cells, {
                updateTimeDimension: true, addlastPoint: false, duration: {{ this.duration }}
              }).addTo(map);
              map.gmWeeks.gmLoaded = (data.features || []).length;
              GM.end();
            })
            .catch(function (err) { GM.end(); console.warn('weekly cells', url, err); });
        })({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self, url: str, *, params: Mapping[str, str] | None = None):
        super().__init__(
            url,
            period="P1W",
            duration="P6D",
            add_last_point=False,
            auto_play=False,
            loop=False,
            date_options="YYYY-MM-DD",
            time_slider_drag_update=True,
        )
        self._name = "WeeklySlider"
        self.url = url
        self.params = dict(params or {})


def cell_frame(cells: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The cells as the cells layer sends them (rounded) and the properties it sends.

    Parameters
    ----------
    cells : geopandas.GeoDataFrame
        EPSG:4326; value, per_ha (value per hectare) and, for personal groups, households.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, list of str)
        The rounded frame and the properties the layer sends.
    """
    data = cells.assign(value=cells["value"].round(1), per_ha=cells["per_ha"].round(2))
    return data, ["value", "per_ha", *(["households"] if "households" in cells else [])]


@dataclass(frozen=True)
class HeatmapView:
    """How the heatmap page's map names its layers and where it fetches them from.

    ``caption`` titles the legend, ``layer_name`` the density image, ``value_label`` the
    cells' values; ``travel_time`` switches to the green-to-red palette of walking
    minutes. ``cells_url`` (else the cells are embedded) and ``weeks_url`` (the weekly
    slider, none without it) are the layer endpoints, asked with ``params`` (the page's
    own question).
    """

    caption: str
    layer_name: str
    value_label: str
    travel_time: bool = False
    cells_url: str | None = None
    weeks_url: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)


def _fetched_cells(
    m: folium.Map,
    grids: gpd.GeoDataFrame,
    view: HeatmapView,
    *,
    vmax: float,
    colors: list[str],
    fields: list[str],
    labels: list[str],
    name: str,
) -> None:
    n = len(colors)
    DynamicGeoJson(
        cast(str, view.cells_url),
        name=name,
        show=False,
        style={
            "fillColor": {
                "property": "per_ha",
                "stops": [[vmax * i / (n - 1), c] for i, c in enumerate(colors)],
            },
            "color": "#7f7f7f",
            "weight": 0.3,
            "fillOpacity": 0.7,
        },
        fetch=LayerFetch(
            params=dict(view.params),
            once=True,
            bbox=list(grids.total_bounds) if len(grids) else None,
        ),
        tooltip="value",
        popup=popup_spec(fields, labels),
    ).add_to(m)


def heatmap_map(
    surface: Surface,
    cells: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    view: HeatmapView,
    *,
    _: Gettext = _identity,
) -> folium.Map:
    """The heatmap page's map: grid outlines, the density image with legend, the cells
    (a choropleth with popups, off by default) and the weekly slider when ``view`` has
    its URL (the density image then starts hidden so the weeks are readable).

    Parameters
    ----------
    surface : Surface
        The density (or walking-time) surface in its metric CRS.
    cells : geopandas.GeoDataFrame
        EPSG:4326 cells (value, per_ha), small counts already suppressed.
    grids : geopandas.GeoDataFrame
        EPSG:4326 grids (code, name) drawn as outlines; their box frames the map.
    view : HeatmapView
        Labels, palette and the layer endpoints.
    _ : callable
        Translates the map's labels.

    Returns
    -------
    folium.Map
    """
    bounds = tuple(grids.total_bounds) if len(grids) else None
    m = base_map(bounds)
    colors = TIME_PALETTE if view.travel_time else PALETTE
    slider = view.weeks_url is not None
    cmap = add_surface(
        m, surface, caption=view.caption, name=view.layer_name, colors=colors, show=not slider
    )
    density_label = _("Minutes") if view.travel_time else _("Per hectare")
    extra = {"households": _("Households")} if "households" in cells else None
    if view.cells_url is None:
        add_cells(
            m,
            cells,
            name=_("Cells"),
            value_label=view.value_label,
            density_label=density_label,
            cmap=cmap,
            extra=extra,
        )
    elif len(cells):
        _fetched_cells(
            m,
            grids,
            view,
            vmax=cmap.vmax,
            colors=colors,
            fields=["value", "per_ha", *(extra or {})],
            labels=[view.value_label, density_label, *(extra or {}).values()],
            name=_("Cells"),
        )
    if slider:
        WeeklySlider(cast(str, view.weeks_url), params=view.params).add_to(m)
    SafeGeoJson(
        _rounded(grids.assign(name=grids["name"].fillna("")), ["code", "name"]),
        name=_("Grids"),
        style_function=lambda f: {"fill": False, "color": "#08306b", "weight": 1.5},
        tooltip=folium.GeoJsonTooltip(["name"], [_("Grid")]),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
