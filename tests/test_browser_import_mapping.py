"""Mapping values in the import page, in headless Chromium, on a database of its own: upload
the real Amap hospital file, map two values and leave one out, write; the stored rows follow
the choices, the audit entry records them and the saved mapping file gives the same rows
through the command line."""

import json
import threading
from collections import Counter

import pytest
import sqlalchemy as sa
import yaml

from geodata.db.engine import make_engine, session_factory
from geodata.db.models import AuditLog, Facility

from browser import PageWatch, save_screenshot, wait_until
from conftest import run_gridmap

pytestmark = pytest.mark.browser

HOSPITALS = "poi/shanghai_amap/shanghai_hospital.csv"
EMERGENCY = "医疗保健服务;急救中心;急救中心"
PREVENTION = "医疗保健服务;疾病预防机构;疾病预防"
COSMETIC = "医疗保健服务;专科医院;整形美容"
CHOICES = {EMERGENCY: "hospital", PREVENTION: "health_center", COSMETIC: "exclude"}
PASSWORD = "mapping-test-password"


@pytest.fixture
def served(backend, fresh_database):
    """An empty gridmap database with one admin, served by waitress; yields (url, db url)."""
    from waitress.server import create_server

    from web.app import create_app

    with fresh_database(backend) as url:
        run_gridmap("db", "upgrade", url=url)
        run_gridmap("user", "add", "mapper", "--role", "admin", "--password", PASSWORD, url=url)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret", "TESTING": True})
        server = create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.effective_port}", url
        finally:
            server.close()
            thread.join(timeout=5)
            app.extensions["gridmap_engine"].dispose()


def _login(chromium, base):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, app_url=base)
    page.goto(base + "/login")
    page.fill("#username", "mapper")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return context, page, watch


def _categories(url) -> Counter:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            return Counter(
                dict(
                    s.execute(
                        sa.select(Facility.category, sa.func.count()).group_by(Facility.category)
                    ).all()
                )
            )
    finally:
        engine.dispose()


def _wait(page, state):
    wait_until(
        page,
        "document.querySelector('#job') && !['checking', 'writing']"
        ".includes(document.querySelector('#job').dataset.state)",
        timeout=180_000,
    )
    assert page.get_attribute("#job", "data-state") == state, page.inner_text("#job")[:500]


def test_map_two_values_exclude_one_write_and_reproduce(
    chromium, served, shared_data, tmp_path, backend, fresh_database
):
    base, url = served
    path = shared_data / HOSPITALS
    # What the automatic decisions are, from the command line's dry run on the same database.
    auto = json.loads(
        run_gridmap(
            "import", "facilities", str(path), "--dry-run", "--json", url=url, check=False
        ).stdout
    )["categories"]
    expected: Counter = Counter()
    for c in auto:
        choice = CHOICES.get(c["value"], "exclude" if c["excluded"] else c["category"])
        if choice != "exclude":
            expected[choice] += c["count"]

    context, page, watch = _login(chromium, base)
    page.goto(base + "/import")
    page.select_option("#layer", "facilities")
    page.set_input_files("#file", str(path))
    page.locator("#upload-form button[type=submit]").click()
    _wait(page, "ready")
    assert page.get_attribute("#confirm", "disabled") is not None  # two values unmapped
    rows = page.locator("#categories tbody tr")
    values = [v.strip() for v in page.locator("#categories td.gm-value").all_inner_texts()]
    assert values[:2] == [EMERGENCY, PREVENTION]  # the unmapped ones first, most rows first
    assert len(values) == len(auto) == 61
    summary = page.inner_text("#choice-summary")
    for value, choice in CHOICES.items():
        rows.nth(values.index(value)).locator("select").select_option(choice)
    # the summary follows each choice at once, before anything is sent
    counts = {c["value"]: c["count"] for c in auto}
    excluded = sum(c["count"] for c in auto if c["excluded"]) + counts[COSMETIC]
    assert page.inner_text("#choice-summary") != summary
    assert f"{excluded}" in page.inner_text("#choice-summary")
    save_screenshot(page, f"import-mapping-chosen-{backend}")
    page.click("#apply-choices")
    _wait(page, "ready")
    assert page.get_attribute("#confirm", "disabled") is None
    saved = page.request.get(base + page.get_attribute("#save-mapping", "href"))
    assert saved.ok
    mapping_file = tmp_path / "hospital-mapping.yaml"
    mapping_file.write_bytes(saved.body())
    assert yaml.safe_load(mapping_file.read_text("utf-8"))["values"]["category"] == CHOICES
    page.click("#confirm")
    _wait(page, "done")
    save_screenshot(page, f"import-mapping-written-{backend}")
    watch.assert_clean()
    context.close()

    stored = _categories(url)
    assert stored == expected and stored["hospital"] > counts[EMERGENCY]
    engine = make_engine(url)
    with session_factory(engine)() as s:
        detail = s.scalars(sa.select(AuditLog.detail).where(AuditLog.action == "import")).one()
    engine.dispose()
    assert detail["mapping"]["values"]["category"] == CHOICES
    # the saved file through the command line, into a database of its own: the same rows
    with fresh_database(backend) as other:
        out = json.loads(
            run_gridmap(
                "import",
                "facilities",
                str(path),
                "--mapping",
                str(mapping_file),
                "--json",
                url=other,
            ).stdout
        )
        assert out["written"] == sum(expected.values())
        assert _categories(other) == stored


def test_imported_districts_are_drawn_with_their_names(chromium, served, shared_data, backend):
    """The 17 Shanghai districts of the real GBK Shapefile, imported by the command line, are
    outlined and named on the overview map (no community or grid loaded)."""
    import pyogrio

    base, url = served
    path = shared_data / "admin/shanghai_districts_gbk_ldid936/区县界_area.shp"
    run_gridmap("import", "districts", str(path), url=url)
    names = list(pyogrio.read_dataframe(path, encoding="cp936", read_geometry=False)["NAME"])
    context, page, watch = _login(chromium, base)
    wait_until(page, "window.gmReady === true", timeout=60_000)
    wait_until(page, "document.querySelectorAll('.gm-area-label').length > 0", timeout=60_000)
    labels = page.locator(".gm-area-label").all_inner_texts()
    assert sorted(labels) == sorted(names) and len(labels) == 17
    save_screenshot(page, f"overview-districts-{backend}")
    watch.assert_clean()
    context.close()
