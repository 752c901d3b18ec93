"""One grid as its leader sees it: boundary, buildings with households, vulnerable
households (masked), key sites with inspection status, open hazards, this week's patrol
coverage and unpatrolled streets, and the to-do list made from them.

Everything personal comes through the scoped, masking, auditing repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import analysis, layers, repo
from geodata.db import hazards as cases_repo
from geodata.db import people as people_repo
from geodata.db.models import HouseholdVisit
from gridmap import field, todo
from gridmap.analysis import patrol
from gridmap.analysis.patrol import overdue_sites
from gridmap.errors import NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

PATROL_DAYS = 7


@dataclass
class GridView:
    grid: dict  # code, name, community_name, leader, households, ...
    boundary: gpd.GeoDataFrame  # one row
    buildings: gpd.GeoDataFrame  # id, code, address, floors, use, households, geometry
    households: pd.DataFrame  # vulnerable households with masked head of household
    sites: gpd.GeoDataFrame  # key sites with last_inspected, due_at, days_overdue, overdue
    cases: gpd.GeoDataFrame  # open hazards with due_at, overdue, escalation
    coverage: dict | None  # this week's street/building/household/site coverage
    unpatrolled: gpd.GeoDataFrame  # streets not patrolled this week (name, length_m)
    patrolled: gpd.GeoDataFrame  # streets patrolled this week
    period: patrol.Period | None
    todo: list[todo.Item]
    as_of: datetime
    visits: pd.DataFrame | None = None  # households due for a visit today (all of them)


def field_rules(path: str | Path | None = None) -> dict:
    """The field rules: the packaged YAML, with the file ``path`` laid over it.

    Parameters
    ----------
    path : str or Path, optional
        The installation's rules file (``Settings.field_rules``, GRIDMAP_FIELD_RULES).

    Returns
    -------
    dict
    """
    return field.load_rules(path or None)


def visits_due(
    session: Session, households: pd.DataFrame, *, as_of: datetime, rules: dict | None = None
) -> pd.DataFrame:
    """The vulnerable ``households`` due for a visit on ``as_of``'s day.

    Due by the visit interval of their own and their members' tags.

    Parameters
    ----------
    session : Session
        Database session holding the visits.
    households : DataFrame
        The grid's vulnerable households.
    as_of : datetime
        The day judged.
    rules : dict, optional
        The field rules (default: the packaged ones).

    Returns
    -------
    DataFrame
        The households due, with address and last visit.
    """
    rules = rules or field_rules()
    if not len(households):
        return field.visits_due(
            pd.DataFrame(columns=["id", "code", "tags"]),
            last_visit={},
            today=as_of.date(),
            intervals={},
        )
    ids = [int(i) for i in households["id"]]
    last = dict(
        session.execute(
            sa.select(HouseholdVisit.household_id, sa.func.max(HouseholdVisit.visited_at))
            .where(HouseholdVisit.household_id.in_(ids))
            .group_by(HouseholdVisit.household_id)
        ).all()
    )
    frame = pd.DataFrame(
        {
            "id": ids,
            "code": list(households["code"]),
            "tags": [
                list(t or []) + list(r or [])
                for t, r in zip(households["tags"], households["resident_tags"], strict=True)
            ],
        }
    )
    due = field.visits_due(
        frame, last_visit=last, today=as_of.date(), intervals=rules["visits"]["interval_days"]
    )
    address = households.set_index("id")["address"]
    due["address"] = [address.get(i) for i in due["id"]]
    return due


def _vulnerable(
    session: Session, requester: Requester, grid_code: str, buildings: gpd.GeoDataFrame
) -> pd.DataFrame:
    hh = pd.DataFrame(people_repo.households(session, requester, grid_code=grid_code))
    if not len(hh):
        return pd.DataFrame(
            columns=[
                "code",
                "address",
                "unit",
                "floor",
                "room",
                "size",
                "tags",
                "resident_tags",
                "head",
                "phone",
            ]
        )
    people = pd.DataFrame(people_repo.residents(session, requester, grid_code=grid_code))
    res_tags = (
        people.groupby("household_id")["tags"].agg(
            lambda ts: sorted({t for tags in ts for t in (tags or [])})
        )
        if len(people)
        else pd.Series(dtype=object)
    )
    head = people.groupby("household_id").first() if len(people) else pd.DataFrame()
    hh["resident_tags"] = [res_tags.get(i, []) for i in hh["id"]]
    hh["head"] = [head["name"].get(i) if len(head) else None for i in hh["id"]]
    hh["phone"] = [head["phone"].get(i) if len(head) else None for i in hh["id"]]
    hh["tags"] = hh["tags"].map(lambda t: t or [])
    mask = [todo.is_vulnerable(t, r) for t, r in zip(hh["tags"], hh["resident_tags"], strict=True)]
    out = hh[mask].copy()
    address = buildings.set_index("id")["address"]
    out["address"] = [address.get(b) for b in out["building_id"]]
    return out.sort_values(["address", "unit", "floor", "room"], na_position="last").reset_index(
        drop=True
    )


def grid_view(
    session: Session,
    requester: Requester,
    code: str,
    *,
    with_patrol: bool = True,
    rules: dict | None = None,
) -> GridView:
    """Everything the grid page and the printable report show.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: refused (PermissionDenied) for a grid outside their areas.
    code : str
        The grid's code (NotFound for an unknown grid).
    with_patrol : bool
        Compute this week's patrol coverage too.
    rules : dict, optional
        The installation's field rules (default: the packaged ones).

    Returns
    -------
    GridView
        The grid, its buildings, vulnerable households, key sites, cases, coverage and
        to-do list.
    """
    try:
        boundary = repo.visible_grids_frame(session, requester, grid_code=code)
    except NotFound as exc:
        raise fail(NotFound, N_("no grid with code {code}"), code=code) from exc
    except PermissionDenied as exc:
        raise fail(PermissionDenied, N_("Grid {code} is outside your areas."), code=code) from exc
    grid = boundary.drop(columns="geometry").iloc[0].to_dict()
    as_of = analysis.analysis_as_of(session)
    buildings = layers.buildings_in(session, None, grid_code=code)
    households = _vulnerable(session, requester, code, buildings)
    sites = repo.key_sites_frame(session, requester, grid_code=code)
    sites = sites.join(overdue_sites(sites, as_of=as_of))
    cases = cases_repo.cases_frame(session, requester, as_of=as_of, grid_code=code, open_only=True)
    period, coverage, unpatrolled, patrolled = _week_patrol(
        session, requester, code, as_of=as_of, with_patrol=with_patrol
    )
    actionable = {
        c: cases_repo.allowed_actions(session, requester, cases_repo.get(session, requester, c))
        for c in cases["code"]
    }
    rules = rules or field_rules()
    due = visits_due(session, households, as_of=as_of, rules=rules)
    items = todo.todo_items(
        sites=sites,
        cases=cases,
        unpatrolled=unpatrolled,
        visits=due,
        actionable=actionable,
        as_of=as_of,
        visits_per_day=int(rules["visits"]["per_day"]),
    )
    return GridView(
        grid=grid,
        boundary=boundary,
        buildings=buildings,
        households=households,
        sites=sites,
        cases=cases,
        coverage=coverage,
        unpatrolled=unpatrolled,
        patrolled=patrolled,
        period=period,
        todo=items,
        as_of=as_of,
        visits=due,
    )


def _week_patrol(
    session: Session, requester: Requester, code: str, *, as_of: datetime, with_patrol: bool
) -> tuple[patrol.Period | None, dict | None, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The grid's patrol of the last ``PATROL_DAYS`` days: period, coverage row, and the
    streets left unpatrolled (longest first) and patrolled; empty without ``with_patrol``."""
    coverage = None
    period = None
    empty = gpd.GeoDataFrame(
        {"name": [], "highway": [], "length_m": []}, geometry=gpd.GeoSeries([], crs=4326)
    )
    unpatrolled, patrolled = empty, empty
    if with_patrol:
        end = datetime.combine(as_of.date() + timedelta(days=1), datetime.min.time())
        period = patrol.Period(end - timedelta(days=PATROL_DAYS), end)
        res = analysis.patrol_report(session, requester, period=period, grid_code=code)
        rows = res.report.grids
        coverage = rows.iloc[0].to_dict() if len(rows) else None
        segments = res.report.segments.to_crs(4326)
        patrolled = segments[segments["patrolled"].astype(bool)]
        unpatrolled = res.report.unpatrolled.to_crs(4326)
        unpatrolled = unpatrolled[unpatrolled["grid_code"] == code].sort_values(
            "length_m", ascending=False
        )
    return period, coverage, unpatrolled, patrolled
