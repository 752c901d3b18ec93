"""Shared fixtures: real PostGIS and SpatiaLite databases, the demo, the app, a browser.

Database tests run on both backends. A missing backend or browser skips locally
but fails under CI=true, so CI cannot pass by testing less.
"""

from __future__ import annotations

import os
import tempfile
import threading
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.engine import make_engine
from geodata.db.migrate import upgrade

from pgserver import PostgisUnavailable, describe, postgis_server

BACKENDS = ["spatialite", "postgis"]
IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing backend fails instead of skipping)")
    pytest.skip(reason)


def pytest_report_header(config):
    return describe()


# The files an app writes under its home (import jobs, photos) go to a throwaway folder,
# never into the checkout the tests run from; a test that needs its own home sets it.
os.environ.setdefault("GRIDMAP_HOME", tempfile.mkdtemp(prefix="gridmap-test-home-"))


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="run only this backend's database tests (spatialite also runs the tests that use "
        "no database backend); `make test` runs one pytest per backend side by side",
    )


def pytest_collection_modifyitems(config, items):
    only = config.getoption("--backend")
    if only is None:
        return
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        marker = item.get_closest_marker("backend")
        backend = params.get("backend") if params else (marker.args[0] if marker else None)
        (keep if backend == only or (backend is None and only == "spatialite") else drop).append(
            item
        )
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        unavailable(f"shared data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pg_server():
    with ExitStack() as stack:
        try:
            server = stack.enter_context(postgis_server())
        except PostgisUnavailable as exc:
            unavailable(str(exc))
        yield server


@pytest.fixture(scope="session")
def fresh_database(request, tmp_path_factory):
    """A factory of fresh, empty databases of a backend: ``with fresh_database(b) as url``."""

    @contextmanager
    def make(backend: str):
        if backend == "spatialite":
            path = tmp_path_factory.mktemp("spatialite") / "gridmap.sqlite"
            yield f"sqlite:///{path}"
        else:
            server = request.getfixturevalue("pg_server")
            with server.database() as url:
                yield url

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def db_engine(backend, fresh_database):
    """A migrated, empty database of each backend, shared by the session."""
    with fresh_database(backend) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@contextmanager
def rolled_back_session(engine):
    """A session whose work, commits included (savepoints), is rolled back at the end."""
    with engine.connect() as connection:
        transaction = connection.begin()
        s = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield s
        finally:
            s.close()
            transaction.rollback()


@pytest.fixture
def session(db_engine):
    with rolled_back_session(db_engine) as s:
        yield s


def run_gridmap(*args: str, url: str, check: bool = True, timeout: float = 300):
    """Run the installed `gridmap` command against the database at ``url``."""
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "gridmap"
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    proc = subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"gridmap {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    url: str,
    *args: str,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    ready: tuple[int, ...] = (200,),
    timeout_s: float = 60,
):
    """Start `gridmap serve ARGS` on a free port against ``url`` and wait until /healthz
    answers with a status in ``ready``; returns (process, base URL). The caller stops it.
    Output goes to ``log`` (shown when the server dies or never answers)."""
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    port = free_port()
    exe = Path(sys.executable).parent / "gridmap"
    out = log.open("w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(exe), "serve", *args, "--port", str(port)],
        env={**os.environ, "GRIDMAP_DATABASE_URL": url, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    if log:
        out.close()  # the child holds its own copy
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                status = r.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = None
        if status in ready:
            return proc, base
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            proc.wait()
            raise AssertionError(
                "gridmap serve did not answer" + (f":\n{log.read_text()[-3000:]}" if log else "")
            )
        time.sleep(0.2)


@pytest.fixture(scope="session")
def demo_db(backend, fresh_database):
    """A database of each backend holding the synthetic demo, built by `gridmap demo`.

    Yields (engine, admin password, the command's stdout).
    """
    import re

    with fresh_database(backend) as url:
        proc = run_gridmap("demo", "--build-only", url=url)
        password = re.search(r"log in as: admin / (\S+)", proc.stdout).group(1)
        engine = make_engine(url)
        yield engine, password, proc.stdout
        engine.dispose()


@pytest.fixture
def demo_session(demo_db):
    with rolled_back_session(demo_db[0]) as s:
        yield s


@pytest.fixture(scope="session")
def demo_app(demo_db):
    from web.app import create_app

    engine = demo_db[0]
    url = engine.url.render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test-secret", "TESTING": True})
    yield app
    app.extensions["gridmap_engine"].dispose()


def login(client, password: str, username: str = "admin"):
    """Log ``client`` in through the real form (CSRF token included)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )


@pytest.fixture(scope="session")
def live_server(demo_app):
    """The demo app served by waitress on a free port; yields its base URL."""
    from waitress.server import create_server

    server = create_server(demo_app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    from browser import chromium_executable, launch_chromium

    if chromium_executable() is None:
        unavailable("Chromium is not installed (apt-get install chromium)")
    with launch_chromium() as browser:
        yield browser


def row_count(session: Session, table: str) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
