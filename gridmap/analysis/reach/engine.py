"""The engine: one multi-source Dijkstra from virtual source nodes; distances at points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import dijkstra

from gridmap.analysis.reach.defaults import DEFAULT_SPEED_KMH
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network import SNAP_EDGE, SNAP_OFF, Network, Snap, point_xy, snap_points
from gridmap.units import metres_for, minutes_for


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

    def run(
        self, which: ArrayLike | None = None, *, max_distance_m: float = np.inf
    ) -> NodeDistances:
        """Distances from some of the sources to every node (one Dijkstra).

        Parameters
        ----------
        which : array_like, optional
            Indices of the sources taking part (default all).
        max_distance_m : float
            Cutoff in metres.

        Returns
        -------
        NodeDistances
            ``source`` holds indices into the full ``sources``.
        """
        n = self.network.n_nodes
        idx = np.arange(self.sources.n) if which is None else np.asarray(which, dtype=np.int64)
        idx = idx[self.live[idx]]
        if len(idx) == 0 or n == 0:
            return NodeDistances(np.full(n, np.inf), np.full(n, -1, dtype=np.int64))
        dist, _pred, src = dijkstra(
            self.graph,
            directed=True,
            indices=n + idx,
            limit=max_distance_m,
            min_only=True,
            return_predecessors=True,
        )
        src = src[:n].astype(np.int64)
        return NodeDistances(dist[:n], np.where(src >= n, src - n, -1))


def node_distances(
    network: Network, sources: Snap, *, max_distance_m: float = np.inf
) -> NodeDistances:
    """One multi-source Dijkstra from all ``sources`` with a cutoff.

    Parameters
    ----------
    network : Network
        The walking network.
    sources : Snap
        The snapped sources.
    max_distance_m : float
        Cutoff in metres.

    Returns
    -------
    NodeDistances
        Distance and nearest source per node.
    """
    return SourceGraph(network, sources).run(max_distance_m=max_distance_m)


_NO_PAIRS = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def _same_edge(sources: Snap, targets: Snap) -> tuple[np.ndarray, ...]:
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

    def distances(
        self, nd: NodeDistances, which: ArrayLike | None = None, *, max_distance_m: float = np.inf
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distance and nearest source of each target after one run.

        Parameters
        ----------
        nd : NodeDistances
            The run's node distances.
        which : array_like, optional
            The source indices that took part in the run (default all).
        max_distance_m : float
            Cutoff in metres.

        Returns
        -------
        distance_m, source : numpy.ndarray
            Metres per target (inf beyond ``max_distance_m``) and the nearest source's index.
        """
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


def point_distances(
    nd: NodeDistances,
    targets: Snap,
    *,
    sources: Snap | None = None,
    which: ArrayLike | None = None,
    max_distance_m: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance and nearest source of each target point.

    ``sources`` (the Snap the distances came from) adds the direct way along a shared edge.
    For many runs over the same points, build a ``PointJoin`` once.

    Parameters
    ----------
    nd : NodeDistances
        The run's node distances.
    targets : Snap
        The snapped targets.
    sources : Snap, optional
        The snapped sources of the run.
    which : array_like, optional
        The source indices that took part in the run (default all).
    max_distance_m : float
        Cutoff in metres.

    Returns
    -------
    distance_m, source : numpy.ndarray
        Metres per target (inf beyond ``max_distance_m``) and the nearest source's index.
    """
    return PointJoin(targets, sources).distances(nd, which, max_distance_m=max_distance_m)


def metric_points(points: Any, crs: str) -> np.ndarray:
    """(n, 2) metric coordinates of points, reprojected where needed; polygons count by their
    centroid.

    Parameters
    ----------
    points : GeoSeries, GeoDataFrame, array or shapely points
        A GeoSeries/GeoDataFrame (reprojected to ``crs``), or coordinates/shapely points
        already in it.
    crs : str
        The metric CRS.

    Returns
    -------
    numpy.ndarray
        (n, 2) coordinates in metres.
    """
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is None:
            raise fail(
                InvalidInput, N_("points have no CRS; set one (e.g. EPSG:4326) before analysis")
            )
        geoms = np.asarray(points.to_crs(crs).values, dtype=object)
        non_point = shapely.get_type_id(geoms) != 0
        if non_point.any():
            geoms = geoms.copy()
            geoms[non_point] = shapely.centroid(geoms[non_point])
        return point_xy(geoms)
    return point_xy(points)


def nearest_facility(
    network: Network,
    facilities: Any,
    origins: Any,
    *,
    max_distance_m: float = np.inf,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_snap_m: float = 300.0,
    facility_snap: Snap | None = None,
    origin_snap: Snap | None = None,
) -> pd.DataFrame:
    """Network distance from every origin to its nearest facility (one category).

    Parameters
    ----------
    network : Network
        The walking network.
    facilities, origins : GeoSeries, GeoDataFrame or array
        Any CRS (polygons by centroid), or (n, 2) arrays / shapely points in the network's
        metric CRS.
    max_distance_m : float
        Cutoff in metres.
    speed_kmh : float
        Walking speed in km/h for the minutes.
    max_snap_m : float
        Farthest a point may lie from the network, in metres.
    facility_snap, origin_snap : Snap, optional
        The points already snapped by the caller.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``origins`` (same index when it has one): distance_m and minutes (NaN
        beyond ``max_distance_m``, unreachable or off-network), facility (label of the nearest
        facility in ``facilities``' index, or its position), snap ('edge' | 'gate' |
        'off_network') and leg_m (the origin's access leg). The walking speed is in
        ``attrs['speed_kmh']``.
    """
    fsnap = facility_snap or snap_points(
        network, metric_points(facilities, network.crs), max_snap_m=max_snap_m
    )
    osnap = origin_snap or snap_points(
        network, metric_points(origins, network.crs), max_snap_m=max_snap_m
    )
    nd = node_distances(network, fsnap, max_distance_m=max_distance_m)
    dist, src = point_distances(nd, osnap, sources=fsnap, max_distance_m=max_distance_m)
    labels = (
        np.asarray(facilities.index, dtype=object)
        if hasattr(facilities, "index")
        else np.arange(fsnap.n).astype(object)
    )
    index = origins.index if hasattr(origins, "index") else pd.RangeIndex(osnap.n)
    ok = np.isfinite(dist)
    out = pd.DataFrame(
        {
            "distance_m": np.where(ok, dist, np.nan),
            "minutes": np.where(ok, minutes_for(np.where(ok, dist, 0.0), speed_kmh), np.nan),
            "facility": pd.Series(
                np.where(ok, labels[np.maximum(src, 0)] if len(labels) else None, None),
                dtype=object,
            ).to_numpy(),
            "snap": osnap.status,
            "leg_m": osnap.leg_m,
        },
        index=index,
    )
    out.attrs["speed_kmh"] = speed_kmh
    return out


def travel_time_grid(
    network: Network,
    sources: Any,
    *,
    cell_m: float = 50.0,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    max_minutes: float = 30.0,
    max_snap_m: float = 100.0,
) -> gpd.GeoDataFrame:
    """Walking minutes from the nearest of ``sources`` on a regular grid over the network.

    A travel-time surface for heatmaps: cell centres every ``cell_m`` metres over the
    network's extent, each snapped like a building.

    Parameters
    ----------
    network : Network
        The walking network.
    sources : GeoSeries, GeoDataFrame or array
        The sources (see :func:`metric_points`).
    cell_m : float
        Cell size in metres.
    speed_kmh : float
        Walking speed in km/h.
    max_minutes : float
        Cutoff in minutes.
    max_snap_m : float
        Cells farther than this many metres from a street are left out.

    Returns
    -------
    geopandas.GeoDataFrame
        Points (network CRS) with distance_m, minutes, source.
    """
    if len(network.node_xy) == 0:
        raise fail(InvalidInput, N_("the network is empty"))
    minx, miny = network.node_xy.min(axis=0)
    maxx, maxy = network.node_xy.max(axis=0)
    gx, gy = np.meshgrid(
        np.arange(minx, maxx + cell_m, cell_m), np.arange(miny, maxy + cell_m, cell_m)
    )
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    res = nearest_facility(
        network,
        sources,
        cells,
        max_distance_m=metres_for(max_minutes, speed_kmh),
        speed_kmh=speed_kmh,
        max_snap_m=max_snap_m,
    )
    keep = (res["snap"] != SNAP_OFF).to_numpy()
    return gpd.GeoDataFrame(
        {
            "distance_m": res["distance_m"].to_numpy()[keep],
            "minutes": res["minutes"].to_numpy()[keep],
            "source": res["facility"].to_numpy()[keep],
        },
        geometry=gpd.points_from_xy(cells[keep, 0], cells[keep, 1]),
        crs=network.crs,
    )
