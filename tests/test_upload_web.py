"""The import page through Flask's test client on the demo database (nothing is written)."""

import bz2
import io
import re
import time

import pyogrio
import pytest

from geodata.db.engine import session_factory
from geodata.db.store import table_counts
from gridmap.maps.offline import external_urls

import derive
from conftest import login


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _wait(client, job_url: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get(job_url + "/status").get_json()
        if status["state"] not in ("checking", "writing") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _counts(demo_db) -> dict:
    """Rows per table, read in a short transaction: a read held open through the test would
    keep the app (which writes its job rows) from committing on SQLite."""
    with session_factory(demo_db[0])() as s:
        return table_counts(s)


@pytest.fixture
def client(demo_app, demo_db):
    c = demo_app.test_client()
    login(c, password=demo_db[1])
    return c


def _upload(client, data: bytes, filename: str, layer: str, **fields):
    token = _token(client.get("/import").get_data(as_text=True))
    form = {"csrf_token": token, "layer": layer, "file": (io.BytesIO(data), filename), **fields}
    r = client.post("/import", data=form, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    job = r.headers["Location"]
    return job, _wait(client, job)


def test_form_is_chinese_and_offline(client):
    page = client.get("/import").get_data(as_text=True)
    assert "导入数据" in page and "GCJ-02（高德、腾讯、DataV）" in page
    assert 'enctype="multipart/form-data"' in page and "csrf_token" in page
    assert external_urls(page) == []


def test_bad_file_shows_its_message_on_the_page_and_writes_nothing(
    client, demo_db, tmp_path, shared_data
):
    before = _counts(demo_db)
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "s")
    good = derive.zip_shapefile(parts, tmp_path / "g.zip").read_bytes()
    job, status = _upload(client, good[:3000], "区县.zip", "districts")
    assert status["state"] == "failed"
    page = client.get(job).get_data(as_text=True)
    assert "不是可读的 zip 压缩包" in page and "没有写入任何数据" in page
    slip = derive.zip_files({"../../evil.shp": b"x"}, tmp_path / "slip.zip").read_bytes()
    job, status = _upload(client, slip, "slip.zip", "districts")
    assert "zip-slip" in client.get(job).get_data(as_text=True)
    assert _counts(demo_db) == before


def test_overlapping_grids_cannot_be_confirmed(client, demo_db, tmp_path):
    import geopandas as gpd
    import shapely

    before = _counts(demo_db)
    frame = gpd.GeoDataFrame(
        {"网格编码": ["A1", "A2"], "网格名称": ["甲", "乙"]},
        geometry=[
            shapely.box(116.30, 39.98, 116.31, 39.99),
            shapely.box(116.305, 39.98, 116.315, 39.99),
        ],
        crs="EPSG:4326",
    )
    path = tmp_path / "grids.geojson"
    pyogrio.write_dataframe(frame, path)
    job, status = _upload(client, path.read_bytes(), "网格.geojson", "grids")
    assert status["state"] == "ready"
    page = client.get(job).get_data(as_text=True)
    assert 'id="confirm" disabled' in page
    assert "重叠" in page and re.search(r"与网格 A2（第 2 行）重叠 [\d,]+ m²", page)
    assert "leaflet" in page and external_urls(page) == []
    r = client.post(job + "/confirm", data={"csrf_token": _token(page)})
    assert r.status_code == 409
    assert _counts(demo_db) == before


def test_layer_choice_is_offered(client, tmp_path, shared_data):
    files = {}
    for city in ("上海城区", "深圳市"):
        for part in (shared_data / derive.GARY_DIR).glob(f"{city}.*"):
            files[part.name] = part
    data = derive.zip_files(files, tmp_path / "two.zip").read_bytes()
    job, status = _upload(client, data, "two.zip", "districts", coords="gcj02")
    assert status["state"] == "failed"
    page = client.get(job).get_data(as_text=True)
    assert 'id="source-layer"' in page and "深圳市.shp" in page
    r = client.post(job + "/layer", data={"csrf_token": _token(page), "source_layer": "深圳市.shp"})
    assert r.status_code == 302
    assert _wait(client, job)["state"] == "ready"
    page = client.get(job).get_data(as_text=True)
    assert 'id="n-features">9<' in page
    assert "福田区".encode("unicode_escape").decode() in page  # in the preview map's GeoJSON


def test_export_download_and_roles(client, demo_app, demo_db):
    r = client.get("/export?layer=grids&format=shp")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert r.data[:2] == b"PK"
    assert client.get("/export?layer=nope&format=shp").status_code == 400


def test_viewer_may_not_import(demo_app, demo_db, tmp_path):
    from geodata.db.engine import session_factory
    from geodata.db.users import create_user

    with session_factory(demo_db[0]).begin() as s:
        create_user(s, "viewer-import-test", "viewer", password="viewer-password")
    c = demo_app.test_client()
    login(c, password="viewer-password", username="viewer-import-test")
    token = _token(c.get("/import").get_data(as_text=True))
    r = c.post(
        "/import",
        data={"csrf_token": token, "layer": "districts", "file": (io.BytesIO(b"a,b\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 403 and "您的角色不能导入数据" in r.get_data(as_text=True)


def test_osm_extract_checked_as_roads(client, demo_db, shared_data):
    before = _counts(demo_db)
    form = client.get("/import").get_data(as_text=True)
    assert '<option value="roads">道路和步行路径</option>' in form and ".osm" in form
    data = bz2.compress((shared_data / "osm/beijing_haidian_cau_map.osm").read_bytes())
    job, status = _upload(client, data, "海淀.osm.bz2", "roads")
    assert status["state"] == "ready"
    page = client.get(job).get_data(as_text=True)
    assert 'id="n-features">302<' in page and 'id="encoding">UTF-8<' in page
    assert "OpenStreetMap 坐标一律为 WGS84" in page
    assert "leaflet" in page and external_urls(page) == []
    assert _counts(demo_db) == before  # checked, not confirmed: nothing written
