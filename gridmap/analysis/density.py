"""Kernel density in metres on a metric cell grid, cell aggregation, small-count suppression.

Leaflet's heat plugin draws its radius in screen pixels, so its "heatmap" changes
meaning with the zoom level. Here the density is computed server-side in a
projected CRS: a kernel of ``bandwidth_m`` metres on cells of ``cell_m`` metres.

Method: the weights are binned onto the cell grid with linear (cloud-in-cell)
binning, then convolved (FFT) with the kernel sampled at cell offsets and
normalised to sum 1. The grid is padded by the kernel's support, so no mass falls
off it: the surface integrates to the input total (to rounding), which the tests
check. Values are per hectare (count / 10,000 m2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike
from pyproj import CRS

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

HECTARE_M2 = 10_000.0
KERNELS = ("quartic", "gaussian")
DEFAULT_K = 5  # small-count threshold for personal groups (households)


@dataclass
class Surface:
    """A raster in a metric CRS. ``values[0]`` is the northern row.

    ``x0``/``y0`` are the west and north edges; ``cell_m`` the square cell size.
    ``values`` are per hectare unless ``units`` says otherwise (travel time: minutes).
    """

    values: np.ndarray
    x0: float
    y0: float
    cell_m: float
    crs: CRS
    units: str = "per_ha"
    total: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid."""
        return self.values.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid in its CRS, metres."""
        ny, nx = self.values.shape
        return (self.x0, self.y0 - ny * self.cell_m, self.x0 + nx * self.cell_m, self.y0)

    def centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates.

        Returns
        -------
        x, y : numpy.ndarray
            x of the columns and y of the rows, in the surface's metric CRS.
        """
        ny, nx = self.values.shape
        return (
            self.x0 + (np.arange(nx) + 0.5) * self.cell_m,
            self.y0 - (np.arange(ny) + 0.5) * self.cell_m,
        )

    def integral(self) -> float:
        """Sum of the density over the surface: the count it represents.

        Returns
        -------
        float
            The count.
        """
        if self.units != "per_ha":
            raise fail(
                InvalidInput, N_("a surface in {units} has no count to integrate"), units=self.units
            )
        return float(np.nansum(self.values) * self.cell_m**2 / HECTARE_M2)

    def sample(self, x: ArrayLike, y: ArrayLike) -> np.ndarray:
        """Values at points (nearest cell; NaN outside).

        Parameters
        ----------
        x, y : array_like
            Coordinates in the surface's metric CRS.

        Returns
        -------
        numpy.ndarray
            One value per point.
        """
        ny, nx = self.values.shape
        col = np.floor((np.asarray(x, float) - self.x0) / self.cell_m).astype(int)
        row = np.floor((self.y0 - np.asarray(y, float)) / self.cell_m).astype(int)
        inside = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        out = np.full(len(col), np.nan)
        out[inside] = self.values[row[inside], col[inside]]
        return out


def _check(bandwidth_m: float, cell_m: float, kernel: str) -> None:
    if not bandwidth_m > 0:
        raise fail(
            InvalidInput,
            N_("bandwidth must be a positive number of metres, got {bandwidth_m}"),
            bandwidth_m=bandwidth_m,
        )
    if not cell_m > 0:
        raise _bad_cell(cell_m)
    if kernel not in KERNELS:
        raise fail(
            InvalidInput,
            N_("unknown kernel {kernel!r}; use one of {kernels}"),
            kernel=kernel,
            kernels=", ".join(KERNELS),
        )


def _bad_cell(cell_m: float) -> Exception:
    """The refusal of a cell size that is not a positive number of metres."""
    return fail(
        InvalidInput,
        N_("cell size must be a positive number of metres, got {cell_m}"),
        cell_m=cell_m,
    )


def support_m(bandwidth_m: float, kernel: str) -> float:
    """Distance beyond which the kernel is zero (quartic) or negligible (Gaussian, 4 sigma).

    Parameters
    ----------
    bandwidth_m : float
        Bandwidth in metres.
    kernel : str
        "quartic" or "gaussian".

    Returns
    -------
    float
        Metres.
    """
    return bandwidth_m if kernel == "quartic" else 4.0 * bandwidth_m


def kernel_matrix(bandwidth_m: float, cell_m: float, kernel: str = "quartic") -> np.ndarray:
    """The kernel sampled at cell-centre offsets, normalised to sum 1 (mass-preserving).

    Parameters
    ----------
    bandwidth_m : float
        Bandwidth in metres.
    cell_m : float
        Cell size in metres.
    kernel : str
        "quartic" or "gaussian".

    Returns
    -------
    numpy.ndarray
        A square matrix of weights.
    """
    _check(bandwidth_m, cell_m, kernel)
    r = int(np.ceil(support_m(bandwidth_m, kernel) / cell_m))
    off = np.arange(-r, r + 1) * cell_m
    d2 = off[None, :] ** 2 + off[:, None] ** 2
    if kernel == "quartic":
        k = np.clip(1.0 - d2 / bandwidth_m**2, 0.0, None) ** 2
    else:
        k = np.exp(-0.5 * d2 / bandwidth_m**2)
    if k.sum() <= 0:  # bandwidth far below the cell size: all mass stays in its cell
        k = np.zeros_like(k)
        k[r, r] = 1.0
    weights: np.ndarray = k / k.sum()
    return weights


def cell_grid(
    bounds: tuple[float, float, float, float], *, cell_m: float, pad_m: float = 0.0
) -> tuple[float, float, int, int]:
    """West edge, north edge, columns, rows of a grid of ``cell_m`` covering ``bounds`` + pad.

    Edges are snapped to multiples of ``cell_m`` so surfaces of one cell size align.

    Parameters
    ----------
    bounds : tuple of float
        (minx, miny, maxx, maxy) in a metric CRS.
    cell_m : float
        Cell size in metres.
    pad_m : float
        Margin around the bounds in metres.

    Returns
    -------
    tuple
        x0, y0 (metres), number of columns, number of rows.
    """
    minx, miny, maxx, maxy = bounds
    x0 = np.floor((minx - pad_m) / cell_m) * cell_m
    y_south = np.floor((miny - pad_m) / cell_m) * cell_m
    x1 = np.ceil((maxx + pad_m) / cell_m) * cell_m
    y1 = np.ceil((maxy + pad_m) / cell_m) * cell_m
    nx = max(1, int(round((x1 - x0) / cell_m)))
    ny = max(1, int(round((y1 - y_south) / cell_m)))
    return float(x0), float(y1), nx, ny


def _bin_linear(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    x0: float,
    y0: float,
    cell_m: float,
    nx: int,
    ny: int,
) -> np.ndarray:
    """Cloud-in-cell binning: each weight shared among the 4 nearest cell centres."""
    grid = np.zeros((ny, nx))
    fx = (x - x0) / cell_m - 0.5
    fy = (y0 - y) / cell_m - 0.5
    ix = np.floor(fx).astype(int)
    iy = np.floor(fy).astype(int)
    tx, ty = fx - ix, fy - iy
    for dx, dy, share in (
        (0, 0, (1 - tx) * (1 - ty)),
        (1, 0, tx * (1 - ty)),
        (0, 1, (1 - tx) * ty),
        (1, 1, tx * ty),
    ):
        cx = np.clip(ix + dx, 0, nx - 1)
        cy = np.clip(iy + dy, 0, ny - 1)
        np.add.at(grid, (cy, cx), w * share)
    return grid


def _finite_points(
    x: ArrayLike, y: ArrayLike, weights: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points (and weights, default 1) whose x, y and weight are all finite."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    w = np.ones(len(xs)) if weights is None else np.asarray(weights, dtype=float)
    if not (len(xs) == len(ys) == len(w)):
        raise fail(InvalidInput, N_("x, y and weights must have the same length"))
    ok = np.isfinite(xs) & np.isfinite(ys) & np.isfinite(w)
    return xs[ok], ys[ok], w[ok]


def kde(
    x: ArrayLike,
    y: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    bandwidth_m: float,
    cell_m: float,
    crs: Any,
    kernel: str = "quartic",
    bounds: tuple[float, float, float, float] | None = None,
) -> Surface:
    """Kernel density of points per hectare.

    The grid covers ``bounds`` (default: the points) padded by the kernel support, so the
    surface integrates to ``sum(weights)``.

    Parameters
    ----------
    x, y : array_like
        Point coordinates in the metric ``crs``.
    weights : array_like, optional
        Weight per point (default 1).
    bandwidth_m : float
        Bandwidth in metres.
    cell_m : float
        Cell size in metres.
    crs : pyproj.CRS or str
        The metric CRS of the points.
    kernel : str
        "quartic" or "gaussian".
    bounds : tuple of float, optional
        (minx, miny, maxx, maxy) in metres the surface must cover.

    Returns
    -------
    Surface
        The density grid.
    """
    _check(bandwidth_m, cell_m, kernel)
    x, y, w = _finite_points(x, y, weights)
    if bounds is None:
        if not len(x):
            raise fail(InvalidInput, N_("no points to compute a density from, and no area given"))
        bounds = (x.min(), y.min(), x.max(), y.max())
    elif len(x):
        bounds = (
            min(bounds[0], x.min()),
            min(bounds[1], y.min()),
            max(bounds[2], x.max()),
            max(bounds[3], y.max()),
        )
    k = kernel_matrix(bandwidth_m, cell_m, kernel)
    pad = (k.shape[0] // 2 + 1) * cell_m
    x0, y0, nx, ny = cell_grid(bounds, cell_m=cell_m, pad_m=pad)
    if nx * ny > 25_000_000:
        raise fail(
            InvalidInput,
            N_(
                "a {nx} x {ny} grid of {cell_m} m cells is too large; use a larger cell size "
                "or a smaller area"
            ),
            nx=nx,
            ny=ny,
            cell_m=cell_m,
        )
    binned = _bin_linear(x, y, w, x0, y0, cell_m, nx, ny)
    if len(x) == 0 or k.shape == (1, 1):
        dens = binned
    else:
        # scipy.signal takes ~1.5 s to import: only the density maps need it, not every
        # process that imports this module for its suppression rules.
        from scipy.signal import fftconvolve

        dens = fftconvolve(binned, k, mode="same")
        dens[np.abs(dens) < 1e-12 * max(1.0, float(np.abs(w).sum()))] = 0.0  # FFT round-off
    values = dens * (HECTARE_M2 / cell_m**2)
    return Surface(
        values, x0, y0, float(cell_m), CRS.from_user_input(crs), "per_ha", float(w.sum())
    )


# --- cell aggregation --------------------------------------------------------------------
def square_cells(
    x: ArrayLike,
    y: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    cell_m: float,
    crs: Any,
    extra: dict[str, ArrayLike] | None = None,
) -> gpd.GeoDataFrame:
    """Sum of ``weights`` (and of each array in ``extra``) per square cell of ``cell_m``.

    Cells are aligned to multiples of ``cell_m`` (like :func:`cell_grid`).

    Parameters
    ----------
    x, y : array_like
        Point coordinates in the metric ``crs``.
    weights : array_like, optional
        Weight per point (default 1).
    cell_m : float
        Cell size in metres.
    crs : pyproj.CRS or str
        The metric CRS of the points.
    extra : dict of str to array_like, optional
        Further per-point values to sum per cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per non-empty cell: cell (id 'ix_iy'), value, per_ha, the extra sums, geometry.
    """
    if not cell_m > 0:
        raise _bad_cell(cell_m)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    ix = np.floor(x / cell_m).astype(np.int64)
    iy = np.floor(y / cell_m).astype(np.int64)
    data = {"ix": ix, "iy": iy, "value": w}
    for name, arr in (extra or {}).items():
        data[name] = np.asarray(arr, dtype=float)
    f = pd.DataFrame(data).groupby(["ix", "iy"], sort=True).sum().reset_index()
    geoms = shapely.box(
        f["ix"] * cell_m, f["iy"] * cell_m, (f["ix"] + 1) * cell_m, (f["iy"] + 1) * cell_m
    )
    f["cell"] = f["ix"].astype(str) + "_" + f["iy"].astype(str)
    f["per_ha"] = f["value"] * HECTARE_M2 / cell_m**2
    cols = ["cell", "value", "per_ha", *(extra or {})]
    return gpd.GeoDataFrame(f[cols], geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def h3_cells(
    lon: ArrayLike,
    lat: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    resolution: int = 9,
    extra: dict[str, ArrayLike] | None = None,
) -> gpd.GeoDataFrame:
    """Sum of ``weights`` per H3 cell.

    Resolution 9 cells are about 0.1 km2 (174 m edge), 10 about 0.015 km2 (66 m).

    Parameters
    ----------
    lon, lat : array_like
        Point coordinates in EPSG:4326 degrees.
    weights : array_like, optional
        Weight per point (default 1).
    resolution : int
        H3 resolution 0-15.
    extra : dict of str to array_like, optional
        Further per-point values to sum per cell.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per non-empty cell with its sums and EPSG:4326 polygon.
    """
    import h3

    if not 0 <= resolution <= 15:
        raise fail(
            InvalidInput, N_("H3 resolution must be 0-15, got {resolution}"), resolution=resolution
        )
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    w = np.ones(len(lon)) if weights is None else np.asarray(weights, dtype=float)
    ids = [h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat, lon, strict=True)]
    data = {"cell": ids, "value": w}
    for name, arr in (extra or {}).items():
        data[name] = np.asarray(arr, dtype=float)
    f = pd.DataFrame(data).groupby("cell", sort=True).sum().reset_index()
    geoms = [shapely.Polygon([(p[1], p[0]) for p in h3.cell_to_boundary(c)]) for c in f["cell"]]
    area_m2 = np.array([h3.cell_area(c, unit="m^2") for c in f["cell"]])
    f["per_ha"] = f["value"] * HECTARE_M2 / area_m2 if len(f) else []
    cols = ["cell", "value", "per_ha", *(extra or {})]
    return gpd.GeoDataFrame(
        f[cols], geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326"
    )


def suppressed(households: ArrayLike, *, k: int = DEFAULT_K) -> np.ndarray:
    """True where a cell holds fewer than ``k`` households of a personal group (but some).

    Such cells must not be shown: a count of 1-4 can identify a family.

    Parameters
    ----------
    households : array_like
        Households per cell.
    k : int
        The smallest count that may be shown.

    Returns
    -------
    numpy.ndarray
        Boolean per cell.
    """
    if k < 1:
        raise fail(InvalidInput, N_("the small-count threshold k must be at least 1, got {k}"), k=k)
    h = np.asarray(households, dtype=float)
    few: np.ndarray = (h > 0) & (h < k)
    return few


def suppress_points(
    x: ArrayLike, y: ArrayLike, households: ArrayLike, *, cell_m: float, k: int = DEFAULT_K
) -> np.ndarray:
    """Points to drop because their square cell holds fewer than ``k`` households of the group.

    Parameters
    ----------
    x, y : array_like
        Point coordinates in a metric CRS.
    households : array_like
        The points' own household counts.
    cell_m : float
        Cell size in metres.
    k : int
        The smallest count that may be shown.

    Returns
    -------
    numpy.ndarray
        Boolean per point, index-aligned: True to drop.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    h = np.asarray(households, dtype=float)
    if not len(x):
        return np.zeros(0, dtype=bool)
    key = pd.MultiIndex.from_arrays(
        [np.floor(x / cell_m).astype(np.int64), np.floor(y / cell_m).astype(np.int64)]
    )
    per_cell = pd.Series(h, index=key).groupby(level=[0, 1]).transform("sum").to_numpy()
    return suppressed(per_cell, k=k) | (h <= 0)
