"""Snapping points (buildings, facilities) onto the nearest point of an allowed edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike

from gridmap.network._graph import DEFAULT_MAX_SNAP_M, Network

SEARCH_WINDOWS_M = (40.0, 120.0)


def nearest_on(
    net: Network, xy: ArrayLike, want: ArrayLike, max_m: float, *, outside: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point the nearest point on an allowed edge within ``max_m``.

    Allowed: edges whose ``edge_compound`` equals ``want`` of the point (or differs from it,
    ``outside=True``). Exact: segments are fetched by envelope within a growing window, and
    a hit counts only when it is within the window, so nothing nearer can be missed.
    Returns (edge or -1, distance along the edge from u, distance to it).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    want = np.broadcast_to(np.asarray(want, dtype=np.int64), (len(xy),))
    n = len(xy)
    edge = np.full(n, -1, dtype=np.int64)
    at = np.zeros(n)
    dist = np.full(n, np.inf)
    if n == 0 or net.n_edges == 0:
        return edge, at, dist
    seg_edge, seg_a, seg_b, seg_along = net.segments
    tree = net.segment_tree
    todo = np.arange(n)
    windows = sorted({min(w, max_m) for w in SEARCH_WINDOWS_M} | {max_m})
    for w in windows:
        if len(todo) == 0 or not np.isfinite(w):
            break
        p = xy[todo]
        boxes = shapely.box(p[:, 0] - w, p[:, 1] - w, p[:, 0] + w, p[:, 1] + w)
        pi, si = tree.query(boxes)
        comp = net.edge_compound[seg_edge[si]]
        ok = (comp != want[todo[pi]]) if outside else (comp == want[todo[pi]])
        pi, si = pi[ok], si[ok]
        a, b = seg_a[si], seg_b[si]
        ab = b - a
        len2 = np.einsum("ij,ij->i", ab, ab)
        t = np.where(
            len2 > 0, np.einsum("ij,ij->i", p[pi] - a, ab) / np.where(len2 > 0, len2, 1.0), 0.0
        )
        t = np.clip(t, 0.0, 1.0)
        foot = a + t[:, None] * ab
        d = np.hypot(*(p[pi] - foot).T)
        near = d <= w
        pi, si, t, d, len2 = pi[near], si[near], t[near], d[near], len2[near]
        if len(pi) == 0:
            continue
        # Pairs come grouped by point (STRtree answers in input order; sort if not): the
        # minimum per group without a full sort.
        if (np.diff(pi) < 0).any():
            order = np.argsort(pi, kind="stable")
            pi, si, t, d, len2 = pi[order], si[order], t[order], d[order], len2[order]
        new_group = np.r_[True, pi[1:] != pi[:-1]]
        dmin = np.minimum.reduceat(d, np.flatnonzero(new_group))
        group = np.cumsum(new_group) - 1
        best = np.flatnonzero(d <= dmin[group])
        first = best[np.r_[True, group[best][1:] != group[best][:-1]]]
        hit = todo[pi[first]]
        edge[hit] = seg_edge[si[first]]
        at[hit] = seg_along[si[first]] + t[first] * np.sqrt(len2[first])
        dist[hit] = d[first]
        found = np.zeros(len(todo), bool)
        found[pi[first]] = True
        todo = todo[~found]
    hit = edge >= 0
    at[hit] = np.clip(at[hit], 0.0, net.edge_length_m[edge[hit]])
    return edge, at, dist


SNAP_EDGE, SNAP_GATE, SNAP_OFF, SNAP_NODE = "edge", "gate", "off_network", "node"


@dataclass(frozen=True, eq=False)
class Snap:
    """How n points join a network.

    Per point: ``xy`` (the point itself), ``status`` ('edge': on the nearest allowed edge;
    'gate': inside a gated compound without internal paths, joined straight to each of its
    gates; 'off_network': nothing within ``max_snap_m``; 'node': placed on a node,
    ``snap_nodes``), ``edge`` and ``offset_m`` (position along the edge
    from its u end; -1/NaN unless 'edge'), ``leg_m`` (straight access leg to the edge or
    the nearest gate), ``snapped_xy`` and ``compound`` (-1 outside gated compounds).
    Attachments (one row per way in; sorted by point): ``att_point``, ``att_node`` and
    ``att_cost_m``, the metres from the point to that node (leg + along the edge).
    """

    n: int
    xy: np.ndarray
    status: np.ndarray
    edge: np.ndarray
    offset_m: np.ndarray
    leg_m: np.ndarray
    snapped_xy: np.ndarray
    compound: np.ndarray
    att_point: np.ndarray
    att_node: np.ndarray
    att_cost_m: np.ndarray

    def subset(self, mask: ArrayLike) -> Snap:
        """The snap of a subset of the points (boolean mask or indices), renumbered."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        new = np.full(self.n, -1, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        rows = np.flatnonzero(new[self.att_point] >= 0)
        order = np.argsort(new[self.att_point[rows]], kind="stable")
        rows = rows[order]
        return Snap(
            n=len(idx),
            xy=self.xy[idx],
            status=self.status[idx],
            edge=self.edge[idx],
            offset_m=self.offset_m[idx],
            leg_m=self.leg_m[idx],
            snapped_xy=self.snapped_xy[idx],
            compound=self.compound[idx],
            att_point=new[self.att_point[rows]],
            att_node=self.att_node[rows],
            att_cost_m=self.att_cost_m[rows],
        )


def point_xy(points: ArrayLike) -> np.ndarray:
    """(n, 2) coordinates of points given as an (n, 2) array or shapely points."""
    arr = np.asarray(points)
    if arr.dtype != object and arr.ndim == 2 and arr.shape[1] >= 2:
        return arr[:, :2].astype(np.float64)
    arr = np.asarray(points, dtype=object)
    if len(arr) == 0:
        return np.zeros((0, 2))
    xy: np.ndarray = shapely.get_coordinates(arr).astype(np.float64).reshape(-1, 2)
    return xy


def snap_points(
    network: Network,
    points: ArrayLike,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    compound: ArrayLike | None = None,
) -> Snap:
    """Attach points (metric CRS, the network's) to the nearest point on an allowed edge.

    points      (n, 2) array or shapely points
    compound    optional index of the gated compound of each point (-1 outside); found from
                the compound polygons when omitted
    Returns a ``Snap``. A point in a gated compound uses only that compound's internal paths
    (or its gates when no path is mapped); any other point only public edges.
    """
    xy = point_xy(points)
    n = len(xy)
    comp = network.compound_of(xy) if compound is None else np.asarray(compound, np.int64)
    edge = np.full(n, -1, dtype=np.int64)
    at = np.full(n, np.nan)
    leg = np.full(n, np.nan)
    status = np.full(n, SNAP_OFF, dtype=object)
    snapped = np.full((n, 2), np.nan)
    att_p, att_n, att_c = [], [], []

    has_paths = np.zeros(len(network.compound_code) + 1, bool)  # last slot: public
    has_paths[network.edge_compound[network.edge_compound >= 0]] = True
    by_edge = (comp < 0) | has_paths[np.maximum(comp, 0)]
    mine = np.flatnonzero(by_edge)
    e, a, d = nearest_on(network, xy[mine], comp[mine], max_snap_m)
    hit = e >= 0
    edge[mine[hit]], at[mine[hit]], leg[mine[hit]] = e[hit], a[hit], d[hit]
    status[mine[hit]] = SNAP_EDGE
    for c in np.unique(comp[~by_edge]):
        mine = np.flatnonzero(comp == c)
        gates = np.flatnonzero(network.gate_compound == c)
        if len(gates) == 0:
            continue
        gxy = network.node_xy[network.gate_node[gates]]
        d = np.hypot(xy[mine, None, 0] - gxy[None, :, 0], xy[mine, None, 1] - gxy[None, :, 1])
        near = d.min(axis=1)
        hit = near <= max_snap_m
        rows = mine[hit]
        status[rows] = SNAP_GATE
        leg[rows] = near[hit]
        snapped[rows] = gxy[d[hit].argmin(axis=1)]
        att_p.append(np.repeat(rows, len(gates)))
        att_n.append(np.tile(network.gate_node[gates], len(rows)))
        att_c.append(d[hit].reshape(-1))
    on_edge = np.flatnonzero(edge >= 0)
    if len(on_edge):
        e = edge[on_edge]
        snapped[on_edge] = network.points_along(e, at[on_edge])
        length = network.edge_length_m[e]
        att_p += [on_edge, on_edge]
        att_n += [network.edge_u[e], network.edge_v[e]]
        att_c += [leg[on_edge] + at[on_edge], leg[on_edge] + (length - at[on_edge])]
    if att_p:
        ap, an, ac = np.concatenate(att_p), np.concatenate(att_n), np.concatenate(att_c)
    else:
        ap, an, ac = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    order = np.argsort(ap, kind="stable")
    return Snap(
        n=n,
        xy=xy,
        status=status,
        edge=edge,
        offset_m=at,
        leg_m=leg,
        snapped_xy=snapped,
        compound=comp,
        att_point=ap[order].astype(np.int64),
        att_node=an[order].astype(np.int64),
        att_cost_m=ac[order],
    )


def snap_nodes(network: Network, nodes: ArrayLike) -> Snap:
    """A Snap of points lying exactly on the given network nodes (no leg, no edge): sources
    or targets "at a node" for checks against other shortest-path tools."""
    nodes = np.asarray(nodes, dtype=np.int64)
    k = len(nodes)
    return Snap(
        n=k,
        xy=network.node_xy[nodes],
        status=np.full(k, SNAP_NODE, dtype=object),
        edge=np.full(k, -1, dtype=np.int64),
        offset_m=np.zeros(k),
        leg_m=np.zeros(k),
        snapped_xy=network.node_xy[nodes],
        compound=np.full(k, -1, dtype=np.int64),
        att_point=np.arange(k, dtype=np.int64),
        att_node=nodes,
        att_cost_m=np.zeros(k),
    )
