"""The installation's settings: read once from the environment, a bad value named."""

import ast
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


def test_file_overrides_and_read_limits_come_from_the_environment():
    plain = Settings.from_env({})
    assert plain.risk_weights is None and plain.field_rules is None
    limits = plain.read_limits()
    assert limits.max_bytes == 200 * 1024 * 1024
    assert (limits.max_vertices_feature, limits.max_vertices_file) == (100_000, 5_000_000)

    s = Settings.from_env(
        {
            "GRIDMAP_RISK_WEIGHTS": "/etc/gridmap/risk.yaml",
            "GRIDMAP_FIELD_RULES": "/etc/gridmap/field.yaml",
            "GRIDMAP_MAX_VERTICES_FEATURE": "50",
            "GRIDMAP_MAX_VERTICES_FILE": "500",
        }
    )
    assert s.risk_weights == Path("/etc/gridmap/risk.yaml")
    assert s.field_rules == Path("/etc/gridmap/field.yaml")
    limits = s.read_limits(max_bytes=1000)
    assert (limits.max_bytes, limits.max_vertices_feature, limits.max_vertices_file) == (
        1000,
        50,
        500,
    )
    with pytest.raises(ConfigError, match="GRIDMAP_MAX_VERTICES_FILE=many"):
        Settings.from_env({"GRIDMAP_MAX_VERTICES_FILE": "many"})


# The settings are read from the environment in geodata/settings.py alone and passed in.
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gridmap", "geodata", "web", "gridmap_cli")
READS_THE_ENVIRONMENT = {
    "geodata/settings.py": None,  # the one place, any function
    # where SpatiaLite's shared library lies: a property of the host, read by whichever
    # process opens a connection (see the comment there)
    "geodata/db/engine.py": {"_spatialite_library"},
}
# Functions still defaulting to os.environ, waiting to take their values from the Settings
# (the list may only shrink): engine's helpers, which Settings.from_env calls with its own
# mapping but web/field.py (photos) and migrations/env.py still call without one.
STILL_READING: set[str] = set()


def _environment_reads() -> set[str]:
    """``module:function`` (``module:`` at module level) of every os.environ / os.getenv."""
    found = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for scope in [tree, *ast.walk(tree)]:
                if scope is not tree and not isinstance(
                    scope, (ast.FunctionDef, ast.AsyncFunctionDef)
                ):
                    continue
                where = "" if scope is tree else scope.name
                for node in _own_nodes(scope):
                    if _reads_environment(node):
                        found.add(f"{name}:{where}")
    return found


def _own_nodes(scope):
    """The nodes of ``scope`` (a function's with its defaults) outside nested functions."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue  # counted as its own scope
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _reads_environment(node) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv"):
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom) and node.module == "os":
        return any(a.name in ("environ", "environb", "getenv") for a in node.names)
    return False


def test_no_module_reads_the_environment_but_the_settings():
    reads = _environment_reads()
    allowed = set(STILL_READING)
    for read in reads:
        module, function = read.split(":")
        functions = READS_THE_ENVIRONMENT.get(module, set())
        if functions is None or function in functions:
            allowed.add(read)
    assert sorted(reads - allowed) == [], "take these values from geodata.settings.Settings"
    assert sorted(STILL_READING - reads) == [], "these read no more: remove from STILL_READING"
