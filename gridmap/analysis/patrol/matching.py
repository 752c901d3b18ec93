"""Track chords with a smoothed heading, and which street pieces they run along."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gridmap.analysis.patrol.fixes import _runs
from gridmap.analysis.patrol.options import DEFAULT_OPTIONS, PatrolOptions


@dataclass
class TrackSegments:
    """Consecutive kept fixes of one piece, with a smoothed heading."""

    geoms: np.ndarray  # LineStrings
    length_m: np.ndarray
    dt_s: np.ndarray
    t_mid: np.ndarray  # datetime64[us]
    hx: np.ndarray  # unit heading (0, 0 when standing still)
    hy: np.ndarray
    piece: np.ndarray
    track: np.ndarray
    patroller: np.ndarray
    mx: np.ndarray = field(default_factory=lambda: np.zeros(0))  # chord midpoints
    my: np.ndarray = field(default_factory=lambda: np.zeros(0))


def track_segments(
    clean: pd.DataFrame, *, options: PatrolOptions = DEFAULT_OPTIONS
) -> TrackSegments:
    """Chords of at least ``step_m`` between kept fixes of the same piece, each with the heading
    of the chord over ``heading_window`` chords on either side.

    GPS noise makes single 5-second steps point anywhere; ~15 m chords keep the direction.

    Parameters
    ----------
    clean : pandas.DataFrame
        :func:`clean_fixes` output.
    options : PatrolOptions
        ``step_m`` and ``heading_window``.

    Returns
    -------
    TrackSegments
        The chords.
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
        return TrackSegments(
            np.zeros(0, dtype=object),
            z,
            z,
            np.zeros(0, "datetime64[us]"),
            z,
            z,
            np.zeros(0, int),
            np.zeros(0, object),
            np.zeros(0, object),
        )
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
        geoms=geoms,
        length_m=np.hypot(x[i + 1] - x[i], y[i + 1] - y[i]),
        dt_s=dt,
        t_mid=t[i] + ((t[i + 1] - t[i]) // 2),
        hx=hx,
        hy=hy,
        piece=piece[i],
        track=kept["track"].to_numpy(object)[i],
        patroller=kept["patroller"].to_numpy(object)[i],
        mx=(x[i] + x[i + 1]) / 2,
        my=(y[i] + y[i + 1]) / 2,
    )


def match_pieces(
    pieces: pd.DataFrame,
    segs: TrackSegments,
    seg_idx: np.ndarray,
    bins: np.ndarray,
    n_bins: int,
    *,
    tree: shapely.STRtree | None = None,
    options: PatrolOptions = DEFAULT_OPTIONS,
) -> np.ndarray:
    """Which street pieces a track runs along, per period.

    A piece is covered in a period when a chord of that period passes within ``tolerance_m``
    of its midpoint heading along it (within ``max_angle_deg``, either direction): one STRtree
    query for all pieces.

    Parameters
    ----------
    pieces : pandas.DataFrame
        Street pieces (mx, my, dx, dy).
    segs : TrackSegments
        The track chords.
    seg_idx : numpy.ndarray
        Positions of the chords to use.
    bins : numpy.ndarray
        Each chord's period position.
    n_bins : int
        Number of periods.
    tree : shapely.STRtree, optional
        STRtree of ``segs.geoms[seg_idx]`` (built when None).
    options : PatrolOptions
        ``tolerance_m`` and ``max_angle_deg``.

    Returns
    -------
    numpy.ndarray
        Boolean (pieces, n_bins).
    """
    covered = np.zeros((len(pieces), n_bins), dtype=bool)
    if not len(seg_idx) or not len(pieces):
        return covered
    tree = tree if tree is not None else shapely.STRtree(segs.geoms[seg_idx])
    mids = shapely.points(pieces[["mx", "my"]].to_numpy())
    p, q = tree.query(mids, predicate="dwithin", distance=options.tolerance_m)
    sq = seg_idx[q]
    cosang = np.abs(
        pieces["dx"].to_numpy()[p] * segs.hx[sq] + pieces["dy"].to_numpy()[p] * segs.hy[sq]
    )
    along = cosang >= np.cos(np.radians(options.max_angle_deg))
    covered[p[along], bins[sq[along]]] = True
    return covered


def points_within(
    geoms: np.ndarray, xy: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Which points lie within ``distance_m`` of which geometries.

    The pairs an STRtree of the points queried with ``dwithin`` gives, without making a
    geometry of every point: many fixes, few sites.

    Parameters
    ----------
    geoms : numpy.ndarray
        The geometries (object array).
    xy : numpy.ndarray
        The points' coordinates (n, 2), in metres.
    distance_m : float
        The distance, in metres.

    Returns
    -------
    tuple of numpy.ndarray
        Positions in ``geoms`` and in ``xy`` of each pair, by geometry.
    """
    by_x = np.argsort(xy[:, 0], kind="stable")
    xs = xy[by_x, 0]
    pad = distance_m + 1.0  # a wider box than needed: the exact test follows
    box = shapely.bounds(geoms)
    lo = np.searchsorted(xs, box[:, 0] - pad, "left")
    hi = np.searchsorted(xs, box[:, 2] + pad, "right")
    gi, pi = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for j in range(len(geoms)):
        cand = by_x[lo[j] : hi[j]]
        cand = cand[(xy[cand, 1] >= box[j, 1] - pad) & (xy[cand, 1] <= box[j, 3] + pad)]
        near = cand[shapely.dwithin(geoms[j], shapely.points(xy[cand]), distance_m)]
        gi.append(np.full(len(near), j, dtype=np.int64))
        pi.append(near.astype(np.int64))
    return np.concatenate(gi), np.concatenate(pi)


def passed_by_period(
    geoms: np.ndarray, chords: np.ndarray, bins: np.ndarray, n_bins: int, distance_m: float
) -> np.ndarray:
    """Which geometries a chord of each period passes within ``distance_m``.

    A nearest-chord search per period stops at the first chord in reach, where a
    ``dwithin`` query lists every chord near every geometry.

    Parameters
    ----------
    geoms : numpy.ndarray
        The geometries (object array), e.g. buildings.
    chords : numpy.ndarray
        The track chords (object array).
    bins : numpy.ndarray
        Each chord's period position.
    n_bins : int
        Number of periods.
    distance_m : float
        The distance, in metres.

    Returns
    -------
    numpy.ndarray
        Boolean (geometries, n_bins).
    """
    passed = np.zeros((len(geoms), n_bins), dtype=bool)
    for k in range(n_bins):
        mine = chords[bins == k]
        if len(mine):
            gi, _ = shapely.STRtree(mine).query_nearest(geoms, max_distance=distance_m)
            passed[gi, k] = True
    return passed
