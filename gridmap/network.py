"""The walking network: a graph of CSR arrays in a metric CRS, and snapping points onto it.

``build_network`` turns street lines into a graph:

* **walkability**: the rule of ``gridmap.walkable`` (private access only inside a compound).
* **noding**: OSM ways join where they share a node id (``node_ids``; bridges stay apart);
  an imported line layer is noded where lines share a vertex (``"vertices"``) or wherever
  they meet or cross on the same level (``"intersections"``, the default; the rule of
  ``gridmap.noding``: a bridge over a street is no junction), and line ends closer than
  ``snap_tolerance_m`` to another line are joined to it (undershoots in survey data).
* **gated compounds**: a compound with at least one gate is closed. Paths inside it
  (internal paths) are cut from everything outside except at its gates. Lines are split
  where they cross the compound outline; every crossing that is not within
  ``gate_tolerance_m`` of a gate is cut. A gate that is not on a crossing is linked to the
  nearest public edge and the nearest internal path (within ``gate_link_m``) by a straight
  connector. A compound without any gate is treated as open and reported in ``warnings``.

``snap_points`` attaches points (buildings, facilities) to the nearest point *on* an edge,
never just the nearest node: a point inside a gated compound attaches to that compound's
internal paths, or, when none are mapped, straight to each of its gates; any other point
attaches to a public edge. The straight access leg counts in every distance. Points farther
than ``max_snap_m`` from any allowed edge are reported as off-network.

Everything is vectorised (numpy, shapely 2, STRtree); the graph feeds
``scipy.sparse.csgraph`` through ``Network.adjacency``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from gridmap import lines as L
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput
from gridmap.noding import (
    coordinate_keys,
    crossing_points,
    insert_at,
    piece_coordinates,
    pieces,
    split_vertices,
)
from gridmap.noding import vertical_layer as vertical_layer  # the stored-road builder reads it
from gridmap.walkable import (
    internal_highway,
    text_array,
    walkable,
)

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
        return (f"Network({self.n_nodes} nodes, {self.n_edges} edges, "
                f"{int(self.compound_gated.sum())} gated compounds, {len(self.gate_node)} gates, "
                f"crs={self.crs})")

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
        return sp.csr_array((data, cols.astype(np.int32), indptr.astype(np.int32)),
                            shape=(self.n_nodes, self.n_nodes))

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

    def substrings(self, edge, start_m, end_m) -> tuple[np.ndarray, np.ndarray]:
        """Pieces of edges between two distances from their u end (see gridmap.lines)."""
        return L.substrings(self.geom_xy, self.geom_offsets, self.vertex_along, edge, start_m,
                            end_m, key_base=self._vertex_key)

    def points_along(self, edge, at_m) -> np.ndarray:
        """Points at distances from the u end of edges."""
        return L.points_at(self.geom_xy, self.geom_offsets, self.vertex_along, edge, at_m,
                           key_base=self._vertex_key)

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


# --- building the graph ------------------------------------------------------------

def _dangle_points(lines, tol_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line ends within ``tol_m`` of another line (undershoots): (line, point on it, end id).

    ``end id`` is 2 * line + (0 start | 1 end) of the dangling end, which moves there.
    """
    starts = shapely.get_point(lines, 0)
    ends = shapely.get_point(lines, -1)
    pts = np.r_[starts, ends]
    owner = np.r_[np.arange(len(lines)), np.arange(len(lines))]
    end_id = np.r_[2 * np.arange(len(lines)), 2 * np.arange(len(lines)) + 1]
    tree = shapely.STRtree(lines)
    pi, li = tree.query(pts, predicate="dwithin", distance=tol_m)
    other = li != owner[pi]
    pi, li = pi[other], li[other]
    if len(pi) == 0:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object), np.zeros(0, np.int64)
    d = shapely.distance(pts[pi], lines[li])
    # Exactly touching: the intersection pass nodes it. Anything else within the tolerance,
    # down to 1e-9 m (a T-junction after a round trip through lon/lat), is moved onto it.
    touching = shapely.intersects(pts[pi], lines[li])
    pi, li, d = pi[~touching], li[~touching], d[~touching]
    if len(pi) == 0:
        return np.zeros(0, np.int64), np.zeros(0, dtype=object), np.zeros(0, np.int64)
    order = np.lexsort((d, pi))
    pi, li = pi[order], li[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    pi, li = pi[first], li[first]
    target = shapely.line_interpolate_point(lines[li], shapely.line_locate_point(lines[li],
                                                                                pts[pi]))
    return li, target, end_id[pi]


def build_network(lines, *, crs: str, highway=None, foot=None, access=None, layer=None,
                  node_ids=None, noding: str = "intersections", line_compound=None,
                  compound_codes=None, compound_geoms=None, gate_points=None,
                  gate_compound=None, gate_codes=None, gate_node_ids=None,
                  gate_tolerance_m: float = DEFAULT_GATE_TOLERANCE_M,
                  gate_link_m: float = DEFAULT_GATE_LINK_M,
                  snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M) -> Network:
    """Build the walking network from street lines in the metric CRS ``crs``.

    lines           array/GeoSeries of LineStrings (metric CRS)
    highway, foot, access, layer
                    optional aligned tag values (see ``gridmap.walkable``; ``layer`` keeps
                    bridges and tunnels from joining streets they cross in "intersections"
                    noding, see ``gridmap.noding``)
    node_ids        optional per line a sequence of node ids, one per vertex (OSM ways):
                    lines then join exactly where they share an id
    noding          "intersections" or "vertices" for lines without node ids
    line_compound   optional per line the code of the compound it is an internal path of
                    (None/NaN: decided from the compound polygons and the highway value)
    compound_codes, compound_geoms
                    compounds (codes, polygons in the metric CRS)
    gate_points, gate_compound, gate_codes
                    gates (points, code of their compound or None to find it from the
                    outline within ``gate_tolerance_m``, codes)
    gate_node_ids   node ids that are gates (OSM barrier/entrance nodes): lines are split
                    there so a gate is always a node
    Returns a ``Network``; problems that do not stop the build are in ``warnings``.
    """
    if noding not in NODINGS:
        raise InvalidInput(f"noding must be one of {', '.join(NODINGS)} (got {noding!r})")
    warnings: list[str] = []
    comps = _Compounds.of(compound_codes, compound_geoms)
    gates = _gates(comps, gate_points, gate_compound, gate_codes, gate_tolerance_m, warnings)
    ways = _walkable_ways(np.asarray(lines, dtype=object), comps, highway, foot, access, layer,
                          line_compound)
    ids = _vertex_ids(ways, node_ids, warnings)
    xy, offsets, src, inserted = _noded_vertices(ways, comps, noding, ids is not None,
                                                 snap_tolerance_m)
    key = coordinate_keys(xy)
    if ids is not None:
        key = np.where(src >= 0, ids[np.maximum(src, 0)], -1)
        key = np.where(key >= 0, key, -(coordinate_keys(xy) + 1))
    split = split_vertices(key, inserted, offsets)
    if gate_node_ids is not None and ids is not None and len(gate_node_ids):
        split |= np.isin(key, np.asarray(list(gate_node_ids), dtype=np.int64))
    edges = _edges(xy, offsets, key, split)
    edges = _internal_paths(edges, ways, comps)
    net = Network(crs=crs, node_xy=edges.node_xy, edge_u=edges.u, edge_v=edges.v,
                  edge_length_m=edges.length, edge_compound=edges.compound,
                  edge_highway=ways.highway[edges.line],
                  edge_source=ways.keep[edges.line].astype(np.int64),
                  geom_offsets=edges.geom_offsets, geom_xy=edges.geom_xy,
                  compound_code=comps.code, compound_geom=comps.geom,
                  compound_gated=comps.gated)
    parent = _parent_compounds(comps.geom, comps.gated)
    return _close_compounds(net, gates.points, gates.compound, gates.codes, parent,
                            gate_tolerance_m, gate_link_m, warnings)


@dataclass
class _Compounds:
    """Compound codes and polygons (metric), which are gated, and a tree of the polygons."""

    code: np.ndarray
    geom: np.ndarray
    gated: np.ndarray
    tree: shapely.STRtree | None

    @classmethod
    def of(cls, codes, geoms) -> _Compounds:
        code = np.asarray(codes if codes is not None else [], dtype=object)
        geom = np.asarray(geoms if geoms is not None else [], dtype=object)
        if len(code) != len(geom):
            raise InvalidInput("compound codes and polygons must have the same length")
        return cls(code, geom, np.zeros(len(code), bool),
                   shapely.STRtree(geom) if len(geom) else None)

    def index_of(self, codes, n: int) -> np.ndarray:
        """Position of each given compound code (-1 for None/NaN/unknown)."""
        pos = {c: i for i, c in enumerate(self.code)}
        out = np.full(n, -1, dtype=np.int64)
        if codes is not None:
            for i, c in enumerate(codes):
                if c is not None and not (isinstance(c, float) and np.isnan(c)):
                    out[i] = pos.get(c, -1)
        return out


@dataclass
class _Gates:
    points: np.ndarray
    codes: np.ndarray
    compound: np.ndarray  # position in the compounds, -1 when on none


def _gates(comps: _Compounds, gate_points, gate_compound, gate_codes, tol_m: float,
           warnings: list[str]) -> _Gates:
    """Gates and the compounds they close (marked in ``comps.gated``)."""
    pts = np.asarray(gate_points if gate_points is not None else [], dtype=object)
    codes = np.asarray(gate_codes if gate_codes is not None else
                       [f"gate-{i + 1}" for i in range(len(pts))], dtype=object)
    comp = comps.index_of(gate_compound, len(pts))
    todo = np.flatnonzero(comp < 0)
    if comps.tree is not None and len(todo):
        # Gates without a compound: the compound whose outline passes within the tolerance.
        outlines = shapely.boundary(comps.geom)
        gi, ci = shapely.STRtree(outlines).query(pts[todo], predicate="dwithin",
                                                 distance=tol_m)
        d = shapely.distance(pts[todo][gi], outlines[ci])
        order = np.lexsort((d, gi))
        gi, ci = gi[order], ci[order]
        first = np.r_[True, gi[1:] != gi[:-1]] if len(gi) else np.zeros(0, bool)
        comp[todo[gi[first]]] = ci[first]
    comps.gated[comp[comp >= 0]] = True
    open_comps = [str(c) for c in comps.code[~comps.gated]]
    if open_comps:
        shown = ", ".join(open_comps[:5]) + (" ..." if len(open_comps) > 5 else "")
        warnings.append(f"{len(open_comps)} compounds have no gate and are treated as open "
                        f"({shown})")
    loose = int((comp < 0).sum())
    if loose:
        warnings.append(f"{loose} gates are not on any compound outline (within "
                        f"{tol_m:g} m) and were ignored")
    return _Gates(pts, codes, comp)


@dataclass
class _Ways:
    """The walkable input lines (positions ``keep`` in the input) and what is known of them."""

    keep: np.ndarray
    geoms: np.ndarray
    highway: np.ndarray
    explicit: np.ndarray  # compound given by the caller, -1 when none
    private: np.ndarray
    level: np.ndarray | None


def _walkable_ways(geoms, comps: _Compounds, highway, foot, access, layer,
                   line_compound) -> _Ways:
    """The lines a person may walk: private ones only inside a compound (by midpoint or as
    the caller says)."""
    n_in = len(geoms)
    mid_comp = np.full(n_in, -1, dtype=np.int64)
    if comps.tree is not None and n_in:
        mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
        pi, ci = comps.tree.query(mid, predicate="intersects")
        mid_comp[pi] = ci
    explicit = comps.index_of(line_compound, n_in)
    hw = text_array(highway, n_in)
    ok = walkable(hw, foot, access, in_compound=(mid_comp >= 0) | (explicit >= 0))
    ok &= ~shapely.is_empty(geoms) & (shapely.get_num_coordinates(geoms) >= 2)
    keep = np.flatnonzero(ok)
    if len(keep) == 0:
        raise InvalidInput("no walkable street lines: the network would be empty")
    private = ~walkable(hw[keep], foot=None if foot is None else np.asarray(foot, object)[keep],
                        access=None if access is None else np.asarray(access, object)[keep])
    level = None if layer is None else text_array(np.asarray(layer, dtype=object)[keep],
                                                  len(keep))
    return _Ways(keep, geoms[keep], hw[keep], explicit[keep], private, level)


def _vertex_ids(ways: _Ways, node_ids, warnings: list[str]) -> np.ndarray | None:
    """Per vertex its node id (OSM ways), -1 where a line's ids do not fit its vertices."""
    if node_ids is None:
        return None
    xy, offsets = L.from_geoms(ways.geoms)
    counts = np.diff(offsets)
    ids_list = [node_ids[k] for k in ways.keep]
    ids = np.full(len(xy), -1, dtype=np.int64)
    lens = np.array([len(x) if x is not None else -1 for x in ids_list])
    good = lens == counts
    if good.any():
        flat = np.concatenate([np.asarray(ids_list[i], dtype=np.int64)
                               for i in np.flatnonzero(good)])
        pos = np.concatenate([np.arange(offsets[i], offsets[i + 1])
                              for i in np.flatnonzero(good)])
        ids[pos] = flat
    if not good.all():
        warnings.append(f"{int((~good).sum())} lines have no usable node ids; joined by "
                        "shared coordinates instead")
    return ids


def _noded_vertices(ways: _Ways, comps: _Compounds, noding: str, has_ids: bool,
                    snap_tolerance_m: float):
    """Vertices with the points inserted where lines must be cut: crossings on the same
    level and undershoots (lines without node ids), gated compound outlines.
    Returns (xy, offsets, src, inserted) as ``gridmap.noding.insert_at``."""
    geoms = ways.geoms
    xy, offsets = L.from_geoms(geoms)
    ins_line: list[np.ndarray] = []
    ins_pts: list[np.ndarray] = []
    if not has_ids and noding == "intersections":
        dl, dpts, dend = _dangle_points(geoms, snap_tolerance_m)
        if len(dl):
            # Move the dangling end onto the other line, then node it there.
            pos = np.where(dend % 2 == 0, offsets[dend // 2], offsets[dend // 2 + 1] - 1)
            xy[pos] = shapely.get_coordinates(dpts)
            geoms = L.to_geoms(xy, offsets)
            ins_line.append(dl)
            ins_pts.append(dpts)
        cl, cpts = crossing_points(geoms, geoms, level=ways.level)
        ins_line.append(cl)
        ins_pts.append(cpts)
    gated_idx = np.flatnonzero(comps.gated)
    if len(gated_idx):
        ol, opts = crossing_points(geoms, shapely.boundary(comps.geom[gated_idx]))
        ins_line.append(ol)
        ins_pts.append(opts)
    if not sum(len(x) for x in ins_line):
        return xy, offsets, np.arange(len(xy)), np.zeros(len(xy), bool)
    return insert_at(geoms, xy, offsets, np.concatenate(ins_line), np.concatenate(ins_pts))


@dataclass
class _Edges:
    node_xy: np.ndarray
    u: np.ndarray
    v: np.ndarray
    line: np.ndarray  # position in _Ways
    geom_xy: np.ndarray
    geom_offsets: np.ndarray
    cum: np.ndarray
    length: np.ndarray
    compound: np.ndarray | None = None


def _edges(xy, offsets, key, split) -> _Edges:
    """Edges between consecutive split vertices of a line; nodes are the distinct keys of
    split vertices."""
    a, b = pieces(split, offsets)
    owner = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    geom_xy, geom_offsets = piece_coordinates(xy, a, b)
    sv = np.flatnonzero(split)
    uniq, key_inv = np.unique(key, return_inverse=True)
    key_inv = key_inv.reshape(-1)
    used = np.zeros(len(uniq), bool)
    used[key_inv[sv]] = True
    node_of_key = np.cumsum(used) - 1  # numbered without another sort
    node_of_vertex = np.full(len(xy), -1, dtype=np.int64)
    node_of_vertex[sv] = node_of_key[key_inv[sv]]
    node_xy = np.zeros((int(used.sum()), 2))
    node_xy[node_of_vertex[sv]] = xy[sv]
    u, v = node_of_vertex[a], node_of_vertex[b]
    # Ends of every edge exactly on its nodes (vertices sharing a key may differ below 1 mm).
    geom_xy[geom_offsets[:-1]] = node_xy[u]
    geom_xy[geom_offsets[1:] - 1] = node_xy[v]
    cum = L.along(geom_xy, geom_offsets)
    return _Edges(node_xy, u.astype(np.int64), v.astype(np.int64), owner[a], geom_xy,
                  geom_offsets, cum, L.lengths(cum, geom_offsets))


def _internal_paths(e: _Edges, ways: _Ways, comps: _Compounds) -> _Edges:
    """Each edge's gated compound (internal paths: explicit, or midpoint inside and a
    path-like highway); pieces of private ways outside every compound are dropped."""
    e_comp = ways.explicit[e.line].copy()
    e_in_any = e_comp >= 0
    if comps.tree is not None and len(e.u):
        e_mid = L.points_at(e.geom_xy, e.geom_offsets, e.cum, np.arange(len(e.u)), e.length / 2)
        pi, ci = comps.tree.query(shapely.points(e_mid), predicate="intersects")
        order = np.lexsort((-shapely.area(comps.geom)[ci], pi))
        found = np.full(len(e.u), -1, dtype=np.int64)
        found[pi[order]] = ci[order]
        e_in_any |= found >= 0
        # An explicit compound (the road table's compound_id) wins; otherwise a path-like
        # piece inside a compound is one of its internal paths.
        derive = (e_comp < 0) & internal_highway(ways.highway[e.line]) & (found >= 0)
        e_comp[derive] = found[derive]
    if len(comps.gated):
        e_comp[(e_comp >= 0) & ~comps.gated[np.maximum(e_comp, 0)]] = -1
    else:
        e_comp[:] = -1
    e.compound = e_comp
    drop = ways.private[e.line] & ~e_in_any
    if not drop.any():
        return e
    keep = np.flatnonzero(~drop)
    sub_xy, sub_off = L.substrings(e.geom_xy, e.geom_offsets, e.cum, keep,
                                   np.zeros(len(keep)), e.length[keep])
    return _Edges(e.node_xy, e.u[keep], e.v[keep], e.line[keep], sub_xy, sub_off,
                  L.along(sub_xy, sub_off), e.length[keep], e_comp[keep])


def _filled(geoms: np.ndarray) -> np.ndarray:
    """Polygons with their holes filled (a nested compound is often cut out of its parent)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    shells = shapely.polygons(shapely.get_exterior_ring(parts))
    out = np.empty(len(geoms), dtype=object)
    for k in range(len(geoms)):
        mine = shells[owner == k]
        out[k] = mine[0] if len(mine) == 1 else shapely.union_all(mine)
    return out


def _parent_compounds(geoms: np.ndarray, gated: np.ndarray) -> np.ndarray:
    """For each compound the smallest other gated compound around it (-1 if none): a gate of
    a compound nested in another opens onto the outer compound's paths, not a street."""
    parent = np.full(len(geoms), -1, dtype=np.int64)
    idx = np.flatnonzero(gated)
    if len(idx) < 2:
        return parent
    filled = _filled(geoms[idx])
    inner = shapely.point_on_surface(geoms[idx])
    ci, pi = shapely.STRtree(filled).query(inner, predicate="within")
    area = shapely.area(filled)
    ok = (ci != pi) & (area[pi] > area[ci])
    ci, pi = ci[ok], pi[ok]
    order = np.lexsort((area[pi], ci))
    ci, pi = ci[order], pi[order]
    first = np.r_[True, ci[1:] != ci[:-1]] if len(ci) else np.zeros(0, bool)
    parent[idx[ci[first]]] = idx[pi[first]]
    return parent


def _incidence(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, edge) of every edge end: u ends first, then v ends."""
    e = np.arange(len(u))
    return np.r_[u, v], np.r_[e, e]


def _split_edges(net: Network, edge, at_m) -> tuple[Network, np.ndarray]:
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
        net, node_xy=np.vstack([net.node_xy, new_xy]),
        edge_u=np.r_[net.edge_u[kept], p_u], edge_v=np.r_[net.edge_v[kept], p_v],
        edge_length_m=np.r_[net.edge_length_m[kept], p_end - p_start],
        edge_compound=np.r_[net.edge_compound[kept], net.edge_compound[p_edge]],
        edge_highway=np.r_[net.edge_highway[kept], net.edge_highway[p_edge]],
        edge_source=np.r_[net.edge_source[kept], net.edge_source[p_edge]],
        geom_xy=np.vstack([kept_xy, piece_xy]),
        geom_offsets=np.r_[kept_off, kept_off[-1] + piece_off[1:]].astype(np.int64))
    return out, node


def _add_edges(net: Network, u, v, compound, highway: str) -> Network:
    """Append straight edges (connectors) between existing nodes."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    if len(u) == 0:
        return net
    a, b = net.node_xy[u], net.node_xy[v]
    return replace(
        net, edge_u=np.r_[net.edge_u, u], edge_v=np.r_[net.edge_v, v],
        edge_length_m=np.r_[net.edge_length_m, np.hypot(*(b - a).T)],
        edge_compound=np.r_[net.edge_compound, np.asarray(compound, dtype=np.int64)],
        edge_highway=np.r_[net.edge_highway, np.full(len(u), highway, dtype=object)],
        edge_source=np.r_[net.edge_source, np.full(len(u), -1, dtype=np.int64)],
        geom_offsets=np.r_[net.geom_offsets,
                           net.geom_offsets[-1] + 2 * np.arange(1, len(u) + 1)],
        geom_xy=np.vstack([net.geom_xy, np.stack([a, b], axis=1).reshape(-1, 2)]))


SEARCH_WINDOWS_M = (40.0, 120.0)


def _nearest_on(net: Network, xy: np.ndarray, want: np.ndarray, max_m: float, *,
                outside: bool = False):
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
        t = np.where(len2 > 0, np.einsum("ij,ij->i", p[pi] - a, ab) / np.where(len2 > 0, len2,
                                                                                1.0), 0.0)
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


def _boundary_nodes_near(net: Network, pts: np.ndarray, comp: np.ndarray, tol_m: float):
    """For each gate point the nearest node within ``tol_m`` where its compound's internal
    paths meet anything else (streets, or the paths of a compound around or beside it);
    -1 if none."""
    out = np.full(len(pts), -1, dtype=np.int64)
    if len(pts) == 0 or net.n_nodes == 0:
        return out
    node_pts = shapely.points(net.node_xy)
    gi, ni = shapely.STRtree(node_pts).query(pts, predicate="dwithin", distance=tol_m)
    if len(gi) == 0:
        return out
    node, edge = _incidence(net.edge_u, net.edge_v)
    near = np.isin(node, ni)
    inc = pd.DataFrame({"node": node[near], "comp": net.edge_compound[edge[near]]})
    cand = pd.DataFrame({"gate": gi, "node": ni, "comp": comp[gi]})
    both = cand.merge(inc, on="node", suffixes=("", "_edge"))
    both["mine"] = both["comp_edge"] == both["comp"]
    both["out"] = ~both["mine"]
    flags = both.groupby(["gate", "node"])[["mine", "out"]].any().reset_index()
    flags = flags[flags["mine"] & flags["out"]]
    if flags.empty:
        return out
    g, n = flags["gate"].to_numpy(), flags["node"].to_numpy()
    d = np.hypot(*(net.node_xy[n] - shapely.get_coordinates(pts[g])).T)
    order = np.lexsort((d, g))
    g, n = g[order], n[order]
    first = np.r_[True, g[1:] != g[:-1]]
    out[g[first]] = n[first]
    return out


def _close_compounds(net: Network, g_pts, g_comp, g_codes, parent: np.ndarray, tol_m: float,
                     link_m: float, warnings: list[str]) -> Network:
    """Make gates the only links between each gated compound's internal paths and the rest
    (the public streets, or the paths of the compound it is nested in)."""
    usable = np.flatnonzero(g_comp >= 0)
    g_pts, g_comp, g_codes = g_pts[usable], g_comp[usable], g_codes[usable]
    # 1. Gates on a crossing of the outline: that node is the gate.
    gate_node = _boundary_nodes_near(net, g_pts, g_comp, tol_m)
    # 2. Other gates: a new gate node, linked straight to the nearest edge outside the
    # compound (a street, or the paths of the compound around or beside it) and to the
    # nearest internal path of its compound.
    todo = np.flatnonzero(gate_node < 0)
    if len(todo):
        gxy = shapely.get_coordinates(g_pts[todo])
        pe, pa, _ = _nearest_on(net, gxy, g_comp[todo], link_m, outside=True)
        ie, ia, _ = _nearest_on(net, gxy, g_comp[todo], link_m)
        if (pe < 0).any():
            bad = g_codes[todo[pe < 0]]
            warnings.append(f"{len(bad)} gates have no street (or path of the compound around "
                            f"them) within {link_m:g} m and "
                            f"cannot be used ({', '.join(map(str, bad[:5]))})")
        link = pe >= 0
        with_int = link & (ie >= 0)
        outer = net.edge_compound[pe[link]]  # the outside link belongs to the side it joins
        net, at_nodes = _split_edges(net, np.r_[pe[link], ie[with_int]],
                                     np.r_[pa[link], ia[with_int]])
        n_pub = int(link.sum())
        gates_here = todo[link]
        new_ids = net.n_nodes + np.arange(n_pub)
        net = replace(net, node_xy=np.vstack([net.node_xy,
                                              shapely.get_coordinates(g_pts[gates_here])]))
        gate_node[gates_here] = new_ids
        net = _add_edges(net, new_ids, at_nodes[:n_pub], outer, GATE_LINK)
        net = _add_edges(net, new_ids[with_int[link]], at_nodes[n_pub:],
                         g_comp[todo[with_int]], GATE_LINK)
    ok = gate_node >= 0
    gate_node, g_comp, g_codes = gate_node[ok], g_comp[ok], g_codes[ok]
    # 3. Cut every other link. Each edge end gets a side key; ends with equal keys at a node
    # stay joined, other keys get their own copy of the node. Public edges: -1. A compound's
    # internal paths: a key shared with its siblings (same parent compound, or none), so a
    # path crossing from one compound straight into its neighbour stays joined, while the
    # public streets and the parent's paths are cut off. A gate joins everything there.
    have_gate = np.zeros(len(net.compound_code), bool)
    have_gate[g_comp] = True
    dead = net.compound_code[net.compound_gated & ~have_gate]
    if len(dead):
        warnings.append(f"{len(dead)} gated compounds have no usable gate; their internal "
                        f"paths are unreachable ({', '.join(map(str, dead[:5]))})")
    if not (net.edge_compound >= 0).any():
        return replace(net, gate_node=gate_node, gate_compound=g_comp, gate_code=g_codes,
                       warnings=tuple(warnings))
    node, edge = _incidence(net.edge_u, net.edge_v)
    comp = net.edge_compound[edge]
    width = len(net.compound_code) + 1
    side = np.where(comp < 0, -1, width + parent[np.maximum(comp, 0)] + 1)
    side[np.isin(node, gate_node)] = -1
    base = np.full(net.n_nodes, np.iinfo(np.int64).max)
    np.minimum.at(base, node, side)
    needs_copy = side != base[node]
    new_u, new_v, node_xy = net.edge_u.copy(), net.edge_v.copy(), net.node_xy
    if needs_copy.any():
        pairs = pd.DataFrame({"node": node[needs_copy], "side": side[needs_copy]})
        copies = pairs.drop_duplicates().reset_index(drop=True)
        copies["copy"] = net.n_nodes + np.arange(len(copies))
        ids = pairs.merge(copies, on=["node", "side"], how="left")["copy"].to_numpy()
        rows = np.flatnonzero(needs_copy)
        at_u = rows < net.n_edges
        new_u[edge[rows[at_u]]] = ids[at_u]
        new_v[edge[rows[~at_u]]] = ids[~at_u]
        node_xy = np.vstack([node_xy, net.node_xy[copies["node"].to_numpy()]])
    return replace(net, node_xy=node_xy, edge_u=new_u, edge_v=new_v, gate_node=gate_node,
                   gate_compound=g_comp, gate_code=g_codes, warnings=tuple(warnings))


# --- snapping points onto the network ------------------------------------------------

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

    def subset(self, mask) -> Snap:
        """The snap of a subset of the points (boolean mask or indices), renumbered."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        new = np.full(self.n, -1, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        rows = np.flatnonzero(new[self.att_point] >= 0)
        order = np.argsort(new[self.att_point[rows]], kind="stable")
        rows = rows[order]
        return Snap(n=len(idx), xy=self.xy[idx], status=self.status[idx], edge=self.edge[idx],
                    offset_m=self.offset_m[idx], leg_m=self.leg_m[idx],
                    snapped_xy=self.snapped_xy[idx], compound=self.compound[idx],
                    att_point=new[self.att_point[rows]], att_node=self.att_node[rows],
                    att_cost_m=self.att_cost_m[rows])


def point_xy(points) -> np.ndarray:
    """(n, 2) coordinates of points given as an (n, 2) array or shapely points."""
    arr = np.asarray(points)
    if arr.dtype != object and arr.ndim == 2 and arr.shape[1] >= 2:
        return arr[:, :2].astype(np.float64)
    arr = np.asarray(points, dtype=object)
    if len(arr) == 0:
        return np.zeros((0, 2))
    return shapely.get_coordinates(arr).astype(np.float64).reshape(-1, 2)


def snap_points(network: Network, points, *, max_snap_m: float = DEFAULT_MAX_SNAP_M,
                compound=None) -> Snap:
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
    e, a, d = _nearest_on(network, xy[mine], comp[mine], max_snap_m)
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
    return Snap(n=n, xy=xy, status=status, edge=edge, offset_m=at, leg_m=leg, snapped_xy=snapped,
                compound=comp, att_point=ap[order].astype(np.int64),
                att_node=an[order].astype(np.int64), att_cost_m=ac[order])


# --- from OpenStreetMap frames (geodata.osm.read_osm) ---------------------------------

# OSM areas that are gated grounds in Chinese cities: residential compounds (小区) and
# institution grounds (campuses, hospitals, schools).
COMPOUND_AREA_KINDS = frozenset({
    "landuse=residential", "amenity=school", "amenity=kindergarten", "amenity=hospital",
    "amenity=university", "amenity=college", "amenity=research_institute",
})


def osm_compounds(areas) -> tuple[np.ndarray, np.ndarray]:
    """(codes, polygons) of the OSM areas that are compounds, EPSG:4326 as given."""
    if areas is None or len(areas) == 0:
        return np.array([], dtype=object), np.array([], dtype=object)
    chosen = areas[areas["kind"].isin(COMPOUND_AREA_KINDS)]
    codes = np.array([f"osm-{str(t)[0]}{int(i)}" for t, i in
                      zip(chosen["osm_type"], chosen["osm_id"], strict=True)], dtype=object)
    return codes, np.asarray(chosen.geometry.values, dtype=object)


def usable_entrances(entrances):
    """OSM entrance/gate nodes people may walk through (not emergency exits, not foot=no)."""
    if entrances is None or len(entrances) == 0:
        return entrances
    bad = (entrances["entrance"].isin(list(UNUSABLE_GATE))
           | entrances["access"].isin(["no", "private_no"])
           | (entrances["foot"] == "no"))
    return entrances[~bad.fillna(False).to_numpy(bool)]


def network_from_osm(ways, entrances=None, areas=None, *, crs: str | None = None,
                     gated_compounds: bool = True,
                     gate_tolerance_m: float = DEFAULT_GATE_TOLERANCE_M,
                     gate_link_m: float = DEFAULT_GATE_LINK_M) -> Network:
    """Walking network from the frames of ``geodata.osm.read_osm`` (EPSG:4326).

    Ways join where they share OSM node ids; compounds are the areas of
    ``COMPOUND_AREA_KINDS`` and their gates the usable entrance nodes on their outline
    (``gated_compounds=False`` ignores compounds: every way joins every way it shares a
    node with). ``crs`` defaults to the local UTM zone.
    """
    if ways is None or len(ways) == 0:
        raise InvalidInput("the OSM data holds no highways: no walking network can be built")
    crs = crs or str(metric_crs(ways))
    ways_m = ways.to_crs(crs)
    codes, polys = (osm_compounds(areas) if gated_compounds else
                    (np.array([], dtype=object), np.array([], dtype=object)))
    if len(polys):
        import geopandas as gpd  # local: only needed here

        polys = np.asarray(gpd.GeoSeries(polys, crs=ways.crs).to_crs(crs).values, dtype=object)
    ents = usable_entrances(entrances) if gated_compounds else None
    gate_pts = gate_codes = gate_ids = None
    if ents is not None and len(ents):
        gate_pts = np.asarray(ents.to_crs(crs).geometry.values, dtype=object)
        gate_codes = np.array([f"osm-n{int(i)}" for i in ents["osm_id"]], dtype=object)
        gate_ids = ents["osm_id"].astype(np.int64).to_numpy()
    return build_network(
        np.asarray(ways_m.geometry.values, dtype=object), crs=crs,
        highway=ways["highway"].to_numpy(object),
        foot=ways["foot"].to_numpy(object) if "foot" in ways else None,
        access=ways["access"].to_numpy(object) if "access" in ways else None,
        node_ids=list(ways["nodes"]) if "nodes" in ways else None,
        compound_codes=codes, compound_geoms=polys, gate_points=gate_pts,
        gate_codes=gate_codes, gate_node_ids=gate_ids, gate_tolerance_m=gate_tolerance_m,
        gate_link_m=gate_link_m)


def snap_nodes(network: Network, nodes) -> Snap:
    """A Snap of points lying exactly on the given network nodes (no leg, no edge): sources
    or targets "at a node" for checks against other shortest-path tools."""
    nodes = np.asarray(nodes, dtype=np.int64)
    k = len(nodes)
    return Snap(n=k, xy=network.node_xy[nodes], status=np.full(k, SNAP_NODE, dtype=object),
                edge=np.full(k, -1, dtype=np.int64), offset_m=np.zeros(k), leg_m=np.zeros(k),
                snapped_xy=network.node_xy[nodes], compound=np.full(k, -1, dtype=np.int64),
                att_point=np.arange(k, dtype=np.int64), att_node=nodes, att_cost_m=np.zeros(k))
