"""Heatmaps on the database: the points of a layer, their kernel density and their cells.

The command line and the web pages both call :func:`heatmap`. Personal layers (groups of
residents) hide the cells with too few households; layers read in the requester's areas
only, and results leave in EPSG:4326 with the metric CRS they were computed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from sqlalchemy.orm import Session

from geodata.db import memo, people, repo
from geodata.db.analysis import (
    Progress,
    analysis_as_of,
    default_period,
    grids_metric_crs,
    no_progress,
    with_accuracy,
)
from geodata.db.frames import STORAGE_CRS
from geodata.db.reach_heatmap import travel_time_cells
from gridmap import vocab
from gridmap.analysis import density, groups, patrol
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

BASE_LAYERS = ("households", "hazards", "incidents", "patrol")
WEEKLY_CELL_M = 100.0  # the weekly slider shows cells of at least 1 ha (page weight)
DEFAULT_DAYS = {"incidents": 84, "patrol": 28}  # history layers' default period, in days
_Audit = tuple[str, str | None, dict]  # an audit row: action, target, detail


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
    # (action, target, detail) of the audit rows its reads wrote: each view writes them again
    audits: list[_Audit] = field(default_factory=list)


@dataclass(frozen=True)
class HeatmapOptions:
    """How a heatmap is drawn: kernel, cells and the privacy threshold."""

    bandwidth_m: float = 150.0  # kernel bandwidth in metres
    cell_m: float = 50.0  # square cell size in metres
    kernel: str = "quartic"
    k: int = density.DEFAULT_K  # personal groups: fewest households a cell may show
    cells: str = "square"  # "square" or "h3"
    h3_resolution: int = 9


@dataclass
class _Points:
    """The weighted points of a layer in the metric CRS, ``hh`` their households."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    hh: np.ndarray
    units: str
    period: patrol.Period | None = None
    weekly: pd.DataFrame | None = None
    audits: list[_Audit] = field(default_factory=list)


def parse_layer(layer: str) -> tuple[str, str | None]:
    """Split a layer name into its kind and argument, refusing unknown layers.

    Parameters
    ----------
    layer : str
        'households' | 'group:NAME' | 'hazards' | 'incidents' | 'patrol' | 'reach:CATEGORY'.

    Returns
    -------
    tuple of (str, str or None)
        The kind and its argument (the group or facility category), None for base layers.
    """
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
    options: HeatmapOptions | None = None,
    period: patrol.Period | None = None,
    grid_code: str | None = None,
    progress: Progress = no_progress,
) -> Heatmap:
    """Kernel density of a layer over the requester's grids (see gridmap.analysis.density).

    Personal groups: points in ``cell_m`` cells with fewer than ``k`` group households
    are left out of the surface and the cells, and the count of hidden cells is reported.
    Every layer is kept in the memo per requester's role and areas until the data it
    reads changes; each view is audited as the computation was.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: their areas choose the grids and the personal data read.
    layer : str
        The layer (see :func:`parse_layer`).
    options : HeatmapOptions, optional
        Bandwidth and cell size (metres), kernel, privacy threshold and cell kind.
    period : Period, optional
        The time window of history layers (incidents: last 12 weeks, patrol: last 4).
    grid_code : str, optional
        Only this grid.
    progress : callable
        Told the name of each step as it starts.

    Returns
    -------
    Heatmap
        The surface, its cells (EPSG:4326) and what they count.
    """
    opts = options or HeatmapOptions()
    kind, _arg = parse_layer(layer)
    if period is None and kind in DEFAULT_DAYS:  # the key names the days the default covers
        period = default_period(session, days=DEFAULT_DAYS[kind])
    computed = []

    def compute() -> Heatmap:
        computed.append(True)
        return _heatmap(
            session,
            requester,
            layer=layer,
            opts=opts,
            period=period,
            grid_code=grid_code,
            progress=progress,
        )

    hm = memo.cached(session, _memo_key(requester, layer, opts, period, grid_code), compute)
    if not computed:  # from memory: audit this view as its computation audited the first
        for action, target, detail in hm.audits:
            repo.audit(session, requester, action, target, detail)
    return hm


def _memo_key(
    requester: Requester,
    layer: str,
    opts: HeatmapOptions,
    period: patrol.Period | None,
    grid_code: str | None,
) -> tuple:
    """What a heatmap depends on besides the data: the question and who may see what.

    The role decides the reveal rights and whether the areas are all; the area ids decide
    which points are read. Viewers with the same role and areas share an entry.
    """
    scope = (
        requester.role,
        *(
            tuple(sorted(ids))
            for ids in (requester.street_ids, requester.community_ids, requester.grid_ids)
        ),
    )
    return (
        "heatmap",
        layer,
        opts.bandwidth_m,
        opts.cell_m,
        period and (period.start, period.end),
        opts.kernel,
        opts.k,
        grid_code,
        opts.cells,
        opts.h3_resolution,
        scope,
    )


def _heatmap(
    session: Session,
    requester: Requester,
    *,
    layer: str,
    opts: HeatmapOptions,
    period: patrol.Period | None,
    grid_code: str | None,
    progress: Progress,
) -> Heatmap:
    kind, arg = parse_layer(layer)
    if opts.cells not in ("square", "h3"):
        raise fail(
            InvalidInput, N_("cells must be square or h3, got {given}"), given=repr(opts.cells)
        )
    cell_m = opts.cell_m
    grids = repo.visible_grids_frame(session, requester, grid_code=grid_code)
    crs = grids_metric_crs(grids)
    area = tuple(grids.to_crs(crs).total_bounds)
    personal = kind == "group"
    notes: list[str] = []
    progress("loading")
    if kind == "reach":
        assert arg is not None  # parse_layer gives 'reach' its category
        return _reach_heatmap(session, category=arg, cell_m=cell_m, grids=grids, crs=crs)
    if kind in ("households", "group"):
        pts = _building_points(session, requester, layer=layer, group=arg, grids=grids, crs=crs)
    elif kind in ("hazards", "incidents"):
        pts = _hazard_points(
            session,
            requester,
            kind=kind,
            period=period,
            grid_code=grid_code,
            cell_m=cell_m,
            crs=crs,
        )
    else:  # patrol: minutes spent per hectare
        period = period or default_period(session, days=DEFAULT_DAYS["patrol"])
        pts = _patrol_minutes(
            session, requester, period=period, grid_code=grid_code, cell_m=cell_m, crs=crs
        )
    hidden = 0
    if personal:
        pts, hidden = _suppress(pts, cell_m=cell_m, k=opts.k, crs=crs)
        notes.append(f"cells with fewer than {opts.k} households hidden: {hidden}")
    progress("density")
    surface = density.kde(
        pts.x,
        pts.y,
        pts.w,
        bandwidth_m=opts.bandwidth_m,
        cell_m=cell_m,
        crs=crs,
        kernel=opts.kernel,
        bounds=area,
    )
    cell_frame = _cells(pts, opts, crs=crs, personal=personal)
    return Heatmap(
        layer,
        surface,
        cell_frame.reset_index(drop=True),
        float(pts.w.sum()),
        pts.units,
        personal,
        hidden,
        opts.bandwidth_m,
        cell_m,
        pts.period or period,
        pts.weekly,
        max(cell_m, WEEKLY_CELL_M),
        notes,
        pts.audits,
    )


def _building_points(
    session: Session,
    requester: Requester,
    *,
    layer: str,
    group: str | None,
    grids: gpd.GeoDataFrame,
    crs: CRS,
) -> _Points:
    """Households of each building, or the members of a group (residents or households)."""
    b = repo.buildings_frame(session)
    b = b[b["grid_code"].isin(grids["code"])].to_crs(crs)
    x, y = _points(b.geometry)
    if group is None:
        w = b["households"].to_numpy(float)
        return _Points(x, y, w, w, "households")
    purpose = f"heatmap {layer}"
    hh_rows, res_rows = people.group_members(session, requester, purpose=purpose)
    # the row group_members wrote, for the views answered from memory
    audits: list[_Audit] = [people.group_members_audit(purpose, hh_rows, res_rows)]
    as_of = analysis_as_of(session)
    counts = groups.group_counts(hh_rows, res_rows, [group], as_of_year=as_of.year)
    c = counts.set_index("building_id").reindex(b["id"]).fillna(0)
    hh = c[f"{group}_households"].to_numpy(float)
    if group in vocab.HOUSEHOLD_TAG_CODES and group not in vocab.RESIDENT_TAG_CODES:
        return _Points(x, y, hh, hh, "households", audits=audits)  # a household tag (独居老人户)
    return _Points(x, y, c[f"{group}_residents"].to_numpy(float), hh, "residents", audits=audits)


def _hazard_points(
    session: Session,
    requester: Requester,
    *,
    kind: str,
    period: patrol.Period | None,
    grid_code: str | None,
    cell_m: float,
    crs: CRS,
) -> _Points:
    """Open hazards, or the incidents found in ``period`` (default: 12 weeks) by week."""
    hz = repo.hazards_frame(session, requester, open_only=kind == "hazards", grid_code=grid_code)
    if kind == "incidents":
        period = period or default_period(session, days=DEFAULT_DAYS["incidents"])
        found = pd.to_datetime(hz["found_at"])
        hz = hz[(found >= period.start) & (found < period.end)]
    hz = hz.to_crs(crs)
    x, y = hz.geometry.x.to_numpy(), hz.geometry.y.to_numpy()
    w = np.ones(len(hz))
    if kind == "hazards":
        return _Points(x, y, w, w, "hazards", period)
    weekly = _weekly(
        x, y, w, pd.to_datetime(hz["found_at"]), cell_m=max(cell_m, WEEKLY_CELL_M), crs=crs
    )
    return _Points(x, y, w, w, "incidents", period, weekly)


def _suppress(pts: _Points, *, cell_m: float, k: int, crs: CRS) -> tuple[_Points, int]:
    """The points outside cells of fewer than ``k`` households, and how many cells were hidden."""
    x, y, w, hh = pts.x, pts.y, pts.w, pts.hh
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
    kept = replace(pts, x=x[~drop], y=y[~drop], w=w[~drop], hh=hh[~drop])
    return kept, hidden


def _cells(pts: _Points, opts: HeatmapOptions, *, crs: CRS, personal: bool) -> gpd.GeoDataFrame:
    """The values per square or H3 cell in EPSG:4326."""
    if opts.cells == "h3":
        ll = gpd.GeoSeries(gpd.points_from_xy(pts.x, pts.y), crs=crs).to_crs(STORAGE_CRS)
        cell_frame = density.h3_cells(
            ll.x, ll.y, pts.w, resolution=opts.h3_resolution, extra={"households": pts.hh}
        )
        if personal:  # H3 cells are other units than the square ones: suppress again
            cell_frame = cell_frame[~density.suppressed(cell_frame["households"], k=opts.k)]
        return cell_frame
    return density.square_cells(
        pts.x, pts.y, pts.w, cell_m=opts.cell_m, crs=crs, extra={"households": pts.hh}
    ).to_crs(STORAGE_CRS)


def _patrol_minutes(
    session: Session,
    requester: Requester,
    *,
    period: patrol.Period,
    grid_code: str | None,
    cell_m: float,
    crs: CRS,
) -> _Points:
    """Midpoints and minutes of the patrol chords walked in ``period``, and the minutes per
    cell and week; the read of the tracks is audited."""
    tracks = repo.patrol_tracks_frame(session, requester, start=period.start, end=period.end)
    detail = {"tracks": len(tracks), "period": period.label, "purpose": "heatmap"}
    audit = ("view_patrol_tracks", grid_code, detail)
    repo.audit(session, requester, *audit)
    clean = patrol.clean_fixes(patrol.track_fixes(with_accuracy(tracks).to_crs(crs)))
    segs = patrol.track_segments(clean)
    inside = (segs.t_mid >= np.datetime64(period.start)) & (segs.t_mid < np.datetime64(period.end))
    x, y = segs.mx[inside], segs.my[inside]
    w = segs.dt_s[inside] / 60.0
    weekly = _weekly(
        x, y, w, pd.to_datetime(segs.t_mid[inside]), cell_m=max(cell_m, WEEKLY_CELL_M), crs=crs
    )
    return _Points(x, y, w, w, "patrol_minutes", period, weekly, [audit])


def _reach_heatmap(
    session: Session, *, category: str, cell_m: float, grids: gpd.GeoDataFrame, crs: CRS
) -> Heatmap:
    """Walking minutes to the nearest facility of ``category`` (see reach_heatmap)."""
    t = travel_time_cells(session, category=category, cell_m=cell_m, grids=grids, crs=crs)
    return Heatmap(
        f"reach:{category}",
        t.surface,
        t.cells,
        float(t.facilities),
        "minutes",
        False,
        0,
        0.0,
        cell_m,
        None,
        None,
        max(cell_m, WEEKLY_CELL_M),
        t.notes,
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
