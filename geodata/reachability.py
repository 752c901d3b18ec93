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

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import STORAGE_CRS, read_frame
from geodata.network_store import NetworkOptions, StoredNetwork, ensure_network
from gridmap import vocab
from gridmap.analysis import reach as R
from gridmap.analysis.radius import circles
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput, NotFound
from gridmap.network import SNAP_OFF, snap_points
from gridmap.standards.rules import RuleSet, evaluate, load_rules

Progress = Callable[[str, int, int], None]
AREA_LEVELS = ("grid", "community", "street")
METHODS = ("auto", "network", "estimate", "radius")
RESIDENTIAL_USES = ("residential", "mixed")


@dataclass
class ReachInputs:
    """Buildings (polygons, EPSG:4326, indexed by building id) with their area codes/names,
    households and residents; facilities (points, indexed by facility id)."""

    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    names: dict[str, dict[str, str]]


def load_inputs(session: Session) -> ReachInputs:
    """Every building with its grid/community/street and household/resident counts, and every
    facility (aggregates only)."""
    per = (
        sa.select(
            m.Household.building_id.label("building_id"),
            sa.func.count(m.Household.id).label("households"),
            sa.func.coalesce(sa.func.sum(m.Household.size), 0).label("residents"),
        )
        .group_by(m.Household.building_id)
        .subquery()
    )
    stmt = (
        sa.select(
            m.Building.id,
            m.Building.code,
            m.Building.name,
            m.Building.address,
            m.Building.use,
            m.Compound.code.label("compound_code"),
            m.Grid.code.label("grid"),
            m.Community.code.label("community"),
            m.Street.code.label("street"),
            sa.func.coalesce(per.c.households, 0).label("households"),
            sa.func.coalesce(per.c.residents, 0).label("residents"),
            sa.func.ST_AsBinary(m.Building.entrance).label("entrance_wkb"),
            m.Building.geom,
        )
        .outerjoin(m.Compound, m.Building.compound_id == m.Compound.id)
        .outerjoin(m.Grid, m.Building.grid_id == m.Grid.id)
        .outerjoin(m.Community, m.Grid.community_id == m.Community.id)
        .outerjoin(m.Street, m.Community.street_id == m.Street.id)
        .outerjoin(per, per.c.building_id == m.Building.id)
        .order_by(m.Building.id)
    )
    buildings = read_frame(session, stmt).set_index("id", drop=False)
    buildings.index.name = None
    entrance = [
        shapely.from_wkb(bytes(w)) if w is not None else None for w in buildings.pop("entrance_wkb")
    ]
    buildings["entrance"] = pd.Series(entrance, index=buildings.index, dtype=object)
    facilities = read_frame(
        session,
        sa.select(
            m.Facility.id, m.Facility.code, m.Facility.name, m.Facility.category, m.Facility.geom
        ).order_by(m.Facility.id),
    ).set_index("id", drop=False)
    facilities.index.name = None
    names = {
        "grid": dict(session.execute(sa.select(m.Grid.code, m.Grid.name)).all()),
        "community": dict(session.execute(sa.select(m.Community.code, m.Community.name)).all()),
        "street": dict(session.execute(sa.select(m.Street.code, m.Street.name)).all()),
    }
    return ReachInputs(buildings, facilities, names)


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
        return self.params["speed_kmh"]

    def label(self, lang: str = "en") -> str:
        return self.reach.label(lang)

    def summary(self) -> dict:
        """Residents covered per category and threshold over the whole database."""
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
        """Per building: code, area codes, households, residents, snap, then per category
        distance (m), minutes and the nearest facility's code (empty beyond the cutoff)."""
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


def _origin_points(buildings: gpd.GeoDataFrame, crs: str) -> np.ndarray:
    """Entrance when known, else the centroid (metric CRS)."""
    metric = buildings.to_crs(crs)
    xy = np.column_stack([metric.geometry.centroid.x, metric.geometry.centroid.y])
    has = buildings["entrance"].notna().to_numpy()
    if has.any():
        ent = gpd.GeoSeries(list(buildings["entrance"][has]), crs=STORAGE_CRS).to_crs(crs)
        xy[has] = np.column_stack([ent.x, ent.y])
    return xy


def building_snap(net, buildings: gpd.GeoDataFrame, *, max_snap_m: float):
    """Buildings onto the network at their entrance (else centroid), inside the gated
    compound the database assigns them to (else the one around the point)."""
    xy = _origin_points(buildings, net.crs)
    comp_index = {c: k for k, c in enumerate(net.compound_code)}
    explicit = np.array([comp_index.get(c, -1) for c in buildings["compound_code"]], dtype=np.int64)
    explicit[(explicit >= 0) & ~net.compound_gated[np.maximum(explicit, 0)]] = -1
    return snap_points(
        net,
        xy,
        max_snap_m=max_snap_m,
        compound=np.where(explicit >= 0, explicit, net.compound_of(xy)),
    )


def facilities_in_range(
    inputs: ReachInputs, max_distance_m: float
) -> tuple[ReachInputs, pd.DataFrame]:
    """Only facilities within ``max_distance_m`` (straight line, a lower bound of any walk)
    of a building where people live take part: one just over the street's boundary still
    serves its residents, one in another city never does. Returns the inputs with those
    facilities and, per category, how many there are, were considered and were out of range.
    """
    f, b = inputs.facilities, inputs.buildings
    lived = b[(b["residents"] > 0).to_numpy()]
    homes = lived if len(lived) else b
    crs = str(metric_crs(b))
    keep = np.zeros(len(f), bool)
    if len(f) and len(homes):
        d, _ = cKDTree(_origin_points(homes, crs)).query(R.metric_points(f, crs))
        keep = d <= max_distance_m
    cat = f["category"].fillna("").to_numpy(object)
    scope = (
        pd.DataFrame(
            {"category": cat, "considered": keep.astype(int), "out_of_range": (~keep).astype(int)}
        )
        .groupby("category")
        .sum()
    )
    scope.insert(0, "total", scope["considered"] + scope["out_of_range"])
    return ReachInputs(b, f[keep], inputs.names), scope


def compute_reach(
    session: Session,
    *,
    categories=None,
    minutes=R.DEFAULT_MINUTES,
    speed_kmh: float = R.DEFAULT_SPEED_KMH,
    max_minutes: float | None = None,
    method: str = "auto",
    detour_factor: float = R.DEFAULT_DETOUR_FACTOR,
    rules_path: str | Path | None = None,
    time_based: bool = False,
    max_snap_m: float = 300.0,
    network_options: NetworkOptions | None = None,
    rebuild_network: bool = False,
    store: bool = True,
    created_by: str | None = None,
    progress: Progress | None = None,
    lang: str = "zh",
) -> ReachReport:
    """Run reachability for the whole database (see the module docstring).

    categories   facility category codes (default: every category the rules need or a
                 facility has)
    minutes      coverage thresholds; 5/10/15 use the GB 50180-2018 walking distances
                 (300/500/1000 m) unless ``time_based``, others minutes x speed
    max_minutes  cutoff of the search (default: the largest threshold or rule distance);
                 beyond it distances are empty
    method       'auto' (network when roads exist, else estimate), 'network', 'estimate'
    """
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    R.metres_per_minute(speed_kmh)
    minutes = sorted({float(x) for x in minutes})
    if not minutes or minutes[0] <= 0:
        raise InvalidInput("minutes must be positive numbers, e.g. 5,10,15")
    ruleset = load_rules(rules_path)
    inputs = load_inputs(session)
    if inputs.buildings.empty:
        raise NotFound("the database holds no buildings; import them or build the demo")
    cats = _chosen_categories(categories, ruleset, inputs)
    thresholds = thresholds_for(minutes, ruleset, speed_kmh, time_based=time_based)
    rules_m = [r.threshold_m(speed_kmh) for r in ruleset.enabled() if set(r.categories) & set(cats)]
    cutoff = (
        float(R.metres_for(max_minutes, speed_kmh))
        if max_minutes is not None
        else max([t.distance_m for t in thresholds] + rules_m)
    )
    warnings: list[str] = []
    inputs, scope = facilities_in_range(inputs, cutoff)
    stored = None
    if method in ("auto", "network"):
        stored = ensure_network(session, options=network_options, rebuild=rebuild_network)
        if stored is None and method == "network":
            raise NotFound(
                "the database holds no roads, so there is no walking network; "
                "import the street lines, or use --method estimate"
            )
    b = inputs.buildings
    table, params = _reach_table(
        stored,
        inputs,
        method=method,
        cats=cats,
        cutoff_m=cutoff,
        speed_kmh=speed_kmh,
        max_snap_m=max_snap_m,
        detour_factor=detour_factor,
        progress=progress,
        warnings=warnings,
    )
    params.update(
        {
            "minutes": minutes,
            "time_based": time_based,
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
        speed_kmh=speed_kmh,
        names=inputs.names,
        lang=lang,
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
            raise InvalidInput(
                f"unknown facility categor{'y' if len(bad) == 1 else 'ies'} "
                f"{', '.join(bad)}; known: "
                f"{', '.join(c.code for c in vocab.FACILITY_CATEGORIES)}"
            )
    else:
        wanted = set(ruleset.categories()) | have
        cats = [c.code for c in vocab.FACILITY_CATEGORIES if c.code in wanted]
    return cats


def _reach_table(
    stored: StoredNetwork | None,
    inputs: ReachInputs,
    *,
    method: str,
    cats: list[str],
    cutoff_m: float,
    speed_kmh: float,
    max_snap_m: float,
    detour_factor: float,
    progress: Progress | None,
    warnings: list[str],
) -> tuple[R.ReachTable, dict[str, Any]]:
    """The per-building table on the walking network when there is one, else by service
    radius or straight-line estimate; appends what a reader must know to ``warnings``."""
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
    """Insert the run and one result row per building and category; returns the run id."""
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


# --- map layers and suggestions for one category ---------------------------------------


def _category_facilities(report: ReachReport, category: str) -> gpd.GeoDataFrame:
    if category not in report.categories:
        raise InvalidInput(f"category {category!r} was not computed in this run")
    f = report.inputs.facilities
    return f[f["category"] == category]


def isochrones_for(
    report: ReachReport,
    category: str,
    *,
    distances_m,
    buffer_m: float = R.DEFAULT_BUFFER_M,
    per_facility: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrones of one category (EPSG:4326): facility id (None for the merged polygon),
    code, name, distance_m, minutes, estimate (True when straight-line circles)."""
    fac = _category_facilities(report, category)
    cols = ["facility", "code", "name", "distance_m", "minutes", "estimate"]
    if fac.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=STORAGE_CRS)
    speed = report.speed_kmh
    if report.network is not None:
        net = report.network.network
        snap = snap_points(
            net, R.metric_points(fac, net.crs), max_snap_m=report.params["max_snap_m"]
        )
        iso = R.isochrones(
            net, snap, radii_m=distances_m, buffer_m=buffer_m, per_source=per_facility
        )
        crs = net.crs
        estimate = False
    else:
        # Straight-line reach: circles (the service radius, or the estimate's radius / factor).
        crs = report.metric_crs
        xy = R.metric_points(fac, crs)
        factor = report.params.get("detour_factor") or 1.0
        rows = []
        for d in sorted(distances_m):
            rings = circles(xy, d / factor)
            rows.append((-1, d, shapely.union_all(rings)))
            if per_facility:
                rows += [(k, d, g) for k, g in enumerate(rings)]
        iso = gpd.GeoDataFrame(
            {"source": [r[0] for r in rows], "radius_m": [r[1] for r in rows]},
            geometry=[r[2] for r in rows],
            crs=crs,
        )
        estimate = True
    ids = fac.index.to_numpy()
    src = iso["source"].to_numpy()
    out = gpd.GeoDataFrame(
        {
            "facility": [int(ids[s]) if s >= 0 else None for s in src],
            "code": [fac["code"].iloc[s] if s >= 0 else None for s in src],
            "name": [fac["name"].iloc[s] if s >= 0 else None for s in src],
            "distance_m": iso["radius_m"].to_numpy(),
            "minutes": R.minutes_for(iso["radius_m"].to_numpy(), speed),
            "estimate": estimate,
        },
        geometry=iso.geometry.values,
        crs=crs,
    )
    return out.to_crs(STORAGE_CRS)


def covered_mask(report: ReachReport, category: str, distance_m: float) -> np.ndarray:
    return (report.reach.distance(category) <= distance_m).to_numpy()


def gaps_for(
    report: ReachReport,
    category: str,
    distance_m: float,
    *,
    covered_area=None,
    buffer_m: float = 30.0,
) -> gpd.GeoDataFrame:
    """Gap polygons (EPSG:4326) of one category and distance: residential buildings with
    residents outside the reach, grown and merged; ``covered_area`` (EPSG:4326) removed."""
    b = report.inputs.buildings
    crs = report.metric_crs
    residential = (b["residents"] > 0).to_numpy()
    uncovered = residential & ~covered_mask(report, category, distance_m)
    area = None
    if covered_area is not None:
        area = gpd.GeoSeries([covered_area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    gaps = R.gap_polygons(b.to_crs(crs), uncovered, covered_area=area, buffer_m=buffer_m)
    return gaps.to_crs(STORAGE_CRS)


def suggest_for(
    report: ReachReport,
    category: str,
    *,
    distance_m: float,
    k: int = 3,
    candidates: gpd.GeoSeries | None = None,
    max_candidates: int = 300,
    gaps: gpd.GeoDataFrame | None = None,
) -> tuple[R.Suggestion, gpd.GeoDataFrame]:
    """Greedy k new sites for one category; candidates are the planner's points
    (EPSG:4326) or network nodes inside the gaps. Returns the suggestion and the picks as
    points (EPSG:4326) with their added coverage."""
    fac = _category_facilities(report, category)
    b = report.inputs.buildings
    weights = b[["residents", "households"]]
    crs = report.metric_crs
    net = report.network.network if report.network is not None else None
    if gaps is None:
        gaps = gaps_for(report, category, distance_m)
    if candidates is not None:
        cand_xy = R.metric_points(candidates, crs)
    elif net is not None:
        gap_geoms = np.asarray(gaps.to_crs(crs).geometry.values, dtype=object)
        cand_xy = R.candidate_nodes(net, gap_geoms, max_candidates=max_candidates)
    else:
        pts = (
            b[(b["residents"] > 0).to_numpy() & ~covered_mask(report, category, distance_m)]
            .to_crs(crs)
            .geometry.centroid
        )
        cand_xy = R.thin_points(np.column_stack([pts.x, pts.y]), max_candidates)
    if net is not None:
        osnap = building_snap(net, b, max_snap_m=report.params["max_snap_m"])
        fsnap = snap_points(net, R.metric_points(fac, crs), max_snap_m=report.params["max_snap_m"])
        sugg = R.suggest_sites(
            net, fsnap, osnap, weights, radius_m=distance_m, candidates_xy=cand_xy, k=k
        )
    else:
        sugg = R.suggest_sites_estimate(
            R.metric_points(fac, crs),
            _origin_points(b, crs),
            weights,
            radius_m=distance_m,
            candidates_xy=cand_xy,
            k=k,
            detour_factor=report.params.get("detour_factor") or 1.0,
        )
    picks = sugg.picks
    pts = gpd.GeoDataFrame(
        picks.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(picks["x"], picks["y"]), crs=crs
    )
    return sugg, pts.to_crs(STORAGE_CRS)
