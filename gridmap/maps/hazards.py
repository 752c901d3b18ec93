"""Hazard maps: cases coloured by status (overdue in red) over the grids, and the map a
hazard is reported on (click to place)."""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd

from gridmap import vocab
from gridmap.maps.layers import PointPicker
from gridmap.maps.overview import Gettext, _identity, _rounded, base_map
from gridmap.maps.safe import SafeGeoJson
from gridmap.maps.standard import Legend

STATUS_COLORS = {
    "reported": "#fdae61",
    "filed": "#fee08b",
    "assigned": "#2c7bb6",
    "handled": "#abd9e9",
    "reinspected": "#66bd63",
    "closed": "#999999",
}
OVERDUE_COLOR = "#d7191c"


def status_legend(*, lang: str, _: Gettext = _identity) -> Legend:
    """Legend of hazard markers: overdue first, then one colour per status.

    Parameters
    ----------
    lang : str
        ``zh`` or ``en`` for the status names.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    Legend
    """
    items = [(OVERDUE_COLOR, _("Overdue"), "dot")]
    items += [
        (STATUS_COLORS[code], text, "dot")
        for code, text in vocab.labels(vocab.HAZARD_STATUSES, lang).items()
    ]
    return Legend(_("Hazards"), items)


def _grid_outlines(m: folium.Map, grids: gpd.GeoDataFrame, *, _: Gettext) -> None:
    layer = folium.FeatureGroup(name=_("Grids"), show=True)
    if len(grids):
        SafeGeoJson(
            _rounded(grids.assign(name=grids["name"].fillna("")), ["code", "name"]),
            style_function=lambda f: {
                "fill": True,
                "fillOpacity": 0.03,
                "color": "#08306b",
                "weight": 1.2,
            },
            tooltip=folium.GeoJsonTooltip(["name"], [_("Grid")]),
        ).add_to(layer)
    layer.add_to(m)


def hazards_map(
    grids: gpd.GeoDataFrame,
    cases: gpd.GeoDataFrame,
    *,
    lang: str = "zh",
    detail_url: str | None = None,
    pick: bool = False,
    focus: gpd.GeoDataFrame | None = None,
    _: Gettext = _identity,
) -> tuple[folium.Map, list[Legend]]:
    """Hazard cases coloured by status (overdue in red) over the grid outlines.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Grids (code, name), EPSG:4326.
    cases : geopandas.GeoDataFrame
        Cases (code, category, severity, status, overdue, deadline, responsible,
        grid_name), EPSG:4326.
    lang : str
        ``zh`` or ``en`` for the category, severity and status names.
    detail_url : str, optional
        Link of a case's page, with ``__ID__`` for the case code.
    pick : bool
        Add click-to-place for a new report.
    focus : geopandas.GeoDataFrame, optional
        Rows the map is fitted to.
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    tuple of folium.Map and list of Legend
        The map and its legends.
    """
    m = base_map(_hazard_bounds(grids, cases, focus))
    _grid_outlines(m, grids, _=_)
    layer = folium.FeatureGroup(name=_("Hazards"), show=True)
    if len(cases):
        _case_markers(_case_rows(cases, lang, detail_url), _=_).add_to(layer)
    layer.add_to(m)
    if pick:
        PointPicker("lat", "lon").add_to(m)
    return m, [status_legend(lang=lang, _=_)]


def _hazard_bounds(
    grids: gpd.GeoDataFrame, cases: gpd.GeoDataFrame, focus: gpd.GeoDataFrame | None
) -> tuple[float, float, float, float] | None:
    """What the map shows: the focus rows, else the grids, else the cases."""
    target = focus if focus is not None and len(focus) else (grids if len(grids) else cases)
    bounds = tuple(target.total_bounds) if len(target) else None
    if focus is not None and len(focus) == 1 and bounds is not None:  # one point: a street block
        x, y = bounds[0], bounds[1]
        bounds = (x - 0.003, y - 0.002, x + 0.003, y + 0.002)
    return bounds


def _case_rows(cases: gpd.GeoDataFrame, lang: str, detail_url: str | None) -> gpd.GeoDataFrame:
    """The cases with their labels in ``lang``, marker colour and (escaped) link."""
    labels = vocab.labels(vocab.HAZARD_STATUSES, lang)
    cats = vocab.labels(vocab.HAZARD_CATEGORIES, lang)
    sev = vocab.labels(vocab.HAZARD_SEVERITIES, lang)
    return cases.assign(
        status_label=cases["status"].map(labels),
        category_label=cases["category"].map(cats).fillna(cases["category"]),
        severity_label=cases["severity"].map(sev).fillna(cases["severity"]),
        deadline=pd.to_datetime(cases["deadline"]).dt.strftime("%Y-%m-%d").fillna(""),
        responsible=cases["responsible"].fillna(""),
        grid_name=cases["grid_name"].fillna(""),
        color=[
            OVERDUE_COLOR if o else STATUS_COLORS.get(s, "#888888")
            for s, o in zip(cases["status"], cases["overdue"], strict=True)
        ],
        link=[
            f'<a href="{html.escape(detail_url.replace("__ID__", c))}">{html.escape(c)}</a>'
            if detail_url
            else html.escape(c)
            for c in cases["code"]
        ],
    )


def _case_markers(data: gpd.GeoDataFrame, *, _: Gettext) -> SafeGeoJson:
    """Circle markers of the cases, with a tooltip and a popup linking to each case."""
    return SafeGeoJson(
        _rounded(
            data,
            [
                "code",
                "link",
                "category_label",
                "severity_label",
                "status_label",
                "deadline",
                "responsible",
                "grid_name",
                "color",
            ],
        ),
        markup=("link",),
        marker=folium.CircleMarker(radius=7, fill=True, weight=1.5, fill_opacity=0.95),
        style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#333333"},
        tooltip=folium.GeoJsonTooltip(
            ["code", "category_label", "status_label"], [_("Case"), _("Category"), _("Status")]
        ),
        popup=folium.GeoJsonPopup(
            [
                "link",
                "category_label",
                "severity_label",
                "status_label",
                "deadline",
                "responsible",
                "grid_name",
            ],
            [
                _("Case"),
                _("Category"),
                _("Severity"),
                _("Status"),
                _("Deadline"),
                _("Responsible"),
                _("Grid"),
            ],
        ),
    )
