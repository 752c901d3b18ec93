"""Reading order: how grids, communities and blocks are numbered on a map, everywhere.

Rows run from north to south and west to east inside a row. A row starts at the
northernmost point not yet placed and takes every point less than half ``row_height_m``
below it, so flat and tall shapes both fall into the rows a person sees on the map.
Coordinates are metric (y grows to the north).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def reading_order(x: npt.ArrayLike, y: npt.ArrayLike, row_height_m: float) -> npt.NDArray[np.intp]:
    """Positions of the points in reading order (see the module docstring).

    Parameters
    ----------
    x, y : array_like
        Metric coordinates.
    row_height_m : float
        Height of a row in metres.

    Returns
    -------
    numpy.ndarray
        Positions, first read first.
    """
    xs, ys = np.asarray(x, float), np.asarray(y, float)
    by_north = np.argsort(-ys, kind="stable")
    tolerance = 0.5 * max(float(row_height_m), 1e-9)
    rows = np.empty(len(ys), dtype=int)
    row, top = -1, np.inf
    for k in by_north:
        if ys[k] < top - tolerance:
            row, top = row + 1, float(ys[k])
        rows[k] = row
    return np.lexsort((xs, rows))


def reading_sequence(
    x: npt.ArrayLike, y: npt.ArrayLike, row_height_m: float
) -> npt.NDArray[np.int_]:
    """1-based sequence number of each point in reading order.

    Parameters
    ----------
    x, y : array_like
        Metric coordinates.
    row_height_m : float
        Height of a row in metres.

    Returns
    -------
    numpy.ndarray
        Sequence number per point.
    """
    order = reading_order(x, y, row_height_m)
    seq = np.empty(len(order), dtype=int)
    seq[order] = np.arange(1, len(order) + 1)
    return seq
