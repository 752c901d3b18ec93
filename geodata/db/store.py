"""Writing a whole street office (a ``gridmap.demo.city.City``) to the database.

Rows refer to each other by code in a City; here codes become foreign keys.
Everything happens in the caller's transaction: it lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import as_multi, to_ewkt
from geodata.db.models import model_for
from geodata.fields import is_missing
from gridmap.demo.city import City
from gridmap.layers import REGISTRY, LayerSpec

Progress = Callable[[str, int], None]
CHUNK = 5000


def _clean(value):
    """NaN/NaT/numpy scalars -> plain Python values a DBAPI accepts."""
    if is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (list, dict, str, bytes)):
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    """Rename ``frame``'s columns (frame name -> db name) and clean the values."""
    sub = frame[list(columns)].rename(columns=columns)
    return [{k: _clean(v) for k, v in row.items()} for row in sub.to_dict("records")]


def _ids(session: Session, model) -> dict[str, int]:
    return dict(session.execute(sa.select(model.code, model.id)).all())


def _insert(session: Session, model, rows: list[dict], progress: Progress | None) -> None:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        session.execute(sa.insert(model), chunk)
        if progress:
            progress(model.__tablename__, len(chunk))


def _with_geom(frame, rows: list[dict], *, multi: bool = False, column: str = "geom") -> list[dict]:
    geoms = as_multi(frame.geometry) if multi else list(frame.geometry)
    for row, g in zip(rows, geoms, strict=True):
        row[column] = to_ewkt(g)
    return rows


def _layer_rows(session: Session, spec: LayerSpec, frame: pd.DataFrame) -> list[dict]:
    """A City frame's rows for ``spec``'s table: its fields, parents' codes as keys."""
    links = [*spec.parents, *([spec.owner] if spec.owner else [])]
    columns = {
        c: c
        for c in (
            *(["code"] if spec.coded else []),
            *(["name"] if spec.named else []),
            *spec.fields,
            *spec.derived,
        )
    }
    columns.update({f"{p.field}_code": p.column for p in links})
    rows = _records(frame, columns)
    for p in links:
        ids = _ids(session, model_for(REGISTRY[p.layer].table))
        for r in rows:  # people hang on rows that exist; places may lie outside any parent
            r[p.column] = ids[r[p.column]] if p is spec.owner else ids.get(r[p.column])
    if spec.geometry is not None:
        _with_geom(frame, rows, multi=spec.geometry == "polygon")
    return rows


def write_city(session: Session, city: City, progress: Progress | None = None) -> dict[str, int]:
    """Insert every table of ``city``.

    Parameters
    ----------
    session : Session
        Database session; the rows are written in its transaction.
    city : City
        The city's tables.
    progress : callable, optional
        Told the table and the number of rows of each chunk written.

    Returns
    -------
    dict of str to int
        Rows written per table.
    """
    written: dict[str, int] = {}

    def put(model, rows):
        _insert(session, model, rows, progress)
        written[model.__tablename__] = written.get(model.__tablename__, 0) + len(rows)

    f = city
    for spec in REGISTRY:
        rows = _layer_rows(session, spec, getattr(f, spec.name))
        if spec.name == "patrol_tracks":
            for r in rows:
                r["times"] = [round(float(t), 1) for t in r["times"]]
        put(model_for(spec.table), rows)
        if spec.name == "key_sites":
            put(m.Inspection, _inspections(session, f))
    hazard = _ids(session, m.Hazard)
    events = [
        {
            "hazard_id": hazard[code],
            "at": _as_datetime(step["at"]),
            "actor": step.get("actor"),
            "action": step["action"],
            "from_status": step.get("from_status"),
            "to_status": step.get("to_status"),
            "note": step.get("note"),
        }
        for code, history in zip(f.hazards["code"], f.hazards["history"], strict=True)
        for step in (history or [])
    ]
    put(m.HazardEvent, events)
    return written


def _inspections(session: Session, city: City) -> list[dict]:
    rows = _records(
        city.inspections,
        {
            "site_code": "site_id",
            "inspected_at": "inspected_at",
            "inspector": "inspector",
            "result": "result",
            "notes": "notes",
        },
    )
    site = _ids(session, m.KeySite)
    for r in rows:
        r["site_id"] = site[r["site_id"]]
    return rows


def _as_datetime(value) -> datetime:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def table_counts(session: Session) -> dict[str, int]:
    """Rows per entity table (the `gridmap stats` answer).

    Parameters
    ----------
    session : Session
        Database session counted.

    Returns
    -------
    dict of str to int
        Rows per table.
    """
    return {
        name: session.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        for name in m.ENTITY_TABLES
    }


def clear_all(session: Session) -> None:
    """Delete every row of gridmap's own tables (children first), in the caller's transaction.

    Parameters
    ----------
    session : Session
        Database session; the rows are deleted in its transaction.
    """
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.name != m.DataVersion.__tablename__:  # counters only ever go up
            session.execute(table.delete())
