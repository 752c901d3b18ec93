"""Throwaway PostGIS databases for the test suite.

    from tests.pgserver import postgis_database, describe

    with postgis_database() as url:      # "postgresql+psycopg://user@host:port/gridmap_test_..."
        engine = sqlalchemy.create_engine(url)
        ...
    # the database is dropped here (and a temporary cluster, if one was started, is gone)

Where the server comes from, in order:

(a) ``GRIDMAP_TEST_DATABASE_URL`` is set: a uniquely named database is created on that
    server (through its maintenance database).  If the URL's role may not create
    databases, the URL's own database is used as it is (after ``CREATE EXTENSION IF NOT
    EXISTS postgis``) and is neither emptied nor dropped.
(b) a PostgreSQL server answers on 127.0.0.1:5432 as role ``postgres`` or as the current
    OS user (trust auth), with the right to create databases: a database
    ``gridmap_test_<pid>_<random>`` is created there.
(c) otherwise (or when ``GRIDMAP_TEST_FORCE_TEMP_CLUSTER=1``): a temporary cluster is
    initdb'ed into a temp dir (as the ``postgres`` OS user when running as root), started
    on a free 127.0.0.1 port with trust auth and its socket in the temp dir, and stopped
    and removed on exit.

To share one server between many databases (e.g. a session-scoped temporary cluster and a
fresh database per test)::

    with postgis_server() as server:          # session scope
        with server.database() as url:        # per test
            ...

A server handle builds postgis once into a template database (``gridmap_tmpl_<pid>_<rand>``,
dropped when ``postgis_server()`` exits) and clones it: ~0.05-0.2 s per database instead of
~0.6 s for ``CREATE EXTENSION postgis`` each time.

Everything fails with :class:`PostgisUnavailable` (a ``RuntimeError``) and a message
saying what to install when no server can be had or PostGIS is missing.
"""

from __future__ import annotations

import contextlib
import getpass
import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = [
    "ENV_URL",
    "ENV_FORCE_TEMP",
    "PostgisUnavailable",
    "PgServer",
    "postgis_server",
    "postgis_database",
    "describe",
    "find_pg_bindir",
]

ENV_URL = "GRIDMAP_TEST_DATABASE_URL"
ENV_FORCE_TEMP = "GRIDMAP_TEST_FORCE_TEMP_CLUSTER"
LOCAL_HOST = "127.0.0.1"
LOCAL_PORT = 5432
DRIVER = "postgresql+psycopg"
CONNECT_TIMEOUT = 3  # seconds, for probing servers

_last_description: str | None = None


class PostgisUnavailable(RuntimeError):
    """No PostgreSQL server with PostGIS could be provided for the tests."""


# --------------------------------------------------------------------------- server handle


@dataclass
class PgServer:
    """A PostgreSQL server on which test databases are made.

    ``kind`` is one of ``"env-url"``, ``"env-url-as-is"``, ``"local-5432"``,
    ``"temp-cluster"``.  ``params`` are libpq connection keywords (host, port, user,
    password, ...) *without* dbname; ``maintenance_db`` is where CREATE/DROP DATABASE runs.
    """

    kind: str
    params: dict[str, str]
    maintenance_db: str
    as_is_url: str | None = None  # kind "env-url-as-is": the URL handed out unchanged
    query: dict[str, str] = field(default_factory=dict)  # extra URL query (sslmode, ...)
    server_version: str = ""
    postgis_version: str = ""
    detail: str = ""
    cluster_dir: Path | None = None  # kind "temp-cluster": the temp dir (data/ inside)
    use_template: bool = True  # False for one-shot use (postgis_database() without server)
    _template: str | None = field(default=None, repr=False)

    # -- connections
    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            dbname=dbname or self.maintenance_db,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            **self.params,
        )

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (``postgresql+psycopg://``) of database *dbname* on this server."""
        host = self.params.get("host")
        query = dict(self.query)
        if host and host.startswith("/"):  # unix socket directory: goes in the query
            query["host"] = host
            host = None
        return URL.create(
            DRIVER,
            username=self.params.get("user"),
            password=self.params.get("password"),
            host=host,
            port=int(self.params["port"]) if self.params.get("port") else None,
            database=dbname,
            query=query,
        ).render_as_string(hide_password=False)

    def describe(self) -> str:
        versions = ", ".join(
            v
            for v in (
                f"PostgreSQL {self.server_version}" if self.server_version else "",
                f"PostGIS {self.postgis_version}" if self.postgis_version else "",
            )
            if v
        )
        where = self.detail or self.kind
        return f"postgis: {self.kind} — {where}" + (f" ({versions})" if versions else "")

    # -- databases
    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """Yield the URL of a fresh, empty database with postgis; drop it on exit."""
        global _last_description
        if self.kind == "env-url-as-is":
            assert self.as_is_url is not None
            with self.connect() as conn:
                _create_postgis(conn, self)
            _last_description = self.describe()
            yield self.as_is_url
            return

        name = _unique_name("gridmap_test")
        if self.use_template and self._template is None:
            # Build postgis once into a template database and clone it for each database:
            # ~0.1 s a database instead of ~0.6 s for CREATE EXTENSION postgis.
            template = _unique_name("gridmap_tmpl")
            with self.connect() as conn:
                _create_database(conn, template)
            try:
                with self.connect(template) as conn:
                    _create_postgis(conn, self)
            except BaseException:
                with self.connect() as conn:
                    _drop_database(conn, template)
                raise
            self._template = template
        with self.connect() as conn:
            _create_database(conn, name, template=self._template)
        try:
            if self._template is None:
                with self.connect(name) as conn:
                    _create_postgis(conn, self)
            _last_description = self.describe()
            yield self.url(name)
        finally:
            with self.connect() as conn:
                _drop_database(conn, name)

    def close(self) -> None:
        """Drop what this handle left on the server (the template database, if any)."""
        if self._template is not None:
            with contextlib.suppress(psycopg.Error), self.connect() as conn:
                _drop_database(conn, self._template)
            self._template = None


# --------------------------------------------------------------------------- public API


@contextlib.contextmanager
def postgis_server() -> Iterator[PgServer]:
    """Yield a :class:`PgServer` chosen by the (a)/(b)/(c) order of this module's doc."""
    global _last_description
    with _choose_server() as server:
        _last_description = server.describe()
        try:
            yield server
        finally:
            server.close()


@contextlib.contextmanager
def _choose_server() -> Iterator[PgServer]:
    if _truthy(os.environ.get(ENV_FORCE_TEMP)):
        with _temp_cluster(forced=True) as server:
            yield server
        return
    env_url = os.environ.get(ENV_URL, "").strip()
    if env_url:
        yield _server_from_url(env_url)
        return
    server = _local_server()
    if server is not None:
        yield server
        return
    with _temp_cluster(forced=False) as server:
        yield server


@contextlib.contextmanager
def postgis_database(server: PgServer | None = None) -> Iterator[str]:
    """Yield a SQLAlchemy URL (``postgresql+psycopg://...``) of a FRESH, EMPTY database
    with the postgis extension created; drop it on exit (and stop a temporary cluster
    this call started).  Pass *server* to reuse one from :func:`postgis_server`."""
    if server is not None:
        with server.database() as url:
            yield url
        return
    with postgis_server() as srv:
        srv.use_template = False
        with srv.database() as url:
            yield url


def describe() -> str:
    """One line saying which PostgreSQL source is (or, before first use, would be) used.

    After a server was set up in this process it describes that one; before, it probes
    cheaply (environment, a connect attempt to 127.0.0.1:5432) and says what would be
    used, without creating anything."""
    if _last_description is not None:
        return _last_description
    if _truthy(os.environ.get(ENV_FORCE_TEMP)):
        return f"postgis: temp-cluster (forced by {ENV_FORCE_TEMP}) — {_bindir_or_missing()}"
    env_url = os.environ.get(ENV_URL, "").strip()
    if env_url:
        return f"postgis: env-url — {ENV_URL}={_safe_url(env_url)}"
    for user in _local_users():
        try:
            with psycopg.connect(
                host=LOCAL_HOST,
                port=LOCAL_PORT,
                user=user,
                dbname="postgres",
                connect_timeout=CONNECT_TIMEOUT,
            ) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
            return f"postgis: local-5432 — {user}@{LOCAL_HOST}:{LOCAL_PORT} (PostgreSQL {version})"
        except psycopg.Error:
            continue
    return f"postgis: temp-cluster — no server on {LOCAL_HOST}:{LOCAL_PORT}; {_bindir_or_missing()}"


def find_pg_bindir() -> Path | None:
    """The PostgreSQL server binaries directory: highest /usr/lib/postgresql/<major>/bin
    holding initdb and pg_ctl, else wherever initdb is on PATH; None when absent."""
    candidates = []
    for bindir in glob.glob("/usr/lib/postgresql/*/bin"):
        major = Path(bindir).parent.name
        if (
            re.fullmatch(r"\d+(\.\d+)?", major)
            and os.access(os.path.join(bindir, "initdb"), os.X_OK)
            and os.access(os.path.join(bindir, "pg_ctl"), os.X_OK)
        ):
            candidates.append((tuple(int(p) for p in major.split(".")), Path(bindir)))
    if candidates:
        return max(candidates)[1]
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    return None


# --------------------------------------------------------------------------- (a) env URL


def _server_from_url(raw: str) -> PgServer:
    try:
        url = make_url(raw)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError
        raise PostgisUnavailable(f"{ENV_URL} is not a database URL: {exc}") from exc
    if not url.drivername.startswith("postgresql"):
        raise PostgisUnavailable(f"{ENV_URL} must be a postgresql:// URL, got {url.drivername}")
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.password is not None:
        params["password"] = str(url.password)
    query = {k: (v if isinstance(v, str) else v[-1]) for k, v in url.query.items()}
    params.update(query)  # libpq keywords such as host=/socket/dir, sslmode=...
    own_db = url.database or params.get("user") or getpass.getuser()
    where = f"{ENV_URL}={_safe_url(raw)}"

    server = PgServer(
        kind="env-url", params=params, maintenance_db="postgres", query=query, detail=where
    )
    errors = []
    for dbname in ("postgres", "template1", own_db):
        try:
            server.maintenance_db = dbname
            with server.connect() as conn:
                can_create = conn.execute(
                    "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                ).fetchone()[0]
                _fill_versions(conn, server)
            break
        except psycopg.OperationalError as exc:
            errors.append(f"{dbname}: {str(exc).strip()}")
    else:
        raise PostgisUnavailable(f"cannot connect with {where}: " + "; ".join(errors))

    if can_create:
        return server
    as_is = url.set(drivername=DRIVER).render_as_string(hide_password=False)
    return PgServer(
        kind="env-url-as-is",
        params=params,
        maintenance_db=own_db,
        as_is_url=as_is,
        server_version=server.server_version,
        detail=f"{where} (role may not create databases: database used as is, not dropped)",
    )


# --------------------------------------------------------------------------- (b) local 5432


def _local_users() -> list[str]:
    users = ["postgres"]
    with contextlib.suppress(Exception):
        me = getpass.getuser()
        if me not in users:
            users.append(me)
    return users


def _local_server() -> PgServer | None:
    for user in _local_users():
        server = PgServer(
            kind="local-5432",
            params={"host": LOCAL_HOST, "port": str(LOCAL_PORT), "user": user},
            maintenance_db="postgres",
            detail=f"{user}@{LOCAL_HOST}:{LOCAL_PORT}",
        )
        try:
            with server.connect() as conn:
                can_create = conn.execute(
                    "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
                ).fetchone()[0]
                _fill_versions(conn, server)
        except psycopg.Error:
            continue
        if can_create:
            return server
    return None


# --------------------------------------------------------------------------- (c) temp cluster


@contextlib.contextmanager
def _temp_cluster(forced: bool) -> Iterator[PgServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        raise PostgisUnavailable(
            "no PostgreSQL server for the tests: none answers on "
            f"{LOCAL_HOST}:{LOCAL_PORT}, {ENV_URL} is not set, and no initdb/pg_ctl were "
            "found under /usr/lib/postgresql/*/bin. Install the Debian packages "
            "postgresql and postgresql-<major>-postgis-3 (scripts/system-deps.sh does)."
        )
    as_root = os.geteuid() == 0
    run_as: list[str] = []
    owner = None
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgisUnavailable(
                "running as root, and initdb refuses root: a 'postgres' system user is "
                "needed to run the temporary cluster (the Debian postgresql packages create it)"
            ) from None
        run_as = ["runuser", "-u", "postgres", "--"]

    tmp = Path(tempfile.mkdtemp(prefix="gridmap-pg-"))
    data = tmp / "data"
    log = tmp / "server.log"
    started = False
    try:
        if owner is not None:
            os.chown(tmp, owner.pw_uid, owner.pw_gid)
        _initdb(run_as, bindir, data, tmp)
        port = None
        for attempt in range(5):
            port = _free_port()
            _write_conf(data, port, tmp)
            proc = _run(
                [
                    *run_as,
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                cwd=tmp,
                check=False,
            )
            if proc.returncode == 0:
                started = True
                break
            if attempt == 4 or "could not bind" not in _tail(log):
                raise PostgisUnavailable(
                    f"could not start a temporary PostgreSQL cluster with {bindir}/pg_ctl:\n"
                    f"{proc.stdout}\n{_tail(log)}"
                )
        server = PgServer(
            kind="temp-cluster",
            params={"host": LOCAL_HOST, "port": str(port), "user": "postgres"},
            maintenance_db="postgres",
            cluster_dir=tmp,
            detail=(
                f"throwaway cluster in {tmp} on {LOCAL_HOST}:{port} ({bindir})"
                + (f", forced by {ENV_FORCE_TEMP}=1" if forced else "")
            ),
        )
        with server.connect() as conn:
            _fill_versions(conn, server)
        yield server
    finally:
        if started:
            _stop_cluster(run_as, bindir, data, tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def _initdb(run_as: list[str], bindir: Path, data: Path, cwd: Path) -> None:
    base = [
        *run_as,
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]
    proc = _run([*base, "--locale=C.UTF-8"], cwd=cwd, check=False)
    if proc.returncode != 0:  # no C.UTF-8 locale on this system: plain C
        shutil.rmtree(data, ignore_errors=True)
        proc = _run([*base, "--no-locale"], cwd=cwd, check=False)
    if proc.returncode != 0:
        raise PostgisUnavailable(f"initdb failed ({bindir}/initdb):\n{proc.stdout}")


def _write_conf(data: Path, port: int, socket_dir: Path) -> None:
    # Appended settings win over earlier ones; on a port retry the new block wins again.
    with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(
            "\n# gridmap tests (tests/pgserver.py)\n"
            f"listen_addresses = '{LOCAL_HOST}'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{socket_dir}'\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 100\n"
            "logging_collector = off\n"
        )


def _stop_cluster(run_as: list[str], bindir: Path, data: Path, cwd: Path) -> None:
    proc = _run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
        cwd=cwd,
        check=False,
    )
    if proc.returncode == 0:
        return
    # pg_ctl could not stop it: kill the postmaster we started (pid from postmaster.pid).
    pidfile = data / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCAL_HOST, 0))
        return s.getsockname()[1]


def _run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Output goes to a file, not a pipe: pg_ctl start leaves a daemon behind that must
    # not hold our pipe open.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as out:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
        out.seek(0)
        text = out.read()
    result = subprocess.CompletedProcess(cmd, proc.returncode, text, "")
    if check and proc.returncode != 0:
        raise PostgisUnavailable(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{text}")
    return result


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------- SQL helpers


def _fill_versions(conn: psycopg.Connection, server: PgServer) -> None:
    server.server_version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    row = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'"
    ).fetchone()
    if row is None:
        raise PostgisUnavailable(_no_postgis_message(conn, server))
    server.postgis_version = row[0]


def _no_postgis_message(conn: psycopg.Connection, server: PgServer) -> str:
    major = conn.info.server_version // 10000
    where = server.detail or server.kind
    return (
        f"the PostgreSQL {major} server used for the tests ({where}) has no postgis "
        f"extension available: install the Debian package postgresql-{major}-postgis-3 "
        "on the server's machine (scripts/system-deps.sh does it here)"
    )


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


def _create_database(conn: psycopg.Connection, name: str, template: str | None = None) -> None:
    ident = sql.Identifier(name)
    if template is not None:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(ident, sql.Identifier(template))
        )
        return
    try:  # template0: empty even if someone filled template1
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(ident))
    except psycopg.errors.InvalidParameterValue:  # server locale incompatible with UTF8
        conn.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ).format(ident)
        )


def _create_postgis(conn: psycopg.Connection, server: PgServer) -> None:
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.errors.FeatureNotSupported as exc:  # not installed after all
        raise PostgisUnavailable(_no_postgis_message(conn, server)) from exc
    except psycopg.errors.UndefinedFile as exc:  # control file missing
        raise PostgisUnavailable(_no_postgis_message(conn, server)) from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PostgisUnavailable(
            f"the role in {server.detail} may not create the postgis extension; have a "
            "superuser run CREATE EXTENSION postgis in that database, or grant CREATEDB "
            f"and use a superuser: {exc}"
        ) from exc


def _drop_database(conn: psycopg.Connection, name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    ident = sql.Identifier(name)
    if conn.info.server_version >= 130000:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
    else:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(ident))


# --------------------------------------------------------------------------- misc


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _safe_url(raw: str) -> str:
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def _bindir_or_missing() -> str:
    bindir = find_pg_bindir()
    return f"binaries in {bindir}" if bindir else "NO PostgreSQL binaries found"
