"""The Flask app on the demo database: login, session guard, CSRF, overview, /healthz."""

import json
import re

from gridmap.maps.offline import external_urls

from conftest import login


def test_healthz_is_public_and_reports_the_database(demo_app):
    client = demo_app.test_client()
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["database"]["revision"] == body["database"]["head"]
    assert body["database"]["backend"] in ("sqlite", "postgresql")


def test_pages_need_a_session(demo_app):
    client = demo_app.test_client()
    r = client.get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    api = client.get("/api/anything", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.get_json()["error"] == "Unauthorized"


def test_wrong_password_is_refused_in_chinese(demo_app):
    client = demo_app.test_client()
    r = login(client, password="not-the-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(demo_app, demo_db):
    client = demo_app.test_client()
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": demo_db[1]})
    assert r.status_code == 400


def test_overview_after_login(demo_app, demo_db, demo_session):
    client = demo_app.test_client()
    r = login(client, password=demo_db[1])
    assert r.status_code == 302 and r.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    from conftest import row_count

    assert re.search(r'id="n-grids">(\d+)<', page).group(1) == str(row_count(demo_session, "grid"))
    assert "合成数据" in page  # the synthetic label is on screen
    assert "网格长" in page  # Chinese by default
    assert json.dumps("每个网格住户数") in page  # the legend caption, JSON-escaped in its script
    assert external_urls(page) == []  # intranet-ready: nothing loads from another host
    english = client.get("/?lang=en").get_data(as_text=True)
    assert "Households per grid" in english


def test_logout_ends_the_session(demo_app, demo_db):
    client = demo_app.test_client()
    login(client, password=demo_db[1])
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
