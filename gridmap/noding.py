"""Where street lines meet: the one noding rule of the walking network and patrol matching.

Lines meet where they share a vertex (any level: a ramp's end on a bridge) and where they
cross or touch on the same vertical level. A bridge over a street (or a tunnel under it)
crosses it without a junction; ``vertical_layer`` reads the level from OSM-style tags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike

from gridmap import lines as L

_NOT_SET = frozenset({"", "none", "nan", "null", "no", "false", "0", "否", "无", "非"})


def vertical_layer(layer: Any = None, bridge: Any = None, tunnel: Any = None) -> int:
    """A line's level as OSM tags give it: ``layer``, else +1 on a bridge, -1 in a tunnel.

    Lines on different levels cross without meeting (they still meet at shared vertices).

    Parameters
    ----------
    layer, bridge, tunnel : object
        Raw cell values: str, number, None or NaN.

    Returns
    -------
    int
        The level.
    """
    try:
        return int(float(layer))
    except (TypeError, ValueError):
        pass
    if str(bridge).strip().lower() not in _NOT_SET:
        return 1
    if str(tunnel).strip().lower() not in _NOT_SET:
        return -1
    return 0


def coordinate_keys(xy: np.ndarray) -> np.ndarray:
    """Integer key per vertex; vertices in the same millimetre share it.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) metric coordinates.

    Returns
    -------
    numpy.ndarray
        The keys.
    """
    grid = np.round(xy * 1000.0).astype(np.int64)
    if len(grid) == 0:
        return np.zeros(0, dtype=np.int64)
    grid -= grid.min(axis=0)
    span = grid.max(axis=0) + 1
    if span[0] < 2**31 and span[1] < 2**31:  # pack (x, y) into one int64: a 1-D sort
        packed: np.ndarray = grid[:, 0] * span[1] + grid[:, 1]
        return packed
    _, inverse = np.unique(grid, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def crossing_points(
    lines: np.ndarray, others: np.ndarray, *, level: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Points where lines meet other lines (pairs from an STRtree).

    With ``others is lines`` every pair is taken once and both lines get the point; then
    ``level`` keeps only pairs on the same level.

    Parameters
    ----------
    lines, others : numpy.ndarray
        LineStrings.
    level : numpy.ndarray, optional
        Vertical level per line.

    Returns
    -------
    line, point : numpy.ndarray
        The line index and the point of each meeting.
    """
    tree = shapely.STRtree(others)
    li, oi = tree.query(lines, predicate="intersects")
    if level is not None and others is lines:
        same = level[li] == level[oi]
        li, oi = li[same], oi[same]
    if others is lines:
        keep = li < oi
        li, oi = li[keep], oi[keep]
        # Lines meeting only end to end (most pairs of a noded street set) need no point:
        # their shared end is a vertex of both, joined by its coordinates.
        inner = ~shapely.relate_pattern(lines[li], lines[oi], "FF*F*****")
        li, oi = li[inner], oi[inner]
    if len(li) == 0:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object)
    inter = shapely.intersection(lines[li], others[oi])
    # Overlapping stretches count by their ends.
    inter = np.where(shapely.get_type_id(inter) == 1, shapely.boundary(inter), inter)
    inter = np.where(shapely.get_type_id(inter) == 5, shapely.boundary(inter), inter)
    parts, idx = shapely.get_parts(inter, return_index=True)
    pts = parts[shapely.get_type_id(parts) == 0]
    idx = idx[shapely.get_type_id(parts) == 0]
    return np.r_[li[idx], oi[idx] if others is lines else np.zeros(0, np.int64)], np.r_[
        pts, pts if others is lines else np.zeros(0, dtype=object)
    ]


def insert_at(
    geoms: np.ndarray, xy: np.ndarray, offsets: np.ndarray, line_idx: np.ndarray, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Insert points into the lines they lie on.

    Parameters
    ----------
    geoms : numpy.ndarray
        The LineStrings.
    xy, offsets : numpy.ndarray
        Their coordinates and line starts.
    line_idx : numpy.ndarray
        The line of each point.
    pts : numpy.ndarray
        The points.

    Returns
    -------
    xy, offsets, src, inserted : numpy.ndarray
        The new lines; ``src`` the original vertex of each vertex (-1 when inserted).
    """
    if len(line_idx) == 0:
        return xy, offsets, np.arange(len(xy)), np.zeros(len(xy), bool)
    dist = shapely.line_locate_point(geoms[line_idx], pts)
    return L.insert_points(xy, offsets, line_idx, dist, shapely.get_coordinates(pts))


def split_vertices(key: np.ndarray, inserted: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Vertices where a line is cut: keys shared with another vertex, inserted points and every
    line's two ends.

    Parameters
    ----------
    key : numpy.ndarray
        Node key per vertex.
    inserted : numpy.ndarray
        Inserted points.
    offsets : numpy.ndarray
        Line starts.

    Returns
    -------
    numpy.ndarray
        Boolean per vertex.
    """
    _, key_inv, key_count = np.unique(key, return_inverse=True, return_counts=True)
    split = key_count[key_inv.reshape(-1)] > 1
    split |= inserted
    split[offsets[:-1]] = True
    split[offsets[1:] - 1] = True
    return split


def pieces(split: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first and last vertex of each piece between consecutive split vertices of a line.

    Parameters
    ----------
    split : numpy.ndarray
        Boolean per vertex.
    offsets : numpy.ndarray
        Line starts.

    Returns
    -------
    first, last : numpy.ndarray
        Vertex indices.
    """
    owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    sv = np.flatnonzero(split)
    same_line = owner[sv[1:]] == owner[sv[:-1]]
    return sv[:-1][same_line], sv[1:][same_line]


def piece_coordinates(
    xy: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates of the pieces running from vertex ``a`` to vertex ``b``.

    Parameters
    ----------
    xy : numpy.ndarray
        All vertices.
    a, b : numpy.ndarray
        First and last vertex of each piece.

    Returns
    -------
    xy, offsets : numpy.ndarray
        The pieces.
    """
    n_vert = b - a + 1
    offsets = np.r_[0, np.cumsum(n_vert)].astype(np.int64)
    rank = np.arange(offsets[-1]) - np.repeat(offsets[:-1], n_vert)
    return xy[np.repeat(a, n_vert) + rank], offsets


def node_lines(
    lines: ArrayLike, *, level: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lines cut where they meet (see the module docstring).

    Parameters
    ----------
    lines : array_like
        LineStrings.
    level : array_like, optional
        Vertical level per line (None: all on one level).

    Returns
    -------
    pieces, source : numpy.ndarray
        The pieces and the index of the line each comes from.
    """
    geoms = np.asarray(lines, dtype=object)
    if len(geoms) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, np.int64)
    lev = None if level is None else np.asarray(level, dtype=object)
    xy, offsets = L.from_geoms(geoms)
    li, pts = crossing_points(geoms, geoms, level=lev)
    xy, offsets, _src, inserted = insert_at(geoms, xy, offsets, li, pts)
    a, b = pieces(split_vertices(coordinate_keys(xy), inserted, offsets), offsets)
    owner = np.repeat(np.arange(len(geoms)), np.diff(offsets))
    p_xy, p_off = piece_coordinates(xy, a, b)
    return L.to_geoms(p_xy, p_off), owner[a]
