"""The reachability engine against independent computations: networkx Dijkstra on the real
Beijing OSM network, isochrones cut by hand, coverage recounted with pandas, greedy site
choice on a hand-built case, the straight-line estimate."""

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point
from shapely.ops import substring

from gridmap.analysis import reach as R
from gridmap.errors import InvalidInput
from gridmap.network import build_network, network_from_osm, snap_nodes, snap_points, walkable

CRS = "EPSG:32650"


@pytest.fixture(scope="module")
def beijing(shared_data):
    from geodata.osm import read_osm

    return read_osm(shared_data / "osm" / "beijing_haidian_cau_map.osm")


def _osm_graph(ways, crs):
    """An independent graph: OSM node ids, an edge between consecutive nodes of every
    walkable way, weighted by the straight distance in ``crs``."""
    keep = walkable(
        ways["highway"].to_numpy(object),
        ways["foot"].to_numpy(object),
        ways["access"].to_numpy(object),
    )
    ways = ways[keep]
    coords = ways.to_crs(crs).geometry
    g = nx.Graph()
    where = {}
    for nodes, line in zip(ways["nodes"], coords, strict=True):
        xy = np.asarray(line.coords)
        for k in range(len(nodes)):
            where[nodes[k]] = xy[k]
        for k in range(len(nodes) - 1):
            w = float(np.hypot(*(xy[k + 1] - xy[k])))
            a, b = nodes[k], nodes[k + 1]
            if a != b and (not g.has_edge(a, b) or g[a][b]["w"] > w):
                g.add_edge(a, b, w=w)
    return g, where


def test_engine_equals_networkx_on_the_beijing_network(beijing):
    net = network_from_osm(beijing.ways, gated_compounds=False)
    g, where = _osm_graph(beijing.ways, net.crs)
    # Our nodes are OSM nodes: match them by position (same projection, same floats).
    key = {tuple(np.round(xy, 3)): osm for osm, xy in where.items()}
    osm_of = np.array([key[tuple(np.round(xy, 3))] for xy in net.node_xy])
    rng = np.random.default_rng(4)
    for n_fac in (1, 5, 25):
        fac = rng.choice(net.n_nodes, n_fac, replace=False)
        org = rng.choice(net.n_nodes, 300, replace=False)
        fsnap = snap_nodes(net, fac)
        nd = R.node_distances(net, fsnap, max_distance_m=1500)
        dist, src = R.point_distances(nd, snap_nodes(net, org), sources=fsnap, max_distance_m=1500)
        ref = nx.multi_source_dijkstra_path_length(
            g, set(osm_of[fac].tolist()), cutoff=1500, weight="w"
        )
        expect = np.array([ref.get(osm_of[o], np.inf) for o in org])
        assert (np.isfinite(dist) == np.isfinite(expect)).all()
        ok = np.isfinite(expect)
        assert ok.sum() > 50
        assert np.abs(dist[ok] - expect[ok]).max() < 0.01
        # The nearest facility named is one at that distance.
        fd = {
            f: nx.single_source_dijkstra_path_length(g, osm_of[f], weight="w")
            for f in fac[np.unique(src[ok])]
        }
        for o, s, d in zip(org[ok][:40], src[ok][:40], dist[ok][:40], strict=True):
            assert fd[fac[s]][osm_of[o]] == pytest.approx(d, abs=0.01)


def test_mid_edge_origins_equal_networkx_with_the_edge_split(beijing):
    net = network_from_osm(beijing.ways, gated_compounds=False)
    g = nx.Graph()
    for k in range(net.n_edges):
        u, v, w = int(net.edge_u[k]), int(net.edge_v[k]), float(net.edge_length_m[k])
        if u != v and (not g.has_edge(u, v) or g[u][v]["w"] > w):
            g.add_edge(u, v, w=w)
    rng = np.random.default_rng(9)
    fac = rng.choice(net.n_nodes, 6, replace=False)
    nd = R.node_distances(net, snap_nodes(net, fac))
    edges = rng.choice(np.flatnonzero(net.edge_u != net.edge_v), 60, replace=False)
    at = rng.uniform(0.1, 0.9, len(edges)) * net.edge_length_m[edges]
    pts = net.points_along(edges, at)
    org = snap_points(net, pts)
    dist, _ = R.point_distances(nd, org)
    ref = nx.multi_source_dijkstra_path_length(g, set(fac.tolist()), weight="w")
    for k, e in enumerate(edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        if org.edge[k] != e:  # a parallel edge at the same spot: skip
            continue
        expect = min(ref.get(u, np.inf) + at[k], ref.get(v, np.inf) + net.edge_length_m[e] - at[k])
        assert dist[k] == pytest.approx(expect, abs=0.01)


def test_routes_into_gated_compounds_pass_a_gate_on_the_real_network(beijing):
    free = network_from_osm(beijing.ways, gated_compounds=False)
    net = network_from_osm(beijing.ways, beijing.entrances, beijing.areas)
    assert net.compound_gated.sum() >= 3 and len(net.gate_node) >= 5
    pois = R.metric_points(beijing.pois, net.crs)
    public = net.compound_of(pois) < 0
    fac = snap_points(net, pois[public])
    bld = R.metric_points(beijing.buildings, net.crs)
    org = snap_points(net, bld)
    inside = (org.compound >= 0) & (org.status != "off_network")
    assert inside.sum() >= 20
    nd = R.node_distances(net, fac)
    dist, _ = R.point_distances(nd, org, sources=fac)
    # Every way in from the public streets crosses a gate node.
    through_gate = nd.dist_m[net.gate_node].min()
    reached = inside & np.isfinite(dist)
    assert reached.sum() >= 20
    assert (dist[reached] >= through_gate).all()
    # And the gates matter: some buildings walk further than on the ungated network.
    ref = R.nearest_facility(free, pois[public], bld)["distance_m"].to_numpy()
    assert (dist[reached] > ref[reached] + 20).sum() >= 5


def test_nearest_facility_is_index_aligned_and_states_its_speed():
    net = build_network([LineString([(0, 0), (1000, 0)])], crs=CRS)
    fac = gpd.GeoSeries([Point(0, 0), Point(1000, 0)], index=["A", "B"], crs=CRS)
    org = gpd.GeoSeries(
        [Point(900, 10), Point(100, -10), Point(500, 900)], index=[7, 3, 5], crs=CRS
    )
    res = R.nearest_facility(net, fac, org, speed_kmh=5.0, max_snap_m=300)
    assert list(res.index) == [7, 3, 5]
    assert res.loc[7, "facility"] == "B" and res.loc[7, "distance_m"] == pytest.approx(110)
    assert res.loc[3, "facility"] == "A" and res.loc[3, "minutes"] == pytest.approx(
        110 / 83.333, rel=1e-3
    )
    assert res.loc[5, "snap"] == "off_network" and np.isnan(res.loc[5, "distance_m"])
    assert res.attrs["speed_kmh"] == 5.0


def _two_paths():
    """A-B direct (100 m) and A-C-B (20 m + 20 m, a detour line to the north)."""
    return build_network(
        [
            LineString([(0, 0), (100, 0)]),
            LineString([(0, 0), (0, 20)]),
            LineString([(0, 20), (100, 20)]),
            LineString([(100, 20), (100, 0)]),
        ],
        crs=CRS,
        noding="vertices",
    )


def test_isochrone_cuts_partial_edges_at_the_remaining_distance():
    # Straight street 0..100; facility at x=0 (leg 0); 60 m: exactly the piece 0..60, buffered.
    net = build_network([LineString([(0, 0), (100, 0)])], crs=CRS)
    fac = snap_points(net, np.array([[0.0, 0.0]]))
    iso = R.isochrones(net, fac, radii_m=[60], buffer_m=10, quad_segs=16)
    expect = LineString([(0, 0), (60, 0)]).buffer(10, quad_segs=16)
    for poly in iso.geometry:
        assert shapely.symmetric_difference(poly, expect).area < 0.5
    assert set(iso["source"]) == {-1, 0}


def test_isochrone_reaches_an_edge_from_both_ends():
    # P=(0,0), Q=(100,0): a straight street P-Q (100 m) and a bent one P-(50,40)-Q (128.06 m).
    # Facility at P, 110 m: the bent street is reached from P for 110 m and from Q (at 100 m)
    # for 10 m; the 8.06 m between stay out.
    bent = LineString([(0, 0), (50, 40), (100, 0)])
    net = build_network([LineString([(0, 0), (100, 0)]), bent], crs=CRS, noding="vertices")
    fac = snap_points(net, np.array([[0.0, 0.0]]))
    iso = R.isochrones(net, fac, radii_m=[110], buffer_m=2, quad_segs=16, per_source=False)
    length = bent.length
    pieces = [
        LineString([(0, 0), (100, 0)]),
        substring(bent, 0, 110),
        substring(bent, length - 10, length),
    ]
    expect = shapely.union_all([p.buffer(2, quad_segs=16) for p in pieces])
    poly = iso.geometry.iloc[0]
    assert shapely.symmetric_difference(poly, expect).area < 0.5
    assert not poly.contains(bent.interpolate(114))
    assert poly.contains(bent.interpolate(109)) and poly.contains(bent.interpolate(119))


def test_buffer_lines_equals_the_plain_union_on_a_real_network(beijing):
    net = network_from_osm(beijing.ways, gated_compounds=False)
    lines = net.edge_geoms
    plain = shapely.union_all(shapely.buffer(lines, 25, quad_segs=8))
    fast = R.buffer_lines(lines, 25, quad_segs=8)
    assert shapely.symmetric_difference(plain, fast).area < 1e-4 * plain.area


def test_isochrones_are_never_convex_hulls(beijing):
    net = network_from_osm(beijing.ways, beijing.entrances, beijing.areas)
    pois = beijing.pois.to_crs(net.crs)
    fac = snap_points(net, R.metric_points(pois.iloc[:5], net.crs))
    iso = R.isochrones(net, fac, radii_m=[500], buffer_m=20)
    one = iso[iso["source"] >= 0].geometry
    assert len(one) >= 3
    assert (one.area < 0.9 * one.convex_hull.area).all()


def test_coverage_matches_an_independent_count():
    rng = np.random.default_rng(2)
    n = 400
    table = pd.DataFrame(
        {
            "snap": "edge",
            "leg_m": 0.0,
            "a_m": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 1500, n)),
            "b_m": rng.uniform(0, 800, n),
        },
        index=np.arange(100, 100 + n),
    )
    reach = R.ReachTable(table, ["a", "b"], "network", {"speed_kmh": 4.0})
    weights = pd.DataFrame(
        {"residents": rng.integers(0, 60, n), "households": rng.integers(0, 20, n)},
        index=table.index,
    )
    grid = pd.Series(rng.choice(["G1", "G2", "G3", None], n), index=table.index)
    comm = grid.map({"G1": "C1", "G2": "C1", "G3": "C2"})
    cov = R.coverage(
        reach,
        weights,
        {"grid": grid, "community": comm},
        thresholds_m={"10 min": 500.0, "15 min": 1000.0},
    )
    for level, codes in (("grid", grid), ("community", comm)):
        for cat in ("a", "b"):
            for label, limit in (("10 min", 500.0), ("15 min", 1000.0)):
                df = weights.assign(area=codes.fillna(""), ok=table[f"{cat}_m"] <= limit)
                expect = df[df.ok].groupby("area")["residents"].sum()
                total = df.groupby("area")["residents"].sum()
                got = cov[(cov.level == level) & (cov.category == cat) & (cov.threshold == label)]
                got = got.set_index("area")
                for area in total.index:
                    assert got.loc[area, "residents"] == total[area]
                    assert got.loc[area, "residents_covered"] == expect.get(area, 0)
                    assert got.loc[area, "residents_share"] == pytest.approx(
                        expect.get(area, 0) / total[area]
                    )


def test_reach_by_category_gives_per_category_columns_and_ids():
    net = build_network([LineString([(0, 0), (2000, 0)])], crs=CRS)
    fac = gpd.GeoDataFrame(
        {"category": ["school", "clinic", "school"], "fid": ["s1", "c1", "s2"]},
        geometry=[Point(0, 5), Point(1000, 5), Point(2000, 5)],
        crs=CRS,
    )
    org = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(300, 0), Point(1900, 0)], crs=CRS)
    res = R.reach_by_category(net, fac, org, id_field="fid", max_distance_m=1000)
    t = res.table
    assert list(t.columns) == [
        "snap",
        "leg_m",
        "clinic_m",
        "clinic_min",
        "clinic_id",
        "school_m",
        "school_min",
        "school_id",
    ]
    assert t["school_m"].tolist() == pytest.approx([305.0, 105.0])
    assert t["school_id"].tolist() == ["s1", "s2"]
    assert t["clinic_m"].tolist() == pytest.approx([705.0, 905.0])
    assert t["clinic_min"].tolist() == pytest.approx([705 / 66.6667, 905 / 66.6667], rel=1e-4)
    cut = R.reach_by_category(net, fac, org, id_field="fid", max_distance_m=800)
    assert cut.table["clinic_id"].tolist() == ["c1", None]
    assert np.isnan(cut.table["clinic_m"].iloc[1])


def test_estimate_is_straight_line_times_detour_and_labelled():
    fac = gpd.GeoDataFrame({"category": ["s"]}, geometry=[Point(116.35, 40.0)], crs="EPSG:4326")
    org = gpd.GeoDataFrame(geometry=[Point(116.36, 40.0)], crs="EPSG:4326")
    res = R.estimate_by_category(fac, org, detour_factor=1.4, max_distance_m=5000)
    straight = gpd.GeoSeries([fac.geometry.iloc[0], org.geometry.iloc[0]], crs="EPSG:4326").to_crs(
        res.params.get("crs", "EPSG:32650")
    )
    d = straight.iloc[0].distance(straight.iloc[1])
    assert res.table["s_m"].iloc[0] == pytest.approx(1.4 * d, rel=1e-6)
    assert res.method == "estimate"
    assert "ESTIMATE" in res.label("en") and "估算" in res.label("zh")
    with pytest.raises(InvalidInput, match="detour factor"):
        R.estimate_by_category(fac, org, detour_factor=0.5)


def test_greedy_suggestion_picks_the_site_covering_most_uncovered_residents():
    # A street 0..3000 m; one facility at 0; buildings at 1000 (500 residents), 1500
    # (200 residents), 2500 (300 residents) and 2600 (300 residents); radius 300 m.
    net = build_network([LineString([(0, 0), (3000, 0)])], crs=CRS)
    fac = snap_points(net, np.array([[0.0, 0.0]]))
    pts = np.array([[100.0, 10], [1000, 10], [1500, 10], [2500, 10], [2600, 10]])
    org = snap_points(net, pts)
    weights = pd.DataFrame(
        {"residents": [50, 500, 200, 300, 300], "households": [20, 200, 80, 120, 120]}
    )
    cands = np.array([[1000.0, 0], [1250, 0], [2550, 0], [2900, 0]])
    s = R.suggest_sites(net, fac, org, weights, radius_m=300, candidates_xy=cands, k=3)
    picks = s.picks
    # 2550 covers 2500 and 2600 (600) > 1000 alone (500) or 1250 (covers 1000 and 1500: 700!)
    assert picks["candidate"].tolist()[:2] == [1, 2]
    assert picks["residents_added"].tolist() == [700, 600]
    assert picks["residents_covered_before"].tolist() == [50, 750]
    assert picks["share_after"].iloc[-1] == pytest.approx(1.0)
    assert len(picks) == 2  # nothing left to add for a third site
    ranking = s.ranking.set_index("candidate")["residents_added"]
    assert ranking.to_dict() == {1: 700, 2: 600, 0: 500, 3: 0}  # 2600 is 300 m + 10 m leg away
    est = R.suggest_sites_estimate(
        np.array([[0.0, 0]]),
        pts,
        weights,
        radius_m=300,
        candidates_xy=cands,
        k=1,
        detour_factor=1.0,
    )
    assert est.picks["candidate"].tolist() == [1]


def test_travel_time_grid_gives_minutes_from_the_nearest_source():
    net = build_network([LineString([(0, 0), (1000, 0)])], crs=CRS)
    grid = R.travel_time_grid(
        net, np.array([[0.0, 0.0]]), cell_m=100, speed_kmh=6, max_minutes=20, max_snap_m=50
    )
    on_line = grid[np.isclose(grid.geometry.y, 0)]
    assert len(on_line) == 11
    assert on_line["minutes"].tolist() == pytest.approx(np.arange(11) * 100 / 100.0)
