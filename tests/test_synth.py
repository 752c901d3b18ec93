"""The synthetic street office: structure, geometry, people and records are plausible."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap import vocab
from gridmap.demo.synth import (
    DEMO_TODAY,
    DISTRICT_CODE,
    METRIC_CRS,
    REFERENCE_YEAR,
    STREET_CODE,
    build_synthetic_city,
    reading_order,
)

COLUMNS = {
    "districts": ["code", "name", "geometry"],
    "streets": ["code", "name", "district_code", "geometry"],
    "communities": ["code", "name", "street_code", "geometry"],
    "grids": [
        "code",
        "name",
        "community_code",
        "kind",
        "leader",
        "leader_phone",
        "target_households",
        "geometry",
    ],
    "compounds": ["code", "name", "community_code", "geometry"],
    "gates": ["code", "compound_code", "name", "kind", "geometry"],
    "roads": ["code", "name", "highway", "foot", "access", "compound_code", "geometry"],
    "buildings": [
        "code",
        "name",
        "address",
        "floors",
        "use",
        "compound_code",
        "grid_code",
        "geometry",
    ],
    "households": ["code", "building_code", "unit", "floor", "room", "size", "tags"],
    "residents": ["household_code", "name", "id_number", "phone", "birth_year", "sex", "tags"],
    "facilities": ["code", "name", "category", "capacity", "geometry"],
    "key_sites": [
        "code",
        "name",
        "category",
        "address",
        "grid_code",
        "inspection_interval_days",
        "geometry",
    ],
    "inspections": ["site_code", "inspected_at", "inspector", "result", "notes"],
    "hazards": [
        "code",
        "category",
        "severity",
        "status",
        "description",
        "found_at",
        "deadline",
        "closed_at",
        "reporter",
        "responsible",
        "grid_code",
        "history",
        "geometry",
    ],
    "patrol_tracks": [
        "code",
        "patroller",
        "grid_code",
        "started_at",
        "ended_at",
        "times",
        "geometry",
    ],
}
MIDNIGHT = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day)


@pytest.fixture(scope="module")
def city():
    return build_synthetic_city()


@pytest.fixture(scope="module")
def m(city):
    """The geometric frames in the metric CRS."""
    return {
        name: frame.to_crs(METRIC_CRS)
        for name, frame in city.frames().items()
        if isinstance(frame, gpd.GeoDataFrame)
    }


@pytest.fixture(scope="module")
def ages(city):
    return REFERENCE_YEAR - city.residents["birth_year"].to_numpy()


def _public_roads(m):
    return m["roads"][m["roads"]["compound_code"].isna()]


# --- structure -------------------------------------------------------------------------
def test_every_frame_has_exactly_the_documented_columns_in_wgs84(city):
    frames = city.frames()
    assert set(frames) == set(COLUMNS)
    for name, frame in frames.items():
        assert list(frame.columns) == COLUMNS[name], name
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.crs.to_epsg() == 4326, name
            assert frame.geometry.notna().all() and frame.is_valid.all(), name
    assert "合成数据" in city.label and "synthetic" in city.label
    lon, lat = city.anchor
    assert 116.2 < lon < 116.5 and 39.9 < lat < 40.1
    assert city.districts.geometry.iloc[0].contains(gpd.points_from_xy([lon], [lat])[0])


def test_counts(city):
    n = city.counts()
    assert n["districts"] == 1 and n["streets"] == 1
    assert n["communities"] >= 4
    assert 30 <= n["grids"] <= 60
    assert n["buildings"] >= 1000
    assert n["households"] >= 20_000
    assert n["residents"] == city.households["size"].sum()
    assert 60 <= n["facilities"] <= 120
    assert 150 <= n["key_sites"] <= 250
    assert 80 <= n["hazards"] <= 150
    assert 1_000 <= n["patrol_tracks"] <= 3_000
    assert sum(len(t) for t in city.patrol_tracks["times"]) < 500_000


def test_codes_follow_the_15_digit_scheme(city):
    assert city.districts["code"].tolist() == [DISTRICT_CODE]
    assert city.streets["code"].tolist() == [STREET_CODE]
    assert city.streets["district_code"].tolist() == [DISTRICT_CODE]
    comm = city.communities
    assert comm["code"].str.fullmatch(STREET_CODE + r"\d{3}").all()
    assert (comm["street_code"] == STREET_CODE).all()
    grids = city.grids
    assert grids["code"].is_unique
    assert grids["code"].str.fullmatch(r"\d{15}").all()
    assert (grids["code"].str[:12] == grids["community_code"]).all()
    assert set(grids["community_code"]) == set(comm["code"])
    assert (grids["kind"] == "community").all()
    for code in (
        city.buildings["code"],
        city.households["code"],
        city.compounds["code"],
        city.gates["code"],
        city.roads["code"],
        city.facilities["code"],
        city.key_sites["code"],
        city.hazards["code"],
        city.patrol_tracks["code"],
    ):
        assert code.is_unique


def test_grid_sequence_runs_west_to_east_then_north_to_south(city, m):
    for code, grids in m["grids"].groupby("community_code"):
        seq = grids["code"].str[12:].astype(int).to_numpy()
        xy = shapely.get_coordinates(grids.geometry.centroid)
        assert sorted(seq) == list(range(1, len(grids) + 1)), code
        assert seq[reading_order(xy[:, 0], xy[:, 1])].tolist() == sorted(seq), code


def test_grid_leaders_and_targets(city):
    g = city.grids
    assert g["leader"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert g["leader_phone"].str.fullmatch(r"1[358]\d{9}").all()
    assert g["target_households"].between(300, 500).all()


# --- geometry -----------------------------------------------------------------------------
def test_grids_tile_each_community_and_communities_tile_the_street(m):
    for code, comm in zip(m["communities"]["code"], m["communities"].geometry, strict=True):
        grids = m["grids"][m["grids"]["community_code"] == code].geometry.to_numpy()
        union = shapely.union_all(grids)
        assert abs(union.area - comm.area) < 0.1, code
        assert abs(shapely.area(grids).sum() - comm.area) < 0.1, code  # no overlaps
        assert comm.symmetric_difference(union).area < 0.1, code  # same place
    a, b = shapely.STRtree(m["grids"].geometry.to_numpy()).query(
        m["grids"].geometry.to_numpy(), predicate="intersects"
    )
    g = m["grids"].geometry.to_numpy()
    overlap = shapely.area(shapely.intersection(g[a[a < b]], g[b[a < b]]))
    assert overlap.max() < 0.01
    street = m["streets"].geometry.iloc[0]
    assert abs(shapely.area(m["communities"].geometry.to_numpy()).sum() - street.area) < 0.1
    assert street.symmetric_difference(m["districts"].geometry.iloc[0]).area < 0.1


def test_grid_and_community_edges_follow_road_centre_lines(m):
    roads = _public_roads(m).geometry.to_numpy()
    tree = shapely.STRtree(roads)
    for frame in ("grids", "communities"):
        edges = shapely.segmentize(shapely.boundary(m[frame].geometry.to_numpy()), 5.0)
        pts = shapely.points(shapely.get_coordinates(edges))
        dist = tree.query_nearest(pts, return_distance=True)[1]
        assert dist.max() < 1.0, frame


def test_buildings_lie_in_their_grid_and_compound_without_overlaps(city, m):
    b, grids = m["buildings"], m["grids"].set_index("code")
    inside = shapely.contains(grids.geometry.loc[b["grid_code"]].to_numpy(), b.geometry.to_numpy())
    assert inside.all()
    in_comp = b["compound_code"].notna()
    assert in_comp.mean() > 0.8
    comps = m["compounds"].set_index("code").geometry
    assert shapely.contains(
        comps.loc[b.loc[in_comp, "compound_code"]].to_numpy(), b.geometry[in_comp].to_numpy()
    ).all()
    a, c = shapely.STRtree(b.geometry.to_numpy()).query(
        b.geometry.to_numpy(), predicate="intersects"
    )
    assert (a == c).all(), "buildings overlap"
    area = b.area
    assert area.between(40, 3_000).all()
    assert set(b["use"]) <= vocab.BUILDING_USE_CODES
    assert (city.buildings["use"] == "residential").mean() > 0.6
    assert set(comps.index) == set(b.loc[in_comp, "compound_code"])  # no empty compound
    assert b["address"].str.startswith("示例街道").all()
    assert b.loc[in_comp, "address"].str.contains(r"号院\d+号楼$").all()


def test_every_building_with_homes_is_residential_and_every_home_has_a_building(city):
    hh, b = city.households, city.buildings.set_index("code")
    assert hh["building_code"].isin(b.index).all()
    uses = b.loc[hh["building_code"], "use"]
    assert set(uses) <= {"residential", "mixed"}
    homes = set(hh["building_code"])
    assert all(c in homes for c in b.index[b["use"].isin(["residential", "mixed"])])
    # mixed buildings keep their ground floor for shops
    assert (hh.loc[uses.to_numpy() == "mixed", "floor"] >= 2).all()
    assert hh["unit"].str.fullmatch(r"\d单元").all()
    assert (hh["room"] == hh["floor"].map("{:02d}".format) + hh["room"].str[2:]).all()
    floors = b.loc[hh["building_code"], "floors"].to_numpy()
    assert (hh["floor"].to_numpy() <= floors).all()


def test_gates_are_vertices_of_compound_walls(city, m):
    walls = city.compounds.set_index("code").geometry
    for code, gate in zip(city.gates["compound_code"], city.gates.geometry, strict=True):
        ring = shapely.get_coordinates(shapely.boundary(walls.loc[code]))
        assert (ring == np.array(gate.coords[0])).all(axis=1).any()
    mw = m["compounds"].set_index("code").geometry
    d = shapely.distance(
        shapely.boundary(mw.loc[m["gates"]["compound_code"]].to_numpy()),
        m["gates"].geometry.to_numpy(),
    )
    assert d.max() < 1e-3
    per = city.gates.groupby("compound_code").size()
    assert per.between(1, 3).all() and len(per) == len(city.compounds)
    assert set(city.gates["kind"]) == {"pedestrian", "vehicle", "both"}
    assert city.gates["name"].str.fullmatch("[东南西北]门").all()


def test_internal_paths_meet_the_wall_only_at_gates(m):
    roads = m["roads"]
    walls = m["compounds"].set_index("code").geometry
    gates = m["gates"]
    internal = roads[roads["compound_code"].notna()]
    assert set(internal["highway"]) <= {"footway", "service"}
    assert shapely.covered_by(
        internal.geometry.to_numpy(),
        shapely.buffer(walls.loc[internal["compound_code"]].to_numpy(), 1e-3),
    ).all()
    touching = 0
    for code, path in zip(internal["compound_code"], internal.geometry, strict=True):
        hit = path.intersection(walls.loc[code].boundary.buffer(1e-3))
        if hit.is_empty:
            continue
        touching += 1
        mine = gates[gates["compound_code"] == code].geometry
        assert min(mine.distance(shapely.Point(path.coords[-1]))) < 1e-3
        assert hit.length < 0.01  # only the end point touches
    assert touching >= len(gates)
    # public streets never enter a compound
    public = _public_roads(m).geometry.to_numpy()
    inner = shapely.buffer(walls.to_numpy(), -0.5)
    a, _ = shapely.STRtree(inner).query(public, predicate="intersects")
    assert len(a) == 0


def test_roads_form_one_connected_walking_network(city):
    roads = city.roads
    walk = roads[roads["foot"] != "no"]
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(walk.geometry.values, 0)),
            shapely.get_coordinates(shapely.get_point(walk.geometry.values, -1)),
        ]
    )
    _, node = np.unique(ends, axis=0, return_inverse=True)
    node = node.ravel()
    n = len(walk)
    graph = coo_matrix((np.ones(n), (node[:n], node[n:])), shape=(node.max() + 1,) * 2)
    n_comp, _ = connected_components(graph, directed=False)
    assert n_comp == 1
    assert {"primary", "secondary", "tertiary", "residential", "footway", "service"} <= set(
        roads["highway"]
    )
    arterial_names = set(roads.loc[roads["highway"].isin(["primary", "secondary"]), "name"])
    assert {"学院路", "成府路"} <= arterial_names
    assert (roads["access"] == "private").any()
    # every gate is the end of a public connector and of an internal path
    gate_xy = {tuple(g.coords[0]) for g in city.gates.geometry}
    public = walk["compound_code"].isna().to_numpy()
    assert gate_xy <= {tuple(c) for c in ends[np.r_[public, public]]}
    assert gate_xy <= {tuple(c) for c in ends[np.r_[~public, ~public]]}


# --- people ---------------------------------------------------------------------------------
def _check_char(first17: str) -> str:
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_id_numbers_are_valid_and_match_birth_year_and_sex(city):
    r = city.residents
    ids = r["id_number"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert all(_check_char(i[:17]) == i[17] for i in ids)
    assert (ids.str[6:10].astype(int) == r["birth_year"]).all()
    born = pd.to_datetime(ids.str[6:14], format="%Y%m%d")  # raises on impossible dates
    assert (born.dt.year == r["birth_year"]).all()
    male = ids.str[16].astype(int) % 2 == 1
    assert (male == (r["sex"] == "M")).all()
    migrant = r["tags"].map(lambda t: "migrant" in t)
    assert (ids[~migrant].str[:6] == DISTRICT_CODE).all()
    assert (ids[migrant].str[:6] != DISTRICT_CODE).all()
    # a wrong check character is detected by the same rule
    bad = ids.iloc[0][:17] + ("0" if ids.iloc[0][17] != "0" else "1")
    assert _check_char(bad[:17]) != bad[17]


def test_names_phones_and_sexes(city, ages):
    r = city.residents
    assert r["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert r["name"].nunique() > 10_000
    has_phone = r["phone"].notna()
    assert r.loc[has_phone, "phone"].str.fullmatch(r"1[358]\d{9}").all()
    assert has_phone[ages >= 14].all() and not has_phone[ages < 14].any()
    assert set(r["sex"]) == {"M", "F"}
    assert 0.45 < (r["sex"] == "M").mean() < 0.55


def test_age_structure_and_household_sizes(city, ages):
    assert 0.17 < (ages >= 60).mean() < 0.23
    assert 0.13 < (ages < 18).mean() < 0.19
    assert ages.min() >= 0 and ages.max() <= 100
    size = city.households["size"]
    assert size.between(0, 5).all()
    assert 2.3 < size[size > 0].mean() < 2.7
    counted = city.residents.groupby("household_code").size()
    assert (counted.reindex(city.households["code"], fill_value=0).to_numpy() == size).all()


def test_resident_tags_have_realistic_rates(city, ages):
    r = city.residents
    tags = r["tags"]
    assert set().union(*tags) <= vocab.RESIDENT_TAG_CODES

    def rate(tag, mask=None):
        has = tags.map(lambda t: tag in t).to_numpy()
        return has[mask].mean() if mask is not None else has.mean()

    old, adult, minor = ages >= 60, ages >= 18, ages < 18
    women = (r["sex"] == "F").to_numpy() & (ages >= 20) & (ages <= 40)
    assert 0.2 < rate("hypertension", old) < 0.3
    assert 0.07 < rate("diabetes", old) < 0.13
    assert 0.035 < rate("disabled") < 0.07
    assert 0.002 < rate("severe_mental_illness", adult) < 0.009
    assert 0.01 < rate("low_income") < 0.03
    assert 0 < rate("left_behind_child", minor) < 0.05
    assert rate("left_behind_child", ~minor) == 0
    assert 0.001 < rate("key_person", adult) < 0.006
    assert 0 < rate("community_correction", adult) < 0.003
    assert 0.1 < rate("migrant") < 0.2
    assert 0.04 < rate("registered_elsewhere") < 0.12
    assert 0.004 < rate("pregnant", women) < 0.025
    assert rate("pregnant", (r["sex"] == "M").to_numpy()) == 0
    assert rate("living_alone", ~old) == 0 and rate("living_alone", old) > 0.05
    assert all(t in set().union(*tags) for t in vocab.RESIDENT_TAG_CODES)


def test_household_tags_agree_with_their_residents(city, ages):
    hh = city.households.set_index("code")
    r = city.residents.assign(age=ages)
    by = r.groupby("household_code")
    all_old = by["age"].min() >= 60
    n = by.size()
    disabled = by["tags"].agg(lambda s: any("disabled" in t for t in s))
    low = by["tags"].agg(lambda s: any("low_income" in t for t in s))
    tags = hh["tags"]
    assert set().union(*tags) <= vocab.HOUSEHOLD_TAG_CODES

    def has(tag):
        return tags.map(lambda t: tag in t)

    occupied = hh.index[hh["size"] > 0]
    assert (has("vacant") == (hh["size"] == 0)).all()
    assert (has("elderly_alone")[occupied] == (all_old & (n == 1))[occupied]).all()
    assert (has("empty_nest")[occupied] == (all_old & (n >= 2))[occupied]).all()
    assert (has("disabled")[occupied] == disabled[occupied]).all()
    assert (has("low_income")[occupied] == low[occupied]).all()
    assert 0.03 < has("vacant").mean() < 0.08
    assert 0.1 < has("rental").mean() < 0.25
    assert not (has("rental") & has("vacant")).any()


# --- facilities, key sites, inspections ---------------------------------------------------
def test_facilities_cover_categories_with_deliberate_gaps(city, m):
    f = m["facilities"]
    cats = Counter(f["category"])
    assert set(cats) <= vocab.FACILITY_CODES
    assert len(cats) >= 25
    assert cats["health_station"] <= 1 and cats["metro_station"] <= 1
    assert cats["elderly_daycare"] <= 2
    assert cats["bus_stop"] >= 6
    assert (f["capacity"] > 0).all()
    # a health station is beyond 300 m (straight line) of most homes
    homes = m["buildings"][city.buildings["use"].isin(["residential", "mixed"])]
    station = f.geometry[f["category"] == "health_station"]
    beyond = homes.distance(station.iloc[0]) > 300 if len(station) else pd.Series([True])
    assert beyond.mean() > 0.5
    # at least one community has no wet market of its own
    comm = m["communities"]
    markets = f[f["category"] == "wet_market"]
    with_market = {
        c for c, g in zip(comm["code"], comm.geometry, strict=True) if markets.within(g).any()
    }
    assert len(with_market) < len(comm)
    # the metro station, if any, sits at the street's edge (not inside)
    street = m["streets"].geometry.iloc[0]
    for pt in f.geometry[f["category"] == "metro_station"]:
        assert street.boundary.distance(pt) < 100
    assert not f["name"].str.contains("None").any()


def test_key_sites_every_category_in_their_grid(city, m):
    ks = m["key_sites"]
    cats = Counter(ks["category"])
    assert set(cats) == vocab.KEY_SITE_CODES
    assert min(cats.values()) >= 2
    assert (
        ks["inspection_interval_days"] == ks["category"].map(vocab.INSPECTION_INTERVAL_DAYS)
    ).all()
    grids = m["grids"].set_index("code").geometry
    assert shapely.contains(grids.loc[ks["grid_code"]].to_numpy(), ks.geometry.to_numpy()).all()
    assert ks["address"].str.startswith("示例街道").all()


def test_inspections_leave_about_15_percent_of_sites_overdue(city):
    ins, ks = city.inspections, city.key_sites.set_index("code")
    assert ins["site_code"].isin(ks.index).all()
    assert set(ins["result"]) <= vocab.INSPECTION_RESULT_CODES
    assert (ins["inspected_at"] < MIDNIGHT).all()
    assert (ins["inspected_at"] > MIDNIGHT - timedelta(days=120)).all()
    last = ins.groupby("site_code")["inspected_at"].max()
    assert set(last.index) == set(ks.index)
    age_days = (MIDNIGHT - last).dt.days
    overdue = age_days > ks.loc[last.index, "inspection_interval_days"]
    assert 0.08 < overdue.mean() < 0.25
    assert ins["inspector"].isin(set(city.grids["leader"])).all()


# --- hazards --------------------------------------------------------------------------------
def test_hazards_follow_the_workflow(city, m):
    hz = city.hazards
    order = [t.code for t in vocab.HAZARD_STATUSES]
    assert set(hz["status"]) == set(order)
    assert 0.35 < (hz["status"] == "closed").mean() < 0.65
    assert set(hz["category"]) <= vocab.HAZARD_CATEGORY_CODES
    assert set(hz["severity"]) == vocab.HAZARD_SEVERITY_CODES
    assert (hz["found_at"] >= MIDNIGHT - timedelta(days=60)).all()
    assert (hz["found_at"] < MIDNIGHT).all()
    lead = (hz["deadline"] - hz["found_at"]).dt.days
    assert lead.between(3, 30).all()
    open_ = hz["status"] != "closed"
    assert ((hz["deadline"] < MIDNIGHT) & open_).sum() >= 3  # overdue cases exist
    assert hz.loc[open_, "closed_at"].isna().all()
    assert hz.loc[~open_, "closed_at"].notna().all()
    for row in hz.itertuples():
        steps = row.history
        k = order.index(row.status)
        assert [s["to_status"] for s in steps] == order[: k + 1]
        assert [s["from_status"] for s in steps] == [None, *order[:k]]
        at = [s["at"] for s in steps]
        assert at == sorted(at) and at[0] == row.found_at and at[-1] < MIDNIGHT
        assert all(s["actor"] and s["action"] for s in steps)
        if row.status == "closed":
            assert row.closed_at == at[-1]
        assert pd.notna(row.responsible) == (k >= 2)
    grids = m["grids"].set_index("code").geometry
    assert shapely.contains(
        grids.loc[hz["grid_code"]].to_numpy(), m["hazards"].geometry.to_numpy()
    ).all()
    assert hz["description"].str.contains("：").all()


# --- patrol tracks --------------------------------------------------------------------------
def test_patrol_tracks_are_timed_gps_walks_along_the_streets(city, m):
    t = city.patrol_tracks
    n_vertex = shapely.get_num_coordinates(t.geometry.to_numpy())
    assert (n_vertex == t["times"].map(len)).all()
    assert all(np.all(np.diff(x) > 0) and x[0] == 0 for x in t["times"])
    ended = t["started_at"] + pd.to_timedelta(t["times"].map(lambda x: x[-1]), unit="s")
    assert (abs(ended - t["ended_at"]) < pd.Timedelta(seconds=1)).all()
    assert (t["started_at"] >= MIDNIGHT - timedelta(days=28)).all()
    assert (t["ended_at"] < MIDNIGHT).all()
    assert t["grid_code"].isin(set(city.grids["code"])).all()
    night = t["started_at"].dt.hour >= 19
    assert 0.05 < night.mean() < 0.3
    per_grid_day = t.groupby([t["grid_code"], t["started_at"].dt.date]).size()
    assert 1.0 < per_grid_day.mean() < 2.5
    step_s = np.concatenate([np.diff(x) for x in t["times"]])
    assert 8 < np.median(step_s) < 32

    tm = m["patrol_tracks"]
    roads = shapely.STRtree(m["roads"].geometry.to_numpy())
    sample = tm.geometry.iloc[::10]
    pts = shapely.points(shapely.get_coordinates(sample.to_numpy()))
    dist = roads.query_nearest(pts, return_distance=True)[1]
    assert np.median(dist) < 8.0 and np.percentile(dist, 90) < 20.0
    # a few tracks contain a jump of a few hundred metres
    steps = [np.hypot(*np.diff(shapely.get_coordinates(g), axis=0).T).max() for g in tm.geometry]
    assert 0 < np.mean(np.array(steps) > 150) < 0.1
    # speed (route length / duration) is a walking pace: compare a smoothed length
    dur_h = (t["ended_at"] - t["started_at"]).dt.total_seconds() / 3600
    smooth = shapely.length(shapely.simplify(tm.geometry.to_numpy(), 15.0)) / 1000
    speed = smooth / dur_h.to_numpy()
    assert 2.5 < np.median(speed) < 5.5


def test_patrol_coverage_differs_between_grids(m):
    """Share of each grid's street length (sampled every 10 m) with a GPS fix within 20 m
    over the four weeks."""
    roads = _public_roads(m)
    tracks = m["patrol_tracks"]
    coverage = []
    for code, grid in zip(m["grids"]["code"], m["grids"].geometry, strict=True):
        streets = roads[roads.within(grid.buffer(1.0))].geometry.to_numpy()
        probes = shapely.points(shapely.get_coordinates(shapely.segmentize(streets, 10.0)))
        fixes = shapely.points(
            shapely.get_coordinates(tracks.geometry[tracks["grid_code"] == code].to_numpy())
        )
        dist = shapely.STRtree(fixes).query_nearest(probes, return_distance=True)[1]
        coverage.append(np.mean(dist < 20.0))
    coverage = np.array(coverage)
    assert coverage.max() - coverage.min() > 0.2
    assert np.median(coverage) > 0.4


# --- determinism and purity -----------------------------------------------------------------
def test_same_seed_same_city_other_seed_other_people(city):
    again = build_synthetic_city(7)
    for name, frame in city.frames().items():
        other = again.frames()[name]
        if isinstance(frame, gpd.GeoDataFrame):
            assert_geodataframe_equal(frame, other, check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(frame, other)
    assert again.label == city.label and again.anchor == city.anchor
    different = build_synthetic_city(8)
    assert len(different.grids) >= 30 and len(different.households) >= 20_000
    assert not different.residents["name"].head(200).equals(city.residents["name"].head(200))
    assert not different.residents["id_number"].isin(city.residents["id_number"]).all()
    assert len(different.patrol_tracks) != len(city.patrol_tracks) or not (
        different.patrol_tracks.geometry.iloc[0].equals(city.patrol_tracks.geometry.iloc[0])
    )


def test_module_imports_no_web_sql_or_file_format_library():
    code = (
        "import sys, gridmap.demo.synth; "
        "bad = {'flask', 'sqlalchemy', 'pyogrio', 'geoalchemy2', 'fiona', 'osmium'} "
        "& set(sys.modules); print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
