"""The risk map: grids coloured by risk score, building markers whose popups list the
components that make up each score.

The page carries only the map's frame and the styles; the browser fetches the features
from the page's layer endpoint (``risk_layer_frames`` gives what each layer sends).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.analysis.risk import component_label
from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import _identity, base_map

Gettext = Callable[[str], str]
RISK_COLORS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
RISK_LAYERS = ("grids", "buildings")
MIN_RADIUS_PX, MAX_EXTRA_PX = 4, 8  # a building's marker grows with its score


def risk_vmax(values: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Top of the colour scale: the highest score (1 when nothing scores).

    Parameters
    ----------
    values : sequence of float
        The risk scores.

    Returns
    -------
    float
        The top of the scale.
    """
    vmax = float(np.nanmax(values)) if len(values) else 0.0
    return vmax if vmax > 0 else 1.0


def risk_colormap(values: Sequence[float] | np.ndarray, caption: str) -> cm.LinearColormap:
    """Colour scale of risk points, from 0 to :func:`risk_vmax`.

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
    return cm.LinearColormap(RISK_COLORS, vmin=0, vmax=risk_vmax(values), caption=caption)


def _stops(vmax: float) -> list[list[float | str]]:
    return [[round(vmax * i / (len(RISK_COLORS) - 1), 3), c] for i, c in enumerate(RISK_COLORS)]


def _parts(components: pd.DataFrame) -> pd.DataFrame:
    """Component points with the zero ones empty (a popup lists only what adds up)."""
    return components.astype(float).round(3).where(components.to_numpy(float) != 0, None)


def risk_layer_frames(
    grids: gpd.GeoDataFrame,
    grid_components: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
    building_components: pd.DataFrame,
) -> dict[str, tuple[gpd.GeoDataFrame, list[str]]]:
    """The frame and the properties of each layer of the risk map.

    Building markers are the scoring buildings only.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        code, name, score, geometry (EPSG:4326).
    grid_components : pandas.DataFrame
        The grids' score components, index-aligned with ``grids``.
    buildings : geopandas.GeoDataFrame
        address, grid_code, score, geometry (EPSG:4326).
    building_components : pandas.DataFrame
        The buildings' score components, index-aligned with ``buildings``.

    Returns
    -------
    dict
        Layer name -> (frame in EPSG:4326, the properties it sends).
    """
    g = (
        grids[["code", "name", "score", "geometry"]]
        .assign(name=grids["name"].fillna(""))
        .join(_parts(grid_components))
    )
    vmax = risk_vmax(buildings["score"])
    pts = buildings.assign(
        geometry=buildings.geometry.representative_point(),
        address=buildings["address"].fillna(buildings.get("code", "")).fillna(""),
        radius=(
            MIN_RADIUS_PX + MAX_EXTRA_PX * np.minimum(1.0, buildings["score"].astype(float) / vmax)
        ).round(1),
    )[["address", "grid_code", "score", "radius", "geometry"]].join(_parts(building_components))
    pts = pts[pts["score"] > 0]
    return {
        "grids": (g, ["code", "name", "score", *grid_components.columns]),
        "buildings": (
            pts,
            ["address", "grid_code", "score", "radius", *building_components.columns],
        ),
    }


def risk_map(
    bounds: tuple[float, float, float, float] | None,
    urls: dict[str, str],
    *,
    grid_scores: pd.Series,
    building_scores: pd.Series,
    grid_components: list[str],
    building_components: list[str],
    params: dict[str, str] | None = None,
    lang: str = "zh",
    _: Gettext = _identity,
) -> folium.Map:
    """The risk map's frame: the grids and the scoring buildings fetched from ``urls``.

    Parameters
    ----------
    bounds : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326 the map is fitted to and the layers asked for.
    urls : dict of str to str
        The endpoints of the ``grids`` and ``buildings`` layers.
    grid_scores, building_scores : pandas.Series
        The scores, which set the colour scales.
    grid_components, building_components : list of str
        The component names shown in the popups.
    params : dict of str to str, optional
        Query parameters sent with every layer request.
    lang : str
        ``zh`` or ``en`` for the component names.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    folium.Map
        The map, with its colour scale.
    """
    m = base_map(bounds)
    box = list(bounds) if bounds is not None else None
    g_vmax, b_vmax = risk_vmax(grid_scores), risk_vmax(building_scores)

    def popup(first_label: str, first: str, comps: list[str]) -> dict[str, list[str]]:
        return popup_spec(
            [first, *comps, "score"],
            [first_label, *[component_label(c, lang) for c in comps], _("Risk score")],
        )

    DynamicGeoJson(
        urls["grids"],
        name=_("Grids by risk"),
        style={
            "fillColor": {"property": "score", "stops": _stops(g_vmax)},
            "color": "#555555",
            "weight": 1,
            "fillOpacity": 0.55,
        },
        fetch=LayerFetch(params=params, bbox=box, once=True),
        tooltip="name",
        popup=popup(_("Grid"), "name", grid_components),
    ).add_to(m)
    DynamicGeoJson(
        urls["buildings"],
        name=_("Buildings by risk"),
        style={
            "fillColor": {"property": "score", "stops": _stops(b_vmax)},
            "color": "#444444",
            "weight": 1,
            "fillOpacity": 0.9,
            "radius": {"property": "radius"},
        },
        fetch=LayerFetch(params=params, bbox=box, once=True),
        tooltip="address",
        popup=popup(_("Address"), "address", building_components),
    ).add_to(m)
    risk_colormap(grid_scores, _("Grid risk score")).add_to(m)
    risk_colormap(building_scores, _("Building risk score")).add_to(m)
    return m
