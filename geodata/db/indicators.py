"""Indicators on the database: gather every figure of a period, evaluate, close, answer.

One function computes the figures of a period from all the data
(:func:`period_figures`); :func:`indicator_report` evaluates the indicator table on them
and gives a requester the rows of their areas (grids they may see, and the communities
and street those grids lie in). A closed period answers from its snapshot
(``indicator_snapshot``) and lists what changed in the data since (corrections).

Time: everything is judged as it stood at the period's end (inspections before it, hazard
statuses from the case history before it), so figures of a past period do not move when
something is recorded today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import memo, repo
from geodata.db import models as m
from geodata.db.analysis import analysis_as_of, default_period, patrol_figures, period_as_of
from geodata.db.frames import read_frame
from geodata.db.scope import visible_grid_codes
from gridmap import hazards as hazard_rules
from gridmap.analysis import indicators as ind
from gridmap.analysis.patrol import Period, parse_period
from gridmap.crs import metric_crs
from gridmap.display import grid_label
from gridmap.errors import InvalidInput, NotFound
from gridmap.privacy import Requester
from gridmap.standards.indicators import IndicatorSet, load_indicators
from gridmap.units import metres_for

Progress = Callable[[str], None]
HEALTH_15 = ("health_center", "health_station")
HEALTH_20 = ("health_center", "health_station", "clinic")
DOCTOR_KEYS = ("doctors", "医生数", "责任医生", "责任医生数")
# Register fields of the chronic-disease programme, as import columns land in props.
CHRONIC_FIELDS = {
    "chronic_managed": ("managed", "规范管理"),
    "chronic_medicated": ("medicated", "规律服药"),
    "chronic_controlled": ("controlled", "血压控制", "控制达标"),
    "bp_checked_35": ("bp_checked", "首诊测压"),
}
RESIDENTIAL = ("residential", "mixed")


def _noop(_step: str) -> None:
    return None


def resolve_period(text: str | None) -> Period:
    """A period from its text (month, ISO week, day, START/END); default the last 30 days."""
    return parse_period(text) if text else default_period(days=30)


# --- figures ------------------------------------------------------------------------------
def _areas(session: Session) -> tuple[pd.DataFrame, gpd.GeoDataFrame, dict]:
    grids = repo.grids_frame(session)
    comm = read_frame(
        session,
        sa.select(
            m.Community.code, m.Community.name, m.Street.code.label("street_code"), m.Community.geom
        )
        .outerjoin(m.Street, m.Community.street_id == m.Street.id)
        .order_by(m.Community.code),
    )
    street_of = comm.set_index("code")["street_code"]
    grids["street_code"] = street_of.reindex(grids["community_code"]).to_numpy()
    names = {
        "grid": {r.code: grid_label(r.community_name, r.name, r.code) for r in grids.itertuples()},
        "community": dict(zip(comm["code"], comm["name"], strict=True)),
        "street": dict(session.execute(sa.select(m.Street.code, m.Street.name)).all()),
    }
    return grids, comm, names


def _health(session: Session) -> pd.DataFrame:
    """Per building: walking distance (m) to the nearest facility of the health categories."""
    from geodata.reachability import ReachOptions, compute_reach

    have = set(session.scalars(sa.select(m.Facility.category).distinct()))
    cats = [c for c in HEALTH_20 if c in have]
    if not cats:
        return pd.DataFrame()
    try:
        rep = compute_reach(
            session,
            ReachOptions(categories=cats, minutes=[15, 20], time_based=False, max_minutes=20),
            store=False,
        )
    except NotFound:
        return pd.DataFrame()
    table = rep.building_table()
    speed = rep.speed_kmh
    out = pd.DataFrame({"grid": table["grid"], "residents": table["residents"]})
    d15 = (
        table[[f"{c}_m" for c in cats if c in HEALTH_15]].min(axis=1, skipna=True)
        if any(c in HEALTH_15 for c in cats)
        else pd.Series(np.nan, index=table.index)
    )
    d20 = table[[f"{c}_m" for c in cats]].min(axis=1, skipna=True)
    limit_15 = rep.ruleset.level_distance_m(15) or 1000.0
    limit_20 = float(metres_for(20, speed))
    out["in_15"] = (d15 <= limit_15).to_numpy()
    out["in_20"] = (d20 <= limit_20).to_numpy()
    return out


def _doctors(session: Session, grids: gpd.GeoDataFrame) -> pd.Series:
    fac = read_frame(
        session,
        sa.select(m.Facility.id, m.Facility.category, m.Facility.props, m.Facility.geom).where(
            m.Facility.category.in_(HEALTH_20)
        ),
    )
    counts = []
    for p in fac["props"] if len(fac) else []:
        p = p or {}
        value = next((p[k] for k in DOCTOR_KEYS if p.get(k) not in (None, "")), None)
        try:
            counts.append(float(value) if value is not None else np.nan)
        except (TypeError, ValueError):
            counts.append(np.nan)
    if not counts or all(np.isnan(counts)):
        return pd.Series(np.nan, index=grids["code"])  # the register holds no doctors: no data
    fac = fac.assign(doctors=np.nan_to_num(counts))
    joined = gpd.sjoin(
        fac[["doctors", "geometry"]], grids[["code", "geometry"]], predicate="within", how="inner"
    )
    return joined.groupby("code")["doctors"].sum().reindex(grids["code"]).fillna(0.0)


def _hazards(session: Session, period: Period, as_of: datetime) -> pd.DataFrame:
    """Per hazard: its grid and the period's flags, judged at ``as_of`` from the history."""
    hz = read_frame(
        session,
        sa.select(
            m.Hazard.id,
            m.Hazard.status,
            m.Hazard.found_at,
            m.Hazard.deadline,
            m.Hazard.closed_at,
            m.Hazard.responsible,
            m.Grid.code.label("grid_code"),
            m.Hazard.geom,
        ).outerjoin(m.Grid, m.Hazard.grid_id == m.Grid.id),
    )
    ev = pd.DataFrame(
        session.execute(
            sa.select(
                m.HazardEvent.hazard_id,
                m.HazardEvent.at,
                m.HazardEvent.action,
                m.HazardEvent.to_status,
            )
        ).all(),
        columns=["hazard_id", "at", "action", "to_status"],
    )
    ev["at"] = pd.to_datetime(ev["at"])
    for col in ("found_at", "deadline", "closed_at"):
        hz[col] = pd.to_datetime(hz[col])
    start, end, cut = (pd.Timestamp(period.start), pd.Timestamp(period.end), pd.Timestamp(as_of))
    before = ev[ev["at"] < cut].sort_values("at", kind="stable")
    status_then = before.groupby("hazard_id")["to_status"].last()
    assigned_then = set(before.loc[before["to_status"] == "assigned", "hazard_id"])
    reinspected = set(before.loc[before["action"] == "reinspect", "hazard_id"])
    closed = hz["closed_at"].where(hz["closed_at"] < cut)
    status = hz["id"].map(status_then)
    # Without a history row the case stood as recorded, unless it was closed after the cut.
    status = status.fillna(
        hz["status"].where(closed.notna() | (hz["status"] != "closed"), "handled")
    )
    found = (hz["found_at"] >= start) & (hz["found_at"] < end)
    due = (hz["deadline"] >= start) & (hz["deadline"] < end)
    closed_in = closed.notna() & (closed >= start) & (closed < end)
    known = hz["found_at"] < cut
    overdue = [
        bool(k) and hazard_rules.is_overdue(s, d, as_of=as_of, found_at=f)
        for k, s, d, f in zip(known, status, hz["deadline"], hz["found_at"], strict=True)
    ]
    has_people = hz["responsible"].notna() & hz["deadline"].notna()
    return pd.DataFrame(
        {
            "grid_code": hz["grid_code"],
            "hazards_found": found,
            "hazards_assigned": found & has_people & hz["id"].isin(assigned_then),
            "hazards_due": due,
            "hazards_closed_on_time": due & closed.notna() & (closed <= hz["deadline"]),
            "hazards_closed": closed_in,
            "hazards_reinspected": closed_in & hz["id"].isin(reinspected),
            "hazards_overdue": np.asarray(overdue, dtype=bool),
        }
    )


def _chronic(session: Session, as_of: datetime) -> pd.DataFrame:
    rows = session.execute(
        sa.select(m.Grid.code, m.Resident.birth_year, m.Resident.tags, m.Resident.props)
        .join(m.Household, m.Resident.household_id == m.Household.id)
        .join(m.Building, m.Household.building_id == m.Building.id)
        .join(m.Grid, m.Building.grid_id == m.Grid.id)
    ).all()
    f = pd.DataFrame(rows, columns=["grid_code", "birth_year", "tags", "props"])
    tags = f["tags"].map(lambda t: set(t or []))
    out = pd.DataFrame({"grid_code": f["grid_code"]})
    patient = tags.map(lambda t: bool(t & {"hypertension", "diabetes"}))
    age = as_of.year - pd.to_numeric(f["birth_year"], errors="coerce")
    out["chronic_patients"] = patient
    out["residents_35"] = age >= 35
    props = f["props"].map(lambda p: p or {})
    for figure, keys in CHRONIC_FIELDS.items():
        value = props.map(lambda p, keys=keys: next((p[k] for k in keys if k in p), None))
        if value.notna().sum() == 0:
            out[figure] = np.nan  # the register lacks the field: no data, not zero
            continue
        yes = value.map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "是", "y"))
        base = patient if figure != "bp_checked_35" else out["residents_35"]
        out[figure] = yes & base
    return out


def _per_grid(frame: pd.DataFrame, codes: pd.Index, key: str = "grid_code") -> pd.DataFrame:
    cols = [c for c in frame.columns if c != key]
    if not len(frame):
        return pd.DataFrame(0.0, index=codes, columns=cols)
    sums = {}
    for c in cols:
        col = frame[c]
        if col.isna().all():
            sums[c] = pd.Series(np.nan, index=codes)
        else:
            sums[c] = col.astype(float).groupby(frame[key]).sum().reindex(codes).fillna(0.0)
    return pd.DataFrame(sums, index=codes)


def _tiling(grids: gpd.GeoDataFrame, comm: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per community: its area, the part inside its grids, the part under two or more."""
    crs = metric_crs(comm) if len(comm) else None
    rows = []
    if crs is None:
        return pd.DataFrame(columns=["code", *ind.COMMUNITY_FIGURES])
    cm = comm.to_crs(crs)
    gm = grids.to_crs(crs)
    for code, geom in zip(cm["code"], cm.geometry, strict=True):
        mine = gm[gm["community_code"] == code].geometry
        if geom is None or geom.is_empty:
            rows.append(
                {
                    "code": code,
                    "community_area_m2": np.nan,
                    "grid_cover_m2": np.nan,
                    "grid_overlap_m2": np.nan,
                }
            )
            continue
        union = mine.union_all() if len(mine) else None
        cover = union.intersection(geom).area if union is not None else 0.0
        overlap = max(float(mine.area.sum()) - (union.area if union is not None else 0.0), 0.0)
        rows.append(
            {
                "code": code,
                "community_area_m2": round(geom.area, 1),
                "grid_cover_m2": round(cover, 1),
                "grid_overlap_m2": round(overlap, 1),
            }
        )
    return pd.DataFrame(rows)


def period_figures(
    session: Session,
    period: Period,
    *,
    indicators: IndicatorSet,
    username: str = "system",
    progress: Progress = _noop,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Every figure of ``period`` per grid, community and street, from all the data.

    Kept in memory per database, period, band and data fingerprint (:mod:`geodata.db.memo`),
    so a page, its print view, its download and the API ask once."""
    key = ("indicators", period.start, period.end, indicators.households_band)
    return memo.cached(
        session,
        key,
        lambda: compute_figures(
            session, period, indicators=indicators, username=username, progress=progress
        ),
        copy=True,
    )


def compute_figures(
    session: Session,
    period: Period,
    *,
    indicators: IndicatorSet,
    username: str = "system",
    progress: Progress = _noop,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """The naive path: every figure of ``period`` recomputed from the tables."""
    as_of = period_as_of(period)
    grids, comm, names = _areas(session)
    if not len(grids):
        raise NotFound("no grids: load grids first (gridmap import grids ...)")
    codes = pd.Index(grids["code"])
    fig = pd.DataFrame(index=codes)
    fig["grids"] = 1.0
    progress("buildings")
    b = repo.buildings_frame(session)
    in_grid = b[b["grid_code"].notna()]
    fig["households"] = in_grid.groupby("grid_code")["households"].sum().reindex(codes).fillna(0)
    fig["residents"] = in_grid.groupby("grid_code")["residents"].sum().reindex(codes).fillna(0)
    fig["households_in_grid"] = fig["households"]
    res = in_grid[in_grid["use"].isin(RESIDENTIAL)]
    fig["residential_buildings"] = res.groupby("grid_code").size().reindex(codes).fillna(0)
    fig["residential_buildings_with_households"] = (
        res[res["households"] > 0].groupby("grid_code").size().reindex(codes).fillna(0)
    )
    lo, hi = indicators.households_band
    fig["grids_in_band"] = ((fig["households"] >= lo) & (fig["households"] <= hi)).astype(float)
    progress("reach")
    health = _health(session)
    if len(health):
        h = health[health["grid"].notna()]
        for name, flag in (
            ("residents_health_15min", "in_15"),
            ("residents_health_20min", "in_20"),
        ):
            fig[name] = (h["residents"] * h[flag]).groupby(h["grid"]).sum().reindex(codes).fillna(0)
    else:
        fig["residents_health_15min"] = fig["residents_health_20min"] = np.nan
    fig["doctors"] = _doctors(session, grids).to_numpy()
    progress("patrol")
    for by, suffix in (("week", "weeks"), ("month", "months")):
        pat = patrol_figures(session, period=period, by=by, username=username)
        per = (
            pat.report.grids.groupby("grid_code")
            .agg(
                street=("street_m", "sum"),
                patrolled=("patrolled_m", "sum"),
                hh=("households", "sum"),
                hh_cov=("households_covered", "sum"),
            )
            .reindex(codes)
        )
        fig[f"street_m_{suffix}"] = per["street"].to_numpy()
        fig[f"street_patrolled_m_{suffix}"] = per["patrolled"].to_numpy()
        fig[f"household_{suffix}"] = per["hh"].to_numpy()
        fig[f"households_patrolled_{suffix}"] = per["hh_cov"].to_numpy()
        if by == "month":
            fig["street_m"] = (
                pat.report.grids.groupby("grid_code")["street_m"].first().reindex(codes).to_numpy()
            )
            sites = pat.overdue
            fig["key_sites"] = sites.groupby("grid_code").size().reindex(codes).fillna(0)
            fig["key_sites_in_interval"] = (
                sites[~sites["overdue"].astype(bool)]
                .groupby("grid_code")
                .size()
                .reindex(codes)
                .fillna(0)
            )
    progress("hazards")
    fig = fig.join(_per_grid(_hazards(session, period, as_of), codes))
    progress("register")
    fig = fig.join(_per_grid(_chronic(session, as_of), codes))
    fig = fig.reset_index().rename(columns={"index": "code"})
    fig["community_code"] = grids["community_code"].to_numpy()
    fig["street_code"] = grids["street_code"].to_numpy()
    tiling = _tiling(grids, comm).merge(comm[["code", "street_code"]], on="code", how="right")
    hh_all = dict(
        session.execute(
            sa.select(m.Street.code, sa.func.count(m.Household.id))
            .select_from(m.Household)
            .join(m.Building, m.Household.building_id == m.Building.id)
            .join(m.Grid, m.Building.grid_id == m.Grid.id, isouter=True)
            .join(m.Community, m.Grid.community_id == m.Community.id, isouter=True)
            .join(m.Street, m.Community.street_id == m.Street.id, isouter=True)
            .group_by(m.Street.code)
        ).all()
    )
    total = sum(hh_all.values())
    streets = (
        {code: float(total) for code in names["street"]}
        if len(names["street"]) == 1
        else {code: float(n) for code, n in hh_all.items() if code}
    )
    return ind.roll_up(fig, tiling, {"households_all": streets}), names


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
    progress: Progress = _noop,
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


def indicator_report(
    session: Session,
    requester: Requester,
    *,
    period: Period,
    level: str | None = None,
    rules_path=None,
    lang: str = "zh",
    corrections: bool = False,
    progress: Progress = _noop,
) -> dict:
    """The indicators of ``period`` for the requester's areas (JSON-ready).

    A closed period answers from its snapshot; with ``corrections`` the figures are also
    recomputed from today's data and every value that differs is listed as a correction.
    """
    if level is not None and level not in ("grid", "community", "street"):
        raise InvalidInput(f"level must be grid, community or street (got {level!r})")
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
    fixes: list[dict] = []
    if snap and corrections:
        live = compute_rows(
            session, period, indicators=indicators, username=requester.username, lang=lang
        )
        live = live.set_index(["indicator", "level", "area"])["value"]
        for r in rows.itertuples():
            now = live.get((r.indicator, r.level, r.area))
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
    trend = _trend(session, period)
    if len(rows):
        rows = rows.assign(
            trend=[trend.get((r.indicator, r.level, r.area), []) for r in rows.itertuples()]
        )
    repo.audit(
        session,
        requester,
        "view_indicators",
        level,
        {"period": period.label, "rows": int(len(rows))},
    )
    return {
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "label": period.label,
        },
        "as_of": period_as_of(period).isoformat(),
        "source": source,
        "closed_at": closed_at.isoformat() if closed_at else None,
        "closed_by": closed_by,
        "rules": list(indicators.sources),
        "indicators": [_clean(r) for r in rows.to_dict("records")],
        "corrections": fixes if snap and corrections else None,
    }


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
    rules_path=None,
    replace: bool = False,
    progress: Progress = _noop,
) -> int:
    """Store every indicator of a period that has ended; returns the rows stored."""
    now = analysis_as_of()
    if period.end > now:
        raise InvalidInput(
            f"period {period.label} has not ended yet (it ends "
            f"{period.end.isoformat(sep=' ')}); close it afterwards"
        )
    existing = _snapshot(session, period)
    if existing and not replace:
        raise InvalidInput(
            f"period {period.label} was closed at "
            f"{existing[0].closed_at.isoformat(sep=' ')} by {existing[0].closed_by}; "
            "pass --replace to close it again with today's data"
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
