"""geodata.readers on the real files in ../shared/data and files derived from them."""

import zipfile

import numpy as np
import pyogrio
import pyproj
import pytest
import shapely

from geodata.readers import (
    LayerChoiceNeeded,
    Limits,
    ReadOptions,
    guess_text_encoding,
    member_name,
    read_source,
    spool,
)
from gridmap.notes import InputRejected

import derive

GEOD = pyproj.Geod(ellps="WGS84")
SHANGHAI_DISTRICTS = {
    "黄浦区",
    "浦东新区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "闸北区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明县",
}


def max_vertex_error_m(a, b) -> float:
    """Largest distance (m) between corresponding vertices of two geometry arrays."""
    ca = shapely.get_coordinates(np.asarray(a, dtype=object))
    cb = shapely.get_coordinates(np.asarray(b, dtype=object))
    assert ca.shape == cb.shape
    return float(np.max(GEOD.inv(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])[2]))


@pytest.fixture(scope="module")
def original(shared_data):
    """The GBK Shanghai districts as GDAL reads them with the right encoding (the truth)."""
    return pyogrio.read_dataframe(shared_data / derive.SHANGHAI_GBK, encoding="GBK")


# --- encodings -----------------------------------------------------------------------------
def test_gbk_shapefile_by_language_driver_byte(shared_data, original):
    src = read_source(shared_data / derive.SHANGHAI_GBK)
    assert src.encoding == "CP936"
    assert "language-driver byte is 0x4D" in src.encoding_reason.text
    assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS
    assert src.crs.startswith("EPSG:4326") and ".prj" in src.crs_reason.text
    assert max_vertex_error_m(src.frame.geometry, original.geometry) == 0


def test_utf8_shapefile_without_cpg_detected_from_bytes(shared_data):
    for city, expect in (
        ("上海城区", {"黄浦区", "浦东新区"}),
        ("北京城区", {"海淀区", "朝阳区"}),
        ("深圳市", {"福田区", "南山区"}),
        ("杭州市", {"西湖区", "上城区"}),
    ):
        src = read_source(
            shared_data / derive.GARY_DIR / f"{city}.shp", ReadOptions(coords="gcj02")
        )
        assert src.encoding == "UTF-8", city
        assert "valid UTF-8" in src.encoding_reason.text
        assert expect <= set(src.frame["name"]), city
        assert "no CRS in the file" in src.crs_reason.text


def test_gbk_without_cpg_and_without_language_driver(shared_data, tmp_path):
    shp = derive.gbk_without_cpg(
        shared_data / derive.GARY_DIR / "上海城区.shp", tmp_path / "gbk" / "上海城区.shp"
    )
    assert not shp.with_suffix(".cpg").exists()
    assert shp.with_suffix(".dbf").read_bytes()[29] == 0
    src = read_source(shp)
    assert src.encoding == "GB18030" and "GBK/GB18030" in src.encoding_reason.text
    assert {"黄浦区", "浦东新区", "崇明区"} <= set(src.frame["name"])


def test_encoding_override_beats_a_wrong_cpg(shared_data, tmp_path):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "wrong")
    cpg = parts[".shp"].with_suffix(".cpg")
    cpg.write_text("88591")  # lies: the text is GBK, and Latin-1 decodes any byte
    wrong = read_source(parts[".shp"])
    assert wrong.encoding == "ISO-8859-1" and "黄浦区" not in set(wrong.frame["NAME"])
    right = read_source(parts[".shp"], ReadOptions(encoding="GBK"))
    assert right.encoding == "CP936" and right.encoding_reason.text == "given with --encoding"
    assert set(right.frame["NAME"]) == SHANGHAI_DISTRICTS
    with pytest.raises(InputRejected, match="not valid UTF-8; pass the right --encoding"):
        read_source(parts[".shp"], ReadOptions(encoding="UTF-8"))


def test_a_cpg_that_cannot_decode_the_text_is_overruled(shared_data, tmp_path):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "u8")
    parts[".shp"].with_suffix(".cpg").write_text("UTF-8")
    src = read_source(parts[".shp"])
    assert src.encoding == "GB18030"
    assert src.encoding_reason.text.startswith("the .cpg says UTF-8, but the text is not valid")
    assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS


def test_text_guess():
    assert guess_text_encoding("黄浦区".encode())[0] == "UTF-8"
    assert guess_text_encoding("黄浦区,浦东新区".encode("gbk"))[0] == "GB18030"
    assert guess_text_encoding(b"plain")[0] == "UTF-8"
    assert guess_text_encoding(bytes(range(128, 256)) * 20) is None


# --- formats -----------------------------------------------------------------------------
def test_zip_with_nested_folders_and_gbk_member_names(shared_data, tmp_path, original):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "set")
    archive = derive.zip_shapefile(
        parts, tmp_path / "上海.zip", folder="测绘成果/2015/区县/", gbk_names=True
    )
    with zipfile.ZipFile(archive) as zf:  # really stored as GBK, no UTF-8 flag
        info = zf.infolist()[0]
        assert not info.flag_bits & 0x800 and "测绘" not in info.filename
        assert member_name(info).startswith("测绘成果/2015/区县/区县界_area")
    src = read_source(archive)
    assert src.format == "shapefile" and src.layer == "区县界_area"
    assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS
    assert any("测绘成果/2015/区县/区县界_area.shp" in n.text for n in src.notes)
    assert max_vertex_error_m(src.frame.geometry, original.geometry) == 0


def test_zip_with_two_shapefiles_needs_a_choice(shared_data, tmp_path):
    files = {}
    for city in ("上海城区", "深圳市"):
        for part in (shared_data / derive.GARY_DIR).glob(f"{city}.*"):
            files[f"districts/{part.name}"] = part
    archive = derive.zip_files(files, tmp_path / "two.zip")
    with pytest.raises(LayerChoiceNeeded) as err:
        read_source(archive)
    assert err.value.choices == ["districts/上海城区.shp", "districts/深圳市.shp"]
    assert "--layer" in str(err.value)
    src = read_source(archive, ReadOptions(layer="深圳市", coords="gcj02"))
    assert "福田区" in set(src.frame["name"]) and len(src.frame) == 9


def test_geojson_mixed_polygons(shared_data):
    src = read_source(shared_data / "admin/shenzhen_districts_sz.json")
    assert src.format == "geojson" and len(src.frame) == 10
    assert "罗湖" in set(src.frame["qh"])
    assert set(src.frame.geometry.geom_type) == {"Polygon", "MultiPolygon"}


def test_geopackage_layers_and_projected_crs(shared_data):
    src = read_source(shared_data / "gpkg/pygeoapi_dutch_addresses_28992.gpkg")
    assert "EPSG:28992" in src.crs and len(src.frame) == 2481
    raw = pyogrio.read_dataframe(shared_data / "gpkg/pygeoapi_dutch_addresses_28992.gpkg")
    expect = raw.to_crs(4326)
    assert max_vertex_error_m(src.frame.geometry, expect.geometry) < 0.01
    # netherlands: lon 5-7, lat 51-53
    minx, miny, maxx, maxy = src.frame.total_bounds
    assert 3 < minx < maxx < 8 and 50 < miny < maxy < 54


def test_geopackage_with_two_layers_lists_them(shared_data, tmp_path):
    gpkg = tmp_path / "two.gpkg"
    a = pyogrio.read_dataframe(shared_data / "gpkg/pygeoapi_poi_portugal.gpkg", max_features=5)
    pyogrio.write_dataframe(a, gpkg, layer="poi")
    pyogrio.write_dataframe(a.iloc[:2], gpkg, layer="poi_small", append=False)
    with pytest.raises(LayerChoiceNeeded) as err:
        read_source(gpkg)
    assert set(err.value.choices) == {"poi", "poi_small"}
    assert len(read_source(gpkg, ReadOptions(layer="poi_small")).frame) == 2
    with pytest.raises(LayerChoiceNeeded, match="no layer 'nope'"):
        read_source(gpkg, ReadOptions(layer="nope"))


def test_kml_unclosed_ring_is_closed_with_a_report_line(shared_data):
    src = read_source(shared_data / derive.KML)
    assert [(p.row, p.kind, p.severity) for p in src.problems] == [(1, "repaired", "info")]
    poly = src.frame.geometry.iloc[0]
    assert poly.geom_type == "Polygon" and poly.is_valid
    ring = shapely.get_coordinates(poly.exterior)
    assert len(ring) == 5 and tuple(ring[0]) == tuple(ring[-1])
    assert tuple(ring[0]) == (120.747561091743, 23.4554543898401)
    assert src.frame["易成孤島地區名稱"].iloc[0] == "嘉義縣阿里山鄉達邦村"


def test_kmz(shared_data, tmp_path):
    kmz = derive.zip_files({"doc.kml": shared_data / derive.KML}, tmp_path / "孤島.kmz")
    src = read_source(kmz)
    assert src.format == "kmz" and len(src.frame) == 1
    assert src.problems[0].kind == "repaired"


def test_kml_ring_too_short_to_close_is_an_error(shared_data, tmp_path):
    text = (shared_data / derive.KML).read_text(encoding="utf-8")
    start = text.index("<coordinates>") + len("<coordinates>")
    end = text.index("</coordinates>")
    bad = tmp_path / "short.kml"
    bad.write_text(
        text[:start] + "120.7475,23.4554 120.7527,23.4571" + text[end:], encoding="utf-8"
    )
    src = read_source(bad)
    assert src.problems[0].severity == "error"
    assert "only 2 distinct points" in src.problems[0].message


def test_csv_with_lon_lat(shared_data):
    src = read_source(shared_data / "poi/shanghai_amap/小学.csv")
    assert src.format == "csv" and len(src.frame) == 931
    assert src.frame["name"].iloc[0] == "蓬莱路第二小学"
    pt = src.frame.geometry.iloc[0]
    assert (pt.x, pt.y) == (121.48559491334524, 31.220105849202856)
    assert "lat" not in src.frame.columns and "lon" not in src.frame.columns


def test_csv_in_gbk_with_chinese_columns_and_wkt(tmp_path):
    path = tmp_path / "网格.csv"
    rows = [
        "网格名称,网格编码,WKT",
        '第一网格,110108001001001,"POLYGON ((116.30 39.98, 116.31 39.98, 116.31 39.99, '
        '116.30 39.99, 116.30 39.98))"',
        "第二网格,110108001001002,not wkt",
    ]
    path.write_bytes("\n".join(rows).encode("gbk"))
    src = read_source(path)
    assert src.encoding == "GB18030"
    assert list(src.frame["网格名称"]) == ["第一网格", "第二网格"]
    assert src.frame["网格编码"].iloc[0] == "110108001001001"  # a string, leading digits kept
    assert src.frame.geometry.iloc[0].area > 0
    assert [(p.row, p.kind) for p in src.problems] == [(2, "no_coordinates")]


def test_xlsx_sheets(tmp_path):
    import pandas as pd

    path = tmp_path / "重点场所.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        pd.DataFrame(
            {
                "场所名称": ["A网吧", "B餐馆"],
                "类别": ["网吧", "餐饮场所"],
                "经度": [116.35, 116.351],
                "纬度": [40.0, 40.001],
            }
        ).to_excel(xl, sheet_name="场所", index=False)
        pd.DataFrame({"x": []}).to_excel(xl, sheet_name="说明", index=False)
    src = read_source(path)
    assert src.layer == "场所" and list(src.frame["场所名称"]) == ["A网吧", "B餐馆"]
    assert src.frame.geometry.iloc[1].x == pytest.approx(116.351)
    assert src.layers == ["场所", "说明"]


def test_gpx_track_points_with_times(tmp_path):
    gpx = tmp_path / "巡查.gpx"
    gpx.write_text(GPX, encoding="utf-8")
    src = read_source(gpx)
    assert src.format == "gpx" and len(src.frame) == 1
    row = src.frame.iloc[0]
    assert row["name"] == "张三" and len(row["times"]) == 3
    assert shapely.get_coordinates(row.geometry).tolist()[0] == [116.35, 40.0]
    assert str(row["times"][2]).startswith("2024-05-01 08:04:00")


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
<trk><name>张三</name><trkseg>
<trkpt lat="40.0" lon="116.35"><time>2024-05-01T00:00:00Z</time></trkpt>
<trkpt lat="40.001" lon="116.351"><time>2024-05-01T00:02:00Z</time></trkpt>
<trkpt lat="40.002" lon="116.351"><time>2024-05-01T00:04:00Z</time></trkpt>
</trkseg></trk></gpx>
"""


# --- CRS -----------------------------------------------------------------------------
def test_gauss_kruger_zone_without_prj(shared_data, tmp_path, original):
    shp = derive.reproject_shp(shared_data / derive.SHANGHAI_GBK, tmp_path / "gk" / "d.shp", 4528)
    assert not shp.with_suffix(".prj").exists()
    src = read_source(shp)
    assert src.crs.startswith("EPSG:4528")
    assert "zone prefix 40" in src.crs_reason.text
    assert max_vertex_error_m(src.frame.geometry, original.geometry) < 1.0


def test_six_digit_eastings_need_the_zone(shared_data, tmp_path, original):
    shp = derive.reproject_shp(shared_data / derive.SHANGHAI_GBK, tmp_path / "gk6" / "d.shp", 4549)
    with pytest.raises(InputRejected, match="six digits"):
        read_source(shp)
    for opts in (ReadOptions(crs="EPSG:4549"), ReadOptions(central_meridian=120)):
        src = read_source(shp, opts)
        assert src.crs.startswith("EPSG:4549")
        assert max_vertex_error_m(src.frame.geometry, original.geometry) < 1.0


def test_esri_gauss_kruger_prj(shared_data, tmp_path, original):
    shp = derive.reproject_shp(
        shared_data / derive.SHANGHAI_GBK, tmp_path / "gk" / "d.shp", 4549, prj=True
    )
    shp.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(4549).to_wkt("WKT1_ESRI"))
    assert 'PROJECTION["Gauss_Kruger"]' in shp.with_suffix(".prj").read_text()
    src = read_source(shp)
    assert "ESRI Gauss_Kruger projection read as Transverse Mercator" in src.crs_reason.text
    assert "EPSG:4549" in src.crs
    assert max_vertex_error_m(src.frame.geometry, original.geometry) < 1.0
    assert not src.warnings


def test_beijing54_and_xian80_warn_and_are_tens_of_metres_off(shared_data, tmp_path, original):
    for epsg, datum in ((2437, "Beijing 1954"), (2385, "Xi'an 1980")):
        # The ESRI .prj that survey bureaus ship carries no datum-shift parameters.
        shp = derive.reproject_shp(
            shared_data / derive.SHANGHAI_GBK, tmp_path / str(epsg) / "d.shp", epsg, prj=True
        )
        shp.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(epsg).to_wkt("WKT1_ESRI"))
        src = read_source(shp)
        warning = " ".join(w.text for w in src.warnings)
        assert datum in warning and "tens of metres" in warning
        assert "without datum parameters" in warning
        error_m = max_vertex_error_m(src.frame.geometry, original.geometry)
        if epsg == 2437:  # EPSG knows a Beijing 1954 shift; the .prj does not carry it
            assert 10 < error_m < 200
        else:  # no public Xi'an 1980 shift at all: both ways ignore the datum
            assert error_m < 1.0
        assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS


def test_crs_override(shared_data, tmp_path, original):
    shp = derive.reproject_shp(
        shared_data / derive.SHANGHAI_GBK, tmp_path / "ov" / "d.shp", 4549, prj=True
    )
    shp.with_suffix(".prj").write_text(pyproj.CRS.from_epsg(4326).to_wkt("WKT1_ESRI"))
    with pytest.raises(InputRejected, match="CRS in the file is wrong"):
        read_source(shp)
    src = read_source(shp, ReadOptions(crs="4549"))
    assert "given with --crs" in src.crs_reason.text
    assert max_vertex_error_m(src.frame.geometry, original.geometry) < 1.0


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_datum_shifted_copies_come_back_within_half_a_metre(shared_data, tmp_path, original, datum):
    path = derive.shifted_geojson(
        shared_data / derive.SHANGHAI_GBK, tmp_path / f"{datum}.geojson", datum
    )
    plain = read_source(path)
    assert max_vertex_error_m(plain.frame.geometry, original.geometry) > 300
    src = read_source(path, ReadOptions(coords=datum))
    assert max_vertex_error_m(src.frame.geometry, original.geometry) < 0.5
    assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS
    with pytest.raises(InputRejected, match="applies to longitude/latitude"):
        shp = derive.reproject_shp(
            shared_data / derive.SHANGHAI_GBK, tmp_path / "p" / "d.shp", 4528
        )
        read_source(shp, ReadOptions(coords=datum))


# --- safety ------------------------------------------------------------------------------
def test_corrupt_zip(shared_data, tmp_path):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "set")
    good = derive.zip_shapefile(parts, tmp_path / "good.zip")
    data = good.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputRejected, match="not a readable zip archive"):
        read_source(cut)
    flipped = bytearray(data)
    flipped[200:400] = bytes(200)  # damage the deflated data of the first member
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(InputRejected, match="corrupt|cannot be opened"):
        read_source(bad)


@pytest.mark.parametrize(
    "member",
    ["../../evil.shp", "/etc/evil.shp", "a/../../evil.csv", "C:\\evil.csv", "..\\..\\evil.csv"],
)
def test_zip_slip_and_absolute_paths(tmp_path, member):
    archive = derive.zip_files({member: b"name,lon,lat\nx,116,40\n"}, tmp_path / "slip.zip")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(InputRejected, match="zip-slip"):
        read_source(archive, workdir=work)
    assert not (tmp_path / "evil.shp").exists() and not (tmp_path / "evil.csv").exists()


def test_zip_bomb_by_ratio_and_total(tmp_path):
    bomb = derive.zip_bomb(tmp_path / "bomb.zip", size_mb=64)
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(InputRejected, match="zip bomb"):
        read_source(bomb)
    small = derive.zip_files(
        {"a.csv": b"name,lon,lat\n" + b"x,116,40\n" * 200_000}, tmp_path / "big.zip"
    )
    with pytest.raises(InputRejected, match="zip bomb"):
        read_source(small, ReadOptions(limits=Limits(max_unpacked_bytes=100_000)))
    liar = derive.zip_lying_header(tmp_path / "liar.zip")
    with pytest.raises(InputRejected, match="zip bomb|corrupt"):
        read_source(liar)


def test_size_cap(shared_data, tmp_path):
    with pytest.raises(InputRejected, match="larger than the 0 MB limit"):
        read_source(
            shared_data / "poi/shanghai_amap/小学.csv", ReadOptions(limits=Limits(max_bytes=1000))
        )
    from io import BytesIO

    with pytest.raises(InputRejected, match="limit"):
        spool(BytesIO(b"x" * 5000), "../../上传.csv", tmp_path, max_bytes=1000)
    assert list(tmp_path.iterdir()) == []
    saved = spool(BytesIO(b"a,b\n"), "C:\\Users\\x\\上传.csv", tmp_path, max_bytes=1000)
    assert saved.name == "上传.csv" and saved.parent == tmp_path


def test_missing_shp_and_sidecars(shared_data, tmp_path, original):
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "set")
    no_shp = {k: v for k, v in parts.items() if k != ".shp"}
    archive = derive.zip_shapefile(no_shp, tmp_path / "noshp.zip")
    with pytest.raises(InputRejected, match="has no .shp next to it"):
        read_source(archive)
    with pytest.raises(InputRejected, match="only the attribute table"):
        read_source(parts[".dbf"])
    parts[".shx"].unlink()
    src = read_source(parts[".shp"])  # GDAL rebuilds a missing .shx, and says so
    assert len(src.frame) == 17 and any(".shx" in w.text for w in src.warnings)
    assert set(src.frame["NAME"]) == SHANGHAI_DISTRICTS
    assert not parts[".shp"].with_suffix(".shx").exists()  # the original is left alone
    assert max_vertex_error_m(src.frame.geometry, original.geometry) == 0


def test_mislabelled_and_unknown_formats(shared_data, tmp_path):
    fake_zip = tmp_path / "districts.zip"
    fake_zip.write_bytes((shared_data / "admin/shenzhen_districts_sz.json").read_bytes())
    with pytest.raises(InputRejected, match="named .zip but it is JSON/GeoJSON"):
        read_source(fake_zip)
    fake_geojson = tmp_path / "points.geojson"
    fake_geojson.write_bytes((shared_data / "poi/shanghai_amap/小学.csv").read_bytes())
    with pytest.raises(InputRejected, match="named .geojson but it is CSV"):
        read_source(fake_geojson)
    junk = tmp_path / "data.bin"
    junk.write_bytes(bytes(range(256)))
    with pytest.raises(InputRejected, match="unknown format"):
        read_source(junk)
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(100))
    with pytest.raises(InputRejected, match="save it as .xlsx"):
        read_source(xls)
    not_zip = tmp_path / "empty.zip"
    not_zip.write_bytes(b"")
    with pytest.raises(InputRejected, match="empty"):
        read_source(not_zip)


def test_csv_columns_named_with_their_datum(tmp_path):
    from test_crs import oracle_wgs_to_gcj

    gx, gy = oracle_wgs_to_gcj(121.4737, 31.2304)
    path = tmp_path / "amap.csv"
    path.write_text(f"名称,经度(GCJ02),纬度(GCJ02)\n人民广场,{gx},{gy}\n", encoding="utf-8")
    src = read_source(path, ReadOptions(coords="gcj02"))
    pt = src.frame.geometry.iloc[0]
    assert GEOD.inv(pt.x, pt.y, 121.4737, 31.2304)[2] < 0.5
    assert list(src.frame.columns) == ["名称", "geometry"]
