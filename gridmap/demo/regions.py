"""Regions from polygons (metric CRS): street blocks, slivers merged, heavy blocks split,
and neighbouring pieces grown into grids and communities of a target weight."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import shapely
from shapely.ops import split as split_geometry

from gridmap.demo.osm_rules import MIN_BLOCK_M2, MIN_BLOCK_WIDTH_M


def shared_boundaries(polys, tolerance_m: float = 0.05) -> list[dict[int, float]]:
    """Neighbours of each polygon with the length of boundary they share (>= 1 m).

    Parameters
    ----------
    polys : sequence of shapely polygons
        The polygons (metric CRS).
    tolerance_m : float
        Gap in metres still counted as a shared boundary.

    Returns
    -------
    list of dict of int to float
        For each polygon, neighbour index -> shared length in metres.
    """
    polys = np.asarray(polys, dtype=object)
    nbrs: list[dict[int, float]] = [{} for _ in range(len(polys))]
    if len(polys) < 2:
        return nbrs
    i, j = shapely.STRtree(polys).query(polys, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bnd = shapely.boundary(polys)
    shared = shapely.length(
        shapely.intersection(bnd[i], shapely.buffer(bnd[j], tolerance_m, quad_segs=1))
    )
    for a, b, s in zip(i, j, shared, strict=True):
        if s >= 1.0:
            nbrs[a][b] = nbrs[b][a] = float(s)
    return nbrs


def street_blocks(lines, frame) -> np.ndarray:
    """Faces of the street network inside ``frame``: together they tile it.

    Parameters
    ----------
    lines : sequence of shapely lines
        The street centre lines (metric CRS).
    frame : shapely polygon
        The area to tile.

    Returns
    -------
    numpy.ndarray
        The block polygons.
    """
    clipped = shapely.intersection(np.asarray(lines, dtype=object), frame)
    clipped = clipped[~shapely.is_empty(clipped)]
    noded = shapely.union_all(np.append(clipped, shapely.boundary(frame)))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 1.0]


def merge_slivers(
    blocks, min_area_m2: float = MIN_BLOCK_M2, min_width_m: float = MIN_BLOCK_WIDTH_M
) -> np.ndarray:
    """Merge each sliver (small or thin face) into the neighbour it shares most edge with.

    Parameters
    ----------
    blocks : sequence of shapely polygons
        The blocks (metric CRS).
    min_area_m2 : float
        Blocks smaller than this, in square metres, are slivers.
    min_width_m : float
        Blocks thinner than this, in metres, are slivers.

    Returns
    -------
    numpy.ndarray
        The blocks after merging.
    """
    blocks = np.asarray(blocks, dtype=object)
    area = shapely.area(blocks)
    width = 2 * area / np.maximum(shapely.length(blocks), 1e-9)
    sliver = (area < min_area_m2) | (width < min_width_m)
    nbrs = shared_boundaries(blocks)
    parent = list(range(len(blocks)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for s in np.argsort(area):
        if not sliver[s] or not nbrs[s]:
            continue
        best = max(nbrs[s], key=lambda c: (not sliver[c], nbrs[s][c], -c))
        parent[root(s)] = root(best)
        sliver[s] = False  # absorbed: later slivers may attach to it as part of its group
    groups: dict[int, list[int]] = defaultdict(list)
    for k in range(len(blocks)):
        groups[root(k)].append(k)
    merged = [
        blocks[m[0]] if len(m) == 1 else shapely.union_all(blocks[m]) for m in groups.values()
    ]
    return shapely.get_parts(np.asarray(merged, dtype=object))


def split_heavy_block(poly, xy: np.ndarray, weights: np.ndarray, max_weight: float) -> list:
    """Cut ``poly`` with straight lines until every piece holds <= ``max_weight``.

    Cuts run between buildings, across the longer side.

    Parameters
    ----------
    poly : shapely polygon
        The block (metric CRS).
    xy : numpy.ndarray
        Centroids of its buildings (metres).
    weights : numpy.ndarray
        Homes in each building.
    max_weight : float
        Most homes a piece may hold.

    Returns
    -------
    list
        The pieces.
    """
    if weights.sum() <= max_weight or (weights > 0).sum() < 2:
        return [poly]
    minx, miny, maxx, maxy = poly.bounds
    for axis in (0, 1) if maxx - minx >= maxy - miny else (1, 0):
        heavy = weights > 0
        coord = xy[heavy, axis]
        order = np.argsort(coord, kind="stable")
        cum = np.cumsum(weights[heavy][order])
        k = int(np.searchsorted(cum, cum[-1] / 2))
        k = min(max(k, 0), len(order) - 2)
        a, b = coord[order[k]], coord[order[k + 1]]
        if b - a < 1e-6:
            continue
        cut = (a + b) / 2
        line = (
            shapely.LineString([(cut, miny - 1), (cut, maxy + 1)])
            if axis == 0
            else shapely.LineString([(minx - 1, cut), (maxx + 1, cut)])
        )
        pieces = shapely.get_parts(split_geometry(poly, line))
        if len(pieces) < 2:
            continue
        out = []
        for piece in pieces:
            inside = shapely.contains_xy(piece, xy[:, 0], xy[:, 1])
            out += split_heavy_block(piece, xy[inside], weights[inside], max_weight)
        return out
    return [poly]


def grow_regions(
    weights,
    nbrs: list[dict[int, float]],
    order,
    centers,
    *,
    low: float,
    high: float,
    min_keep: float,
) -> np.ndarray:
    """Partition a graph of polygons into connected regions of total weight in [low, high].

    Seeds are taken in ``order``; a region takes its nearest unassigned neighbour that
    still fits until it reaches ``low``. Regions lighter than ``min_keep`` then merge
    into their lightest neighbouring region.

    Parameters
    ----------
    weights : array-like of float
        Weight (households) of each polygon.
    nbrs : list of dict of int to float
        Neighbours of each polygon with their shared boundary (see
        :func:`shared_boundaries`).
    order : array-like of int
        The order seeds are taken in.
    centers : numpy.ndarray
        Centre of each polygon (metres).
    low, high : float
        Wanted range of a region's weight.
    min_keep : float
        Lightest region kept on its own.

    Returns
    -------
    numpy.ndarray
        A region label per polygon.
    """
    weights = np.asarray(weights, dtype=float)
    centers = np.asarray(centers, dtype=float)
    label = np.full(len(weights), -1)
    n_regions = 0
    for seed in order:
        if label[seed] >= 0:
            continue
        label[seed] = n_regions
        total = weights[seed]
        frontier = {c for c in nbrs[seed] if label[c] < 0}
        while total < low and frontier:
            fits = [c for c in frontier if total + weights[c] <= high]
            if not fits:
                break
            d = ((centers[fits] - centers[seed]) ** 2).sum(axis=1)
            c = fits[int(np.argmin(d))]
            label[c] = n_regions
            total += weights[c]
            frontier.discard(c)
            frontier.update(x for x in nbrs[c] if label[x] < 0)
        n_regions += 1
    return merge_light_regions(label, weights, nbrs, min_keep)


def merge_light_regions(label: np.ndarray, weights, nbrs, min_keep: float) -> np.ndarray:
    """Merge regions lighter than ``min_keep`` into their lightest neighbour; relabel 0..n-1.

    Parameters
    ----------
    label : numpy.ndarray
        Region label of each polygon.
    weights : array-like of float
        Weight of each polygon.
    nbrs : list of dict of int to float
        Neighbours of each polygon.
    min_keep : float
        Lightest region kept on its own.

    Returns
    -------
    numpy.ndarray
        The new labels.
    """
    label = label.copy()
    while True:
        totals: defaultdict[int, float] = defaultdict(float)
        for k, r in enumerate(label):
            totals[r] += weights[k]
        light = sorted((t, r) for r, t in totals.items() if t < min_keep)
        merged = False
        for _t, r in light:
            around = {label[c] for k in np.flatnonzero(label == r) for c in nbrs[k]} - {r}
            if around:
                target = min(around, key=lambda q: (totals[q], q))
                label[label == r] = target
                merged = True
                break
        if not merged:
            break
    _, label = np.unique(label, return_inverse=True)
    return label


def split_in_two(label: np.ndarray, nbrs, order, weights) -> np.ndarray:
    """Fallback when everything ended up in one region: a breadth-first half and the rest.

    Parameters
    ----------
    label : numpy.ndarray
        Region label of each polygon (all equal).
    nbrs : list of dict of int to float
        Neighbours of each polygon.
    order : array-like of int
        The polygons in seed order (the first starts the half).
    weights : array-like of float
        Weight of each polygon.

    Returns
    -------
    numpy.ndarray
        Labels 0 and 1.
    """
    if label.max() > 0 or len(label) < 2:
        return label
    start, half = order[0], np.sum(weights) / 2
    seen: list[int] = []
    queue: list[int] = []
    queue.append(start)
    visited = {start}
    total = 0.0
    while queue and (total < half or not seen):
        k = queue.pop(0)
        seen.append(k)
        total += weights[k]
        for c in sorted(nbrs[k]):
            if c not in visited:
                visited.add(c)
                queue.append(c)
    out = np.ones(len(label), dtype=int)
    out[seen] = 0
    if out.min() == out.max():  # a single polygon of all weight: split by order instead
        out[order[len(order) // 2 :]] = 1
        out[order[: len(order) // 2]] = 0
    return out
