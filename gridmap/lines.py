"""Vectorised operations on many polylines held as flat coordinate arrays.

A set of polylines is ``xy`` (k, 2) float64 plus ``offsets`` (m + 1,) int64: line i owns
``xy[offsets[i]:offsets[i + 1]]``. Keeping lines this way (instead of one shapely object
each) lets the network code cut, split and measure millions of edges with numpy alone.
Distances along a line are metres in the (metric) CRS of the coordinates.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike


def from_geoms(geoms: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of an array of LineStrings (2-D; z is dropped).

    Parameters
    ----------
    geoms : array_like
        LineStrings.

    Returns
    -------
    xy, offsets : numpy.ndarray
        (n, 2) vertices and the start of each line in them (one more than lines).
    """
    arr = np.asarray(geoms, dtype=object)
    xy, owner = shapely.get_coordinates(arr, return_index=True)
    counts = np.bincount(owner, minlength=len(arr)) if len(arr) else np.zeros(0, int)
    return xy.astype(np.float64), np.r_[0, np.cumsum(counts)].astype(np.int64)


def to_geoms(xy: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Array of LineStrings from coordinates; every line needs >= 2 vertices.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) vertices.
    offsets : numpy.ndarray
        The start of each line in ``xy`` (one more than lines).

    Returns
    -------
    numpy.ndarray
        LineStrings.
    """
    counts = np.diff(offsets)
    if len(counts) == 0:
        return np.array([], dtype=object)
    lines: np.ndarray = shapely.linestrings(xy, indices=np.repeat(np.arange(len(counts)), counts))
    return lines


def along(xy: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Distance of every vertex from the start of its own line.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) vertices in metres.
    offsets : numpy.ndarray
        The start of each line in ``xy``.

    Returns
    -------
    numpy.ndarray
        Metres per vertex.
    """
    step = np.zeros(len(xy))
    if len(xy) > 1:
        step[1:] = np.hypot(*np.diff(xy, axis=0).T)
    starts = offsets[:-1][np.diff(offsets) > 0]
    step[starts] = 0.0
    cum = np.cumsum(step)
    counts = np.diff(offsets)
    base = np.repeat(cum[offsets[:-1][counts > 0]], counts[counts > 0])
    from_start: np.ndarray = cum - base
    return from_start


def lengths(cum: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Length of each line from the per-vertex distances of ``along``.

    Parameters
    ----------
    cum : numpy.ndarray
        :func:`along`'s result.
    offsets : numpy.ndarray
        The start of each line.

    Returns
    -------
    numpy.ndarray
        Metres per line.
    """
    last: np.ndarray = cum[offsets[1:] - 1]
    return last


def global_key(cum: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A monotonic key over all vertices (line base + distance) and each line's base.

    Lines are spaced 1 m apart so that a search within one line never lands in another.

    Parameters
    ----------
    cum : numpy.ndarray
        :func:`along`'s result.
    offsets : numpy.ndarray
        The start of each line.

    Returns
    -------
    key, base : numpy.ndarray
        The key per vertex and the base per line.
    """
    counts = np.diff(offsets)
    length = lengths(cum, offsets)
    base = np.r_[0.0, np.cumsum(length + 1.0)[:-1]]
    return cum + np.repeat(base, counts), base


def points_at(
    xy: np.ndarray,
    offsets: np.ndarray,
    cum: np.ndarray,
    line: ArrayLike,
    dist: ArrayLike,
    *,
    key_base: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Points at a distance along lines (clipped to the line).

    Parameters
    ----------
    xy, offsets, cum : numpy.ndarray
        The lines (vertices, line starts, :func:`along`).
    line : array_like
        The line of each point.
    dist : array_like
        Metres along it.
    key_base : tuple of numpy.ndarray, optional
        ``global_key(cum, offsets)`` when the caller keeps it (it costs a pass over all
        vertices).

    Returns
    -------
    numpy.ndarray
        (n, 2) points.
    """
    li = np.asarray(line, dtype=np.int64)
    key, base = key_base or global_key(cum, offsets)
    length = lengths(cum, offsets)[li]
    d = np.clip(np.asarray(dist, dtype=float), 0.0, length)
    seg = np.searchsorted(key, base[li] + d, side="right") - 1
    seg = np.clip(seg, offsets[li], np.maximum(offsets[li + 1] - 2, offsets[li]))
    nxt = np.minimum(seg + 1, offsets[li + 1] - 1)
    span = cum[nxt] - cum[seg]
    frac = np.where(span > 0, (d - cum[seg]) / np.where(span > 0, span, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)[:, None]
    points: np.ndarray = xy[seg] * (1.0 - frac) + xy[nxt] * frac
    return points


def substrings(
    xy: np.ndarray,
    offsets: np.ndarray,
    cum: np.ndarray,
    line: ArrayLike,
    start: ArrayLike,
    end: ArrayLike,
    *,
    key_base: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pieces of lines between two distances along them.

    Each piece keeps the original vertices strictly between its ends, so it lies exactly on
    the line.

    Parameters
    ----------
    xy, offsets, cum : numpy.ndarray
        The lines (vertices, line starts, :func:`along`).
    line : array_like
        The line of each piece.
    start, end : array_like
        Metres from the line's first vertex (start < end after clipping to the line).
    key_base : tuple of numpy.ndarray, optional
        ``global_key(cum, offsets)`` when the caller keeps it.

    Returns
    -------
    xy, offsets : numpy.ndarray
        The pieces.
    """
    line = np.asarray(line, dtype=np.int64)
    if len(line) == 0:
        return np.zeros((0, 2)), np.zeros(1, dtype=np.int64)
    key_base = key_base or global_key(cum, offsets)
    key, base = key_base
    length = lengths(cum, offsets)[line]
    start = np.clip(np.asarray(start, dtype=float), 0.0, length)
    end = np.clip(np.asarray(end, dtype=float), 0.0, length)
    lo = np.searchsorted(key, base[line] + start, side="right")
    hi = np.searchsorted(key, base[line] + end, side="left")
    lo = np.clip(lo, offsets[line], offsets[line + 1])
    hi = np.clip(hi, lo, offsets[line + 1])
    inner = hi - lo
    counts = inner + 2
    out_offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    out = np.empty((out_offsets[-1], 2))
    out[out_offsets[:-1]] = points_at(xy, offsets, cum, line, start, key_base=key_base)
    out[out_offsets[1:] - 1] = points_at(xy, offsets, cum, line, end, key_base=key_base)
    if inner.sum():
        piece = np.repeat(np.arange(len(line)), inner)
        rank = np.arange(inner.sum()) - np.repeat(np.cumsum(inner) - inner, inner)
        out[out_offsets[:-1][piece] + 1 + rank] = xy[lo[piece] + rank]
    return out, out_offsets


def insert_points(
    xy: np.ndarray, offsets: np.ndarray, line: ArrayLike, dist: ArrayLike, pts: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Insert points into lines at the given distances along them.

    A point falling on an existing vertex does not duplicate it; the vertex takes the point's
    coordinates so that lines meeting there share them.

    Parameters
    ----------
    xy, offsets : numpy.ndarray
        The lines.
    line : array_like
        The line of each point.
    dist : array_like
        Metres along it.
    pts : array_like
        (k, 2) the points.

    Returns
    -------
    xy, offsets, source, inserted : numpy.ndarray
        The new lines; ``source`` maps each new vertex to its old index (-1 for an inserted
        point), ``inserted`` flags the vertices that are (or coincide within 1 mm with) an
        inserted point.
    """
    line = np.asarray(line, dtype=np.int64)
    n_old = len(xy)
    counts = np.diff(offsets)
    cum = along(xy, offsets)
    owner = np.repeat(np.arange(len(counts)), counts)
    all_line = np.r_[owner, line]
    all_dist = np.r_[cum, np.asarray(dist, dtype=float)]
    all_xy = np.vstack([xy, np.asarray(pts, dtype=float).reshape(-1, 2)])
    is_new = np.r_[np.zeros(n_old, bool), np.ones(len(line), bool)]
    src = np.r_[np.arange(n_old), np.full(len(line), -1)]
    # Sort by line, distance; at equal distance an existing vertex comes first.
    order = np.lexsort((is_new, all_dist, all_line))
    all_line, all_dist, all_xy, is_new, src = (
        all_line[order],
        all_dist[order],
        all_xy[order],
        is_new[order],
        src[order],
    )
    same = np.r_[False, (all_line[1:] == all_line[:-1]) & (np.abs(np.diff(all_dist)) < 1e-3)]
    # Runs of coincident rows: keep the first row; it becomes "inserted" if any row in the run
    # is, and takes an inserted point's coordinates (the shared intersection point).
    run = np.cumsum(~same) - 1
    any_new = np.zeros(run[-1] + 1 if len(run) else 0, bool)
    np.logical_or.at(any_new, run, is_new)
    first_new = np.full(len(any_new), -1)
    rows = np.flatnonzero(is_new)
    first_new[run[rows[::-1]]] = rows[::-1]
    keep = ~same
    kept_run = run[keep]
    new_xy = all_xy[keep].copy()
    take = first_new[kept_run] >= 0
    new_xy[take] = all_xy[first_new[kept_run][take]]
    # A line's first and last vertex keep their exact position (they may be shared ends).
    new_src = src[keep]
    new_line = all_line[keep]
    new_counts = np.bincount(new_line, minlength=len(counts))
    new_offsets = np.r_[0, np.cumsum(new_counts)].astype(np.int64)
    ends = np.r_[new_offsets[:-1], new_offsets[1:] - 1]
    ends = ends[(ends >= 0) & (ends < len(new_xy))]
    has_src = new_src[ends] >= 0
    new_xy[ends[has_src]] = xy[new_src[ends[has_src]]]
    return new_xy, new_offsets, new_src, any_new[kept_run]


def locate(lines_geom: ArrayLike, points: ArrayLike) -> np.ndarray:
    """Distance along each line of the nearest point to each point.

    Parameters
    ----------
    lines_geom : array_like
        LineStrings.
    points : array_like
        Points, aligned with the lines.

    Returns
    -------
    numpy.ndarray
        Metres along each line.
    """
    dist: np.ndarray = shapely.line_locate_point(
        np.asarray(lines_geom, dtype=object), np.asarray(points, dtype=object)
    )
    return dist
