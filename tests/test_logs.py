"""One access line per request with user and status; unhandled errors with traceback."""

from __future__ import annotations

import logging

import pytest

from geodata.db.tokens import create_token
from web.logs import configure

from conftest import login


def test_access_line_per_request_and_error_with_traceback(demo_db, caplog):
    from web.app import create_app

    url = demo_db[0].url.render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret"})

    @app.get("/test-boom")
    def boom():
        raise RuntimeError("kaboom")

    client = app.test_client()
    login(client, demo_db[1])
    caplog.set_level(logging.INFO)
    caplog.clear()
    assert client.get("/ogc/conformance?f=json").status_code == 200
    assert client.get("/test-boom").status_code == 500
    access = [r.getMessage() for r in caplog.records if r.name == "gridmap.access"]
    assert len(access) == 2
    assert access[0].startswith("GET /ogc/conformance?f=json 200 user=admin auth=session")
    assert access[1].startswith("GET /test-boom 500 user=admin")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info and "kaboom" in str(errors[0].exc_info[1])
    app.extensions["gridmap_engine"].dispose()


def test_token_requests_are_logged_as_token(demo_app, demo_db, caplog):
    from sqlalchemy.orm import Session

    with Session(demo_db[0]) as s, s.begin():
        _row, token = create_token(s, "admin", name="log", days=1)
    caplog.set_level(logging.INFO, logger="gridmap.access")
    demo_app.test_client().get("/ogc/", headers={"Authorization": f"Bearer {token}"})
    line = [r.getMessage() for r in caplog.records if r.name == "gridmap.access"][-1]
    assert line.startswith("GET /ogc/ 200 user=admin auth=token")
    assert token not in line


def test_log_level_comes_from_the_environment_and_a_wrong_one_is_named():
    root = logging.getLogger()
    before = root.level
    try:
        configure({"GRIDMAP_LOG_LEVEL": "warning"})
        assert root.level == logging.WARNING
        assert sum(h.get_name() == "gridmap" for h in root.handlers) == 1
        with pytest.raises(Exception, match="GRIDMAP_LOG_LEVEL=LOUD"):
            configure({"GRIDMAP_LOG_LEVEL": "loud"})
    finally:
        root.setLevel(before)
