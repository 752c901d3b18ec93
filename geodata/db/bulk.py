"""Many rows into PostgreSQL with COPY, inside the caller's transaction.

COPY streams rows to the server in one command: a city's register (a million households)
goes in at tens of thousands of rows a second, where INSERT ... VALUES batches spend most
of their time in per-statement work. Only for PostgreSQL (psycopg 3); SQLite keeps
executemany, which is already fast there (no network, no per-row round trip).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.backend import is_postgis

COPY_MIN_ROWS = 5000  # fewer rows: executemany costs as little and needs no special path
PROGRESS_ROWS = 10_000


def can_copy(session: Session, n_rows: int) -> bool:
    """Whether :func:`copy_insert` pays off: PostgreSQL and at least :data:`COPY_MIN_ROWS` rows.

    Parameters
    ----------
    session : Session
        The session the rows go through.
    n_rows : int
        How many rows are to be inserted.

    Returns
    -------
    bool
    """
    return n_rows >= COPY_MIN_ROWS and is_postgis(session)


def copy_insert(
    session: Session,
    table: sa.Table,
    rows: list[dict],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert rows into ``table`` with COPY on the session's own connection.

    The rows commit or roll back with everything else in the session's transaction.

    Parameters
    ----------
    session : Session
        Database session (PostgreSQL).
    table : Table
        The table written.
    rows : list of dict
        Column -> value; geometry as EWKT.
    progress : callable, optional
        Told the number of rows sent so far.

    Returns
    -------
    int
        The number of rows inserted.
    """
    from psycopg import sql
    from psycopg.types.json import Json

    if not rows:
        return 0
    names = sorted({k for r in rows for k in r})
    json_cols = {c for c in names if isinstance(table.c[c].type, sa.JSON)}
    defaults = {
        c: table.c[c].default.arg
        for c in names
        if table.c[c].default is not None and table.c[c].default.is_scalar
    }
    session.flush()
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a checked-out connection always has its driver connection
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    done = 0
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        for r in rows:
            values = []
            for c in names:
                v = r.get(c, defaults.get(c))
                values.append(Json(v) if c in json_cols and v is not None else v)
            copy.write_row(values)
            done += 1
            if progress is not None and done % PROGRESS_ROWS == 0:
                progress(done)
    if progress is not None:
        progress(done)
    return done
