"""Choosing and opening the database.

``GRIDMAP_DATABASE_URL`` selects it; without it gridmap uses a SpatiaLite file
``gridmap.sqlite`` under ``$GRIDMAP_HOME`` (default: the working directory).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path

# pyogrio and pyproj bring their own GDAL and PROJ, mod_spatialite links the system PROJ:
# when SpatiaLite is loaded first and these afterwards, the process aborts at exit
# ("free(): invalid pointer"). Loading them here, before any engine exists, fixes the order.
import pyogrio.raw  # noqa: F401
import pyproj  # noqa: F401
import sqlalchemy as sa
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from gridmap.errors import ConfigError
from gridmap.messages import N_, fail

DB_FILENAME = "gridmap.sqlite"


def gridmap_home(env: Mapping[str, str]) -> Path:
    """The folder of gridmap's files (photos, backups): ``GRIDMAP_HOME``, else the current directory.

    Parameters
    ----------
    env : mapping
        The environment (Settings.from_env hands it in).

    Returns
    -------
    pathlib.Path
        The folder (not created here).
    """
    return Path(env.get("GRIDMAP_HOME") or os.getcwd())


def database_url(env: Mapping[str, str]) -> str:
    """The configured database URL, normalised to the drivers gridmap ships with.

    Parameters
    ----------
    env : mapping
        The environment (Settings.from_env hands it in): ``GRIDMAP_DATABASE_URL``, else a
        SpatiaLite file under ``GRIDMAP_HOME``.

    Returns
    -------
    str
        A SQLAlchemy URL (``postgresql+psycopg://`` for PostgreSQL).
    """
    url = env.get("GRIDMAP_DATABASE_URL")
    if not url:
        return f"sqlite:///{gridmap_home(env) / DB_FILENAME}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    """Whether an engine or database URL is SQLite (SpatiaLite).

    Parameters
    ----------
    engine_or_url : Engine or str
        The engine, or a database URL.

    Returns
    -------
    bool
        True for SQLite, False for PostgreSQL.
    """
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _spatialite_library() -> str:
    # Read here, not from Settings: where the shared library lies is a property of the host,
    # and the connection that loads it may be opened by any process (a Dask worker on
    # another machine, a test, a benchmark) that was never handed this installation's
    # Settings; the same knob as the driver's own environment variables.
    return os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    if not hasattr(dbapi_conn, "enable_load_extension"):
        raise fail(
            ConfigError,
            N_(
                "this Python's sqlite3 module cannot load extensions, so SpatiaLite cannot run; "
                "use the Debian python3 (`make install` picks it) or set GRIDMAP_DATABASE_URL to PostGIS"
            ),
        )
    dbapi_conn.enable_load_extension(True)
    try:
        dbapi_conn.load_extension(_spatialite_library())
    except sqlite3.OperationalError as exc:
        raise fail(
            ConfigError,
            N_(
                "SpatiaLite could not be loaded ({error}); install it with "
                "`sudo apt-get install libsqlite3-mod-spatialite`"
            ),
            error=str(exc),
        ) from exc
    finally:
        dbapi_conn.enable_load_extension(False)
    # Only the WGS84 family of SRIDs: gridmap stores EPSG:4326 and reprojects in Python.
    init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 5, max_overflow: int = 10
) -> Engine:
    """An engine for ``url`` with spatial support loaded.

    Parameters
    ----------
    url : str
        The database URL (the installation's is ``Settings.database_url``).
    echo : bool
        Log every SQL statement.
    pool_size, max_overflow : int
        Bounds of PostgreSQL's connection pool (connections kept, and opened beyond them).

    Returns
    -------
    Engine
        SQLite engines load SpatiaLite on each connection; PostgreSQL ones ping idle
        connections before use.
    """
    if is_sqlite(url):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One writer at a time: a request that writes (a reach run, an audit row) while
        # another holds the lock waits for it instead of failing after sqlite3's 5 s.
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    # Multi-worker servers exhaust connections without a bounded, recycled pool.
    engine = sa.create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=1800,
    )
    sa.event.listen(engine, "checkout", _ping_if_idle)
    sa.event.listen(engine, "checkin", _mark_used)
    return engine


PING_AFTER_IDLE_S = 10.0


def _mark_used(_dbapi_connection, record) -> None:
    record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """What pool_pre_ping does, but only for a connection idle a while: a busy server
    would otherwise spend a round trip per request on it. A connection the server dropped
    (a restart) is replaced here instead of failing the request."""
    if time.monotonic() - record.info.get("used_at", 0.0) < PING_AFTER_IDLE_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure: the pool opens a new connection
        raise sa.exc.DisconnectionError(str(exc)) from exc


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session maker for ``engine`` whose objects stay readable after commit.

    Parameters
    ----------
    engine : Engine
        The engine the sessions are bound to.

    Returns
    -------
    sessionmaker
        Makes sessions bound to ``engine``.
    """
    return sessionmaker(engine, expire_on_commit=False)


def describe(engine: Engine) -> str:
    """One line naming the backend and database, password hidden.

    Parameters
    ----------
    engine : Engine
        The engine to name.

    Returns
    -------
    str
        The engine's URL with the password masked.
    """
    return engine.url.render_as_string(hide_password=True)
