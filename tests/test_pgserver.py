"""The throwaway-PostGIS helper (tests/pgserver.py) on each of its paths."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

import pgserver


def _libpq(url: str) -> str:
    """psycopg conninfo from a SQLAlchemy postgresql+psycopg URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _check_fresh_postgis(url: str) -> None:
    assert url.startswith("postgresql+psycopg://")
    with psycopg.connect(_libpq(url)) as conn:
        version = conn.execute("SELECT postgis_version()").fetchone()[0]
        assert version.split()[0].startswith("3.")
        user_tables = conn.execute(
            """
            SELECT n.nspname || '.' || c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg_toast%'
              AND NOT EXISTS (  -- objects belonging to an extension (postgis' own)
                  SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                    AND d.deptype = 'e')
            """
        ).fetchall()
        assert user_tables == []
        extensions = {r[0] for r in conn.execute("SELECT extname FROM pg_extension")}
        assert extensions == {"plpgsql", "postgis"}


def _database_exists(admin_url: str, dbname: str) -> bool:
    with psycopg.connect(_libpq(admin_url)) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            is not None
        )


def _write_something(url: str) -> psycopg.Connection:
    """A table and an extra open connection: the drop must cope with both."""
    conn = psycopg.connect(_libpq(url), autocommit=True)
    conn.execute("CREATE TABLE grid (id int PRIMARY KEY, geom geometry(Polygon, 4326))")
    conn.execute(
        "INSERT INTO grid VALUES (1, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 1,0 0))', 4326))"
    )
    # left open on purpose: postgis_database() must terminate it before DROP DATABASE
    return conn


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv(pgserver.ENV_URL, raising=False)
    monkeypatch.delenv(pgserver.ENV_FORCE_TEMP, raising=False)
    monkeypatch.setattr(pgserver, "_last_description", None)


@pytest.fixture(scope="module")
def admin_server():
    """A server we are superuser on: the local one if it answers, else a temp cluster."""
    with pgserver.postgis_server() as server:
        assert server.kind in {"local-5432", "temp-cluster"}
        yield server


def test_env_url_path(admin_server, monkeypatch):
    monkeypatch.setenv(pgserver.ENV_URL, admin_server.url("postgres"))
    assert pgserver.describe().startswith("postgis: env-url")
    with pgserver.postgis_database() as url:
        dbname = make_url(url).database
        assert dbname.startswith("gridmap_test_")
        assert "env-url" in pgserver.describe()
        _check_fresh_postgis(url)
        leftover = _write_something(url)
        assert _database_exists(admin_server.url("postgres"), dbname)
    leftover.close()
    assert not _database_exists(admin_server.url("postgres"), dbname)


def test_env_url_without_createdb_is_used_as_is(admin_server, monkeypatch):
    suffix = f"{time.monotonic_ns() % 10**8}"
    role, dbname = f"gridmap_nocreate_{suffix}", f"gridmap_asis_{suffix}"
    with admin_server.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOCREATEDB").format(sql.Identifier(role)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(role)
            )
        )
    try:
        with admin_server.connect(dbname) as conn:  # only a superuser may add postgis
            conn.execute("CREATE EXTENSION postgis")
        env_url = make_url(admin_server.url(dbname)).set(username=role)
        monkeypatch.setenv(pgserver.ENV_URL, env_url.render_as_string(hide_password=False))
        with pgserver.postgis_database() as url:
            assert make_url(url).database == dbname
            assert make_url(url).username == role
            assert "as is" in pgserver.describe()
            _check_fresh_postgis(url)
        assert _database_exists(admin_server.url("postgres"), dbname)  # not ours to drop
    finally:
        with admin_server.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_default_path():
    local = pgserver._local_server()
    with pgserver.postgis_database() as url:
        expected = "local-5432" if local else "temp-cluster"
        assert pgserver.describe().startswith(f"postgis: {expected}")
        _check_fresh_postgis(url)
        leftover = _write_something(url)
        admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        dbname = make_url(url).database
        assert dbname.startswith("gridmap_test_")
        assert _database_exists(admin, dbname)
    leftover.close()
    if local:
        assert not _database_exists(admin, dbname)


def test_forced_temp_cluster(monkeypatch):
    monkeypatch.setenv(pgserver.ENV_FORCE_TEMP, "1")
    assert pgserver.describe().startswith("postgis: temp-cluster")
    with pgserver.postgis_server() as server, pgserver.postgis_database(server) as url:
        assert server.kind == "temp-cluster"
        assert make_url(url).port != 5432
        _check_fresh_postgis(url)
        leftover = _write_something(url)
        datadir = server.cluster_dir
        assert datadir is not None and (datadir / "data" / "PG_VERSION").is_file()
        # a second database on the same cluster is fresh too
        with pgserver.postgis_database(server) as url2:
            assert url2 != url
            _check_fresh_postgis(url2)
    leftover.close()
    assert not datadir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_libpq(url), connect_timeout=2).close()


def test_missing_postgis_message_names_the_package():
    class FakeInfo:
        server_version = 160004

    class FakeConn:
        info = FakeInfo()

    server = pgserver.PgServer(kind="local-5432", params={}, maintenance_db="postgres")
    message = pgserver._no_postgis_message(FakeConn(), server)
    assert "postgresql-16-postgis-3" in message


def test_many_databases_on_one_server_are_fresh_and_cleaned_up(monkeypatch):
    with pgserver.postgis_server() as server:
        admin = server.url("postgres")
        names = []
        for _ in range(3):  # cloned from a postgis template made on first use
            with pgserver.postgis_database(server) as url:
                names.append(make_url(url).database)
                _check_fresh_postgis(url)
                _write_something(url).close()
        template = server._template
        assert template is not None and _database_exists(admin, template)
        assert not any(_database_exists(admin, n) for n in names)
    if server.kind != "temp-cluster":
        assert not _database_exists(admin, template)


def test_default_falls_back_to_temp_cluster_when_nothing_listens(monkeypatch):
    closed_port = pgserver._free_port()  # nothing listens there
    monkeypatch.setattr(pgserver, "LOCAL_PORT", closed_port)
    assert pgserver._local_server() is None
    assert pgserver.describe().startswith("postgis: temp-cluster")
    with pgserver.postgis_database() as url:
        assert pgserver.describe().startswith("postgis: temp-cluster")
        _check_fresh_postgis(url)
