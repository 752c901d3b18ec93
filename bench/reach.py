"""Reachability benchmark: gridmap's engine beside networkx and a bare scipy.sparse.csgraph run.

Run: .venv/bin/python bench/reach.py  (about 10 minutes on 2 cores; not part of `make test`)

Part A, a synthetic city: a jittered street lattice of 1,000 x 1,000 nodes (60 m blocks, 10%
of the streets removed) given as 1.8 million separate street lines, 500,000 origins and 10
facility categories (10,470 facilities). End to end: build the network from the lines, snap
origins and facilities onto edges, one multi-source Dijkstra per category with a 2,000 m
cutoff, write the per-origin table as CSV. Then the shortest-path stage per category (ours:
the Dijkstra from the facilities' own points, naming each node's facility, then the join of
every origin to its edge's nodes) beside (a) the bare floor:
scipy.sparse.csgraph.dijkstra(min_only=True, limit=...) from the facilities' nearest nodes,
node distances only, and (b) networkx multi_source_dijkstra_path_length
(cutoff) on the same graph (three categories: it is slow). Isochrones: 15 minutes (1,000 m)
around each of 1,000 facilities, buffered 25 m.

Part B, the real Beijing Haidian OSM extract (../shared/data/osm): file mode end to end,
and per category the same three shortest-path runs; distances checked against networkx.

Times are wall-clock seconds (CPU seconds in brackets: the machine is shared); memory is the
process's peak resident set.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import networkx as nx  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import shapely  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from geodata.reach_files import write_table  # noqa: E402
from gridmap.analysis import reach as R  # noqa: E402
from gridmap.network import build_network, snap_nodes, snap_points  # noqa: E402

SIDE = 1000
SPACING_M = 60.0
N_ORIGINS = 500_000
FACILITIES = {
    f"cat{k:02d}": n for k, n in enumerate([20, 50, 100, 200, 400, 700, 1000, 1500, 2500, 4000])
}
CUTOFF_M = 2000.0
ISO_FACILITIES = 1000
ISO_RADIUS_M = 1000.0
BUFFER_M = 25.0
NX_CATEGORIES = ("cat00", "cat05", "cat09")
SEED = 42
OSM = ROOT.parent / "shared" / "data" / "osm" / "beijing_haidian_cau_map.osm"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def fmt(t: tuple[float, float]) -> str:
    return f"{t[0]:8.2f} s [{t[1]:7.2f} cpu]"


def out(line: str = "") -> None:
    print(line, flush=True)


def synthetic_lines(rng):
    ii, jj = np.meshgrid(np.arange(SIDE), np.arange(SIDE), indexing="ij")
    xy = np.column_stack([jj.ravel() * SPACING_M, ii.ravel() * SPACING_M])
    xy += rng.uniform(-10, 10, xy.shape) + [440000.0, 4400000.0]
    idx = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
    edges = np.vstack(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        ]
    )
    edges = edges[rng.random(len(edges)) > 0.1]
    lines = shapely.linestrings(
        xy[edges].reshape(-1, 2), indices=np.repeat(np.arange(len(edges)), 2)
    )
    return xy, lines


def floor_run(net, fac_xy, cutoff):
    """The practical floor: csgraph Dijkstra from the facilities' nearest nodes, nothing more."""
    nodes = np.unique(cKDTree(net.node_xy).query(fac_xy)[1])
    c = Clock()
    dist = dijkstra(net.adjacency, directed=True, indices=nodes, min_only=True, limit=cutoff)
    return c.stop(), nodes, dist


def nx_graph(net) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(net.n_nodes))
    a = net.adjacency.tocoo()
    keep = a.row < a.col
    g.add_weighted_edges_from(
        zip(a.row[keep].tolist(), a.col[keep].tolist(), a.data[keep].tolist(), strict=True)
    )
    return g


def nx_run(g, nodes, cutoff):
    c = Clock()
    d = nx.multi_source_dijkstra_path_length(g, [int(n) for n in nodes], cutoff=cutoff)
    return c.stop(), d


def part_a() -> dict:
    out("== A. synthetic city: 1,000,000-node street lattice, 500,000 origins, 10 categories")
    rng = np.random.default_rng(SEED)
    c = Clock()
    node_xy, lines = synthetic_lines(rng)
    lo, hi = node_xy.min(axis=0), node_xy.max(axis=0)
    origins_xy = rng.uniform(lo, hi, (N_ORIGINS, 2))
    fac_xy = {k: rng.uniform(lo, hi, (n, 2)) for k, n in FACILITIES.items()}
    out(
        f"input generated: {len(lines):,} street lines, {N_ORIGINS:,} origins, "
        f"{sum(FACILITIES.values()):,} facilities          {fmt(c.stop())}"
    )
    crs = "EPSG:32650"
    origins = gpd.GeoDataFrame(
        {"id": np.arange(N_ORIGINS)},
        geometry=gpd.points_from_xy(origins_xy[:, 0], origins_xy[:, 1]),
        crs=crs,
    )
    fac = pd.concat(
        [
            gpd.GeoDataFrame(
                {"category": k, "id": [f"{k}-{i}" for i in range(len(v))]},
                geometry=gpd.points_from_xy(v[:, 0], v[:, 1]),
                crs=crs,
            )
            for k, v in fac_xy.items()
        ],
        ignore_index=True,
    )
    fac = gpd.GeoDataFrame(fac, geometry="geometry", crs=crs)

    out("-- ours, end to end")
    total = Clock()
    c = Clock()
    net = build_network(lines, crs=crs, noding="vertices")
    t_build = c.stop()
    out(f"build network from lines       {fmt(t_build)}   {net}")
    c = Clock()
    osnap = snap_points(net, origins_xy)
    t_snap = c.stop()
    out(
        f"snap 500,000 origins onto edges {fmt(t_snap)}   off-network: "
        f"{int((osnap.status == 'off_network').sum())}"
    )
    c = Clock()
    res = R.reach_by_category(
        net,
        fac,
        origins,
        id_field="id",
        max_distance_m=CUTOFF_M,
        snapping=R.SnapOptions(origin_snap=osnap),
    )
    t_reach = c.stop()
    out(f"10 categories (snap facilities + shortest paths) {fmt(t_reach)}")
    c = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        write_table(res.table, origins.to_crs("EPSG:4326"), "id", Path(tmp) / "reach.csv")
        size = (Path(tmp) / "reach.csv").stat().st_size
    t_write = c.stop()
    out(f"write the per-origin table (CSV, {size / 1e6:.0f} MB, with lon/lat) {fmt(t_write)}")
    t_total = total.stop()
    peak_e2e = peak_mib()
    out(
        f"END TO END (build + snap + 10 categories + write) {fmt(t_total)}   "
        f"peak memory {peak_e2e / 1024:.2f} GiB (process, includes the generated input)"
    )
    covered = {k: int((res.distance(k) <= 1000).sum()) for k in FACILITIES}
    out("origins within 1,000 m: " + ", ".join(f"{k} {v:,}" for k, v in covered.items()))

    out("-- isochrones")
    big = np.flatnonzero(fac["category"].to_numpy() == "cat06")[:ISO_FACILITIES]
    fsnap = snap_points(net, R.metric_points(fac.iloc[big], crs))
    c = Clock()
    iso = R.isochrones(net, fsnap, radii_m=[ISO_RADIUS_M], buffer_m=BUFFER_M, merged=False)
    t_iso = c.stop()
    out(
        f"{len(iso)} isochrones, 15 min (1,000 m) each, buffer 25 m  {fmt(t_iso)}   "
        f"mean area {iso.area.mean() / 1e6:.2f} km2"
    )

    out(
        "-- shortest-path stage per category: ours (exact, facilities mid-edge, origins "
        "mid-edge) / bare csgraph floor (nearest nodes only)"
    )
    rows = []
    fsnap_all = snap_points(net, R.metric_points(fac, crs))
    cats = fac["category"].to_numpy()
    c = Clock()
    graph = R.SourceGraph(net, fsnap_all)  # once: the network plus a node per facility
    join = R.PointJoin(osnap, fsnap_all)  # once: origins to nodes, same-edge pairs
    t_graph = c.stop()
    out(f"graph with all facilities' virtual nodes + origin join (once) {fmt(t_graph)}")
    for k in FACILITIES:
        mine = np.flatnonzero(cats == k)
        c = Clock()
        nd = graph.run(mine, max_distance_m=CUTOFF_M)
        dij = c.stop()
        join.distances(nd, mine, max_distance_m=CUTOFF_M)
        ours = c.stop()
        fl, nodes, _ = floor_run(net, fac_xy[k], CUTOFF_M)
        rows.append((k, FACILITIES[k], ours, fl, nodes, dij))
        out(
            f"{k} ({FACILITIES[k]:>5} facilities)  ours {fmt(ours)} (Dijkstra {dij[0]:.2f} s)  "
            f"floor {fmt(fl)}  ratio {ours[0] / fl[0]:.2f} (Dijkstra alone {dij[0] / fl[0]:.2f})"
        )
    ours_sum = t_graph[0] + sum(r[2][0] for r in rows)
    floor_sum = sum(r[3][0] for r in rows)
    ours_cpu = t_graph[1] + sum(r[2][1] for r in rows)
    floor_cpu = sum(r[3][1] for r in rows)
    dij_sum = sum(r[5][0] for r in rows)
    out(
        f"all 10 categories (ours incl. the graph and join build): ours {ours_sum:.2f} s "
        f"[{ours_cpu:.2f} cpu], floor {floor_sum:.2f} s [{floor_cpu:.2f} cpu], ratio "
        f"{ours_sum / floor_sum:.2f} wall, {ours_cpu / floor_cpu:.2f} cpu (target <= 1.5); "
        f"Dijkstra alone {dij_sum / floor_sum:.2f}"
    )
    # Exactness at nodes: facilities placed on nodes give the floor's distances exactly.
    k, _n, _o, _f, nodes, _d = rows[3]
    nd = R.node_distances(net, snap_nodes(net, nodes), max_distance_m=CUTOFF_M)
    floor = dijkstra(net.adjacency, indices=nodes, min_only=True, limit=CUTOFF_M)
    both = np.isfinite(floor)
    out(
        f"check {k} on nodes: max |ours - floor| = "
        f"{np.max(np.abs(nd.dist_m[both] - floor[both])):.2e} m, same reach: "
        f"{bool((np.isfinite(nd.dist_m) == both).all())}"
    )

    out("-- networkx (same graph, multi_source_dijkstra_path_length with cutoff)")
    c = Clock()
    g = nx_graph(net)
    out(f"networkx graph built            {fmt(c.stop())}")
    nx_rows = []
    for k, _n, ours, fl, nodes, _d in rows:
        if k not in NX_CATEGORIES:
            continue
        t_nx, d = nx_run(g, nodes, CUTOFF_M)
        floor = dijkstra(net.adjacency, indices=nodes, min_only=True, limit=CUTOFF_M)
        ref = np.full(net.n_nodes, np.inf)
        ref[list(d)] = list(d.values())
        diff = np.max(np.abs(np.where(np.isfinite(ref), ref - floor, 0)))
        nx_rows.append((k, ours, fl, t_nx))
        out(
            f"{k}: networkx {fmt(t_nx)}  ours {ours[0]:.2f} s  floor {fl[0]:.2f} s  "
            f"networkx/ours {t_nx[0] / ours[0]:.0f}x   max |networkx - floor| {diff:.1e} m"
        )
    del g
    return {
        "build": t_build,
        "snap": t_snap,
        "reach": t_reach,
        "write": t_write,
        "total": t_total,
        "peak_gib": peak_e2e / 1024,
        "iso": t_iso,
        "ours_sum": ours_sum,
        "floor_sum": floor_sum,
        "ours_cpu": ours_cpu,
        "floor_cpu": floor_cpu,
        "dij_sum": dij_sum,
        "nx": nx_rows,
    }


def part_b() -> dict:
    out()
    out(f"== B. Beijing Haidian OSM extract ({OSM.name})")
    if not OSM.exists():
        out("skipped: the shared data folder is absent")
        return {}
    from geodata.reach_files import read_facilities, read_network, read_origins

    total = Clock()
    net = read_network(OSM)
    fac, cat_col, id_col = read_facilities(OSM)
    origins, _oid = read_origins(OSM)
    res = R.reach_by_category(
        net, fac, origins, category_field=cat_col, id_field=id_col, max_distance_m=CUTOFF_M
    )
    t_total = total.stop()
    out(
        f"file mode end to end (read .osm x3, build, snap, {len(res.categories)} categories) "
        f"{fmt(t_total)}   {net}, {len(origins)} buildings, {len(fac)} facilities"
    )
    osnap = snap_points(net, R.metric_points(origins, net.crs))
    fsnap = snap_points(net, R.metric_points(fac, net.crs))
    g = nx_graph(net)
    worst = 0.0
    cats = fac[cat_col].to_numpy()
    c = Clock()
    for _ in range(20):  # built once per run of every category: counted in ours
        graph = R.SourceGraph(net, fsnap)
        join = R.PointJoin(osnap, fsnap)
    ours_t = c.stop()[0] / 20
    floor_t = nx_t = dij_t = 0.0
    for k in res.categories:
        mine = np.flatnonzero(cats == k)
        c = Clock()
        for _ in range(20):  # tiny graph: repeat for a measurable time
            nd = graph.run(mine, max_distance_m=CUTOFF_M)
        dij_t += c.stop()[0] / 20
        c = Clock()
        for _ in range(20):
            nd = graph.run(mine, max_distance_m=CUTOFF_M)
            join.distances(nd, mine, max_distance_m=CUTOFF_M)
        ours_t += c.stop()[0] / 20
        fxy = R.metric_points(fac.iloc[mine], net.crs)
        nodes = np.unique(cKDTree(net.node_xy).query(fxy)[1])
        c = Clock()
        for _ in range(20):
            dijkstra(net.adjacency, indices=nodes, min_only=True, limit=CUTOFF_M)
        floor_t += c.stop()[0] / 20
        t_nx, d = nx_run(g, nodes, CUTOFF_M)
        nx_t += t_nx[0]
        # Same sources on nodes through our engine: equal to networkx within 0.01 m?
        nd = R.node_distances(net, snap_nodes(net, nodes), max_distance_m=CUTOFF_M)
        ref = np.full(net.n_nodes, np.inf)
        ref[list(d)] = list(d.values())
        ok = np.isfinite(ref)
        assert (np.isfinite(nd.dist_m) == ok).all()
        worst = max(worst, float(np.max(np.abs(nd.dist_m[ok] - ref[ok]))) if ok.any() else 0.0)
    out(
        f"shortest-path stage, all {len(res.categories)} categories: ours {ours_t * 1000:.1f} ms, "
        f"floor {floor_t * 1000:.1f} ms (ratio {ours_t / floor_t:.2f}; Dijkstra alone "
        f"{dij_t * 1000:.1f} ms, {dij_t / floor_t:.2f}), networkx {nx_t * 1000:.1f} ms "
        f"({nx_t / ours_t:.0f}x ours)"
    )
    out(f"our distances vs networkx (sources on nodes): max difference {worst:.2e} m")
    return {"total": t_total, "ratio": ours_t / floor_t, "dij_ratio": dij_t / floor_t}


def main() -> None:
    out(f"gridmap reach benchmark  {time.strftime('%Y-%m-%d %H:%M')}")
    out(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"shapely {shapely.__version__}, networkx {nx.__version__}; load average at start "
        f"{os.getloadavg()[0]:.1f} (shared machine)"
    )
    a = part_a()
    b = part_b()
    out()
    out("== targets")
    out(
        f"shortest-path stage within 1.5x of the bare floor: synthetic "
        f"{a['ours_sum'] / a['floor_sum']:.2f}x wall ({a['ours_cpu'] / a['floor_cpu']:.2f}x CPU), "
        f"Beijing {b.get('ratio', float('nan')):.2f}x; the Dijkstra alone (ours finds each node's "
        f"facility too): synthetic {a['dij_sum'] / a['floor_sum']:.2f}x, Beijing "
        f"{b.get('dij_ratio', float('nan')):.2f}x"
    )
    out(
        f"1M-node run under 60 s and 4 GiB: {a['total'][0]:.1f} s wall ({a['total'][1]:.1f} s "
        f"CPU), {a['peak_gib']:.2f} GiB"
    )
    out(
        f"isochrones for 1,000 facilities under 30 s: {a['iso'][0]:.1f} s "
        f"({a['iso'][1]:.1f} s CPU on 2 threads)"
    )


if __name__ == "__main__":
    main()
