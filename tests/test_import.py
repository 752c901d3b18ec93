"""geodata.importer on both backends: real files, derived files, hand-made grids and registers."""

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
import sqlalchemy as sa

from geodata.column_mapping import Mapping, load_mapping
from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.store import table_counts
from geodata.importer import ImportOptions, import_file
from geodata.network_store import ensure_network
from geodata.osm import read_osm
from geodata.readers import ReadOptions
from gridmap.errors import InvalidInput, PermissionDenied
from gridmap.network import network_from_osm
from gridmap.privacy import Requester

import derive
from conftest import row_count

ADMIN = Requester.system("importer")
GEOD = pyproj.Geod(ellps="WGS84")
UTM = "EPSG:32650"
X0, Y0 = 441_000.0, 4_428_000.0  # Beijing Haidian, in UTM 50N
COMMUNITY = "110108001001"


def imp(session, path, layer, *, dry_run=False, requester=ADMIN, mapping=None, **read):
    extra = {
        k: read.pop(k)
        for k in ("community", "code_scheme", "service_code", "target_min", "target_max")
        if k in read
    }
    options = ImportOptions(read=ReadOptions(**read), mapping=mapping or Mapping(), **extra)
    return import_file(session, path, layer, options, requester, dry_run=dry_run)


def box(x, y, w, h):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def write_geojson(path, geoms, **cols):
    frame = gpd.GeoDataFrame(cols, geometry=geoms, crs=UTM).to_crs("EPSG:4326")
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


def problems(report, kind=None):
    return [p for p in report.problems if kind is None or p.kind == kind]


def metres_apart(a, b) -> float:
    ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    return float(np.max(GEOD.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])[2]))


# --- the real admin Shapefiles ---------------------------------------------------------------
def test_gbk_shapefile_names_exact_and_reimport_updates(session, shared_data):
    path = shared_data / derive.SHANGHAI_GBK
    first = imp(session, path, "districts")
    assert first.ok and first.written == 17 and first.inserts == 17
    assert first.encoding == "CP936" and "0x4D" in first.encoding_reason.text
    assert first.mapping == {"NAME": "name", "ADMINCODE": "code"}
    assert first.props_columns == ["PYNAME", "Shape_Leng", "Shape_Area"]
    names = dict(session.execute(sa.select(m.District.code, m.District.name)).all())
    assert names["310101"] == "黄浦区" and names["310115"] == "浦东新区" and len(names) == 17
    props = session.scalar(sa.select(m.District.props).where(m.District.code == "310115"))
    assert props["PYNAME"] == "pdxq"
    geom = read_frame(
        session, sa.select(m.District.code, m.District.geom).where(m.District.code == "310101")
    ).geometry.iloc[0]
    truth = pyogrio.read_dataframe(path, encoding="GBK")
    truth = truth[truth["ADMINCODE"].astype(str) == "310101"].geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon"
    assert (
        metres_apart(geom, shapely.MultiPolygon([truth]) if truth.geom_type == "Polygon" else truth)
        < 1e-6
    )
    again = imp(session, path, "districts")
    assert again.inserts == 0 and again.updates == 17 and row_count(session, "district") == 17


def test_gcj02_shapefile_converted_names_exact(session, shared_data):
    from test_crs import oracle_wgs_to_gcj

    path = shared_data / derive.GARY_DIR / "上海城区.shp"
    report = imp(session, path, "districts", coords="gcj02")
    assert report.ok and report.written == 16 and report.encoding == "UTF-8"
    assert "converted from GCJ-02" in " ".join(n.text for n in report.notes)
    stored = read_frame(
        session,
        sa.select(m.District.code, m.District.name, m.District.geom).order_by(m.District.code),
    )
    assert {"黄浦区", "浦东新区", "崇明区", "静安区"} <= set(stored["name"])
    raw = pyogrio.read_dataframe(path, encoding="UTF-8")
    raw = raw.set_index(raw["adcode"].astype(str))
    # Independent check: the oracle's forward formula maps what we stored back onto the
    # file's GCJ-02 coordinates to within half a metre.
    for _, row in stored.iterrows():
        xy = shapely.get_coordinates(row.geometry)
        fwd = np.array([oracle_wgs_to_gcj(x, y) for x, y in xy])
        file_xy = shapely.get_coordinates(raw.at[row["code"], "geometry"])
        assert float(np.max(GEOD.inv(fwd[:, 0], fwd[:, 1], file_xy[:, 0], file_xy[:, 1])[2])) < 0.5


def test_gcj02_offset_is_noticed_next_to_wgs84_layers(session, shared_data, tmp_path):
    imp(session, shared_data / derive.SHANGHAI_GBK, "districts")
    shifted = derive.shifted_geojson(
        shared_data / derive.SHANGHAI_GBK, tmp_path / "s.geojson", "gcj02"
    )
    # the same districts, shifted, loaded as streets and declared WGS84
    report = imp(
        session,
        shifted,
        "streets",
        dry_run=True,
        mapping=Mapping(fields={"ADMINCODE": "props", "NAME": "name"}),
    )
    warning = " ".join(w.text for w in report.warnings)
    assert "declared WGS84" in warning and "--coords gcj02" in warning
    fixed = imp(
        session,
        shifted,
        "streets",
        dry_run=True,
        coords="gcj02",
        mapping=Mapping(fields={"ADMINCODE": "props", "NAME": "name"}),
    )
    assert "declared WGS84" not in " ".join(w.text for w in fixed.warnings)


def test_gauss_kruger_and_bd09_derived_files(session, shared_data, tmp_path):
    truth = pyogrio.read_dataframe(shared_data / derive.SHANGHAI_GBK, encoding="GBK")
    truth = truth.set_index(truth["ADMINCODE"].astype(str))
    gk = derive.reproject_shp(shared_data / derive.SHANGHAI_GBK, tmp_path / "gk" / "d.shp", 4528)
    report = imp(session, gk, "districts")
    assert report.ok and report.crs.startswith("EPSG:4528")
    stored = read_frame(session, sa.select(m.District.code, m.District.name, m.District.geom))
    assert set(stored["name"]) >= {"黄浦区", "浦东新区"}
    for _, row in stored.iterrows():
        assert metres_apart(row.geometry, truth.at[row["code"], "geometry"]) < 1.0
    bd = derive.shifted_geojson(shared_data / derive.SHANGHAI_GBK, tmp_path / "bd.geojson", "bd09")
    report = imp(session, bd, "districts", coords="bd09")
    assert report.updates == 17 and report.inserts == 0
    stored = read_frame(session, sa.select(m.District.code, m.District.geom))
    for _, row in stored.iterrows():
        assert metres_apart(row.geometry, truth.at[row["code"], "geometry"]) < 0.5


def test_geojson_with_a_user_mapping_file(session, shared_data, tmp_path):
    mapping_file = tmp_path / "map.yaml"
    mapping_file.write_text("fields:\n  qh: name\n  centroid_x: ignore\n", encoding="utf-8")
    path = shared_data / "admin/shenzhen_districts_sz.json"
    report = imp(session, path, "districts", mapping=load_mapping(mapping_file))
    assert report.ok and report.written == 10 and report.mapping == {"qh": "name"}
    assert report.props_columns == ["centroid_y"]
    codes = dict(session.execute(sa.select(m.District.name, m.District.code)).all())
    assert "罗湖" in codes and codes["罗湖"].startswith("D-") and len(codes["罗湖"]) == 12
    again = imp(session, path, "districts", mapping=load_mapping(mapping_file))
    assert again.updates == 10 and row_count(session, "district") == 10  # same generated codes
    json_map = tmp_path / "map.json"
    json_map.write_text(json.dumps({"qh": "nonsense"}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="'nonsense' is not a field of districts"):
        imp(session, path, "districts", mapping=load_mapping(json_map))


def test_kml_with_unclosed_ring_repaired_and_written(session, shared_data):
    mapping = Mapping(
        fields={"易成孤島地區名稱": "name", "圖徵編號": "code", "孤島地區總戶數": "props"}
    )
    dry = imp(session, shared_data / derive.KML, "communities", mapping=mapping, dry_run=True)
    assert [(p.row, p.kind, p.severity) for p in dry.problems] == [(1, "repaired", "info")]
    assert row_count(session, "community") == 0
    report = imp(session, shared_data / derive.KML, "communities", mapping=mapping)
    assert report.written == 1
    row = session.execute(sa.select(m.Community.code, m.Community.name, m.Community.props)).one()
    assert row.code == "1058" and row.name == "嘉義縣阿里山鄉達邦村"
    assert row.props["孤島地區總戶數"] == "153" and row.props["縣市別"] == "嘉義縣"


# --- grids: hand-made, with areas worked out by hand ------------------------------------------
@pytest.fixture
def community(session, tmp_path):
    """One community 400 m x 200 m with a 12-digit code."""
    path = write_geojson(
        tmp_path / "community.geojson",
        [box(0, 0, 400, 200)],
        社区名称=["学院路社区"],
        社区编码=[COMMUNITY],
    )
    assert imp(session, path, "communities").written == 1
    return COMMUNITY


def test_grids_get_codes_in_reading_order_and_load_from_the_file(session, community, tmp_path):
    # Two rows of two grids (north row first), no codes; households given as 户数.
    geoms = [
        box(200, 0, 200, 100),
        box(0, 100, 200, 100),
        box(0, 0, 200, 100),
        box(200, 100, 200, 100),
    ]
    path = write_geojson(
        tmp_path / "grids.geojson",
        geoms,
        网格名称=["东南", "西北", "西南", "东北"],
        户数=[420, 650, 120, 300],
        网格员=["甲", "乙", "丙", "丁"],
    )
    report = imp(session, path, "grids", community=community)
    assert report.ok, [p.message for p in report.errors]
    codes = dict(session.execute(sa.select(m.Grid.name, m.Grid.code)).all())
    assert codes == {
        "西北": f"{COMMUNITY}001",
        "东北": f"{COMMUNITY}002",
        "西南": f"{COMMUNITY}003",
        "东南": f"{COMMUNITY}004",
    }
    assert session.scalar(sa.select(m.Grid.leader).where(m.Grid.name == "乙")) is None
    assert session.scalar(sa.select(m.Grid.leader).where(m.Grid.name == "西北")) == "乙"
    load = {x["name"]: x["status"] for x in report.load}
    assert load == {"东南": "ok", "西北": "over", "西南": "under", "东北": "ok"}
    assert "户数" in report.load_source.text
    assert [p.kind for p in report.problems if p.severity == "warning"].count("overloaded") == 1
    texts = [s.text for s in report.suggestions]
    assert any("西北" not in t and f"{COMMUNITY}001" in t for t in texts)
    # Re-import: matched by name inside the community, same codes, nothing new.
    again = imp(session, path, "grids", community=community)
    assert again.inserts == 0 and again.updates == 4 and row_count(session, "grid") == 4
    # the 20-digit CJ/T 349 scheme
    geoms2 = [box(0, 0, 400, 200)]
    other = write_geojson(tmp_path / "one.geojson", geoms2, name=["整片"])
    dry = imp(
        session,
        other,
        "grids",
        community=community,
        code_scheme="20",
        service_code="100000",
        dry_run=True,
    )
    assert dry.generated_codes[0]["code"] == f"100000{COMMUNITY}01"


def test_overlapping_grids_are_refused_and_nothing_is_written(session, community, tmp_path):
    before = table_counts(session)
    # 250 m and 200 m wide grids side by side overlap by 50 m x 200 m = 10,000 m2.
    path = write_geojson(
        tmp_path / "grids.geojson",
        [box(0, 0, 250, 200), box(200, 0, 200, 200)],
        网格编码=[f"{COMMUNITY}001", f"{COMMUNITY}002"],
        网格名称=["一", "二"],
    )
    report = imp(session, path, "grids", community=community)
    over = problems(report, "overlap")
    assert len(over) == 1 and over[0].severity == "error" and over[0].row == 1
    assert over[0].area_m2 == pytest.approx(10_000, rel=0.01)
    assert "overlaps grid" in over[0].message and "10,0" in over[0].message
    assert report.written == 0 and not report.committed
    assert table_counts(session) == before


def test_gaps_crossings_and_existing_overlaps(session, community, tmp_path):
    # First a grid covering the west half.
    west = write_geojson(
        tmp_path / "w.geojson", [box(0, 0, 200, 200)], 网格编码=[f"{COMMUNITY}001"], 网格名称=["西"]
    )
    assert imp(session, west, "grids", community=community).ok
    # Then an east grid that leaves a 50 x 200 gap (10,000 m2) and reaches 20 m beyond
    # the community's north edge (150 x 20 = 3,000 m2 outside).
    east = write_geojson(
        tmp_path / "e.geojson",
        [box(250, 0, 150, 220)],
        网格编码=[f"{COMMUNITY}002"],
        网格名称=["东"],
    )
    report = imp(session, east, "grids", community=community, dry_run=True)
    assert report.ok
    cross = problems(report, "crosses_community")[0]
    assert cross.area_m2 == pytest.approx(3000, rel=0.01) and cross.severity == "warning"
    gap = problems(report, "gap")[0]
    assert gap.row is None and gap.area_m2 == pytest.approx(10_000, rel=0.01)
    # A third grid overlapping the stored west grid by 20 x 200 = 4,000 m2.
    bad = write_geojson(
        tmp_path / "b.geojson",
        [box(180, 0, 220, 200)],
        网格编码=[f"{COMMUNITY}003"],
        网格名称=["坏"],
    )
    report = imp(session, bad, "grids", community=community)
    over = problems(report, "overlap")[0]
    assert "existing grid" in over.message and over.area_m2 == pytest.approx(4000, rel=0.01)
    assert row_count(session, "grid") == 1
    # Outside its community altogether: an error.
    away = write_geojson(
        tmp_path / "a.geojson",
        [box(1000, 1000, 100, 100)],
        网格编码=[f"{COMMUNITY}004"],
        网格名称=["远"],
    )
    assert problems(imp(session, away, "grids", community=community), "outside_community")


def test_duplicate_codes_and_bad_code_format(session, community, tmp_path):
    path = write_geojson(
        tmp_path / "g.geojson",
        [box(0, 0, 200, 200), box(200, 0, 200, 200)],
        code=["G1", "G1"],
        name=["一", "二"],
    )
    report = imp(session, path, "grids", community=community)
    dup = problems(report, "duplicate_code")
    assert [p.row for p in dup] == [1, 2] and "rows 1, 2" in dup[0].message
    assert problems(report, "code_format") and row_count(session, "grid") == 0


def test_load_counted_from_buildings_and_households(session, community, tmp_path):
    grids = write_geojson(
        tmp_path / "g.geojson",
        [box(0, 0, 200, 200), box(200, 0, 200, 200)],
        网格编码=[f"{COMMUNITY}001", f"{COMMUNITY}002"],
        网格名称=["西", "东"],
    )
    assert imp(session, grids, "grids", community=community).ok
    blds = write_geojson(
        tmp_path / "b.geojson",
        [box(20, 20, 30, 30), box(250, 20, 30, 30)],
        楼栋编码=["B1", "B2"],
        地址=["学院路1号楼", "学院路2号楼"],
        层数=["6层", "18"],
    )
    report = imp(session, blds, "buildings")
    assert report.ok and report.written == 2
    grid_of = dict(
        session.execute(
            sa.select(m.Building.code, m.Grid.code).join(m.Grid, m.Building.grid_id == m.Grid.id)
        ).all()
    )
    assert grid_of == {"B1": f"{COMMUNITY}001", "B2": f"{COMMUNITY}002"}
    assert session.scalar(sa.select(m.Building.floors).where(m.Building.code == "B1")) == 6
    # Households: 350 in B1 by building code, 20 in B2 by address (spaces and full-width ok).
    rows = [{"楼栋编码": "B1", "单元": "1", "房号": f"{k:03d}", "人口数": "3"} for k in range(350)]
    rows += [{"地址": "学院路 2号楼", "单元": "２", "房号": f"{k}", "人口数": 2} for k in range(20)]
    csv = tmp_path / "户.csv"
    pd.DataFrame(rows).to_csv(csv, index=False, encoding="gbk")
    report = imp(session, csv, "households")
    assert report.ok, [p.message for p in report.errors]
    assert report.written == 370 and report.encoding == "GB18030"
    assert (
        session.scalar(sa.select(m.Household.code).where(m.Household.room == "007")) == "B1-1-007"
    )
    # now the grids' load comes from the database
    dry = imp(session, grids, "grids", community=community, dry_run=True)
    load = {x["code"]: (x["households"], x["status"]) for x in dry.load}
    assert load == {f"{COMMUNITY}001": (350, "ok"), f"{COMMUNITY}002": (20, "under")}
    assert "buildings in the database" in dry.load_source.text
    # residents joined to households by household code; ID check digit and masking
    people = pd.DataFrame(
        {
            "户编码": ["B1-1-007", "B1-1-007", "B9-9-9"],
            "姓名": ["张三", "欧阳娜娜", "李四"],
            "身份证号": ["110108198001010015", "110108199001010028", "110108199001010021"],
            "性别": ["男", "女", "男"],
            "人员类别": ["独居,高血压", "", "外星人"],
        }
    )
    xlsx = tmp_path / "居民.xlsx"
    people.to_excel(xlsx, index=False)
    report = imp(session, xlsx, "residents")
    assert [p.kind for p in report.errors] == ["unknown_household"]
    assert report.errors[0].row == 3 and row_count(session, "resident") == 0
    report = imp(session, xlsx, "residents", dry_run=True)
    assert "张三" not in json.dumps(report.as_dict(), ensure_ascii=False)
    ok = people.iloc[:2]
    ok.to_excel(xlsx, index=False)
    report = imp(session, xlsx, "residents")
    assert report.ok and report.written == 2
    stored = session.execute(
        sa.select(m.Resident.name, m.Resident.birth_year, m.Resident.sex, m.Resident.tags).order_by(
            m.Resident.name
        )
    ).all()
    assert [tuple(r) for r in stored] == [
        ("张三", 1980, "M", ["hypertension", "living_alone"]),
        ("欧阳娜娜", 1990, "F", None),
    ]
    assert imp(session, xlsx, "residents").updates == 2 and row_count(session, "resident") == 2
    # households not matched by address: one clear error per row
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"地址": "不存在路1号", "房号": "1"}]).to_csv(bad, index=False)
    report = imp(session, bad, "households")
    assert report.errors[0].kind == "unknown_building" and "不存在路1号" in report.errors[0].message


def test_tiled_building_export_skips_its_points_and_keeps_every_footprint(session, shared_data):
    # Tilezen buildings: 1,572 footprints (some repeated across tiles, most unnamed) and 409
    # address points mixed in. The points are skipped with a warning each; every distinct
    # (name, shape) is one building; a second import updates them all.
    path = shared_data / "buildings/shanghai_bund_tilezen_buildings.geojson"
    with warnings.catch_warnings():  # GDAL: repeated ids (the importer reports it)
        warnings.simplefilter("ignore", RuntimeWarning)
        truth = pyogrio.read_dataframe(path)
    polys = truth[truth.geom_type.isin(["Polygon", "MultiPolygon"])]
    n_points = int((truth.geom_type == "Point").sum())
    distinct = len(
        set(
            zip(
                polys["name"].fillna(""),
                shapely.to_wkb(shapely.normalize(polys.geometry.values)),
                strict=True,
            )
        )
    )
    report = imp(session, path, "buildings")
    assert report.ok
    skipped = problems(report, "wrong_geometry")
    assert len(skipped) == n_points == 409
    assert {p.severity for p in skipped} == {"warning"}
    assert report.inserts == distinct == row_count(session, "building")
    assert len(problems(report, "duplicate")) == len(polys) - distinct
    assert (
        session.scalar(
            sa.select(sa.func.count()).select_from(m.Building).where(m.Building.name.is_(None))
        )
        > 1000
    )  # unnamed, yet all kept
    again = imp(session, path, "buildings")
    assert again.inserts == 0 and again.updates == distinct
    assert row_count(session, "building") == distinct


def test_a_file_of_points_only_is_refused_as_buildings(session, tmp_path):
    path = write_geojson(
        tmp_path / "pts.geojson",
        [shapely.Point(X0, Y0), shapely.Point(X0 + 9, Y0)],
        name=["甲", "乙"],
    )
    with pytest.raises(InvalidInput) as err:
        imp(session, path, "buildings")
    # one refusal naming what the file holds and the layers that take points
    assert "pts.geojson holds 2 points, but buildings need polygons" in str(err.value)
    assert "gates, key sites, facilities, hazards" in str(err.value)
    assert row_count(session, "building") == 0


def test_roads_from_osm_build_the_same_walking_network_as_the_file(session, shared_data):
    path = shared_data / "osm/beijing_haidian_cau_map.osm"
    ways = read_osm(path).ways
    report = imp(session, path, "roads")
    assert report.ok and report.format == "osm" and report.inserts == len(ways) == 302
    codes = set(session.scalars(sa.select(m.Road.code)))
    assert codes == {f"W{i}" for i in ways["osm_id"]}
    assert (
        session.scalar(sa.select(m.Road.name).where(m.Road.code == f"W{ways['osm_id'][0]}"))
        == ways["name"][0]
    )
    again = imp(session, path, "roads")
    assert again.inserts == 0 and again.updates == 302 and row_count(session, "road") == 302
    # Stored roads -> stored network: the same graph as the file read directly (joined by
    # OSM node ids there; here by shared vertices, bridges and tunnels kept apart).
    stored = ensure_network(session).network
    direct = network_from_osm(ways, gated_compounds=False)
    assert (stored.n_nodes, stored.n_edges) == (direct.n_nodes, direct.n_edges) == (485, 617)
    assert stored.adjacency.sum() == pytest.approx(direct.adjacency.sum(), abs=0.01)
    assert stored.adjacency.sum() / 2 > 50_000


@pytest.mark.parametrize("bridge, nodes", [(None, 5), ("yes", 4)])
def test_a_bridge_crosses_the_street_below_without_meeting_it(session, tmp_path, bridge, nodes):
    # A street and a footbridge crossing at its middle: joined there (5 nodes) unless the
    # file marks the bridge (4 nodes, the crossing is no way down).
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 400, Y0)]),
        shapely.LineString([(X0 + 200, Y0 - 200), (X0 + 200, Y0 + 200)]),
    ]
    path = write_geojson(
        tmp_path / "roads.geojson",
        lines,
        name=["成府路", "过街天桥"],
        highway=["residential", "footway"],
        bridge=[None, bridge],
    )
    assert imp(session, path, "roads").written == 2
    net = ensure_network(session).network
    assert net.n_nodes == nodes
    assert net.adjacency.sum() / 2 == pytest.approx(800.0, abs=1e-6)


def test_road_classes_from_a_survey_table(session, tmp_path):
    lines = [shapely.LineString([(X0, Y0 + 50 * i), (X0 + 300, Y0 + 50 * i)]) for i in range(4)]
    path = write_geojson(
        tmp_path / "roads.geojson",
        lines,
        道路名称=["学院路", "成府路", "无名路", "小径"],
        道路等级=["主干路", "支路", None, "footway"],
    )
    report = imp(session, path, "roads", mapping=Mapping(fields={"道路名称": "name"}))
    assert report.ok and report.written == 4
    got = dict(session.execute(sa.select(m.Road.name, m.Road.highway)).all())
    assert got == {
        "学院路": "primary",
        "成府路": "tertiary",
        "无名路": "unclassified",
        "小径": "footway",
    }
    assert any("unclassified" in w.text for w in report.warnings)


def test_a_file_without_a_name_column_says_which_column_to_map(session, shared_data):
    path = shared_data / "admin/shenzhen_districts_sz.json"  # names under 'qh' (区划)
    with pytest.raises(InvalidInput) as err:
        imp(session, path, "districts")
    assert "shenzhen_districts_sz.json" in str(err.value) and "'qh: name'" in str(err.value)
    assert row_count(session, "district") == 0
    report = imp(session, path, "districts", mapping=Mapping(fields={"qh": "name"}))
    assert report.written == 10
    names = set(session.scalars(sa.select(m.District.name)))
    assert {"罗湖", "福田", "盐田"} <= names and len(names) == 10


def test_key_sites_facilities_from_real_poi_csv(session, shared_data, tmp_path):
    mapping = Mapping(defaults={"category": "primary_school"})
    path = shared_data / "poi/shanghai_amap/小学.csv"
    report = imp(session, path, "facilities", mapping=mapping)
    assert report.ok
    # one row repeats another's name, address and place exactly: skipped with a line
    dups = problems(report, "duplicate")
    assert report.written == 931 - len(dups) and all(p.severity == "warning" for p in dups)
    row = session.execute(
        sa.select(m.Facility.name, m.Facility.category, m.Facility.props).where(
            m.Facility.name == "蓬莱路第二小学"
        )
    ).one()
    assert row.category == "primary_school" and row.props["address"] == "蓬莱路225号(迎勋北路)"
    again = imp(session, path, "facilities", mapping=mapping)
    assert again.inserts == 0 and row_count(session, "facility") == report.written
    # key sites from XLSX with Chinese categories; unknown category is an error with the row
    xlsx = tmp_path / "场所.xlsx"
    pd.DataFrame(
        {
            "场所名称": ["A网吧", "B餐馆", "C"],
            "类别": ["网吧", "餐饮场所", "火星"],
            "经度": [121.47, 121.471, 121.472],
            "纬度": [31.23, 31.231, 31.232],
        }
    ).to_excel(xlsx, index=False)
    report = imp(session, xlsx, "key_sites")
    assert [(p.row, p.kind) for p in report.errors] == [(3, "bad_value")]
    assert "火星" in report.errors[0].message and row_count(session, "key_site") == 0
    not_a_site = Mapping(values={"category": {"火星": "other"}})  # no key-site category
    assert not imp(session, xlsx, "key_sites", mapping=not_a_site).ok
    fixed = Mapping(values={"category": {"火星": "small_venue"}})
    report = imp(session, xlsx, "key_sites", mapping=fixed)
    assert report.ok and report.written == 3
    interval = dict(
        session.execute(sa.select(m.KeySite.name, m.KeySite.inspection_interval_days)).all()
    )
    assert interval == {"A网吧": 14, "B餐馆": 30, "C": 30}


def test_patrol_tracks_from_gpx_and_csv(session, tmp_path):
    from test_readers import GPX

    gpx = tmp_path / "track.gpx"
    gpx.write_text(GPX, encoding="utf-8")
    report = imp(session, gpx, "patrol_tracks")
    assert report.ok and report.written == 1
    t = session.execute(sa.select(m.PatrolTrack)).scalar_one()
    assert t.patroller == "张三" and t.times == [0.0, 120.0, 240.0]
    assert str(t.started_at) == "2024-05-01 08:00:00"  # UTC in the GPX, China time stored
    assert imp(session, gpx, "patrol_tracks").updates == 1
    rows = [
        ("李四", "2024-05-02 09:00:00", 116.35, 40.0),
        ("李四", "2024-05-02 09:01:00", 116.351, 40.0),
        ("李四", "2024-05-02 09:02:30", 116.352, 40.0),
        ("李四", "2024-05-02 14:00:00", 116.35, 40.0),
        ("李四", "2024-05-02 14:05:00", 116.35, 40.002),
    ]
    csv = tmp_path / "轨迹.csv"
    pd.DataFrame(rows, columns=["巡查人", "时间", "经度", "纬度"]).to_csv(csv, index=False)
    report = imp(session, csv, "patrol_tracks")
    assert report.ok and report.written == 2  # the pause splits the day into two patrols
    times = (
        session.execute(
            sa.select(m.PatrolTrack.times)
            .where(m.PatrolTrack.patroller == "李四")
            .order_by(m.PatrolTrack.started_at)
        )
        .scalars()
        .all()
    )
    assert times == [[0.0, 60.0, 150.0], [0.0, 300.0]]


def test_hazards_get_an_event(session, tmp_path):
    csv = tmp_path / "隐患.csv"
    pd.DataFrame(
        {
            "隐患类别": ["消防安全"],
            "等级": ["重大"],
            "状态": ["已上报"],
            "发现时间": ["2024年5月1日 下午 03:17"],
            "lon": [116.35],
            "lat": [40.0],
            "描述": ["楼道堆物"],
        }
    ).to_csv(csv, index=False)
    report = imp(session, csv, "hazards")
    assert report.ok and report.written == 1
    h = session.execute(sa.select(m.Hazard)).scalar_one()
    assert (h.category, h.severity, h.status) == ("fire", "high", "reported")
    assert str(h.found_at) == "2024-05-01 15:17:00"
    assert [e.action for e in h.events] == ["import"]
    assert imp(session, csv, "hazards").updates == 1 and row_count(session, "hazard") == 1


def test_roles(session, shared_data):
    viewer = Requester("v", "viewer")
    with pytest.raises(PermissionDenied):
        imp(session, shared_data / derive.SHANGHAI_GBK, "districts", requester=viewer)
    staff = Requester("c", "community_staff", community_ids=frozenset({1}))
    with pytest.raises(PermissionDenied, match="only administrators may import districts"):
        imp(session, shared_data / derive.SHANGHAI_GBK, "districts", requester=staff)


# --- bad inputs leave the database as it was ----------------------------------------------------
def _bad_inputs(shared_data, tmp_path):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "set")
    good = derive.zip_shapefile(parts, tmp_path / "good.zip")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[:5000])
    short = tmp_path / "short.kml"
    text = (shared_data / derive.KML).read_text(encoding="utf-8")
    a, b = text.index("<coordinates>") + 13, text.index("</coordinates>")
    short.write_text(text[:a] + "120.7475,23.4554 120.7527,23.4571" + text[b:], encoding="utf-8")
    six = derive.reproject_shp(shared_data / derive.SHANGHAI_GBK, tmp_path / "gk6" / "d.shp", 4549)
    return [
        (cut, "districts", "not a readable zip archive"),
        (derive.zip_files({"../evil.shp": b"x"}, tmp_path / "slip.zip"), "districts", "zip-slip"),
        (derive.zip_bomb(tmp_path / "bomb.zip", 64), "districts", "zip bomb"),
        (
            derive.zip_shapefile(
                {k: v for k, v in parts.items() if k != ".shp"}, tmp_path / "noshp.zip"
            ),
            "districts",
            "has no .shp",
        ),
        (short, "communities", "only 2 distinct points"),
        (six, "districts", "six digits"),
    ]


def test_each_bad_input_has_its_message_and_changes_nothing(session, shared_data, tmp_path):
    imp(session, shared_data / derive.SHANGHAI_GBK, "districts")
    before = table_counts(session)
    mapping = Mapping(fields={"易成孤島地區名稱": "name"})
    for path, layer, message in _bad_inputs(shared_data, tmp_path):
        try:
            report = imp(session, path, layer, mapping=mapping)
        except InvalidInput as exc:
            assert message in str(exc), (path.name, str(exc))
        else:
            assert not report.ok and message in " ".join(p.message for p in report.errors)
        assert table_counts(session) == before, path.name


def test_a_failure_while_writing_rolls_everything_back(
    backend, fresh_database, shared_data, monkeypatch
):
    from geodata import importer
    from geodata.db.engine import make_engine, session_factory
    from geodata.db.migrate import upgrade

    monkeypatch.setattr(importer, "CHUNK", 5)
    with fresh_database(backend) as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            inserts = []

            def fail_third_insert(conn, cursor, statement, params, context, executemany):
                if statement.lstrip().upper().startswith("INSERT INTO DISTRICT"):
                    inserts.append(1)
                    if len(inserts) == 3:
                        raise RuntimeError("disk full")

            sa.event.listen(engine, "before_cursor_execute", fail_third_insert)
            with (
                pytest.raises(RuntimeError, match="disk full"),
                session_factory(engine).begin() as s,
            ):
                imp(s, shared_data / derive.SHANGHAI_GBK, "districts")
            sa.event.remove(engine, "before_cursor_execute", fail_third_insert)
            assert len(inserts) == 3  # two chunks of 5 went in before the failure ...
            with session_factory(engine)() as s:
                assert row_count(s, "district") == 0  # ... and were rolled back
                assert row_count(s, "audit_log") == 0
        finally:
            engine.dispose()


# --- the command line ------------------------------------------------------------------------------
def test_cli_json_exit_codes_and_idempotence(backend, fresh_database, shared_data, tmp_path):
    from conftest import run_gridmap

    with fresh_database(backend) as url:
        path = shared_data / derive.SHANGHAI_GBK
        proc = run_gridmap("import", "districts", str(path), "--json", url=url)
        out = json.loads(proc.stdout)
        for key in (
            "layer",
            "features",
            "crs",
            "crs_reason",
            "encoding",
            "encoding_reason",
            "problems",
            "written",
        ):
            assert key in out
        assert out["layer"] == "districts" and out["features"] == 17 and out["written"] == 17
        assert out["encoding"] == "CP936" and out["crs"].startswith("EPSG:4326")
        again = json.loads(run_gridmap("import", "districts", str(path), "--json", url=url).stdout)
        assert again["updates"] == 17 and again["inserts"] == 0
        stats = json.loads(run_gridmap("stats", "--json", url=url).stdout)
        assert stats["district"] == 17
        gk6 = derive.reproject_shp(path, tmp_path / "gk6" / "d.shp", 4549)
        bad = run_gridmap("import", "districts", str(gk6), url=url, check=False)
        assert bad.returncode == 1 and "Error:" in bad.stderr and "--crs" in bad.stderr
        ok = run_gridmap(
            "import", "districts", str(gk6), "--crs", "EPSG:4549", "--dry-run", url=url
        )
        assert "dry run: would insert 0 and update 17" in ok.stdout
        overlap = tmp_path / "o.geojson"
        write_geojson(
            overlap, [box(0, 0, 250, 200), box(200, 0, 200, 200)], code=["A", "B"], name=["a", "b"]
        )
        proc = run_gridmap("import", "grids", str(overlap), "--json", url=url, check=False)
        out = json.loads(proc.stdout)
        assert proc.returncode == 1 and out["written"] == 0
        assert [p["kind"] for p in out["problems"] if p["severity"] == "error"] == ["overlap"]
        assert {"row", "kind", "message"} <= set(out["problems"][0])
        stats = json.loads(run_gridmap("stats", "--json", url=url).stdout)
        assert stats["grid"] == 0 and stats["district"] == 17


def test_staff_write_only_into_their_areas(session, community, tmp_path):
    grids = write_geojson(
        tmp_path / "g.geojson",
        [box(0, 0, 200, 200), box(200, 0, 200, 200)],
        网格编码=[f"{COMMUNITY}001", f"{COMMUNITY}002"],
        网格名称=["西", "东"],
    )
    assert imp(session, grids, "grids", community=community).ok
    west = session.scalar(sa.select(m.Grid.id).where(m.Grid.code == f"{COMMUNITY}001"))
    leader = Requester("leader", "grid_leader", grid_ids=frozenset({west}))
    sites = write_geojson(
        tmp_path / "s.geojson",
        [shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 250, Y0 + 50)],
        名称=["西边网吧", "东边网吧"],
        类别=["网吧", "网吧"],
    )
    report = imp(session, sites, "key_sites", requester=leader)
    assert [(p.row, p.kind) for p in report.errors] == [(2, "out_of_scope")]
    assert row_count(session, "key_site") == 0
    only_west = write_geojson(
        tmp_path / "w.geojson", [shapely.Point(X0 + 50, Y0 + 50)], 名称=["西边网吧"], 类别=["网吧"]
    )
    assert imp(session, only_west, "key_sites", requester=leader).written == 1
    with pytest.raises(PermissionDenied):
        imp(session, grids, "grids", community=community, requester=leader)
