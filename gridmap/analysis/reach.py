"""Walking reachability on the network: nearest facility, coverage, isochrones, gaps, sites.

The engine runs **one multi-source Dijkstra per facility category** in compiled code
(``scipy.sparse.csgraph.dijkstra`` with ``min_only=True`` and a distance ``limit``): every
facility becomes a virtual source node whose out-edges reach the two ends of its edge at
the exact cost (access leg + distance along the edge), so a facility in the middle of an
edge is exact and no Python loop runs per facility. An origin's distance is the minimum
over its own attachments (leg + along its edge + node distance), plus the direct way along
a shared edge. Distances are metres; minutes follow from ``speed_kmh`` (default 4 km/h),
which every output states.

Public API (also for other analyses that need travel times):

``nearest_facility(network, facilities, origins, ...)``  distance, minutes and facility
    per origin (one category)
``node_distances(network, sources, ...)``  distance and nearest source for every node
``travel_time_grid(network, sources, ...)``  minutes on a regular grid of points
``reach_by_category(...)`` / ``estimate_by_category(...)``  the per-origin table for many
    categories on the network / as a labelled straight-line estimate
``coverage(...)``, ``isochrones(...)``, ``gap_polygons(...)``, ``suggest_sites(...)``
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from gridmap import lines as L
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput
from gridmap.network import SNAP_EDGE, SNAP_OFF, Network, Snap, point_xy, snap_points
from gridmap.units import metres_for, metres_per_minute, minutes_for

DEFAULT_SPEED_KMH = 4.0
DEFAULT_DETOUR_FACTOR = 1.3  # typical ratio of walking route to straight line in Chinese cities
DEFAULT_MINUTES = (5, 10, 15)
DEFAULT_BUFFER_M = 25.0
METHOD_NETWORK = "network"
METHOD_ESTIMATE = "estimate"
METHOD_RADIUS = "radius"  # the planner's service radius: straight-line circles, no walking

Progress = Callable[[str, int, int], None]


# --- the engine -----------------------------------------------------------------------

@dataclass(frozen=True)
class NodeDistances:
    """Distance (m, inf beyond the limit) from the nearest source to every network node and
    that source's index (-1 when none is within the limit)."""

    dist_m: np.ndarray
    source: np.ndarray


def _with_sources(network: Network, sources: Snap) -> sp.csr_array:
    """The network's adjacency plus one row per source: directed edges source -> node with
    the attachment costs. Sources get node ids n .. n + k - 1 and have no in-edges."""
    a = network.adjacency
    counts = np.bincount(sources.att_point, minlength=sources.n)
    indptr = np.r_[a.indptr, a.indptr[-1] + np.cumsum(counts)].astype(np.int32)
    indices = np.r_[a.indices, sources.att_node.astype(np.int32)]
    data = np.r_[a.data, sources.att_cost_m]
    size = network.n_nodes + sources.n
    return sp.csr_array((data, indices, indptr), shape=(size, size))


class SourceGraph:
    """The network plus one virtual node per source, built once.

    Each multi-source run (one per category) then costs only the Dijkstra: a run starts from
    a subset of the virtual nodes, and virtual nodes have no in-edges, so the others never
    take part.
    """

    def __init__(self, network: Network, sources: Snap) -> None:
        self.network = network
        self.sources = sources
        self.graph = _with_sources(network, sources)
        self.live = np.bincount(sources.att_point, minlength=sources.n) > 0

    def run(self, which=None, *, max_distance_m: float = np.inf) -> NodeDistances:
        """Distances from the sources ``which`` (indices; default all); ``source`` holds
        indices into the full ``sources``."""
        n = self.network.n_nodes
        idx = np.arange(self.sources.n) if which is None else np.asarray(which, dtype=np.int64)
        idx = idx[self.live[idx]]
        if len(idx) == 0 or n == 0:
            return NodeDistances(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
        dist, _pred, src = dijkstra(self.graph, directed=True, indices=n + idx,
                                    limit=max_distance_m, min_only=True,
                                    return_predecessors=True)
        src = src[:n].astype(np.int64)
        return NodeDistances(dist[:n], np.where(src >= n, src - n, -1))


def node_distances(network: Network, sources: Snap, *,
                   max_distance_m: float = np.inf) -> NodeDistances:
    """One multi-source Dijkstra from all ``sources`` (a ``Snap``) with a cutoff."""
    return SourceGraph(network, sources).run(max_distance_m=max_distance_m)


_NO_PAIRS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def _same_edge(sources: Snap, targets: Snap):
    """(target, source, metres) for targets on the same edge as a source: the direct way
    along the edge."""
    fs = np.flatnonzero(sources.status == SNAP_EDGE)
    ts = np.flatnonzero(targets.status == SNAP_EDGE)
    if len(fs) == 0 or len(ts) == 0:
        return _NO_PAIRS
    fe = sources.edge[fs]
    order = np.argsort(fe, kind="stable")
    fs, fe = fs[order], fe[order]
    te = targets.edge[ts]
    lo = np.searchsorted(fe, te, "left")
    cnt = np.searchsorted(fe, te, "right") - lo
    if cnt.sum() == 0:
        return _NO_PAIRS
    t = np.repeat(ts, cnt)
    rank = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    f = fs[np.repeat(lo, cnt) + rank]
    d = sources.leg_m[f] + targets.leg_m[t] + np.abs(sources.offset_m[f] - targets.offset_m[t])
    return t, f, d


class PointJoin:
    """Target points joined to the node distances of a run, prepared once for every run.

    Per target: the minimum over its attachments (node distance + access cost) and, when
    ``sources`` is given, the direct way along an edge it shares with a source. What does
    not depend on the run (the grouping of attachments by point, the same-edge pairs
    sorted by target and distance) is computed here, so a run only gathers and reduces.
    """

    def __init__(self, targets: Snap, sources: Snap | None = None) -> None:
        self.targets = targets
        p = targets.att_point
        new_group = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, dtype=bool)
        self.starts = np.flatnonzero(new_group)  # attachments are sorted by point
        self.group = np.cumsum(new_group) - 1
        self.n_sources = 0 if sources is None else sources.n
        t, f, d = _same_edge(sources, targets) if sources is not None else _NO_PAIRS
        order = np.lexsort((d, t))
        self.pairs = t[order], f[order], d[order]

    def distances(self, nd: NodeDistances, which=None, *,
                  max_distance_m: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
        """Distance (m, inf beyond ``max_distance_m``) and nearest source of each target;
        ``which``: the source indices that took part in the run (default all)."""
        targets = self.targets
        dist = np.full(targets.n, np.inf)
        src = np.full(targets.n, -1, dtype=np.int64)
        if len(self.starts):
            vals = nd.dist_m[targets.att_node] + targets.att_cost_m
            best = np.minimum.reduceat(vals, self.starts)
            rows = np.flatnonzero((vals <= best[self.group]) & np.isfinite(vals))
            g = self.group[rows]
            rows = rows[np.r_[True, g[1:] != g[:-1]]] if len(rows) else rows  # first best
            dist[targets.att_point[rows]] = vals[rows]
            src[targets.att_point[rows]] = nd.source[targets.att_node[rows]]
        t, f, d = self.pairs
        if len(t):
            keep = d < dist[t]
            if which is not None:
                taking_part = np.zeros(self.n_sources, dtype=bool)
                taking_part[np.asarray(which, dtype=np.int64)] = True
                keep &= taking_part[f]
            t, f, d = t[keep], f[keep], d[keep]
            first = np.r_[True, t[1:] != t[:-1]] if len(t) else np.zeros(0, dtype=bool)
            dist[t[first]] = d[first]  # sorted by (target, metres): the first is the best
            src[t[first]] = f[first]
        beyond = ~(dist <= max_distance_m)
        dist[beyond] = np.inf
        src[beyond] = -1
        return dist, src


def point_distances(nd: NodeDistances, targets: Snap, *, sources: Snap | None = None,
                    which=None, max_distance_m: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m, inf beyond ``max_distance_m``) and nearest source of each target point.

    ``sources`` (the Snap the distances came from; ``which``: the indices that took part)
    adds the direct way along a shared edge. For many runs over the same points, build a
    ``PointJoin`` once.
    """
    return PointJoin(targets, sources).distances(nd, which, max_distance_m=max_distance_m)


def metric_points(points, crs: str) -> np.ndarray:
    """(n, 2) metric coordinates of a GeoSeries/GeoDataFrame (reprojected to ``crs``) or of
    coordinates/shapely points already in it. Polygons count by their centroid."""
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is None:
            raise InvalidInput("points have no CRS; set one (e.g. EPSG:4326) before analysis")
        geoms = np.asarray(points.to_crs(crs).values, dtype=object)
        non_point = shapely.get_type_id(geoms) != 0
        if non_point.any():
            geoms = geoms.copy()
            geoms[non_point] = shapely.centroid(geoms[non_point])
        return point_xy(geoms)
    return point_xy(points)


def nearest_facility(network: Network, facilities, origins, *,
                     max_distance_m: float = np.inf, speed_kmh: float = DEFAULT_SPEED_KMH,
                     max_snap_m: float = 300.0, facility_snap: Snap | None = None,
                     origin_snap: Snap | None = None) -> pd.DataFrame:
    """Network distance from every origin to its nearest facility (one category).

    facilities, origins  GeoSeries/GeoDataFrames (any CRS; polygons by centroid) or (n, 2)
                         arrays / shapely points in the network's metric CRS
    Returns a DataFrame aligned with ``origins`` (same index when it has one): distance_m
    and minutes (NaN beyond ``max_distance_m``, unreachable or off-network), facility
    (label of the nearest facility in ``facilities``' index, or its position), snap
    ('edge' | 'gate' | 'off_network') and leg_m (the origin's access leg). The walking
    speed is in ``attrs['speed_kmh']``.
    """
    fsnap = facility_snap or snap_points(network, metric_points(facilities, network.crs),
                                         max_snap_m=max_snap_m)
    osnap = origin_snap or snap_points(network, metric_points(origins, network.crs),
                                       max_snap_m=max_snap_m)
    nd = node_distances(network, fsnap, max_distance_m=max_distance_m)
    dist, src = point_distances(nd, osnap, sources=fsnap, max_distance_m=max_distance_m)
    labels = (np.asarray(facilities.index, dtype=object) if hasattr(facilities, "index")
              else np.arange(fsnap.n).astype(object))
    index = origins.index if hasattr(origins, "index") else pd.RangeIndex(osnap.n)
    ok = np.isfinite(dist)
    out = pd.DataFrame({
        "distance_m": np.where(ok, dist, np.nan),
        "minutes": np.where(ok, minutes_for(np.where(ok, dist, 0.0), speed_kmh), np.nan),
        "facility": pd.Series(np.where(ok, labels[np.maximum(src, 0)] if len(labels) else None,
                                       None), dtype=object).to_numpy(),
        "snap": osnap.status, "leg_m": osnap.leg_m,
    }, index=index)
    out.attrs["speed_kmh"] = speed_kmh
    return out


def travel_time_grid(network: Network, sources, *, cell_m: float = 50.0,
                     speed_kmh: float = DEFAULT_SPEED_KMH, max_minutes: float = 30.0,
                     max_snap_m: float = 100.0) -> gpd.GeoDataFrame:
    """Walking minutes from the nearest of ``sources`` on a regular grid over the network.

    A travel-time surface for heatmaps: cell centres every ``cell_m`` metres over the
    network's extent, each snapped like a building (cells farther than ``max_snap_m`` from
    a street are left out). Returns points (network CRS) with distance_m, minutes, source.
    """
    if len(network.node_xy) == 0:
        raise InvalidInput("the network is empty")
    minx, miny = network.node_xy.min(axis=0)
    maxx, maxy = network.node_xy.max(axis=0)
    gx, gy = np.meshgrid(np.arange(minx, maxx + cell_m, cell_m),
                         np.arange(miny, maxy + cell_m, cell_m))
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    res = nearest_facility(network, sources, cells,
                           max_distance_m=metres_for(max_minutes, speed_kmh),
                           speed_kmh=speed_kmh, max_snap_m=max_snap_m)
    keep = (res["snap"] != SNAP_OFF).to_numpy()
    return gpd.GeoDataFrame(
        {"distance_m": res["distance_m"].to_numpy()[keep],
         "minutes": res["minutes"].to_numpy()[keep],
         "source": res["facility"].to_numpy()[keep]},
        geometry=gpd.points_from_xy(cells[keep, 0], cells[keep, 1]), crs=network.crs)


# --- many categories -------------------------------------------------------------------

@dataclass
class ReachTable:
    """Per-origin reach for several categories.

    ``table``: index-aligned with the origins: snap, leg_m, then per category
    ``<category>_m``, ``<category>_min`` and ``<category>_id`` (NaN/None beyond the cutoff).
    ``method`` is 'network' or 'estimate' (straight line x ``detour_factor``); ``params``
    holds speed_kmh, max_distance_m, max_snap_m, detour_factor; ``facility_status`` says per
    facility whether it joined the network.
    """

    table: pd.DataFrame
    categories: list[str]
    method: str
    params: dict
    facility_status: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    def distance(self, category: str) -> pd.Series:
        return self.table[f"{category}_m"]

    def label(self, lang: str = "en") -> str:
        speed = self.params["speed_kmh"]
        if self.method == METHOD_RADIUS:
            return ("服务半径：设施周围的直线距离（圆），不计步行路线" if lang == "zh" else
                    "SERVICE RADIUS: straight-line circles around facilities, not walking routes")
        if self.method == METHOD_ESTIMATE:
            f = self.params["detour_factor"]
            return (f"估算：直线距离×{f:g}，步行速度 {speed:g} km/h" if lang == "zh" else
                    f"ESTIMATE: straight line x {f:g}, walking {speed:g} km/h")
        return (f"路网步行距离，步行速度 {speed:g} km/h" if lang == "zh" else
                f"network walking distance, walking {speed:g} km/h")


def _table(cols: dict[str, np.ndarray], index) -> pd.DataFrame:
    """The per-origin table; text columns stay ``object`` with None (pandas would infer a
    string dtype and turn None into NaN)."""
    return pd.DataFrame({k: pd.Series(v, index=index, dtype=object) if v.dtype == object
                         else pd.Series(v, index=index) for k, v in cols.items()}, index=index)


def _categories(facilities: pd.DataFrame, field_name: str, wanted) -> list[str]:
    if field_name not in facilities:
        raise InvalidInput(f"facilities have no {field_name!r} column; name the category "
                           "field (--category-field)")
    have = [str(c) for c in pd.unique(facilities[field_name].dropna())]
    if wanted is None:
        return sorted(have)
    wanted = [str(c) for c in wanted]
    return wanted


def _ids(facilities: pd.DataFrame, id_field: str | None) -> np.ndarray:
    if id_field is None:
        return np.asarray(facilities.index, dtype=object)
    if id_field not in facilities:
        raise InvalidInput(f"facilities have no {id_field!r} column")
    return facilities[id_field].to_numpy(dtype=object)


def reach_by_category(network: Network, facilities: gpd.GeoDataFrame,
                      origins: gpd.GeoDataFrame | gpd.GeoSeries, *,
                      category_field: str = "category", id_field: str | None = None,
                      categories: Iterable[str] | None = None,
                      max_distance_m: float = np.inf, speed_kmh: float = DEFAULT_SPEED_KMH,
                      max_snap_m: float = 300.0, origin_snap: Snap | None = None,
                      progress: Progress | None = None) -> ReachTable:
    """Nearest facility of each category for every origin, on the network.

    Origins and facilities are snapped once (``origin_snap`` when the caller snapped the
    origins itself, e.g. at building entrances or with known compounds); then one
    multi-source Dijkstra per category. ``categories`` defaults to every value of
    ``category_field``; a category without any facility gives empty columns (nobody
    covered).
    """
    metres_per_minute(speed_kmh)
    cats = _categories(facilities, category_field, categories)
    fsnap = snap_points(network, metric_points(facilities, network.crs), max_snap_m=max_snap_m)
    osnap = origin_snap or snap_points(network, metric_points(origins, network.crs),
                                       max_snap_m=max_snap_m)
    ids = _ids(facilities, id_field)
    fcat = facilities[category_field].astype(object).to_numpy()
    cols: dict[str, np.ndarray] = {"snap": osnap.status, "leg_m": osnap.leg_m}
    graph = SourceGraph(network, fsnap)  # both built once for every category
    join = PointJoin(osnap, fsnap)
    for k, cat in enumerate(cats):
        mine = np.flatnonzero(fcat == cat)
        nd = graph.run(mine, max_distance_m=max_distance_m)
        dist, src = join.distances(nd, mine, max_distance_m=max_distance_m)
        ok = np.isfinite(dist)
        cols[f"{cat}_m"] = np.where(ok, dist, np.nan)
        cols[f"{cat}_min"] = np.where(ok, minutes_for(np.where(ok, dist, 0), speed_kmh), np.nan)
        id_col = np.full(osnap.n, None, dtype=object)
        id_col[ok] = ids[src[ok]]
        cols[f"{cat}_id"] = id_col
        if progress:
            progress(cat, k + 1, len(cats))
    table = _table(cols, origins.index)
    fstatus = pd.Series(fsnap.status, index=facilities.index, name="snap")
    return ReachTable(table, cats, METHOD_NETWORK,
                      {"speed_kmh": speed_kmh, "max_distance_m": float(max_distance_m),
                       "max_snap_m": max_snap_m, "detour_factor": None}, fstatus)


def estimate_by_category(facilities: gpd.GeoDataFrame, origins: gpd.GeoDataFrame, *,
                         crs: str | None = None, category_field: str = "category",
                         id_field: str | None = None, categories: Iterable[str] | None = None,
                         max_distance_m: float = np.inf, speed_kmh: float = DEFAULT_SPEED_KMH,
                         detour_factor: float = DEFAULT_DETOUR_FACTOR) -> ReachTable:
    """Fallback without a network: straight-line distance x ``detour_factor``.

    Same table as ``reach_by_category`` with method 'estimate'; every display must say so
    (``ReachTable.label``).
    """
    if detour_factor < 1:
        raise InvalidInput(f"detour factor must be at least 1 (got {detour_factor})")
    return _straight_line(facilities, origins, crs=crs, category_field=category_field,
                          id_field=id_field, categories=categories,
                          max_distance_m=max_distance_m, speed_kmh=speed_kmh,
                          factor=detour_factor, method=METHOD_ESTIMATE)


def radius_by_category(facilities: gpd.GeoDataFrame, origins: gpd.GeoDataFrame, *,
                       crs: str | None = None, category_field: str = "category",
                       id_field: str | None = None, categories: Iterable[str] | None = None,
                       max_distance_m: float = np.inf,
                       speed_kmh: float = DEFAULT_SPEED_KMH) -> ReachTable:
    """The service radius: straight-line metres from each origin to the nearest facility
    of each category, so an origin lies inside a facility's circle of radius r exactly when
    ``<category>_m <= r`` (a true circle in the metric ``crs``). Minutes are empty: a
    circle says nothing about walking. Method 'radius'."""
    return _straight_line(facilities, origins, crs=crs, category_field=category_field,
                          id_field=id_field, categories=categories,
                          max_distance_m=max_distance_m, speed_kmh=speed_kmh, factor=1.0,
                          method=METHOD_RADIUS)


def _straight_line(facilities, origins, *, crs, category_field, id_field, categories,
                   max_distance_m, speed_kmh, factor, method) -> ReachTable:
    """Nearest facility per category by straight line (k-d tree) x ``factor``."""
    metres_per_minute(speed_kmh)
    crs = crs or str(metric_crs(origins))
    cats = _categories(facilities, category_field, categories)
    fxy = metric_points(facilities, crs)
    oxy = metric_points(origins, crs)
    ids = _ids(facilities, id_field)
    fcat = facilities[category_field].astype(object).to_numpy()
    cols: dict[str, np.ndarray] = {"snap": np.full(len(oxy), method, dtype=object),
                                   "leg_m": np.full(len(oxy), np.nan)}
    for cat in cats:
        mine = np.flatnonzero(fcat == cat)
        dist = np.full(len(oxy), np.inf)
        src = np.full(len(oxy), -1)
        if len(mine):
            d, j = cKDTree(fxy[mine]).query(oxy)
            dist, src = d * factor, j
        ok = dist <= max_distance_m
        cols[f"{cat}_m"] = np.where(ok, dist, np.nan)
        cols[f"{cat}_min"] = (np.full(len(oxy), np.nan) if method == METHOD_RADIUS else
                              np.where(ok, minutes_for(np.where(ok, dist, 0), speed_kmh),
                                       np.nan))
        id_col = np.full(len(oxy), None, dtype=object)
        id_col[ok] = ids[mine][src[ok]]
        cols[f"{cat}_id"] = id_col
    return ReachTable(_table(cols, origins.index), cats, method,
                      {"speed_kmh": speed_kmh, "max_distance_m": float(max_distance_m),
                       "max_snap_m": None,
                       "detour_factor": factor if method == METHOD_ESTIMATE else None,
                       "crs": crs},
                      pd.Series(method, index=facilities.index, name="snap"))


# --- coverage per area ------------------------------------------------------------------

def coverage(reach: ReachTable, weights: pd.DataFrame, areas: dict[str, pd.Series], *,
             thresholds_m: dict[str, float]) -> pd.DataFrame:
    """Residents and households covered per area, category and threshold.

    weights       aligned with the origins: 'residents' and 'households' columns
    areas         area level -> Series aligned with the origins giving each origin's area code
                  (e.g. {'grid': ..., 'community': ..., 'street': ...}); None codes are
                  counted under '' (no area)
    thresholds_m  label -> metres, e.g. {'5 min': 333.3, '300 m': 300}
    Returns one row per (level, area, category, threshold): residents, residents_covered,
    residents_share, households, households_covered, households_share (share 0..1, NaN when
    nobody lives there), buildings and buildings_covered (buildings where people live).
    """
    w = weights.reindex(reach.table.index)
    res = w["residents"].fillna(0).to_numpy(float)
    hh = w["households"].fillna(0).to_numpy(float)
    lived = (res > 0).astype(float)
    frames = []
    for level, codes in areas.items():
        code = codes.reindex(reach.table.index).fillna("").astype(str).to_numpy()
        keys, inv = np.unique(code, return_inverse=True)
        tot_r = np.bincount(inv, weights=res, minlength=len(keys))
        tot_h = np.bincount(inv, weights=hh, minlength=len(keys))
        tot_b = np.bincount(inv, weights=lived, minlength=len(keys))
        for cat in reach.categories:
            d = reach.distance(cat).to_numpy(float)
            for label, limit in thresholds_m.items():
                ok = d <= limit
                cov_r = np.bincount(inv, weights=res * ok, minlength=len(keys))
                cov_h = np.bincount(inv, weights=hh * ok, minlength=len(keys))
                cov_b = np.bincount(inv, weights=lived * ok, minlength=len(keys))
                with np.errstate(invalid="ignore", divide="ignore"):
                    frames.append(pd.DataFrame({
                        "level": level, "area": keys, "category": cat, "threshold": label,
                        "threshold_m": float(limit), "residents": tot_r.astype(int),
                        "residents_covered": cov_r.astype(int),
                        "residents_share": np.where(tot_r > 0, cov_r / tot_r, np.nan),
                        "households": tot_h.astype(int),
                        "households_covered": cov_h.astype(int),
                        "households_share": np.where(tot_h > 0, cov_h / tot_h, np.nan),
                        "buildings": tot_b.astype(int), "buildings_covered": cov_b.astype(int),
                    }))
    if not frames:
        return pd.DataFrame(columns=["level", "area", "category", "threshold", "threshold_m",
                                     "residents", "residents_covered", "residents_share",
                                     "households", "households_covered", "households_share",
                                     "buildings", "buildings_covered"])
    return pd.concat(frames, ignore_index=True)


# --- isochrones -------------------------------------------------------------------------

def _covered_pieces(network: Network, dist_u: np.ndarray, dist_v: np.ndarray,
                    edge: np.ndarray, radius_m: np.ndarray):
    """Pieces (edge, start, end) of edges within ``radius_m`` given the distances of their two
    ends; a partly reachable edge is cut at exactly the remaining distance."""
    length = network.edge_length_m[edge]
    a = np.clip(radius_m - dist_u, 0.0, length)  # reach in from u
    b = np.clip(radius_m - dist_v, 0.0, length)  # reach in from v
    whole = a + b >= length
    from_u = ~whole & (a > 0)
    from_v = ~whole & (b > 0)
    idx = np.r_[np.flatnonzero(whole), np.flatnonzero(from_u), np.flatnonzero(from_v)]
    start = np.r_[np.zeros(whole.sum()), np.zeros(from_u.sum()), (length - b)[from_v]]
    end = np.r_[length[whole], a[from_u], length[from_v]]
    return idx, start, end


def _source_pieces(network: Network, sources: Snap, radius_m: np.ndarray, src: np.ndarray):
    """The stretch of a source's own edge within reach in both directions, and its leg."""
    on = np.flatnonzero((sources.status[src] == SNAP_EDGE) & (sources.leg_m[src] < radius_m))
    s = src[on]
    rest = radius_m[on] - sources.leg_m[s]
    e = sources.edge[s]
    start = np.clip(sources.offset_m[s] - rest, 0, network.edge_length_m[e])
    end = np.clip(sources.offset_m[s] + rest, 0, network.edge_length_m[e])
    return on, e, start, end


def buffer_lines(lines: np.ndarray, width_m: float, *, quad_segs: int = 2):
    """The union of the buffers of ``lines`` (points within ``width_m`` of any of them).

    Built from the faces of the line network instead of one big union of ~1,000 overlapping
    capsules (5x faster, same polygon up to the arc approximation): the faces (polygonize)
    form a coverage whose union is cheap; inside a face the buffer is the face minus the face
    shrunk by ``width_m``; outside, the outer rings and every dangling, cut or partial piece
    are buffered. Lines must meet at shared vertices (network pieces do); anything else
    falls back to the plain union.
    """
    lines = np.asarray(lines, dtype=object)
    lines = lines[~shapely.is_empty(lines)]
    if len(lines) == 0:
        return None
    if len(lines) < 50:
        return shapely.union_all(shapely.buffer(lines, width_m, quad_segs=quad_segs))
    polys, cuts, dangles, invalid = shapely.polygonize_full(lines)
    faces = shapely.get_parts(polys)
    other = np.r_[shapely.get_parts(cuts), shapely.get_parts(dangles),
                  shapely.get_parts(invalid)].astype(object)
    if len(faces) == 0:
        return shapely.union_all(shapely.buffer(lines, width_m, quad_segs=quad_segs))
    whole = shapely.coverage_union_all(faces)
    if not shapely.is_valid(whole):
        return shapely.union_all(shapely.buffer(lines, width_m, quad_segs=quad_segs))
    # Hole-free parts first (cheap overlays), then the shrunk faces cut out in one go -
    # minus whatever a dangling or partial piece's buffer covers inside them.
    parts = [whole, shapely.buffer(shapely.boundary(whole), width_m, quad_segs=quad_segs)]
    extra = (shapely.union_all(shapely.buffer(other, width_m, quad_segs=quad_segs))
             if len(other) else None)
    if extra is not None:
        parts.append(extra)
    outer = shapely.union_all(np.array(parts, dtype=object))
    holes = shapely.buffer(faces, -width_m, quad_segs=quad_segs)
    holes = shapely.get_parts(holes[~shapely.is_empty(holes)])
    if extra is not None and len(holes):
        hit = shapely.intersects(holes, extra)
        holes = np.r_[holes[~hit], shapely.get_parts(shapely.difference(holes[hit], extra))]
        holes = holes[shapely.get_type_id(holes) == 3]
    return shapely.difference(outer, shapely.multipolygons(holes)) if len(holes) else outer


def _submit_groups(pool, lines: np.ndarray, group: np.ndarray, width_m: float,
                   quad_segs: int) -> dict[int, object]:
    """Submit ``buffer_lines`` of each group's lines to ``pool`` (threads: shapely releases
    the GIL); returns group -> future, so the caller can go on while the polygons are made."""
    if len(lines) == 0:
        return {}
    order = np.argsort(group, kind="stable")
    lines, group = lines[order], group[order]
    present, starts = np.unique(group, return_index=True)
    ends = np.r_[starts[1:], len(group)]
    return {int(g): pool.submit(buffer_lines, lines[a:b], width_m, quad_segs=quad_segs)
            for g, a, b in zip(present, starts, ends, strict=True)}


def _leg_lines(sources: Snap, src: np.ndarray, radius_m: float) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Access legs (source point -> where it joins) within reach: (rows of ``src`` that have
    one, straight lines)."""
    leg = sources.leg_m[src]
    ok = np.flatnonzero(np.isfinite(leg) & (leg > 1e-9) & (leg < radius_m))
    seg = np.stack([sources.xy[src[ok]], sources.snapped_xy[src[ok]]], axis=1)
    return ok, (shapely.linestrings(seg) if len(ok) else np.zeros(0, dtype=object))


def _spatial_batches(xy: np.ndarray, ids: np.ndarray, cell_m: float, size: int):
    """``ids`` in batches of ``size`` that are near each other (Z-order of cells)."""
    cell = np.floor((xy - xy.min(axis=0)) / max(cell_m, 1.0)).astype(np.int64)
    z = np.zeros(len(xy), dtype=np.int64)
    for bit in range(21):  # interleave the bits of the cell coordinates
        z |= ((cell[:, 0] >> bit) & 1) << (2 * bit)
        z |= ((cell[:, 1] >> bit) & 1) << (2 * bit + 1)
    order = np.argsort(z, kind="stable")
    for start in range(0, len(ids), size):
        yield ids[order[start:start + size]]


def _local_dijkstra(network: Network, sources: Snap, batch: np.ndarray, nodes: np.ndarray,
                    local: np.ndarray, limit: float) -> np.ndarray:
    """Distances (len(batch), len(nodes)) from each source of ``batch`` on the subgraph of
    ``nodes`` (``local`` maps global node -> position in ``nodes``)."""
    sub = network.adjacency[nodes][:, nodes].tocsr()
    rows = np.flatnonzero(np.isin(sources.att_point, batch))
    keep = rows[local[sources.att_node[rows]] >= 0]
    pos = np.searchsorted(batch, sources.att_point[keep], sorter=np.argsort(batch))
    pos = np.argsort(batch)[pos]
    n = len(nodes)
    counts = np.bincount(pos, minlength=len(batch))
    order = np.argsort(pos, kind="stable")
    indptr = np.r_[sub.indptr, sub.indptr[-1] + np.cumsum(counts)].astype(np.int32)
    indices = np.r_[sub.indices, local[sources.att_node[keep][order]]].astype(np.int32)
    data = np.r_[sub.data, sources.att_cost_m[keep][order]]
    graph = sp.csr_array((data, indices, indptr), shape=(n + len(batch), n + len(batch)))
    return dijkstra(graph, directed=True, indices=n + np.arange(len(batch)), limit=limit)[:, :n]


def isochrones(network: Network, sources: Snap, *, radii_m: Iterable[float],
               buffer_m: float = DEFAULT_BUFFER_M, per_source: bool = True,
               merged: bool = True, quad_segs: int = 2, batch_size: int = 16,
               progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Walking isochrones from the reachable network, never convex hulls.

    For each radius, the edges within reach (an edge only partly within reach is cut at the
    exact remaining distance; a source's own edge counts both ways from its position) plus
    each source's access leg are buffered by ``buffer_m`` metres.
    per_source  one polygon per source and radius (Dijkstra per source, in batches)
    merged      one polygon per radius for all sources together (one multi-source run)
    quad_segs   segments per quarter circle of the buffer's round ends (2: corners within
                ~2 m of a true circle at 25 m)
    Returns a GeoDataFrame (network CRS): source (index in ``sources``, -1 for merged),
    radius_m, geometry. Sources off the network get no polygon.
    """
    radii = np.sort(np.asarray(list(radii_m), dtype=float))
    if len(radii) == 0 or (radii <= 0).any():
        raise InvalidInput("isochrone radii must be positive metres")
    if buffer_m <= 0:
        raise InvalidInput(f"isochrone buffer width must be positive (got {buffer_m} m)")
    rmax = float(radii[-1])
    rows: list[tuple[int, float, object]] = []
    live = np.flatnonzero(np.bincount(sources.att_point, minlength=sources.n) > 0)
    if merged and len(live):
        nd = node_distances(network, sources, max_distance_m=rmax)
        reached = np.isfinite(nd.dist_m[network.edge_u]) | np.isfinite(nd.dist_m[network.edge_v])
        edges = np.flatnonzero(reached)
        du, dv = nd.dist_m[network.edge_u[edges]], nd.dist_m[network.edge_v[edges]]
        for r in radii:
            idx, st, en = _covered_pieces(network, du, dv, edges, np.full(len(edges), r))
            _on, se, ss, sn = _source_pieces(network, sources, np.full(len(live), r), live)
            xy, off = network.substrings(np.r_[edges[idx], se], np.r_[st, ss], np.r_[en, sn])
            lines = np.r_[L.to_geoms(xy, off), _leg_lines(sources, live, r)[1]]
            poly = buffer_lines(lines, buffer_m, quad_segs=quad_segs)
            if poly is not None:
                rows.append((-1, float(r), poly))
    if per_source and len(live):
        rows += _per_source(network, sources, live, radii, rmax, buffer_m, quad_segs,
                            batch_size, progress)
    frame = gpd.GeoDataFrame({"source": [r[0] for r in rows], "radius_m": [r[1] for r in rows]},
                             geometry=[r[2] for r in rows], crs=network.crs)
    return frame.sort_values(["source", "radius_m"]).reset_index(drop=True)


def _per_source(network: Network, sources: Snap, live: np.ndarray, radii: np.ndarray,
                rmax: float, buffer_m: float, quad_segs: int, batch_size: int,
                progress: Progress | None) -> list[tuple[int, float, object]]:
    """One isochrone per source and radius. The main thread runs the batched Dijkstras and
    cuts the pieces while two threads buffer the previous batches (a pipeline: all cores
    stay busy)."""
    from concurrent.futures import ThreadPoolExecutor

    pending: list[tuple[int, float, object]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        indptr, inc = network.incident_edges
        local = np.full(network.n_nodes, -1, dtype=np.int64)
        by_x = np.argsort(network.node_xy[:, 0], kind="stable")
        xs = network.node_xy[by_x, 0]
        done = 0
        for batch in _spatial_batches(sources.xy[live], live, rmax, batch_size):
            # Only nodes within rmax (straight line) of a source in the batch can be
            # reached: search the bounding box grown by rmax, a small subgraph.
            lo = sources.xy[batch].min(axis=0) - rmax
            hi = sources.xy[batch].max(axis=0) + rmax
            cand = by_x[np.searchsorted(xs, lo[0]):np.searchsorted(xs, hi[0], "right")]
            y = network.node_xy[cand, 1]
            nodes = np.sort(cand[(y >= lo[1]) & (y <= hi[1])])
            local[nodes] = np.arange(len(nodes))
            dist = _local_dijkstra(network, sources, batch, nodes, local, rmax)
            bi, ln = np.nonzero(np.isfinite(dist))
            node = nodes[ln]
            cnt = indptr[node + 1] - indptr[node]
            pair_b = np.repeat(bi, cnt)
            rank = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            pair_e = inc[np.repeat(indptr[node], cnt) + rank]
            key = np.unique(pair_b * network.n_edges + pair_e)
            pb, pe = key // network.n_edges, key % network.n_edges
            lu, lv = local[network.edge_u[pe]], local[network.edge_v[pe]]
            du = np.where(lu >= 0, dist[pb, np.maximum(lu, 0)], np.inf)
            dv = np.where(lv >= 0, dist[pb, np.maximum(lv, 0)], np.inf)
            local[nodes] = -1
            for r in radii:
                idx, st, en = _covered_pieces(network, du, dv, pe, np.full(len(pe), r))
                on, se, ss, sn = _source_pieces(network, sources, np.full(len(batch), r),
                                                batch)
                xy, off = network.substrings(np.r_[pe[idx], se], np.r_[st, ss],
                                             np.r_[en, sn])
                leg_rows, legs = _leg_lines(sources, batch, r)
                group = np.r_[pb[idx], on, leg_rows]
                futures = _submit_groups(pool, np.r_[L.to_geoms(xy, off), legs], group,
                                         buffer_m, quad_segs)
                pending += [(int(batch[k]), float(r), f) for k, f in futures.items()]
            done += len(batch)
            if progress:
                progress("isochrones", done, len(live))
    rows = [(k, r, f.result()) for k, r, f in pending]
    return [row for row in rows if row[2] is not None]


# --- gaps and new sites -----------------------------------------------------------------

def gap_polygons(buildings: gpd.GeoDataFrame, uncovered: np.ndarray, *,
                 covered_area=None, buffer_m: float = 30.0) -> gpd.GeoDataFrame:
    """Residential areas outside the reach: uncovered residential buildings, grown by
    ``buffer_m`` and merged where they touch, minus the covered (isochrone) area.

    buildings    GeoDataFrame in a metric CRS with 'residents' and 'households' columns
    uncovered    boolean mask aligned with ``buildings`` (residential and not within reach)
    covered_area optional polygon (same CRS) removed from the gaps
    Returns one polygon per gap (metric CRS) with buildings, residents and households,
    largest first.
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
    frame = gpd.GeoDataFrame({"buildings": counts, "residents": res.astype(int),
                              "households": hh.astype(int)}, geometry=list(parts),
                             crs=buildings.crs)
    frame = frame[frame["buildings"] > 0]
    return frame.sort_values(["residents", "buildings"], ascending=False).reset_index(drop=True)


def candidate_nodes(network: Network, gaps, *, max_candidates: int = 300,
                    public_only: bool = True) -> np.ndarray:
    """Network nodes inside gap polygons, thinned on a square grid to at most
    ``max_candidates`` (the node nearest each cell centre), as (k, 2) coordinates."""
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
    pi, _ = shapely.STRtree(gaps).query(shapely.points(network.node_xy[nodes]),
                                        predicate="intersects")
    return thin_points(network.node_xy[np.unique(nodes[pi])], max_candidates)


def thin_points(xy: np.ndarray, max_points: int) -> np.ndarray:
    """At most ``max_points`` of ``xy`` spread over their extent: on the coarsest square
    grid that keeps no more than that, the point nearest each cell centre."""
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


PICK_COLUMNS = ["rank", "candidate", "x", "y", "residents_added", "households_added",
                "residents_covered_before", "residents_covered_after", "share_before",
                "share_after"]


@dataclass
class Suggestion:
    """Greedy new sites: ``picks`` (rank, candidate, x, y, residents_added,
    households_added, residents_covered_before/after, share_before/after) and ``ranking``
    (every candidate alone: residents_added, households_added), both in the network CRS."""

    picks: pd.DataFrame
    ranking: pd.DataFrame
    radius_m: float
    residents_total: int


def suggest_sites(network: Network, facilities: Snap, origins: Snap, weights: pd.DataFrame,
                  *, radius_m: float, candidates_xy: np.ndarray, k: int = 3,
                  batch_cells: float = 3e7) -> Suggestion:
    """Choose ``k`` new sites greedily, each adding the most residents within ``radius_m``.

    facilities   Snap of the existing facilities of the category
    origins      Snap of the buildings; ``weights`` aligned (residents, households)
    candidates_xy  (c, 2) candidate points (metric CRS), e.g. ``candidate_nodes`` or the
                 planner's own sites; each is snapped like a facility
    Coverage before and after each pick is the share of residents within ``radius_m``
    (off-network buildings count as not covered).
    """
    if k < 1:
        raise InvalidInput(f"the number of sites must be at least 1 (got {k})")
    res = weights["residents"].fillna(0).to_numpy(float)
    hh = weights["households"].fillna(0).to_numpy(float)
    total = float(res.sum())
    nd = node_distances(network, facilities, max_distance_m=radius_m)
    d0, _ = point_distances(nd, origins, sources=facilities, max_distance_m=radius_m)
    uncovered = np.flatnonzero(~np.isfinite(d0) & (origins.status != SNAP_OFF))
    cand = snap_points(network, candidates_xy, max_snap_m=np.inf)
    covered_before = total - float(res[~np.isfinite(d0)].sum())
    if cand.n == 0 or len(uncovered) == 0:
        return _greedy(sp.csr_array((cand.n, len(uncovered))), res[uncovered], hh[uncovered],
                       cand.xy, k=k, radius_m=radius_m, covered_before=covered_before,
                       total=total)
    targets = origins.subset(uncovered)
    # Coverage matrix: candidate x uncovered building, within radius_m.
    graph = _with_sources(network, cand)
    n = network.n_nodes
    size = max(1, int(batch_cells // max(graph.shape[0], 1)))
    rows, cols = [], []
    live = np.flatnonzero(np.bincount(cand.att_point, minlength=cand.n) > 0)
    for start in range(0, len(live), size):
        batch = live[start:start + size]
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
    cover = sp.csr_array((np.ones(len(r)), (r, c)), shape=(cand.n, targets.n))
    return _greedy(cover, res[uncovered], hh[uncovered], cand.xy, k=k, radius_m=radius_m,
                   covered_before=covered_before, total=total)


def _greedy(cover: sp.csr_array, w_r: np.ndarray, w_h: np.ndarray, cand_xy: np.ndarray, *,
            k: int, radius_m: float, covered_before: float, total: float) -> Suggestion:
    """Greedy maximum coverage: ``cover`` is candidate x uncovered building (non-zero =
    within reach); each pick takes the candidate adding the most still-uncovered residents."""
    cover = cover.tocsr()
    cover.data[:] = 1.0  # duplicate entries were summed: back to 0/1
    ranking = pd.DataFrame({"candidate": np.arange(cover.shape[0]), "x": cand_xy[:, 0],
                            "y": cand_xy[:, 1],
                            "residents_added": (cover @ w_r).round().astype(int),
                            "households_added": (cover @ w_h).round().astype(int)})
    ranking = ranking.sort_values(["residents_added", "candidate"],
                                  ascending=[False, True]).reset_index(drop=True)
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
        picks.append({"rank": rank, "candidate": best, "x": cand_xy[best, 0],
                      "y": cand_xy[best, 1], "residents_added": int(round(add_r)),
                      "households_added": int(round(add_h)),
                      "residents_covered_before": int(round(covered)),
                      "residents_covered_after": int(round(covered + add_r)),
                      "share_before": covered / total if total else np.nan,
                      "share_after": (covered + add_r) / total if total else np.nan})
        covered += add_r
    return Suggestion(pd.DataFrame(picks, columns=PICK_COLUMNS), ranking, radius_m, int(total))


def suggest_sites_estimate(facility_xy: np.ndarray, origin_xy: np.ndarray,
                           weights: pd.DataFrame, *, radius_m: float, candidates_xy: np.ndarray,
                           k: int = 3, detour_factor: float = DEFAULT_DETOUR_FACTOR) -> Suggestion:
    """``suggest_sites`` without a network: straight line x ``detour_factor`` (an estimate)."""
    if k < 1:
        raise InvalidInput(f"the number of sites must be at least 1 (got {k})")
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
    pairs = cKDTree(cand_xy).query_ball_point(origin_xy[uncovered], reach) if len(cand_xy) \
        else [[] for _ in uncovered]
    c = np.concatenate([np.asarray(p, dtype=np.int64) for p in pairs]) if len(pairs) else \
        np.zeros(0, np.int64)
    t = np.repeat(np.arange(len(uncovered)), [len(p) for p in pairs])
    cover = sp.csr_array((np.ones(len(c)), (c, t)), shape=(len(cand_xy), len(uncovered)))
    return _greedy(cover, res[uncovered], hh[uncovered], cand_xy, k=k, radius_m=radius_m,
                   covered_before=covered_before, total=total)
