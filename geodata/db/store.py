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
from geodata.fields import is_missing
from gridmap.demo.city import City

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


def write_city(session: Session, city: City, progress: Progress | None = None) -> dict[str, int]:
    """Insert every table of ``city``; returns rows written per table."""
    written: dict[str, int] = {}

    def put(model, rows):
        _insert(session, model, rows, progress)
        written[model.__tablename__] = written.get(model.__tablename__, 0) + len(rows)

    f = city
    put(m.District, _with_geom(f.districts, _records(f.districts, {"code": "code", "name": "name"}), multi=True))
    district = _ids(session, m.District)

    rows = _records(f.streets, {"code": "code", "name": "name", "district_code": "district_id"})
    for r in rows:
        r["district_id"] = district.get(r["district_id"])
    put(m.Street, _with_geom(f.streets, rows, multi=True))
    street = _ids(session, m.Street)

    rows = _records(f.communities, {"code": "code", "name": "name", "street_code": "street_id"})
    for r in rows:
        r["street_id"] = street.get(r["street_id"])
    put(m.Community, _with_geom(f.communities, rows, multi=True))
    community = _ids(session, m.Community)

    rows = _records(f.grids, {
        "code": "code", "name": "name", "kind": "kind", "community_code": "community_id",
        "leader": "leader", "leader_phone": "leader_phone", "target_households": "target_households",
    })
    for r in rows:
        r["community_id"] = community.get(r["community_id"])
    put(m.Grid, _with_geom(f.grids, rows, multi=True))
    grid = _ids(session, m.Grid)

    rows = _records(f.compounds, {"code": "code", "name": "name", "community_code": "community_id"})
    for r in rows:
        r["community_id"] = community.get(r["community_id"])
    put(m.Compound, _with_geom(f.compounds, rows, multi=True))
    compound = _ids(session, m.Compound)

    rows = _records(f.gates, {"code": "code", "compound_code": "compound_id", "name": "name", "kind": "kind"})
    for r in rows:
        r["compound_id"] = compound.get(r["compound_id"])
    put(m.Gate, _with_geom(f.gates, rows))

    rows = _records(f.roads, {
        "code": "code", "name": "name", "highway": "highway", "foot": "foot",
        "access": "access", "compound_code": "compound_id",
    })
    for r in rows:
        r["compound_id"] = compound.get(r["compound_id"])
    put(m.Road, _with_geom(f.roads, rows))

    rows = _records(f.buildings, {
        "code": "code", "name": "name", "address": "address", "floors": "floors", "use": "use",
        "compound_code": "compound_id", "grid_code": "grid_id",
    })
    for r in rows:
        r["compound_id"] = compound.get(r["compound_id"])
        r["grid_id"] = grid.get(r["grid_id"])
    put(m.Building, _with_geom(f.buildings, rows, multi=True))
    building = _ids(session, m.Building)

    rows = _records(f.households, {
        "code": "code", "building_code": "building_id", "unit": "unit", "floor": "floor",
        "room": "room", "size": "size", "tags": "tags",
    })
    for r in rows:
        r["building_id"] = building[r["building_id"]]
    put(m.Household, rows)
    household = _ids(session, m.Household)

    rows = _records(f.residents, {
        "household_code": "household_id", "name": "name", "id_number": "id_number",
        "phone": "phone", "birth_year": "birth_year", "sex": "sex", "tags": "tags",
    })
    for r in rows:
        r["household_id"] = household[r["household_id"]]
    put(m.Resident, rows)

    rows = _records(f.facilities, {"code": "code", "name": "name", "category": "category", "capacity": "capacity"})
    put(m.Facility, _with_geom(f.facilities, rows))

    rows = _records(f.key_sites, {
        "code": "code", "name": "name", "category": "category", "address": "address",
        "grid_code": "grid_id", "inspection_interval_days": "inspection_interval_days",
    })
    for r in rows:
        r["grid_id"] = grid.get(r["grid_id"])
    put(m.KeySite, _with_geom(f.key_sites, rows))
    site = _ids(session, m.KeySite)

    rows = _records(f.inspections, {
        "site_code": "site_id", "inspected_at": "inspected_at", "inspector": "inspector",
        "result": "result", "notes": "notes",
    })
    for r in rows:
        r["site_id"] = site[r["site_id"]]
    put(m.Inspection, rows)

    rows = _records(f.hazards, {
        "code": "code", "category": "category", "severity": "severity", "status": "status",
        "description": "description", "found_at": "found_at", "deadline": "deadline",
        "closed_at": "closed_at", "reporter": "reporter", "responsible": "responsible",
        "grid_code": "grid_id",
    })
    for r in rows:
        r["grid_id"] = grid.get(r["grid_id"])
    put(m.Hazard, _with_geom(f.hazards, rows))
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

    rows = _records(f.patrol_tracks, {
        "code": "code", "patroller": "patroller", "grid_code": "grid_id",
        "started_at": "started_at", "ended_at": "ended_at", "times": "times",
    })
    for r in rows:
        r["grid_id"] = grid.get(r["grid_id"])
        r["times"] = [round(float(t), 1) for t in r["times"]]
    put(m.PatrolTrack, _with_geom(f.patrol_tracks, rows))
    return written


def _as_datetime(value) -> datetime:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def table_counts(session: Session) -> dict[str, int]:
    """Rows per entity table (the `gridmap stats` answer)."""
    return {
        name: session.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
        for name in m.ENTITY_TABLES
    }


def clear_all(session: Session) -> None:
    """Delete every row of gridmap's own tables (children first), in the caller's transaction."""
    for table in reversed(m.Base.metadata.sorted_tables):
        if table.name != m.DataVersion.__tablename__:  # counters only ever go up
            session.execute(table.delete())
