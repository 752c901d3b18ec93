"""Writing prepared rows in the caller's transaction: inserts (COPY on PostGIS when
large), updates, hazard events and the audit line."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.column_mapping import mapping_dict
from geodata.db import models as m
from geodata.db.bulk import can_copy, copy_insert
from geodata.db.frames import to_ewkt
from geodata.db.models import model_for
from geodata.db.repo import audit
from geodata.importing.spec import Prepared, Progress, _noop
from gridmap.notes import N_, rejected


def write_rows(
    session: Session, prepared: Prepared, *, chunk_rows: int, progress: Progress | None = None
) -> int:
    """Insert and update every prepared row in the caller's transaction.

    Refuses a report with errors. Hazards get an 'import' event; the import is audited.

    Parameters
    ----------
    session : Session
        The caller's session; committing is left to the caller.
    prepared : Prepared
        The checked rows and their report (see ``geodata.importer.prepare``).
    chunk_rows : int
        Rows per INSERT/UPDATE statement when COPY is not used.
    progress : callable, optional
        Called with ("write", rows done, rows in all).

    Returns
    -------
    int
        The number of rows written.
    """
    report, spec = prepared.report, prepared.spec
    if not report.ok:
        raise rejected(N_("the import has {n} errors; nothing was written"), n=len(report.errors))
    progress = progress or _noop
    # A declarative class may map any selectable, so the stubs say FromClause; ours map tables.
    table = cast(sa.Table, model_for(spec.table).__table__)
    columns = set(table.c.keys()) - {"id"}
    inserts, updates = [], []
    for rec in prepared.rows:
        values = {k: v for k, v in rec.items() if k in columns}
        if spec.geometry is not None:
            values["geom"] = to_ewkt(rec["_geom"])
        if rec["_id"] is None:
            inserts.append(values)
        else:
            updates.append({"b_id": rec["_id"], **values})
    total = len(inserts) + len(updates)
    progress("write", 0, total)
    done = _insert(session, table, inserts, chunk_rows=chunk_rows, total=total, progress=progress)
    _update(
        session, table, updates, chunk_rows=chunk_rows, done=done, total=total, progress=progress
    )
    if spec.name == "hazards" and inserts:
        _hazard_events(session, prepared, inserts)
    audit(
        session,
        prepared.requester,
        "import",
        f"{spec.name}:{report.file}",
        {
            "inserted": len(inserts),
            "updated": len(updates),
            "format": report.format,
            "crs": report.crs,
            "encoding": report.encoding,
            "excluded": report.excluded,
            "mapping": mapping_dict(prepared.mapping),
        },
    )
    session.flush()
    report.written = total
    report.written_rows = [
        {
            "row": r["_row"],
            "code": r.get("code"),
            "name": r.get("_label") or r.get("name"),
            "action": "update" if r["_id"] is not None else "insert",
        }
        for r in prepared.rows
    ]
    report.committed = True
    return total


def _insert(
    session: Session,
    table: sa.Table,
    inserts: list[dict],
    *,
    chunk_rows: int,
    total: int,
    progress: Progress,
) -> int:
    """Insert the new rows (COPY on PostGIS when there are many); returns how many."""
    done = 0
    if can_copy(session, len(inserts)):
        copy_insert(session, table, inserts, progress=lambda n: progress("write", n, total))
        done = len(inserts)
    else:
        for start in range(0, len(inserts), chunk_rows):
            chunk = inserts[start : start + chunk_rows]
            session.execute(sa.insert(table), chunk)
            done += len(chunk)
            progress("write", done, total)
    return done


def _update(
    session: Session,
    table: sa.Table,
    updates: list[dict],
    *,
    chunk_rows: int,
    done: int,
    total: int,
    progress: Progress,
) -> None:
    """Update the rows matched to existing ones (``b_id``), in chunks."""
    if updates:
        keys = sorted({k for u in updates for k in u} - {"b_id"})
        stmt = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values({k: sa.bindparam(k, type_=table.c[k].type) for k in keys})
        )
        for start in range(0, len(updates), chunk_rows):
            chunk = [
                {k: u.get(k) for k in ["b_id", *keys]} for u in updates[start : start + chunk_rows]
            ]
            session.execute(stmt, chunk)
            done += len(chunk)
            progress("write", done, total)


def _hazard_events(session: Session, prepared: Prepared, inserts: list[dict]) -> None:
    """An 'import' event for each new hazard, so its history starts with the file."""
    report = prepared.report
    ids = dict(
        session.execute(
            sa.select(m.Hazard.code, m.Hazard.id).where(
                m.Hazard.code.in_([r["code"] for r in inserts])
            )
        ).all()
    )
    session.execute(
        sa.insert(m.HazardEvent),
        [
            {
                "hazard_id": ids[r["code"]],
                "at": datetime.now().replace(microsecond=0),
                "actor": prepared.requester.username,
                "action": "import",
                "from_status": None,
                "to_status": r["status"],
                "note": f"imported from {report.file}",
            }
            for r in inserts
        ],
    )
