"""My grid: the grid's boundary, its buildings by households, key sites by inspection
status (overdue in red), open hazards, and this week's patrolled / unpatrolled streets --
as a folium map for the screen and as an SVG for the printed A4 report."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import vocab
from gridmap.analysis.grids import to_metric
from gridmap.maps.hazards import OVERDUE_COLOR, STATUS_COLORS
from gridmap.maps.overview import Gettext, _identity, _rounded, base_map, households_colormap
from gridmap.maps.safe import SafeGeoJson
from gridmap.maps.standard import Legend

SITE_OK = "#1a9641"
SITE_OVERDUE = "#d7191c"
PATROLLED = "#1a9850"
UNPATROLLED = "#d73027"


def grid_map(
    boundary: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    cases: gpd.GeoDataFrame,
    patrolled: gpd.GeoDataFrame,
    unpatrolled: gpd.GeoDataFrame,
    *,
    lang: str = "zh",
    focus: tuple[float, float] | None = None,
    hazard_url: str | None = None,
    _: Gettext = _identity,
) -> tuple[folium.Map, list[Legend]]:
    """The map of one grid: its outline, buildings, key sites, open hazards and patrolled streets.

    All frames are EPSG:4326 (see ``geodata.db.mygrid.GridView`` for the columns).

    Parameters
    ----------
    boundary : geopandas.GeoDataFrame
        The grid's outline.
    buildings : geopandas.GeoDataFrame
        The grid's buildings.
    sites : geopandas.GeoDataFrame
        Its key sites.
    cases : geopandas.GeoDataFrame
        Its open hazard cases.
    patrolled, unpatrolled : geopandas.GeoDataFrame
        Its street segments walked and not walked on patrol.
    lang : str
        ``zh`` or ``en`` for the category and status names.
    focus : tuple of float, optional
        (lon, lat) of a search result, marked on the map.
    hazard_url : str, optional
        Link of a case's page, with ``__ID__`` for the case code.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    tuple of folium.Map and list of Legend
        The map and its legend.
    """
    m = base_map(tuple(boundary.total_bounds))
    SafeGeoJson(
        _rounded(boundary.assign(name=boundary["name"].fillna("")), ["code", "name"]),
        name=_("Grid boundary"),
        style_function=lambda f: {"fill": False, "color": "#08306b", "weight": 3},
    ).add_to(m)
    cmap = households_colormap(buildings["households"], _("Households per building"))
    if len(buildings):
        _add_buildings(m, buildings, cmap, lang, _)
    _add_streets(m, patrolled, unpatrolled, _)
    _add_key_sites(m, sites, lang, _)
    _add_hazards(m, cases, lang, hazard_url, _)
    cmap.add_to(m)
    if focus is not None:
        folium.Marker([focus[1], focus[0]], tooltip=_("Search result")).add_to(m)
    legend = Legend(
        _("Legend"),
        [
            (SITE_OK, _("Key site, inspection up to date"), "dot"),
            (SITE_OVERDUE, _("Key site, inspection overdue"), "dot"),
            (OVERDUE_COLOR, _("Hazard overdue"), "dot"),  # drawn as circles, like the sites
            (STATUS_COLORS["assigned"], _("Hazard open"), "dot"),
            (PATROLLED, _("Patrolled street"), "line"),
            (UNPATROLLED, _("Unpatrolled street"), "line"),
        ],
    )
    return m, [legend]


def _add_buildings(
    m: folium.Map, buildings: gpd.GeoDataFrame, cmap: cm.LinearColormap, lang: str, _: Gettext
) -> None:
    """The grid's buildings filled by households, with their address, floors and use."""
    b = buildings.assign(
        address=buildings["address"].fillna(buildings["code"]),
        floors=buildings["floors"].fillna(0).astype(int),
        use=[vocab.label(vocab.BUILDING_USES, u, lang) for u in buildings["use"]],
    )
    SafeGeoJson(
        _rounded(b, ["address", "households", "floors", "use"]),
        name=_("Buildings"),
        style_function=lambda f: {
            "fillColor": cmap(f["properties"]["households"]),
            "color": "#444444",
            "weight": 0.6,
            "fillOpacity": 0.85,
        },
        tooltip=folium.GeoJsonTooltip(["address", "households"], [_("Address"), _("Households")]),
        popup=folium.GeoJsonPopup(
            ["address", "households", "floors", "use"],
            [_("Address"), _("Households"), _("Floors"), _("Use")],
        ),
    ).add_to(m)


def _add_streets(
    m: folium.Map, patrolled: gpd.GeoDataFrame, unpatrolled: gpd.GeoDataFrame, _: Gettext
) -> None:
    """The streets walked and not walked on patrol in the last 7 days, one layer each."""
    for frame, name, color, show in (
        (patrolled, _("Patrolled streets (7 days)"), PATROLLED, True),
        (unpatrolled, _("Unpatrolled streets (7 days)"), UNPATROLLED, True),
    ):
        layer = folium.FeatureGroup(name=name, show=show)
        if len(frame):
            f = frame.assign(name=frame["name"].fillna(""), length_m=frame["length_m"].round(0))
            SafeGeoJson(
                _rounded(f, ["name", "length_m"]),
                style_function=lambda x, c=color: {"color": c, "weight": 4, "opacity": 0.85},
                tooltip=folium.GeoJsonTooltip(["name", "length_m"], [_("Street"), _("Length (m)")]),
            ).add_to(layer)
        layer.add_to(m)


def _add_key_sites(m: folium.Map, sites: gpd.GeoDataFrame, lang: str, _: Gettext) -> None:
    """The key-site layer: one dot per site, red when its inspection is overdue."""
    site_layer = folium.FeatureGroup(name=_("Key sites"), show=True)
    if len(sites):
        cats = vocab.labels(vocab.KEY_SITE_CATEGORIES, lang)
        s = sites.assign(
            name=sites["name"].fillna(""),
            category=sites["category"].map(cats).fillna(sites["category"]),
            last=pd.to_datetime(sites["last_inspected"]).dt.strftime("%Y-%m-%d").fillna(_("never")),
            color=np.where(sites["overdue"], SITE_OVERDUE, SITE_OK),
            state=np.where(sites["overdue"], _("Inspection overdue"), _("Inspection up to date")),
        )
        SafeGeoJson(
            _rounded(s, ["name", "category", "last", "color", "state"]),
            marker=folium.CircleMarker(radius=6, fill=True, weight=1, fill_opacity=0.95),
            style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#222222"},
            tooltip=folium.GeoJsonTooltip(["name", "state"], [_("Key site"), _("Status")]),
            popup=folium.GeoJsonPopup(
                ["name", "category", "last", "state"],
                [_("Key site"), _("Category"), _("Last inspection"), _("Status")],
            ),
        ).add_to(site_layer)
    site_layer.add_to(m)


def _add_hazards(
    m: folium.Map, cases: gpd.GeoDataFrame, lang: str, hazard_url: str | None, _: Gettext
) -> None:
    """The open-hazard layer: one dot per case, linked to its page when ``hazard_url`` is given."""
    hazard_layer = folium.FeatureGroup(name=_("Open hazards"), show=True)
    if len(cases):
        labels = vocab.labels(vocab.HAZARD_STATUSES, lang)
        h = cases.assign(
            link=[
                f'<a href="{html.escape(hazard_url.replace("__ID__", c))}">{html.escape(c)}</a>'
                if hazard_url
                else html.escape(c)
                for c in cases["code"]
            ],
            status_label=cases["status"].map(labels),
            deadline=pd.to_datetime(cases["deadline"]).dt.strftime("%Y-%m-%d").fillna(""),
            color=[
                OVERDUE_COLOR if o else STATUS_COLORS.get(st, "#888")
                for st, o in zip(cases["status"], cases["overdue"], strict=True)
            ],
        )
        SafeGeoJson(
            _rounded(h, ["code", "link", "status_label", "deadline", "color"]),
            markup=("link",),
            marker=folium.CircleMarker(radius=9, fill=True, fill_opacity=0.95, weight=3),
            style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(["code", "status_label"], [_("Case"), _("Status")]),
            popup=folium.GeoJsonPopup(
                ["link", "status_label", "deadline"], [_("Case"), _("Status"), _("Deadline")]
            ),
        ).add_to(hazard_layer)
    hazard_layer.add_to(m)


# --- SVG for print ----------------------------------------------------------------------------
def _path(geom: Any, tx: Callable[[np.ndarray], np.ndarray]) -> str:
    parts = []
    gtype = geom.geom_type
    if gtype in ("Polygon", "MultiPolygon"):
        for poly in getattr(geom, "geoms", [geom]):
            for ring in [poly.exterior, *poly.interiors]:
                xy = tx(np.asarray(ring.coords))
                parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + " Z")
    elif gtype in ("LineString", "MultiLineString"):
        for line in getattr(geom, "geoms", [geom]):
            xy = tx(np.asarray(line.coords))
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in xy))
    return " ".join(parts)


def _nice_length(max_m: float) -> float:
    exp: float = 10 ** math.floor(math.log10(max_m))
    for f in (5, 2, 1):
        if f * exp <= max_m:
            return f * exp
    return exp


def grid_svg(
    boundary: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    cases: gpd.GeoDataFrame,
    patrolled: gpd.GeoDataFrame,
    unpatrolled: gpd.GeoDataFrame,
    *,
    width: float = 180.0,
    height: float = 120.0,
    north: str = "N",
) -> str:
    """An SVG map of the grid for printing, drawn at true scale in the local metric CRS.

    It has a scale bar and a north arrow. Key sites are numbered circles and hazards
    numbered triangles, in the order of the frames, so the report's tables can refer to them.

    Parameters
    ----------
    boundary : geopandas.GeoDataFrame
        The grid's outline (EPSG:4326).
    buildings, sites, cases : geopandas.GeoDataFrame
        Its buildings, key sites and open hazard cases (EPSG:4326).
    patrolled, unpatrolled : geopandas.GeoDataFrame
        Its street segments walked and not walked on patrol (EPSG:4326).
    width, height : float
        Size of the drawing in millimetres.
    north : str
        Letter of the north arrow.

    Returns
    -------
    str
        The SVG document.
    """
    metric = to_metric(boundary)
    crs = metric.crs
    minx, miny, maxx, maxy = metric.total_bounds
    pad = 0.06 * max(maxx - minx, maxy - miny)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    scale = min(width / (maxx - minx), height / (maxy - miny))  # mm per metre
    ox = (width - (maxx - minx) * scale) / 2
    oy = (height - (maxy - miny) * scale) / 2

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (xy[:, 0] - minx) * scale, oy + (maxy - xy[:, 1]) * scale])

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gm-print-map" width="{width}mm" '
        f'height="{height}mm" viewBox="0 0 {width} {height}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff" stroke="#999" stroke-width="0.2"/>',
    ]
    for g in buildings.to_crs(crs).geometry if len(buildings) else []:
        out.append(f'<path d="{_path(g, tx)}" fill="#d9d9d9" stroke="#555" stroke-width="0.12"/>')
    for frame, color in ((patrolled, PATROLLED), (unpatrolled, UNPATROLLED)):
        for g in frame.to_crs(crs).geometry if len(frame) else []:
            out.append(
                f'<path d="{_path(g, tx)}" fill="none" stroke="{color}" stroke-width="0.7" '
                f'stroke-linecap="round"/>'
            )
    for g in metric.geometry:
        out.append(f'<path d="{_path(g, tx)}" fill="none" stroke="#08306b" stroke-width="0.8"/>')
    out += _svg_markers(sites, cases, crs, tx)
    out += _svg_scale_and_north(width, height, scale, north)
    out.append("</svg>")
    return "".join(out)


def _svg_markers(
    sites: gpd.GeoDataFrame, cases: gpd.GeoDataFrame, crs: Any, tx: Callable[..., np.ndarray]
) -> list[str]:
    """Numbered circles for the key sites and numbered triangles for the hazards."""
    out = []
    for i, g in enumerate(sites.to_crs(crs).geometry if len(sites) else [], start=1):
        x, y = tx(np.asarray(g.coords))[0]
        color = SITE_OVERDUE if bool(sites["overdue"].iloc[i - 1]) else SITE_OK
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{color}" stroke="#000" stroke-width="0.2"/>'
            f'<text x="{x:.1f}" y="{y + 0.9:.1f}" font-size="2.4" text-anchor="middle" fill="#fff">{i}</text>'
        )
    for i, g in enumerate(cases.to_crs(crs).geometry if len(cases) else [], start=1):
        x, y = tx(np.asarray(g.coords))[0]
        color = OVERDUE_COLOR if bool(cases["overdue"].iloc[i - 1]) else STATUS_COLORS["assigned"]
        out.append(
            f'<path d="M{x:.1f},{y - 2.6:.1f} L{x + 2.4:.1f},{y + 1.6:.1f} L{x - 2.4:.1f},{y + 1.6:.1f} Z" '
            f'fill="{color}" stroke="#000" stroke-width="0.2"/>'
            f'<text x="{x:.1f}" y="{y + 1.1:.1f}" font-size="2.2" text-anchor="middle" fill="#fff">{i}</text>'
        )
    return out


def _svg_scale_and_north(width: float, height: float, scale: float, north: str) -> list[str]:
    """A scale bar of a round length near a fifth of the width, and the north arrow
    (``scale`` in millimetres per metre)."""
    bar_m = _nice_length((width / 5) / scale)
    bar = bar_m * scale
    label = f"{bar_m:g} m" if bar_m < 1000 else f"{bar_m / 1000:g} km"
    return [
        f'<g font-size="2.6"><rect x="5" y="{height - 7}" width="{bar:.1f}" height="1.4" fill="#000"/>'
        f'<text x="5" y="{height - 8.5}">{label}</text></g>',
        f'<g transform="translate({width - 8},10)"><path d="M0,-6 L3,3 L0,1 L-3,3 Z" fill="#000"/>'
        f'<text x="0" y="8" font-size="3" text-anchor="middle">{html.escape(north)}</text></g>',
    ]


def svg_scale_m_per_mm(
    boundary: gpd.GeoDataFrame, *, width: float = 180.0, height: float = 120.0
) -> float:
    """Metres on the ground per millimetre on paper of :func:`grid_svg` (for the caption).

    Parameters
    ----------
    boundary : geopandas.GeoDataFrame
        The grid's outline (EPSG:4326).
    width, height : float
        Size of the drawing in millimetres.

    Returns
    -------
    float
        Metres per millimetre.
    """
    metric = to_metric(boundary)
    minx, miny, maxx, maxy = metric.total_bounds
    pad = 0.06 * max(maxx - minx, maxy - miny)
    m_per_mm: float = 1.0 / min(width / (maxx - minx + 2 * pad), height / (maxy - miny + 2 * pad))
    return m_per_mm
