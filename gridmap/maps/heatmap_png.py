"""A heatmap as a PNG people can use: the coloured surface at a readable size over the grid
outlines, with its title, a colour bar labelled with the unit, and a metric scale bar,
drawn by matplotlib (Agg) in the surface's metric CRS so the scale is true.

(The georeferenced one-pixel-per-cell PNG for GIS is ``gridmap heatmap --out x.png``.)
"""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np

from gridmap.analysis.density import Surface
from gridmap.maps.heatmap import PALETTE
from gridmap.maps.reach_png import _font, _nice_length, map_axes


def heatmap_png(
    surface: Surface,
    rgba: np.ndarray,
    grids: gpd.GeoDataFrame,
    *,
    vmax: float,
    title: str,
    unit_label: str,
    colors: list[str] = PALETTE,
    width_px: int = 1600,
    dpi: int = 200,
) -> bytes:
    """The heatmap as a PNG for people: the coloured surface on its bounds with the grids
    outlined, a colour bar with the unit, the title above and a scale bar in metres.

    Parameters
    ----------
    surface : Surface
        The surface in its metric CRS (its bounds place the image; the scale bar is true).
    rgba : numpy.ndarray
        The surface coloured on 0..``vmax`` with ``colors`` (see ``colorize``).
    grids : geopandas.GeoDataFrame
        Grids to outline (any CRS; drawn in the surface's).
    vmax : float
        Top of the colour bar in the surface's unit.
    title : str
        What the surface shows, above the map.
    unit_label : str
        The colour bar's caption (the unit).
    colors : list of str
        Hex colours from low to high, as used for ``rgba``.
    width_px : int
        Width of the image in pixels.
    dpi : int
        Dots per inch (sets the text size relative to the image).

    Returns
    -------
    bytes
        The PNG file.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    font = _font()
    xmin, ymin, xmax, ymax = surface.bounds
    aspect = (ymax - ymin) / max(xmax - xmin, 1.0)
    width_in = width_px / dpi
    map_h = width_in * 0.82 * aspect
    fig = plt.figure(figsize=(width_in, map_h + 1.0), dpi=dpi)
    ax = fig.add_axes((0.02, 0.03, 0.80, map_h / (map_h + 1.0)))
    ax.imshow(rgba, extent=(xmin, xmax, ymin, ymax), interpolation="nearest", zorder=1)
    if len(grids):
        grids.to_crs(surface.crs).boundary.plot(ax=ax, color="#333333", linewidth=0.5, zorder=2)
    map_axes(ax, xmin, ymin, xmax, ymax)
    bar_m = _nice_length(xmax - xmin)
    x0, y0 = xmin + 0.04 * (xmax - xmin), ymin + 0.04 * (ymax - ymin)
    ax.plot([x0, x0 + bar_m], [y0, y0], color="black", linewidth=3, zorder=3)
    ax.text(
        x0,
        y0 + 0.02 * (ymax - ymin),
        f"{bar_m:g} m" if bar_m < 1000 else f"{bar_m / 1000:g} km",
        fontsize=7,
        zorder=3,
    )
    cax = fig.add_axes((0.86, 0.12, 0.03, 0.7 * map_h / (map_h + 1.0)))
    cmap = LinearSegmentedColormap.from_list("gm", colors)
    bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=Normalize(0, vmax), cmap=cmap), cax=cax)
    bar.set_label(unit_label, fontproperties=font, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.suptitle(title, fontproperties=font, fontsize=10, y=0.99)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    plt.close(fig)
    return out.getvalue()
