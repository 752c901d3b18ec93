"""The street overview: communities, grids coloured by households, buildings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
from branca.element import MacroElement

from gridmap.maps.layers import DynamicGeoJson, LayerFetch, VectorTiles, popup_spec, ramp
from gridmap.maps.safe import SafeGeoJson
from gridmap.maps.standard import Legend

Gettext = Callable[[str], str]


def _identity(s: str) -> str:
    return s


def base_map(
    bounds: tuple[float, float, float, float] | None,
    *,
    tiles: str | None = None,
    attribution: str | None = None,
) -> folium.Map:
    """A map fitted to ``bounds`` with a metric scale bar.

    No tiles by default: government intranets often cannot reach any tile server.

    Parameters
    ----------
    bounds : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326; None leaves the default view.
    tiles : str, optional
        Background tile layer.
    attribution : str, optional
        Attribution of the tiles.

    Returns
    -------
    folium.Map
        The empty map.
    """
    m = folium.Map(
        tiles=tiles, attr=attribution, control_scale=True, prefer_canvas=True, zoom_start=15
    )
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _rounded(frame: gpd.GeoDataFrame, columns: list[str], *, tolerance_deg: float = 0.0) -> str:
    """GeoJSON of only the needed columns, coordinates rounded to ~0.1 m."""
    out = frame[columns + ["geometry"]].copy()
    if tolerance_deg:
        out["geometry"] = out.geometry.simplify(tolerance_deg, preserve_topology=True)
    text: str = out.to_json(
        drop_id=True, to_wgs84=False, na="null", show_bbox=False, separators=(",", ":")
    )
    return text


def households_colormap(values: Iterable[float], caption: str) -> cm.LinearColormap:
    """Colour scale of households per building, from 0 to the largest count.

    Parameters
    ----------
    values : iterable of float
        Households per building (at least 1 is used as the top).
    caption : str
        Title shown above the scale.

    Returns
    -------
    branca.colormap.LinearColormap
    """
    vmax = max(1, int(max(values, default=1)))
    return cm.LinearColormap(["#ffffcc", "#fd8d3c", "#bd0026"], vmin=0, vmax=vmax, caption=caption)


_GRID_POPUP_FIELDS = [
    "code",
    "name",
    "community_name",
    "leader",
    "households",
    "target",
    "residents",
    "buildings",
]


def _grid_popup_labels(_: Gettext) -> list[str]:
    """The labels of ``_GRID_POPUP_FIELDS``, translated."""
    return [
        _("Code"),
        _("Grid"),
        _("Community"),
        _("Grid leader"),
        _("Households"),
        _("Target households"),
        _("Residents"),
        _("Buildings"),
    ]


def overview_map(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    _: Gettext = _identity,
    tiles: str | None = None,
) -> folium.Map:
    """Communities (outlines), grids (fill by households), buildings (fill by households).

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        Communities (code, name, grids, households, residents), EPSG:4326.
    grids : geopandas.GeoDataFrame
        Grids (code, name, leader, households, target_households, community_name,
        residents, buildings), EPSG:4326.
    buildings : geopandas.GeoDataFrame
        Buildings (address, households, floors, use), EPSG:4326.
    _ : callable
        Translation of the fixed texts.
    tiles : str, optional
        Background tile layer (none by default).

    Returns
    -------
    folium.Map
        The whole overview, every feature embedded.
    """
    bounds = (
        tuple(communities.total_bounds)
        if len(communities)
        else (tuple(grids.total_bounds) if len(grids) else None)
    )
    m = base_map(bounds, tiles=tiles)
    grid_cmap = households_colormap(grids["households"], _("Households per grid"))
    _grid_fill_layer(grids, grid_cmap, _).add_to(m)
    _building_fill_layer(buildings, _).add_to(m)

    community_layer = folium.FeatureGroup(name=_("Communities"), show=True)
    SafeGeoJson(
        _rounded(communities, ["code", "name", "grids", "households", "residents"]),
        name=_("Communities"),
        style_function=lambda f: {"fill": False, "color": "#08306b", "weight": 3},
        tooltip=folium.GeoJsonTooltip(
            ["name", "grids", "households"], [_("Community"), _("Grids"), _("Households")]
        ),
    ).add_to(community_layer)
    community_layer.add_to(m)

    grid_cmap.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _grid_fill_layer(
    grids: gpd.GeoDataFrame, grid_cmap: cm.LinearColormap, _: Gettext
) -> folium.FeatureGroup:
    """The grids filled by households, with a popup of their figures."""
    grid_layer = folium.FeatureGroup(name=_("Grids"), show=True)
    grid_data = grids.assign(
        target=grids["target_households"].fillna(0).astype(int),
        leader=grids["leader"].fillna(""),
    )
    SafeGeoJson(
        _rounded(
            grid_data,
            [
                "code",
                "name",
                "community_name",
                "leader",
                "households",
                "residents",
                "buildings",
                "target",
            ],
        ),
        name=_("Grids"),
        style_function=lambda f: {
            "fillColor": grid_cmap(f["properties"]["households"]),
            "color": "#555555",
            "weight": 1,
            "fillOpacity": 0.55,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#1f4e79"},
        tooltip=folium.GeoJsonTooltip(["name", "households"], [_("Grid"), _("Households")]),
        popup=folium.GeoJsonPopup(_GRID_POPUP_FIELDS, _grid_popup_labels(_)),
    ).add_to(grid_layer)
    return grid_layer


def _building_fill_layer(buildings: gpd.GeoDataFrame, _: Gettext) -> folium.FeatureGroup:
    """The buildings filled by households (outlines simplified to ~0.5 m)."""
    building_cmap = households_colormap(buildings["households"], _("Households per building"))
    building_layer = folium.FeatureGroup(name=_("Buildings"), show=True)
    b = buildings.assign(
        address=buildings["address"].fillna(""), floors=buildings["floors"].fillna(0).astype(int)
    )
    SafeGeoJson(
        _rounded(b, ["address", "households", "floors", "use"], tolerance_deg=0.000005),
        name=_("Buildings"),
        style_function=lambda f: {
            "fillColor": building_cmap(f["properties"]["households"]),
            "color": "#444444",
            "weight": 0.5,
            "fillOpacity": 0.9,
        },
        tooltip=folium.GeoJsonTooltip(
            ["address", "households", "floors"], [_("Address"), _("Households"), _("Floors")]
        ),
    ).add_to(building_layer)
    return building_layer


# --- the live overview: layers loaded from the server by bbox and zoom ------------------------
GRID_COLORS = ["#ffffcc", "#fd8d3c", "#bd0026"]
SITE_STATE_COLORS = {"overdue": "#d7191c", "ok": "#1a9641"}


def street_map(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    *,
    urls: dict[str, str],
    buildings_as_tiles: bool,
    focus: tuple[float, float] | None = None,
    fit: tuple[float, float, float, float] | None = None,
    boundaries: dict[str, tuple[float, float, float, float]] | None = None,
    _: Gettext = _identity,
) -> tuple[folium.Map, list[MacroElement]]:
    """The street overview for everyday use, its layers loaded by bbox and zoom.

    Community outlines are embedded (a handful); grids, buildings, key sites and facilities
    are loaded from their endpoints.

    Parameters
    ----------
    communities : geopandas.GeoDataFrame
        Communities (code, name, grids, households), EPSG:4326.
    grids : geopandas.GeoDataFrame
        Grids (households), EPSG:4326: their extent and colour scale.
    urls : dict of str to str
        Layer endpoints by layer name; ``tiles`` is the building vector-tile template,
        ``building`` the popup endpoint with ``__ID__``, ``grid_page`` the grid page
        with ``__ID__``.
    buildings_as_tiles : bool
        Load buildings as vector tiles rather than GeoJSON.
    focus : tuple of float, optional
        (lon, lat) of a search result to open the map on.
    fit : tuple of float, optional
        (minx, miny, maxx, maxy) extent to show instead of the communities'.
    boundaries : dict, optional
        The district and street layers that hold rows, with their extent; each is drawn
        (outline and name) from its endpoint.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    tuple of folium.Map and list of MacroElement
        The map and its legends (for :func:`gridmap.maps.standard.finish_map`).
    """
    boundaries = boundaries or {}
    bounds = _street_bounds(communities, grids, boundaries)
    m = base_map(fit or bounds)
    _add_boundaries(m, urls, boundaries, _)
    box = list(bounds) if bounds else None
    grid_stops = ramp(grids["households"] if len(grids) else [1], GRID_COLORS)
    _add_grids(m, urls, box, grid_stops, _)
    _add_buildings(m, urls, buildings_as_tiles, _)
    _add_sites_and_facilities(m, urls, box, _)
    community_layer = folium.FeatureGroup(name=_("Communities"), show=True)
    if len(communities):
        SafeGeoJson(
            _rounded(communities, ["code", "name", "grids", "households"]),
            style_function=lambda f: {"fill": False, "color": "#08306b", "weight": 3},
            tooltip=folium.GeoJsonTooltip(
                ["name", "grids", "households"], [_("Community"), _("Grids"), _("Households")]
            ),
        ).add_to(community_layer)
    community_layer.add_to(m)
    if focus is not None:
        _focus_on(m, focus, _)
    households_cmap = households_colormap([grid_stops[-1][0]], _("Households per grid"))
    households_cmap.add_to(m)
    legends: list[MacroElement] = [
        Legend(
            _("Key sites"),
            [
                (SITE_STATE_COLORS["ok"], _("Inspection up to date"), "dot"),
                (SITE_STATE_COLORS["overdue"], _("Inspection overdue"), "dot"),
            ],
        )
    ]
    return m, legends


def _street_bounds(
    communities: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    boundaries: dict[str, tuple[float, float, float, float]],
) -> tuple[float, float, float, float] | None:
    """The extent of the communities, else of the grids, else of the street or district."""
    return (
        tuple(communities.total_bounds)
        if len(communities)
        else (
            tuple(grids.total_bounds)
            if len(grids)
            else boundaries.get("streets") or boundaries.get("districts")
        )
    )


def _add_grids(
    m: folium.Map,
    urls: dict[str, str],
    box: list[float] | None,
    grid_stops: list[list[Any]],
    _: Gettext,
) -> None:
    """The grids filled by households, each popup linking to the grid's page."""
    DynamicGeoJson(
        urls["grids"],
        name=_("Grids"),
        style={
            "fillColor": {"property": "households", "stops": grid_stops},
            "color": "#555555",
            "weight": 1,
            "fillOpacity": 0.45,
        },
        fetch=LayerFetch(once=True, bbox=box),
        tooltip="name",
        popup=popup_spec(
            _GRID_POPUP_FIELDS,
            _grid_popup_labels(_),
            link={"field": "code", "href": urls["grid_page"], "label": _("Open the grid page")},
        ),
    ).add_to(m)


def _add_boundaries(
    m: folium.Map,
    urls: dict[str, str],
    boundaries: dict[str, tuple[float, float, float, float]],
    _: Gettext,
) -> None:
    """The district and street outlines (dashed, named), each loaded once from its endpoint."""
    for layer, name, colour, weight in (
        ("districts", _("Districts"), "#54278f", 3),
        ("streets", _("Streets"), "#807dba", 2),
    ):
        if layer in boundaries:
            DynamicGeoJson(
                urls[layer],
                name=name,
                style={"fill": False, "color": colour, "weight": weight, "dashArray": "6 4"},
                fetch=LayerFetch(once=True, bbox=list(boundaries[layer])),
                label="name",
            ).add_to(m)


def _add_sites_and_facilities(
    m: folium.Map, urls: dict[str, str], box: list[float] | None, _: Gettext
) -> None:
    """Key sites (coloured by inspection state) and service facilities, hidden at first."""
    DynamicGeoJson(
        urls["key_sites"],
        name=_("Key sites"),
        show=False,
        style={
            "radius": 6,
            "weight": 1,
            "color": "#333333",
            "fillOpacity": 0.9,
            "fillColor": {"property": "status", "map": SITE_STATE_COLORS, "default": "#888888"},
        },
        fetch=LayerFetch(once=True, bbox=box),
        tooltip="name",
        popup=popup_spec(
            ["name", "category_label", "address", "last", "grid_code"],
            [_("Key site"), _("Category"), _("Address"), _("Last inspection"), _("Grid")],
        ),
    ).add_to(m)
    DynamicGeoJson(
        urls["facilities"],
        name=_("Service facilities"),
        show=False,
        style={
            "radius": 5,
            "weight": 1,
            "color": "#08519c",
            "fillColor": "#6baed6",
            "fillOpacity": 0.9,
        },
        fetch=LayerFetch(once=True, bbox=box),
        tooltip="name",
        popup=popup_spec(["name", "category_label"], [_("Facility"), _("Category")]),
    ).add_to(m)


def _add_buildings(m: folium.Map, urls: dict[str, str], as_tiles: bool, _: Gettext) -> None:
    """Buildings coloured by households: vector tiles from zoom 13, or GeoJSON from zoom 14."""
    building_style = {
        "fillColor": {"property": "households", "stops": ramp([120], GRID_COLORS)},
        "color": "#444444",
        "weight": 0.5,
        "fillOpacity": 0.9,
    }
    building_popup = popup_spec(
        ["address", "households", "residents", "floors", "use", "grid_code"],
        [_("Address"), _("Households"), _("Residents"), _("Floors"), _("Use"), _("Grid")],
    )
    if as_tiles:
        VectorTiles(
            urls["tiles"],
            name=_("Buildings"),
            layer_name="buildings",
            style=building_style,
            popup_url=urls["building"],
            popup=building_popup,
            min_zoom=13,
        ).add_to(m)
    else:
        DynamicGeoJson(
            urls["buildings"],
            name=_("Buildings"),
            style=building_style,
            fetch=LayerFetch(min_zoom=14),
            tooltip="address",
            popup=popup_spec(
                ["address", "households", "floors", "use", "grid_code"],
                [_("Address"), _("Households"), _("Floors"), _("Use"), _("Grid")],
            ),
        ).add_to(m)


def _focus_on(m: folium.Map, focus: tuple[float, float], _: Gettext) -> None:
    """Mark the search result and open the map on it, at zoom 18, instead of the fitted extent."""
    folium.Marker([focus[1], focus[0]], tooltip=_("Search result")).add_to(m)
    m.location = [focus[1], focus[0]]
    for key in [k for k, c in m._children.items() if type(c).__name__ == "FitBounds"]:
        del m._children[key]
    m.options["zoom"] = 18
