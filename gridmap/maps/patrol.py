"""The patrol map: grids by street coverage, patrolled and unpatrolled streets, the
cleaned tracks and the overdue key sites.

The page carries only the map's frame and the style of each layer; the browser fetches
the features from the page's layer endpoint (``patrol_layer_frames`` gives what each layer
sends), so a month of thousands of tracks is not written into the HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import vocab
from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import _identity, base_map
from gridmap.maps.standard import Legend

Gettext = Callable[[str], str]
COVERAGE_COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]
PATROLLED, UNPATROLLED, TRACK, OVERDUE = "#1a9850", "#d73027", "#2c7fb8", "#ef3b2c"
PATROL_LAYERS = ("grids", "patrolled", "unpatrolled", "tracks", "overdue")


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


def patrol_layer_frames(
    grids: gpd.GeoDataFrame,
    coverage: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    tracks: Callable[[], gpd.GeoDataFrame],
    overdue: gpd.GeoDataFrame,
    *,
    only: str | None = None,
    lang: str = "zh",
    _: Gettext = _identity,
) -> dict[str, tuple[gpd.GeoDataFrame, list[str]]]:
    """Each layer of the patrol map (or the ``only`` one) as its endpoint sends it.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        code, name, geometry (EPSG:4326).
    coverage : pandas.DataFrame
        One row per grid_code: street_pct, buildings_pct, households_pct, key_sites_pct,
        patrol_km.
    segments : geopandas.GeoDataFrame
        Street segments: name, highway, length_m, share, patrolled.
    tracks : callable
        Gives the tracks (patroller, started_at, length_m); called only when the tracks are
        asked for.
    overdue : geopandas.GeoDataFrame
        Key sites overdue for inspection: name, category, grid_code, last_inspected,
        days_overdue.
    only : str, optional
        The one layer wanted (a ``PATROL_LAYERS`` name); all when None.
    lang : str
        ``zh`` or ``en`` for the key-site categories.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    dict
        Layer name -> (frame in EPSG:4326, the properties it sends).
    """
    pcts = ("street_pct", "buildings_pct", "households_pct", "key_sites_pct")
    seg_props = ["name", "highway", "length_m", "share"]

    def grid_layer() -> tuple[pd.DataFrame, list[str]]:
        cov = coverage.set_index("grid_code")
        g = grids[["code", "name", "geometry"]].copy()
        for col in (*pcts, "patrol_km"):
            g[col] = cov[col].reindex(g["code"]).to_numpy() if col in cov else np.nan
        g = g.assign(**{c: g[c].astype(float).round(1) for c in (*pcts, "patrol_km")})
        return g, ["code", "name", *pcts, "patrol_km"]

    def street_layer(patrolled: bool) -> tuple[pd.DataFrame, list[str]]:
        part = segments[segments["patrolled"].astype(bool) == patrolled].to_crs(4326)
        return part.assign(
            name=part["name"].fillna(""),
            length_m=part["length_m"].round(0),
            share=(100 * part["share"]).round(0),
        ), seg_props

    def track_layer() -> tuple[pd.DataFrame, list[str]]:
        t = tracks()
        return t.assign(
            started_at=pd.to_datetime(t["started_at"]).dt.strftime("%Y-%m-%d %H:%M"),
            length_m=t["length_m"].round(0),
        ), ["patroller", "started_at", "length_m"]

    build = {
        "grids": grid_layer,
        "patrolled": lambda: street_layer(True),
        "unpatrolled": lambda: street_layer(False),
        "tracks": track_layer,
        "overdue": lambda: _overdue_layer(overdue, lang, _),
    }
    return {name: build[name]() for name in PATROL_LAYERS if only in (None, name)}


def _overdue_layer(
    overdue: gpd.GeoDataFrame, lang: str, _: Gettext
) -> tuple[pd.DataFrame, list[str]]:
    """The overdue key sites with their category in ``lang`` and readable dates."""
    names = vocab.labels(vocab.KEY_SITE_CATEGORIES, lang)
    o = overdue.assign(
        category=overdue["category"].map(names).fillna(overdue["category"]),
        last=pd.to_datetime(overdue["last_inspected"]).dt.strftime("%Y-%m-%d").fillna(_("never")),
        days=overdue["days_overdue"].map(
            lambda d: _("never inspected") if np.isinf(d) else f"{d:.0f}"
        ),
    )
    return o, ["name", "category", "grid_code", "last", "days"]


def patrol_map(
    bounds: tuple[float, float, float, float] | None,
    urls: dict[str, str],
    *,
    params: dict[str, str] | None = None,
    _: Gettext = _identity,
    tracks_label: str | None = None,
) -> folium.Map:
    """The patrol map's frame: each layer is fetched by the browser, not embedded.

    Parameters
    ----------
    bounds : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326 the map is fitted to and the layers asked for.
    urls : dict of str to str
        The endpoint of each ``PATROL_LAYERS`` name.
    params : dict of str to str, optional
        Query parameters sent with every layer request (the page's period, split, shift
        and grid).
    _ : callable
        Translation of the fixed texts.
    tracks_label : str, optional
        Name of the tracks layer (default "Patrol tracks").

    Returns
    -------
    folium.Map
        The map, with its coverage scale and legend.
    """
    m = base_map(bounds)
    cmap = coverage_colormap(_("Street coverage (%)"))
    box = list(bounds) if bounds is not None else None
    for name, title, style, kw in _patrol_layer_specs(tracks_label, _):
        DynamicGeoJson(
            urls[name],
            name=title,
            style=style,
            fetch=LayerFetch(params=params, bbox=box, once=True),
            **kw,
        ).add_to(m)
    cmap.add_to(m)
    Legend(
        _("Legend"),
        [
            (PATROLLED, _("Patrolled streets"), "line"),
            (UNPATROLLED, _("Unpatrolled streets"), "line"),
            (TRACK, tracks_label or _("Patrol tracks"), "line"),
            (OVERDUE, _("Overdue inspections"), "dot"),
        ],
    ).add_to(m)
    return m


def _patrol_layer_specs(
    tracks_label: str | None, _: Gettext
) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, title, style, other options) of each patrol layer, in drawing order."""
    stops = [[100 * i / (len(COVERAGE_COLORS) - 1), c] for i, c in enumerate(COVERAGE_COLORS)]
    street_popup = popup_spec(
        ["name", "length_m", "share"], [_("Street"), _("Length (m)"), _("Covered %")]
    )
    return [
        (
            "grids",
            _("Grids by street coverage"),
            {
                "fillColor": {"property": "street_pct", "stops": stops},
                "color": "#555555",
                "weight": 1,
                "fillOpacity": 0.35,
            },
            {"tooltip": "name", "popup": _grid_coverage_popup(_)},
        ),
        (
            "patrolled",
            _("Patrolled streets"),
            {"color": PATROLLED, "weight": 3, "opacity": 0.9},
            {"tooltip": "name", "popup": street_popup},
        ),
        (
            "unpatrolled",
            _("Unpatrolled streets"),
            {"color": UNPATROLLED, "weight": 3, "opacity": 0.9},
            {"tooltip": "name", "popup": street_popup},
        ),
        (
            "tracks",
            tracks_label or _("Patrol tracks"),
            {"color": TRACK, "weight": 1.5, "opacity": 0.6},
            {
                "show": False,
                "tooltip": "patroller",
                "popup": popup_spec(
                    ["patroller", "started_at", "length_m"],
                    [_("Patroller"), _("Started"), _("Length (m)")],
                ),
            },
        ),
        (
            "overdue",
            _("Overdue inspections"),
            {
                "radius": 6,
                "color": "#7f0000",
                "fillColor": OVERDUE,
                "fillOpacity": 0.9,
                "weight": 1,
            },
            {
                "tooltip": "name",
                "popup": popup_spec(
                    ["name", "category", "grid_code", "last", "days"],
                    [
                        _("Key site"),
                        _("Category"),
                        _("Grid"),
                        _("Last inspection"),
                        _("Days overdue"),
                    ],
                ),
            },
        ),
    ]


def _grid_coverage_popup(_: Gettext) -> dict[str, Any]:
    """The popup of a grid: its code, name and each coverage figure."""
    return popup_spec(
        [
            "code",
            "name",
            "street_pct",
            "buildings_pct",
            "households_pct",
            "key_sites_pct",
            "patrol_km",
        ],
        [
            _("Code"),
            _("Grid"),
            _("Streets %"),
            _("Buildings %"),
            _("Households %"),
            _("Key sites %"),
            _("Patrol km"),
        ],
    )
