"""Refusals reach people as typed errors in their language, with the right HTTP status:
4xx for what the person can change, 500 (and a log line for the operator) for what the
installation lacks."""

import dataclasses
import logging
import re

import pytest

from geodata.db.engine import session_factory
from geodata.db.users import create_user
from gridmap.errors import ConfigError, Conflict, InvalidInput, NotFound, PermissionDenied
from web.app import error_status

from conftest import login

PASSWORD = "mapping-password-1"


@pytest.fixture(scope="module")
def leader(demo_db):
    with session_factory(demo_db[0]).begin() as s:
        create_user(s, "m_leader", "grid_leader", password=PASSWORD)
    return "m_leader"


def _client(demo_app, demo_db, username=None, password=None):
    client = demo_app.test_client()
    login(client, password or demo_db[1], username=username or "admin")
    return client


def _token(client, path="/import"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_each_error_type_has_its_status():
    assert [
        error_status(e("x"))
        for e in (InvalidInput, NotFound, PermissionDenied, Conflict, ConfigError)
    ] == [400, 404, 403, 409, 500]


def test_an_unknown_import_job_is_a_translated_404(demo_app, demo_db):
    client = _client(demo_app, demo_db)
    r = client.get("/import/no-such-job")
    assert r.status_code == 404
    assert "没有编号为 no-such-job 的导入任务。" in r.get_data(as_text=True)
    r = client.get("/import/no-such-job?lang=en")
    assert r.status_code == 404 and "No import job no-such-job." in r.get_data(as_text=True)


def test_a_bad_export_request_is_a_translated_400_in_json_too(demo_app, demo_db):
    client = _client(demo_app, demo_db)
    r = client.get("/export?layer=ghosts&format=geojson", headers={"Accept": "application/json"})
    assert r.status_code == 400
    assert r.get_json() == {"error": "InvalidInput", "message": "请选择要导出的图层和格式。"}


def test_a_form_without_its_token_is_refused_in_the_persons_language(demo_app, demo_db):
    client = _client(demo_app, demo_db)
    r = client.post("/settings", data={"display_name": "x"})
    assert r.status_code == 400
    assert "表单已过期，请刷新页面后重试。" in r.get_data(as_text=True)


def test_a_missing_setting_file_is_500_with_a_log_line(
    demo_app, demo_db, leader, monkeypatch, tmp_path, caplog
):
    missing = tmp_path / "field_rules.yaml"
    settings = dataclasses.replace(demo_app.config["SETTINGS"], field_rules=missing)
    monkeypatch.setitem(demo_app.config, "SETTINGS", settings)
    client = _client(demo_app, demo_db, leader, PASSWORD)
    with caplog.at_level(logging.ERROR, logger="gridmap.web"):
        r = client.get("/field/api/me", headers={"Accept": "application/json"})
    assert r.status_code == 500
    assert r.get_json()["error"] == "ConfigError"
    assert str(missing) in r.get_json()["message"]
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "gridmap.web"]
    assert any(
        line.startswith("configuration error on GET /field/api/me: ") and str(missing) in line
        for line in lines
    ), lines
