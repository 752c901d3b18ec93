"""Building a demo street office into the database (synthetic or from OSM)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.store import Progress, clear_all, write_city
from geodata.db.users import create_user
from gridmap.demo.city import City
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

DEMO_ADMIN = "admin"


def make_city(*, seed: int = 7, osm_path: str | Path | None = None) -> City:
    """Compute the demo City: synthetic by default, or from a real OSM extract."""
    if osm_path is None:
        from gridmap.demo.synth import build_synthetic_city

        return build_synthetic_city(seed=seed)
    from geodata.osm import read_osm
    from gridmap.demo.osm_city import city_from_osm

    extract = read_osm(osm_path)
    return city_from_osm(
        extract.ways,
        extract.entrances,
        extract.buildings,
        extract.pois,
        extract.areas,
        seed=seed,
        place_name=Path(osm_path).stem,
    )


def holds_only_demo_data(session: Session) -> bool:
    """True when the database is empty or every street in it came from a demo build."""
    streets = session.scalars(sa.select(m.Street)).all()
    if not streets:
        return session.execute(sa.select(sa.func.count(m.Building.id))).scalar_one() == 0
    return all((s.props or {}).get("demo") for s in streets)


def ensure_demo_target(session: Session) -> None:
    """Raise unless the database may be (re)filled with a demo."""
    if not holds_only_demo_data(session):
        raise fail(
            InvalidInput,
            N_(
                "this database holds data that is not a demo; build the demo into another "
                "database (set GRIDMAP_HOME or GRIDMAP_DATABASE_URL)"
            ),
        )


def store_demo(
    session: Session,
    city: City,
    progress: Progress | None = None,
    *,
    admin_password: str | None = None,
) -> tuple[dict[str, int], str]:
    """Replace the database's contents with ``city`` and an admin; returns counts and password.

    Refuses to touch a database that holds anything but an earlier demo.
    """
    ensure_demo_target(session)
    clear_all(session)
    written = write_city(session, city, progress)
    for street in session.scalars(sa.select(m.Street)):
        street.props = {
            **(street.props or {}),
            "demo": True,
            "label": city.label,
            "anchor": list(city.anchor),
        }
    _user, password = create_user(
        session, DEMO_ADMIN, "admin", password=admin_password, display_name="演示管理员"
    )
    return written, password


def total_rows(city: City) -> int:
    """Rows the demo city writes, case history steps included."""
    return sum(city.counts().values()) + int(sum(len(h or []) for h in city.hazards["history"]))


def store_city_of_streets(sessions, n: int, *, seed: int = 7, progress=None) -> dict[str, int]:
    """Replace a demo database's contents with a generated city of ``n`` street offices
    (:mod:`gridmap.demo.streets`), written one street office per transaction; returns the
    rows written per table. ``progress(k)`` after street office ``k``."""
    from gridmap.demo.streets import city_of_streets

    with sessions.begin() as session:
        ensure_demo_target(session)
        clear_all(session)
    written: dict[str, int] = {}
    for k, city in enumerate(city_of_streets(n, seed=seed), start=1):
        with sessions.begin() as session:
            for table, rows in write_city(session, city).items():
                written[table] = written.get(table, 0) + rows
            code = city.streets["code"].iloc[0]
            street = session.scalars(sa.select(m.Street).where(m.Street.code == code)).one()
            street.props = {
                **(street.props or {}),
                "demo": True,
                "label": city.label,
                "anchor": list(city.anchor),
            }
        if progress:
            progress(k)
    return written
