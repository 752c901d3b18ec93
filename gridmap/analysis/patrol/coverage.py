"""Patrol coverage per grid and period: streets, buildings, households, key sites, effort."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.analysis.patrol.fixes import track_pieces
from gridmap.analysis.patrol.matching import (
    TrackSegments,
    match_pieces,
    passed_by_period,
    points_within,
    track_segments,
)
from gridmap.analysis.patrol.options import DEFAULT_OPTIONS, PatrolOptions
from gridmap.analysis.patrol.periods import Period, _bin_of, shift_of
from gridmap.analysis.patrol.streets import StreetNetwork
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

# Per-grid arrays (one value per grid, or grid x period) passed between the coverage steps.
_Arrays = tuple[np.ndarray, ...]


@dataclass
class CoverageReport:
    """Everything :func:`coverage` computes. Period positions index ``periods``.

    grids: one row per (grid, period): grid_code, grid_name, period, shift, street_m,
        patrolled_m, street_pct, buildings, buildings_passed, buildings_pct,
        households, households_covered, households_pct, key_sites, key_sites_visited,
        key_sites_pct, patrols, patrol_km, patrol_hours.
    segments: the street segments with share (covered fraction over the whole range),
        patrolled (bool over the whole range) and grid_codes.
    unpatrolled: per grid the longest unpatrolled streets (grid_code, name, highway,
        length_m, geometry), longest first.
    patrollers: per patroller (and period): patrols, km, hours, day_hours, night_hours.
    sites: per key site: visited (bool), visits, last_visit, minutes_near.
    buildings_passed: index-aligned with the buildings given: passed in any period.
    whole: one row per grid over the whole range (all periods as one): grid_code, street_m,
        patrolled_m, households, households_covered, the values a single period spanning
        the range would give (a month's figures from a run split by week).
    pieces: the cleaned track pieces (lines) used.
    cleaning: counts of fixes kept and dropped by reason.
    """

    periods: list[Period]
    shift: str
    grids: pd.DataFrame
    segments: gpd.GeoDataFrame
    unpatrolled: gpd.GeoDataFrame
    patrollers: pd.DataFrame
    sites: pd.DataFrame
    pieces: gpd.GeoDataFrame
    cleaning: dict[str, Any]
    options: PatrolOptions
    buildings_passed: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))
    whole: pd.DataFrame = field(default_factory=pd.DataFrame)

    def totals(self) -> dict[str, Any]:
        """Street-office totals over the whole range (each street piece counted once).

        Returns
        -------
        dict
            street_m, patrolled_m, street_pct, patrols and patrol_km.
        """
        seg = self.segments
        street_m = float(seg["length_m"].sum())
        patrolled_m = float(seg.loc[seg["patrolled"], "length_m"].sum())
        return {
            "street_m": round(street_m, 1),
            "patrolled_m": round(patrolled_m, 1),
            "street_pct": round(100 * patrolled_m / street_m, 1) if street_m else None,
            "patrols": int(self.pieces["track"].nunique()) if len(self.pieces) else 0,
            # The same 15 m chords as the per-patroller and per-grid km.
            "patrol_km": round(float(self.patrollers["km"].sum()), 2)
            if len(self.patrollers)
            else 0.0,
        }


def _pct(part: Any, whole: Any) -> np.ndarray:
    part = np.asarray(part, dtype=float)
    whole = np.asarray(whole, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, np.round(100 * part / np.where(whole > 0, whole, 1), 1), np.nan)


def coverage(
    network: StreetNetwork,
    clean: pd.DataFrame,
    periods: list[Period],
    *,
    buildings: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    shift: str = "all",
    longest: int = 5,
    options: PatrolOptions = DEFAULT_OPTIONS,
) -> CoverageReport:
    """Patrol coverage per grid and period.

    Parameters
    ----------
    network : StreetNetwork
        The :func:`street_network` of the area.
    clean : pandas.DataFrame
        Cleaned fixes (:func:`clean_fixes`).
    periods : list of Period
        The periods, half-open and ascending.
    buildings, sites : geopandas.GeoDataFrame, optional
        Buildings (grid_code, households, geometry) and key sites (code, grid_code,
        geometry), in the network's metric CRS.
    shift : str
        'all', or 'day' or 'night' to count only fixes of that shift.
    longest : int
        How many of the longest unpatrolled streets to list per grid.
    options : PatrolOptions
        Thresholds of cleaning and matching.

    Returns
    -------
    CoverageReport
        Everything computed.
    """
    if shift not in ("all", "day", "night"):
        raise fail(InvalidInput, N_("shift must be all, day or night, got {shift!r}"), shift=shift)
    grids, n_per = network.grids, len(periods)
    segs = track_segments(clean, options=options)
    bins, seg_idx = _chosen_chords(segs, periods, shift, options)
    tree = shapely.STRtree(segs.geoms[seg_idx]) if len(seg_idx) else None

    covered = match_pieces(
        network.pieces, segs, seg_idx, bins, max(n_per, 1), tree=tree, options=options
    )
    share_all, patrolled = _segment_shares(network, covered, n_per, options)
    streets = _street_metres(network, patrolled, n_per)
    grid_pos = pd.Series(np.arange(len(grids)), index=grids["code"].to_numpy())
    *passed, passed_any = _buildings_passed(
        buildings, grid_pos, tree, bins[seg_idx], n_per, options
    )
    site_rows = _site_visits(sites, clean, periods, shift, options)
    visited = _sites_visited(sites, site_rows["visited_by_period"], grid_pos, n_per)
    effort = _grid_effort(segs, seg_idx, bins, grids, n_per)
    grid_table = _grid_table(grids, periods, shift, streets, tuple(passed), visited, effort)
    segments = _segment_table(network, share_all, options)

    unpatrolled = _longest_unpatrolled(network, segments["patrolled"].to_numpy(), longest)
    patrollers = _patroller_totals(segs, seg_idx, bins, periods, options)
    # Only pieces with at least one segment in the selection (period and shift).
    chosen = np.unique(segs.piece[seg_idx])
    pieces_gdf = track_pieces(clean[clean["piece"].isin(chosen)], network.crs)
    whole = _whole_range(network, share_all >= options.min_share, buildings, grid_pos, passed_any)
    return CoverageReport(
        periods,
        shift,
        grid_table,
        segments,
        unpatrolled,
        patrollers,
        site_rows["frame"],
        pieces_gdf.reset_index(drop=True),
        _cleaning_counts(clean),
        options,
        passed_any,
        whole,
    )


def _whole_range(
    network: StreetNetwork,
    patrolled_any: np.ndarray,
    buildings: gpd.GeoDataFrame | None,
    grid_pos: pd.Series,
    passed_any: pd.Series,
) -> pd.DataFrame:
    """Street metres and households per grid, patrolled and passed over the whole range."""
    street_m, patrolled_m = _street_metres(network, patrolled_any[:, None], 1)
    hh_total: np.ndarray = np.zeros(len(grid_pos))
    hh_passed: np.ndarray = np.zeros(len(grid_pos))
    if buildings is not None and len(buildings):
        bg = grid_pos.reindex(buildings["grid_code"].to_numpy()).to_numpy()
        has = ~np.isnan(bg)
        bgi = np.where(has, bg, 0).astype(int)
        hh = buildings["households"].fillna(0).to_numpy(float)
        sel = has & passed_any.to_numpy(dtype=bool)
        hh_total = np.bincount(bgi[has], weights=hh[has], minlength=len(grid_pos))
        hh_passed = np.bincount(bgi[sel], weights=hh[sel], minlength=len(grid_pos))
    return pd.DataFrame(
        {
            "grid_code": network.grids["code"].to_numpy(),
            "street_m": np.round(street_m, 1),
            "patrolled_m": np.round(patrolled_m[:, 0], 1),
            "households": hh_total.astype(int),
            "households_covered": hh_passed.astype(int),
        }
    )


def _chosen_chords(
    segs: TrackSegments, periods: list[Period], shift: str, options: PatrolOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The period position of every chord, and the positions of the chords in a period and
    of the shift asked for."""
    bins = _bin_of(segs.t_mid, periods)
    use = bins >= 0
    if shift != "all":
        use &= (
            shift_of(
                segs.t_mid,
                day_start_hour=options.day_start_hour,
                night_start_hour=options.night_start_hour,
            )
            == shift
        )
    return bins, np.flatnonzero(use)


def _cleaning_counts(clean: pd.DataFrame) -> dict[str, Any]:
    """Fixes read, kept, and dropped by reason."""
    reasons = clean["reason"].value_counts().to_dict()
    return {
        "fixes": int(len(clean)),
        "kept": int(clean["keep"].sum()),
        "dropped": {k: int(v) for k, v in reasons.items() if k},
    }


def _segment_shares(
    network: StreetNetwork, covered: np.ndarray, n_per: int, options: PatrolOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Covered share of each street segment over the whole range, and whether it was
    patrolled (share >= min_share) in each period: (segment,) and (segment, period)."""
    pieces = network.pieces
    seg_of_piece = pieces["segment"].to_numpy()
    plen = pieces["length_m"].to_numpy()
    n_seg = len(network.segments)
    seg_len = np.bincount(seg_of_piece, weights=plen, minlength=n_seg)
    share = np.zeros((n_seg, max(n_per, 1)))
    for k in range(n_per):
        share[:, k] = np.bincount(seg_of_piece, weights=plen * covered[:, k], minlength=n_seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            seg_len[:, None] > 0, share / np.where(seg_len > 0, seg_len, 1)[:, None], 0
        )
    patrolled = share >= options.min_share  # (segment, period)
    any_cov = covered.any(axis=1)
    share_all = np.bincount(seg_of_piece, weights=plen * any_cov, minlength=n_seg) / np.where(
        seg_len > 0, seg_len, 1
    )
    return share_all, patrolled


def _street_metres(network: StreetNetwork, patrolled: np.ndarray, n_per: int) -> _Arrays:
    """Street metres of each grid, and of those the metres patrolled per period."""
    seg_of_piece = network.pieces["segment"].to_numpy()
    plen = network.pieces["length_m"].to_numpy()
    pg_piece = network.piece_grid["piece"].to_numpy()
    pg_grid = network.piece_grid["grid"].to_numpy()
    n_grid = len(network.grids)
    street_m = np.bincount(pg_grid, weights=plen[pg_piece], minlength=n_grid)
    patrolled_m = np.zeros((n_grid, max(n_per, 1)))
    for k in range(n_per):
        w = plen[pg_piece] * patrolled[seg_of_piece[pg_piece], k]
        patrolled_m[:, k] = np.bincount(pg_grid, weights=w, minlength=n_grid)
    return street_m, patrolled_m


def _buildings_passed(
    buildings: gpd.GeoDataFrame | None,
    grid_pos: pd.Series,
    tree: shapely.STRtree | None,
    seg_bins: np.ndarray,
    n_per: int,
    options: PatrolOptions,
) -> tuple[Any, ...]:
    """Buildings and households per grid, those passed within pass_m per period, and
    (index-aligned with ``buildings``) whether each was passed in any period."""
    n_grid = len(grid_pos)
    b_total: np.ndarray = np.zeros(n_grid)
    hh_total: np.ndarray = np.zeros(n_grid)
    b_passed = np.zeros((n_grid, max(n_per, 1)))
    hh_passed = np.zeros((n_grid, max(n_per, 1)))
    passed_any = pd.Series(False, index=buildings.index if buildings is not None else [])
    if buildings is not None and len(buildings):
        bg = grid_pos.reindex(buildings["grid_code"].to_numpy()).to_numpy()
        has = ~np.isnan(bg)
        bgi = np.where(has, bg, 0).astype(int)
        hh = buildings["households"].fillna(0).to_numpy(float)
        b_total = np.bincount(bgi[has], minlength=n_grid).astype(float)
        hh_total = np.bincount(bgi[has], weights=hh[has], minlength=n_grid)
        if tree is not None:
            passed = passed_by_period(
                np.asarray(buildings.geometry.values, dtype=object),
                tree.geometries,
                seg_bins,
                max(n_per, 1),
                options.pass_m,
            )
            passed_any[:] = passed.any(axis=1)
            for k in range(n_per):
                sel = has & passed[:, k]
                b_passed[:, k] = np.bincount(bgi[sel], minlength=n_grid)
                hh_passed[:, k] = np.bincount(bgi[sel], weights=hh[sel], minlength=n_grid)
    return b_total, hh_total, b_passed, hh_passed, passed_any


def _sites_visited(
    sites: gpd.GeoDataFrame | None, visited_by_period: np.ndarray, grid_pos: pd.Series, n_per: int
) -> _Arrays:
    """Key sites per grid and those visited per period."""
    n_grid = len(grid_pos)
    s_total = np.zeros(n_grid)
    s_visited = np.zeros((n_grid, max(n_per, 1)))
    if sites is not None and len(sites):
        sg = grid_pos.reindex(sites["grid_code"].to_numpy()).to_numpy()
        has = ~np.isnan(sg)
        sgi = np.where(has, sg, 0).astype(int)
        s_total = np.bincount(sgi[has], minlength=n_grid).astype(float)
        for k in range(n_per):
            sel = has & visited_by_period[:, k]
            s_visited[:, k] = np.bincount(sgi[sel], minlength=n_grid)
    return s_total, s_visited


def _grid_effort(
    segs: TrackSegments, seg_idx: np.ndarray, bins: np.ndarray, grids: gpd.GeoDataFrame, n_per: int
) -> _Arrays:
    """Patrol effort inside each grid per period (km, hours, patrols): track segments whose
    midpoint lies in the grid."""
    n_grid = len(grids)
    g_km = np.zeros((n_grid, max(n_per, 1)))
    g_hours = np.zeros((n_grid, max(n_per, 1)))
    g_patrols = np.zeros((n_grid, max(n_per, 1)), dtype=int)
    if len(seg_idx) and n_grid:
        mid = shapely.points(segs.mx[seg_idx], segs.my[seg_idx])
        qi, gi = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object)).query(
            mid, predicate="intersects"
        )
        si = seg_idx[qi]
        for k in range(n_per):
            sel = bins[si] == k
            g_km[:, k] = (
                np.bincount(gi[sel], weights=segs.length_m[si[sel]], minlength=n_grid) / 1000
            )
            g_hours[:, k] = (
                np.bincount(gi[sel], weights=segs.dt_s[si[sel]], minlength=n_grid) / 3600
            )
            pairs = pd.DataFrame({"g": gi[sel], "t": segs.track[si[sel]]}).drop_duplicates()
            g_patrols[:, k] = np.bincount(pairs["g"].to_numpy(dtype=int), minlength=n_grid)
    return g_km, g_hours, g_patrols


def _grid_table(
    grids: gpd.GeoDataFrame,
    periods: list[Period],
    shift: str,
    streets: _Arrays,
    passed: _Arrays,
    visited: _Arrays,
    effort: _Arrays,
) -> pd.DataFrame:
    """One row per (grid, period) of :attr:`CoverageReport.grids`."""
    street_m, patrolled_m = streets
    b_total, hh_total, b_passed, hh_passed = passed
    s_total, s_visited = visited
    g_km, g_hours, g_patrols = effort
    rows = []
    for k, per in enumerate(periods):
        rows.append(
            pd.DataFrame(
                {
                    "grid_code": grids["code"].to_numpy(),
                    "grid_name": grids["name"].to_numpy()
                    if "name" in grids
                    else grids["code"].to_numpy(),
                    "period": per.label,
                    "period_start": per.start,
                    "shift": shift,
                    "street_m": np.round(street_m, 1),
                    "patrolled_m": np.round(patrolled_m[:, k], 1),
                    "street_pct": _pct(patrolled_m[:, k], street_m),
                    "buildings": b_total.astype(int),
                    "buildings_passed": b_passed[:, k].astype(int),
                    "buildings_pct": _pct(b_passed[:, k], b_total),
                    "households": hh_total.astype(int),
                    "households_covered": hh_passed[:, k].astype(int),
                    "households_pct": _pct(hh_passed[:, k], hh_total),
                    "key_sites": s_total.astype(int),
                    "key_sites_visited": s_visited[:, k].astype(int),
                    "key_sites_pct": _pct(s_visited[:, k], s_total),
                    "patrols": g_patrols[:, k],
                    "patrol_km": np.round(g_km[:, k], 2),
                    "patrol_hours": np.round(g_hours[:, k], 2),
                }
            )
        )
    return (
        (
            pd.concat(rows, ignore_index=True)
            .sort_values(["grid_code", "period_start"], kind="stable")
            .reset_index(drop=True)
        )
        if rows
        else pd.DataFrame()
    )


def _segment_table(
    network: StreetNetwork, share_all: np.ndarray, options: PatrolOptions
) -> gpd.GeoDataFrame:
    """The street segments over the whole range, with the grids they belong to."""
    seg_of_piece = network.pieces["segment"].to_numpy()
    pg_piece = network.piece_grid["piece"].to_numpy()
    pg_grid = network.piece_grid["grid"].to_numpy()
    seg_grids = pd.DataFrame(
        {"segment": seg_of_piece[pg_piece], "grid": network.grids["code"].to_numpy()[pg_grid]}
    ).drop_duplicates()
    grid_codes = seg_grids.groupby("segment")["grid"].agg(lambda v: ",".join(sorted(v)))
    segments = network.segments.copy()
    segments["share"] = np.round(share_all, 3)
    segments["patrolled"] = share_all >= options.min_share
    segments["grid_codes"] = (
        grid_codes.reindex(np.arange(len(network.segments))).fillna("").to_numpy()
    )
    return segments


def _site_visits(
    sites: gpd.GeoDataFrame | None,
    clean: pd.DataFrame,
    periods: list[Period],
    shift: str,
    options: PatrolOptions,
) -> dict[str, Any]:
    n_per = max(len(periods), 1)
    if sites is None or not len(sites):
        return {
            "visited_by_period": np.zeros((0, n_per), dtype=bool),
            "frame": pd.DataFrame(
                columns=["code", "visited", "visits", "last_visit", "minutes_near"]
            ),
        }
    kept = clean[clean["keep"]].sort_values(["piece", "t"], kind="stable")
    t = kept["t"].to_numpy().astype("datetime64[us]")
    sel = _bin_of(t, periods) >= 0
    if shift != "all":
        sel &= (
            shift_of(
                t, day_start_hour=options.day_start_hour, night_start_hour=options.night_start_hour
            )
            == shift
        )
    order = np.flatnonzero(sel)  # positions of usable fixes in the sorted kept frame
    visited = np.zeros((len(sites), n_per), dtype=bool)
    visits = np.zeros(len(sites), dtype=int)
    minutes = np.zeros(len(sites))
    last = np.full(len(sites), np.datetime64("NaT"), dtype="datetime64[us]")
    if len(order):
        si, fi = points_within(
            np.asarray(sites.geometry.values, dtype=object),
            kept[["x", "y"]].to_numpy()[order],
            options.visit_m,
        )
        if len(si):
            pos = order[fi]  # position in the kept frame: consecutive = consecutive fixes
            piece = kept["piece"].to_numpy()[pos]
            srt = np.lexsort((pos, si))
            si, pos, piece = si[srt], pos[srt], piece[srt]
            new = np.r_[
                True, (si[1:] != si[:-1]) | (piece[1:] != piece[:-1]) | (pos[1:] != pos[:-1] + 1)
            ]
            run = np.cumsum(new) - 1
            starts = np.flatnonzero(new)
            ends = np.r_[starts[1:], len(si)] - 1
            dur = (t[pos[ends]] - t[pos[starts]]).astype("timedelta64[us]").astype(np.int64) / 1e6
            ok = dur >= options.visit_min_s
            run_site = si[starts]
            run_bin = _bin_of(t[pos[starts]], periods)
            visited[run_site[ok], run_bin[ok]] = True
            visits = np.bincount(run_site[ok], minlength=len(sites))
            minutes = np.bincount(run_site, weights=dur, minlength=len(sites)) / 60
            if ok.any():
                lt = pd.Series(t[pos[ends]][ok]).groupby(run_site[ok]).max()
                last[lt.index.to_numpy()] = lt.to_numpy().astype("datetime64[us]")
            del run
    frame = pd.DataFrame(
        {
            "code": sites["code"].to_numpy(),
            "visited": visited.any(axis=1),
            "visits": visits,
            "last_visit": pd.to_datetime(last),
            "minutes_near": np.round(minutes, 1),
        },
        index=sites.index,
    )
    return {"visited_by_period": visited, "frame": frame}


def _longest_unpatrolled(network: StreetNetwork, patrolled: np.ndarray, n: int) -> gpd.GeoDataFrame:
    """Per grid, its unpatrolled streets (pieces grouped by source road) longest first."""
    pieces = network.pieces
    pg = network.piece_grid
    seg = pieces["segment"].to_numpy()[pg["piece"].to_numpy()]
    sel = ~patrolled[seg]
    frame = pd.DataFrame(
        {
            "grid": pg["grid"].to_numpy()[sel],
            "segment": seg[sel],
            "length_m": pieces["length_m"].to_numpy()[pg["piece"].to_numpy()[sel]],
        }
    )
    frame["road"] = network.segments["road"].to_numpy()[frame["segment"].to_numpy()]
    agg = frame.groupby(["grid", "road"], sort=False).agg(
        length_m=("length_m", "sum"), segments=("segment", lambda s: sorted(set(s)))
    )
    agg = agg.reset_index().sort_values(["grid", "length_m"], ascending=[True, False])
    agg = agg.groupby("grid", sort=True).head(n)
    geoms = [
        shapely.line_merge(
            shapely.union_all(np.asarray(network.segments.geometry.values, dtype=object)[s])
        )
        for s in agg["segments"]
    ]
    segs = network.segments
    first = [s[0] for s in agg["segments"]]
    out = gpd.GeoDataFrame(
        {
            "grid_code": network.grids["code"].to_numpy()[agg["grid"].to_numpy(dtype=int)],
            "name": segs["name"].to_numpy()[first] if len(first) else [],
            "highway": segs["highway"].to_numpy()[first] if len(first) else [],
            "length_m": np.round(agg["length_m"].to_numpy(float), 1),
        },
        geometry=gpd.GeoSeries(geoms, crs=network.crs),
        crs=network.crs,
    )
    return out.reset_index(drop=True)


def _patroller_totals(
    segs: TrackSegments,
    seg_idx: np.ndarray,
    bins: np.ndarray,
    periods: list[Period],
    options: PatrolOptions,
) -> pd.DataFrame:
    columns = ["patroller", "period", "patrols", "km", "hours", "day_hours", "night_hours"]
    if not len(seg_idx):
        return pd.DataFrame(columns=columns)
    shifts = shift_of(
        segs.t_mid[seg_idx],
        day_start_hour=options.day_start_hour,
        night_start_hour=options.night_start_hour,
    )
    f = pd.DataFrame(
        {
            "patroller": segs.patroller[seg_idx],
            "period": np.array([p.label for p in periods], dtype=object)[bins[seg_idx]],
            "track": segs.track[seg_idx],
            "m": segs.length_m[seg_idx],
            "s": segs.dt_s[seg_idx],
            "day_s": np.where(shifts == "day", segs.dt_s[seg_idx], 0.0),
        }
    )
    g = f.groupby(["patroller", "period"], sort=True)
    out = pd.DataFrame(
        {
            "patrols": g["track"].nunique(),
            "km": (g["m"].sum() / 1000).round(2),
            "hours": (g["s"].sum() / 3600).round(2),
            "day_hours": (g["day_s"].sum() / 3600).round(2),
        }
    ).reset_index()
    out["night_hours"] = (out["hours"] - out["day_hours"]).round(2)
    return out[columns]
