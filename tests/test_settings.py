"""The installation's settings: read once from the environment, a bad value named."""

from pathlib import Path

import pytest

from geodata.settings import Settings
from gridmap.errors import ConfigError


def test_defaults_and_values_from_the_environment(tmp_path):
    plain = Settings.from_env({"GRIDMAP_HOME": str(tmp_path)})
    assert plain.database_url == f"sqlite:///{tmp_path / 'gridmap.sqlite'}"
    assert (plain.max_upload_mb, plain.max_upload_bytes) == (200, 200 * 1024 * 1024)
    assert (plain.mvt_threshold, plain.db_pool_size, plain.db_max_overflow) == (3000, 5, 10)
    assert not plain.secure_cookies and not plain.proxy_fix and plain.secret_key is None
    assert plain.session_rules.idle.total_seconds() == 30 * 60

    s = Settings.from_env(
        {
            "GRIDMAP_DATABASE_URL": "postgres://u:p@db/gm",
            "GRIDMAP_MAX_UPLOAD_MB": "7",
            "GRIDMAP_SECURE_COOKIES": "1",
            "GRIDMAP_SESSION_IDLE_MIN": "5",
            "GRIDMAP_SECRET_KEY": "k",
        }
    )
    assert s.database_url == "postgresql+psycopg://u:p@db/gm"
    assert s.max_upload_bytes == 7 * 1024 * 1024 and s.secure_cookies and s.secret_key == "k"
    assert s.session_rules.idle.total_seconds() == 5 * 60
    assert s.home == Path.cwd()


def test_a_value_that_does_not_parse_names_its_variable():
    with pytest.raises(ConfigError, match=r"GRIDMAP_MAX_UPLOAD_MB=lots is not a whole number"):
        Settings.from_env({"GRIDMAP_MAX_UPLOAD_MB": "lots"})
    with pytest.raises(ConfigError, match="GRIDMAP_SESSION_IDLE_MIN"):
        Settings.from_env({"GRIDMAP_SESSION_IDLE_MIN": "half an hour"})


def test_the_app_takes_its_limits_from_the_settings(tmp_path):
    from web.app import create_app

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    settings = Settings.from_env(
        {
            "GRIDMAP_HOME": str(tmp_path),
            "GRIDMAP_DATABASE_URL": url,
            "GRIDMAP_MAX_UPLOAD_MB": "3",
            "GRIDMAP_MVT_THRESHOLD": "9",
        }
    )
    app = create_app(settings=settings)
    try:
        assert app.config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
        assert app.config["MVT_THRESHOLD"] == 9 and app.config["DATABASE_URL"] == url
        assert (tmp_path / ".gridmap_secret_key").read_text().strip() == app.config["SECRET_KEY"]
    finally:
        app.extensions["gridmap_engine"].dispose()
