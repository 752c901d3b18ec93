"""The walking graph (``Network``) and the edits that add nodes and edges to it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike

from gridmap import lines as L

# Entrances that are no way in or out for residents on foot.
UNUSABLE_GATE = frozenset({"emergency", "exit", "no"})

# Edge kinds of generated connectors (stored in ``edge_highway``).
GATE_LINK = "gate_link"

# Bump when the build rules change: stored networks built by another version are rebuilt.
BUILDER_VERSION = 3  # 2: bridges and tunnels keep their layer; 3: one walkability rule
DEFAULT_MAX_SNAP_M = 300.0
DEFAULT_GATE_TOLERANCE_M = 10.0
DEFAULT_GATE_LINK_M = 100.0
DEFAULT_SNAP_TOLERANCE_M = 0.5
NODINGS = ("intersections", "vertices")


@dataclass(frozen=True, eq=False)
class Network:
    """A walking graph in a metric CRS.

    Nodes: ``node_xy`` (n, 2). Edges (undirected): ``edge_u``/``edge_v`` node indices,
    ``edge_length_m`` along the geometry, ``edge_compound`` (index into ``compound_code``
    for a gated compound's internal path, -1 for public), ``edge_highway`` and
    ``edge_source`` (index of the input line; the road id for a network loaded from the
    database; -1 for generated connectors). Geometry of edge
    i runs from u to v: ``geom_xy[geom_offsets[i]:geom_offsets[i + 1]]``. Compounds:
    code, polygon (metric), whether gated; gates: node, compound index, code.
    """

    crs: str
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_compound: np.ndarray
    edge_highway: np.ndarray
    edge_source: np.ndarray
    geom_offsets: np.ndarray
    geom_xy: np.ndarray
    compound_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    compound_geom: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    compound_gated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    gate_node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gate_compound: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    gate_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    warnings: tuple[str, ...] = ()

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    def __repr__(self) -> str:
        return (
            f"Network({self.n_nodes} nodes, {self.n_edges} edges, "
            f"{int(self.compound_gated.sum())} gated compounds, {len(self.gate_node)} gates, "
            f"crs={self.crs})"
        )

    @cached_property
    def adjacency(self) -> sp.csr_array:
        """Symmetric CSR matrix of edge lengths (both directions), parallel edges reduced to
        the shortest and self-loops dropped: the input of scipy.sparse.csgraph."""
        u, v, w = self.edge_u, self.edge_v, self.edge_length_m
        keep = u != v
        rows = np.r_[u[keep], v[keep]]
        cols = np.r_[v[keep], u[keep]]
        data = np.r_[w[keep], w[keep]]
        key = rows * max(self.n_nodes, 1) + cols
        order = np.argsort(key, kind="stable")
        key, data = key[order], data[order]
        first = np.r_[True, key[1:] != key[:-1]]
        if not first.all():  # parallel edges: keep the shortest
            starts = np.flatnonzero(first)
            data = np.minimum.reduceat(data, starts)
            key = key[starts]
        rows, cols = key // max(self.n_nodes, 1), key % max(self.n_nodes, 1)
        indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=self.n_nodes))]
        return sp.csr_array(
            (data, cols.astype(np.int32), indptr.astype(np.int32)),
            shape=(self.n_nodes, self.n_nodes),
        )

    @cached_property
    def incident_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Node -> incident edges as CSR arrays (indptr, edges); a self-loop appears twice."""
        node = np.r_[self.edge_u, self.edge_v]
        edge = np.r_[np.arange(self.n_edges), np.arange(self.n_edges)]
        order = np.argsort(node, kind="stable")
        indptr = np.r_[0, np.cumsum(np.bincount(node, minlength=self.n_nodes))]
        return indptr, edge[order]

    @cached_property
    def vertex_along(self) -> np.ndarray:
        """Distance of every geometry vertex from the start of its edge."""
        return L.along(self.geom_xy, self.geom_offsets)

    @cached_property
    def edge_geoms(self) -> np.ndarray:
        """Edges as shapely LineStrings (built once, on first use)."""
        return L.to_geoms(self.geom_xy, self.geom_offsets)

    @cached_property
    def segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every straight segment of every edge: (edge, start xy, end xy, distance of its
        start along the edge)."""
        last = np.zeros(len(self.geom_xy), bool)
        last[self.geom_offsets[1:] - 1] = True
        start = np.flatnonzero(~last)
        seg_edge = np.repeat(np.arange(self.n_edges), np.diff(self.geom_offsets) - 1)
        return seg_edge, self.geom_xy[start], self.geom_xy[start + 1], self.vertex_along[start]

    @cached_property
    def segment_tree(self) -> shapely.STRtree:
        """STRtree of the segments' envelopes (boxes), for exact nearest-edge searches."""
        _e, a, b, _s = self.segments
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        return shapely.STRtree(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))

    @cached_property
    def compound_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.compound_geom)

    @cached_property
    def _vertex_key(self) -> tuple[np.ndarray, np.ndarray]:
        return L.global_key(self.vertex_along, self.geom_offsets)

    def substrings(
        self, edge: ArrayLike, start_m: ArrayLike, end_m: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pieces of edges between two distances from their u end (see gridmap.lines)."""
        return L.substrings(
            self.geom_xy,
            self.geom_offsets,
            self.vertex_along,
            edge,
            start_m,
            end_m,
            key_base=self._vertex_key,
        )

    def points_along(self, edge: ArrayLike, at_m: ArrayLike) -> np.ndarray:
        """Points at distances from the u end of edges."""
        return L.points_at(
            self.geom_xy,
            self.geom_offsets,
            self.vertex_along,
            edge,
            at_m,
            key_base=self._vertex_key,
        )

    def compound_of(self, xy: np.ndarray) -> np.ndarray:
        """Index of the gated compound holding each point, -1 outside every gated one."""
        out = np.full(len(xy), -1, dtype=np.int64)
        gated = np.flatnonzero(self.compound_gated)
        if len(xy) == 0 or len(gated) == 0:
            return out
        pts = shapely.points(xy)
        pi, ci = self.compound_tree.query(pts, predicate="intersects")
        ok = self.compound_gated[ci]
        pi, ci = pi[ok], ci[ok]
        # Nested compounds: the smallest holding the point wins.
        area = shapely.area(self.compound_geom)[ci]
        order = np.lexsort((-area, pi))
        out[pi[order]] = ci[order]
        return out


# --- edits ---------------------------------------------------------------------------
def incidence(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, edge) of every edge end: u ends first, then v ends."""
    e = np.arange(len(u))
    return np.r_[u, v], np.r_[e, e]


def split_edges(net: Network, edge: ArrayLike, at_m: ArrayLike) -> tuple[Network, np.ndarray]:
    """Split edges at distances from their u end.

    Returns the new network and, per request, the node at the split point (the existing end
    node when the point is within 1 mm of it). Split edges are replaced by their pieces.
    """
    edge = np.asarray(edge, dtype=np.int64)
    at_m = np.asarray(at_m, dtype=float)
    length = net.edge_length_m[edge]
    at_u = at_m < 1e-3
    at_v = at_m > length - 1e-3
    node = np.where(at_u, net.edge_u[edge], np.where(at_v, net.edge_v[edge], -1))
    mid = ~at_u & ~at_v
    if not mid.any():
        return net, node
    req = pd.DataFrame({"edge": edge[mid], "at": np.round(at_m[mid], 3)})
    uniq = req.drop_duplicates().sort_values(["edge", "at"]).reset_index(drop=True)
    uniq["node"] = net.n_nodes + np.arange(len(uniq))
    node[mid] = req.merge(uniq, on=["edge", "at"], how="left")["node"].to_numpy()
    ue, ua, un = uniq["edge"].to_numpy(), uniq["at"].to_numpy(), uniq["node"].to_numpy()
    prev_same = np.r_[False, ue[1:] == ue[:-1]]
    last = np.r_[ue[1:] != ue[:-1], True]
    # Piece ending at each split point, plus the piece after the last split of each edge.
    p_edge = np.r_[ue, ue[last]]
    p_start = np.r_[np.where(prev_same, np.r_[0.0, ua[:-1]], 0.0), ua[last]]
    p_end = np.r_[ua, net.edge_length_m[ue[last]]]
    p_u = np.r_[np.where(prev_same, np.r_[-1, un[:-1]], net.edge_u[ue]), un[last]]
    p_v = np.r_[un, net.edge_v[ue[last]]]
    piece_xy, piece_off = net.substrings(p_edge, p_start, p_end)
    kept = np.setdiff1d(np.arange(net.n_edges), ue)
    kept_xy, kept_off = net.substrings(kept, np.zeros(len(kept)), net.edge_length_m[kept])
    new_xy = net.points_along(ue, ua)
    out = replace(
        net,
        node_xy=np.vstack([net.node_xy, new_xy]),
        edge_u=np.r_[net.edge_u[kept], p_u],
        edge_v=np.r_[net.edge_v[kept], p_v],
        edge_length_m=np.r_[net.edge_length_m[kept], p_end - p_start],
        edge_compound=np.r_[net.edge_compound[kept], net.edge_compound[p_edge]],
        edge_highway=np.r_[net.edge_highway[kept], net.edge_highway[p_edge]],
        edge_source=np.r_[net.edge_source[kept], net.edge_source[p_edge]],
        geom_xy=np.vstack([kept_xy, piece_xy]),
        geom_offsets=np.r_[kept_off, kept_off[-1] + piece_off[1:]].astype(np.int64),
    )
    return out, node


def add_edges(
    net: Network, u: ArrayLike, v: ArrayLike, compound: ArrayLike, highway: str
) -> Network:
    """Append straight edges (connectors) between existing nodes."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if len(u) == 0:
        return net
    a, b = net.node_xy[u], net.node_xy[v]
    return replace(
        net,
        edge_u=np.r_[net.edge_u, u],
        edge_v=np.r_[net.edge_v, v],
        edge_length_m=np.r_[net.edge_length_m, np.hypot(*(b - a).T)],
        edge_compound=np.r_[net.edge_compound, np.asarray(compound, dtype=np.int64)],
        edge_highway=np.r_[net.edge_highway, np.full(len(u), highway, dtype=object)],
        edge_source=np.r_[net.edge_source, np.full(len(u), -1, dtype=np.int64)],
        geom_offsets=np.r_[net.geom_offsets, net.geom_offsets[-1] + 2 * np.arange(1, len(u) + 1)],
        geom_xy=np.vstack([net.geom_xy, np.stack([a, b], axis=1).reshape(-1, 2)]),
    )
