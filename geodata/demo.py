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
    """Compute the demo City: synthetic by default, or from a real OSM extract.

    Parameters
    ----------
    seed : int
        Seed of the synthetic generator, so a demo can be rebuilt identically.
    osm_path : str or Path, optional
        An OSM extract to build the city from instead.

    Returns
    -------
    City
        The demo's streets, communities, grids, buildings, people and records.
    """
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
    """True when the database is empty or every street in it came from a demo build.

    Parameters
    ----------
    session : Session
        The database session.

    Returns
    -------
    bool
        Whether a demo may replace the database's contents.
    """
    streets = session.scalars(sa.select(m.Street)).all()
    if not streets:
        return session.execute(sa.select(sa.func.count(m.Building.id))).scalar_one() == 0
    return all((s.props or {}).get("demo") for s in streets)


def ensure_demo_target(session: Session) -> None:
    """Raise unless the database may be (re)filled with a demo.

    Parameters
    ----------
    session : Session
        The database session.
    """
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
    """Replace the database's contents with ``city`` and an admin.

    Refuses to touch a database that holds anything but an earlier demo.

    Parameters
    ----------
    session : Session
        The database session (committed by the caller).
    city : City
        The demo city, see :func:`make_city`.
    progress : callable, optional
        Told how many rows are written as the tables fill.
    admin_password : str, optional
        The admin's password (default: a generated one).

    Returns
    -------
    tuple of (dict, str)
        Rows written per table, and the admin's password.
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
    """Rows the demo city writes, case history steps included.

    Parameters
    ----------
    city : City
        The demo city.

    Returns
    -------
    int
        The number of rows, for a progress bar's total.
    """
    return sum(city.counts().values()) + int(sum(len(h or []) for h in city.hazards["history"]))


def store_city_of_streets(sessions, n: int, *, seed: int = 7, progress=None) -> dict[str, int]:
    """Replace a demo database's contents with a generated city of ``n`` street offices.

    The city comes from :mod:`gridmap.demo.streets` and is written one street office per
    transaction, so a large city does not hold one huge transaction open.

    Parameters
    ----------
    sessions : sessionmaker
        Makes the session of each transaction.
    n : int
        How many street offices.
    seed : int
        Seed of the generator.
    progress : callable, optional
        Called as ``progress(k)`` after street office ``k`` is written.

    Returns
    -------
    dict
        Rows written per table.
    """
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
