"""The planner's map as a print-resolution PNG: reach (isochrones or circles), buildings by
state, gaps, facilities and suggested sites, with a legend, a metric scale bar and a north
arrow, drawn by matplotlib (Agg: no display, no network) in the metric CRS, so the scale
is true.

Pure: frames in, PNG bytes out; strings arrive already translated in ``labels``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from gridmap.maps.reach import (
    CIRCLE,
    COVERED,
    FACILITY,
    GAP,
    ISO_FILL,
    OTHER,
    PAPER_ONLY,
    SITE,
    UNCOVERED,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.font_manager import FontProperties

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
STATE_COLORS = {
    "covered": COVERED,
    "paper_only": PAPER_ONLY,
    "uncovered": UNCOVERED,
    "other": OTHER,
}


def _font() -> FontProperties:
    """A font that has Chinese glyphs (fonts-wqy-zenhei, installed with the app)."""
    from matplotlib import font_manager

    for path in CJK_FONTS:
        if Path(path).exists():
            font_manager.fontManager.addfont(path)
            return font_manager.FontProperties(fname=path)
    return font_manager.FontProperties()


def map_axes(ax: Any, xmin: float, ymin: float, xmax: float, ymax: float) -> None:
    """A map's axes: this extent at true scale, no ticks, no axis labels.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes to set up.
    xmin, ymin, xmax, ymax : float
        The extent shown, in the map's CRS units (metres).
    """
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = span_m / 5
    exp = 10 ** np.floor(np.log10(target))
    return float(max(m * exp for m in (1, 2, 5) if m * exp <= target))


def reach_png(
    buildings: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    reach_areas: gpd.GeoDataFrame,
    gaps: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    *,
    crs: str,
    distance_m: float,
    labels: Mapping[str, str],
    width_px: int = 2480,
    dpi: int = 300,
) -> bytes:
    """The reach map as a PNG for print, with legend, scale bar and north arrow.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        EPSG:4326 polygons with ``state`` (covered/paper_only/uncovered/other).
    facilities : geopandas.GeoDataFrame
        The facilities (points).
    reach_areas : geopandas.GeoDataFrame
        Polygons with ``kind`` ('isochrone', 'circle', 'estimate'), ``facility`` (None:
        merged) and ``distance_m``; the merged ones at ``distance_m`` are drawn.
    gaps : geopandas.GeoDataFrame
        Polygons of the gaps.
    sites : geopandas.GeoDataFrame, optional
        Suggested sites (points with ``rank``).
    crs : str
        The metric CRS the map is drawn in (e.g. an EPSG code).
    distance_m : float
        The reach distance drawn, in metres.
    labels : mapping of str to str
        Title, subtitle and legend texts: covered, paper_only, uncovered, other, gap,
        facility, site, isochrone, circle, scale_unit ('m'), north ('N'), scale_bar and
        north_arrow (named in the PNG's ``Legend`` text chunk).
    width_px : int
        Width of the picture in pixels (2480 px = A4 width at 300 dpi).
    dpi : int
        Resolution in dots per inch.

    Returns
    -------
    bytes
        The PNG file.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = _font()
    b = buildings.to_crs(crs)
    width_in = width_px / dpi
    xmin, ymin, xmax, ymax = b.total_bounds if len(b) else (0, 0, 1000, 1000)
    pad = 0.03 * max(xmax - xmin, ymax - ymin)
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    aspect = (ymax - ymin) / max(xmax - xmin, 1.0)
    fig = plt.figure(figsize=(width_in, width_in * aspect + 1.2), dpi=dpi)
    ax = fig.add_axes((0.02, 0.02, 0.96, (width_in * aspect) / (width_in * aspect + 1.2)))
    map_axes(ax, xmin, ymin, xmax, ymax)
    handles: list[Artist] = []
    handles += _draw_reach(ax, reach_areas, crs=crs, distance_m=distance_m, labels=labels)
    handles += _draw_gaps_and_buildings(ax, gaps, b, crs=crs, labels=labels)
    handles += _draw_points(ax, facilities, sites, crs=crs, labels=labels, font=font)
    ax.set_xlabel("")
    ax.set_ylabel("")
    _draw_legend(ax, handles, labels, font)
    text = _draw_scale_and_north(ax, (xmin, ymin, xmax, ymax), pad, labels=labels, font=font)
    _draw_titles(fig, labels, font, height_in=width_in * aspect + 1.2)
    png = _png_bytes(fig, dpi, labels, handles, scale=text)
    plt.close(fig)
    return png


def _draw_legend(
    ax: Any, handles: list[Artist], labels: Mapping[str, str], font: FontProperties
) -> None:
    """The legend of the drawn layers, at the lower left above everything else."""
    legend = ax.legend(
        handles=handles,
        loc="lower left",
        prop=font,
        fontsize=7,
        framealpha=0.92,
        title=labels.get("legend"),
        title_fontproperties=font,
    )
    legend.set_zorder(10)


def _png_bytes(
    fig: Any, dpi: int, labels: Mapping[str, str], handles: list[Artist], *, scale: str
) -> bytes:
    """The figure as PNG, its title, legend entries and scale written as text chunks."""
    # What the picture holds, for catalogues and checks: its legend entries, scale, arrow.
    entries = (
        [labels.get("legend", "")]
        + [str(h.get_label()) for h in handles]
        + [labels.get("scale_bar", "scale bar"), labels.get("north_arrow", "north arrow")]
    )
    out = io.BytesIO()
    fig.savefig(
        out,
        format="png",
        dpi=dpi,
        metadata={"Title": labels["title"], "Legend": "|".join(entries), "Scale": scale},
    )
    return out.getvalue()


def _draw_titles(
    fig: Any, labels: Mapping[str, str], font: FontProperties, *, height_in: float
) -> None:
    """The title and, below it, the subtitle at the top left of a figure ``height_in`` high."""
    fig.text(
        0.02,
        0.985,
        labels["title"],
        ha="left",
        va="top",
        fontproperties=font,
        fontsize=12,
        fontweight="bold",
    )
    fig.text(
        0.02,
        0.985 - 0.45 / height_in,
        labels.get("subtitle", ""),
        ha="left",
        va="top",
        fontproperties=font,
        fontsize=8,
    )


def _draw_reach(
    ax: Any,
    reach_areas: gpd.GeoDataFrame,
    *,
    crs: str,
    distance_m: float,
    labels: Mapping[str, str],
) -> list[Artist]:
    """The merged reach at ``distance_m``: walked areas filled, circles dashed; legend handles."""
    from matplotlib.patches import Patch

    handles: list[Artist] = []
    merged = (
        reach_areas[
            reach_areas["facility"].isna() & np.isclose(reach_areas["distance_m"], distance_m)
        ]
        if len(reach_areas)
        else reach_areas
    )
    styles: tuple[tuple[str, dict[str, Any]], ...] = (
        (
            "isochrone",
            {"facecolor": ISO_FILL, "edgecolor": ISO_FILL, "alpha": 0.35, "linewidth": 0.5},
        ),
        (
            "estimate",
            {"facecolor": ISO_FILL, "edgecolor": ISO_FILL, "alpha": 0.35, "linewidth": 0.5},
        ),
        ("circle", {"facecolor": "none", "edgecolor": CIRCLE, "linewidth": 1.2, "linestyle": "--"}),
    )
    for kind, style in styles:
        part = merged[merged["kind"] == kind] if len(merged) else merged
        if len(part):
            part.to_crs(crs).plot(ax=ax, **style)
            label = labels["circle" if kind == "circle" else "isochrone"]
            handles.append(
                Patch(
                    facecolor=style["facecolor"] if kind != "circle" else "none",
                    edgecolor=style["edgecolor"],
                    alpha=style.get("alpha", 1),
                    linestyle=style.get("linestyle", "-"),
                    label=label,
                )
            )
    return handles


def _draw_gaps_and_buildings(
    ax: Any, gaps: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, crs: str, labels: Mapping[str, str]
) -> list[Artist]:
    """Gaps (dashed), then buildings (already in ``crs``) by state; legend handles."""
    from matplotlib.patches import Patch

    handles: list[Artist] = []
    if len(gaps):
        gaps.to_crs(crs).plot(
            ax=ax, facecolor=GAP, edgecolor="#e66101", alpha=0.35, linewidth=0.8, linestyle="--"
        )
        handles.append(Patch(facecolor=GAP, edgecolor="#e66101", alpha=0.5, label=labels["gap"]))
    for state, color in STATE_COLORS.items():
        part = b[b["state"] == state]
        if len(part):
            part.plot(ax=ax, facecolor=color, edgecolor="#444444", linewidth=0.15)
            handles.append(Patch(facecolor=color, edgecolor="#444444", label=labels[state]))
    return handles


def _draw_points(
    ax: Any,
    facilities: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame | None,
    *,
    crs: str,
    labels: Mapping[str, str],
    font: FontProperties,
) -> list[Artist]:
    """Facilities, then suggested sites numbered by rank; legend handles."""
    from matplotlib.lines import Line2D

    handles: list[Artist] = []
    if len(facilities):
        f = facilities.to_crs(crs)
        ax.scatter(
            f.geometry.x,
            f.geometry.y,
            s=60,
            c=FACILITY,
            edgecolors="white",
            linewidths=1.2,
            zorder=5,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=8,
                markerfacecolor=FACILITY,
                markeredgecolor="white",
                label=labels["facility"],
            )
        )
    if sites is not None and len(sites):
        s = sites.to_crs(crs)
        ax.scatter(
            s.geometry.x,
            s.geometry.y,
            s=260,
            facecolors="white",
            edgecolors=SITE,
            linewidths=2.5,
            zorder=6,
        )
        for x, y, r in zip(s.geometry.x, s.geometry.y, s["rank"], strict=True):
            ax.text(
                x,
                y,
                str(int(r)),
                ha="center",
                va="center",
                color=SITE,
                zorder=7,
                fontsize=8,
                fontweight="bold",
                fontproperties=font,
            )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                markersize=10,
                markerfacecolor="white",
                markeredgecolor=SITE,
                markeredgewidth=2,
                label=labels["site"],
            )
        )
    return handles


def _draw_scale_and_north(
    ax: Any,
    extent: tuple[float, float, float, float],
    pad: float,
    *,
    labels: Mapping[str, str],
    font: FontProperties,
) -> str:
    """A scale bar (metres: the axes are a metric CRS) and a north arrow (grid north);
    returns the scale bar's text."""
    xmin, ymin, xmax, ymax = extent
    span = xmax - xmin
    length = _nice_length(span)
    x0, y0 = xmax - pad - length, ymin + pad
    ax.plot(
        [x0, x0 + length], [y0, y0], color="black", linewidth=3, solid_capstyle="butt", zorder=10
    )
    ax.plot(
        [x0, x0 + length / 2],
        [y0, y0],
        color="white",
        linewidth=1.5,
        solid_capstyle="butt",
        zorder=11,
    )
    unit = labels.get("scale_unit", "m")
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} {unit}"
    ax.text(
        x0 + length / 2,
        y0 + 0.012 * span,
        text,
        ha="center",
        va="bottom",
        zorder=10,
        fontproperties=font,
        fontsize=8,
    )
    nx, ny = xmax - pad, ymax - pad
    ax.annotate(
        "",
        xy=(nx, ny),
        xytext=(nx, ny - 0.08 * span),
        arrowprops={"facecolor": "black", "width": 4, "headwidth": 12},
        zorder=10,
    )
    ax.text(
        nx,
        ny - 0.1 * span,
        labels.get("north", "N"),
        ha="center",
        va="top",
        fontproperties=font,
        fontsize=10,
        fontweight="bold",
        zorder=10,
    )
    return text
