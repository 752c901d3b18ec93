"""Reading real OSM files (geodata.osm) and building a demo City from them (gridmap.demo.osm_city).

Uses the Beijing Haidian extract in ../shared/data/osm (see its README): 302 highway ways,
about 255 buildings, 2 hospitals, 3 schools, 2 kindergartens, and one admin_level=10
community relation clipped by the export.
"""

from __future__ import annotations

import bz2
import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely

from geodata.osm import OsmExtract, read_osm
from gridmap import vocab
from gridmap.demo import people
from gridmap.demo.city import City
from gridmap.demo.osm_city import (
    FACILITY_RULES,
    GATE_SNAP_M,
    city_from_osm,
    is_walkable,
    match_rules,
    reading_order,
)
from gridmap.errors import InvalidInput

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "osm"
BEIJING = DATA / "beijing_haidian_cau_map.osm"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def extract() -> OsmExtract:
    return read_osm(BEIJING)


@pytest.fixture(scope="module")
def city_and_notes(extract) -> tuple[City, list[str]]:
    notes: list[str] = []
    city = city_from_osm(
        extract.ways,
        extract.entrances,
        extract.buildings,
        extract.pois,
        extract.areas,
        seed=7,
        place_name="北京海淀学院路",
        warnings_out=notes,
    )
    return city, notes


@pytest.fixture(scope="module")
def city(city_and_notes) -> City:
    return city_and_notes[0]


@pytest.fixture(scope="module")
def metric(city):
    return city.grids.estimate_utm_crs()


def _amenity(extract: OsmExtract) -> np.ndarray:
    return extract.pois["tags"].map(lambda t: t.get("amenity")).to_numpy()


# --- the reader ------------------------------------------------------------------------


def test_counts_match_the_file(extract):
    assert len(extract.ways) == 302
    assert 250 <= len(extract.buildings) <= 260  # 255 ways + 2 multipolygon relations
    amenity = _amenity(extract)
    assert (amenity == "hospital").sum() == 2
    assert (amenity == "school").sum() == 3
    assert (amenity == "kindergarten").sum() == 2
    assert len(extract.entrances) >= 15
    assert {"gate", "lift_gate", "entrance"} <= set(extract.entrances["kind"])
    assert "relation" in set(extract.buildings["osm_type"])
    for frame in (extract.ways, extract.entrances, extract.buildings, extract.pois, extract.areas):
        assert frame.crs.to_epsg() == 4326


def test_ways_keep_node_topology_beyond_the_bounds(extract):
    ways = extract.ways
    for nodes, geom in zip(ways["nodes"], ways.geometry, strict=True):
        assert len(nodes) == len(geom.coords)  # one node id per vertex
    shared = ways["nodes"].explode().value_counts()
    assert (shared > 1).sum() > 100  # junctions for a routing graph
    west, south, east, north = extract.bounds
    xmin, ymin, xmax, ymax = ways.total_bounds
    assert xmin < west and ymax > north  # complete ways reach past the bounds
    assert {"service", "footway", "primary", "living_street", "path"} <= set(ways["highway"])
    assert ways["foot"].eq("designated").any()  # walk-relevant tags kept


def test_buildings_are_valid_polygons_with_chinese_data(extract):
    b = extract.buildings
    assert b.geometry.is_valid.all()
    assert set(b.geom_type) <= {"Polygon", "MultiPolygon"}
    assert b["levels"].dropna().gt(0).all()
    assert b["address"].dropna().map(lambda a: bool(CJK.search(a))).any()


def test_real_chinese_names(extract):
    names = set(extract.pois["name"].dropna())
    assert "中国农业大学东区社区卫生服务中心" in names
    assert "北京石油学院附属中学" in names
    assert extract.pois["name_en"].notna().any()
    area_names = set(extract.areas["name"].dropna())
    assert {"富润家园", "静淑苑"} <= area_names


def test_clipped_admin_relation_is_reported_not_fatal(extract):
    text = "\n".join(extract.warnings)
    assert "relation 15972224" in text and "矿业大学社区居委会" in text
    assert "w888309029" in text  # the member way the export cut off
    assert not (
        (extract.areas["osm_type"] == "relation") & (extract.areas["osm_id"] == 15972224)
    ).any()


def test_bz2_and_pbf_give_the_same_result(extract, tmp_path):
    packed = tmp_path / "beijing.osm.bz2"
    with BEIJING.open("rb") as src, bz2.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    pbf = tmp_path / "beijing.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(BEIJING)):
            writer.add(obj)
    for path in (packed, pbf):
        other = read_osm(path)
        assert other.counts() == extract.counts(), path.name
        assert len(other.warnings) == len(extract.warnings)
        assert set(other.buildings["osm_id"]) == set(extract.buildings["osm_id"])


TINY = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" version="1" lat="40.0" lon="116.0"/>
 <node id="2" version="1" lat="40.0" lon="116.001"/>
 <node id="3" version="1" lat="40.001" lon="116.001"><tag k="barrier" v="gate"/></node>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="99"/>
  <tag k="highway" v="service"/><tag k="access" v="private"/><tag k="name:zh" v="内部路"/></way>
 <way id="11" version="1"><nd ref="1"/><nd ref="99"/><tag k="highway" v="footway"/></way>
 <way id="12" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/></way>
 <relation id="20" version="1"><member type="way" ref="12" role="outer"/>
  <member type="way" ref="13" role="outer"/>
  <tag k="type" v="multipolygon"/><tag k="landuse" v="residential"/><tag k="name" v="某小区"/>
 </relation>
</osm>
"""


def test_clipped_ways_and_relations_in_a_tiny_file(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(TINY, encoding="utf-8")
    extract = read_osm(path)
    ways = extract.ways.set_index("osm_id")
    assert list(ways.index) == [10]  # way 11 has one located node only
    assert ways.loc[10, "nodes"] == [1, 2, 3] and len(ways.loc[10, "geometry"].coords) == 3
    assert ways.loc[10, "access"] == "private" and ways.loc[10, "name"] == "内部路"
    assert len(extract.entrances) == 1 and extract.buildings.empty and extract.areas.empty
    text = "\n".join(extract.warnings)
    assert "relation 20 (某小区" in text and "w13" in text
    assert "2 highway ways reference nodes that are not in the file" in text
    assert extract.bounds is None


def test_missing_file_names_it(tmp_path):
    with pytest.raises(InvalidInput, match="nowhere.osm"):
        read_osm(tmp_path / "nowhere.osm")


def test_unknown_extension(tmp_path):
    path = tmp_path / "roads.geojson"
    path.write_text("{}")
    with pytest.raises(InvalidInput, match="roads.geojson.*unknown"):
        read_osm(path)


def test_corrupt_files_raise_invalid_input(tmp_path):
    truncated = tmp_path / "truncated.osm"
    truncated.write_bytes(BEIJING.read_bytes()[:100_000])
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(bytes(range(256)) * 20)
    empty = tmp_path / "empty.osm.bz2"
    empty.write_bytes(b"")
    for path in (truncated, garbage, empty):
        with pytest.raises(InvalidInput, match=re.escape(path.name)):
            read_osm(path)


# --- the City --------------------------------------------------------------------------


def test_city_hierarchy_and_codes(city):
    assert len(city.buildings) >= 200
    assert len(city.communities) >= 2
    assert city.districts["code"].tolist() == ["110108"]
    street = city.streets["code"].iloc[0]
    assert len(street) == 9 and street.startswith("110108")
    assert city.communities["code"].str.fullmatch(r"\d{12}").all()
    assert city.communities["code"].str.startswith(street).all()
    assert city.grids["code"].str.fullmatch(r"\d{15}").all()
    assert (city.grids["code"].str[:12] == city.grids["community_code"]).all()
    for _, grids in city.grids.groupby("community_code"):
        assert sorted(int(c[-3:]) for c in grids["code"]) == list(range(1, len(grids) + 1))
    assert city.label.startswith("OSM 实景示例（北京海淀学院路，住户为合成数据）")
    for name, frame in city.frames().items():
        if hasattr(frame, "crs") and frame.crs is not None:
            assert frame.crs.to_epsg() == 4326, name


def test_grids_tile_their_community(city, metric):
    grids = city.grids.to_crs(metric)
    communities = city.communities.to_crs(metric).set_index("code")
    for code, members in grids.groupby("community_code"):
        geoms = members.geometry.to_numpy()
        overlap = sum(
            shapely.intersection(geoms[i], geoms[j]).area
            for i in range(len(geoms))
            for j in range(i + 1, len(geoms))
        )
        assert overlap < 1.0, code
        community = communities.geometry[code]
        assert shapely.union_all(geoms).symmetric_difference(community).area < 1.0, code
    households = city.households.merge(
        city.buildings[["code", "grid_code"]], left_on="building_code", right_on="code"
    )
    per_grid = households.groupby("grid_code").size()
    assert per_grid.median() == pytest.approx(400, abs=150)


def test_every_building_lies_in_its_grid(city, metric):
    buildings = city.buildings.to_crs(metric)
    grids = city.grids.to_crs(metric).set_index("code")
    centroids = buildings.geometry.centroid
    holder = grids.geometry.reindex(buildings["grid_code"]).to_numpy()
    assert buildings["grid_code"].notna().all()
    assert shapely.covers(holder, centroids.to_numpy()).all()
    assert set(buildings["use"]) <= vocab.BUILDING_USE_CODES
    assert buildings["floors"].ge(1).all()
    named = buildings["name"].dropna()
    assert named.map(lambda n: bool(CJK.search(n))).any()


def test_synthetic_households_and_residents(city):
    households, residents = city.households, city.residents
    assert len(households) > 0 and len(residents) > 0
    assert set(households["building_code"]) <= set(city.buildings["code"])
    assert households["code"].is_unique
    counts = residents.groupby("household_code").size()
    sizes = households.set_index("code")["size"]
    assert (counts == sizes[counts.index]).all()
    assert (sizes[sizes > 0].index.isin(counts.index)).all()
    assert residents["id_number"].str.startswith("110108").all()
    assert residents["id_number"].map(people.is_valid_id_number).all()
    assert residents["phone"].dropna().str.fullmatch(r"1[3-9]\d{9}").all()
    old = (2025 - residents["birth_year"]) >= 60
    assert 0.12 <= old.mean() <= 0.30
    assert set(residents["tags"].explode().dropna()) <= vocab.RESIDENT_TAG_CODES
    assert set(households["tags"].explode().dropna()) <= vocab.HOUSEHOLD_TAG_CODES
    assert residents["name"].map(lambda n: bool(CJK.fullmatch(n[0]))).all()


def test_facilities_keep_real_chinese_names(city):
    f = city.facilities
    assert set(f["category"]) <= vocab.FACILITY_CODES
    assert f["name"].map(lambda n: bool(CJK.search(n))).all()
    assert f["code"].is_unique
    health = f[f["name"].str.contains("社区卫生服务")]
    assert len(health) >= 1
    assert set(health["category"]) <= {"health_center", "health_station"}
    assert "health_center" in set(health["category"])
    by_name = f.set_index("name")["category"]
    assert by_name["中国农业大学附属实验小学"] == "primary_school"
    assert by_name["北京石油学院附属中学"] == "junior_middle_school"
    assert by_name["未来之星实验幼儿园"] == "kindergarten"
    assert "metro_station" in set(f.loc[f["name"] == "六道口", "category"])  # subway station
    assert {"bus_stop", "police_station", "bank", "wet_market"} <= set(f["category"])


def test_key_sites_inspections_hazards_tracks(city):
    sites = city.key_sites
    assert set(sites["category"]) <= vocab.KEY_SITE_CODES
    assert {"restaurant", "school", "kindergarten", "farmers_market"} <= set(sites["category"])
    assert sites["grid_code"].isin(city.grids["code"]).all()
    assert city.inspections["site_code"].isin(sites["code"]).all()
    assert set(city.inspections["result"]) <= vocab.INSPECTION_RESULT_CODES
    hazards = city.hazards
    assert len(hazards) >= 3
    assert set(hazards["status"]) <= vocab.HAZARD_STATUS_CODES
    for status, history in zip(hazards["status"], hazards["history"], strict=True):
        assert history[0]["to_status"] == "reported" and history[-1]["to_status"] == status
    tracks = city.patrol_tracks
    assert len(tracks) == len(city.grids)
    for times, geom in zip(tracks["times"], tracks.geometry, strict=True):
        assert len(times) == len(geom.coords) and times == sorted(times)


def test_compounds_have_gates_on_their_outline(city_and_notes, metric):
    city, notes = city_and_notes
    compounds = city.compounds.to_crs(metric).set_index("code")
    gates = city.gates.to_crs(metric)
    assert len(compounds) >= 5
    assert set(compounds.index) <= set(gates["compound_code"])
    assert compounds["community_code"].isin(city.communities["code"]).all()
    outline = compounds.geometry.boundary.reindex(gates["compound_code"]).to_numpy()
    assert (shapely.distance(gates.geometry.to_numpy(), outline) <= GATE_SNAP_M + 0.01).all()
    assert set(gates["kind"]) <= {"pedestrian", "vehicle", "both"}
    inferred = gates["name"].str.contains("推定")
    assert inferred.any() and (~inferred).any()  # OSM gates used, the rest inferred
    assert any("inferred gate" in n for n in notes)
    ids = city.compounds.to_crs(metric).geometry.to_numpy()
    overlap = sum(
        shapely.intersection(ids[i], ids[j]).area
        for i in range(len(ids))
        for j in range(i + 1, len(ids))
    )
    assert overlap < 1.0


def test_roads_are_walkable_and_noded(city, extract):
    roads = city.roads
    assert roads["code"].is_unique and roads["code"].str.startswith("osm-w").all()
    assert not roads["highway"].isin(["motorway", "motorway_link", "construction"]).any()
    assert set(roads["access"].dropna()) <= {"private"}
    assert len(roads) > len(extract.ways) // 2
    assert roads["compound_code"].dropna().isin(city.compounds["code"]).all()
    ends = shapely.get_coordinates(shapely.boundary(roads.geometry.to_numpy()))
    # split at junctions: many piece ends are shared with another piece
    _, count = np.unique(np.round(ends, 7), axis=0, return_counts=True)
    assert (count > 1).sum() > 100


def test_same_seed_same_people(extract, city):
    again = city_from_osm(
        extract.ways,
        extract.entrances,
        extract.buildings,
        extract.pois,
        extract.areas,
        seed=7,
        place_name="北京海淀学院路",
    )
    assert again.residents["id_number"].tolist() == city.residents["id_number"].tolist()
    assert again.grids["code"].tolist() == city.grids["code"].tolist()


# --- small pure pieces -------------------------------------------------------------------


def test_id_number_check_digit():
    assert people.id_number_check_digit("11010519491231002") == "X"  # GB 11643 example
    assert people.is_valid_id_number("11010519491231002X")
    assert not people.is_valid_id_number("110105194912310021")
    rng = np.random.default_rng(1)
    number = people.make_id_number("110108", date(1990, 5, 17), int(rng.integers(1000)), "F")
    assert people.is_valid_id_number(number) and int(number[16]) % 2 == 0


def test_walkability_and_rule_tables():
    assert is_walkable("footway", None, None)
    assert is_walkable("service", None, "private")
    assert not is_walkable("primary", "no", None)
    assert not is_walkable("cycleway", None, None)
    assert is_walkable("cycleway", "yes", None)
    assert not is_walkable("motorway", None, None)
    hospital = {"amenity": "hospital"}
    assert match_rules(hospital, "某某社区卫生服务中心", FACILITY_RULES) == "health_center"
    assert match_rules(hospital, "某某社区卫生服务站", FACILITY_RULES) == "health_station"
    assert match_rules(hospital, "某某医院", FACILITY_RULES) == "clinic"
    assert match_rules({"amenity": "school"}, "某某大学", FACILITY_RULES) is None
    assert (
        match_rules({"shop": "convenience;hairdresser"}, None, FACILITY_RULES)
        == "convenience_store"
    )
    assert match_rules({"highway": "bus_stop"}, "社区卫生服务中心", FACILITY_RULES) == "bus_stop"


def test_reading_order_runs_west_east_then_north_south():
    x = [0, 100, 0, 100]
    y = [0, 0, 100, 100]
    assert reading_order(x, y, 50).tolist() == [2, 3, 0, 1]
