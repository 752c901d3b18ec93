"""The import page end to end in headless Chromium: a real Shapefile set, zipped the way a
Chinese Windows PC zips it (GBK member names, GBK attributes, no .cpg), checked, previewed
on the map, confirmed and written."""

import pytest
import sqlalchemy as sa
from test_browser_pages import FEATURES_ON_MAP

from geodata.db import models as m
from geodata.db.engine import session_factory

import derive
from browser import PageWatch, save_screenshot

pytestmark = pytest.mark.browser


def test_upload_check_preview_confirm(
    chromium, live_server, demo_db, backend, tmp_path, shared_data
):
    engine = demo_db[0]
    parts = derive.shapefile_set(shared_data / derive.SHANGHAI_GBK, tmp_path / "set")
    archive = derive.zip_shapefile(
        parts, tmp_path / "上海区县.zip", folder="区县界/", gbk_names=True
    )
    with session_factory(engine)() as s:
        districts_before = s.scalar(sa.select(sa.func.count(m.District.id)))
        grids = s.scalar(sa.select(sa.func.count(m.Grid.id)))
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    watch = PageWatch(page, app_url=live_server)
    try:
        page.goto(live_server + "/login?next=/import")
        page.fill("#username", "admin")
        page.fill("#password", demo_db[1])
        page.click("button[type=submit]")
        page.wait_for_selector("#upload-form")
        assert page.locator("nav a[href='/import']").count() == 1
        page.select_option("#layer", "districts")
        page.set_input_files("#file", str(archive))
        page.click("#check")
        # the job page polls until the report is ready, then shows it
        page.wait_for_selector("#confirm", timeout=120_000)
        assert page.inner_text("#n-features") == "17"
        assert page.inner_text("#encoding") == "CP936"
        assert "0x4D" in page.inner_text("#encoding-reason")
        assert page.inner_text("#crs").startswith("EPSG:4326")
        assert ".prj" in page.inner_text("#crs-reason")
        assert "新增 17，更新 0" in page.inner_text("#would")
        page.wait_for_selector(".leaflet-overlay-pane canvas")
        # the 17 districts over every grid already stored
        assert page.evaluate(FEATURES_ON_MAP) == 17 + grids
        assert page.locator(".leaflet-control-layers-overlays label").count() == 2
        save_screenshot(page, f"import-report-{backend}")
        page.click("#confirm")
        page.wait_for_selector("#result", timeout=120_000)
        assert "已写入 17 条（新增 17，更新 0）" in page.inner_text("#result")
        written = page.inner_text("#written")
        assert "黄浦区" in written and "浦东新区" in written
        save_screenshot(page, f"import-result-{backend}")
        watch.assert_clean()
        with session_factory(engine)() as s:
            names = dict(
                s.execute(
                    sa.select(m.District.code, m.District.name).where(m.District.code.like("310%"))
                ).all()
            )
            assert names["310101"] == "黄浦区" and names["310115"] == "浦东新区"
            assert len(names) == 17
            assert s.scalar(sa.select(sa.func.count(m.District.id))) == districts_before + 17
    finally:
        page.close()
        # leave the shared demo as it was for the other tests
        with session_factory(engine).begin() as s:
            s.execute(sa.delete(m.District).where(m.District.code.like("310%")))
