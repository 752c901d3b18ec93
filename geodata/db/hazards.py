"""Hazard cases in the database: report, act, history, overdue lists, escalation sweep.

Every function takes the requester; cases outside their areas are invisible (NotFound is
not used to hide them: PermissionDenied says the case exists but is not theirs, as the other
repositories do). The rules live in :mod:`gridmap.hazards`; here they are applied to rows,
each step written as one ``hazard_event`` and audited, inside the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.frames import read_frame, to_ewkt
from geodata.db.models import Community, Grid, Hazard, HazardEvent
from geodata.db.scope import scoped, visible_grids
from gridmap import hazards as rules
from gridmap.errors import InvalidInput, NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester


def _grid_at(session: Session, requester: Requester, lon: float, lat: float) -> Grid:
    """The community grid holding (lon, lat) that the requester may report in."""
    grids = repo.grids_frame(session)
    grids = grids[grids["kind"].fillna("community") == "community"] if "kind" in grids else grids
    point = shapely.Point(lon, lat)
    hit = grids[grids.geometry.covers(point)]
    if not len(hit):
        raise fail(
            InvalidInput,
            N_("The point {lon}, {lat} lies in no grid: click inside a grid."),
            lon=f"{lon:.6f}",
            lat=f"{lat:.6f}",
        )
    grid = session.get_one(Grid, int(hit.iloc[0]["id"]))
    allowed = visible_grids(requester)
    if allowed is not None and grid.id not in set(session.scalars(allowed)):
        raise fail(
            PermissionDenied,
            N_("Grid {code} is outside your areas: report hazards in your own grids."),
            code=grid.code,
        )
    return grid


def _next_code(session: Session, at: datetime) -> str:
    prefix = f"YH{at:%Y%m%d}"
    last = session.scalar(sa.select(sa.func.max(Hazard.code)).where(Hazard.code.like(prefix + "%")))
    seq = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{seq:04d}"


def report(
    session: Session,
    requester: Requester,
    *,
    lon: float,
    lat: float,
    category: str,
    severity: str,
    description: str,
    at: datetime | None = None,
) -> Hazard:
    """A new case at a point, status ``reported``, with its first history step.

    Parameters
    ----------
    session : Session
        Database session; the case is written in its transaction.
    requester : Requester
        Who reports: a role that may, the point inside their grids.
    lon, lat : float
        The hazard's place in degrees (WGS84).
    category, severity : str
        Codes of ``vocab.HAZARD_CATEGORIES`` and the severities of the hazard rules.
    description : str
        What was found.
    at : datetime, optional
        When it was found (default: now).

    Returns
    -------
    Hazard
        The new case, with its code.
    """
    if "report" not in [t.action for t in rules.TRANSITIONS.values() if requester.role in t.roles]:
        raise fail(
            PermissionDenied,
            N_("Your role ({role}) may not take the step {action}."),
            role=requester.role,
            action="report",
        )
    rules.validate_new(category, severity, description)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise fail(
            InvalidInput,
            N_("The point {lon}, {lat} lies in no grid: click inside a grid."),
            lon=lon,
            lat=lat,
        )
    at = (at or datetime.now()).replace(microsecond=0)
    grid = _grid_at(session, requester, lon, lat)
    hazard = Hazard(
        code=_next_code(session, at),
        category=category,
        severity=severity,
        status="reported",
        description=description.strip(),
        found_at=at,
        reporter=requester.username,
        grid_id=grid.id,
        geom=to_ewkt(shapely.Point(lon, lat)),
        props={"escalation": 0},
    )
    session.add(hazard)
    session.flush()
    session.add(
        HazardEvent(
            hazard_id=hazard.id,
            at=at,
            actor=requester.username,
            action="report",
            from_status=None,
            to_status="reported",
            note=description.strip(),
        )
    )
    repo.audit(session, requester, "hazard_report", hazard.code, {"grid": grid.code})
    session.flush()
    return hazard


def get(session: Session, requester: Requester, code: str) -> Hazard:
    """The case ``code`` if the requester may see it.

    Parameters
    ----------
    session : Session
        Database session holding the cases.
    requester : Requester
        Who asks: the case's grid must lie in their areas.
    code : str
        The case code.

    Returns
    -------
    Hazard
        The case's row.
    """
    hazard = session.scalar(sa.select(Hazard).where(Hazard.code == code))
    if hazard is None:
        raise fail(NotFound, N_("no hazard with code {code}"), code=code)
    mine = session.scalar(
        scoped(sa.select(Hazard.id).where(Hazard.id == hazard.id), requester, Hazard)
    )
    if mine is None:
        raise fail(PermissionDenied, N_("Hazard {code} is outside your areas."), code=code)
    return hazard


def _state(session: Session, hazard: Hazard) -> rules.CaseState:
    handled_by = session.scalar(
        sa.select(HazardEvent.actor)
        .where(HazardEvent.hazard_id == hazard.id, HazardEvent.action == "handle")
        .order_by(HazardEvent.at.desc(), HazardEvent.id.desc())
        .limit(1)
    )
    return rules.CaseState(status=hazard.status, handled_by=handled_by)


def allowed_actions(session: Session, requester: Requester, hazard: Hazard) -> list[str]:
    """The actions ``requester`` may take on ``hazard`` now (see
    :func:`gridmap.hazards.allowed_actions`).

    Parameters
    ----------
    session : Session
    requester : Requester
    hazard : Hazard

    Returns
    -------
    list of str
        Action codes in display order.
    """
    return rules.allowed_actions(
        _state(session, hazard), role=requester.role, username=requester.username
    )


def act(
    session: Session,
    requester: Requester,
    code: str,
    action: str,
    *,
    note: str | None = None,
    responsible: str | None = None,
    deadline: datetime | None = None,
    at: datetime | None = None,
) -> HazardEvent:
    """Apply ``action`` to case ``code`` as the hazard rules allow the requester's role.

    Parameters
    ----------
    session : Session
        Database session; the step is written in its transaction.
    requester : Requester
        Who acts.
    code : str
        The case code.
    action : str
        The step (see :func:`allowed_actions`).
    note : str, optional
        Free text kept with the step.
    responsible : str, optional
        Who the case is assigned to (assigning steps).
    deadline : datetime, optional
        When it must be handled (assigning steps).
    at : datetime, optional
        When the step was taken (default: now).

    Returns
    -------
    HazardEvent
        The history step written.
    """
    hazard = get(session, requester, code)
    at = (at or datetime.now()).replace(microsecond=0)
    step = rules.apply(
        _state(session, hazard),
        action,
        role=requester.role,
        username=requester.username,
        at=at,
        note=note,
        responsible=responsible,
        deadline=deadline,
    )
    _apply(hazard, action, step)
    event = HazardEvent(
        hazard_id=hazard.id,
        at=at,
        actor=requester.username,
        action=action,
        from_status=step.from_status,
        to_status=step.to_status,
        note=_step_note(step),
    )
    session.add(event)
    repo.audit(
        session,
        requester,
        f"hazard_{action}",
        code,
        {"from": step.from_status, "to": step.to_status},
    )
    session.flush()
    return event


def _apply(hazard: Hazard, action: str, step: rules.Step) -> None:
    """Carry a step's outcome onto the case: status, assignment, closing, reopenings."""
    hazard.status = step.to_status
    if step.responsible:
        hazard.responsible = step.responsible
    if step.deadline:
        hazard.deadline = step.deadline
    if step.closed_at:
        hazard.closed_at = step.closed_at
    if action == "reinspect_fail":
        hazard.props = {
            **(hazard.props or {}),
            "reopened": (hazard.props or {}).get("reopened", 0) + 1,
        }


def _step_note(step: rules.Step) -> str | None:
    """The history note of a step; an assignment leads with who and by when."""
    if not step.responsible:
        return step.note
    # language-neutral, the page translates the action around it
    return " · ".join(
        p for p in (f"→ {step.responsible}", f"{step.deadline:%Y-%m-%d}", step.note) if p
    )


def history(session: Session, requester: Requester, code: str) -> list[dict]:
    """Every step of case ``code``, oldest first.

    Parameters
    ----------
    session : Session
    requester : Requester
        Must see the case (its grid is in the requester's areas).
    code : str
        The case code.

    Returns
    -------
    list of dict
        ``at``, ``actor``, ``action``, ``from_status``, ``to_status``, ``note``.
    """
    hazard = get(session, requester, code)
    rows = session.execute(
        sa.select(
            HazardEvent.at,
            HazardEvent.actor,
            HazardEvent.action,
            HazardEvent.from_status,
            HazardEvent.to_status,
            HazardEvent.note,
        )
        .where(HazardEvent.hazard_id == hazard.id)
        .order_by(HazardEvent.at, HazardEvent.id)
    )
    return [dict(r._mapping) for r in rows]


def cases_frame(
    session: Session,
    requester: Requester,
    *,
    as_of: datetime,
    status: str | None = None,
    community_code: str | None = None,
    grid_code: str | None = None,
    overdue_only: bool = False,
    open_only: bool = False,
) -> gpd.GeoDataFrame:
    """Cases in the requester's areas, newest first, judged at ``as_of``.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: their areas choose the cases.
    as_of : datetime
        The moment due dates, days overdue and escalation levels are computed at.
    status : str, optional
        Only cases in this status.
    community_code, grid_code : str, optional
        Only cases of this community or grid.
    overdue_only, open_only : bool
        Only overdue, or only open, cases.

    Returns
    -------
    GeoDataFrame
        Cases with community, due date, days overdue and escalation level (EPSG:4326).
    """
    stmt = scoped(
        sa.select(
            Hazard.id,
            Hazard.code,
            Hazard.category,
            Hazard.severity,
            Hazard.status,
            Hazard.description,
            Hazard.found_at,
            Hazard.deadline,
            Hazard.closed_at,
            Hazard.reporter,
            Hazard.responsible,
            Grid.code.label("grid_code"),
            Grid.name.label("grid_name"),
            Community.code.label("community_code"),
            Community.name.label("community_name"),
            Hazard.geom,
        )
        .outerjoin(Grid, Hazard.grid_id == Grid.id)
        .outerjoin(Community, Grid.community_id == Community.id),
        requester,
        Hazard,
    )
    if status:
        stmt = stmt.where(Hazard.status == status)
    if open_only:
        stmt = stmt.where(Hazard.status != "closed")
    if community_code:
        stmt = stmt.where(Community.code == community_code)
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    frame = read_frame(session, stmt.order_by(Hazard.found_at.desc(), Hazard.id.desc()))
    frame = _with_due_dates(frame, as_of=as_of)
    if overdue_only:
        frame = frame[frame["overdue"]]
    return frame.reset_index(drop=True)


def _with_due_dates(frame: gpd.GeoDataFrame, *, as_of: datetime) -> gpd.GeoDataFrame:
    """The cases with their due date, and days overdue, overdue and escalation at ``as_of``."""
    for col in ("found_at", "deadline", "closed_at"):
        frame[col] = pd.to_datetime(frame[col])
    frame["due_at"] = [
        rules.due_at(s, f, d)
        for s, f, d in zip(frame["status"], frame["found_at"], frame["deadline"], strict=True)
    ]
    frame["due_at"] = pd.to_datetime(frame["due_at"])
    frame["days_overdue"] = [
        rules.days_overdue(s, d, as_of=as_of, found_at=f)
        for s, f, d in zip(frame["status"], frame["found_at"], frame["deadline"], strict=True)
    ]
    frame["overdue"] = [
        rules.is_overdue(s, d, as_of=as_of, found_at=f)
        for s, f, d in zip(frame["status"], frame["found_at"], frame["deadline"], strict=True)
    ]
    frame["escalation"] = [
        rules.escalation_level(s, d, as_of=as_of, found_at=f)
        for s, f, d in zip(frame["status"], frame["found_at"], frame["deadline"], strict=True)
    ]
    return frame


def overdue_by_community(cases: pd.DataFrame) -> pd.DataFrame:
    """Per community: open cases, overdue cases, the longest overdue (days).

    Parameters
    ----------
    cases : DataFrame
        Rows of :func:`cases_frame`.

    Returns
    -------
    DataFrame
        One row per community.
    """
    open_ = cases[cases["status"] != "closed"]
    if not len(open_):
        return pd.DataFrame(
            columns=["community_code", "community_name", "open", "overdue", "max_days_overdue"]
        )
    g = open_.groupby(["community_code", "community_name"], dropna=False)
    out = pd.DataFrame(
        {
            "open": g.size(),
            "overdue": g["overdue"].sum().astype(int),
            "max_days_overdue": g["days_overdue"].max(),
        }
    ).reset_index()
    return out.sort_values(["overdue", "max_days_overdue"], ascending=False).reset_index(drop=True)


def sweep_escalations(session: Session, requester: Requester, *, as_of: datetime) -> list[dict]:
    """Record an ``escalate`` step for every open case whose escalation level rose.

    The level reached is kept in ``props['escalation']``, so each level is recorded once.

    Parameters
    ----------
    session : Session
        Database session; the steps are written in its transaction.
    requester : Requester
        Who sweeps (the steps' actor; audited).
    as_of : datetime
        The moment days overdue are counted at.

    Returns
    -------
    list of dict
        The cases escalated: code, level, target and days overdue.
    """
    cases = cases_frame(session, requester, as_of=as_of, open_only=True)
    done = []
    for row in cases.itertuples():
        hazard = session.get_one(Hazard, int(row.id))
        before = int((hazard.props or {}).get("escalation", 0))
        level = int(row.escalation)
        if level <= before:
            continue
        hazard.props = {**(hazard.props or {}), "escalation": level}
        target = rules.escalation_target(level)
        session.add(
            HazardEvent(
                hazard_id=hazard.id,
                at=as_of.replace(microsecond=0),
                actor=requester.username,
                action="escalate",
                from_status=hazard.status,
                to_status=hazard.status,
                note=f"→ {target} · +{row.days_overdue:.0f} d",
            )
        )
        done.append(
            {
                "code": hazard.code,
                "level": level,
                "target": target,
                "days_overdue": row.days_overdue,
            }
        )
    if done:
        repo.audit(session, requester, "hazard_escalate", None, {"cases": len(done)})
    session.flush()
    return done
