"""Gaps in coverage and new sites that close them (greedy, on the network or estimated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gridmap.analysis.reach.defaults import DEFAULT_DETOUR_FACTOR
from gridmap.analysis.reach.engine import _same_edge, _with_sources, node_distances, point_distances
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network import SNAP_OFF, Network, Snap, snap_points


def gap_polygons(
    buildings: gpd.GeoDataFrame,
    uncovered: np.ndarray,
    *,
    covered_area: Any = None,
    buffer_m: float = 30.0,
) -> gpd.GeoDataFrame:
    """Residential areas outside the reach: uncovered residential buildings, grown by
    ``buffer_m`` and merged where they touch, minus the covered (isochrone) area.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Metric CRS, with 'residents' and 'households' columns.
    uncovered : numpy.ndarray
        Boolean mask aligned with ``buildings`` (residential and not within reach).
    covered_area : shapely geometry, optional
        Polygon (same CRS) removed from the gaps.
    buffer_m : float
        How far the buildings are grown, in metres.

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per gap (metric CRS) with buildings, residents and households, largest
        first.
    """
    cols = ["buildings", "residents", "households"]
    mask = np.asarray(uncovered, bool)
    if not mask.any():
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=buildings.crs)
    geoms = np.asarray(buildings.geometry.values, dtype=object)[mask]
    grown = shapely.union_all(shapely.buffer(geoms, buffer_m, quad_segs=4))
    if covered_area is not None and not shapely.is_empty(covered_area):
        grown = shapely.difference(grown, covered_area)
    parts = shapely.get_parts(grown)
    parts = parts[shapely.area(parts) > 1.0]
    reps = shapely.point_on_surface(geoms)
    pi, gi = shapely.STRtree(parts).query(reps, predicate="within")
    sub = buildings[mask]
    counts = np.bincount(gi, minlength=len(parts))
    res = np.bincount(gi, weights=sub["residents"].to_numpy(float)[pi], minlength=len(parts))
    hh = np.bincount(gi, weights=sub["households"].to_numpy(float)[pi], minlength=len(parts))
    frame = gpd.GeoDataFrame(
        {"buildings": counts, "residents": res.astype(int), "households": hh.astype(int)},
        geometry=list(parts),
        crs=buildings.crs,
    )
    frame = frame[frame["buildings"] > 0]
    return frame.sort_values(["residents", "buildings"], ascending=False).reset_index(drop=True)


def candidate_nodes(
    network: Network, gaps: Any, *, max_candidates: int = 300, public_only: bool = True
) -> np.ndarray:
    """Network nodes inside gap polygons, thinned on a square grid (the node nearest each cell
    centre).

    Parameters
    ----------
    network : Network
        The walking network.
    gaps : array_like
        Gap polygons in the network's CRS.
    max_candidates : int
        The most nodes to return.
    public_only : bool
        Only nodes on public edges (not inside gated compounds).

    Returns
    -------
    numpy.ndarray
        (k, 2) coordinates in metres.
    """
    gaps = np.asarray(gaps, dtype=object)
    if len(gaps) == 0 or network.n_nodes == 0:
        return np.zeros((0, 2))
    ok = np.ones(network.n_nodes, bool)
    if public_only:
        pub = np.zeros(network.n_nodes, bool)
        public_edges = network.edge_compound < 0
        pub[network.edge_u[public_edges]] = True
        pub[network.edge_v[public_edges]] = True
        ok &= pub
    nodes = np.flatnonzero(ok)
    pi, _ = shapely.STRtree(gaps).query(
        shapely.points(network.node_xy[nodes]), predicate="intersects"
    )
    return thin_points(network.node_xy[np.unique(nodes[pi])], max_candidates)


def thin_points(xy: np.ndarray, max_points: int) -> np.ndarray:
    """At most ``max_points`` of ``xy`` spread over their extent: on the coarsest square grid that
    keeps no more than that, the point nearest each cell centre.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) coordinates.
    max_points : int
        The most points to keep.

    Returns
    -------
    numpy.ndarray
        The kept coordinates.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    max_candidates = max_points
    if len(xy) <= max_candidates:
        return xy
    minx, miny = xy.min(axis=0)
    span = np.ptp(xy, axis=0).max()
    cells = int(np.ceil(np.sqrt(max_candidates)))
    while True:
        size = span / cells
        cx = np.floor((xy[:, 0] - minx) / size)
        cy = np.floor((xy[:, 1] - miny) / size)
        centre = np.column_stack([minx + (cx + 0.5) * size, miny + (cy + 0.5) * size])
        d = np.hypot(*(xy - centre).T)
        cell = cx * (cells + 1) + cy
        order = np.lexsort((d, cell))
        first = np.r_[True, cell[order][1:] != cell[order][:-1]]
        picked = xy[order[first]]
        if len(picked) <= max_candidates or cells <= 1:
            return picked[:max_candidates]
        cells -= 1


PICK_COLUMNS = [
    "rank",
    "candidate",
    "x",
    "y",
    "residents_added",
    "households_added",
    "residents_covered_before",
    "residents_covered_after",
    "share_before",
    "share_after",
]


@dataclass
class Suggestion:
    """Greedy new sites: ``picks`` (rank, candidate, x, y, residents_added,
    households_added, residents_covered_before/after, share_before/after) and ``ranking``
    (every candidate alone: residents_added, households_added), both in the network CRS."""

    picks: pd.DataFrame
    ranking: pd.DataFrame
    radius_m: float
    residents_total: int


def suggest_sites(
    network: Network,
    facilities: Snap,
    origins: Snap,
    weights: pd.DataFrame,
    *,
    radius_m: float,
    candidates_xy: np.ndarray,
    k: int = 3,
    batch_cells: float = 3e7,
) -> Suggestion:
    """Choose ``k`` new sites greedily, each adding the most residents within ``radius_m``.

    Coverage before and after each pick is the share of residents within ``radius_m``
    (off-network buildings count as not covered).

    Parameters
    ----------
    network : Network
        The walking network.
    facilities : Snap
        The existing facilities of the category.
    origins : Snap
        The buildings.
    weights : pandas.DataFrame
        Aligned with ``origins``: residents, households.
    radius_m : float
        Walking distance in metres a site serves.
    candidates_xy : numpy.ndarray
        (c, 2) candidate points (metric CRS), e.g. ``candidate_nodes`` or the planner's own
        sites; each is snapped like a facility.
    k : int
        How many sites to pick.
    batch_cells : float
        Bound on the size of one batch of distance runs (candidates x nodes), for memory.

    Returns
    -------
    Suggestion
        The picks and the ranking of every candidate alone.
    """
    if k < 1:
        raise fail(InvalidInput, N_("the number of sites must be at least 1 (got {k})"), k=k)
    res = weights["residents"].fillna(0).to_numpy(float)
    hh = weights["households"].fillna(0).to_numpy(float)
    total = float(res.sum())
    nd = node_distances(network, facilities, max_distance_m=radius_m)
    d0, _ = point_distances(nd, origins, sources=facilities, max_distance_m=radius_m)
    uncovered = np.flatnonzero(~np.isfinite(d0) & (origins.status != SNAP_OFF))
    cand = snap_points(network, candidates_xy, max_snap_m=np.inf)
    covered_before = total - float(res[~np.isfinite(d0)].sum())
    if cand.n == 0 or len(uncovered) == 0:
        cover = sp.csr_array((cand.n, len(uncovered)))
    else:
        cover = _cover_matrix(network, cand, origins.subset(uncovered), radius_m, batch_cells)
    return _greedy(
        cover,
        res[uncovered],
        hh[uncovered],
        cand.xy,
        k=k,
        radius_m=radius_m,
        covered_before=covered_before,
        total=total,
    )


def _cover_matrix(
    network: Network, cand: Snap, targets: Snap, radius_m: float, batch_cells: float
) -> sp.csr_array:
    """Coverage matrix: candidate x target building, 1 where within ``radius_m``."""
    graph = _with_sources(network, cand)
    n = network.n_nodes
    size = max(1, int(batch_cells // max(graph.shape[0], 1)))
    rows, cols = [], []
    live = np.flatnonzero(np.bincount(cand.att_point, minlength=cand.n) > 0)
    for start in range(0, len(live), size):
        batch = live[start : start + size]
        dist = dijkstra(graph, directed=True, indices=n + batch, limit=radius_m)[:, :n]
        vals = dist[:, targets.att_node] + targets.att_cost_m[None, :]
        best = np.full((len(batch), targets.n), np.inf)
        np.minimum.at(best.T, targets.att_point, vals.T)
        r, c = np.nonzero(best <= radius_m)
        rows.append(batch[r])
        cols.append(c)
    t, f, d = _same_edge(cand, targets)
    rows.append(f[d <= radius_m])
    cols.append(t[d <= radius_m])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    return sp.csr_array((np.ones(len(r)), (r, c)), shape=(cand.n, targets.n))


def _greedy(
    cover: sp.csr_array,
    w_r: np.ndarray,
    w_h: np.ndarray,
    cand_xy: np.ndarray,
    *,
    k: int,
    radius_m: float,
    covered_before: float,
    total: float,
) -> Suggestion:
    """Greedy maximum coverage: ``cover`` is candidate x uncovered building (non-zero =
    within reach); each pick takes the candidate adding the most still-uncovered residents."""
    cover = cover.tocsr()
    cover.data[:] = 1.0  # duplicate entries were summed: back to 0/1
    ranking = pd.DataFrame(
        {
            "candidate": np.arange(cover.shape[0]),
            "x": cand_xy[:, 0],
            "y": cand_xy[:, 1],
            "residents_added": (cover @ w_r).round().astype(int),
            "households_added": (cover @ w_h).round().astype(int),
        }
    )
    ranking = ranking.sort_values(
        ["residents_added", "candidate"], ascending=[False, True]
    ).reset_index(drop=True)
    remaining = np.ones(cover.shape[1])
    picks = []
    covered = covered_before
    for rank in range(1, k + 1):
        gain = cover @ (w_r * remaining)
        best = int(np.argmax(gain)) if len(gain) else 0
        if len(gain) == 0 or gain[best] <= 0:
            break
        hit = cover[[best], :].toarray()[0] > 0
        add_r = float((w_r * remaining * hit).sum())
        add_h = float((w_h * remaining * hit).sum())
        remaining[hit] = 0.0
        picks.append(
            {
                "rank": rank,
                "candidate": best,
                "x": cand_xy[best, 0],
                "y": cand_xy[best, 1],
                "residents_added": int(round(add_r)),
                "households_added": int(round(add_h)),
                "residents_covered_before": int(round(covered)),
                "residents_covered_after": int(round(covered + add_r)),
                "share_before": covered / total if total else np.nan,
                "share_after": (covered + add_r) / total if total else np.nan,
            }
        )
        covered += add_r
    return Suggestion(pd.DataFrame(picks, columns=PICK_COLUMNS), ranking, radius_m, int(total))


def suggest_sites_estimate(
    facility_xy: np.ndarray,
    origin_xy: np.ndarray,
    weights: pd.DataFrame,
    *,
    radius_m: float,
    candidates_xy: np.ndarray,
    k: int = 3,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
) -> Suggestion:
    """``suggest_sites`` without a network: straight line x ``detour_factor`` (an estimate).

    Parameters
    ----------
    facility_xy, origin_xy : numpy.ndarray
        (n, 2) metric coordinates of the existing facilities and of the buildings.
    weights : pandas.DataFrame
        Aligned with the buildings: residents, households.
    radius_m : float
        Walking distance in metres a site serves.
    candidates_xy : numpy.ndarray
        (c, 2) candidate points in the same CRS.
    k : int
        How many sites to pick.
    detour_factor : float
        Walk / straight-line ratio assumed.

    Returns
    -------
    Suggestion
        The picks and the ranking of every candidate alone.
    """
    if k < 1:
        raise fail(InvalidInput, N_("the number of sites must be at least 1 (got {k})"), k=k)
    res = weights["residents"].fillna(0).to_numpy(float)
    hh = weights["households"].fillna(0).to_numpy(float)
    total = float(res.sum())
    reach = radius_m / detour_factor
    if len(facility_xy):
        d0 = cKDTree(facility_xy).query(origin_xy)[0]
    else:
        d0 = np.full(len(origin_xy), np.inf)
    uncovered = np.flatnonzero(d0 > reach)
    covered_before = total - float(res[uncovered].sum())
    cand_xy = np.asarray(candidates_xy, float).reshape(-1, 2)
    pairs = (
        cKDTree(cand_xy).query_ball_point(origin_xy[uncovered], reach)
        if len(cand_xy)
        else [[] for _ in uncovered]
    )
    c = (
        np.concatenate([np.asarray(p, dtype=np.int64) for p in pairs])
        if len(pairs)
        else np.zeros(0, np.int64)
    )
    t = np.repeat(np.arange(len(uncovered)), [len(p) for p in pairs])
    cover = sp.csr_array((np.ones(len(c)), (c, t)), shape=(len(cand_xy), len(uncovered)))
    return _greedy(
        cover,
        res[uncovered],
        hh[uncovered],
        cand_xy,
        k=k,
        radius_m=radius_m,
        covered_before=covered_before,
        total=total,
    )
