"""Exports in GeoJSON, GeoPackage and zipped Shapefile import back unchanged (both backends)."""

import json
import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
import sqlalchemy as sa

from geodata.column_mapping import Mapping
from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.store import table_counts
from geodata.export import export_layer
from geodata.importer import ImportOptions, import_file
from geodata.readers import ReadOptions
from gridmap.errors import PermissionDenied
from gridmap.privacy import Requester

import derive
from conftest import row_count

ADMIN = Requester.system("exporter")
UTM = "EPSG:32650"
X0, Y0 = 441_000.0, 4_428_000.0
FORMATS = ["geojson", "gpkg", "shp"]
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip"}


def imp(session, path, layer, **kw):
    return import_file(session, path, layer, ImportOptions(read=ReadOptions(), **kw), ADMIN)


def box(x, y, w, h):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


@pytest.fixture
def street_office(session, tmp_path, shared_data):
    """Districts from the real GBK file, one community, two grids, two buildings,
    households, residents, a key site, a hazard and a patrol track."""
    assert imp(session, shared_data / derive.SHANGHAI_GBK, "districts").ok

    def gj(stem, geoms, **cols):
        path = tmp_path / f"{stem}.geojson"
        frame = gpd.GeoDataFrame(cols, geometry=geoms, crs=UTM).to_crs(4326)
        pyogrio.write_dataframe(frame, path)
        return path

    assert imp(
        session,
        gj("c", [box(0, 0, 400, 200)], name=["学院路社区"], code=["110108001001"], 人口=["3000"]),
        "communities",
    ).ok
    assert imp(
        session,
        gj(
            "g",
            [box(0, 0, 200, 200), box(200, 0, 200, 200)],
            code=["110108001001001", "110108001001002"],
            name=["一网格", "二网格"],
            网格员=["王五", "赵六"],
            网格员电话=["13800001111", None],
            目标户数=["400", "350"],
        ),
        "grids",
        community="110108001001",
    ).ok
    assert imp(
        session,
        gj(
            "b",
            [box(20, 20, 40, 40), box(250, 20, 40, 40)],
            楼栋编码=["B1", "B2"],
            地址=["学院路1号楼", "学院路2号楼"],
            层数=[6, 18],
        ),
        "buildings",
    ).ok
    assert imp(
        session,
        gj(
            "rd",
            [
                shapely.LineString([(0, 100), (400, 100)]),
                shapely.LineString([(100, -50), (100, 250)]),
            ],
            道路名称=["学院路", "天桥"],
            道路等级=["支路", "人行道"],
            bridge=[None, "yes"],
        ),
        "roads",
    ).ok
    hh = tmp_path / "h.csv"
    pd.DataFrame(
        {
            "楼栋编码": ["B1", "B1", "B2"],
            "单元": ["1", "1", "2"],
            "房号": ["101", "102", "1801"],
            "人口数": [3, 1, 2],
            "户类别": ["出租户", "", "空巢户,低保户"],
        }
    ).to_csv(hh, index=False)
    assert imp(session, hh, "households").ok
    res = tmp_path / "r.csv"
    pd.DataFrame(
        {
            "户编码": ["B1-1-101", "B2-2-1801"],
            "姓名": ["张三", "李四"],
            "身份证号": ["110108198001010015", "110108199001010028"],
            "电话": ["13812345678", ""],
            "人员类别": ["独居", ""],
        }
    ).to_csv(res, index=False)
    assert imp(session, res, "residents").ok
    sites = tmp_path / "s.csv"
    pd.DataFrame(
        {"名称": ["某网吧"], "类别": ["网吧"], "经度": [116.3075], "纬度": [39.9905]}
    ).to_csv(sites, index=False)
    assert imp(session, sites, "key_sites").ok
    hz = tmp_path / "hz.csv"
    pd.DataFrame(
        {
            "隐患类别": ["燃气安全"],
            "等级": ["较大"],
            "描述": ["燃气管老化"],
            "发现时间": ["2024-05-03 10:00"],
            "责任人": ["王五"],
            "lon": [116.3076],
            "lat": [39.9906],
        }
    ).to_csv(hz, index=False)
    assert imp(session, hz, "hazards").ok
    from test_readers import GPX

    gpx = tmp_path / "t.gpx"
    gpx.write_text(GPX, encoding="utf-8")
    assert imp(session, gpx, "patrol_tracks").ok
    return session


def _same_geometries(a, b, tol_deg=1e-7):
    assert len(a) == len(b)
    for ga, gb in zip(a, b, strict=True):
        if ga is None or gb is None:
            assert ga is gb is None
            continue
        assert ga.equals_exact(gb, tol_deg) or shapely.hausdorff_distance(ga, gb) < tol_deg


TABLE_NAMES = {
    "roads": "road",
    "districts": "district",
    "communities": "community",
    "grids": "grid",
    "buildings": "building",
    "households": "household",
    "residents": "resident",
    "key_sites": "key_site",
    "facilities": "facility",
    "hazards": "hazard",
    "patrol_tracks": "patrol_track",
}
TABLES = {
    "roads": m.Road,
    "districts": m.District,
    "communities": m.Community,
    "grids": m.Grid,
    "buildings": m.Building,
    "key_sites": m.KeySite,
    "hazards": m.Hazard,
    "patrol_tracks": m.PatrolTrack,
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_layer_round_trips(street_office, tmp_path, fmt):
    session = street_office
    before = table_counts(session)
    for layer in (
        "districts",
        "communities",
        "grids",
        "roads",
        "buildings",
        "households",
        "residents",
        "key_sites",
        "facilities",
        "hazards",
        "patrol_tracks",
    ):
        out = tmp_path / f"{layer}{SUFFIX[fmt]}"
        path, n = export_layer(session, layer, fmt, out, ADMIN, reveal=True)
        assert path.exists() and n == row_count(session, TABLE_NAMES[layer])
        if n == 0:
            continue
        model = TABLES.get(layer)
        snapshot = None
        if model is not None:
            snapshot = read_frame(session, sa.select(model.code, model.geom).order_by(model.code))
        report = import_file(session, path, layer, ImportOptions(), ADMIN)
        assert report.ok, (layer, fmt, [p.message for p in report.errors])
        assert report.inserts == 0 and report.updates == n, (layer, fmt)
        if snapshot is not None:
            after = read_frame(session, sa.select(model.code, model.geom).order_by(model.code))
            assert list(after["code"]) == list(snapshot["code"])
            _same_geometries(after.geometry, snapshot.geometry)
    assert table_counts(session)["district"] == before["district"]
    roads = session.execute(
        sa.select(m.Road.name, m.Road.highway, m.Road.props).order_by(m.Road.name)
    ).all()
    assert [(r.name, r.highway, (r.props or {}).get("bridge")) for r in roads] == [
        ("天桥", "footway", "yes"),
        ("学院路", "tertiary", None),
    ]
    names = dict(session.execute(sa.select(m.District.code, m.District.name)).all())
    assert names["310101"] == "黄浦区" and names["310115"] == "浦东新区"
    grid = session.execute(sa.select(m.Grid).where(m.Grid.code == "110108001001001")).scalar_one()
    assert (grid.leader, grid.leader_phone, grid.target_households) == ("王五", "13800001111", 400)
    community = session.execute(sa.select(m.Community)).scalar_one()
    assert community.props == {"人口": "3000"}  # props came back as props, not nested
    hh = session.execute(
        sa.select(m.Household.code, m.Household.tags).order_by(m.Household.code)
    ).all()
    assert [tuple(r) for r in hh] == [
        ("B1-1-101", ["rental"]),
        ("B1-1-102", None),
        ("B2-2-1801", ["empty_nest", "low_income"]),
    ]
    people = session.execute(
        sa.select(m.Resident.name, m.Resident.id_number).order_by(m.Resident.name)
    ).all()
    assert [tuple(p) for p in people] == [
        ("张三", "110108198001010015"),
        ("李四", "110108199001010028"),
    ]
    track = session.execute(sa.select(m.PatrolTrack)).scalar_one()
    assert track.times == [0.0, 120.0, 240.0] and str(track.started_at) == "2024-05-01 08:00:00"
    hazard = session.execute(sa.select(m.Hazard)).scalar_one()
    assert (hazard.category, hazard.severity, hazard.description, str(hazard.found_at)) == (
        "gas",
        "medium",
        "燃气管老化",
        "2024-05-03 10:00:00",
    )


def test_shapefile_zip_is_utf8_with_cpg(street_office, tmp_path):
    path, n = export_layer(street_office, "districts", "shp", tmp_path / "d.zip", ADMIN)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
        assert names == [
            "districts.cpg",
            "districts.dbf",
            "districts.prj",
            "districts.shp",
            "districts.shx",
        ]
        assert zf.read("districts.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/districts.shp")
    assert "黄浦区" in set(frame["name"]) and n == 17
    props = json.loads(frame.loc[frame["code"] == "310115", "props"].iloc[0])
    assert props["PYNAME"] == "pdxq"


def test_residents_are_masked_unless_revealed_and_audited(street_office, tmp_path):
    session = street_office
    audits = row_count(session, "audit_log")
    path, _ = export_layer(session, "residents", "geojson", tmp_path / "r.geojson", ADMIN)
    frame = pyogrio.read_dataframe(path)
    assert set(frame["name"]) == {"张*", "李*"}
    assert set(frame["id_number"]) == {"110108********0015", "110108********0028"}
    assert frame.geometry.notna().all()  # at their building's point
    assert row_count(session, "audit_log") == audits + 1
    planner = Requester("p", "planner")
    with pytest.raises(PermissionDenied):
        export_layer(session, "residents", "geojson", tmp_path / "x.geojson", planner, reveal=True)
    # a grid leader of grid 2 sees only the household in B2
    grid2 = session.scalar(sa.select(m.Grid.id).where(m.Grid.code == "110108001001002"))
    leader = Requester("l", "grid_leader", grid_ids=frozenset({grid2}))
    path, n = export_layer(session, "households", "gpkg", tmp_path / "h.gpkg", leader)
    assert n == 1 and list(pyogrio.read_dataframe(path)["code"]) == ["B2-2-1801"]


def test_export_cli(backend, fresh_database, shared_data, tmp_path):
    from conftest import run_gridmap

    with fresh_database(backend) as url:
        run_gridmap("import", "districts", str(shared_data / derive.SHANGHAI_GBK), url=url)
        out = tmp_path / "d.gpkg"
        proc = run_gridmap("export", "districts", "--format", "gpkg", "--out", str(out), url=url)
        assert "17 districts written" in proc.stdout
        frame = pyogrio.read_dataframe(out)
        assert len(frame) == 17 and "浦东新区" in set(frame["name"])
        assert frame.crs.to_epsg() == 4326


def test_mapping_defaults_survive_the_round_trip(session, tmp_path, shared_data):
    mapping = Mapping(fields={"type": "props"}, defaults={"category": "metro_station"})
    src = shared_data / "poi/shanghai_amap/shanghai_urban.csv"
    report = import_file(session, src, "facilities", ImportOptions(mapping=mapping), ADMIN)
    assert report.ok
    path, n = export_layer(session, "facilities", "shp", tmp_path / "f.zip", ADMIN)
    back = import_file(session, path, "facilities", ImportOptions(), ADMIN)
    assert back.ok and back.updates == n and back.inserts == 0
    assert (
        session.scalar(sa.select(sa.func.count()).where(m.Facility.category == "metro_station"))
        == n
    )
