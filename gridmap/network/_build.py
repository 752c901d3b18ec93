"""``build_network`` in named steps: compounds and gates, walkable ways, vertex ids,
noding, edges, internal paths, then the compounds closed (``_gates``)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike

from gridmap import lines as L
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network._gates import close_compounds, parent_compounds
from gridmap.network._graph import (
    DEFAULT_GATE_LINK_M,
    DEFAULT_GATE_TOLERANCE_M,
    DEFAULT_SNAP_TOLERANCE_M,
    NODINGS,
    Network,
)
from gridmap.noding import (
    coordinate_keys,
    crossing_points,
    insert_at,
    piece_coordinates,
    pieces,
    split_vertices,
)
from gridmap.walkable import TagValues, internal_highway, text_array, walkable

# Per line its node ids, one per vertex (None: unknown), e.g. the ``nodes`` of OSM ways.
NodeIds = Sequence[Sequence[int] | np.ndarray | None]


def _dangle_points(lines: np.ndarray, tol_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    target = shapely.line_interpolate_point(
        lines[li], shapely.line_locate_point(lines[li], pts[pi])
    )
    return li, target, end_id[pi]


@dataclass(frozen=True)
class CompoundInputs:
    """Gated compounds and their gates, for :func:`build_network` (metric CRS).

    ``line_compound``: per street line the code of the compound it is an internal path of
    (None/NaN: decided from the compound polygons and the highway value);
    ``compound_codes``, ``compound_geoms``: the compounds (codes, polygons);
    ``gate_points``, ``gate_compound``, ``gate_codes``: the gates (points, code of their
    compound or None to find it from the outline, codes); ``gate_node_ids``: node ids that are
    gates (OSM barrier/entrance nodes): lines are split there so a gate is always a node.
    """

    line_compound: Iterable[Any] | None = None
    compound_codes: ArrayLike | None = None
    compound_geoms: ArrayLike | None = None
    gate_points: ArrayLike | None = None
    gate_compound: Iterable[Any] | None = None
    gate_codes: ArrayLike | None = None
    gate_node_ids: Collection[int] | np.ndarray | None = None


@dataclass(frozen=True)
class Tolerances:
    """Distances in metres :func:`build_network` joins things within: a gate to a compound
    outline (``gate_tolerance_m``), a gate off the lines to the nearest edge
    (``gate_link_m``), a dangling line end to another line (``snap_tolerance_m``)."""

    gate_tolerance_m: float = DEFAULT_GATE_TOLERANCE_M
    gate_link_m: float = DEFAULT_GATE_LINK_M
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M


def build_network(
    lines: ArrayLike,
    *,
    crs: str,
    highway: TagValues | None = None,
    foot: TagValues | None = None,
    access: TagValues | None = None,
    layer: TagValues | None = None,
    node_ids: NodeIds | None = None,
    noding: str = "intersections",
    compounds: CompoundInputs = CompoundInputs(),
    tolerances: Tolerances = Tolerances(),
) -> Network:
    """Build the walking network from street lines in the metric CRS ``crs``.

    Parameters
    ----------
    lines : array_like
        Array/GeoSeries of LineStrings (metric CRS).
    crs : str
        The metric CRS of every geometry given.
    highway, foot, access, layer : array_like, optional
        Aligned tag values (see ``gridmap.walkable``; ``layer`` keeps bridges and tunnels
        from joining streets they cross in "intersections" noding, see ``gridmap.noding``).
    node_ids : sequence, optional
        Per line a sequence of node ids, one per vertex (OSM ways): lines then join exactly
        where they share an id.
    noding : str
        "intersections" or "vertices" for lines without node ids.
    compounds : CompoundInputs
        Gated compounds, their gates and internal paths.
    tolerances : Tolerances
        Join distances in metres.

    Returns
    -------
    Network
        The graph; problems that do not stop the build are in ``warnings``.
    """
    if noding not in NODINGS:
        raise fail(
            InvalidInput,
            N_("noding must be one of {nodings} (got {noding!r})"),
            nodings=", ".join(NODINGS),
            noding=noding,
        )
    warnings: list[str] = []
    comps = _Compounds.of(compounds.compound_codes, compounds.compound_geoms)
    gates = _gates(
        comps,
        compounds.gate_points,
        compounds.gate_compound,
        compounds.gate_codes,
        tolerances.gate_tolerance_m,
        warnings,
    )
    tags = (highway, foot, access, layer)
    ways = _walkable_ways(np.asarray(lines, dtype=object), comps, *tags, compounds.line_compound)
    ids = _vertex_ids(ways, node_ids, warnings)
    xy, offsets, src, inserted = _noded_vertices(
        ways, comps, noding, ids is not None, tolerances.snap_tolerance_m
    )
    key, split = _vertex_keys(xy, offsets, src, inserted, ids, compounds.gate_node_ids)
    edges = _internal_paths(_edges(xy, offsets, key, split), ways, comps)
    return close_compounds(
        _network(crs, edges, ways, comps),
        gates.points,
        gates.compound,
        gates.codes,
        parent_compounds(comps.geom, comps.gated),
        tolerances.gate_tolerance_m,
        tolerances.gate_link_m,
        warnings,
    )


def _vertex_keys(
    xy: np.ndarray,
    offsets: np.ndarray,
    src: np.ndarray,
    inserted: np.ndarray,
    ids: np.ndarray | None,
    gate_node_ids: Collection[int] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per noded vertex its node key (the node id where known, else its coordinates) and
    whether the line is split there (a junction, or a gate node)."""
    key = coordinate_keys(xy)
    if ids is not None:
        key = np.where(src >= 0, ids[np.maximum(src, 0)], -1)
        key = np.where(key >= 0, key, -(coordinate_keys(xy) + 1))
    split = split_vertices(key, inserted, offsets)
    if gate_node_ids is not None and ids is not None and len(gate_node_ids):
        split |= np.isin(key, np.asarray(list(gate_node_ids), dtype=np.int64))
    return key, split


def _network(crs: str, edges: _Edges, ways: _Ways, comps: _Compounds) -> Network:
    """The graph of the noded edges, before the compounds are closed."""
    return Network(
        crs=crs,
        node_xy=edges.node_xy,
        edge_u=edges.u,
        edge_v=edges.v,
        edge_length_m=edges.length,
        edge_compound=edges.compound,
        edge_highway=ways.highway[edges.line],
        edge_source=ways.keep[edges.line].astype(np.int64),
        geom_offsets=edges.geom_offsets,
        geom_xy=edges.geom_xy,
        compound_code=comps.code,
        compound_geom=comps.geom,
        compound_gated=comps.gated,
    )


@dataclass
class _Compounds:
    """Compound codes and polygons (metric), which are gated, and a tree of the polygons."""

    code: np.ndarray
    geom: np.ndarray
    gated: np.ndarray
    tree: shapely.STRtree | None

    @classmethod
    def of(cls, codes: ArrayLike | None, geoms: ArrayLike | None) -> _Compounds:
        code = np.asarray(codes if codes is not None else [], dtype=object)
        geom = np.asarray(geoms if geoms is not None else [], dtype=object)
        if len(code) != len(geom):
            raise fail(InvalidInput, N_("compound codes and polygons must have the same length"))
        return cls(
            code, geom, np.zeros(len(code), bool), shapely.STRtree(geom) if len(geom) else None
        )

    def index_of(self, codes: Iterable[Any] | None, n: int) -> np.ndarray:
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


def _gates(
    comps: _Compounds,
    gate_points: ArrayLike | None,
    gate_compound: Iterable[Any] | None,
    gate_codes: ArrayLike | None,
    tol_m: float,
    warnings: list[str],
) -> _Gates:
    """Gates and the compounds they close (marked in ``comps.gated``)."""
    pts = np.asarray(gate_points if gate_points is not None else [], dtype=object)
    codes = np.asarray(
        gate_codes if gate_codes is not None else [f"gate-{i + 1}" for i in range(len(pts))],
        dtype=object,
    )
    comp = comps.index_of(gate_compound, len(pts))
    todo = np.flatnonzero(comp < 0)
    if comps.tree is not None and len(todo):
        # Gates without a compound: the compound whose outline passes within the tolerance.
        outlines = shapely.boundary(comps.geom)
        gi, ci = shapely.STRtree(outlines).query(pts[todo], predicate="dwithin", distance=tol_m)
        d = shapely.distance(pts[todo][gi], outlines[ci])
        order = np.lexsort((d, gi))
        gi, ci = gi[order], ci[order]
        first = np.r_[True, gi[1:] != gi[:-1]] if len(gi) else np.zeros(0, bool)
        comp[todo[gi[first]]] = ci[first]
    comps.gated[comp[comp >= 0]] = True
    open_comps = [str(c) for c in comps.code[~comps.gated]]
    if open_comps:
        shown = ", ".join(open_comps[:5]) + (" ..." if len(open_comps) > 5 else "")
        warnings.append(
            f"{len(open_comps)} compounds have no gate and are treated as open ({shown})"
        )
    loose = int((comp < 0).sum())
    if loose:
        warnings.append(
            f"{loose} gates are not on any compound outline (within {tol_m:g} m) and were ignored"
        )
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


def _walkable_ways(
    geoms: np.ndarray,
    comps: _Compounds,
    highway: TagValues | None,
    foot: TagValues | None,
    access: TagValues | None,
    layer: TagValues | None,
    line_compound: Iterable[Any] | None,
) -> _Ways:
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
        raise fail(InvalidInput, N_("no walkable street lines: the network would be empty"))
    private = ~walkable(
        hw[keep],
        foot=None if foot is None else np.asarray(foot, object)[keep],
        access=None if access is None else np.asarray(access, object)[keep],
    )
    level = None if layer is None else text_array(np.asarray(layer, dtype=object)[keep], len(keep))
    return _Ways(keep, geoms[keep], hw[keep], explicit[keep], private, level)


def _vertex_ids(ways: _Ways, node_ids: NodeIds | None, warnings: list[str]) -> np.ndarray | None:
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
        flat = np.concatenate(
            [np.asarray(ids_list[i], dtype=np.int64) for i in np.flatnonzero(good)]
        )
        pos = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in np.flatnonzero(good)])
        ids[pos] = flat
    if not good.all():
        warnings.append(
            f"{int((~good).sum())} lines have no usable node ids; joined by "
            "shared coordinates instead"
        )
    return ids


def _noded_vertices(
    ways: _Ways, comps: _Compounds, noding: str, has_ids: bool, snap_tolerance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    compound: np.ndarray  # position in the compounds, -1 for public edges


def _edges(xy: np.ndarray, offsets: np.ndarray, key: np.ndarray, split: np.ndarray) -> _Edges:
    """Edges between consecutive split vertices of a line; nodes are the distinct keys of
    split vertices. All public until ``_internal_paths`` assigns their compounds."""
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
    return _Edges(
        node_xy,
        u.astype(np.int64),
        v.astype(np.int64),
        owner[a],
        geom_xy,
        geom_offsets,
        cum,
        L.lengths(cum, geom_offsets),
        np.full(len(u), -1, dtype=np.int64),
    )


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
    sub_xy, sub_off = L.substrings(
        e.geom_xy, e.geom_offsets, e.cum, keep, np.zeros(len(keep)), e.length[keep]
    )
    return _Edges(
        e.node_xy,
        e.u[keep],
        e.v[keep],
        e.line[keep],
        sub_xy,
        sub_off,
        L.along(sub_xy, sub_off),
        e.length[keep],
        e_comp[keep],
    )
