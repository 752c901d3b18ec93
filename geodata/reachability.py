"""Reachability on the database: load buildings and facilities, run, judge, store.

``compute_reach(session, ...)`` is the one service the CLI (`gridmap reach`) and the
planner's page call: it takes the stored walking network (building it when the roads
changed; see ``geodata.network_store``), or falls back to the labelled straight-line
estimate when the database holds no roads, computes every building's distance to the
nearest facility per category, aggregates coverage per grid, community and street, judges
the rules (GB 50180-2018 and the others, plus the user's file) and stores the run with its
parameters and per-building results. ``isochrones_for``, ``gaps_for`` and ``suggest_for``
build the map layers and new-site suggestions for one category from a report.

Only aggregates leave here (households and residents counted per building); no personal
data is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.network_store import NetworkOptions, StoredNetwork, ensure_network
from geodata.reach_inputs import ReachInputs, building_snap, facilities_in_range, load_inputs
from gridmap import vocab
from gridmap.analysis import reach as R
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput, NotFound
from gridmap.messages import N_, fail
from gridmap.network import SNAP_OFF
from gridmap.standards.rules import RuleSet, evaluate, load_rules

Progress = Callable[[str, int, int], None]
AREA_LEVELS = ("grid", "community", "street")
METHODS = ("auto", "network", "estimate", "radius")
RESIDENTIAL_USES = ("residential", "mixed")


@dataclass
class Threshold:
    """One coverage threshold: 'level' thresholds use the GB 50180-2018 walking distance of
    a life-circle level, 'time' ones minutes at the run's speed."""

    label: str
    minutes: float
    distance_m: float
    kind: str


def thresholds_for(
    minutes, rules: RuleSet, speed_kmh: float, *, time_based: bool = False
) -> list[Threshold]:
    """The coverage thresholds of a run, one per number of minutes.

    A whole number of minutes the standards give a life-circle distance for (5/10/15: 300/500/
    1000 m, GB 50180-2018) uses that distance unless ``time_based``; any other is minutes x speed.

    Parameters
    ----------
    minutes : iterable of float
        The thresholds in minutes.
    rules : RuleSet
        The planning rules, which know the life-circle distances.
    speed_kmh : float
        Walking speed in km/h.
    time_based : bool
        Use minutes x speed for every threshold.

    Returns
    -------
    list of Threshold
    """
    out = []
    for mins in minutes:
        level = (
            None
            if time_based
            else rules.level_distance_m(int(mins))
            if float(mins).is_integer()
            else None
        )
        if level is not None:
            out.append(Threshold(f"{mins:g} min", float(mins), level, "level"))
        else:
            out.append(
                Threshold(
                    f"{mins:g} min", float(mins), float(R.metres_for(mins, speed_kmh)), "time"
                )
            )
    return out


@dataclass
class ReachReport:
    """Everything one run computed (see module docstring)."""

    method: str
    params: dict
    categories: list[str]
    thresholds: list[Threshold]
    reach: R.ReachTable
    inputs: ReachInputs
    coverage: pd.DataFrame
    rules: pd.DataFrame
    ruleset: RuleSet
    network: StoredNetwork | None
    run_id: int | None = None
    warnings: list[str] = field(default_factory=list)
    facility_scope: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def metric_crs(self) -> str:
        """The metric CRS of the run's geometry (the network's, else the buildings' UTM)."""
        if self.network is not None:
            return self.network.network.crs
        return self.params.get("crs") or str(metric_crs(self.inputs.buildings))

    @property
    def speed_kmh(self) -> float:
        """The run's walking speed in km/h."""
        return self.params["speed_kmh"]

    def label(self, lang: str = "en") -> str:
        """What the distances are (network walk, estimate or service radius), for a reader.

        Parameters
        ----------
        lang : str
            'en' or 'zh'.

        Returns
        -------
        str
        """
        return self.reach.label(lang)

    def summary(self) -> dict:
        """Residents covered per category and threshold over the whole database.

        Returns
        -------
        dict
            Per category and threshold the residents and those covered, the rules passed of the
            total, and the facilities per category (total, considered, out of range).
        """
        street = self.coverage[self.coverage["level"] == "street"]
        out: dict[str, dict] = {}
        for cat in self.categories:
            rows = street[street["category"] == cat]
            out[cat] = {
                t: {
                    "residents": int(g["residents"].sum()),
                    "covered": int(g["residents_covered"].sum()),
                }
                for t, g in rows.groupby("threshold", sort=False)
            }
        rules = self.rules[self.rules["level"] == "street"] if len(self.rules) else self.rules
        passed = int((rules["passed"] == True).sum()) if len(rules) else 0  # noqa: E712
        return {
            "categories": out,
            "rules_passed": passed,
            "rules_total": int(len(rules)),
            "facilities": {
                c: {k: int(v) for k, v in row.items()} for c, row in self.facility_scope.iterrows()
            },
        }

    def building_table(self) -> pd.DataFrame:
        """One row per building, for the building table and its downloads.

        Returns
        -------
        DataFrame
            Code, area codes, use, households, residents, snap, then per category the distance
            (metres), minutes and the nearest facility's code (empty beyond the cutoff).
        """
        b = self.inputs.buildings
        codes = self.inputs.facilities["code"]
        out = b[["code", "grid", "community", "street", "use", "households", "residents"]].copy()
        out["snap"] = self.reach.table["snap"]
        for cat in self.categories:
            out[f"{cat}_m"] = self.reach.table[f"{cat}_m"].round(1)
            out[f"{cat}_min"] = self.reach.table[f"{cat}_min"].round(2)
            ids = self.reach.table[f"{cat}_id"]
            out[f"{cat}_id"] = [codes.get(i) if i is not None else None for i in ids]
        return out


@dataclass(frozen=True)
class ReachOptions:
    """What one reachability run computes and how (see ``compute_reach``).

    categories     facility category codes (default: every category the rules need or a
                   facility has)
    minutes        coverage thresholds; 5/10/15 use the GB 50180-2018 walking distances
                   (300/500/1000 m) unless ``time_based``, others minutes x speed
    max_minutes    cutoff of the search (default: the largest threshold or rule distance);
                   beyond it distances are empty
    method         'auto' (network when roads exist, else estimate), 'network', 'estimate',
                   'radius'
    """

    categories: Iterable[str] | None = None
    minutes: Iterable[float] = R.DEFAULT_MINUTES
    speed_kmh: float = R.DEFAULT_SPEED_KMH
    max_minutes: float | None = None
    method: str = "auto"
    detour_factor: float = R.DEFAULT_DETOUR_FACTOR
    rules_path: str | Path | None = None
    time_based: bool = False
    max_snap_m: float = 300.0
    network_options: NetworkOptions | None = None
    rebuild_network: bool = False
    lang: str = "zh"


def compute_reach(
    session: Session,
    options: ReachOptions | None = None,
    *,
    store: bool = True,
    created_by: str | None = None,
    progress: Progress | None = None,
) -> ReachReport:
    """Run reachability for the whole database (see the module docstring).

    Parameters
    ----------
    session : Session
        The database session (read, and written when ``store``).
    options : ReachOptions, optional
        Categories, thresholds (minutes), speed (km/h), method and rules of the run;
        the defaults when omitted.
    store : bool
        Keep the run and its per-building results in the database.
    created_by : str, optional
        Who asked for the run, recorded with it.
    progress : callable, optional
        Called with (stage, done, total) while the shortest paths run.

    Returns
    -------
    ReachReport
        The distances, coverage and judged rules of the run (``run_id`` set when stored).
    """
    opts = options or ReachOptions()
    minutes, ruleset, inputs, cats, thresholds, cutoff = _prepare(session, opts)
    warnings: list[str] = []
    inputs, scope = facilities_in_range(inputs, cutoff)
    stored = _stored_network(session, opts)
    b = inputs.buildings
    table, params = _reach_table(
        stored, inputs, opts, cats=cats, cutoff_m=cutoff, progress=progress, warnings=warnings
    )
    params.update(
        {
            "minutes": minutes,
            "time_based": opts.time_based,
            "thresholds_m": {t.label: t.distance_m for t in thresholds},
            "rules": list(ruleset.sources),
        }
    )
    table.params.update(params)
    weights = b[["residents", "households"]]
    areas = {level: b[level] for level in AREA_LEVELS}
    cov = R.coverage(
        table, weights, areas, thresholds_m={t.label: t.distance_m for t in thresholds}
    )
    rules_df = _rules_for(
        ruleset,
        table,
        weights,
        areas,
        cats=cats,
        speed_kmh=opts.speed_kmh,
        names=inputs.names,
        lang=opts.lang,
    )
    report = ReachReport(
        table.method,
        table.params,
        cats,
        thresholds,
        table,
        inputs,
        cov,
        rules_df,
        ruleset,
        stored,
        warnings=warnings,
        facility_scope=scope.loc[scope.index.isin(cats)],
    )
    if store:
        report.run_id = store_run(session, report, created_by=created_by)
    return report


def _prepare(
    session: Session, opts: ReachOptions
) -> tuple[list[float], RuleSet, ReachInputs, list[str], list[Threshold], float]:
    """The checked thresholds (minutes), rules, inputs and categories of a run, and the cutoff
    (metres) of its search."""
    if opts.method not in METHODS:
        raise fail(
            InvalidInput,
            N_("method must be one of {choices} (got {given})"),
            choices=", ".join(METHODS),
            given=repr(opts.method),
        )
    speed_kmh = opts.speed_kmh
    R.metres_per_minute(speed_kmh)
    minutes = sorted({float(x) for x in opts.minutes})
    if not minutes or minutes[0] <= 0:
        raise fail(InvalidInput, N_("minutes must be positive numbers, e.g. 5,10,15"))
    ruleset = load_rules(opts.rules_path)
    inputs = load_inputs(session)
    if inputs.buildings.empty:
        raise fail(NotFound, N_("the database holds no buildings; import them or build the demo"))
    cats = _chosen_categories(opts.categories, ruleset, inputs)
    thresholds = thresholds_for(minutes, ruleset, speed_kmh, time_based=opts.time_based)
    rules_m = [r.threshold_m(speed_kmh) for r in ruleset.enabled() if set(r.categories) & set(cats)]
    cutoff = (
        float(R.metres_for(opts.max_minutes, speed_kmh))
        if opts.max_minutes is not None
        else max([t.distance_m for t in thresholds] + rules_m)
    )
    return minutes, ruleset, inputs, cats, thresholds, cutoff


def _stored_network(session: Session, opts: ReachOptions) -> StoredNetwork | None:
    """The walking network the run uses (None for the straight-line methods or no roads)."""
    stored = None
    if opts.method in ("auto", "network"):
        stored = ensure_network(session, options=opts.network_options, rebuild=opts.rebuild_network)
        if stored is None and opts.method == "network":
            raise fail(
                NotFound,
                N_(
                    "the database holds no roads, so there is no walking network; "
                    "import the street lines, or use --method estimate"
                ),
            )
    return stored


def _chosen_categories(
    categories: Iterable[str] | None, ruleset: RuleSet, inputs: ReachInputs
) -> list[str]:
    """The categories asked for (each known), else every one the rules need or a facility has,
    in vocabulary order."""
    have = set(inputs.facilities["category"].dropna())
    if categories:
        cats = list(dict.fromkeys(categories))
        bad = [c for c in cats if c not in vocab.FACILITY_CODES]
        if bad:
            raise fail(
                InvalidInput,
                N_("unknown facility category {category}; known: {known}")
                if len(bad) == 1
                else N_("unknown facility categories {category}; known: {known}"),
                category=", ".join(bad),
                known=", ".join(c.code for c in vocab.FACILITY_CATEGORIES),
            )
    else:
        wanted = set(ruleset.categories()) | have
        cats = [c.code for c in vocab.FACILITY_CATEGORIES if c.code in wanted]
    return cats


def _reach_table(
    stored: StoredNetwork | None,
    inputs: ReachInputs,
    opts: ReachOptions,
    *,
    cats: list[str],
    cutoff_m: float,
    progress: Progress | None,
    warnings: list[str],
) -> tuple[R.ReachTable, dict[str, Any]]:
    """The per-building table on the walking network when there is one, else by service
    radius or straight-line estimate; appends what a reader must know to ``warnings``."""
    method, speed_kmh = opts.method, opts.speed_kmh
    max_snap_m, detour_factor = opts.max_snap_m, opts.detour_factor
    b = inputs.buildings
    f = inputs.facilities
    if stored is not None:
        net = stored.network
        warnings += list(net.warnings)
        osnap = building_snap(net, b, max_snap_m=max_snap_m)
        table = R.reach_by_category(
            net,
            f,
            b,
            category_field="category",
            categories=cats,
            max_distance_m=cutoff_m,
            speed_kmh=speed_kmh,
            snapping=R.SnapOptions(max_snap_m=max_snap_m, origin_snap=osnap),
            progress=progress,
        )
        off = int((osnap.status == SNAP_OFF).sum())
        if off:
            warnings.append(
                f"{off} buildings are more than {max_snap_m:g} m from the walking "
                "network (off-network): they count as not covered"
            )
        params = {
            "speed_kmh": speed_kmh,
            "max_distance_m": cutoff_m,
            "max_snap_m": max_snap_m,
            "detour_factor": None,
        }
    elif method == R.METHOD_RADIUS:
        table = R.radius_by_category(
            f,
            b,
            category_field="category",
            categories=cats,
            max_distance_m=cutoff_m,
            speed_kmh=speed_kmh,
        )
        params = dict(table.params)
    else:
        table = R.estimate_by_category(
            f,
            b,
            category_field="category",
            categories=cats,
            max_distance_m=cutoff_m,
            speed_kmh=speed_kmh,
            detour_factor=detour_factor,
        )
        warnings.append(
            f"no walking network: distances are ESTIMATES (straight line x {detour_factor:g})"
        )
        params = dict(table.params)
    return table, params


def _rules_for(
    ruleset: RuleSet,
    table: R.ReachTable,
    weights: pd.DataFrame,
    areas: dict[str, pd.Series],
    *,
    cats: list[str],
    speed_kmh: float,
    names: Any,
    lang: str,
) -> pd.DataFrame:
    """The planning rules evaluated on the distances, kept to those about ``cats``."""
    present = table.table[[c for c in table.table if c.endswith("_m")]]
    rules_df = evaluate(
        ruleset, present, weights, areas, speed_kmh=speed_kmh, names=names, lang=lang
    )
    if len(rules_df):
        rules_df = rules_df[
            rules_df["categories"].map(lambda s: bool(set(s.split(",")) & set(cats)))
        ].reset_index(drop=True)
    return rules_df


def store_run(session: Session, report: ReachReport, *, created_by: str | None) -> int:
    """Insert the run and one result row per building and category.

    Parameters
    ----------
    session : Session
        The database session (committed by the caller).
    report : ReachReport
        The run to store.
    created_by : str or None
        Who asked for the run.

    Returns
    -------
    int
        The new run's id.
    """
    run = m.ReachRun(
        created_at=datetime.now(),
        created_by=created_by,
        method=report.method,
        speed_kmh=float(report.speed_kmh),
        max_distance_m=float(report.params["max_distance_m"]),
        detour_factor=report.params.get("detour_factor"),
        network_id=report.network.network_id if report.network else None,
        categories=list(report.categories),
        params={k: v for k, v in report.params.items()},
        summary=report.summary(),
    )
    session.add(run)
    session.flush()
    t = report.reach.table
    bids = t.index.to_numpy()
    rows = []
    for cat in report.categories:
        d = t[f"{cat}_m"].to_numpy(float)
        mins = t[f"{cat}_min"].to_numpy(float)
        fid = t[f"{cat}_id"].to_numpy(object)
        snap = t["snap"].to_numpy(object)
        for k in range(len(bids)):
            ok = d[k] == d[k]
            rows.append(
                {
                    "run_id": run.id,
                    "building_id": int(bids[k]),
                    "category": cat,
                    "distance_m": float(d[k]) if ok else None,
                    "minutes": float(mins[k]) if mins[k] == mins[k] else None,
                    "facility_id": int(fid[k]) if fid[k] is not None else None,
                    "snap": str(snap[k]),
                }
            )
    for start in range(0, len(rows), 5000):
        session.execute(sa.insert(m.ReachResult), rows[start : start + 5000])
    return run.id


def latest_runs(session: Session, limit: int = 10) -> list[dict]:
    """The most recent stored runs, newest first, for the list of earlier runs.

    Parameters
    ----------
    session : Session
        The database session.
    limit : int
        How many runs at most.

    Returns
    -------
    list of dict
        Per run: id, time, who, method, speed (km/h), cutoff (metres), categories and the
        planner's request when the planner page made it.
    """
    runs = session.scalars(sa.select(m.ReachRun).order_by(m.ReachRun.id.desc()).limit(limit))
    return [
        {
            "id": r.id,
            "created_at": r.created_at.isoformat(timespec="seconds"),
            "created_by": r.created_by,
            "method": r.method,
            "speed_kmh": r.speed_kmh,
            "max_distance_m": r.max_distance_m,
            "categories": r.categories,
            "plan": (r.params or {}).get("plan"),
        }
        for r in runs
    ]
