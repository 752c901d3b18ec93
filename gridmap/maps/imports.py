"""The import preview: the features a file would write, over the grids already stored."""

from __future__ import annotations

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.maps.overview import Gettext, _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson

PREVIEW_LIMIT = 5000  # features drawn; a preview of 50,000 parcels would freeze the browser
COLOURS = {"insert": "#1a9850", "update": "#2c7bb6", "error": "#d7191c"}


def _bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    boxes = [f.total_bounds for f in frames if len(f) and f.geometry.notna().any()]
    if not boxes:
        return None
    b = np.vstack(boxes)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def import_preview_map(
    new: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, _: Gettext = _identity
) -> folium.Map:
    """A map of the features of an import over the existing grids.

    Features with errors are red, inserts green, updates blue. At most
    :data:`PREVIEW_LIMIT` features are drawn.

    Parameters
    ----------
    new : geopandas.GeoDataFrame
        The file's features: row, code, name, action ('insert'/'update'), error (bool);
        EPSG:4326.
    grids : geopandas.GeoDataFrame
        The grids already stored (code, name), drawn as outlines; EPSG:4326.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    folium.Map
        The preview map.
    """
    new = new[new.geometry.notna()].head(PREVIEW_LIMIT)
    m = base_map(_bounds(new) or _bounds(grids))
    if len(grids):
        layer = folium.FeatureGroup(name=_("Existing grids"), show=True)
        SafeGeoJson(
            _rounded(grids.assign(name=grids["name"].fillna("")), ["code", "name"]),
            style_function=lambda f: {
                "fill": False,
                "color": "#666666",
                "weight": 1.5,
                "dashArray": "4 3",
            },
            tooltip=folium.GeoJsonTooltip(["name", "code"], [_("Grid"), _("Code")]),
        ).add_to(layer)
        layer.add_to(m)
    if len(new):
        data = new.assign(
            status=np.where(new["error"], "error", new["action"]),
            label=pd.Series(
                np.where(
                    new["error"],
                    _("has errors"),
                    np.where(new["action"] == "update", _("update"), _("new")),
                ),
                index=new.index,
            ),
            name=new["name"].fillna(""),
            code=new["code"].fillna(""),
        )
        points = shapely.get_type_id(data.geometry.to_numpy()) == 0
        simplify = 0.000005 if len(data) > 500 else 0.0
        layer = folium.FeatureGroup(name=_("Features in the file"), show=True)
        geojson = _rounded(data, ["row", "code", "name", "status", "label"], tolerance_deg=simplify)
        SafeGeoJson(
            geojson,
            style_function=lambda f: {
                "color": COLOURS[f["properties"]["status"]],
                "fillColor": COLOURS[f["properties"]["status"]],
                "weight": 2,
                "fillOpacity": 0.25,
            },
            marker=folium.CircleMarker(radius=5, fill=True, fill_opacity=0.8)
            if points.all()
            else None,
            tooltip=folium.GeoJsonTooltip(
                ["row", "name", "code", "label"], [_("Row"), _("Name"), _("Code"), _("Action")]
            ),
        ).add_to(layer)
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
