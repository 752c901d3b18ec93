"""GPS fixes: one row per fix, cleaned of bad accuracy and jumps, split into pieces."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from gridmap.analysis.patrol.options import DEFAULT_OPTIONS, PatrolOptions, _require_metric
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

# A GPS jump that persists longer than this is a relocation, not a spike: restart there.
_RESET_AFTER_S = 120.0


FIX_COLUMNS = ["track", "patroller", "t", "x", "y", "accuracy_m"]


def fixes_frame(
    *,
    track: Any,
    patroller: Any,
    t: ArrayLike,
    x: Any,
    y: ArrayLike,
    accuracy_m: ArrayLike | None = None,
) -> pd.DataFrame:
    """GPS fixes (one row each) from arrays.

    Raw GPX/CSV records (patroller, time, lon, lat[, accuracy]) come in here after the reader
    projected lon/lat.

    Parameters
    ----------
    track, patroller : array_like or scalar
        Track id and patroller per fix (or one for all).
    t : array_like
        Local times.
    x, y : array_like
        Metric coordinates.
    accuracy_m : array_like, optional
        Reported accuracy in metres.

    Returns
    -------
    pandas.DataFrame
        Columns track, patroller, t, x, y, accuracy_m, sorted by track and time.
    """
    n = len(x)
    frame = pd.DataFrame(
        {
            "track": np.asarray(track, dtype=object) if not np.isscalar(track) else [track] * n,
            "patroller": (
                np.asarray(patroller, dtype=object)
                if not np.isscalar(patroller)
                else [patroller] * n
            ),
            "t": pd.to_datetime(np.asarray(t)),
            "x": np.asarray(x, dtype=float),
            "y": np.asarray(y, dtype=float),
            "accuracy_m": (
                np.full(n, np.nan) if accuracy_m is None else np.asarray(accuracy_m, dtype=float)
            ),
        }
    )
    if frame["t"].isna().any():
        row = int(np.flatnonzero(frame["t"].isna().to_numpy())[0])
        raise fail(
            InvalidInput,
            N_("fix {row} has no time; every fix needs patroller, time, lon, lat"),
            row=row + 1,
        )
    return frame.sort_values(["track", "t"], kind="stable").reset_index(drop=True)


def track_fixes(tracks: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per vertex of stored tracks.

    Parameters
    ----------
    tracks : geopandas.GeoDataFrame
        Metric CRS; code, patroller, started_at, times (list of seconds after started_at, one
        per vertex), geometry (LineString); optional ``accuracy`` (list of metres per vertex).

    Returns
    -------
    pandas.DataFrame
        The :func:`fixes_frame` columns.
    """
    _require_metric(tracks, "patrol tracks")
    if not len(tracks):
        return pd.DataFrame(
            {
                c: pd.Series(dtype=d)
                for c, d in zip(
                    FIX_COLUMNS,
                    [object, object, "datetime64[us]", float, float, float],
                    strict=True,
                )
            }
        )
    geoms = np.asarray(tracks.geometry.values, dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(owner, minlength=len(tracks))
    times = [np.asarray(t if t is not None else [], dtype=float) for t in tracks["times"]]
    lengths = np.array([len(t) for t in times])
    bad = np.flatnonzero(lengths != counts)
    if len(bad):
        code = tracks["code"].iloc[bad[0]]
        raise fail(
            InvalidInput,
            N_(
                "patrol track {code}: {times} times for {vertices} vertices; every vertex "
                "needs one time"
            ),
            code=code,
            times=lengths[bad[0]],
            vertices=counts[bad[0]],
        )
    seconds = np.concatenate(times) if times else np.zeros(0)
    started = pd.to_datetime(tracks["started_at"]).to_numpy().astype("datetime64[us]")
    t = started[owner] + (seconds * 1e6).astype("timedelta64[us]")
    accuracy = None
    if "accuracy" in tracks.columns:
        accuracy = np.concatenate(
            [
                np.asarray(a, dtype=float) if a is not None and len(a) == c else np.full(c, np.nan)
                for a, c in zip(tracks["accuracy"], counts, strict=True)
            ]
        )
    return fixes_frame(
        track=tracks["code"].to_numpy(dtype=object)[owner],
        patroller=tracks["patroller"].to_numpy(dtype=object)[owner],
        t=t,
        x=coords[:, 0],
        y=coords[:, 1],
        accuracy_m=accuracy,
    )


def _runs(keys: np.ndarray) -> np.ndarray:
    """Start index of every run of equal consecutive keys."""
    if not len(keys):
        return np.zeros(0, dtype=int)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])


def _speed_scan(
    x: np.ndarray, y: np.ndarray, s: np.ndarray, max_mps: float, gap_s: float, slack_m: float
) -> tuple[np.ndarray, np.ndarray]:
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
        if (
            d01 > max_mps * (s[1] - s[0]) + slack_m
            and d12 <= max_mps * (s[2] - s[1]) + slack_m
            and s[1] - s[0] <= gap_s
        ):
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


def _rows_of(ok: np.ndarray, track: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    """The positions in ``ok`` (ascending) of each wanted track's fixes: one grouping of
    all tracks rather than a comparison of every fix per wanted track."""
    if not len(wanted):
        return []
    codes, uniques = pd.factorize(track[ok], use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    at = {u: k for k, u in enumerate(uniques)}
    return [ok[order[bounds[at[tr]] : bounds[at[tr] + 1]]] for tr in wanted]


def clean_fixes(fixes: pd.DataFrame, *, options: PatrolOptions = DEFAULT_OPTIONS) -> pd.DataFrame:
    """Drop bad fixes and split tracks into pieces.

    A piece ends at a gap longer than ``max_gap_min``.

    Parameters
    ----------
    fixes : pandas.DataFrame
        :func:`fixes_frame` columns (sorted by track, time).
    options : PatrolOptions
        The thresholds (accuracy, speed, gap).

    Returns
    -------
    pandas.DataFrame
        The same rows and index plus ``keep`` (bool), ``reason`` ('' kept; 'accuracy',
        'speed', 'duplicate' or 'isolated' dropped) and ``piece`` (int id of the continuous
        piece the fix belongs to, -1 when dropped).
    """
    out = fixes.copy()
    n = len(out)
    reason = np.full(n, "", dtype=object)
    acc = out["accuracy_m"].to_numpy(dtype=float)
    reason[np.isfinite(acc) & (acc > options.max_accuracy_m)] = "accuracy"
    track = out["track"].to_numpy(dtype=object)
    s = out["t"].to_numpy().astype("datetime64[us]").astype(np.int64) / 1e6
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
        for rows in _rows_of(ok, track, pd.unique(track[ok[1:][too_fast]])):
            keep, rs = _speed_scan(x[rows], y[rows], s[rows], max_mps, gap_s, options.speed_slack_m)
            reason[rows[~keep]] = "speed"
            restart[rows[rs]] = True

    good = np.flatnonzero(reason == "")
    piece = np.full(n, -1, dtype=np.int64)
    if len(good):
        new = (
            np.r_[
                True, (track[good[1:]] != track[good[:-1]]) | (s[good[1:]] - s[good[:-1]] > gap_s)
            ]
            | restart[good]
        )
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


def track_pieces(clean: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The cleaned pieces as lines.

    Parameters
    ----------
    clean : pandas.DataFrame
        :func:`clean_fixes` output.
    crs : pyproj.CRS or str
        The metric CRS of the fixes.

    Returns
    -------
    geopandas.GeoDataFrame
        piece, track, patroller, started_at, ended_at, length_m, duration_s, geometry (in
        ``crs``).
    """
    kept = clean[clean["keep"]]
    if not len(kept):
        return gpd.GeoDataFrame(
            {
                "piece": [],
                "track": [],
                "patroller": [],
                "started_at": [],
                "ended_at": [],
                "length_m": [],
                "duration_s": [],
            },
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    kept = kept.sort_values(["piece", "t"], kind="stable")
    _, dense = np.unique(kept["piece"].to_numpy(), return_inverse=True)
    lines = shapely.linestrings(kept[["x", "y"]].to_numpy(), indices=dense)
    g = kept.groupby("piece", sort=True)
    frame = pd.DataFrame(
        {
            "piece": g.size().index.to_numpy(),
            "track": g["track"].first().to_numpy(),
            "patroller": g["patroller"].first().to_numpy(),
            "started_at": g["t"].min().to_numpy(),
            "ended_at": g["t"].max().to_numpy(),
        }
    )
    frame["duration_s"] = (frame["ended_at"] - frame["started_at"]).dt.total_seconds()
    frame["length_m"] = shapely.length(lines)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lines, crs=crs), crs=crs)
