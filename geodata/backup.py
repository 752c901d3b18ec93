"""`gridmap backup FILE` / `gridmap restore FILE`: the whole database and uploaded photos.

FILE is a tar archive holding ``manifest.json`` (backend, schema revision, rows per table,
when), the database (``database.pgdump``: pg_dump's custom format, restored by pg_restore;
``database.sqlite``: SQLite's online backup API, a consistent copy while the app runs) and
``photos/`` (``GRIDMAP_HOME/photos`` when it exists). A restore goes into an empty database
of the same backend only: it never mixes two installations' rows.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from geodata.db.migrate import current_revision
from gridmap.errors import ConfigError, InvalidInput
from gridmap.messages import N_, fail

PHOTOS_DIR = "photos"


def _libpq_url(engine: Engine) -> str:
    """postgresql+psycopg://... -> postgresql://... (what pg_dump and pg_restore read)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise fail(
            ConfigError,
            N_("{name} is not installed (apt-get install postgresql-client)"),
            name=name,
        )
    return path


def _run(args: list[str]) -> None:
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise fail(
            ConfigError,
            N_("{tool} failed: {error}"),
            tool=Path(args[0]).name,
            error=proc.stderr.strip()[:2000],
        )


def _counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy.orm import Session

    from geodata.db.store import table_counts

    with Session(engine) as s:
        return table_counts(s)


def _sqlite_path(engine: Engine) -> Path:
    return Path(make_url(str(engine.url)).database or "")


def backup(engine: Engine, out: Path, *, home: Path | None = None) -> dict:
    """Write the archive ``out``: the database dump, its manifest and the stored photos.

    Parameters
    ----------
    engine : Engine
        The configured database (PostGIS is dumped with pg_dump, SpatiaLite copied).
    out : Path
        The archive to write (a tar file), replaced only once complete.
    home : Path, optional
        The gridmap home holding the photos folder (default: the working directory).

    Returns
    -------
    dict
        The manifest: format, backend, schema revision, creation time and rows per table.
    """
    backend = "postgis" if engine.dialect.name == "postgresql" else "spatialite"
    manifest = {
        "format": 1,
        "backend": backend,
        "revision": current_revision(engine),
        "created": datetime.now().isoformat(timespec="seconds"),
        "counts": _counts(engine),
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        if backend == "postgis":
            db_file = tmpdir / "database.pgdump"
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={db_file}",
                    _libpq_url(engine),
                ]
            )
        else:
            db_file = tmpdir / "database.sqlite"
            _sqlite_copy(_sqlite_path(engine), db_file)
        (tmpdir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            tar.add(tmpdir / "manifest.json", arcname="manifest.json")
            tar.add(db_file, arcname=db_file.name)
            photos = (home or Path.cwd()) / PHOTOS_DIR
            if photos.is_dir():
                tar.add(photos, arcname=PHOTOS_DIR)
        partial.replace(out)  # never a half-written archive under the final name
    return manifest


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    """Files and folders only, never outside ``target`` (a backup may come from elsewhere)."""
    for member in tar.getmembers():
        path = (target / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not path.is_relative_to(target.resolve()):
            raise fail(
                InvalidInput,
                N_("backup member {member} is not a plain file inside it"),
                member=repr(member.name),
            )
    tar.extractall(target)


def _is_empty(engine: Engine) -> bool:
    tables = set(sa.inspect(engine).get_table_names())
    if "staff_user" not in tables:
        return True
    return all(n == 0 for n in _counts(engine).values())


def restore(engine: Engine, archive: Path, *, home: Path | None = None) -> dict:
    """Restore ``archive`` into the (empty) database of ``engine``.

    Parameters
    ----------
    engine : Engine
        The configured database; it must be empty and of the backend the archive holds.
    archive : Path
        A file written by :func:`backup`.
    home : Path, optional
        The gridmap home the photos go to (default: the working directory).

    Returns
    -------
    dict
        The archive's manifest.
    """
    if not archive.is_file():
        raise fail(InvalidInput, N_("{archive}: no such backup file"), archive=archive)
    if not tarfile.is_tarfile(archive):
        raise fail(
            InvalidInput, N_("{archive}: not a gridmap backup (not a tar archive)"), archive=archive
        )
    backend = "postgis" if engine.dialect.name == "postgresql" else "spatialite"
    with tarfile.open(archive, "r") as tar, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        try:
            member = tar.extractfile("manifest.json")  # KeyError when absent
            if member is None:  # a directory or link of that name
                raise KeyError("manifest.json")
            manifest = json.loads(member.read())
        except (KeyError, ValueError):
            raise fail(
                InvalidInput,
                N_("{archive}: not a gridmap backup (no manifest.json)"),
                archive=archive,
            ) from None
        if manifest.get("backend") != backend:
            raise fail(
                InvalidInput,
                N_("{archive} holds a {found} database; the configured database is {backend}"),
                archive=archive,
                found=manifest.get("backend"),
                backend=backend,
            )
        if not _is_empty(engine):
            raise fail(
                InvalidInput,
                N_("the configured database is not empty: restore into a new, empty database"),
            )
        _extract(tar, tmpdir)
        if backend == "postgis":
            _run(
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--clean",
                    "--if-exists",
                    "--single-transaction",
                    f"--dbname={_libpq_url(engine)}",
                    str(tmpdir / "database.pgdump"),
                ]
            )
        else:
            engine.dispose()
            target = _sqlite_path(engine)
            _sqlite_copy(tmpdir / "database.sqlite", target)
        photos = tmpdir / PHOTOS_DIR
        if photos.is_dir():
            shutil.copytree(photos, (home or Path.cwd()) / PHOTOS_DIR, dirs_exist_ok=True)
    engine.dispose()
    if _counts(engine) != manifest["counts"]:
        raise fail(
            ConfigError, N_("the restored database does not hold the rows the backup recorded")
        )
    return manifest


def _sqlite_copy(source, target) -> None:
    """A consistent copy of the SQLite file ``source`` into ``target`` (the backup API)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
