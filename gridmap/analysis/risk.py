"""An explainable risk index per building and per grid.

Every score is the sum of its components and every component is a count (or days,
or percentage points) times a weight from ``gridmap/standards/risk_weights.yaml``
(documented there; a user file overrides any subset). Nothing is learned or
hidden: a popup can print each component and the sum it makes.

Component names (columns of :attr:`RiskResult.components`):

* ``key_sites.<category>``: key sites of the category within ``radius_m`` (building)
  or inside the grid;
* ``hazards.open``: open hazards by severity; ``hazards.overdue``: their days past the
  deadline (capped);
* ``vulnerable.<group>``: households or residents of the group;
* ``incidents.recent``: cases reported in the last ``recent_days``;
* ``patrol.not_passed`` (building): no patrol within 30 m in the window;
  ``patrol.shortfall`` (grid): percentage points of street coverage below target;
* ``inspections.overdue`` (grid): key sites past their inspection interval.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from gridmap import vocab
from gridmap.analysis.groups import check_group, group_label
from gridmap.errors import ConfigError, InvalidInput
from gridmap.messages import N_, fail


def default_weights() -> dict[str, Any]:
    """The packaged risk weights (``standards/risk_weights.yaml``).

    Returns
    -------
    dict
        Points per key site, open hazard (by severity) and day overdue, vulnerable
        household or resident, recent incident, unpatrolled building and overdue
        inspection.
    """
    text = resources.files("gridmap.standards").joinpath("risk_weights.yaml").read_text("utf-8")
    weights: dict[str, Any] = yaml.safe_load(text)
    return weights


def _merge(
    base: dict[str, Any], override: dict[str, Any], where: str, path: str = ""
) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        here = f"{path}.{key}" if path else str(key)
        if key not in base:
            # Category and group tables are open: new categories/groups may be added.
            if path.split(".")[-1] not in ("per_site", "per_household", "per_resident"):
                raise fail(
                    ConfigError,
                    N_(
                        "{where}: unknown risk weight {key!r}; see "
                        "gridmap/standards/risk_weights.yaml for the keys"
                    ),
                    where=where,
                    key=here,
                )
            out[key] = value
        elif isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise fail(
                    ConfigError,
                    N_("{where}: {key} must be a mapping of weights"),
                    where=where,
                    key=here,
                )
            out[key] = _merge(base[key], value, where, here)
        else:
            out[key] = value
    return out


def _validate(weights: dict[str, Any], where: str) -> dict[str, Any]:
    def walk(node: dict[str, Any], path: str) -> None:
        for key, value in node.items():
            here = f"{path}.{key}" if path else key
            if isinstance(value, dict):
                walk(value, here)
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise fail(
                    ConfigError,
                    N_("{where}: {key} must be a number >= 0, got {value!r}"),
                    where=where,
                    key=here,
                    value=value,
                )

    walk(weights, "")
    for cat in weights["key_sites"]["per_site"]:
        if cat not in vocab.KEY_SITE_CODES:
            raise fail(
                ConfigError,
                N_(
                    "{where}: key_sites.per_site.{cat} is not a key-site category; use one of {codes}"
                ),
                where=where,
                cat=cat,
                codes=", ".join(sorted(vocab.KEY_SITE_CODES)),
            )
    for sev in weights["hazards"]["per_open"]:
        if sev not in vocab.HAZARD_SEVERITY_CODES:
            raise fail(
                ConfigError,
                N_("{where}: hazards.per_open.{sev} is not a severity (low, medium, high)"),
                where=where,
                sev=sev,
            )
    for table in ("per_household", "per_resident"):
        for g in weights["vulnerable"][table]:
            try:
                check_group(g)
            except InvalidInput as exc:
                raise fail(
                    ConfigError,
                    N_("{where}: vulnerable.{table}.{group}: {reason}"),
                    where=where,
                    table=table,
                    group=g,
                    reason=getattr(exc, "note", None) or exc,
                ) from exc
    return weights


def load_weights(path: str | Path | None = None) -> dict[str, Any]:
    """The default weights, overridden by the YAML file ``path`` when given.

    Parameters
    ----------
    path : str or Path or None
        A YAML file with the keys it changes (the installation's comes from
        ``Settings.risk_weights``, GRIDMAP_RISK_WEIGHTS); None for the shipped weights.

    Returns
    -------
    dict
        The validated weights (points per count, radii in metres).
    """
    weights = default_weights()
    path = path or None
    if path is None:
        return _validate(weights, "gridmap/standards/risk_weights.yaml")
    p = Path(path)
    try:
        user = yaml.safe_load(p.read_text("utf-8")) or {}
    except FileNotFoundError as exc:
        raise fail(ConfigError, N_("risk weights file {path} does not exist"), path=p) from exc
    except yaml.YAMLError as exc:
        raise fail(
            ConfigError,
            N_("risk weights file {path} is not valid YAML: {reason}"),
            path=p,
            reason=exc,
        ) from exc
    if not isinstance(user, dict):
        raise fail(
            ConfigError,
            N_("risk weights file {path} must be a YAML mapping like the default file"),
            path=p,
        )
    return _validate(_merge(weights, user, str(p)), str(p))


def vulnerable_groups(weights: dict[str, Any]) -> list[str]:
    """The groups ``weights`` gives points to, households' first, without repeats.

    Parameters
    ----------
    weights : dict
        As from :func:`load_weights`.

    Returns
    -------
    list of str
        Group codes (see :mod:`gridmap.analysis.groups`).
    """
    v = weights["vulnerable"]
    return list(dict.fromkeys([*v["per_household"], *v["per_resident"]]))


@dataclass
class RiskResult:
    """Index-aligned with the input units (buildings or grids).

    score: Series; components: DataFrame whose columns sum to ``score`` row by row;
    counts: DataFrame of the raw counts behind each component (same column names).
    """

    score: pd.Series
    components: pd.DataFrame
    counts: pd.DataFrame

    def explain(self, i: Any) -> list[dict[str, Any]]:
        """The non-zero components of one unit, largest first.

        Parameters
        ----------
        i : object
            The unit's index label.

        Returns
        -------
        list of dict
            name, count, points per component.
        """
        row = self.components.loc[i]
        out = [
            {"component": c, "count": float(self.counts.loc[i, c]), "points": float(v)}
            for c, v in row.items()
            if v
        ]
        return sorted(out, key=lambda r: -r["points"])


def component_label(name: str, lang: str = "zh") -> str:
    """Display label of a component name.

    Parameters
    ----------
    name : str
        The component ("hazards.open", "key_sites.<category>", "vulnerable.<group>" ...).
    lang : str
        "zh" or "en".

    Returns
    -------
    str
        The label.
    """
    head, _, tail = name.partition(".")
    zh = lang == "zh"
    if head == "key_sites":
        cat = next((c for c in vocab.KEY_SITE_CATEGORIES if c.code == tail), None)
        name_ = (cat.zh if zh else cat.en) if cat else tail
        return f"{'重点场所' if zh else 'Key sites'}: {name_}"
    if head == "vulnerable":
        return f"{'重点人群' if zh else 'Vulnerable'}: {group_label(tail, lang)}"
    fixed = {
        "hazards.open": ("未结隐患", "Open hazards"),
        "hazards.overdue": ("隐患超期天数", "Hazard days overdue"),
        "incidents.recent": ("近期案件", "Recent incidents"),
        "patrol.not_passed": ("近期未巡查", "Not patrolled recently"),
        "patrol.shortfall": ("巡查覆盖率差距(百分点)", "Patrol coverage shortfall (points)"),
        "inspections.overdue": ("超期未检查场所", "Overdue inspections"),
    }
    pair = fixed.get(name)
    return (pair[0] if zh else pair[1]) if pair else name


def _near_counts(
    units: np.ndarray, points: np.ndarray, radius_m: float, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per unit geometry: sum of point weights (default 1) within ``radius_m``."""
    out = np.zeros(len(units))
    if not len(points) or not len(units):
        return out
    u, p = shapely.STRtree(points).query(units, predicate="dwithin", distance=radius_m)
    w = np.ones(len(points)) if weights is None else np.asarray(weights, float)
    np.add.at(out, u, w[p])
    return out


def _in_grid_counts(
    codes: np.ndarray, item_grid: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    w = np.ones(len(item_grid)) if weights is None else np.asarray(weights, float)
    s = pd.Series(w, index=pd.Index(item_grid, dtype=object)).groupby(level=0).sum()
    per_grid: np.ndarray = s.reindex(codes).fillna(0).to_numpy(float)
    return per_grid


def _hazard_parts(
    hazards: gpd.GeoDataFrame | None, weights: dict[str, Any], as_of: datetime
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open hazards' severity points and capped days overdue, index-aligned."""
    h = weights["hazards"]
    if hazards is None or not len(hazards):
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool)
    is_open = hazards["status"].isin(vocab.HAZARD_OPEN_STATUSES).to_numpy()
    sev = hazards["severity"].map(h["per_open"]).fillna(0).to_numpy(float)
    deadline = pd.to_datetime(hazards["deadline"])
    days = ((pd.Timestamp(as_of) - deadline).dt.total_seconds() / 86400).fillna(0).to_numpy()
    days = np.clip(days, 0, h["max_days_overdue"])
    return sev * is_open, days * is_open, is_open


def _recent(
    hazards: gpd.GeoDataFrame | None, weights: dict[str, Any], as_of: datetime
) -> np.ndarray:
    if hazards is None or not len(hazards):
        return np.zeros(0, dtype=bool)
    since = pd.Timestamp(as_of - timedelta(days=weights["incidents"]["recent_days"]))
    found = pd.to_datetime(hazards["found_at"])
    recent: np.ndarray = ((found >= since) & (found <= pd.Timestamp(as_of))).to_numpy()
    return recent


def _result(
    components: dict[str, np.ndarray], counts: dict[str, np.ndarray], index: pd.Index
) -> RiskResult:
    comp = pd.DataFrame(components, index=index).round(3)
    cnt = pd.DataFrame(counts, index=index)
    # Score is the sum of the rounded components, so they add up exactly as printed.
    return RiskResult(comp.sum(axis=1).round(3).rename("score"), comp, cnt)


def per_100_households(score: pd.Series, households: pd.Series) -> pd.Series:
    """Score per 100 households, to compare grids of different sizes: a large grid gathers more
    points by being large.

    Parameters
    ----------
    score : pandas.Series
        Risk score per grid.
    households : pandas.Series
        Households per grid (aligned).

    Returns
    -------
    pandas.Series
        Points per 100 households; NaN without households.
    """
    hh = pd.to_numeric(households, errors="coerce").where(lambda h: h > 0)
    # Two decimals: a rate of exactly x.x5 stays x.x5 instead of rounding either way.
    return (score / hh * 100).round(2).rename("per_100_households")


def building_risk(
    buildings: gpd.GeoDataFrame,
    *,
    sites: gpd.GeoDataFrame | None = None,
    hazards: gpd.GeoDataFrame | None = None,
    groups: pd.DataFrame | None = None,
    passed: pd.Series | None = None,
    weights: dict[str, Any] | None = None,
    as_of: datetime,
) -> RiskResult:
    """Risk per building; every frame in one metric CRS.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        id, geometry.
    sites, hazards : geopandas.GeoDataFrame, optional
        Key sites (category, geometry); hazards (severity, status, deadline, found_at, geometry).
    groups : pandas.DataFrame, optional
        :func:`~gridmap.analysis.groups.group_counts` per building_id.
    passed : pandas.Series, optional
        Patrol passed in the window (index-aligned bool); None leaves the factor out.
    weights : dict, optional
        Risk weights (default :func:`load_weights`).
    as_of : datetime
        The moment deadlines are judged at.

    Returns
    -------
    RiskResult
        Aligned to the buildings.
    """
    w = weights or load_weights()
    geoms = np.asarray(buildings.geometry.values, dtype=object)
    comps: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    _near_key_sites(comps, counts, geoms, sites, w["key_sites"])
    sev, days, is_open = _hazard_parts(hazards, w, as_of)
    hz_geoms = (
        np.asarray(hazards.geometry.values, dtype=object)
        if hazards is not None
        else np.zeros(0, dtype=object)
    )
    r = w["hazards"]["radius_m"]
    counts["hazards.open"] = (
        _near_counts(geoms, hz_geoms[is_open], r) if len(is_open) else np.zeros(len(geoms))
    )
    comps["hazards.open"] = (
        _near_counts(geoms, hz_geoms[is_open], r, sev[is_open])
        if len(is_open)
        else np.zeros(len(geoms))
    )
    counts["hazards.overdue"] = (
        _near_counts(geoms, hz_geoms[is_open], r, days[is_open])
        if len(is_open)
        else np.zeros(len(geoms))
    )
    comps["hazards.overdue"] = counts["hazards.overdue"] * w["hazards"]["per_day_overdue"]
    recent = _recent(hazards, w, as_of)
    counts["incidents.recent"] = (
        _near_counts(geoms, hz_geoms[recent], w["incidents"]["radius_m"])
        if len(recent)
        else np.zeros(len(geoms))
    )
    comps["incidents.recent"] = counts["incidents.recent"] * w["incidents"]["per_incident"]
    _vulnerable(comps, counts, w, groups, buildings["id"].to_numpy() if "id" in buildings else None)
    if passed is not None:
        not_passed = (~passed.reindex(buildings.index).fillna(False).astype(bool)).to_numpy(float)
        counts["patrol.not_passed"] = not_passed
        comps["patrol.not_passed"] = not_passed * w["patrol"]["building_not_passed"]
    return _result(comps, counts, buildings.index)


def _near_key_sites(
    comps: dict[str, np.ndarray],
    counts: dict[str, np.ndarray],
    geoms: np.ndarray,
    sites: gpd.GeoDataFrame | None,
    ks: dict[str, Any],
) -> None:
    """Key sites of each category within the radius of each building, and their points."""
    for cat, per in ks["per_site"].items():
        if sites is not None and len(sites):
            sel = (sites["category"] == cat).to_numpy()
            n = _near_counts(
                geoms, np.asarray(sites.geometry.values, dtype=object)[sel], ks["radius_m"]
            )
        else:
            n = np.zeros(len(geoms))
        counts[f"key_sites.{cat}"] = n
        comps[f"key_sites.{cat}"] = n * per


def _vulnerable(
    comps: dict[str, np.ndarray],
    counts: dict[str, np.ndarray],
    w: dict[str, Any],
    groups: pd.DataFrame | None,
    ids: np.ndarray | None,
) -> None:
    """Add vulnerable.<group> components from per-unit counts (rows matched on ``ids``)."""
    v = w["vulnerable"]
    n = len(ids) if ids is not None else 0
    for table, suffix in (("per_household", "households"), ("per_resident", "residents")):
        for g, per in v[table].items():
            name = f"vulnerable.{g}"
            col = f"{g}_{suffix}"
            if groups is None or ids is None or col not in groups:
                c = np.zeros(n)
            else:
                c = groups.set_index(groups.columns[0])[col].reindex(ids).fillna(0).to_numpy(float)
            counts[name] = counts.get(name, np.zeros(n)) + c
            comps[name] = comps.get(name, np.zeros(n)) + c * per


def grid_risk(
    grids: gpd.GeoDataFrame,
    *,
    sites: gpd.GeoDataFrame | None = None,
    hazards: gpd.GeoDataFrame | None = None,
    groups: pd.DataFrame | None = None,
    street_pct: pd.Series | None = None,
    overdue_sites: pd.Series | None = None,
    weights: dict[str, Any] | None = None,
    as_of: datetime,
) -> RiskResult:
    """Risk per grid: the factors counted inside each grid (by ``grid_code``) plus patrol
    coverage shortfall and overdue inspections.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        code, geometry.
    sites : geopandas.GeoDataFrame, optional
        Key sites: category, grid_code.
    hazards : geopandas.GeoDataFrame, optional
        severity, status, deadline, found_at, grid_code.
    groups : pandas.DataFrame, optional
        One row per grid (grid_code first, then <group>_households/_residents).
    street_pct : pandas.Series, optional
        Patrolled share of the streets in percent, indexed by grid code (None leaves the
        factor out).
    overdue_sites : pandas.Series, optional
        Overdue key-site inspections, indexed by grid code (None leaves the factor out).
    weights : dict, optional
        Risk weights (default :func:`load_weights`).
    as_of : datetime
        The moment deadlines are judged at.

    Returns
    -------
    RiskResult
        Aligned to the grids.
    """
    w = weights or load_weights()
    codes = grids["code"].to_numpy(dtype=object)
    n = len(codes)
    comps: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for cat, per in w["key_sites"]["per_site"].items():
        c = (
            _in_grid_counts(
                codes, sites.loc[sites["category"] == cat, "grid_code"].to_numpy(object)
            )
            if sites is not None and len(sites)
            else np.zeros(n)
        )
        counts[f"key_sites.{cat}"] = c
        comps[f"key_sites.{cat}"] = c * per
    sev, days, is_open = _hazard_parts(hazards, w, as_of)
    if hazards is not None and len(is_open):
        hg = hazards["grid_code"].to_numpy(object)
        counts["hazards.open"] = _in_grid_counts(codes, hg[is_open])
        comps["hazards.open"] = _in_grid_counts(codes, hg[is_open], sev[is_open])
        counts["hazards.overdue"] = _in_grid_counts(codes, hg[is_open], days[is_open])
        recent = _recent(hazards, w, as_of)
        counts["incidents.recent"] = _in_grid_counts(codes, hg[recent])
    else:
        for k in ("hazards.open", "hazards.overdue", "incidents.recent"):
            counts[k] = np.zeros(n)
        comps["hazards.open"] = np.zeros(n)
    comps["hazards.overdue"] = counts["hazards.overdue"] * w["hazards"]["per_day_overdue"]
    comps["incidents.recent"] = counts["incidents.recent"] * w["incidents"]["per_incident"]
    _vulnerable(comps, counts, w, groups, codes)
    if street_pct is not None:
        pct = street_pct.reindex(codes).to_numpy(float)
        short = np.clip(w["patrol"]["target_street_pct"] - np.nan_to_num(pct, nan=0.0), 0, None)
        counts["patrol.shortfall"] = np.round(short, 1)
        comps["patrol.shortfall"] = counts["patrol.shortfall"] * w["patrol"]["per_point_short"]
    if overdue_sites is not None:
        c = overdue_sites.reindex(codes).fillna(0).to_numpy(float)
        counts["inspections.overdue"] = c
        comps["inspections.overdue"] = c * w["inspections"]["per_overdue_site"]
    return _result(comps, counts, grids.index)
