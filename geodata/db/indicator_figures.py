"""The figures of an indicator period per grid, community and street, from the tables.

:func:`compute_figures` gathers every figure the indicator formulas name (buildings and
households, walking distance to health care, doctors, patrol coverage, hazard cases, the
chronic-disease register, how the grids tile their communities) and rolls them up with
:func:`gridmap.analysis.indicators.roll_up`. Everything is judged as it stood at the
period's end (:func:`~geodata.db.analysis.period_as_of`).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db import repo
from geodata.db.analysis import Progress, no_progress, patrol_figures, period_as_of
from geodata.db.frames import read_frame
from gridmap import hazards as hazard_rules
from gridmap.analysis import indicators as ind
from gridmap.analysis.patrol import Period, split_period
from gridmap.crs import metric_crs
from gridmap.display import grid_label
from gridmap.errors import NotFound
from gridmap.messages import N_, fail
from gridmap.standards.indicators import IndicatorSet
from gridmap.units import metres_for

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
CHRONIC_TAGS = frozenset({"hypertension", "diabetes"})
EMPTY_JSON = frozenset({"[]", "null", "{}", '""'})  # JSON texts of no tags


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
    # Tags as their JSON text: most residents have none, and decoding each "[]" is the
    # costliest step of reading the register.
    tags_json = sa.cast(m.Resident.tags, sa.Text)
    rows = session.execute(
        sa.select(m.Grid.code, m.Resident.birth_year, tags_json, m.Resident.props)
        .join(m.Household, m.Resident.household_id == m.Household.id)
        .join(m.Building, m.Household.building_id == m.Building.id)
        .join(m.Grid, m.Building.grid_id == m.Grid.id)
    ).all()
    # Plain tuples: pandas probes each SQLAlchemy row for a dtype, slowly, one by one.
    f = pd.DataFrame([tuple(r) for r in rows], columns=["grid_code", "birth_year", "tags", "props"])
    out = pd.DataFrame({"grid_code": f["grid_code"]})
    patient = f["tags"].map(_is_patient)
    age = as_of.year - pd.to_numeric(f["birth_year"], errors="coerce")
    out["chronic_patients"] = patient
    out["residents_35"] = age >= 35
    no_props = f["props"].isna().all()  # then every field is missing: no need to look
    for figure, keys in CHRONIC_FIELDS.items():
        if no_props:
            out[figure] = np.nan
            continue
        value = f["props"].map(partial(_first_of, keys=keys))
        if value.notna().sum() == 0:
            out[figure] = np.nan  # the register lacks the field: no data, not zero
            continue
        yes = value.map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "是", "y"))
        base = patient if figure != "bp_checked_35" else out["residents_35"]
        out[figure] = yes & base
    return out


def _is_patient(tags_json: str | None) -> bool:
    """Whether a resident's tags (JSON text) name a disease of the chronic programme."""
    if tags_json is None or tags_json in EMPTY_JSON:
        return False
    tags = json.loads(tags_json)
    return bool(tags) and not CHRONIC_TAGS.isdisjoint(tags)


def _first_of(props: dict | None, keys: tuple[str, ...]) -> Any:
    """The value of the first of ``keys`` in a resident's props (None: none of them)."""
    if props:
        for k in keys:
            if k in props:
                return props[k]
    return None


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


def _patrol_sums(grids: pd.DataFrame, codes: pd.Index) -> pd.DataFrame:
    return (
        grids.groupby("grid_code")
        .agg(
            street=("street_m", "sum"),
            patrolled=("patrolled_m", "sum"),
            hh=("households", "sum"),
            hh_cov=("households_covered", "sum"),
        )
        .reindex(codes)
    )


def _patrol_columns(
    session: Session, period: Period, codes: pd.Index, username: str
) -> dict[str, np.ndarray | pd.Series]:
    """Patrol figures per grid, summed over the weeks and over the months of ``period``.

    One coverage run split by week gives both when the period lies in one month: its
    whole-range figures are that month's. A longer period is split by month on its own."""
    weeks = patrol_figures(session, period=period, by="week", username=username)
    if len(split_period(period, "month")) == 1:
        months, sites = weeks.report.whole, weeks.overdue
    else:
        pat = patrol_figures(session, period=period, by="month", username=username)
        months, sites = pat.report.grids, pat.overdue
    out: dict[str, np.ndarray | pd.Series] = {}
    for suffix, grids in (("weeks", weeks.report.grids), ("months", months)):
        per = _patrol_sums(grids, codes)
        out[f"street_m_{suffix}"] = per["street"].to_numpy()
        out[f"street_patrolled_m_{suffix}"] = per["patrolled"].to_numpy()
        out[f"household_{suffix}"] = per["hh"].to_numpy()
        out[f"households_patrolled_{suffix}"] = per["hh_cov"].to_numpy()
    out["street_m"] = months.groupby("grid_code")["street_m"].first().reindex(codes).to_numpy()
    out["key_sites"] = sites.groupby("grid_code").size().reindex(codes).fillna(0)
    out["key_sites_in_interval"] = (
        sites[~sites["overdue"].astype(bool)].groupby("grid_code").size().reindex(codes).fillna(0)
    )
    return out


def _building_columns(
    session: Session, codes: pd.Index, band: tuple[float, float]
) -> dict[str, pd.Series]:
    """Households, residents and residential buildings per grid, and whether a grid's
    households lie in the standard's ``band``."""
    b = repo.buildings_frame(session)
    in_grid = b[b["grid_code"].notna()]
    out = {
        "households": in_grid.groupby("grid_code")["households"].sum().reindex(codes).fillna(0),
        "residents": in_grid.groupby("grid_code")["residents"].sum().reindex(codes).fillna(0),
    }
    out["households_in_grid"] = out["households"]
    res = in_grid[in_grid["use"].isin(RESIDENTIAL)]
    out["residential_buildings"] = res.groupby("grid_code").size().reindex(codes).fillna(0)
    out["residential_buildings_with_households"] = (
        res[res["households"] > 0].groupby("grid_code").size().reindex(codes).fillna(0)
    )
    lo, hi = band
    out["grids_in_band"] = ((out["households"] >= lo) & (out["households"] <= hi)).astype(float)
    return out


def _health_columns(session: Session, codes: pd.Index) -> dict[str, pd.Series | float]:
    """Residents per grid within 15 and 20 minutes' walk of health care (no data: NaN)."""
    health = _health(session)
    if not len(health):
        return {"residents_health_15min": np.nan, "residents_health_20min": np.nan}
    h = health[health["grid"].notna()]
    return {
        name: (h["residents"] * h[flag]).groupby(h["grid"]).sum().reindex(codes).fillna(0)
        for name, flag in (("residents_health_15min", "in_15"), ("residents_health_20min", "in_20"))
    }


def _street_households(session: Session, streets: dict[str, str]) -> dict[str, float]:
    """Per street office: all its households, in grids or not (one street office: all)."""
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
    if len(streets) == 1:
        return {code: float(total) for code in streets}
    return {code: float(n) for code, n in hh_all.items() if code}


def compute_figures(
    session: Session,
    period: Period,
    *,
    indicators: IndicatorSet,
    username: str = "system",
    progress: Progress = no_progress,
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Every figure of ``period`` recomputed from the tables (no memo).

    Parameters
    ----------
    session : Session
    period : Period
    indicators : IndicatorSet
        The indicator table; its households band decides ``grids_in_band``.
    username : str
        The name the whole-city reads are made under.
    progress : callable
        Called with a stage name as the figures are gathered.

    Returns
    -------
    tuple
        The figures per level (grid, community, street; see
        :func:`gridmap.analysis.indicators.roll_up`) and the area names per level.
    """
    as_of = period_as_of(period)
    grids, comm, names = _areas(session)
    if not len(grids):
        raise fail(NotFound, N_("no grids: load grids first (gridmap import grids ...)"))
    codes = pd.Index(grids["code"])
    fig = pd.DataFrame(index=codes)
    fig["grids"] = 1.0
    progress("buildings")
    for name, column in _building_columns(session, codes, indicators.households_band).items():
        fig[name] = column
    progress("reach")
    for name, value in _health_columns(session, codes).items():
        fig[name] = value
    fig["doctors"] = _doctors(session, grids).to_numpy()
    progress("patrol")
    for name, column in _patrol_columns(session, period, codes, username).items():
        fig[name] = column
    progress("hazards")
    fig = fig.join(_per_grid(_hazards(session, period, as_of), codes))
    progress("register")
    fig = fig.join(_per_grid(_chronic(session, as_of), codes))
    fig = fig.reset_index().rename(columns={"index": "code"})
    fig["community_code"] = grids["community_code"].to_numpy()
    fig["street_code"] = grids["street_code"].to_numpy()
    tiling = _tiling(grids, comm).merge(comm[["code", "street_code"]], on="code", how="right")
    streets = _street_households(session, names["street"])
    return ind.roll_up(fig, tiling, {"households_all": streets}), names
