"""Patrol tracks: cleaning, street matching, coverage per grid and period, overdue key sites.

Everything here is pure and works in a *metric* CRS (metres): the caller projects
tracks, roads, grids, buildings and key sites into one projected CRS first.

The pipeline, each step vectorised (shapely STRtree / numpy, no per-fix Python
loop except over the few tracks that really contain a speed violation):

1. :func:`track_fixes` explodes stored tracks (LineString + seconds per vertex) into
   one row per GPS fix; :func:`fixes_frame` does the same for raw GPX/CSV records.
2. :func:`clean_fixes` drops fixes worse than an accuracy threshold or implying a
   walking speed above ``max_speed_kmh`` (GPS jumps), and splits tracks into
   *pieces* at gaps longer than ``max_gap_min``.
3. :func:`street_network` nodes the roads into street segments (intersection to
   intersection), cuts them into short pieces (``piece_m``) and assigns every piece
   to the grid(s) it lies in or borders.
4. :func:`coverage` matches the cleaned pieces to the streets: a street piece is
   covered in a period when a track segment *running along it* (heading within
   ``max_angle_deg``) passes within ``tolerance_m``; a street segment is patrolled
   when covered for at least ``min_share`` of its length. It also counts buildings
   passed, households covered, key sites visited and per-patroller totals.
5. :func:`overdue_sites` lists key sites past their inspection interval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.errors import InvalidInput
from gridmap.noding import node_lines, vertical_layer
from gridmap.walkable import walkable

# A GPS jump that persists longer than this is a relocation, not a spike: restart there.
_RESET_AFTER_S = 120.0


@dataclass(frozen=True)
class PatrolOptions:
    """Every threshold of the patrol analysis, with the defaults of the issue."""

    max_speed_kmh: float = 15.0      # faster than a brisk cyclist: a GPS jump
    max_accuracy_m: float = 50.0     # fixes reported worse than this are dropped
    # GPS noise of a few metres between fixes 5 s apart already "implies" 7+ km/h:
    # a step is a jump only when longer than max speed x time + this slack.
    speed_slack_m: float = 10.0
    max_gap_min: float = 10.0        # tracks split at longer gaps
    tolerance_m: float = 20.0        # a track this close to a street runs along it
    min_share: float = 0.5           # "most of its length"
    piece_m: float = 10.0            # streets are matched in pieces this long
    max_angle_deg: float = 45.0      # track heading vs street direction
    step_m: float = 15.0             # tracks are matched as chords at least this long
    heading_window: int = 1          # chords each side used to smooth the heading
    edge_m: float = 5.0              # a street this close to a grid belongs to it
    pass_m: float = 30.0             # buildings passed within
    visit_m: float = 30.0            # key sites visited within ...
    visit_min_s: float = 60.0        # ... for at least this long
    day_start_hour: int = 6          # day shift starts (local time)
    night_start_hour: int = 20       # night shift starts (local time)

    def __post_init__(self) -> None:
        if self.speed_slack_m < 0:
            raise InvalidInput(f"patrol option speed_slack_m must be >= 0, got {self.speed_slack_m}")
        for name in ("max_speed_kmh", "max_accuracy_m", "max_gap_min", "tolerance_m",
                     "piece_m", "pass_m", "visit_m", "step_m"):
            if not getattr(self, name) > 0:
                raise InvalidInput(f"patrol option {name} must be positive, got {getattr(self, name)}")
        if not 0 < self.min_share <= 1:
            raise InvalidInput(f"patrol option min_share must be in (0, 1], got {self.min_share}")
        for name in ("day_start_hour", "night_start_hour"):
            if not 0 <= getattr(self, name) <= 23:
                raise InvalidInput(f"patrol option {name} must be an hour 0-23, got {getattr(self, name)}")


def _require_metric(frame: gpd.GeoDataFrame, what: str) -> None:
    if frame.crs is None or not frame.crs.is_projected:
        raise InvalidInput(f"{what} must be in a projected (metric) CRS, got {frame.crs}; "
                           "project it first (e.g. frame.to_crs(gridmap.crs.metric_crs(frame)))")


# --- periods -----------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) of local time."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        last = self.end - timedelta(seconds=1)
        if self.start.date() == last.date():
            return self.start.date().isoformat()
        return f"{self.start.date().isoformat()}/{last.date().isoformat()}"


def _parse_day(text: str, what: str) -> datetime:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} {text!r} is not a date (YYYY-MM-DD) or time "
                           "(YYYY-MM-DDTHH:MM)") from exc


def parse_period(text: str) -> Period:
    """``START/END`` (dates inclusive, or times), ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY-Www``."""
    text = (text or "").strip()
    try:
        return _parse_period(text)
    except InvalidInput:
        raise
    except (ValueError, OverflowError) as exc:  # month 13, week 99: the calendar refuses
        raise InvalidInput(f"period {text!r} is not on the calendar ({exc}); use a month "
                           "01-12 or an ISO week 01-53") from exc


def _parse_period(text: str) -> Period:
    if "/" in text:
        a, b = text.split("/", 1)
        start = _parse_day(a, "period start")
        end = _parse_day(b, "period end")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", b.strip()):
            end += timedelta(days=1)  # a date as END means the whole of that day
        if end <= start:
            raise InvalidInput(f"period {text!r} ends before it starts; write START/END")
        return Period(start, end)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        start = datetime(int(m[1]), int(m[2]), 1)
        end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return Period(start, end)
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
        start = datetime.combine(date.fromisocalendar(int(m[1]), int(m[2]), 1), datetime.min.time())
        return Period(start, start + timedelta(days=7))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        start = _parse_day(text, "period")
        return Period(start, start + timedelta(days=1))
    raise InvalidInput(f"period {text!r} not understood; use START/END (2025-06-01/2025-06-30), "
                       "a day (2025-06-01), a month (2025-06) or an ISO week (2025-W23)")


def split_period(period: Period, by: str | None) -> list[Period]:
    """``period`` cut into calendar days, ISO weeks (Monday first) or months; whole when None."""
    if by in (None, "", "all", "period"):
        return [period]
    if by not in ("day", "week", "month"):
        raise InvalidInput(f"cannot split a period by {by!r}; use day, week or month")
    out: list[Period] = []
    cur = period.start
    while cur < period.end:
        if by == "day":
            nxt = datetime.combine(cur.date() + timedelta(days=1), datetime.min.time())
        elif by == "week":
            monday = cur.date() - timedelta(days=cur.weekday())
            nxt = datetime.combine(monday + timedelta(days=7), datetime.min.time())
        else:
            nxt = datetime(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
        out.append(Period(cur, min(nxt, period.end)))
        cur = nxt
    return out


def shift_of(times, *, day_start_hour: int = 6, night_start_hour: int = 20) -> np.ndarray:
    """'day' or 'night' for each local time (day = [day_start_hour, night_start_hour))."""
    hours = pd.DatetimeIndex(times).hour.to_numpy()
    if day_start_hour < night_start_hour:
        day = (hours >= day_start_hour) & (hours < night_start_hour)
    else:  # a day shift that wraps midnight (unusual but configurable)
        day = (hours >= day_start_hour) | (hours < night_start_hour)
    return np.where(day, "day", "night")


def _bin_of(times: np.ndarray, periods: list[Period]) -> np.ndarray:
    """Index of the period holding each time, -1 outside all of them."""
    if not len(periods):
        return np.full(len(times), -1)
    edges = np.array([p.start for p in periods] + [periods[-1].end], dtype="datetime64[us]")
    t = np.asarray(times, dtype="datetime64[us]")
    idx = np.searchsorted(edges, t, side="right") - 1
    idx[(idx < 0) | (idx >= len(periods))] = -1
    return idx


# --- fixes -------------------------------------------------------------------------
FIX_COLUMNS = ["track", "patroller", "t", "x", "y", "accuracy_m"]


def fixes_frame(*, track, patroller, t, x, y, accuracy_m=None) -> pd.DataFrame:
    """GPS fixes (one row each) from arrays; ``t`` local times, ``x``/``y`` metric coordinates.

    Raw GPX/CSV records (patroller, time, lon, lat[, accuracy]) come in here after the
    reader projected lon/lat. Out: columns track, patroller, t, x, y, accuracy_m,
    sorted by track and time.
    """
    n = len(x)
    frame = pd.DataFrame({
        "track": np.asarray(track, dtype=object) if not np.isscalar(track) else [track] * n,
        "patroller": (np.asarray(patroller, dtype=object) if not np.isscalar(patroller)
                      else [patroller] * n),
        "t": pd.to_datetime(np.asarray(t)),
        "x": np.asarray(x, dtype=float),
        "y": np.asarray(y, dtype=float),
        "accuracy_m": (np.full(n, np.nan) if accuracy_m is None
                       else np.asarray(accuracy_m, dtype=float)),
    })
    if frame["t"].isna().any():
        row = int(np.flatnonzero(frame["t"].isna().to_numpy())[0])
        raise InvalidInput(f"fix {row + 1} has no time; every fix needs patroller, time, lon, lat")
    return frame.sort_values(["track", "t"], kind="stable").reset_index(drop=True)


def track_fixes(tracks: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per vertex of stored tracks.

    In: GeoDataFrame (metric CRS) with code, patroller, started_at, times (list of
    seconds after started_at, one per vertex), geometry (LineString); optional
    ``accuracy`` (list of metres per vertex). Out: :func:`fixes_frame` columns.
    """
    _require_metric(tracks, "patrol tracks")
    if not len(tracks):
        return pd.DataFrame({c: pd.Series(dtype=d) for c, d in zip(
            FIX_COLUMNS, [object, object, "datetime64[us]", float, float, float], strict=True)})
    geoms = np.asarray(tracks.geometry.values, dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(owner, minlength=len(tracks))
    times = [np.asarray(t if t is not None else [], dtype=float) for t in tracks["times"]]
    lengths = np.array([len(t) for t in times])
    bad = np.flatnonzero(lengths != counts)
    if len(bad):
        code = tracks["code"].iloc[bad[0]]
        raise InvalidInput(f"patrol track {code}: {lengths[bad[0]]} times for {counts[bad[0]]} "
                           "vertices; every vertex needs one time")
    seconds = np.concatenate(times) if times else np.zeros(0)
    started = pd.to_datetime(tracks["started_at"]).to_numpy().astype("datetime64[us]")
    t = started[owner] + (seconds * 1e6).astype("timedelta64[us]")
    accuracy = None
    if "accuracy" in tracks.columns:
        accuracy = np.concatenate([
            np.asarray(a, dtype=float) if a is not None and len(a) == c else np.full(c, np.nan)
            for a, c in zip(tracks["accuracy"], counts, strict=True)])
    return fixes_frame(track=tracks["code"].to_numpy(dtype=object)[owner],
                       patroller=tracks["patroller"].to_numpy(dtype=object)[owner],
                       t=t, x=coords[:, 0], y=coords[:, 1], accuracy_m=accuracy)


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start index of every run of equal consecutive keys."""
    if not len(keys):
        return np.zeros(0, dtype=int)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _speed_scan(x, y, s, max_mps: float, gap_s: float,
                slack_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Sequential speed filter of one track: keep a fix when reachable from the last kept one.

    Returns (keep, restart): restart marks kept fixes that begin a new piece because
    a run of rejected fixes lasted longer than _RESET_AFTER_S (the device really moved).
    """
    n = len(x)
    keep = np.zeros(n, dtype=bool)
    restart = np.zeros(n, dtype=bool)
    if n == 0:
        return keep, restart
    start = 0
    # A first fix that is itself the jump: too fast to the 2nd, while 2nd->3rd is fine.
    if n >= 3:
        d01 = np.hypot(x[1] - x[0], y[1] - y[0])
        d12 = np.hypot(x[2] - x[1], y[2] - y[1])
        if (d01 > max_mps * (s[1] - s[0]) + slack_m and d12 <= max_mps * (s[2] - s[1]) + slack_m
                and s[1] - s[0] <= gap_s):
            start = 1
    anchor = start
    keep[start] = True
    first_rejected = None
    for i in range(start + 1, n):
        dt = s[i] - s[anchor]
        if dt > gap_s:
            keep[i], anchor, first_rejected = True, i, None
            continue
        if np.hypot(x[i] - x[anchor], y[i] - y[anchor]) <= max_mps * dt + slack_m:
            keep[i], anchor, first_rejected = True, i, None
            continue
        if first_rejected is None:
            first_rejected = i
        elif s[i] - s[first_rejected] > _RESET_AFTER_S:
            keep[i], restart[i], anchor, first_rejected = True, True, i, None
    return keep, restart


def clean_fixes(fixes: pd.DataFrame, *, options: PatrolOptions = PatrolOptions()) -> pd.DataFrame:
    """Drop bad fixes and split tracks into pieces.

    In: :func:`fixes_frame` columns (sorted by track, time). Out: the same rows and
    index plus ``keep`` (bool), ``reason`` ('' kept; 'accuracy', 'speed', 'duplicate'
    or 'isolated' dropped) and ``piece`` (int id of the continuous piece the fix
    belongs to, -1 when dropped). A piece ends at a gap longer than ``max_gap_min``.
    """
    out = fixes.copy()
    n = len(out)
    reason = np.full(n, "", dtype=object)
    acc = out["accuracy_m"].to_numpy(dtype=float)
    reason[np.isfinite(acc) & (acc > options.max_accuracy_m)] = "accuracy"
    track = out["track"].to_numpy(dtype=object)
    s = (out["t"].to_numpy().astype("datetime64[us]").astype(np.int64) / 1e6)
    # Two fixes of one track at the same second: keep the first.
    same = np.r_[False, (track[1:] == track[:-1]) & (s[1:] == s[:-1])]
    reason[same & (reason == "")] = "duplicate"
    x = out["x"].to_numpy(dtype=float)
    y = out["y"].to_numpy(dtype=float)
    max_mps = options.max_speed_kmh / 3.6
    gap_s = options.max_gap_min * 60.0

    ok = np.flatnonzero(reason == "")
    restart = np.zeros(n, dtype=bool)
    if len(ok) > 1:
        # Vectorised first pass: speed from the previous good fix of the same track.
        same_track = track[ok[1:]] == track[ok[:-1]]
        dt = s[ok[1:]] - s[ok[:-1]]
        dist = np.hypot(np.diff(x[ok]), np.diff(y[ok]))
        too_fast = same_track & (dt <= gap_s) & (dist > max_mps * dt + options.speed_slack_m)
        # Only tracks with a violation need the sequential scan.
        for tr in pd.unique(track[ok[1:][too_fast]]):
            rows = ok[track[ok] == tr]
            keep, rs = _speed_scan(x[rows], y[rows], s[rows], max_mps, gap_s,
                                   options.speed_slack_m)
            reason[rows[~keep]] = "speed"
            restart[rows[rs]] = True

    good = np.flatnonzero(reason == "")
    piece = np.full(n, -1, dtype=np.int64)
    if len(good):
        new = np.r_[True, (track[good[1:]] != track[good[:-1]])
                    | (s[good[1:]] - s[good[:-1]] > gap_s)] | restart[good]
        ids = np.cumsum(new) - 1
        sizes = np.bincount(ids)
        lonely = sizes[ids] < 2
        reason[good[lonely]] = "isolated"
        # Renumber the surviving pieces 0..k-1.
        kept_ids = ids[~lonely]
        _, dense = np.unique(kept_ids, return_inverse=True)
        piece[good[~lonely]] = dense
    out["keep"] = reason == ""
    out["reason"] = reason
    out["piece"] = piece
    return out


def track_pieces(clean: pd.DataFrame, crs) -> gpd.GeoDataFrame:
    """The cleaned pieces as lines: piece, track, patroller, started_at, ended_at, length_m,
    duration_s, geometry (in ``crs``)."""
    kept = clean[clean["keep"]]
    if not len(kept):
        return gpd.GeoDataFrame({"piece": [], "track": [], "patroller": [], "started_at": [],
                                 "ended_at": [], "length_m": [], "duration_s": []},
                                geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    kept = kept.sort_values(["piece", "t"], kind="stable")
    _, dense = np.unique(kept["piece"].to_numpy(), return_inverse=True)
    lines = shapely.linestrings(kept[["x", "y"]].to_numpy(), indices=dense)
    g = kept.groupby("piece", sort=True)
    frame = pd.DataFrame({
        "piece": g.size().index.to_numpy(),
        "track": g["track"].first().to_numpy(),
        "patroller": g["patroller"].first().to_numpy(),
        "started_at": g["t"].min().to_numpy(),
        "ended_at": g["t"].max().to_numpy(),
    })
    frame["duration_s"] = (frame["ended_at"] - frame["started_at"]).dt.total_seconds()
    frame["length_m"] = shapely.length(lines)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lines, crs=crs), crs=crs)


# --- the street network for matching ---------------------------------------------------
@dataclass
class StreetNetwork:
    """Street segments, their short pieces, and which grid each piece belongs to.

    segments: GeoDataFrame (segment index 0..n-1) with road (index label of the source
        road), name, highway, length_m, geometry.
    pieces: DataFrame with segment, length_m, mx, my (midpoint), dx, dy (unit direction).
    piece_grid: DataFrame of (piece, grid) pairs: grid is the position in ``grids``; a
        piece on a boundary between two grids belongs to both.
    grids: the grids (code, name, geometry) in the same metric CRS.
    """

    segments: gpd.GeoDataFrame
    pieces: pd.DataFrame
    piece_grid: pd.DataFrame
    grids: gpd.GeoDataFrame
    crs: object = field(default=None)


def patrolled_roads(roads: gpd.GeoDataFrame) -> pd.Series:
    """Index-aligned bool: roads a patrol can walk, by the rule of ``gridmap.walkable``
    (private roads only as a compound's own roads: ``compound_code`` set)."""
    def col(name):
        return roads[name].to_numpy(object) if name in roads else None
    inside = roads["compound_code"].notna().to_numpy() if "compound_code" in roads else None
    return pd.Series(walkable(roads["highway"].to_numpy(object), col("foot"), col("access"),
                              in_compound=inside), index=roads.index)


def road_levels(roads: pd.DataFrame) -> np.ndarray | None:
    """Vertical level of each road from its layer/bridge/tunnel columns (None: none given)."""
    if not any(c in roads for c in ("layer", "bridge", "tunnel")):
        return None
    tags = [roads[c].to_numpy(object) if c in roads else [None] * len(roads)
            for c in ("layer", "bridge", "tunnel")]
    return np.array([vertical_layer(*t) for t in zip(*tags, strict=True)], dtype=np.int64)


def street_network(roads: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *,
                   options: PatrolOptions = PatrolOptions()) -> StreetNetwork:
    """Node ``roads`` into segments between intersections, cut them into pieces of at most
    ``piece_m`` and assign every piece to the grids within ``edge_m`` of its midpoint.

    In: roads (metric CRS; highway, foot, name columns) and grids (code, name,
    geometry). Roads outside every grid and roads nobody patrols are left out.
    """
    _require_metric(roads, "roads")
    _require_metric(grids, "grids")
    crs = roads.crs
    grids = grids.to_crs(crs).reset_index(drop=True)
    walk = roads[patrolled_roads(roads)]
    levels = road_levels(walk)
    lines = np.asarray(walk.geometry.values, dtype=object)
    ok = ~shapely.is_missing(lines) & ~shapely.is_empty(lines)
    ok[ok] = shapely.length(lines[ok]) > 0
    lines, keep_labels = lines[ok], walk.index[ok]
    if len(lines) and len(grids):
        # Keep roads touching the grids (plus edge_m) before noding: noding is the slow step.
        union = shapely.union_all(np.asarray(grids.geometry.values, dtype=object))
        near = shapely.intersects(lines, shapely.buffer(union, options.edge_m))
        lines, keep_labels = lines[near], keep_labels[near]
        # Cut roads leaving the area at its edge (1 m slack keeps boundary streets whole).
        lines = shapely.intersection(lines, shapely.buffer(union, 1.0))
        lines = np.array([shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
                          for g in lines], dtype=object)
        ok = ~shapely.is_empty(lines) & np.isin(shapely.get_type_id(lines), [1, 5])
        lines, keep_labels = lines[ok], keep_labels[ok]
    return _segments_and_pieces(walk, lines, keep_labels, levels, grids, crs, options)


def _noded_streets(lines, levels, keep_labels, walk_index) -> tuple[np.ndarray, np.ndarray]:
    """Street segments between junctions (``gridmap.noding``: a bridge over a street is none)
    and the position in ``lines`` of the road each came from. Stretches drawn twice count
    once; crumbs of the edge cut and of noding (2 m or shorter) are dropped."""
    parts, owner = shapely.get_parts(lines, return_index=True)
    level = None
    if levels is not None:
        level = levels[walk_index.get_indexer(keep_labels)][owner]
    noded, src = node_lines(parts, level=level)
    keep = shapely.length(noded) > 2.0
    noded, src = noded[keep], owner[src[keep]]
    _, first = np.unique(shapely.to_wkb(shapely.normalize(noded)), return_index=True)
    first = np.sort(first)
    return noded[first], src[first]


def _segments_and_pieces(walk, lines, keep_labels, levels, grids, crs, options) -> StreetNetwork:
    empty = gpd.GeoDataFrame({"road": [], "name": [], "highway": [], "length_m": []},
                             geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if not len(lines):
        return StreetNetwork(empty, pd.DataFrame(columns=["segment", "length_m", "mx", "my", "dx", "dy"]),
                             pd.DataFrame({"piece": [], "grid": []}, dtype=int), grids, crs)
    noded, road_pos = _noded_streets(lines, levels, keep_labels, walk.index)
    source = walk.loc[keep_labels[road_pos]]
    segments = gpd.GeoDataFrame({
        "road": keep_labels[road_pos],
        "name": source["name"].to_numpy() if "name" in source else None,
        "highway": source["highway"].to_numpy(),
        "length_m": shapely.length(noded),
    }, geometry=gpd.GeoSeries(noded, crs=crs), crs=crs)

    # Pieces: consecutive vertices of the segmentized segments.
    fine = shapely.segmentize(noded, options.piece_m)
    coords, owner = shapely.get_coordinates(fine, return_index=True)
    pair = np.flatnonzero(owner[1:] == owner[:-1])
    a, b = coords[pair], coords[pair + 1]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    nz = length > 1e-9
    a, b, d, length, seg = a[nz], b[nz], d[nz], length[nz], owner[pair][nz]
    pieces = pd.DataFrame({
        "segment": seg, "length_m": length,
        "mx": (a[:, 0] + b[:, 0]) / 2, "my": (a[:, 1] + b[:, 1]) / 2,
        "dx": d[:, 0] / length, "dy": d[:, 1] / length,
    })
    mid_pts = shapely.points(pieces[["mx", "my"]].to_numpy())
    tree = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object))
    p_idx, g_idx = tree.query(mid_pts, predicate="dwithin", distance=options.edge_m)
    piece_grid = pd.DataFrame({"piece": p_idx, "grid": g_idx})
    # Drop segments no grid claims (roads just outside the area).
    used = np.unique(pieces["segment"].to_numpy()[p_idx])
    if len(used) < len(segments):
        remap = np.full(len(segments), -1)
        remap[used] = np.arange(len(used))
        keep_piece = np.isin(pieces["segment"].to_numpy(), used)
        old_piece = np.flatnonzero(keep_piece)
        piece_remap = np.full(len(pieces), -1)
        piece_remap[old_piece] = np.arange(len(old_piece))
        pieces = pieces[keep_piece].reset_index(drop=True)
        pieces["segment"] = remap[pieces["segment"].to_numpy()]
        segments = segments.iloc[used].reset_index(drop=True)
        piece_grid = pd.DataFrame({"piece": piece_remap[p_idx], "grid": g_idx})
    return StreetNetwork(segments, pieces, piece_grid, grids, crs)


# --- matching and coverage ---------------------------------------------------------------
@dataclass
class TrackSegments:
    """Consecutive kept fixes of one piece, with a smoothed heading."""

    geoms: np.ndarray          # LineStrings
    length_m: np.ndarray
    dt_s: np.ndarray
    t_mid: np.ndarray          # datetime64[us]
    hx: np.ndarray             # unit heading (0, 0 when standing still)
    hy: np.ndarray
    piece: np.ndarray
    track: np.ndarray
    patroller: np.ndarray
    mx: np.ndarray = field(default_factory=lambda: np.zeros(0))  # chord midpoints
    my: np.ndarray = field(default_factory=lambda: np.zeros(0))


def track_segments(clean: pd.DataFrame, *, options: PatrolOptions = PatrolOptions()) -> TrackSegments:
    """Chords of at least ``step_m`` between kept fixes of the same piece, each with the
    heading of the chord over ``heading_window`` chords on either side.

    GPS noise makes single 5-second steps point anywhere and adds their zig-zag to the
    distance; chords of ~15 m keep the direction and the walked length, and cut the
    number of segments to match by about three.
    """
    kept = clean[clean["keep"]].sort_values(["piece", "t"], kind="stable")
    piece_all = kept["piece"].to_numpy()
    if len(kept) > 2:
        xa, ya = kept["x"].to_numpy(float), kept["y"].to_numpy(float)
        same = piece_all[1:] == piece_all[:-1]
        step = np.r_[0.0, np.where(same, np.hypot(np.diff(xa), np.diff(ya)), 0.0)]
        cum = np.cumsum(step)
        starts_all = _runs(piece_all)
        cum -= np.repeat(cum[starts_all], np.diff(np.r_[starts_all, len(cum)]))
        bucket = np.floor(cum / options.step_m)
        first_of_piece = np.r_[True, ~same]
        last_of_piece = np.r_[~same, True]
        take = first_of_piece | last_of_piece | np.r_[True, bucket[1:] != bucket[:-1]]
        kept = kept[take]
    x = kept["x"].to_numpy(float)
    y = kept["y"].to_numpy(float)
    piece = kept["piece"].to_numpy()
    t = kept["t"].to_numpy().astype("datetime64[us]")
    n = len(kept)
    if n < 2:
        z = np.zeros(0)
        return TrackSegments(np.zeros(0, dtype=object), z, z, np.zeros(0, "datetime64[us]"), z, z,
                             np.zeros(0, int), np.zeros(0, object), np.zeros(0, object))
    i = np.flatnonzero(piece[1:] == piece[:-1])
    starts = _runs(piece)
    first = np.repeat(starts, np.diff(np.r_[starts, n]))
    last = np.repeat(np.r_[starts[1:], n] - 1, np.diff(np.r_[starts, n]))
    w = options.heading_window
    lo = np.maximum(i - w + 1, first[i])
    hi = np.minimum(i + 1 + w, last[i])
    cx, cy = x[hi] - x[lo], y[hi] - y[lo]
    chord = np.hypot(cx, cy)
    moving = chord > 5.0  # standing still (or circling) has no heading
    hx = np.where(moving, cx / np.where(moving, chord, 1), 0.0)
    hy = np.where(moving, cy / np.where(moving, chord, 1), 0.0)
    seg_xy = np.stack([np.c_[x[i], y[i]], np.c_[x[i + 1], y[i + 1]]], axis=1)
    geoms = shapely.linestrings(seg_xy)
    dt = (t[i + 1] - t[i]).astype("timedelta64[us]").astype(np.int64) / 1e6
    return TrackSegments(
        geoms=geoms, length_m=np.hypot(x[i + 1] - x[i], y[i + 1] - y[i]), dt_s=dt,
        t_mid=t[i] + ((t[i + 1] - t[i]) // 2), hx=hx, hy=hy, piece=piece[i],
        track=kept["track"].to_numpy(object)[i], patroller=kept["patroller"].to_numpy(object)[i],
        mx=(x[i] + x[i + 1]) / 2, my=(y[i] + y[i + 1]) / 2)


def match_pieces(pieces: pd.DataFrame, segs: TrackSegments, seg_idx: np.ndarray,
                 bins: np.ndarray, n_bins: int, *, tree: shapely.STRtree | None = None,
                 options: PatrolOptions = PatrolOptions()) -> np.ndarray:
    """Which street pieces a track runs along, per period: bool (pieces, n_bins).

    In: street pieces (mx, my, dx, dy), the track chords, the positions ``seg_idx`` of the
    chords to use, each chord's period ``bins``; ``tree`` an STRtree of
    ``segs.geoms[seg_idx]`` (built when None). A piece is covered in a period when a chord
    of that period passes within ``tolerance_m`` of its midpoint heading along it (within
    ``max_angle_deg``, either direction): one STRtree query for all pieces.
    """
    covered = np.zeros((len(pieces), n_bins), dtype=bool)
    if not len(seg_idx) or not len(pieces):
        return covered
    tree = tree if tree is not None else shapely.STRtree(segs.geoms[seg_idx])
    mids = shapely.points(pieces[["mx", "my"]].to_numpy())
    p, q = tree.query(mids, predicate="dwithin", distance=options.tolerance_m)
    sq = seg_idx[q]
    cosang = np.abs(pieces["dx"].to_numpy()[p] * segs.hx[sq] + pieces["dy"].to_numpy()[p] * segs.hy[sq])
    along = cosang >= np.cos(np.radians(options.max_angle_deg))
    covered[p[along], bins[sq[along]]] = True
    return covered


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
    cleaning: dict
    options: PatrolOptions
    buildings_passed: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))

    def totals(self) -> dict:
        """Street-office totals over the whole range (each street piece counted once)."""
        seg = self.segments
        street_m = float(seg["length_m"].sum())
        patrolled_m = float(seg.loc[seg["patrolled"], "length_m"].sum())
        return {"street_m": round(street_m, 1), "patrolled_m": round(patrolled_m, 1),
                "street_pct": round(100 * patrolled_m / street_m, 1) if street_m else None,
                "patrols": int(self.pieces["track"].nunique()) if len(self.pieces) else 0,
                # The same 15 m chords as the per-patroller and per-grid km.
                "patrol_km": round(float(self.patrollers["km"].sum()), 2)
                if len(self.patrollers) else 0.0}


def _pct(part, whole):
    part = np.asarray(part, dtype=float)
    whole = np.asarray(whole, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, np.round(100 * part / np.where(whole > 0, whole, 1), 1), np.nan)


def coverage(network: StreetNetwork, clean: pd.DataFrame, periods: list[Period], *,
             buildings: gpd.GeoDataFrame | None = None,
             sites: gpd.GeoDataFrame | None = None,
             shift: str = "all",
             longest: int = 5,
             options: PatrolOptions = PatrolOptions()) -> CoverageReport:
    """Patrol coverage per grid and period.

    In: the :func:`street_network`, cleaned fixes (:func:`clean_fixes`), the periods
    (half-open, ascending), optional buildings (grid_code, households, geometry) and
    key sites (code, grid_code, geometry), all in the network's metric CRS. ``shift``
    'day' or 'night' counts only fixes of that shift. Out: :class:`CoverageReport`.
    """
    if shift not in ("all", "day", "night"):
        raise InvalidInput(f"shift must be all, day or night, got {shift!r}")
    crs = network.crs
    grids = network.grids
    n_per = len(periods)
    segs = track_segments(clean, options=options)
    bins = _bin_of(segs.t_mid, periods)
    use = bins >= 0
    if shift != "all":
        use &= shift_of(segs.t_mid, day_start_hour=options.day_start_hour,
                        night_start_hour=options.night_start_hour) == shift
    seg_idx = np.flatnonzero(use)
    tree = shapely.STRtree(segs.geoms[seg_idx]) if len(seg_idx) else None

    pieces = network.pieces
    covered = match_pieces(pieces, segs, seg_idx, bins, max(n_per, 1), tree=tree,
                           options=options)
    seg_of_piece = pieces["segment"].to_numpy()
    plen = pieces["length_m"].to_numpy()
    n_seg = len(network.segments)
    seg_len = np.bincount(seg_of_piece, weights=plen, minlength=n_seg)
    share = np.zeros((n_seg, max(n_per, 1)))
    for k in range(n_per):
        share[:, k] = np.bincount(seg_of_piece, weights=plen * covered[:, k], minlength=n_seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(seg_len[:, None] > 0, share / np.where(seg_len > 0, seg_len, 1)[:, None], 0)
    patrolled = share >= options.min_share  # (segment, period)
    any_cov = covered.any(axis=1)
    share_all = np.bincount(seg_of_piece, weights=plen * any_cov, minlength=n_seg) / np.where(seg_len > 0, seg_len, 1)

    pg_piece = network.piece_grid["piece"].to_numpy()
    pg_grid = network.piece_grid["grid"].to_numpy()
    n_grid = len(grids)
    street_m = np.bincount(pg_grid, weights=plen[pg_piece], minlength=n_grid)
    patrolled_m = np.zeros((n_grid, max(n_per, 1)))
    for k in range(n_per):
        w = plen[pg_piece] * patrolled[seg_of_piece[pg_piece], k]
        patrolled_m[:, k] = np.bincount(pg_grid, weights=w, minlength=n_grid)

    grid_pos = pd.Series(np.arange(n_grid), index=grids["code"].to_numpy())

    # Buildings passed within pass_m.
    b_total = np.zeros(n_grid)
    hh_total = np.zeros(n_grid)
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
            bi, q = tree.query(np.asarray(buildings.geometry.values, dtype=object),
                               predicate="dwithin", distance=options.pass_m)
            passed = np.zeros((len(buildings), max(n_per, 1)), dtype=bool)
            passed[bi, bins[seg_idx[q]]] = True
            passed_any[:] = passed.any(axis=1)
            for k in range(n_per):
                sel = has & passed[:, k]
                b_passed[:, k] = np.bincount(bgi[sel], minlength=n_grid)
                hh_passed[:, k] = np.bincount(bgi[sel], weights=hh[sel], minlength=n_grid)

    # Key sites visited: near (visit_m) for visit_min_s in one continuous stretch.
    site_rows = _site_visits(sites, clean, periods, shift, options)
    s_total = np.zeros(n_grid)
    s_visited = np.zeros((n_grid, max(n_per, 1)))
    if sites is not None and len(sites):
        sg = grid_pos.reindex(sites["grid_code"].to_numpy()).to_numpy()
        has = ~np.isnan(sg)
        sgi = np.where(has, sg, 0).astype(int)
        s_total = np.bincount(sgi[has], minlength=n_grid).astype(float)
        for k in range(n_per):
            sel = has & site_rows["visited_by_period"][:, k]
            s_visited[:, k] = np.bincount(sgi[sel], minlength=n_grid)

    # Patrol effort inside each grid: track segments whose midpoint lies in the grid.
    g_km = np.zeros((n_grid, max(n_per, 1)))
    g_hours = np.zeros((n_grid, max(n_per, 1)))
    g_patrols = np.zeros((n_grid, max(n_per, 1)), dtype=int)
    if len(seg_idx) and n_grid:
        mid = shapely.points(segs.mx[seg_idx], segs.my[seg_idx])
        qi, gi = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object)).query(
            mid, predicate="intersects")
        si = seg_idx[qi]
        for k in range(n_per):
            sel = bins[si] == k
            g_km[:, k] = np.bincount(gi[sel], weights=segs.length_m[si[sel]], minlength=n_grid) / 1000
            g_hours[:, k] = np.bincount(gi[sel], weights=segs.dt_s[si[sel]], minlength=n_grid) / 3600
            pairs = pd.DataFrame({"g": gi[sel], "t": segs.track[si[sel]]}).drop_duplicates()
            g_patrols[:, k] = np.bincount(pairs["g"].to_numpy(dtype=int), minlength=n_grid)

    rows = []
    for k, per in enumerate(periods):
        rows.append(pd.DataFrame({
            "grid_code": grids["code"].to_numpy(),
            "grid_name": grids["name"].to_numpy() if "name" in grids else grids["code"].to_numpy(),
            "period": per.label, "period_start": per.start, "shift": shift,
            "street_m": np.round(street_m, 1), "patrolled_m": np.round(patrolled_m[:, k], 1),
            "street_pct": _pct(patrolled_m[:, k], street_m),
            "buildings": b_total.astype(int), "buildings_passed": b_passed[:, k].astype(int),
            "buildings_pct": _pct(b_passed[:, k], b_total),
            "households": hh_total.astype(int), "households_covered": hh_passed[:, k].astype(int),
            "households_pct": _pct(hh_passed[:, k], hh_total),
            "key_sites": s_total.astype(int), "key_sites_visited": s_visited[:, k].astype(int),
            "key_sites_pct": _pct(s_visited[:, k], s_total),
            "patrols": g_patrols[:, k], "patrol_km": np.round(g_km[:, k], 2),
            "patrol_hours": np.round(g_hours[:, k], 2),
        }))
    grid_table = (pd.concat(rows, ignore_index=True)
                  .sort_values(["grid_code", "period_start"], kind="stable")
                  .reset_index(drop=True)) if rows else pd.DataFrame()

    # Segments over the whole range, with the grids they belong to.
    seg_grids = pd.DataFrame({"segment": seg_of_piece[pg_piece],
                              "grid": grids["code"].to_numpy()[pg_grid]}).drop_duplicates()
    grid_codes = seg_grids.groupby("segment")["grid"].agg(lambda v: ",".join(sorted(v)))
    segments = network.segments.copy()
    segments["share"] = np.round(share_all, 3)
    segments["patrolled"] = share_all >= options.min_share
    segments["grid_codes"] = grid_codes.reindex(np.arange(n_seg)).fillna("").to_numpy()

    unpatrolled = _longest_unpatrolled(network, segments["patrolled"].to_numpy(), longest)
    patrollers = _patroller_totals(segs, seg_idx, bins, periods, options)
    # Only pieces with at least one segment in the selection (period and shift).
    chosen = np.unique(segs.piece[seg_idx])
    pieces_gdf = track_pieces(clean[clean["piece"].isin(chosen)], crs).reset_index(drop=True)
    reasons = clean["reason"].value_counts().to_dict()
    cleaning = {"fixes": int(len(clean)), "kept": int(clean["keep"].sum()),
                "dropped": {k: int(v) for k, v in reasons.items() if k}}
    site_frame = site_rows["frame"]
    return CoverageReport(periods, shift, grid_table, segments, unpatrolled, patrollers,
                          site_frame, pieces_gdf, cleaning, options, passed_any)


def _site_visits(sites, clean, periods, shift, options) -> dict:
    n_per = max(len(periods), 1)
    if sites is None or not len(sites):
        return {"visited_by_period": np.zeros((0, n_per), dtype=bool),
                "frame": pd.DataFrame(columns=["code", "visited", "visits", "last_visit",
                                               "minutes_near"])}
    kept = clean[clean["keep"]].sort_values(["piece", "t"], kind="stable")
    t = kept["t"].to_numpy().astype("datetime64[us]")
    sel = _bin_of(t, periods) >= 0
    if shift != "all":
        sel &= shift_of(t, day_start_hour=options.day_start_hour,
                        night_start_hour=options.night_start_hour) == shift
    order = np.flatnonzero(sel)  # positions of usable fixes in the sorted kept frame
    visited = np.zeros((len(sites), n_per), dtype=bool)
    visits = np.zeros(len(sites), dtype=int)
    minutes = np.zeros(len(sites))
    last = np.full(len(sites), np.datetime64("NaT"), dtype="datetime64[us]")
    if len(order):
        pts = shapely.points(kept[["x", "y"]].to_numpy()[order])
        tree = shapely.STRtree(pts)
        si, fi = tree.query(np.asarray(sites.geometry.values, dtype=object),
                            predicate="dwithin", distance=options.visit_m)
        if len(si):
            pos = order[fi]  # position in the kept frame: consecutive = consecutive fixes
            piece = kept["piece"].to_numpy()[pos]
            srt = np.lexsort((pos, si))
            si, pos, piece = si[srt], pos[srt], piece[srt]
            new = np.r_[True, (si[1:] != si[:-1]) | (piece[1:] != piece[:-1]) | (pos[1:] != pos[:-1] + 1)]
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
    frame = pd.DataFrame({
        "code": sites["code"].to_numpy(), "visited": visited.any(axis=1), "visits": visits,
        "last_visit": pd.to_datetime(last), "minutes_near": np.round(minutes, 1)},
        index=sites.index)
    return {"visited_by_period": visited, "frame": frame}


def _longest_unpatrolled(network: StreetNetwork, patrolled: np.ndarray, n: int) -> gpd.GeoDataFrame:
    """Per grid, its unpatrolled streets (pieces grouped by source road) longest first."""
    pieces = network.pieces
    pg = network.piece_grid
    seg = pieces["segment"].to_numpy()[pg["piece"].to_numpy()]
    sel = ~patrolled[seg]
    frame = pd.DataFrame({"grid": pg["grid"].to_numpy()[sel], "segment": seg[sel],
                          "length_m": pieces["length_m"].to_numpy()[pg["piece"].to_numpy()[sel]]})
    frame["road"] = network.segments["road"].to_numpy()[frame["segment"].to_numpy()]
    agg = frame.groupby(["grid", "road"], sort=False).agg(
        length_m=("length_m", "sum"), segments=("segment", lambda s: sorted(set(s))))
    agg = agg.reset_index().sort_values(["grid", "length_m"], ascending=[True, False])
    agg = agg.groupby("grid", sort=True).head(n)
    geoms = [shapely.line_merge(shapely.union_all(
        np.asarray(network.segments.geometry.values, dtype=object)[s])) for s in agg["segments"]]
    segs = network.segments
    first = [s[0] for s in agg["segments"]]
    out = gpd.GeoDataFrame({
        "grid_code": network.grids["code"].to_numpy()[agg["grid"].to_numpy(dtype=int)],
        "name": segs["name"].to_numpy()[first] if len(first) else [],
        "highway": segs["highway"].to_numpy()[first] if len(first) else [],
        "length_m": np.round(agg["length_m"].to_numpy(float), 1),
    }, geometry=gpd.GeoSeries(geoms, crs=network.crs), crs=network.crs)
    return out.reset_index(drop=True)


def _patroller_totals(segs: TrackSegments, seg_idx, bins, periods, options) -> pd.DataFrame:
    columns = ["patroller", "period", "patrols", "km", "hours", "day_hours", "night_hours"]
    if not len(seg_idx):
        return pd.DataFrame(columns=columns)
    shifts = shift_of(segs.t_mid[seg_idx], day_start_hour=options.day_start_hour,
                      night_start_hour=options.night_start_hour)
    f = pd.DataFrame({
        "patroller": segs.patroller[seg_idx],
        "period": np.array([p.label for p in periods], dtype=object)[bins[seg_idx]],
        "track": segs.track[seg_idx], "m": segs.length_m[seg_idx], "s": segs.dt_s[seg_idx],
        "day_s": np.where(shifts == "day", segs.dt_s[seg_idx], 0.0),
    })
    g = f.groupby(["patroller", "period"], sort=True)
    out = pd.DataFrame({
        "patrols": g["track"].nunique(),
        "km": (g["m"].sum() / 1000).round(2),
        "hours": (g["s"].sum() / 3600).round(2),
        "day_hours": (g["day_s"].sum() / 3600).round(2),
    }).reset_index()
    out["night_hours"] = (out["hours"] - out["day_hours"]).round(2)
    return out[columns]


# --- inspections ------------------------------------------------------------------------
def overdue_sites(sites: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    """Key sites past their inspection interval.

    In: sites with code, name, category, grid_code, inspection_interval_days and
    last_inspected (datetime or NaT when never inspected). Out: index-aligned frame
    with due_at, days_overdue (float; inf when never inspected) and overdue (bool).
    """
    last = pd.to_datetime(sites["last_inspected"])
    interval = pd.to_timedelta(sites["inspection_interval_days"].astype(float), unit="D")
    due = last + interval
    days = (pd.Timestamp(as_of) - due).dt.total_seconds() / 86400
    days = days.where(last.notna(), np.inf)
    out = pd.DataFrame({"due_at": due, "days_overdue": days.round(1), "overdue": days > 0},
                       index=sites.index)
    return out
