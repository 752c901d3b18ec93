"""The patrol map: grids by street coverage, patrolled and unpatrolled streets, the
cleaned tracks and the overdue key sites."""

from __future__ import annotations

from collections.abc import Callable

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import vocab
from gridmap.maps.overview import _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson

Gettext = Callable[[str], str]
COVERAGE_COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]


def _precise(frame: gpd.GeoDataFrame, decimals: int = 6) -> gpd.GeoDataFrame:
    """Coordinates rounded to ``decimals`` degrees (6: about 0.1 m), so the page's GeoJSON
    prints 116.345678 rather than 116.34567812345678: a third of the text."""
    geoms = np.array(frame.geometry.values, dtype=object)
    geoms = shapely.set_coordinates(shapely.transform(geoms, lambda c: c),
                                    np.round(shapely.get_coordinates(geoms), decimals))
    return frame.assign(geometry=gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs))


def coverage_colormap(caption: str) -> cm.LinearColormap:
    """Colour scale of patrol coverage, red at 0 % to green at 100 %.

    Parameters
    ----------
    caption : str
        Title shown above the scale.

    Returns
    -------
    branca.colormap.LinearColormap
    """
    return cm.LinearColormap(COVERAGE_COLORS, vmin=0, vmax=100, caption=caption)


def patrol_map(grids: gpd.GeoDataFrame, coverage: pd.DataFrame, segments: gpd.GeoDataFrame,
               tracks: gpd.GeoDataFrame, overdue: gpd.GeoDataFrame, *, lang: str = "zh",
               _: Gettext = _identity, tracks_label: str | None = None) -> folium.Map:
    """All frames in EPSG:4326.

    grids: code, name, geometry; coverage: one row per grid_code (street_pct,
    buildings_pct, households_pct, key_sites_pct, patrol_km); segments: name, highway,
    length_m, share, patrolled; tracks: patroller, started_at, length_m; overdue: name,
    category, grid_code, last_inspected, days_overdue.
    """
    bounds = tuple(grids.total_bounds) if len(grids) else None
    m = base_map(bounds)
    cmap = coverage_colormap(_("Street coverage (%)"))
    cov = coverage.set_index("grid_code")
    g = grids[["code", "name", "geometry"]].copy()
    for col in ("street_pct", "buildings_pct", "households_pct", "key_sites_pct", "patrol_km"):
        g[col] = cov[col].reindex(g["code"]).to_numpy() if col in cov else np.nan
    g = g.assign(**{c: g[c].astype(float).round(1).where(g[c].notna(), None)
                    for c in ("street_pct", "buildings_pct", "households_pct", "key_sites_pct")})
    grid_layer = folium.FeatureGroup(name=_("Grids by street coverage"), show=True)
    SafeGeoJson(
        _rounded(g, ["code", "name", "street_pct", "buildings_pct", "households_pct",
                     "key_sites_pct", "patrol_km"]),
        style_function=lambda f: {
            "fillColor": (cmap(f["properties"]["street_pct"])
                          if f["properties"]["street_pct"] is not None else "#cccccc"),
            "color": "#555555", "weight": 1, "fillOpacity": 0.35,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#1f4e79"},
        tooltip=folium.GeoJsonTooltip(["name", "street_pct"], [_("Grid"), _("Streets %")]),
        popup=folium.GeoJsonPopup(
            ["code", "name", "street_pct", "buildings_pct", "households_pct", "key_sites_pct",
             "patrol_km"],
            [_("Code"), _("Grid"), _("Streets %"), _("Buildings %"), _("Households %"),
             _("Key sites %"), _("Patrol km")]),
    ).add_to(grid_layer)
    grid_layer.add_to(m)

    seg = _precise(segments).assign(name=segments["name"].fillna(""), length_m=segments["length_m"].round(0),
                          share=(100 * segments["share"]).round(0))
    for patrolled, name, color in ((True, _("Patrolled streets"), "#1a9850"),
                                   (False, _("Unpatrolled streets"), "#d73027")):
        part = seg[seg["patrolled"] == patrolled]
        layer = folium.FeatureGroup(name=name, show=True)
        if len(part):
            SafeGeoJson(
                _rounded(part, ["name", "highway", "length_m", "share"]),
                style_function=lambda f, c=color: {"color": c, "weight": 3, "opacity": 0.9},
                tooltip=folium.GeoJsonTooltip(["name", "length_m", "share"],
                                              [_("Street"), _("Length (m)"), _("Covered %")]),
            ).add_to(layer)
        layer.add_to(m)

    track_layer = folium.FeatureGroup(name=tracks_label or _("Patrol tracks"), show=False)
    if len(tracks):
        t = _precise(tracks).assign(started_at=pd.to_datetime(tracks["started_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                          length_m=tracks["length_m"].round(0))
        SafeGeoJson(
            _rounded(t, ["patroller", "started_at", "length_m"]),
            style_function=lambda f: {"color": "#2c7fb8", "weight": 1.5, "opacity": 0.6},
            tooltip=folium.GeoJsonTooltip(["patroller", "started_at", "length_m"],
                                          [_("Patroller"), _("Started"), _("Length (m)")]),
        ).add_to(track_layer)
    track_layer.add_to(m)

    site_layer = folium.FeatureGroup(name=_("Overdue inspections"), show=True)
    if len(overdue):
        zh = vocab.labels(vocab.KEY_SITE_CATEGORIES, lang)
        o = overdue.assign(
            category=overdue["category"].map(zh).fillna(overdue["category"]),
            last=pd.to_datetime(overdue["last_inspected"]).dt.strftime("%Y-%m-%d").fillna(_("never")),
            days=overdue["days_overdue"].map(lambda d: _("never inspected") if np.isinf(d)
                                             else f"{d:.0f}"),
        )
        SafeGeoJson(
            _rounded(o, ["name", "category", "grid_code", "last", "days"]),
            marker=folium.CircleMarker(radius=6, fill=True, color="#7f0000", fill_color="#ef3b2c",
                                       fill_opacity=0.9, weight=1),
            tooltip=folium.GeoJsonTooltip(["name", "days"], [_("Key site"), _("Days overdue")]),
            popup=folium.GeoJsonPopup(["name", "category", "grid_code", "last", "days"],
                                      [_("Key site"), _("Category"), _("Grid"),
                                       _("Last inspection"), _("Days overdue")]),
        ).add_to(site_layer)
    site_layer.add_to(m)
    cmap.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
