"""Gated compounds closed: gates become the only links between a compound's internal
paths and everything outside it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import shapely

from gridmap.network._graph import GATE_LINK, Network, add_edges, incidence, split_edges
from gridmap.network._snap import nearest_on


def _filled(geoms: np.ndarray) -> np.ndarray:
    """Polygons with their holes filled (a nested compound is often cut out of its parent)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    shells = shapely.polygons(shapely.get_exterior_ring(parts))
    out = np.empty(len(geoms), dtype=object)
    for k in range(len(geoms)):
        mine = shells[owner == k]
        out[k] = mine[0] if len(mine) == 1 else shapely.union_all(mine)
    return out


def parent_compounds(geoms: np.ndarray, gated: np.ndarray) -> np.ndarray:
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


def _boundary_nodes_near(
    net: Network, pts: np.ndarray, comp: np.ndarray, tol_m: float
) -> np.ndarray:
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
    node, edge = incidence(net.edge_u, net.edge_v)
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


def close_compounds(
    net: Network,
    g_pts: np.ndarray,
    g_comp: np.ndarray,
    g_codes: np.ndarray,
    parent: np.ndarray,
    tol_m: float,
    link_m: float,
    warnings: list[str],
) -> Network:
    """Make gates the only links between each gated compound's internal paths and the rest
    (the public streets, or the paths of the compound it is nested in)."""
    usable = np.flatnonzero(g_comp >= 0)
    g_pts, g_comp, g_codes = g_pts[usable], g_comp[usable], g_codes[usable]
    # 1. Gates on a crossing of the outline: that node is the gate.
    gate_node = _boundary_nodes_near(net, g_pts, g_comp, tol_m)
    # 2. Other gates: a new gate node, linked straight to the nearest edge outside the
    # compound (a street, or the paths of the compound around or beside it) and to the
    # nearest internal path of its compound.
    net = _link_gates(net, g_pts, g_comp, g_codes, gate_node, link_m, warnings)
    ok = gate_node >= 0
    gate_node, g_comp, g_codes = gate_node[ok], g_comp[ok], g_codes[ok]
    have_gate = np.zeros(len(net.compound_code), bool)
    have_gate[g_comp] = True
    dead = net.compound_code[net.compound_gated & ~have_gate]
    if len(dead):
        warnings.append(
            f"{len(dead)} gated compounds have no usable gate; their internal "
            f"paths are unreachable ({', '.join(map(str, dead[:5]))})"
        )
    # 3. Cut every other link.
    if (net.edge_compound >= 0).any():
        net = _cut_other_links(net, gate_node, parent)
    return replace(
        net,
        gate_node=gate_node,
        gate_compound=g_comp,
        gate_code=g_codes,
        warnings=tuple(warnings),
    )


def _link_gates(
    net: Network,
    g_pts: np.ndarray,
    g_comp: np.ndarray,
    g_codes: np.ndarray,
    gate_node: np.ndarray,
    link_m: float,
    warnings: list[str],
) -> Network:
    """Give each gate off the outline's crossings (``gate_node`` -1) a node of its own,
    linked to the nearest edge outside and the nearest internal path within ``link_m``
    metres; ``gate_node`` is filled in place."""
    todo = np.flatnonzero(gate_node < 0)
    if not len(todo):
        return net
    gxy = shapely.get_coordinates(g_pts[todo])
    pe, pa, _ = nearest_on(net, gxy, g_comp[todo], link_m, outside=True)
    ie, ia, _ = nearest_on(net, gxy, g_comp[todo], link_m)
    if (pe < 0).any():
        bad = g_codes[todo[pe < 0]]
        warnings.append(
            f"{len(bad)} gates have no street (or path of the compound around "
            f"them) within {link_m:g} m and "
            f"cannot be used ({', '.join(map(str, bad[:5]))})"
        )
    link = pe >= 0
    with_int = link & (ie >= 0)
    outer = net.edge_compound[pe[link]]  # the outside link belongs to the side it joins
    net, at_nodes = split_edges(net, np.r_[pe[link], ie[with_int]], np.r_[pa[link], ia[with_int]])
    n_pub = int(link.sum())
    gates_here = todo[link]
    new_ids = net.n_nodes + np.arange(n_pub)
    net = replace(net, node_xy=np.vstack([net.node_xy, shapely.get_coordinates(g_pts[gates_here])]))
    gate_node[gates_here] = new_ids
    net = add_edges(net, new_ids, at_nodes[:n_pub], outer, GATE_LINK)
    return add_edges(
        net, new_ids[with_int[link]], at_nodes[n_pub:], g_comp[todo[with_int]], GATE_LINK
    )


def _cut_other_links(net: Network, gate_node: np.ndarray, parent: np.ndarray) -> Network:
    """Cut every link between a compound's paths and the rest except at its gates.

    Each edge end gets a side key; ends with equal keys at a node stay joined, other keys get
    their own copy of the node. Public edges: -1. A compound's internal paths: a key shared
    with its siblings (same parent compound, or none), so a path crossing from one compound
    straight into its neighbour stays joined, while the public streets and the parent's
    paths are cut off. A gate joins everything there.
    """
    node, edge = incidence(net.edge_u, net.edge_v)
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
    return replace(net, node_xy=node_xy, edge_u=new_u, edge_v=new_v)
