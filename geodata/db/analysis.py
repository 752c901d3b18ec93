"""Patrol coverage, risk and heatmaps on the database: load, project, call the pure analysis.

The command line and the web pages both call these functions, so both answer the
same question the same way. Everything personal goes through the scoped
repositories with the requester; results leave in EPSG:4326 (maps) and carry the
metric CRS they were computed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from sqlalchemy.orm import Session

from geodata.db import memo, repo
from geodata.db.frames import STORAGE_CRS
from gridmap import vocab
from gridmap.analysis import density, groups, patrol, risk
from gridmap.crs import metric_crs
from gridmap.errors import ConfigError, InvalidInput, NotFound
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

Progress = Callable[[str], None]


def _noop(_step: str) -> None:
    return None


def analysis_as_of(session: Session | None = None) -> datetime:
    """ "Now" for analyses: the clock. Recording something never moves it; a past period is
    judged as of its end (:func:`period_as_of`)."""
    return datetime.now().replace(microsecond=0)


def default_period(session: Session | None = None, *, days: int = 30) -> patrol.Period:
    """The last ``days`` whole days up to and including today, by the clock."""
    end_day = analysis_as_of(session).date() + timedelta(days=1)
    end = datetime.combine(end_day, datetime.min.time())
    return patrol.Period(end - timedelta(days=days), end)


def period_as_of(period: patrol.Period) -> datetime:
    """The moment a period's figures are judged at: its end, or now while it is running."""
    return min(period.end, analysis_as_of())


def figures_requester(requester: Requester) -> Requester:
    """Who a figure is computed for: everybody. A figure is defined on all the data (a
    patroller from the next grid walks this grid's streets too); the requester's areas
    only decide which rows of the result they are shown."""
    return Requester(username=requester.username, role="admin")


def _require_grids(grids: gpd.GeoDataFrame) -> None:
    if not len(grids):
        raise fail(NotFound, N_("no grids to analyse: load grids first (or ask for your areas)"))


def _metric(grids: gpd.GeoDataFrame) -> CRS:
    _require_grids(grids)
    return metric_crs(grids)


def _bbox(grids: gpd.GeoDataFrame, margin_deg: float = 0.002) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = grids.total_bounds
    return (minx - margin_deg, miny - margin_deg, maxx + margin_deg, maxy + margin_deg)


# --- patrol ---------------------------------------------------------------------------
def _with_accuracy(tracks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Per-vertex GPS accuracy (metres) from props['accuracy'] when an import kept it."""
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
        """The key sites past their inspection interval, by grid, most days overdue first."""
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
    progress: Progress = _noop,
) -> PatrolResult:
    """Patrol coverage of every grid in ``period``: the one definition of the figures.

    Computed from all tracks, streets, buildings and key sites (a patroller of the next
    grid who walks this grid's street patrols it); inspections count up to the period's
    end and overdue is judged at :func:`period_as_of`, so a closed period keeps its
    figures whatever is recorded later. Callers filter rows with :func:`patrol_rows`.
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
    crs = _metric(grids)
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
    fixes = patrol.track_fixes(_with_accuracy(tracks).to_crs(crs))
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
    """The rows of ``full`` a viewer gets: the grids in ``grids``, the streets touching them
    (each once), their key sites, and the tracks in ``track_codes`` (None: all). The
    figures themselves are untouched."""
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
    progress: Progress = _noop,
) -> PatrolResult:
    """Coverage of the requester's grids (or one grid) in ``period`` split ``by`` day/week/month.

    The figures are those of :func:`patrol_figures` (all data); the requester's areas
    choose the grids, streets and key sites shown and the tracks drawn.
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
    """Hazards as they stood at ``as_of``: found before it, and open when closed after it
    (a case closed today was still open at the end of last month)."""
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
    progress: Progress = _noop,
) -> RiskReport:
    """Building and grid risk in the requester's areas (see gridmap.analysis.risk).

    Every score is computed from all the data as of ``as_of`` (default now), or as of the
    end of ``period`` whose patrols then count instead of the weights' window; the
    requester's areas only choose the rows. Roles that may not see personal data
    (planner, viewer) get the vulnerable-resident factor per grid only, never per building.
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
    hh, res = repo.group_members(session, everyone, purpose="risk")
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


# --- heatmaps ---------------------------------------------------------------------------
BASE_LAYERS = ("households", "hazards", "incidents", "patrol")
WEEKLY_CELL_M = 100.0  # the weekly slider shows cells of at least 1 ha (page weight)


@dataclass
class Heatmap:
    """A computed heatmap layer: the surface, its cells and (for history layers) weeks."""

    layer: str
    surface: density.Surface
    cells: gpd.GeoDataFrame  # EPSG:4326: cell, value, per_ha (suppressed cells removed)
    total: float
    units: str  # what one unit of ``value`` is: households, residents, ...
    personal: bool
    suppressed_cells: int
    bandwidth_m: float
    cell_m: float
    period: patrol.Period | None
    weekly: pd.DataFrame | None = None  # cell, ix, iy, week (Monday), value: history layers
    weekly_cell_m: float = WEEKLY_CELL_M
    notes: list[str] = field(default_factory=list)


def parse_layer(layer: str) -> tuple[str, str | None]:
    """'households' | 'group:NAME' | 'hazards' | 'incidents' | 'patrol' | 'reach:CATEGORY'."""
    layer = (layer or "").strip()
    kind, _, arg = layer.partition(":")
    if kind in BASE_LAYERS and not arg:
        return kind, None
    if kind == "group" and arg:
        return kind, groups.check_group(arg)
    if kind == "reach" and arg:
        return kind, arg
    raise fail(
        InvalidInput,
        N_(
            "unknown heatmap layer {given}; use households, group:NAME, "
            "hazards, incidents, patrol or reach:CATEGORY"
        ),
        given=repr(layer),
    )


def _points(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    pts = geoms.representative_point()
    return pts.x.to_numpy(), pts.y.to_numpy()


def heatmap(
    session: Session,
    requester: Requester,
    *,
    layer: str,
    bandwidth_m: float = 150.0,
    cell_m: float = 50.0,
    period: patrol.Period | None = None,
    kernel: str = "quartic",
    k: int = density.DEFAULT_K,
    grid_code: str | None = None,
    cells: str = "square",
    h3_resolution: int = 9,
    progress: Progress = _noop,
) -> Heatmap:
    """Kernel density of a layer over the requester's grids (see gridmap.analysis.density).

    Personal groups: points in ``cell_m`` cells with fewer than ``k`` group households
    are left out of the surface and the cells, and the count of hidden cells is reported.
    Layers of no personal data are kept in the memo per requester's areas; group and
    patrol layers are computed on each view, which audits their use.
    """
    kind, _arg = parse_layer(layer)

    def compute() -> Heatmap:
        return _heatmap(
            session,
            requester,
            layer=layer,
            bandwidth_m=bandwidth_m,
            cell_m=cell_m,
            period=period,
            kernel=kernel,
            k=k,
            grid_code=grid_code,
            cells=cells,
            h3_resolution=h3_resolution,
            progress=progress,
        )

    if kind in ("group", "patrol"):
        return compute()
    scope = (
        requester.role,
        *(
            tuple(sorted(ids))
            for ids in (requester.street_ids, requester.community_ids, requester.grid_ids)
        ),
    )
    key = (
        "heatmap",
        layer,
        bandwidth_m,
        cell_m,
        period and (period.start, period.end),
        kernel,
        k,
        grid_code,
        cells,
        h3_resolution,
        scope,
    )
    return memo.cached(session, key, compute)


def _heatmap(
    session: Session,
    requester: Requester,
    *,
    layer: str,
    bandwidth_m: float,
    cell_m: float,
    period: patrol.Period | None,
    kernel: str,
    k: int,
    grid_code: str | None,
    cells: str,
    h3_resolution: int,
    progress: Progress,
) -> Heatmap:
    kind, arg = parse_layer(layer)
    if cells not in ("square", "h3"):
        raise fail(InvalidInput, N_("cells must be square or h3, got {given}"), given=repr(cells))
    grids = repo.visible_grids_frame(session, requester, grid_code=grid_code)
    crs = _metric(grids)
    area = tuple(grids.to_crs(crs).total_bounds)
    personal = kind == "group"
    weekly = None
    notes: list[str] = []
    progress("loading")
    if kind == "reach":
        assert arg is not None  # parse_layer gives 'reach' its category
        return _reach_heatmap(session, category=arg, cell_m=cell_m, grids=grids, crs=crs)
    if kind in ("households", "group"):
        b = repo.buildings_frame(session)
        b = b[b["grid_code"].isin(grids["code"])].to_crs(crs)
        x, y = _points(b.geometry)
        if kind == "households":
            w = b["households"].to_numpy(float)
            hh = w
            units = "households"
        else:
            assert arg is not None  # parse_layer gives 'group' its name
            hh_rows, res_rows = repo.group_members(session, requester, purpose=f"heatmap {layer}")
            as_of = analysis_as_of(session)
            counts = groups.group_counts(hh_rows, res_rows, [arg], as_of_year=as_of.year)
            c = counts.set_index("building_id").reindex(b["id"]).fillna(0)
            hh = c[f"{arg}_households"].to_numpy(float)
            if arg in vocab.HOUSEHOLD_TAG_CODES and arg not in vocab.RESIDENT_TAG_CODES:
                w, units = hh, "households"  # a household tag (独居老人户): count households
            else:
                w, units = c[f"{arg}_residents"].to_numpy(float), "residents"
    elif kind in ("hazards", "incidents"):
        hz = repo.hazards_frame(
            session, requester, open_only=kind == "hazards", grid_code=grid_code
        )
        if kind == "incidents":
            period = period or default_period(session, days=84)
            found = pd.to_datetime(hz["found_at"])
            hz = hz[(found >= period.start) & (found < period.end)]
        hz = hz.to_crs(crs)
        x, y = hz.geometry.x.to_numpy(), hz.geometry.y.to_numpy()
        w = np.ones(len(hz))
        hh = w
        units = "hazards" if kind == "hazards" else "incidents"
        if kind == "incidents":
            weekly = _weekly(
                x, y, w, pd.to_datetime(hz["found_at"]), cell_m=max(cell_m, WEEKLY_CELL_M), crs=crs
            )
    else:  # patrol: minutes spent per hectare
        period = period or default_period(session, days=28)
        x, y, w, weekly = _patrol_minutes(
            session, requester, period=period, grid_code=grid_code, cell_m=cell_m, crs=crs
        )
        hh = w
        units = "patrol_minutes"
    hidden = 0
    if personal:
        drop = density.suppress_points(x, y, hh, cell_m=cell_m, k=k)
        hidden = (
            int(
                density.square_cells(
                    x[drop & (hh > 0)], y[drop & (hh > 0)], cell_m=cell_m, crs=crs
                ).shape[0]
            )
            if drop.any()
            else 0
        )
        x, y, w, hh = x[~drop], y[~drop], w[~drop], hh[~drop]
        notes.append(f"cells with fewer than {k} households hidden: {hidden}")
    progress("density")
    surface = density.kde(
        x, y, w, bandwidth_m=bandwidth_m, cell_m=cell_m, crs=crs, kernel=kernel, bounds=area
    )
    if cells == "h3":
        ll = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=crs).to_crs(STORAGE_CRS)
        cell_frame = density.h3_cells(
            ll.x, ll.y, w, resolution=h3_resolution, extra={"households": hh}
        )
        if personal:  # H3 cells are other units than the square ones: suppress again
            cell_frame = cell_frame[~density.suppressed(cell_frame["households"], k=k)]
    else:
        cell_frame = density.square_cells(
            x, y, w, cell_m=cell_m, crs=crs, extra={"households": hh}
        ).to_crs(STORAGE_CRS)
    return Heatmap(
        layer,
        surface,
        cell_frame.reset_index(drop=True),
        float(w.sum()),
        units,
        personal,
        hidden,
        bandwidth_m,
        cell_m,
        period,
        weekly,
        max(cell_m, WEEKLY_CELL_M),
        notes,
    )


def _patrol_minutes(
    session: Session,
    requester: Requester,
    *,
    period: patrol.Period,
    grid_code: str | None,
    cell_m: float,
    crs: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """Midpoints (x, y) and minutes of the patrol chords walked in ``period``, and the
    minutes per cell and week; the read of the tracks is audited."""
    tracks = repo.patrol_tracks_frame(session, requester, start=period.start, end=period.end)
    repo.audit(
        session,
        requester,
        "view_patrol_tracks",
        grid_code,
        {"tracks": len(tracks), "period": period.label, "purpose": "heatmap"},
    )
    clean = patrol.clean_fixes(patrol.track_fixes(_with_accuracy(tracks).to_crs(crs)))
    segs = patrol.track_segments(clean)
    inside = (segs.t_mid >= np.datetime64(period.start)) & (segs.t_mid < np.datetime64(period.end))
    x, y = segs.mx[inside], segs.my[inside]
    w = segs.dt_s[inside] / 60.0
    weekly = _weekly(
        x, y, w, pd.to_datetime(segs.t_mid[inside]), cell_m=max(cell_m, WEEKLY_CELL_M), crs=crs
    )
    return x, y, w, weekly


def _reach_heatmap(
    session: Session,
    *,
    category: str,
    cell_m: float,
    grids: gpd.GeoDataFrame,
    crs,
    max_minutes: float = 30.0,
) -> Heatmap:
    """Walking minutes to the nearest facility of ``category`` on ``cell_m`` cells.

    Uses the reachability engine: the walking network stored in the database
    (``geodata.network_store.ensure_network``) and ``gridmap.analysis.reach.travel_time_grid``
    (cell centres snapped to the network like buildings, one multi-source run). Cells
    farther than ``max_minutes`` or off the network are left empty.
    """
    if category not in vocab.FACILITY_CODES:
        raise fail(
            InvalidInput,
            N_("unknown facility category {given}; use one of {choices}"),
            given=repr(category),
            choices=", ".join(sorted(vocab.FACILITY_CODES)),
        )
    try:
        from geodata.network_store import ensure_network
        from gridmap.analysis.reach import DEFAULT_SPEED_KMH, travel_time_grid
    except ImportError as exc:  # pragma: no cover - the engine ships with gridmap
        raise ConfigError(
            "the travel-time layer needs the walking-network engine "
            f"(gridmap reach), which this installation lacks: {exc}"
        ) from exc
    facilities = repo.facilities_frame(session, category=category)
    if not len(facilities):
        raise fail(
            NotFound,
            N_("no facility of category {facility} is loaded; import facilities first"),
            facility=category,
        )
    stored = ensure_network(session)
    if stored is None:
        raise fail(
            NotFound, N_("no streets are loaded, so there is no walking network to measure on")
        )
    net = stored.network
    points = travel_time_grid(
        net, facilities, cell_m=cell_m, speed_kmh=DEFAULT_SPEED_KMH, max_minutes=max_minutes
    ).to_crs(crs)
    # Keep the cells inside the requester's grids (plus one cell).
    area = grids.to_crs(crs).union_all().buffer(cell_m)
    points = points[points.within(area) & np.isfinite(points["minutes"])]
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    minutes = points["minutes"].to_numpy(float)
    if not len(x):
        raise fail(
            NotFound,
            N_("no street cell reaches a {facility} within {minutes} minutes"),
            facility=category,
            minutes=f"{max_minutes:g}",
        )
    x0, y0 = x.min() - cell_m / 2, y.max() + cell_m / 2
    nx = int(round((x.max() - x.min()) / cell_m)) + 1
    ny = int(round((y.max() - y.min()) / cell_m)) + 1
    values = np.full((ny, nx), np.nan)
    values[
        np.round((y0 - cell_m / 2 - y) / cell_m).astype(int),
        np.round((x - x0 - cell_m / 2) / cell_m).astype(int),
    ] = minutes
    surface = density.Surface(
        values,
        float(x0),
        float(y0),
        float(cell_m),
        CRS.from_user_input(crs),
        "minutes",
        float(len(facilities)),
    )
    half = cell_m / 2
    cells = gpd.GeoDataFrame(
        {
            "cell": [f"{i}" for i in range(len(x))],
            "value": np.round(minutes, 1),
            "per_ha": np.round(minutes, 1),
        },
        geometry=gpd.GeoSeries(shapely.box(x - half, y - half, x + half, y + half), crs=crs),
        crs=crs,
    ).to_crs(STORAGE_CRS)
    notes = [
        f"walking at {DEFAULT_SPEED_KMH:g} km/h on the stored network; "
        f"cells beyond {max_minutes:g} minutes are left empty"
    ]
    return Heatmap(
        f"reach:{category}",
        surface,
        cells,
        float(len(facilities)),
        "minutes",
        False,
        0,
        0.0,
        cell_m,
        None,
        None,
        max(cell_m, WEEKLY_CELL_M),
        notes,
    )


def _weekly(x, y, w, times: pd.Series | pd.DatetimeIndex, *, cell_m: float, crs) -> pd.DataFrame:
    """Values per square cell and ISO week (Monday) for the time slider."""
    t = pd.DatetimeIndex(times)
    week = t.normalize() - pd.to_timedelta(t.day_of_week, unit="D")
    f = pd.DataFrame(
        {
            "ix": np.floor(x / cell_m).astype(np.int64),
            "iy": np.floor(y / cell_m).astype(np.int64),
            "week": week,
            "value": w,
        }
    )
    f = f.groupby(["ix", "iy", "week"], sort=True)["value"].sum().reset_index()
    f["cell"] = f["ix"].astype(str) + "_" + f["iy"].astype(str)
    return f[["cell", "ix", "iy", "week", "value"]]
