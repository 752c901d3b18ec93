"""A layer declared WGS84 in China: checked against what is loaded (boundaries, roads,
buildings); with nothing to compare, the report says so plainly (both backends)."""

import warnings

import pyogrio
import shapely

from geodata.column_mapping import Mapping
from geodata.importer import ImportOptions, import_file
from gridmap.crs import china_outline, share_inside
from gridmap.privacy import Requester

import derive

ADMIN = Requester.system("importer")
BUND = "buildings/shanghai_bund_tilezen_buildings.geojson"
ALONE = "Nothing is loaded here to compare it with"


def imp(session, path, layer, *, dry_run=True, mapping=None):
    options = ImportOptions(mapping=mapping or Mapping())
    with warnings.catch_warnings():  # GDAL: repeated ids in the tiled export
        warnings.simplefilter("ignore", RuntimeWarning)
        return import_file(session, path, layer, options, ADMIN, dry_run=dry_run)


def text(report) -> str:
    return " ".join(w.text for w in report.warnings)


def test_the_shipped_outline_holds_chinese_cities_and_not_their_neighbours():
    cities = [
        shapely.Point(x, y)
        for x, y in (
            (121.47, 31.23),
            (116.4, 39.9),
            (87.6, 43.8),
            (91.1, 29.65),
            (109.5, 18.25),
            (126.6, 45.75),
        )
    ]
    abroad = [
        shapely.Point(x, y)
        for x, y in ((127.0, 37.5), (105.8, 21.0), (106.9, 47.9), (-9.14, 38.72), (139.7, 35.7))
    ]
    assert share_inside(cities, china_outline()) == 1.0
    assert share_inside(abroad, china_outline()) == 0.0


def test_gcj02_districts_with_nothing_loaded_get_the_plain_line(session, shared_data):
    # Amap's Shanghai districts (GCJ-02, no .prj) read as WGS84 into an empty database
    path = shared_data / derive.GARY_DIR / "上海城区.shp"
    report = imp(session, path, "districts")
    line = text(report)
    assert "declared WGS84 and lies in China (the outline of China shipped with gridmap)" in line
    assert ALONE in line and "--coords gcj02" in line
    shift = float(line.split("sit ")[1].split(" m off")[0].replace(",", ""))
    assert 300 <= shift <= 700


def test_outside_china_nothing_is_said(session, shared_data):
    report = imp(
        session,
        shared_data / "gpkg/pygeoapi_poi_portugal.gpkg",
        "facilities",
        mapping=Mapping(defaults={"category": "shopping"}),
    )
    assert "China" not in text(report)


def test_a_shift_against_loaded_buildings_is_found(session, shared_data, tmp_path):
    imp(session, shared_data / BUND, "buildings", dry_run=False)
    # the same footprints moved to GCJ-02, declared WGS84, offered as compounds
    with warnings.catch_warnings():  # GDAL: repeated ids in the tiled export
        warnings.simplefilter("ignore", RuntimeWarning)
        frame = pyogrio.read_dataframe(shared_data / BUND)
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])].head(300)
    frame["geometry"] = shapely.transform(frame.geometry.to_numpy(), _to_gcj02)
    frame["name"] = [f"小区{i}" for i in range(len(frame))]
    path = tmp_path / "compounds.geojson"
    pyogrio.write_dataframe(frame[["name", "geometry"]], path, driver="GeoJSON")
    line = text(imp(session, path, "compounds"))
    assert "declared WGS84 but sits" in line and ALONE not in line


def _to_gcj02(xy):
    to_gcj, _to_bd = derive._oracle()
    return shapely.get_coordinates(shapely.points([to_gcj(x, y) for x, y in xy]))
