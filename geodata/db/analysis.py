"""Patrol coverage and risk on the database: load, project, call the pure analysis.

The command line and the web pages both call these functions, so both answer the
same question the same way. Everything personal goes through the scoped
repositories with the requester; results leave in EPSG:4326 (maps) and carry the
metric CRS they were computed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import geopandas as gpd
import pandas as pd
from pyproj import CRS
from sqlalchemy.orm import Session

from geodata.db import memo, people, repo
from gridmap.analysis import groups, patrol, risk
from gridmap.crs import metric_crs
from gridmap.errors import NotFound
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

Progress = Callable[[str], None]


def no_progress(_step: str) -> None:
    """Progress reporter that reports nothing (the default of every analysis).

    Parameters
    ----------
    _step : str
        The name of the step starting.
    """
    return None


def analysis_as_of(session: Session | None = None) -> datetime:
    """ "Now" for analyses: the clock.

    Recording something never moves it; a past period is judged as of its end
    (:func:`period_as_of`).

    Parameters
    ----------
    session : Session, optional
        Unused: the clock is the same for every database.

    Returns
    -------
    datetime
        The current local time to the second.
    """
    return datetime.now().replace(microsecond=0)


def default_period(session: Session | None = None, *, days: int = 30) -> patrol.Period:
    """The last ``days`` whole days up to and including today, by the clock.

    Parameters
    ----------
    session : Session, optional
        Passed to :func:`analysis_as_of`.
    days : int
        Length of the period in days.

    Returns
    -------
    Period
        From midnight ``days`` days ago to tonight's midnight.
    """
    end_day = analysis_as_of(session).date() + timedelta(days=1)
    end = datetime.combine(end_day, datetime.min.time())
    return patrol.Period(end - timedelta(days=days), end)


def period_as_of(period: patrol.Period) -> datetime:
    """The moment a period's figures are judged at: its end, or now while it is running.

    Parameters
    ----------
    period : Period
        The period of the figures.

    Returns
    -------
    datetime
        The earlier of the period's end and now.
    """
    return min(period.end, analysis_as_of())


def figures_requester(requester: Requester) -> Requester:
    """Who a figure is computed for: everybody.

    A figure is defined on all the data (a patroller from the next grid walks this grid's
    streets too); the requester's areas only decide which rows of the result they are shown.

    Parameters
    ----------
    requester : Requester
        Who asks for the figure.

    Returns
    -------
    Requester
        An administrator of the same name, seeing all areas.
    """
    return Requester(username=requester.username, role="admin")


def _require_grids(grids: gpd.GeoDataFrame) -> None:
    if not len(grids):
        raise fail(NotFound, N_("no grids to analyse: load grids first (or ask for your areas)"))


def grids_metric_crs(grids: gpd.GeoDataFrame) -> CRS:
    """The metric CRS to analyse ``grids`` in, refusing when there are none.

    Parameters
    ----------
    grids : GeoDataFrame
        The grids to analyse.

    Returns
    -------
    CRS
        A projected CRS in metres covering the grids.
    """
    _require_grids(grids)
    return metric_crs(grids)


def _bbox(grids: gpd.GeoDataFrame, margin_deg: float = 0.002) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = grids.total_bounds
    return (minx - margin_deg, miny - margin_deg, maxx + margin_deg, maxy + margin_deg)


# --- patrol ---------------------------------------------------------------------------
def with_accuracy(tracks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Tracks with their per-vertex GPS accuracy when an import kept it.

    Parameters
    ----------
    tracks : GeoDataFrame
        Patrol tracks, possibly with a ``props`` column.

    Returns
    -------
    GeoDataFrame
        The tracks without ``props``, with an ``accuracy`` column (metres) when any
        vertex had one.
    """
    if "props" not in tracks:
        return tracks
    acc = [(p or {}).get("accuracy") if isinstance(p, dict) else None for p in tracks["props"]]
    out = tracks.drop(columns="props")
    if any(a is not None for a in acc):
        out["accuracy"] = acc
    return out


@dataclass
class PatrolResult:
    report: patrol.CoverageReport
    overdue: gpd.GeoDataFrame  # key sites (EPSG:4326) with last_inspected, due_at, days_overdue
    grids: gpd.GeoDataFrame  # the grids analysed (EPSG:4326)
    period: patrol.Period
    as_of: datetime
    crs: CRS
    passed_building_ids: set = field(default_factory=set)

    def overdue_only(self) -> gpd.GeoDataFrame:
        """The key sites past their inspection interval, by grid, most days overdue first.

        Returns
        -------
        GeoDataFrame
            The overdue key sites (EPSG:4326).
        """
        return self.overdue[self.overdue["overdue"]].sort_values(
            ["grid_code", "days_overdue"], ascending=[True, False]
        )


def patrol_figures(
    session: Session,
    *,
    period: patrol.Period,
    by: str | None = None,
    shift: str = "all",
    options: patrol.PatrolOptions | None = None,
    username: str = "system",
    progress: Progress = no_progress,
) -> PatrolResult:
    """Patrol coverage of every grid in ``period``: the one definition of the figures.

    Computed from all tracks, streets, buildings and key sites (a patroller of the next
    grid who walks this grid's street patrols it); inspections count up to the period's
    end and overdue is judged at :func:`period_as_of`, so a closed period keeps its
    figures whatever is recorded later. Callers filter rows with :func:`patrol_rows`.

    Parameters
    ----------
    session : Session
        Database session.
    period : Period
        The period whose tracks count.
    by : str, optional
        Split the period by "day", "week" or "month" (None or "period": not split).
    shift : str
        Only fixes of this shift ("all", "day", "night").
    options : PatrolOptions, optional
        Thresholds of fix cleaning and street matching.
    username : str
        Who the reads are made for (audit).
    progress : callable
        Told the name of each step as it starts.

    Returns
    -------
    PatrolResult
        The coverage of every grid, the key sites with their overdue state.
    """
    options = options or patrol.PatrolOptions()
    by = None if by == "period" else by  # the same question either way
    key = ("patrol", period.start, period.end, by, shift, repr(options))
    return memo.cached(
        session,
        key,
        lambda: _patrol_figures(
            session,
            period=period,
            by=by,
            shift=shift,
            options=options,
            username=username,
            progress=progress,
        ),
    )


def _patrol_figures(
    session: Session,
    *,
    period: patrol.Period,
    by: str | None,
    shift: str,
    options: patrol.PatrolOptions,
    username: str,
    progress: Progress,
) -> PatrolResult:
    as_of = period_as_of(period)
    everyone = Requester.system(username)
    progress("grids")
    grids = repo.grids_frame(session)
    crs = grids_metric_crs(grids)
    grids_m = grids.to_crs(crs)
    progress("streets")
    roads_m = repo.roads_frame(session, bbox=_bbox(grids), network_tags=True).to_crs(crs)
    network = patrol.street_network(roads_m, grids_m[["code", "name", "geometry"]], options=options)
    buildings = repo.buildings_frame(session)
    buildings_m = buildings[buildings["grid_code"].isin(grids["code"])].to_crs(crs)
    sites = repo.key_sites_frame(session, everyone, until=as_of)
    sites = sites[sites["grid_code"].isin(grids["code"])]
    progress("tracks")
    tracks = repo.patrol_tracks_frame(session, everyone, start=period.start, end=period.end)
    fixes = patrol.track_fixes(with_accuracy(tracks).to_crs(crs))
    progress("cleaning")
    clean = patrol.clean_fixes(fixes, options=options)
    progress("matching")
    report = patrol.coverage(
        network,
        clean,
        patrol.split_period(period, by),
        buildings=buildings_m,
        sites=sites.to_crs(crs),
        shift=shift,
        options=options,
    )
    overdue = sites.join(patrol.overdue_sites(sites, as_of=as_of))
    passed_ids = set(buildings_m["id"].to_numpy()[report.buildings_passed.to_numpy(dtype=bool)])
    return PatrolResult(report, overdue, grids, period, as_of, crs, passed_ids)


def patrol_rows(
    full: PatrolResult, grids: gpd.GeoDataFrame, track_codes: set[str] | None
) -> PatrolResult:
    """The rows of ``full`` a viewer gets; the figures themselves are untouched.

    Parameters
    ----------
    full : PatrolResult
        The figures of every grid (:func:`patrol_figures`).
    grids : GeoDataFrame
        The grids shown: their streets (each once) and key sites are kept.
    track_codes : set of str or None
        The tracks drawn (None: all).

    Returns
    -------
    PatrolResult
        ``full`` restricted to the rows shown.
    """
    codes = set(grids["code"])
    rep = full.report
    touches = rep.segments["grid_codes"].map(lambda s: bool(codes & set(str(s).split(","))))
    pieces = (
        rep.pieces if track_codes is None else rep.pieces[rep.pieces["track"].isin(track_codes)]
    )
    walkers = set(pieces["patroller"]) if track_codes is not None else None
    patrollers = (
        rep.patrollers
        if walkers is None
        else rep.patrollers[rep.patrollers["patroller"].isin(walkers)]
    )
    site_codes = set(full.overdue.loc[full.overdue["grid_code"].isin(codes), "code"])
    shown = replace(
        rep,
        grids=rep.grids[rep.grids["grid_code"].isin(codes)].reset_index(drop=True),
        segments=rep.segments[touches.to_numpy(dtype=bool)].reset_index(drop=True),
        unpatrolled=rep.unpatrolled[rep.unpatrolled["grid_code"].isin(codes)].reset_index(
            drop=True
        ),
        patrollers=patrollers.reset_index(drop=True),
        sites=rep.sites[rep.sites["code"].isin(site_codes)],
        pieces=pieces.reset_index(drop=True),
    )
    overdue = full.overdue[full.overdue["grid_code"].isin(codes)]
    grid_frame = full.grids[full.grids["code"].isin(codes)].reset_index(drop=True)
    return PatrolResult(
        shown, overdue, grid_frame, full.period, full.as_of, full.crs, full.passed_building_ids
    )


def patrol_report(
    session: Session,
    requester: Requester,
    *,
    period: patrol.Period | None = None,
    by: str | None = None,
    shift: str = "all",
    grid_code: str | None = None,
    options: patrol.PatrolOptions | None = None,
    progress: Progress = no_progress,
) -> PatrolResult:
    """Coverage of the requester's grids (or one grid) in ``period`` split ``by`` day/week/month.

    The figures are those of :func:`patrol_figures` (all data); the requester's areas
    choose the grids, streets and key sites shown and the tracks drawn.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: their areas choose the rows; the view is audited.
    period : Period, optional
        The period (default: the last 30 days).
    by : str, optional
        Split the period by "day", "week" or "month".
    shift : str
        Only fixes of this shift ("all", "day", "night").
    grid_code : str, optional
        Only this grid.
    options : PatrolOptions, optional
        Thresholds of fix cleaning and street matching.
    progress : callable
        Told the name of each step as it starts.

    Returns
    -------
    PatrolResult
        The coverage rows the requester may see.
    """
    period = period or default_period(session)
    shown = repo.visible_grids_frame(session, requester, grid_code=grid_code)
    _require_grids(shown)
    full = patrol_figures(
        session,
        period=period,
        by=by,
        shift=shift,
        options=options,
        username=requester.username,
        progress=progress,
    )
    own = None
    if not requester.all_areas:
        own = set(
            repo.patrol_tracks_frame(session, requester, start=period.start, end=period.end)["code"]
        )
    repo.audit(
        session,
        requester,
        "view_patrol_tracks",
        grid_code,
        {
            "tracks": len(full.report.pieces["track"].unique()) if own is None else len(own),
            "period": period.label,
        },
    )
    return patrol_rows(full, shown, own)


# --- risk -------------------------------------------------------------------------------
@dataclass
class RiskReport:
    buildings: (
        gpd.GeoDataFrame
    )  # EPSG:4326: id, code, address, grid_code, households, score, components
    grids: gpd.GeoDataFrame  # EPSG:4326: code, name, score, components
    building_risk: risk.RiskResult
    grid_risk: risk.RiskResult
    weights: dict
    as_of: datetime
    vulnerable_by_building: bool
    patrol_period: patrol.Period


def hazards_as_of(hazards: gpd.GeoDataFrame, as_of: datetime) -> gpd.GeoDataFrame:
    """Hazards as they stood at ``as_of``: found before it, and open when closed after it.

    A case closed today was still open at the end of last month.

    Parameters
    ----------
    hazards : GeoDataFrame
        Hazards with ``found_at``, ``closed_at`` and ``status``.
    as_of : datetime
        The moment to look back at.

    Returns
    -------
    GeoDataFrame
        The hazards found before ``as_of``, those closed later marked "handled".
    """
    found = pd.to_datetime(hazards["found_at"])
    out = hazards[(found < pd.Timestamp(as_of)).to_numpy()].copy()
    closed = pd.to_datetime(out["closed_at"])
    reopened = (out["status"] == "closed") & closed.notna() & (closed >= pd.Timestamp(as_of))
    out.loc[reopened, "status"] = "handled"
    out.loc[reopened, "closed_at"] = pd.NaT
    return out


def risk_report(
    session: Session,
    requester: Requester,
    *,
    grid_code: str | None = None,
    weights: dict | None = None,
    as_of: datetime | None = None,
    period: patrol.Period | None = None,
    progress: Progress = no_progress,
) -> RiskReport:
    """Building and grid risk in the requester's areas (see gridmap.analysis.risk).

    Every score is computed from all the data as of ``as_of`` (default now), or as of the
    end of ``period`` whose patrols then count instead of the weights' window; the
    requester's areas only choose the rows. Roles that may not see personal data
    (planner, viewer) get the vulnerable-resident factor per grid only, never per building.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: their areas choose the rows, and whether buildings carry the
        vulnerable-resident factor; the view is audited.
    grid_code : str, optional
        Only this grid.
    weights : dict, optional
        Risk weights (default: ``risk.load_weights()``).
    as_of : datetime, optional
        The moment scored (default: now).
    period : Period, optional
        Score as of this period's end, counting its patrols.
    progress : callable
        Told the name of each step as it starts.

    Returns
    -------
    RiskReport
        The building and grid scores the requester may see.
    """
    w = weights or risk.load_weights()
    if period is not None:
        window, fixed_as_of = period, period_as_of(period)
    elif as_of is None:  # whole days up to today: the same window all day long
        window, fixed_as_of = default_period(days=int(w["patrol"]["window_days"])), None
    else:
        window = patrol.Period(as_of - timedelta(days=w["patrol"]["window_days"]), as_of)
        fixed_as_of = as_of
    shown = repo.visible_grids_frame(session, requester, grid_code=grid_code)
    _require_grids(shown)
    by_building = requester.may_reveal
    key = ("risk", window.start, window.end, fixed_as_of, by_building, repr(w))
    full = memo.cached(
        session,
        key,
        lambda: _risk_figures(
            session,
            window=window,
            as_of=fixed_as_of or analysis_as_of(),
            weights=w,
            by_building=by_building,
            username=requester.username,
            progress=progress,
        ),
    )
    # The viewer's rows; index labels kept so ``explain`` finds each row's components.
    codes = set(shown["code"])
    b_out = full.buildings[full.buildings["grid_code"].isin(codes)]
    g_out = full.grids[full.grids["code"].isin(codes)]
    repo.audit(session, requester, "view_risk", grid_code, {"buildings": len(b_out)})
    return replace(full, buildings=b_out, grids=g_out)


def _risk_figures(
    session: Session,
    *,
    window: patrol.Period,
    as_of: datetime,
    weights: dict,
    by_building: bool,
    username: str,
    progress: Progress,
) -> RiskReport:
    """Risk of every building and grid from all the data (the one definition)."""
    w = weights
    everyone = Requester.system(username)
    pat = patrol_figures(session, period=window, username=username, progress=progress)
    crs = pat.crs
    progress("risk")
    grids = pat.grids
    buildings = repo.buildings_frame(session)
    buildings = buildings[buildings["grid_code"].isin(grids["code"])].reset_index(drop=True)
    buildings_m = buildings.to_crs(crs)
    sites_m = pat.overdue.to_crs(crs)
    hazards_m = hazards_as_of(repo.hazards_frame(session, everyone), as_of).to_crs(crs)
    hh, res = people.group_members(session, everyone, purpose="risk")
    counts = groups.group_counts(hh, res, risk.vulnerable_groups(w), as_of_year=as_of.year)
    passed = pd.Series(
        buildings["id"].isin(pat.passed_building_ids).to_numpy(), index=buildings.index
    )
    b_risk = risk.building_risk(
        buildings_m,
        sites=sites_m,
        hazards=hazards_m,
        groups=counts if by_building else None,
        passed=passed,
        weights=w,
        as_of=as_of,
    )
    grid_of = buildings.set_index("id")["grid_code"]
    per_grid = counts.assign(grid_code=grid_of.reindex(counts["building_id"]).to_numpy())
    per_grid = per_grid.drop(columns="building_id").groupby("grid_code").sum().reset_index()
    cov = pat.report.grids.set_index("grid_code")["street_pct"]
    overdue_n = pat.overdue[pat.overdue["overdue"]].groupby("grid_code").size()
    g_risk = risk.grid_risk(
        grids.to_crs(crs),
        sites=sites_m,
        hazards=hazards_m,
        groups=per_grid,
        street_pct=cov,
        overdue_sites=overdue_n,
        weights=w,
        as_of=as_of,
    )
    b_out = (
        buildings[["id", "code", "address", "grid_code", "households", "geometry"]]
        .join(b_risk.score)
        .join(b_risk.components)
    )
    g_out = (
        grids[["code", "name", "community_name", "leader", "households", "geometry"]]
        .join(g_risk.score)
        .join(g_risk.components)
    )
    g_out.insert(
        g_out.columns.get_loc("score") + 1,
        "per_100_households",
        risk.per_100_households(g_out["score"], g_out["households"]),
    )
    return RiskReport(b_out, g_out, b_risk, g_risk, w, as_of, by_building, window)
