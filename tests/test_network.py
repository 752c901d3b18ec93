"""The walking network: noding, walkability, gated compounds and snapping, on hand-built
cases whose distances are worked out by hand (metres in a local metric CRS)."""

import numpy as np
import pytest
import shapely
from shapely import LineString, Point, box

from gridmap.analysis.reach import node_distances, point_distances
from gridmap.errors import InvalidInput
from gridmap.network import (
    SNAP_EDGE,
    SNAP_GATE,
    SNAP_OFF,
    CompoundInputs,
    build_network,
    snap_points,
    vertical_layer,
    walkable,
)

CRS = "EPSG:32650"


def _distance(net, facility_xy, origin_xy, **kw):
    fac = snap_points(net, np.asarray(facility_xy, float), **kw)
    org = snap_points(net, np.asarray(origin_xy, float), **kw)
    nd = node_distances(net, fac)
    dist, src = point_distances(nd, org, sources=fac)
    return dist, src, fac, org


def test_walkable_rules():
    hw = [
        "footway",
        "primary",
        "motorway",
        "motorway",
        "residential",
        "service",
        "service",
        "cycleway",
        None,
        "proposed",
    ]
    foot = [None, "no", None, "yes", None, None, None, "designated", None, None]
    access = [None, None, None, None, "private", "private", "private", None, None, None]
    inside = [False, False, False, False, False, True, False, False, False, False]
    got = walkable(hw, foot, access, in_compound=inside)
    assert got.tolist() == [True, False, False, True, False, True, False, True, True, False]


def test_facility_mid_edge_counts_its_position_and_both_legs():
    # One street 0..100 m along x. Facility 5 m north of x=30, building 3 m south of x=80.
    net = build_network([LineString([(0, 0), (100, 0)])], crs=CRS)
    dist, src, fac, org = _distance(net, [(30, 5)], [(80, -3)])
    assert fac.status[0] == SNAP_EDGE and fac.offset_m[0] == pytest.approx(30)
    assert fac.leg_m[0] == pytest.approx(5) and org.leg_m[0] == pytest.approx(3)
    assert dist[0] == pytest.approx(5 + 50 + 3)  # not via a node (that would be 5+30+80+3)
    assert src[0] == 0
    # Beyond the cutoff: empty.
    nd = node_distances(net, fac, max_distance_m=40)
    d, s = point_distances(nd, org, sources=fac, max_distance_m=40)
    assert np.isinf(d[0]) and s[0] == -1


def test_snapping_uses_the_nearest_point_on_an_edge_not_the_nearest_node():
    # An L: the point is 2 m from the long edge's middle but 40+ m from any node.
    net = build_network(
        [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 100)])], crs=CRS
    )
    snap = snap_points(net, np.array([[50.0, 2.0]]))
    assert snap.leg_m[0] == pytest.approx(2.0)
    assert snap.snapped_xy[0] == pytest.approx([50.0, 0.0])
    assert sorted(snap.att_cost_m.round(6).tolist()) == [52.0, 52.0]


def test_off_network_building_is_reported_and_gets_no_distance():
    net = build_network([LineString([(0, 0), (100, 0)])], crs=CRS)
    dist, _src, _fac, org = _distance(net, [(10, 0)], [(50, 301), (50, 299)], max_snap_m=300)
    assert org.status.tolist() == [SNAP_OFF, SNAP_EDGE]
    assert np.isinf(dist[0])
    assert dist[1] == pytest.approx(299 + 40)


def test_intersections_noding_joins_crossing_lines_and_vertices_noding_does_not():
    cross = [LineString([(0, 50), (100, 50)]), LineString([(50, 0), (50, 100)])]
    noded = build_network(cross, crs=CRS)
    assert noded.n_edges == 4 and noded.n_nodes == 5
    d, *_ = _distance(noded, [(0, 50)], [(50, 100)])
    assert d[0] == pytest.approx(100)
    apart = build_network(cross, crs=CRS, noding="vertices")
    assert apart.n_edges == 2
    d, *_ = _distance(apart, [(0, 50)], [(50, 100)])
    assert np.isinf(d[0])
    # A street ending 0.3 m short of another (survey undershoot) is joined to it.
    short = build_network(
        [LineString([(0, 0), (100, 0)]), LineString([(50, 0.3), (50, 80)])], crs=CRS
    )
    d, *_ = _distance(short, [(0, 0)], [(50, 80)])
    assert d[0] == pytest.approx(50 + 80, abs=0.01)


def test_osm_style_node_ids_keep_a_bridge_apart_from_the_street_below():
    lines = [LineString([(0, 50), (50, 50), (100, 50)]), LineString([(50, 0), (50, 50), (50, 100)])]
    # The bridge shares no node id with the street it crosses.
    net = build_network(lines, crs=CRS, node_ids=[[1, 2, 3], [4, 5, 6]])
    d, *_ = _distance(net, [(0, 50)], [(50, 100)])
    assert np.isinf(d[0])
    joined = build_network(lines, crs=CRS, node_ids=[[1, 2, 3], [4, 2, 6]])
    d, *_ = _distance(joined, [(0, 50)], [(50, 100)])
    assert d[0] == pytest.approx(100)


def _compound_case(gates):
    """A 100 x 100 m compound; public streets along y=-10 and x=-10; internal paths from the
    south outline (50,0) north to (50,80) and from the west outline (0,50) east to (50,50),
    both continuing outside to the streets. ``gates``: gate points on the outline."""
    lines = [
        LineString([(-60, -10), (160, -10)]),  # south street (public)
        LineString([(-10, -10), (-10, 160)]),  # west street (public)
        LineString([(50, -10), (50, 80)]),  # south path, crosses the fence
        LineString([(-10, 50), (50, 50)]),
    ]  # west path, crosses the fence
    return build_network(
        lines,
        crs=CRS,
        highway=["tertiary", "tertiary", "footway", "footway"],
        compounds=CompoundInputs(
            compound_codes=["C1"],
            compound_geoms=[box(0, 0, 100, 100)],
            gate_points=[Point(p) for p in gates],
            gate_compound=["C1"] * len(gates),
            gate_codes=[f"g{i}" for i in range(len(gates))],
        ),
    )


def test_gated_compound_is_reached_only_through_its_gate():
    net = _compound_case(gates=[(50, 0)])
    assert net.compound_gated.tolist() == [True]
    assert len(net.gate_node) == 1
    # Facility by the west street; building inside the compound 10 m east of the path end.
    dist, _s, fac, org = _distance(net, [(-30, 50)], [(60, 80)])
    assert fac.compound[0] == -1 and fac.leg_m[0] == pytest.approx(20)
    assert org.compound[0] == 0 and org.leg_m[0] == pytest.approx(10)
    # (-30,50) -20-> (-10,50) -60-> (-10,-10) -60-> (50,-10) -90-> (50,80) -10-> building.
    assert dist[0] == pytest.approx(20 + 60 + 60 + 90 + 10)
    # With the west crossing open (no gates at all: an open compound) the short way counts.
    open_net = _compound_case(gates=[])
    assert any("treated as open" in w for w in open_net.warnings)
    dist, *_ = _distance(open_net, [(-30, 50)], [(60, 80)])
    assert dist[0] == pytest.approx(20 + 60 + 30 + 10)


def test_gate_off_the_paths_is_linked_to_street_and_path():
    # Gate on the east outline (100, 30), no path there: linked 40 m east... no street there,
    # so put it on the south outline at (80, 0): 10 m to the south street, 30 m to the path.
    net = _compound_case(gates=[(80, 0)])
    assert len(net.gate_node) == 1
    dist, *_ = _distance(net, [(80, -20)], [(50, 80)])
    # (80,-20) -10-> (80,-10) -10-> gate (80,0) -30-> (50,0) -80-> (50,80).
    assert dist[0] == pytest.approx(10 + 10 + 30 + 80)


def test_compound_without_paths_joins_buildings_straight_to_its_gates():
    lines = [LineString([(-50, -10), (150, -10)])]
    net = build_network(
        lines,
        crs=CRS,
        compounds=CompoundInputs(
            compound_codes=["C"],
            compound_geoms=[box(0, 0, 100, 100)],
            gate_points=[Point(20, 0), Point(90, 0)],
            gate_compound=["C", "C"],
        ),
    )
    dist, _s, _f, org = _distance(net, [(0, -15)], [(80, 60)])
    assert org.status[0] == SNAP_GATE
    # Either gate: via (90,0): 5 + 90 + 10 + hypot(10, 60); via (20,0): 5 + 20 + 10 + hypot(60,60)
    best = min(5 + 90 + 10 + np.hypot(10, 60), 5 + 20 + 10 + np.hypot(60, 60))
    assert dist[0] == pytest.approx(best)


def test_nested_compound_gate_opens_onto_the_outer_compounds_paths():
    # Outer compound [0,200]^2 gated at (100,0) on the south street; inner [120,180]x[120,180]
    # gated at (150,120) onto the outer compound's path y=110.
    lines = [
        LineString([(-20, -10), (220, -10)]),
        LineString([(100, -10), (100, 110)]),
        LineString([(100, 110), (190, 110)]),
    ]
    outer = box(0, 0, 200, 200).difference(box(120, 120, 180, 180))  # cut out, as the demo does
    net = build_network(
        lines,
        crs=CRS,
        highway=["tertiary", "service", "service"],
        compounds=CompoundInputs(
            compound_codes=["OUT", "IN"],
            compound_geoms=[outer, box(120, 120, 180, 180)],
            gate_points=[Point(100, 0), Point(150, 120)],
            gate_compound=["OUT", "IN"],
        ),
    )
    assert len(net.gate_node) == 2
    dist, _s, _f, org = _distance(net, [(0, -10)], [(150, 150)])
    assert org.status[0] == SNAP_GATE  # the inner compound has no paths of its own
    # (0,-10) -100-> (100,-10) -120-> (100,110) -50-> (150,110) -10-> gate -30-> building.
    assert dist[0] == pytest.approx(100 + 120 + 50 + 10 + 30)


def test_private_way_outside_compounds_is_not_walked():
    lines = [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (200, 0)])]
    net = build_network(
        lines, crs=CRS, highway=["residential", "service"], access=[None, "private"]
    )
    assert net.n_edges == 1
    with pytest.raises(InvalidInput, match="no walkable"):
        build_network(lines[:1], crs=CRS, foot=["no"])


def test_edge_geometry_lengths_and_substrings():
    net = build_network([LineString([(0, 0), (30, 40), (30, 100)])], crs=CRS)
    assert net.edge_length_m.tolist() == pytest.approx([110.0])
    xy, off = net.substrings(np.array([0]), np.array([25.0]), np.array([80.0]))
    piece = shapely.LineString(xy[off[0] : off[1]])
    assert piece.length == pytest.approx(55.0)
    assert piece.coords[0] == pytest.approx((15.0, 20.0))
    assert piece.coords[-1] == pytest.approx((30.0, 70.0))


@pytest.mark.parametrize(
    "tags, level",
    [
        ((None, None, None), 0),
        (("2", None, None), 2),
        (("-1", "yes", None), -1),
        ((None, "yes", None), 1),
        ((None, "viaduct", None), 1),
        ((None, "是", None), 1),
        ((None, "否", None), 0),
        ((None, "no", "yes"), -1),
        ((None, None, "building_passage"), -1),
        (("道路中心线", None, None), 0),
    ],
)
def test_vertical_layer_from_osm_and_survey_tags(tags, level):
    assert vertical_layer(*tags) == level
