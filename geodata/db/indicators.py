"""Indicators on the database: evaluate a period's figures, close the period, answer.

The figures of a period come from all the data (:mod:`geodata.db.indicator_figures`,
kept in memory by :func:`period_figures`); :func:`indicator_report` evaluates the
indicator table on them and gives a requester the rows of their areas (grids they may
see, and the communities and street those grids lie in). A closed period answers from
its snapshot (``indicator_snapshot``) and lists what changed in the data since
(corrections).

Time: everything is judged as it stood at the period's end (inspections before it, hazard
statuses from the case history before it), so figures of a past period do not move when
something is recorded today.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import memo, repo
from geodata.db import models as m
from geodata.db.analysis import (
    Progress,
    analysis_as_of,
    default_period,
    no_progress,
    period_as_of,
)
from geodata.db.indicator_figures import compute_figures
from geodata.db.scope import visible_grid_codes
from gridmap.analysis import indicators as ind
from gridmap.analysis.patrol import Period, parse_period
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.privacy import Requester
from gridmap.standards.indicators import IndicatorSet, load_indicators

__all__ = [
    "close_period",
    "compute_figures",
    "compute_rows",
    "indicator_report",
    "period_figures",
    "resolve_period",
]
LEVELS = ("grid", "community", "street")


def resolve_period(text: str | None) -> Period:
    """A period from its text; without one, the last 30 days.

    Parameters
    ----------
    text : str or None
        A month (2026-11), ISO week, day or START/END.

    Returns
    -------
    Period
    """
    return parse_period(text) if text else default_period(days=30)


def period_figures(
    session: Session,
    period: Period,
    *,
    indicators: IndicatorSet,
    username: str = "system",
    progress: Progress = no_progress,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Every figure of ``period`` per grid, community and street, from all the data.

    Kept in memory per database, period, band and data fingerprint (:mod:`geodata.db.memo`),
    so a page, its print view, its download and the API ask once.

    Parameters
    ----------
    session, period, indicators, username, progress
        As for :func:`~geodata.db.indicator_figures.compute_figures` (the band of
        ``indicators`` is part of the memo's key).

    Returns
    -------
    tuple
        A copy of :func:`~geodata.db.indicator_figures.compute_figures`' answer.
    """
    key = ("indicators", period.start, period.end, indicators.households_band)
    return memo.cached(
        session,
        key,
        lambda: compute_figures(
            session, period, indicators=indicators, username=username, progress=progress
        ),
        copy=True,
    )


# --- the report a requester gets ------------------------------------------------------------
def _visible_rows(
    session: Session, requester: Requester, rows: pd.DataFrame, grids: pd.DataFrame
) -> pd.DataFrame:
    """Rows of the requester's areas: their grids, and the communities and street those
    grids lie in. The values are the same for everybody."""
    codes = visible_grid_codes(session, requester)
    if codes is None:
        return rows
    mine = grids[grids["code"].isin(codes)]
    keep = {
        "grid": set(mine["code"]),
        "community": set(mine["community_code"]),
        "street": set(mine["street_code"]),
    }
    return rows[
        [a in keep.get(lv, set()) for lv, a in zip(rows["level"], rows["area"], strict=True)]
    ]


def _grid_areas(session: Session) -> pd.DataFrame:
    return pd.DataFrame(
        session.execute(
            sa.select(m.Grid.code, m.Community.code, m.Street.code)
            .outerjoin(m.Community, m.Grid.community_id == m.Community.id)
            .outerjoin(m.Street, m.Community.street_id == m.Street.id)
        ).all(),
        columns=["code", "community_code", "street_code"],
    )


def compute_rows(
    session: Session,
    period: Period,
    *,
    indicators: IndicatorSet,
    username: str = "system",
    lang: str = "zh",
    progress: Progress = no_progress,
) -> pd.DataFrame:
    """The indicators of ``period`` computed from the database, not stored.

    Parameters
    ----------
    session : Session
    period : Period
    indicators : IndicatorSet
    username : str
        Who asks: the name the whole-city reads are made under.
    lang : str
        ``zh`` or ``en`` for names.
    progress : callable
        Called with a stage name as the figures are gathered.

    Returns
    -------
    pandas.DataFrame
        One row per (indicator, level, area); see :func:`gridmap.analysis.indicators.evaluate`.
    """
    figures, names = period_figures(
        session, period, indicators=indicators, username=username, progress=progress
    )
    return ind.evaluate(indicators, figures, names=names, lang=lang)


def _snapshot(session: Session, period: Period) -> list[m.IndicatorSnapshot]:
    return list(
        session.scalars(
            sa.select(m.IndicatorSnapshot)
            .where(
                m.IndicatorSnapshot.period_start == period.start,
                m.IndicatorSnapshot.period_end == period.end,
            )
            .order_by(m.IndicatorSnapshot.id)
        )
    )


def _check_level(level: str | None) -> None:
    if level is not None and level not in LEVELS:
        raise fail(
            InvalidInput, N_("level must be grid, community or street (got {level!r})"), level=level
        )


def _period_json(period: Period) -> dict[str, str]:
    return {"start": period.start.isoformat(), "end": period.end.isoformat(), "label": period.label}


def _corrections(live: pd.DataFrame, rows: pd.DataFrame) -> list[dict]:
    """Every reported row whose value differs from the one computed from today's data."""
    now_of = live.set_index(["indicator", "level", "area"])["value"]
    fixes: list[dict] = []
    for r in rows.itertuples():
        now = now_of.get((r.indicator, r.level, r.area))
        now = None if now is None or pd.isna(now) else float(now)
        if now != r.value:
            fixes.append(
                {
                    "indicator": r.indicator,
                    "level": r.level,
                    "area": r.area,
                    "area_name": r.area_name,
                    "reported": r.value,
                    "now": now,
                }
            )
    return fixes


def indicator_report(
    session: Session,
    requester: Requester,
    *,
    period: Period,
    level: str | None = None,
    rules_path: str | Path | None = None,
    lang: str = "zh",
    corrections: bool = False,
    progress: Progress = no_progress,
) -> dict:
    """The indicators of ``period`` for the requester's areas (JSON-ready).

    A closed period answers from its snapshot; with ``corrections`` the figures are also
    recomputed from today's data and every value that differs is listed as a correction.

    Parameters
    ----------
    session : Session
    requester : Requester
        Who asks: the rows of their grids and the communities and street those lie in.
    period : Period
    level : str or None
        ``grid``, ``community`` or ``street``; None for all three.
    rules_path : str, Path or None
        The deployment's indicators file merged over the shipped one.
    lang : str
        ``zh`` or ``en`` for names.
    corrections : bool
        List the values of a closed period that today's data would change.
    progress : callable
        Called with a stage name as the figures are gathered.

    Returns
    -------
    dict
        period, as_of, source (snapshot or computed), closed_at, closed_by, rules,
        indicators (one row per indicator and area, with its trend) and corrections.
    """
    _check_level(level)
    indicators = load_indicators(rules_path)
    snap = _snapshot(session, period)
    if snap:
        rows = pd.DataFrame([s.row for s in snap])
        source, closed_at = "snapshot", max(s.closed_at for s in snap)
        closed_by = snap[0].closed_by
    else:
        rows = compute_rows(
            session,
            period,
            indicators=indicators,
            username=requester.username,
            lang=lang,
            progress=progress,
        )
        source, closed_at, closed_by = "computed", None, None
    if level is not None and len(rows):
        rows = rows[rows["level"] == level]
    rows = _visible_rows(session, requester, rows, _grid_areas(session)) if len(rows) else rows
    fixes = None
    if snap and corrections:
        live = compute_rows(
            session, period, indicators=indicators, username=requester.username, lang=lang
        )
        fixes = _corrections(live, rows)
    rows = _with_trend(session, period, rows)
    repo.audit(
        session, requester, "view_indicators", level, {"period": period.label, "rows": len(rows)}
    )
    return {
        "period": _period_json(period),
        "as_of": period_as_of(period).isoformat(),
        "source": source,
        "closed_at": closed_at.isoformat() if closed_at else None,
        "closed_by": closed_by,
        "rules": list(indicators.sources),
        "indicators": [_clean(r) for r in rows.to_dict("records")],
        "corrections": fixes,
    }


def _with_trend(session: Session, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the values of the closed periods before, per row (see :func:`_trend`)."""
    if not len(rows):
        return rows
    trend = _trend(session, period)
    return rows.assign(
        trend=[trend.get((r.indicator, r.level, r.area), []) for r in rows.itertuples()]
    )


def _trend(session: Session, period: Period, last: int = 6) -> dict[tuple, list[dict]]:
    """Per (indicator, level, area): the values of the closed periods of the same length
    that ended by this one's start, oldest first (at most ``last``)."""
    length = period.end - period.start
    snaps = session.execute(
        sa.select(
            m.IndicatorSnapshot.indicator,
            m.IndicatorSnapshot.level,
            m.IndicatorSnapshot.area,
            m.IndicatorSnapshot.period_start,
            m.IndicatorSnapshot.period_end,
            m.IndicatorSnapshot.value,
        )
        .where(m.IndicatorSnapshot.period_end <= period.start)
        .order_by(m.IndicatorSnapshot.period_start)
    ).all()
    out: dict[tuple, list[dict]] = {}
    for ind_id, lv, area, start, end, value in snaps:
        if abs((end - start) - length) > timedelta(days=3):  # months are 28-31 days
            continue
        out.setdefault((ind_id, lv, area), []).append(
            {"period": Period(start, end).label, "value": value}
        )
    return {k: v[-last:] for k, v in out.items()}


def _clean(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if isinstance(v, float) and not np.isfinite(v):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    if out.get("stars") is not None:
        out["stars"] = int(out["stars"])
    return out


def close_period(
    session: Session,
    period: Period,
    *,
    by: str,
    rules_path: str | Path | None = None,
    replace: bool = False,
    progress: Progress = no_progress,
) -> int:
    """Store every indicator of a period that has ended, so its figures stay as reported.

    Parameters
    ----------
    session : Session
    period : Period
        A period that has ended.
    by : str
        Who closes it (kept with the snapshot and in the audit).
    rules_path : str, Path or None
        The deployment's indicators file merged over the shipped one.
    replace : bool
        Close a period already closed again, with today's data.
    progress : callable
        Called with a stage name as the figures are gathered.

    Returns
    -------
    int
        The rows stored.
    """
    now = analysis_as_of()
    if period.end > now:
        raise fail(
            InvalidInput,
            N_("period {period} has not ended yet (it ends {end}); close it afterwards"),
            period=period.label,
            end=period.end.isoformat(sep=" "),
        )
    existing = _snapshot(session, period)
    if existing and not replace:
        raise fail(
            InvalidInput,
            N_(
                "period {period} was closed at {closed_at} by {closed_by}; "
                "pass --replace to close it again with today's data"
            ),
            period=period.label,
            closed_at=existing[0].closed_at.isoformat(sep=" "),
            closed_by=existing[0].closed_by,
        )
    rows = compute_rows(
        session, period, indicators=load_indicators(rules_path), username=by, progress=progress
    )
    for s in existing:
        session.delete(s)
    session.flush()
    for r in rows.to_dict("records"):
        r = _clean(r)
        session.add(
            m.IndicatorSnapshot(
                period_start=period.start,
                period_end=period.end,
                indicator=r["indicator"],
                level=r["level"],
                area=r["area"],
                value=r["value"],
                status=r["status"],
                row=r,
                closed_at=now,
                closed_by=by,
            )
        )
    repo.audit(
        session,
        Requester.system(by),
        "close_indicators",
        period.label,
        {"rows": int(len(rows)), "replace": bool(existing)},
    )
    return int(len(rows))
