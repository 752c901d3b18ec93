"""One rule each: walkability, noding with bridge/tunnel levels, reading order, minutes and
the metric CRS, read alike by the network build, the demo builder and patrol matching."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.sparse.csgraph import connected_components

from gridmap.analysis import patrol
from gridmap.analysis.grids import sequence_numbers
from gridmap.crs import metric_crs
from gridmap.demo.osm_places import walk_roads as demo_roads
from gridmap.demo.synth import reading_order as synth_order
from gridmap.errors import InvalidInput
from gridmap.network import CompoundInputs, build_network, network_from_osm
from gridmap.noding import node_lines, vertical_layer
from gridmap.ordering import reading_order, reading_sequence
from gridmap.units import metres_for, minutes_for
from gridmap.walkable import walkable

UTM50 = "EPSG:32650"
X0, Y0 = 440_000.0, 4_427_000.0  # near 116.3E 40.0N in UTM 50N

# One way per tag class: (highway, foot, access, walkable by the public?)
WAYS = [
    ("footway", None, None, True),
    ("crossing", None, None, True),  # a crossing mapped as its own highway
    ("platform", None, None, True),  # a bus platform
    ("residential", None, "private", False),  # a private road outside any compound
    ("service", None, "no", False),
    ("service", None, "agricultural", False),
    ("service", "yes", "private", True),  # foot=yes opens a private road to walkers
    ("primary", "no", None, False),
    ("cycleway", None, None, False),
    ("cycleway", "designated", None, True),
    ("motorway", None, None, False),
    ("trunk", "yes", None, True),
    ("construction", None, None, False),
    ("tertiary", "private", None, False),
]


def _ways_frame() -> gpd.GeoDataFrame:
    """Parallel east-west ways 50 m apart, each its own node ids (no shared nodes)."""
    rows, geoms = [], []
    for i, (hw, foot, access, _ok) in enumerate(WAYS):
        y = Y0 + 50.0 * i
        geoms.append(shapely.LineString([(X0, y), (X0 + 200.0, y)]))
        rows.append(
            {
                "osm_id": 100 + i,
                "highway": hw,
                "foot": foot,
                "access": access,
                "name": f"way {i}",
                "nodes": [1000 + 2 * i, 1001 + 2 * i],
            }
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=UTM50).to_crs(4326)


def test_walkable_rule_by_tag_class():
    hw, foot, access, want = (list(c) for c in zip(*WAYS, strict=True))
    assert walkable(hw, foot, access).tolist() == want
    # Inside a compound, private roads are its residents' paths; foot=no stays closed.
    inside = walkable(hw, foot, access, in_compound=True)
    assert inside.tolist() == [w or (a is not None or f == "private") for (_, f, a, w) in WAYS]
    assert walkable([None], [None], [None]).tolist() == [True]  # a layer without the column


def test_network_demo_and_patrol_classify_the_same_ways():
    ways = _ways_frame()
    want = np.array([w for *_, w in WAYS])

    net = network_from_osm(ways)
    in_network = np.zeros(len(ways), bool)
    in_network[np.unique(net.edge_source)] = True

    roads = demo_roads(ways, UTM50)
    kept_public = np.zeros(len(ways), bool)
    for code, access in zip(roads["code"], roads["access"], strict=True):
        if access is None:
            kept_public[int(code.removeprefix("osm-w")) - 100] = True

    metric = ways.to_crs(UTM50)
    patrolled = patrol.patrolled_roads(metric).to_numpy()

    assert in_network.tolist() == want.tolist()
    assert kept_public.tolist() == want.tolist()
    assert patrolled.tolist() == want.tolist()
    # The demo keeps private ways (flagged) for compounds; the same ones a compound opens.
    assert len(roads) == int(
        walkable(*zip(*[w[:3] for w in WAYS], strict=True), in_compound=True).sum()
    )


def test_private_road_is_walked_inside_its_compound_only():
    roads = gpd.GeoDataFrame(
        {
            "highway": ["service", "service"],
            "foot": [None, None],
            "access": ["private", "private"],
            "compound_code": ["C1", None],
        },
        geometry=[
            shapely.LineString([(X0, Y0), (X0 + 100, Y0)]),
            shapely.LineString([(X0, Y0 + 500), (X0 + 100, Y0 + 500)]),
        ],
        crs=UTM50,
    )
    assert patrol.patrolled_roads(roads).tolist() == [True, False]
    net = build_network(
        roads.geometry.to_numpy(),
        crs=UTM50,
        highway=roads["highway"],
        access=roads["access"],
        compounds=CompoundInputs(
            line_compound=roads["compound_code"],
            compound_codes=["C1"],
            compound_geoms=[shapely.box(X0 - 10, Y0 - 10, X0 + 110, Y0 + 10)],
        ),
    )
    assert sorted(set(net.edge_source.tolist())) == [0]


# --- noding with levels ---------------------------------------------------------------------
def _bridge_case() -> gpd.GeoDataFrame:
    """A street running north-south, an east-west street crossing it at grade, and a bridge
    (layer 1) crossing it 200 m further north, with ramps joining the bridge at its ends."""
    street = shapely.LineString([(X0, Y0), (X0, Y0 + 400)])
    cross = shapely.LineString([(X0 - 100, Y0 + 100), (X0 + 100, Y0 + 100)])
    bridge = shapely.LineString([(X0 - 100, Y0 + 300), (X0 + 100, Y0 + 300)])
    ramp_w = shapely.LineString([(X0 - 200, Y0 + 300), (X0 - 100, Y0 + 300)])
    ramp_e = shapely.LineString([(X0 + 100, Y0 + 300), (X0 + 200, Y0 + 300)])
    return gpd.GeoDataFrame(
        {
            "highway": ["residential"] * 5,
            "name": ["s", "c", "b", "w", "e"],
            "bridge": [None, None, "yes", None, None],
        },
        geometry=[street, cross, bridge, ramp_w, ramp_e],
        crs=UTM50,
    )


def _nx_graph(parts) -> nx.Graph:
    g = nx.Graph()
    for p in parts:
        a, b = shapely.get_coordinates(p)[[0, -1]]
        g.add_edge(tuple(np.round(a, 3)), tuple(np.round(b, 3)), length=p.length)
    return g


def test_bridge_over_a_street_is_no_junction():
    lines = _bridge_case()
    level = [vertical_layer(bridge=b) for b in lines["bridge"]]
    assert level == [0, 0, 1, 0, 0]
    parts, src = node_lines(lines.geometry.to_numpy(), level=level)
    # The street is cut only where the at-grade street crosses it; the bridge not at all.
    assert sorted(np.bincount(src, minlength=5).tolist()) == [1, 1, 1, 2, 2]
    assert np.bincount(src)[0] == 2 and np.bincount(src)[2] == 1
    g = _nx_graph(parts)
    crossing = (X0, Y0 + 300)
    assert crossing not in g  # no node where the bridge passes over the street
    assert nx.number_connected_components(g) == 2  # the street and the bridge road apart
    # Without levels the same lines would meet under the bridge.
    flat_parts, _ = node_lines(lines.geometry.to_numpy())
    assert nx.number_connected_components(_nx_graph(flat_parts)) == 1

    # The network build reads the same rule: same components, same junction degrees.
    net = build_network(lines.geometry.to_numpy(), crs=UTM50, highway=lines["highway"], layer=level)
    n_comp, _ = connected_components(net.adjacency, directed=False)
    assert n_comp == nx.number_connected_components(g) == 2
    degrees = np.bincount(np.r_[net.edge_u, net.edge_v], minlength=net.n_nodes)
    assert sorted(degrees.tolist()) == sorted(d for _, d in g.degree())
    assert net.n_edges == g.number_of_edges() == len(parts)
    assert net.edge_length_m.sum() == pytest.approx(sum(p.length for p in parts))


def test_patrol_segments_follow_the_levels():
    lines = _bridge_case()
    grid = gpd.GeoDataFrame(
        {"code": ["g1"], "name": ["G1"]},
        geometry=[shapely.box(X0 - 300, Y0 - 50, X0 + 300, Y0 + 450)],
        crs=UTM50,
    )
    net = patrol.street_network(lines, grid)
    g = _nx_graph(net.segments.geometry.to_numpy())
    assert nx.number_connected_components(g) == 2
    assert len(net.segments) == 7  # street 2, cross 2, bridge 1, ramps 1 each
    assert net.segments["length_m"].sum() == pytest.approx(400 + 200 + 200 + 100 + 100)
    on_bridge = net.segments[net.segments["name"] == "b"]
    assert len(on_bridge) == 1 and on_bridge["length_m"].iloc[0] == pytest.approx(200.0)


# --- reading order --------------------------------------------------------------------------
def test_one_reading_order_for_grids_and_demo_builders():
    # Two rows: the northern row's centroids are staggered by 30 m (less than half the row
    # height of 100 m), so they still read as one row, west to east.
    x = np.array([0.0, 200.0, 100.0, 0.0, 100.0])
    y = np.array([1000.0, 1030.0, 1010.0, 900.0, 905.0])
    assert reading_order(x, y, 100.0).tolist() == [0, 2, 1, 3, 4]
    assert reading_sequence(x, y, 100.0).tolist() == [1, 3, 2, 4, 5]
    assert synth_order(x, y, 100.0).tolist() == [0, 2, 1, 3, 4]
    # Grid numbering in a community uses it too (squares of 100 m: row height 100 m).
    boxes = gpd.GeoSeries(
        [
            shapely.box(X0 + a, Y0 + b, X0 + a + 100, Y0 + b + 100)
            for a, b in zip(x, y, strict=True)
        ],
        crs=UTM50,
    )
    assert sequence_numbers(boxes, pd.Series("c", index=boxes.index)).tolist() == [1, 3, 2, 4, 5]


# --- minutes and metric CRS -----------------------------------------------------------------
def test_minutes_for_hand_worked_values():
    assert minutes_for(1000.0, 4.0) == 15.0  # 4 km/h = 66.67 m/min
    assert metres_for(15, 4.0) == 1000.0
    assert metres_for(20, 4.5) == 1500.0  # 4500 m/h x 1/3 h
    assert minutes_for([0.0, 500.0, 1200.0], 3.6).tolist() == pytest.approx([0.0, 500 / 60, 20.0])
    with pytest.raises(InvalidInput):
        minutes_for(100.0, 0.0)


def test_metric_crs_from_frames_geometries_and_bounds():
    beijing = gpd.GeoDataFrame(geometry=[shapely.Point(116.35, 40.0)], crs=4326)
    assert metric_crs(beijing).to_epsg() == 32650  # (116.35 + 180) // 6 + 1 = 50
    assert metric_crs(beijing.to_crs(UTM50)).to_epsg() == 32650
    assert metric_crs(shapely.Point(104.06, 30.66)).to_epsg() == 32648  # Chengdu
    assert metric_crs((120.0, -10.0, 121.0, -9.0)).to_epsg() == 32751  # south: 327xx
    assert metric_crs(beijing.iloc[:0]).to_epsg() == 32650
    assert metric_crs(beijing) == beijing.estimate_utm_crs()
