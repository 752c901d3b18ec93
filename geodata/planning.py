"""The planner's question for one facility category, answered once for the page, its
downloads, its print view and the CLI (`gridmap suggest`, `gridmap reach --method compare`).

``plan_category(session, PlanRequest(...))`` runs ``compute_reach`` with the service radius
(``view='radius'``), on foot (``'network'``: the walking network, or the labelled estimate
without roads) or both (``'compare'``), at the life-circle level's distance (GB 50180-2018
table 4.0.1: 300/500/1000 m, which are also appendix C's kindergarten, primary and junior
middle school radii). From the run it builds the map layers (isochrones or circles), the
gaps, the greedy new sites with the street and address they stand at, the per-building
table and, when both answers exist, the buildings "covered on paper only" with their
reason and their totals per grid, community and street. Page runs are stored like CLI runs
(``reach_run``, with the request in ``params['plan']``).

Only aggregates leave here (households and residents counted per building).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import STORAGE_CRS, read_frame
from geodata.plan_tables import building_frame, compare_by_area
from geodata.reach_layers import gaps_for, isochrones_for, suggest_for
from geodata.reachability import ReachOptions, ReachReport, compute_reach, store_run
from gridmap import vocab
from gridmap.analysis import reach as R
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.standards.rules import RuleSet, load_rules

VIEWS = ("radius", "network", "compare")
LEVELS = (5, 10, 15)
CANDIDATE_SOURCES = ("gaps", "public", "file")
MAX_SITES = 10
NEAR_ADDRESS_M = 150.0  # a suggested site takes the address of a building this close


@dataclass(frozen=True)
class PlanRequest:
    """What the planner asks. ``minutes``: the life-circle level (default: the category's
    own); ``candidates``: street points inside the gaps, public buildings (use 'public') or
    ``candidate_points`` ((lon, lat, name) from the planner's file)."""

    category: str
    view: str = "network"
    minutes: int | None = None
    speed_kmh: float = R.DEFAULT_SPEED_KMH
    k: int = 3
    candidates: str = "gaps"
    candidate_points: tuple = ()

    def checked(self) -> PlanRequest:
        """The request validated, with the category's own level filled in.

        Returns
        -------
        PlanRequest

        Raises
        ------
        InvalidInput
            Naming the field that is wrong (category, view, level, sites, candidates, speed).
        """
        if self.category not in vocab.FACILITY_CODES:
            raise fail(
                InvalidInput,
                N_("unknown facility category {category}; known: {known}"),
                category=repr(self.category),
                known=", ".join(c.code for c in vocab.FACILITY_CATEGORIES),
            )
        if self.view not in VIEWS:
            raise fail(
                InvalidInput,
                N_("view must be one of {choices} (got {given})"),
                choices=", ".join(VIEWS),
                given=repr(self.view),
            )
        minutes = self.minutes if self.minutes is not None else own_level(self.category)
        if minutes not in LEVELS:
            raise fail(
                InvalidInput,
                N_("level must be one of 5, 10, 15 minutes (got {given})"),
                given=minutes,
            )
        if not 0 <= self.k <= MAX_SITES:
            raise fail(
                InvalidInput,
                N_("the number of new sites must be 0 to {limit} (got {given})"),
                limit=MAX_SITES,
                given=self.k,
            )
        if self.candidates not in CANDIDATE_SOURCES:
            raise fail(
                InvalidInput,
                N_("candidates must be one of {choices} (got {given})"),
                choices=", ".join(CANDIDATE_SOURCES),
                given=repr(self.candidates),
            )
        if self.candidates == "file" and not self.candidate_points:
            raise fail(InvalidInput, N_("the candidate file holds no points"))
        R.metres_per_minute(self.speed_kmh)
        return PlanRequest(
            self.category,
            self.view,
            int(minutes),
            float(self.speed_kmh),
            int(self.k),
            self.candidates,
            tuple(self.candidate_points),
        )

    def params(self) -> dict:
        """The request as JSON-ready values (for storing beside the results).

        Returns
        -------
        dict
        """
        out = asdict(self)
        out["candidate_points"] = [list(p) for p in self.candidate_points]
        return out


def own_level(category: str) -> int:
    """The life-circle level a category belongs to.

    Parameters
    ----------
    category : str
        A facility category code.

    Returns
    -------
    int
        The level in minutes (15 for a category without one).
    """
    return next((c.level_min for c in vocab.FACILITY_CATEGORIES if c.code == category), 15)


@dataclass
class CategoryPlan:
    """Everything one request computed; frames in EPSG:4326 unless said otherwise."""

    request: PlanRequest
    distance_m: float
    main: ReachReport
    radius: ReachReport | None
    walk: ReachReport | None
    reach_areas: gpd.GeoDataFrame  # kind ('isochrone' | 'circle' | 'estimate'), facility...
    gaps: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame  # one row per building, see building_frame
    compare: pd.DataFrame | None  # per level/area, see gridmap.analysis.radius
    picks: gpd.GeoDataFrame | None
    candidates: int = 0
    candidate_source: str = "gaps"
    run_ids: list[int] = field(default_factory=list)

    @property
    def minutes_at_speed(self) -> float:
        """The level's distance as walking minutes at the request's speed (km/h)."""
        return float(R.minutes_for(self.distance_m, self.request.speed_kmh))

    def coverage(self, report: ReachReport | None = None) -> pd.DataFrame:
        """The category's coverage rows (per level, area and threshold) of ``report``.

        Parameters
        ----------
        report : ReachReport, optional
            One of the plan's runs (default: the main one).

        Returns
        -------
        DataFrame
        """
        report = report or self.main
        cov = report.coverage
        return cov[cov["category"] == self.request.category]

    def street_totals(self, report: ReachReport | None = None) -> dict:
        """Residents/households covered at the request's distance, whole street office.

        Parameters
        ----------
        report : ReachReport, optional
            One of the plan's runs (default: the main one).

        Returns
        -------
        dict
            Residents and households: in all, covered, and the covered share (None when none).
        """
        cov = self.coverage(report)
        rows = cov[(cov["level"] == "street") & np.isclose(cov["threshold_m"], self.distance_m)]
        res = int(rows["residents"].sum())
        hh = int(rows["households"].sum())
        cr = int(rows["residents_covered"].sum())
        ch = int(rows["households_covered"].sum())
        return {
            "residents": res,
            "residents_covered": cr,
            "residents_share": cr / res if res else None,
            "households": hh,
            "households_covered": ch,
            "households_share": ch / hh if hh else None,
        }

    def facility_counts(self) -> dict:
        """Facilities of the category: total, considered, out of range.

        Returns
        -------
        dict
        """
        scope = self.main.facility_scope
        cat = self.request.category
        if cat not in scope.index:
            return {"total": 0, "considered": 0, "out_of_range": 0}
        return {k: int(v) for k, v in scope.loc[cat].items()}


def plan_category(
    session: Session,
    request: PlanRequest,
    *,
    rules_path=None,
    store: bool = True,
    created_by: str | None = None,
    lang: str = "zh",
) -> CategoryPlan:
    """Answer ``request`` (see the module docstring).

    Parameters
    ----------
    session : Session
        The database session.
    request : PlanRequest
        The planner's question.
    rules_path : str or Path, optional
        A file of planning rules added to the standards.
    store : bool
        Store the runs, with the request, and commit.
    created_by : str, optional
        Who asked, recorded with the runs.
    lang : str
        Language of the rule texts ('zh' or 'en').

    Returns
    -------
    CategoryPlan
    """
    request = request.checked()
    cat = request.category
    rules = load_rules(rules_path)
    radius, walk = _runs(session, request, rules, rules_path=rules_path, lang=lang)
    main = radius if request.view == "radius" else walk
    assert main is not None and request.minutes is not None  # every view computes its own
    distance = rules.level_distance_m(request.minutes)
    if distance is None:
        raise fail(
            InvalidInput,
            N_("the standards give no distance for the {minutes}-minute level"),
            minutes=request.minutes,
        )
    areas, gaps = _areas_and_gaps(main, radius, request, distance)
    picks, n_cand = _new_sites(session, request, main, distance, gaps)
    table = building_frame(
        main, cat, radius=radius, walk=walk, distance_m=distance, session=session
    )
    compare = None
    if radius is not None and walk is not None:
        compare = compare_by_area(walk, table["straight_m"], table["walk_m"], distance)
    plan = CategoryPlan(
        request,
        distance,
        main,
        radius,
        walk,
        areas,
        gaps,
        table,
        compare,
        picks,
        n_cand,
        request.candidates,
    )
    if store:
        _store_plan(session, plan, created_by=created_by)
    return plan


def _areas_and_gaps(
    main: ReachReport, radius: ReachReport | None, request: PlanRequest, distance: float
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The reach polygons of the view (with the service radius's circles when comparing)
    and the gaps left outside the main run's merged reach at the level's distance
    (metres)."""
    cat = request.category
    levels = [t.distance_m for t in main.thresholds]
    areas = _reach_areas(main, cat, levels, distance)
    if request.view == "compare":
        assert radius is not None
        areas = pd.concat(
            [areas, _reach_areas(radius, cat, [distance], distance)], ignore_index=True
        )
    merged = areas[
        areas["facility"].isna()
        & np.isclose(areas["distance_m"], distance)
        & (areas["kind"] == _kind(main))
    ]
    gaps = gaps_for(
        main, cat, distance, covered_area=merged.geometry.iloc[0] if len(merged) else None
    )
    return areas, gaps


def _runs(
    session: Session, request: PlanRequest, rules: RuleSet, *, rules_path, lang: str
) -> tuple[ReachReport | None, ReachReport | None]:
    """The service-radius and walking runs the view needs (None for the one it does not),
    over the category and every category its rules name."""
    cat = request.category
    needed = list(dict.fromkeys([cat] + [c for r in rules.rules_for(cat) for c in r.categories]))
    run = {
        "categories": needed,
        "minutes": LEVELS,
        "speed_kmh": request.speed_kmh,
        "rules_path": rules_path,
        "lang": lang,
    }
    radius = walk = None
    if request.view in ("radius", "compare"):
        radius = compute_reach(session, ReachOptions(method=R.METHOD_RADIUS, **run), store=False)
    if request.view in ("network", "compare"):
        walk = compute_reach(session, ReachOptions(method="auto", **run), store=False)
    return radius, walk


def _new_sites(
    session: Session,
    request: PlanRequest,
    main: ReachReport,
    distance_m: float,
    gaps: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame | None, int]:
    """The greedy new sites with their street and address, and how many candidates they
    were chosen from (none when the request asks for no sites)."""
    if request.k <= 0:
        return None, 0
    cand, labels = _candidates(request, main)
    sugg, picks = suggest_for(
        main, request.category, distance_m=distance_m, k=request.k, candidates=cand, gaps=gaps
    )
    return _describe_sites(session, main, picks, labels), len(sugg.ranking)


def _store_plan(session: Session, plan: CategoryPlan, *, created_by: str | None) -> None:
    """Store the plan's runs with the request in ``params['plan']``."""
    for report in (plan.radius, plan.walk):
        if report is not None:
            report.params["plan"] = plan.request.params()
            report.run_id = store_run(session, report, created_by=created_by)
            plan.run_ids.append(report.run_id)
    session.commit()


def _kind(report: ReachReport) -> str:
    return {R.METHOD_RADIUS: "circle", R.METHOD_ESTIMATE: "estimate"}.get(
        report.method, "isochrone"
    )


def _reach_areas(report: ReachReport, category: str, levels, distance_m) -> gpd.GeoDataFrame:
    """Merged reach polygons at every level plus, at ``distance_m`` (when given), one per
    facility; ``kind`` says whether they are isochrones or circles."""
    merged = isochrones_for(report, category, distances_m=levels, per_facility=False)
    parts = [merged]
    if distance_m is not None:
        per = isochrones_for(report, category, distances_m=[distance_m], per_facility=True)
        parts.append(per[per["facility"].notna()])
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=STORAGE_CRS)
    out["kind"] = _kind(report)
    return out


def _candidates(request: PlanRequest, report: ReachReport):
    """Candidate points (EPSG:4326 GeoSeries, None = street points inside the gaps) and
    their labels."""
    if request.candidates == "file":
        pts = gpd.GeoSeries(
            gpd.points_from_xy(
                [p[0] for p in request.candidate_points], [p[1] for p in request.candidate_points]
            ),
            crs=STORAGE_CRS,
        )
        return pts, [p[2] if len(p) > 2 else None for p in request.candidate_points]
    if request.candidates == "public":
        b = report.inputs.buildings
        public = b[(b["use"] == "public").to_numpy()]
        if public.empty:
            raise fail(
                InvalidInput,
                N_(
                    "no building has the use 'public' (公共服务) to choose from; "
                    "import public buildings or upload a candidate file"
                ),
            )
        crs = report.metric_crs
        pts = gpd.GeoSeries(public.to_crs(crs).geometry.representative_point(), crs=crs).to_crs(
            STORAGE_CRS
        )
        labels = [
            " · ".join(x for x in (n, a) if x) or c
            for n, a, c in zip(public["name"], public["address"], public["code"], strict=True)
        ]
        return pts.reset_index(drop=True), labels
    return None, None


def _describe_sites(
    session: Session, report: ReachReport, picks: gpd.GeoDataFrame, labels
) -> gpd.GeoDataFrame:
    """Each pick with the nearest named street (and metres to it), the address of the
    nearest building within NEAR_ADDRESS_M, and the candidate it is (its label)."""
    if picks is None or picks.empty:
        return picks
    crs = report.metric_crs
    xy = R.metric_points(picks, crs)
    pts = shapely.points(xy)
    roads = read_frame(
        session,
        sa.select(m.Road.name, m.Road.geom).where(m.Road.name.isnot(None)).where(m.Road.name != ""),
    )
    street = np.full(len(picks), None, dtype=object)
    street_m = np.full(len(picks), np.nan)
    if len(roads):
        lines = np.asarray(roads.to_crs(crs).geometry.values, dtype=object)
        pi, li = shapely.STRtree(lines).query_nearest(pts, all_matches=False)
        street[pi] = roads["name"].to_numpy(object)[li]
        street_m[pi] = shapely.distance(pts[pi], lines[li])
    b = report.inputs.buildings
    named = b[b["address"].notna().to_numpy() & (b["address"] != "").to_numpy()]
    address = np.full(len(picks), None, dtype=object)
    if len(named):
        geoms = np.asarray(named.to_crs(crs).geometry.values, dtype=object)
        pi, gi = shapely.STRtree(geoms).query_nearest(
            pts, max_distance=NEAR_ADDRESS_M, all_matches=False
        )
        address[pi] = named["address"].to_numpy(object)[gi]
    out = picks.copy()
    out["street"] = street
    out["street_m"] = np.round(street_m, 0)
    out["address"] = address
    out["candidate_label"] = [
        labels[int(c)] if labels is not None else None for c in out["candidate"]
    ]
    out["lon"] = out.geometry.x.round(6)
    out["lat"] = out.geometry.y.round(6)
    return out
