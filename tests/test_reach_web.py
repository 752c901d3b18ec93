"""The planner's reachability page: Flask client on the demo, and headless Chromium (no
JavaScript errors, no requests to other hosts)."""

import re

import pytest
import sqlalchemy as sa

from browser import PageWatch, save_screenshot, wait_until
from conftest import login, row_count


def _text(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1).strip()


def test_planner_page_shows_coverage_rules_and_sites(demo_app, demo_db, demo_session):
    from geodata.reachability import ReachOptions, compute_reach

    client = demo_app.test_client()
    login(client, demo_db[1])
    page = client.get("/planner?category=kindergarten&minutes=5&k=2&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    report = compute_reach(
        demo_session, ReachOptions(categories=["kindergarten", "nursery"]), store=False
    )
    street = report.coverage[
        (report.coverage.level == "street")
        & (report.coverage.category == "kindergarten")
        & (report.coverage.threshold == "5 min")
    ].iloc[0]
    assert (
        _text(html, "residents-covered")
        == f"{int(street.residents_covered)} / {int(street.residents)}"
    )
    assert "300 m" in html and "4.5 min at 4 km/h" in html
    assert "GB 50180-2018 附录C 表C.0.2（幼儿园：服务半径不宜大于300m）" in html
    communities = row_count(demo_session, "community")
    rule_rows = re.findall(r"<tr title=\"GB 50180-2018 附录C 表C.0.2（幼儿园", html)
    assert len(rule_rows) == communities + 1  # every community and the street
    sites = re.findall(r'<tr data-rank="(\d)">', html)
    assert sites in (["1", "2"], ["1"])
    # A bad choice is explained on the page, not a crash.
    bad = client.get("/planner?category=spaceport&lang=en").get_data(as_text=True)
    assert _text(bad, "error") == "Unknown facility category spaceport"


FEATURES = """() => {
  const map = window[document.querySelector('.folium-map').id];
  const out = {covered: 0, paper_only: 0, uncovered: 0, other: 0, gaps: 0, iso: 0};
  map.eachLayer(l => {
    if (!l.feature) return;
    const p = l.feature.properties;
    if (p.state) out[p.state] += 1;
    else if (p.buildings !== undefined) out.gaps += 1;
    else if (p.distance_m !== undefined) out.iso += 1;
  });
  return out;
}"""


@pytest.mark.browser
def _count(demo_db, table: str) -> int:
    """A row count on a connection closed at once: the page stores its run meanwhile, and
    an open SQLite transaction would keep it from committing."""
    with demo_db[0].connect() as c:
        return c.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def test_planner_page_in_chromium(chromium, live_server, demo_db, backend):
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/login")
    page.fill("#username", "admin")
    page.fill("#password", demo_db[1])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(live_server + "/planner?category=health_center&minutes=15&k=3&lang=en")
    page.wait_for_selector("#reach-legend")
    wait_until(page, "window.gmReady === true")  # the buildings are fetched
    drawn = page.evaluate(FEATURES)
    assert drawn["covered"] + drawn["uncovered"] + drawn["other"] == _count(demo_db, "building")
    assert drawn["uncovered"] == int(page.inner_text("#n-uncovered"))
    assert drawn["gaps"] == int(page.inner_text("#n-gaps"))
    assert drawn["iso"] == 1  # the chosen level; the others wait in the layer control
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert [t.strip() for t in labels if t.strip().startswith("Reach within")] == [
        "Reach within 300 m (4.5 min)",
        "Reach within 500 m (7.5 min)",
        "Reach within 1000 m (15.0 min)",
    ]
    assert "km/h" in page.inner_text("#reach-legend")
    assert page.locator("#rule-table tbody tr").count() >= 2
    save_screenshot(page, f"planner-{backend}")
    # Changing the level submits the form; the busy overlay shows while the server computes
    # (its state at the moment the page unloads is kept for the next page to read).
    page.evaluate("""() => window.addEventListener('beforeunload', () => sessionStorage.setItem(
        'busyShown', String(!document.getElementById('busy').hidden)))""")
    with page.expect_navigation():
        page.select_option("#minutes", "5")
    assert "minutes=5" in page.url
    assert page.evaluate("() => sessionStorage.getItem('busyShown')") == "true"
    page.wait_for_selector("#reach-legend")
    wait_until(page, "window.gmReady === true")  # the buildings are fetched
    assert "300 m" in page.inner_text("#reach-legend")
    watch.assert_clean()
    page.close()


@pytest.fixture(scope="module")
def planner_login(demo_db):
    """A planner of the demo (committed: the live server reads it)."""
    from sqlalchemy.orm import Session

    from geodata.db.models import StaffUser
    from geodata.db.users import create_user

    with Session(demo_db[0]) as s:
        if s.query(StaffUser).filter_by(username="radius_planner").first() is None:
            create_user(s, "radius_planner", "planner", password="Planner-pass-2026")
            s.commit()
    return "radius_planner", "Planner-pass-2026"


@pytest.mark.browser
def test_planner_toggles_radius_walk_and_compare_and_downloads(
    chromium, live_server, planner_login, backend
):
    import pandas as pd

    page = chromium.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    watch = PageWatch(page, app_url=live_server)
    page.goto(live_server + "/login")
    page.fill("#username", planner_login[0])
    page.fill("#password", planner_login[1])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(live_server + "/planner?category=primary_school&view=network&k=1&lang=zh")
    page.wait_for_selector("#reach-legend")
    wait_until(page, "window.gmReady === true")  # the buildings are fetched
    assert page.inner_text("#view-toggle label.on").strip() == "步行可达"
    walk = page.inner_text("#residents-covered")
    with page.expect_navigation():
        page.click("#view-toggle label:has-text('服务半径')")
    page.wait_for_selector("#reach-legend")
    wait_until(page, "window.gmReady === true")  # the buildings are fetched
    assert "view=radius" in page.url and page.inner_text("#view-toggle label.on") == "服务半径"
    radius = page.inner_text("#residents-covered")
    assert "服务半径（圆）" in page.inner_text("#reach-legend")
    with page.expect_navigation():
        page.click("#view-toggle label:has-text('对比')")
    page.wait_for_selector("#reach-legend")
    wait_until(page, "window.gmReady === true")  # the buildings are fetched
    assert page.inner_text("#residents-covered-radius") == radius
    assert page.inner_text("#residents-covered-walk") == walk
    drawn = page.evaluate(FEATURES)
    paper = page.inner_text("#paper-only")
    assert f"{drawn['paper_only']} 楼栋" in paper and drawn["paper_only"] > 0
    assert "仅图上覆盖" in page.inner_text("#reach-legend")
    assert page.locator("#compare-table tbody tr").count() >= 2
    save_screenshot(page, f"planner-compare-{backend}")
    with page.expect_download() as download:
        page.click("#dl-csv")
    table = pd.read_csv(download.value.path(), encoding="utf-8-sig")
    assert (table["仅图上覆盖"] == "是").sum() == drawn["paper_only"]
    watch.assert_clean()
    page.close()
