"""The planner's reachability map: isochrones, covered and uncovered buildings, gaps,
facilities and suggested new sites for one facility category.

Pure folium: frames in (EPSG:4326), a ``folium.Map`` out. The walking speed and the method
(network, or straight-line ESTIMATE) are written on the map itself.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import MacroElement
from jinja2 import Template

from gridmap.maps.layers import DynamicGeoJson, LayerFetch, popup_spec
from gridmap.maps.overview import base_map
from gridmap.maps.safe import SafeGeoJson, safe_text
from gridmap.units import minutes_for

Gettext = Callable[[str], str]

ISO_COLORS = {0: "#1a9850", 1: "#91cf60", 2: "#d9ef8b", 3: "#fee08b"}  # nearest first
COVERED = "#2b83ba"
PAPER_ONLY = "#e7298a"  # inside the service radius, beyond the walk
UNCOVERED = "#d7191c"
ISO_FILL = ISO_COLORS[0]
CIRCLE = "#08519c"
OTHER = "#bdbdbd"
GAP = "#fdae61"
FACILITY = "#4d004b"
SITE = "#7b3294"


def _identity(s: str) -> str:
    return s


class Legend(MacroElement):
    """A Leaflet control in a map corner holding ready-made HTML (styled inline)."""

    _template = Template("""{% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create('div', 'gm-reach-legend');
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self, html: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.position = position


def _swatch(color: str, *, kind: str = "box") -> str:
    """A legend key: 'box' (solid), 'dot' (a marker), 'fill' (translucent area, as the
    isochrones are drawn) or 'ring' (a dashed outline, as the circles are)."""
    radius = "50%" if kind in ("dot", "ring") else "2px"
    fill = {
        "fill": f"background:{color}59;border:1px solid {color}",
        "ring": f"background:transparent;border:2px dashed {color}",
    }.get(kind, f"background:{color};border:1px solid rgba(0,0,0,.35)")
    return (
        f'<span style="display:inline-block;width:12px;height:12px;margin-right:6px;'
        f'vertical-align:middle;{fill};border-radius:{radius}"></span>'
    )


def _geojson(frame: gpd.GeoDataFrame, columns: list[str], *, simplify_deg: float = 0.0) -> str:
    out = frame[columns + ["geometry"]].copy()
    if simplify_deg:
        out["geometry"] = out.geometry.simplify(simplify_deg, preserve_topology=True)
    # 6 decimals of a degree (~0.1 m): what a screen resolves, a third of the text
    out["geometry"] = shapely.transform(np.asarray(out.geometry.values), lambda xy: np.round(xy, 6))
    for c in columns:
        if out[c].dtype.kind == "f":
            out[c] = out[c].round(1)
    text: str = out.to_json(drop_id=True, na="null", show_bbox=False, separators=(",", ":"))
    return text


def building_layer_frame(buildings: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The planner's buildings as their layer sends them, and the properties it sends.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        The buildings as :func:`reach_map` takes them (EPSG:4326).

    Returns
    -------
    tuple of geopandas.GeoDataFrame and list of str
        The frame, rounded and without missing texts, and its properties.
    """
    b = buildings.assign(
        address=buildings["address"].fillna(""),
        facility_name=buildings["facility_name"].fillna(""),
        distance_m=buildings["distance_m"].round(0),
        minutes=buildings["minutes"].round(1),
    )
    return b, [
        "address",
        "residents",
        "households",
        "distance_m",
        "minutes",
        "facility_name",
        "state",
    ]


@dataclass(frozen=True)
class ReachMeasure:
    """What a reach map measures: one facility category at one threshold, and how.

    ``distance_m`` is the walking distance in metres, ``minutes`` the same at
    ``speed_kmh`` (km/h); ``estimate`` marks a straight-line estimate rather than the
    walking network; ``method_text`` replaces the default description of the method.
    """

    category_label: str
    distance_m: float
    minutes: float
    speed_kmh: float
    estimate: bool
    method_text: str | None = None


def reach_map(
    buildings: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    isochrones: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    *,
    measure: ReachMeasure,
    _: Gettext = _identity,
    tiles: str | None = None,
    buildings_url: str | None = None,
    params: dict[str, Any] | None = None,
) -> folium.Map:
    """The map of one category at one threshold.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        address, residents, households, distance_m (NaN beyond the cutoff), minutes,
        facility_name, state (covered / paper_only / uncovered / other), geometry
        (EPSG:4326).
    facilities : geopandas.GeoDataFrame
        name, geometry (points).
    isochrones : geopandas.GeoDataFrame
        facility (None for the merged polygon of all facilities), name, distance_m,
        minutes, kind ('isochrone', 'estimate' or 'circle'), geometry; merged walking
        polygons are drawn per threshold, per-facility ones for ``distance_m`` in a layer
        that starts hidden; circles (the service radius) are drawn as outlines.
    gaps : geopandas.GeoDataFrame
        buildings, residents, households, geometry.
    sites : geopandas.GeoDataFrame, optional
        rank, residents_added, households_added, share_before, share_after, geometry.
    measure : ReachMeasure
        The category, threshold, walking speed and method, written on the map.
    _ : callable
        Translation of the fixed texts.
    tiles : str, optional
        Background tile layer (none by default).
    buildings_url : str, optional
        Endpoint the buildings are fetched from (:func:`building_layer_frame`); embedded
        when None.
    params : dict, optional
        Query parameters sent with the buildings request.

    Returns
    -------
    folium.Map
        The map with its legend and layer control.
    """
    frames = [f for f in (buildings, isochrones) if f is not None and len(f)]
    bounds = tuple(frames[0].total_bounds) if frames else None
    m = base_map(bounds, tiles=tiles)

    walked, circles, only_circles = _split_reach(isochrones, measure.estimate)
    _add_walked_reach(
        m,
        walked,
        only_circles=only_circles,
        distance_m=measure.distance_m,
        speed_kmh=measure.speed_kmh,
        _=_,
    )
    has_circles = _add_circles(m, circles, measure.distance_m, _)
    _add_gaps(m, gaps, _)
    _add_buildings(m, buildings, buildings_url, params, _)
    _add_facilities(m, facilities, sites, measure.category_label, _)
    legend = _legend_html(
        buildings, measure, only_circles=only_circles, has_circles=has_circles, _=_
    )
    m.add_child(Legend(legend))
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _split_reach(
    isochrones: gpd.GeoDataFrame, estimate: bool
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, bool]:
    """(walked reach, service-radius circles, whether the circles alone are the reach)."""
    if len(isochrones) and "kind" not in isochrones:
        isochrones = isochrones.assign(kind="estimate" if estimate else "isochrone")
    circles = isochrones[isochrones["kind"] == "circle"] if len(isochrones) else isochrones
    walked = isochrones[isochrones["kind"] != "circle"] if len(isochrones) else isochrones
    only_circles = len(walked) == 0 and len(circles) > 0
    if only_circles:  # the service radius alone: its circles are the reach
        walked = circles
        circles = circles.iloc[0:0]
    return walked, circles, only_circles


def _add_walked_reach(
    m: folium.Map,
    walked: gpd.GeoDataFrame,
    *,
    only_circles: bool,
    distance_m: float,
    speed_kmh: float,
    _: Gettext,
) -> None:
    """One layer per threshold of the merged reach (the one at ``distance_m`` shown), and
    each facility's own reach at ``distance_m`` in a layer that starts hidden."""
    merged = walked[walked["facility"].isna()] if len(walked) else walked
    levels = sorted(merged["distance_m"].unique(), reverse=True) if len(merged) else []
    for rank, d in enumerate(sorted(levels)):
        name = (
            _("Service radius %(m)s m") % {"m": f"{d:.0f}"}
            if only_circles
            else _("Reach within %(m)s m (%(min)s min)")
            % {"m": f"{d:.0f}", "min": f"{float(minutes_for(d, speed_kmh)):.1f}"}
        )
        layer = folium.FeatureGroup(
            name=name, show=bool(np.isclose(d, distance_m)) or len(levels) == 1
        )
        color = ISO_COLORS.get(rank, "#fee08b")
        SafeGeoJson(
            _geojson(
                merged[merged["distance_m"] == d], ["distance_m", "minutes"], simplify_deg=0.000005
            ),
            style_function=lambda _f, c=color: {
                "fillColor": c,
                "color": c,
                "weight": 1,
                "fillOpacity": 0.35,
            },
        ).add_to(layer)
        layer.add_to(m)

    per = (
        walked[walked["facility"].notna() & np.isclose(walked["distance_m"], distance_m)]
        if len(walked)
        else walked
    )
    if len(per):
        layer = folium.FeatureGroup(name=_("Each facility's reach"), show=False)
        SafeGeoJson(
            _geojson(
                per.assign(name=per["name"].fillna("")),
                ["name", "distance_m", "minutes"],
                simplify_deg=0.000005,
            ),
            style_function=lambda _f: {
                "fill": False,
                "color": "#1a9850",
                "weight": 1.5,
                "dashArray": "4 3",
            },
            tooltip=folium.GeoJsonTooltip(["name"], [_("Facility")]),
        ).add_to(layer)
        layer.add_to(m)


def _add_circles(m: folium.Map, circles: gpd.GeoDataFrame, distance_m: float, _: Gettext) -> bool:
    """The merged service-radius circles as dashed outlines; whether there were any."""
    merged_circles = circles[circles["facility"].isna()] if len(circles) else circles
    if len(merged_circles):
        layer = folium.FeatureGroup(
            name=_("Service radius %(m)s m") % {"m": f"{distance_m:.0f}"}, show=True
        )
        SafeGeoJson(
            _geojson(merged_circles, ["distance_m"], simplify_deg=0.000005),
            style_function=lambda _f: {
                "fill": False,
                "color": CIRCLE,
                "weight": 2,
                "dashArray": "6 4",
            },
        ).add_to(layer)
        layer.add_to(m)
    return bool(len(merged_circles))


def _add_gaps(m: folium.Map, gaps: gpd.GeoDataFrame, _: Gettext) -> None:
    """Residential areas outside the reach."""
    if len(gaps):
        layer = folium.FeatureGroup(name=_("Gaps (residential areas outside)"), show=True)
        SafeGeoJson(
            _geojson(gaps, ["buildings", "residents", "households"], simplify_deg=0.000005),
            style_function=lambda _f: {
                "fillColor": GAP,
                "color": "#e66101",
                "weight": 1.5,
                "fillOpacity": 0.35,
                "dashArray": "5 4",
            },
            tooltip=folium.GeoJsonTooltip(
                ["residents", "households", "buildings"],
                [_("Residents"), _("Households"), _("Buildings")],
            ),
        ).add_to(layer)
        layer.add_to(m)


def _add_buildings(
    m: folium.Map,
    buildings: gpd.GeoDataFrame,
    buildings_url: str | None,
    params: dict[str, Any] | None,
    _: Gettext,
) -> None:
    """Buildings coloured by coverage: fetched from ``buildings_url`` when given, else embedded."""
    if len(buildings):
        colors = {
            "covered": COVERED,
            "paper_only": PAPER_ONLY,
            "uncovered": UNCOVERED,
            "other": OTHER,
        }
        name = _("Buildings: covered / not covered")
        tip = (
            ["address", "residents", "distance_m", "minutes", "facility_name"],
            [_("Address"), _("Residents"), _("Distance (m)"), _("Minutes"), _("Nearest facility")],
        )
        if buildings_url is not None:
            DynamicGeoJson(
                buildings_url,
                name=name,
                style={
                    "fillColor": {"property": "state", "map": colors, "default": OTHER},
                    "color": "#444444",
                    "weight": 0.4,
                    "fillOpacity": 0.85,
                },
                fetch=LayerFetch(params=params, once=True, bbox=list(buildings.total_bounds)),
                tooltip="address",
                popup=popup_spec(*tip),
            ).add_to(m)
        else:
            b, columns = building_layer_frame(buildings)
            layer = folium.FeatureGroup(name=name, show=True)
            SafeGeoJson(
                _geojson(b, columns, simplify_deg=0.000003),
                style_function=lambda f: {
                    "fillColor": colors[f["properties"]["state"]],
                    "color": "#444444",
                    "weight": 0.4,
                    "fillOpacity": 0.85,
                },
                tooltip=folium.GeoJsonTooltip(*tip),
            ).add_to(layer)
            layer.add_to(m)


def _add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    category_label: str,
    _: Gettext,
) -> None:
    """The facilities, then the suggested new sites numbered by rank."""
    layer = folium.FeatureGroup(name=_("Facilities: %(c)s") % {"c": category_label}, show=True)
    for name, pt in zip(facilities["name"], facilities.geometry, strict=True):
        folium.CircleMarker(
            [pt.y, pt.x],
            radius=7,
            color="#ffffff",
            weight=2,
            fill=True,
            fill_color=FACILITY,
            fill_opacity=1.0,
            tooltip=safe_text(name),
        ).add_to(layer)
    layer.add_to(m)

    if sites is not None and len(sites):
        layer = folium.FeatureGroup(name=_("Suggested new sites"), show=True)
        for _i, s in sites.iterrows():
            text = _("New site %(rank)s: +%(res)s residents (%(before)s → %(after)s)") % {
                "rank": int(s["rank"]),
                "res": int(s["residents_added"]),
                "before": f"{100 * s['share_before']:.1f}%",
                "after": f"{100 * s['share_after']:.1f}%",
            }
            folium.CircleMarker(
                [s.geometry.y, s.geometry.x],
                radius=10,
                color=SITE,
                weight=3,
                fill=True,
                fill_color="#ffffff",
                fill_opacity=0.9,
                tooltip=safe_text(text),
            ).add_to(layer)
            folium.Marker(
                [s.geometry.y, s.geometry.x],
                icon=folium.DivIcon(
                    html=(
                        f'<div class="gm-site-rank" style="color:{SITE};font-weight:700;'
                        f'text-align:center;line-height:20px">{int(s["rank"])}</div>'
                    ),
                    icon_size=(20, 20),
                    icon_anchor=(10, 10),
                ),
            ).add_to(layer)
        layer.add_to(m)


def _legend_html(
    buildings: gpd.GeoDataFrame,
    measure: ReachMeasure,
    *,
    only_circles: bool,
    has_circles: bool,
    _: Gettext,
) -> str:
    """The legend: category, threshold, method (red when estimated) and one key per layer."""
    method = measure.method_text or (
        _("ESTIMATE: straight line × detour factor, no walking network")
        if measure.estimate
        else _("Network walking distance")
    )
    method_style = "color:#b00020;font-weight:700" if measure.estimate else "color:#555"
    entries = [
        (
            ISO_FILL,
            _("Service radius (circle)") if only_circles else _("Walking reach (isochrone)"),
            "fill",
        )
    ]
    if has_circles:
        entries.append((CIRCLE, _("Service radius (circle)"), "ring"))
    entries += [(COVERED, _("Covered"), "box")]
    if len(buildings) and (buildings["state"] == "paper_only").any():
        entries.append((PAPER_ONLY, _("Covered on paper only"), "box"))
    entries += [
        (UNCOVERED, _("Not covered"), "box"),
        (OTHER, _("Not residential"), "box"),
        (GAP, _("Gap"), "box"),
        (FACILITY, _("Facility"), "dot"),
        (SITE, _("Suggested site"), "dot"),
    ]
    rows = "".join(f"<div>{_swatch(c, kind=k)}{html.escape(text)}</div>" for c, text, k in entries)
    distance_m = measure.distance_m
    speed_text = (
        _("Within %(m)s m of a facility in a straight line") % {"m": f"{distance_m:.0f}"}
        if only_circles
        else _("Within %(m)s m = %(min)s min at %(v)s km/h")
        % {"m": f"{distance_m:.0f}", "min": f"{measure.minutes:.1f}", "v": f"{measure.speed_kmh:g}"}
    )
    legend = (
        f'<div id="reach-legend" style="background:rgba(255,255,255,.93);padding:6px 8px;'
        f"border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;"
        f'line-height:18px;max-width:230px">'
        f'<div style="font-weight:600">{html.escape(measure.category_label)}</div>'
        f'<div>{html.escape(speed_text)}</div><div class="gm-method" '
        f'style="{method_style}">{html.escape(method)}</div>{rows}</div>'
    )
    return legend
