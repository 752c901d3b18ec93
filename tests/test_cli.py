"""The `gridmap` command on real databases of both backends."""

import json
import re

import pytest
import sqlalchemy as sa

from geodata.db.engine import make_engine

from conftest import BACKENDS, run_gridmap


def test_demo_build_fills_every_entity(demo_db):
    engine, password, stdout = demo_db
    url = engine.url.render_as_string(hide_password=False)
    counts = json.loads(run_gridmap("stats", "--json", url=url).stdout)
    assert counts["community"] >= 4
    assert counts["grid"] >= 30
    assert counts["building"] >= 1000
    assert counts["household"] >= 20000
    assert counts["resident"] > counts["household"]
    for table in (
        "facility",
        "key_site",
        "inspection",
        "hazard",
        "hazard_event",
        "patrol_track",
        "compound",
        "gate",
        "road",
        "street",
        "district",
    ):
        assert counts[table] > 0, table
    # other tests add users to this shared database: the demo's own is the admin
    with engine.connect() as c:
        roles = dict(c.execute(sa.text("SELECT username, role FROM staff_user")).all())
    assert roles["admin"] == "admin"
    assert counts["staff_user"] == len(roles)
    assert len(password) >= 12
    assert re.search(r"built in [0-9.]+ s", stdout)
    assert "合成数据" in stdout  # labelled synthetic


@pytest.mark.parametrize("kind", BACKENDS)
def test_osm_demo_keeps_real_names(kind, fresh_database, shared_data):
    osm = shared_data / "osm" / "beijing_haidian_cau_map.osm"
    with fresh_database(kind) as url:
        run_gridmap("demo", "--build-only", "--osm", str(osm), url=url)
        counts = json.loads(run_gridmap("stats", "--json", url=url).stdout)
        assert counts["building"] >= 200
        engine = make_engine(url)
        try:
            with engine.connect() as c:
                names = dict(
                    c.execute(
                        sa.text(
                            "SELECT name, category FROM facility WHERE name LIKE '%社区卫生服务中心%'"
                        )
                    ).all()
                )
        finally:
            engine.dispose()
        assert names.get("中国农业大学东区社区卫生服务中心") == "health_center"


def test_user_add_and_errors(fresh_database):
    with fresh_database("spatialite") as url:
        run_gridmap("db", "upgrade", url=url)
        ok = run_gridmap("user", "add", "li", "--role", "planner", url=url)
        assert re.search(r"password: \S{12,}", ok.stdout)
        bad = run_gridmap(
            "user", "add", "wang", "--role", "grid_leader", "--grid", "999", url=url, check=False
        )
        assert bad.returncode == 1
        assert bad.stderr.strip() == "Error: no grid with code 999"
        short = run_gridmap(
            "user", "add", "zhao", "--role", "viewer", "--password", "123", url=url, check=False
        )
        assert short.returncode == 1 and "at least 8 characters" in short.stderr
        counts = json.loads(run_gridmap("stats", "--json", url=url).stdout)
        assert counts["staff_user"] == 1  # failed adds wrote nothing


def test_demo_refuses_to_overwrite_real_data(fresh_database):
    with fresh_database("spatialite") as url:
        run_gridmap("db", "upgrade", url=url)
        import sqlalchemy as sa

        from geodata.db.engine import make_engine

        engine = make_engine(url)
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO street (code, name) VALUES ('110108999', '真实街道')"))
        engine.dispose()
        proc = run_gridmap("demo", "--build-only", "--seed", "1", url=url, check=False)
        assert proc.returncode == 1
        assert "not a demo" in proc.stderr
        assert json.loads(run_gridmap("stats", "--json", url=url).stdout)["street"] == 1


def test_missing_database_server_is_one_line_error():
    proc = run_gridmap("stats", "--json", url="postgresql://nobody@127.0.0.1:1/none", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ")
    assert "Traceback" not in proc.stderr
