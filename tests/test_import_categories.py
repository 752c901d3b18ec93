"""Provider POI types mapped by the shipped dictionary, problems grouped, wrong-kind files refused.

The hospital file is the real Amap export (7,513 rows, 61 distinct type paths); the expected
counts are taken from the file itself with the csv module, independently of the importer.
"""

import csv
import json
from collections import Counter

import pytest
import sqlalchemy as sa

from geodata.column_mapping import Mapping
from geodata.db.models import Facility
from geodata.importer import ImportOptions, import_file
from gridmap.notes import group_problems, problem
from gridmap.privacy import Requester
from gridmap.standards import poi

from conftest import row_count, run_gridmap

HOSPITALS = "poi/shanghai_amap/shanghai_hospital.csv"
ADMIN = Requester.system("importer")


def amap_types(path) -> Counter:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return Counter(r["type"] for r in csv.DictReader(f))


def test_the_dictionary_decides_by_the_longest_listed_prefix():
    assert poi.classify("facilities", "医疗保健服务;综合医院;三级甲等医院").category == "hospital"
    hit = poi.classify("facilities", "医疗保健服务;综合医院;卫生院")
    assert (hit.category, hit.key, hit.provider) == (
        "health_center",
        "医疗保健服务;综合医院;卫生院",
        "amap",
    )
    pet = poi.classify("facilities", "医疗保健服务;动物医疗场所;宠物诊所")
    assert pet.excluded and pet.key == "医疗保健服务;动物医疗场所"
    # several types: the first one the table decides
    assert (
        poi.classify("facilities", "医疗保健服务;急救中心;急救中心|医疗保健服务;诊所;诊所").category
        == "clinic"
    )
    assert poi.classify("facilities", "医疗;综合医院").provider == "baidu"
    assert poi.classify("facilities", "医疗保健服务;急救中心;急救中心") is None
    assert poi.classify("key_sites", "科教文化服务;学校;小学").category == "school"


def test_problems_group_by_message_with_their_first_rows():
    ps = [problem(r, "bad_value", "error", "category {v!r} unknown", v="x") for r in (12, 1, 7, 30)]
    ps += [
        problem(None, "gap", "warning", "a gap"),
        problem(3, "bad_value", "error", "category {v!r} unknown", v="y"),
    ]
    groups = group_problems(ps)
    assert [(g.message, g.count, g.first_rows, g.more) for g in groups] == [
        ("category 'x' unknown", 4, (1, 7, 12), 1),
        ("category 'y' unknown", 1, (3,), 0),
        ("a gap", 1, (), 0),
    ]
    assert groups[0].rows_note().text == "1, 7, 12 … and 1 more"


def test_amap_hospitals_map_automatically_in_the_cli(backend, fresh_database, shared_data):
    path = shared_data / HOSPITALS
    types = amap_types(path)
    with fresh_database(backend) as url:
        proc = run_gridmap(
            "import", "facilities", str(path), "--dry-run", "--json", url=url, check=False
        )
    out = json.loads(proc.stdout)
    assert proc.returncode == 1  # two types nothing decides: refused until mapped
    decided = {c["value"]: c for c in out["categories"]}
    assert set(decided) == set(types)  # every distinct value once
    assert all(decided[v]["count"] == n for v, n in types.items())
    mapped = sum(c["count"] for c in out["categories"] if c["category"])
    assert mapped / sum(types.values()) >= 0.9
    # in every row naming an animal type, no type before it is decided by the table
    # (the one '疾病预防|动物医疗场所' row included: disease prevention is not in it)
    pets = sum(n for v, n in types.items() if "动物医疗场所" in v)
    assert out["excluded"] == pets == 382
    assert out["inserts"] == sum(types.values()) - pets
    assert decided["医疗保健服务;综合医院;三级甲等医院"]["category"] == "hospital"
    assert decided["医疗保健服务;综合医院;卫生院"]["key"] == "医疗保健服务;综合医院;卫生院"
    emergency, prevention = "医疗保健服务;急救中心;急救中心", "医疗保健服务;疾病预防机构;疾病预防"
    assert out["unmapped"] == [
        {"value": emergency, "count": types[emergency]},
        {"value": prevention, "count": types[prevention]},
    ]
    assert len(out["problems"]) < 100
    by_value = {p["message"].split("'")[1]: p for p in out["problems"] if p["kind"] == "bad_value"}
    assert by_value[emergency]["count"] == types[emergency] == 108
    assert by_value[emergency]["more"] == 108 - 3


def test_a_mapping_file_maps_and_excludes_values(session, shared_data):
    path = shared_data / HOSPITALS
    types = amap_types(path)
    mapping = Mapping(
        values={
            "category": {
                "医疗保健服务;急救中心;急救中心": "hospital",
                "医疗保健服务;疾病预防机构;疾病预防": "exclude",
            }
        }
    )
    report = import_file(session, path, "facilities", ImportOptions(mapping=mapping), ADMIN)
    assert report.ok and report.excluded == 382 + types["医疗保健服务;疾病预防机构;疾病预防"]
    assert row_count(session, "facility") == report.written == sum(types.values()) - 382 - 66
    source = {c["value"]: c["source"] for c in report.categories}
    assert source["医疗保健服务;急救中心;急救中心"] == "mapping"
    # written in bulk (COPY on PostGIS): place, category and kept columns as in the file
    rows = session.execute(
        sa.select(
            sa.func.ST_X(Facility.geom),
            sa.func.ST_Y(Facility.geom),
            Facility.category,
            Facility.props,
        ).where(Facility.name == "上海长征医院")
    ).all()
    row = next(r for r in rows if r[3]["address"] == "凤阳路415号")
    assert row[:2] == pytest.approx((121.4630221396943, 31.234136138536872), abs=1e-9)
    assert row[2] == "hospital"


def test_points_imported_as_grids_are_one_refusal(backend, fresh_database, shared_data):
    path = shared_data / "poi/shanghai_amap/幼儿园.csv"
    with fresh_database(backend) as url:
        proc = run_gridmap("import", "grids", str(path), url=url, check=False)
        stats = json.loads(run_gridmap("stats", "--json", url=url).stdout)
    assert proc.returncode == 1 and proc.stdout.count("row") == 0
    message = proc.stderr.strip()
    assert message.count("\n") == 0, message
    assert "幼儿园.csv holds 2,284 points, but grids need polygons" in message
    assert "facilities" in message and stats["grid"] == 0


@pytest.mark.parametrize("layer", ["buildings"])
def test_lines_imported_as_buildings_are_one_refusal(session, shared_data, layer):
    path = shared_data / "buildings/wuhan_tilezen_roads.geojson"
    with pytest.raises(Exception) as err:
        import_file(session, path, layer, ImportOptions(), ADMIN)
    assert "lines, but buildings need polygons" in str(err.value)
    assert "roads, patrol tracks" in str(err.value)
