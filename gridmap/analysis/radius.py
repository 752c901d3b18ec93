"""Service radius (服务半径) beside walking reach: circles, "covered on paper only", and why.

Local plans draw a circle of the rule's radius (GB 50180-2018 appendix C: kindergarten
300 m, primary school 500 m, junior middle school 1000 m) around every facility and call
what falls inside "covered". ``gridmap.analysis.reach.radius_by_category`` gives that
straight-line distance per building, so the same coverage and rules apply to it; this module
draws the circles and compares the two answers:

``circles(xy, radius_m)``  true circles (metric CRS) around facilities
``paper_only(straight_m, walk_m, distance_m)``  inside the circle, beyond the walk
``paper_only_reasons(...)``  why, where it can be named: the building is off the walking
    network; its gated compound's gates (or the facility's) lie on the far side; the straight
    line crosses a barrier (a river, railway or expressway people may not cross) with no
    crossing within reach; the walk is more than ``detour_limit`` times the straight line;
    else just a longer route
``compare_by_area(...)``  buildings, residents and households inside the radius, within
    the walk and on paper only, per area

Pure functions: arrays in a metric CRS in, arrays and frames out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

#: Line classes that cut a walk when they are not walkable (OSM highway/railway/waterway
#: values as roads are imported): a vehicle-only lane inside a compound is no barrier.
BARRIER_CLASSES = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "rail",
        "railway",
        "light_rail",
        "river",
        "canal",
        "waterway",
    }
)
#: Reasons a building inside the radius is beyond the walk, in the order they are tried.
REASONS = ("off_network", "gate", "barrier", "detour", "longer_route")
DEFAULT_DETOUR_LIMIT = 2.0
CIRCLE_QUAD_SEGS = 64  # 256 segments: within 0.01% of the radius of a true circle


def circles(xy: np.ndarray, radius_m: float, *, quad_segs: int = CIRCLE_QUAD_SEGS) -> np.ndarray:
    """Circles of a service radius around facilities.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) metric coordinates.
    radius_m : float
        Radius in metres.
    quad_segs : int
        Segments per quarter circle.

    Returns
    -------
    numpy.ndarray
        Shapely polygons, one per point.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    rings: np.ndarray = shapely.buffer(shapely.points(xy), radius_m, quad_segs=quad_segs)
    return rings


def paper_only(straight_m: ArrayLike, walk_m: ArrayLike, distance_m: float) -> np.ndarray:
    """Where a building is inside the service radius but not within it on foot.

    Parameters
    ----------
    straight_m, walk_m : array_like
        Straight-line and network distance in metres (NaN walk: beyond the search or off the
        network).
    distance_m : float
        The service radius in metres.

    Returns
    -------
    numpy.ndarray
        True where covered on paper only.
    """
    straight = np.asarray(straight_m, dtype=float)
    walk = np.asarray(walk_m, dtype=float)
    on_paper: np.ndarray = (straight <= distance_m) & ~(walk <= distance_m)
    return on_paper


def _via_gates(
    origin_xy: np.ndarray,
    target_xy: np.ndarray,
    comp: np.ndarray,
    gate_xy: np.ndarray,
    gate_comp: np.ndarray,
) -> np.ndarray:
    """Shortest straight way origin -> a gate of ``comp`` -> target; the straight line
    where ``comp`` is -1 (no compound in the way)."""
    best: np.ndarray = np.hypot(*(origin_xy - target_xy).T)
    for c in np.unique(comp[comp >= 0]):
        rows = np.flatnonzero(comp == c)
        g = gate_xy[gate_comp == c]
        if len(g) == 0:  # a compound without gates is open: no way round needed
            continue
        legs = np.hypot(*(origin_xy[rows, None, :] - g[None, :, :]).transpose(2, 0, 1)) + np.hypot(
            *(target_xy[rows, None, :] - g[None, :, :]).transpose(2, 0, 1)
        )
        best[rows] = legs.min(axis=1)
    return best


@dataclass(frozen=True)
class Obstacles:
    """What may stand between a building and its facility, aligned as the buildings are:
    ``origin_compound``/``facility_compound`` index the gated compound holding each (-1:
    none); ``gate_xy`` and ``gate_compound`` are the gates (metric points) and their compound
    index; ``barriers`` and ``barrier_names`` are lines people cannot cross (metric) and
    their names. None: not known (that reason is not tried)."""

    origin_compound: ArrayLike | None = None
    facility_compound: ArrayLike | None = None
    gate_xy: np.ndarray | None = None
    gate_compound: ArrayLike | None = None
    barriers: np.ndarray | None = None
    barrier_names: Any = None


def paper_only_reasons(
    *,
    origin_xy: np.ndarray,
    facility_xy: np.ndarray,
    straight_m: ArrayLike,
    walk_m: ArrayLike,
    distance_m: float,
    off_network: ArrayLike,
    obstacles: Obstacles = Obstacles(),
    detour_limit: float = DEFAULT_DETOUR_LIMIT,
) -> pd.DataFrame:
    """Why each building covered on paper only is not reached on foot.

    All arrays are aligned with the buildings (the ones not on paper only get no reason).

    Parameters
    ----------
    origin_xy, facility_xy : numpy.ndarray
        The building's point and the nearest facility by straight line, (n, 2) metric
        coordinates.
    straight_m, walk_m : array_like
        Straight-line and network distance in metres (NaN beyond the search).
    distance_m : float
        The service radius in metres.
    off_network : array_like
        True where the building did not join the walking network.
    obstacles : Obstacles
        Compounds, gates and barriers; those not given are not tried as reasons.
    detour_limit : float
        Walk / straight-line ratio above which the reason is "detour".

    Returns
    -------
    pandas.DataFrame
        ``reason`` (one of REASONS or None), ``detour`` (walk / straight, inf when there is
        no walk within the search), ``via_gate_m`` (the shortest straight way through the
        gates, metres) and ``barrier`` (the name of the barrier crossed).
    """
    straight = np.asarray(straight_m, dtype=float)
    walk = np.asarray(walk_m, dtype=float)
    n = len(straight)
    todo = np.flatnonzero(paper_only(straight, walk, distance_m))
    reason = np.full(n, None, dtype=object)
    barrier = np.full(n, None, dtype=object)
    via = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        detour = np.where(np.isfinite(walk), walk / np.maximum(straight, 1e-9), np.inf)
    detour[~paper_only(straight, walk, distance_m)] = np.nan
    left = np.ones(len(todo), bool)

    def assign(mask: np.ndarray, code: str) -> None:
        hit = left & mask
        reason[todo[hit]] = code
        left[hit] = False

    assign(np.asarray(off_network, bool)[todo], "off_network")
    o_xy, f_xy = origin_xy[todo], facility_xy[todo]
    if obstacles.gate_xy is not None and len(obstacles.gate_xy):
        best = _through_gates(o_xy, f_xy, todo, obstacles)
        via[todo] = np.where(np.isfinite(best), best, np.nan)
        assign(best > distance_m, "gate")
    if obstacles.barriers is not None and len(obstacles.barriers) and left.any():
        crossed, named = _barriers_crossed(o_xy, f_xy, np.flatnonzero(left), obstacles)
        barrier[todo] = named
        assign(crossed, "barrier")
    assign(detour[todo] > detour_limit, "detour")
    assign(np.ones(len(todo), bool), "longer_route")
    return pd.DataFrame(
        {
            "reason": pd.Series(reason, dtype=object),
            "detour": detour,
            "via_gate_m": via,
            "barrier": pd.Series(barrier, dtype=object),
        }
    )


def _through_gates(
    o_xy: np.ndarray, f_xy: np.ndarray, todo: np.ndarray, obstacles: Obstacles
) -> np.ndarray:
    """The shortest straight way from each building (rows ``todo``) to its facility through
    the gates of the compounds it has to leave or enter (metres)."""
    gate_xy = np.asarray(obstacles.gate_xy, float).reshape(-1, 2)
    gate_comp = np.asarray(obstacles.gate_compound, dtype=np.int64)
    oc = (
        np.full(len(todo), -1)
        if obstacles.origin_compound is None
        else np.asarray(obstacles.origin_compound, dtype=np.int64)[todo]
    )
    fc = (
        np.full(len(todo), -1)
        if obstacles.facility_compound is None
        else np.asarray(obstacles.facility_compound, dtype=np.int64)[todo]
    )
    own = np.where(oc != fc, oc, -1)  # leaving one's own compound through its gates
    theirs = np.where(fc != oc, fc, -1)  # entering the facility's compound
    # Both ways round are lower bounds of the walk: the larger one holds.
    best: np.ndarray = np.maximum(
        _via_gates(o_xy, f_xy, own, gate_xy, gate_comp),
        _via_gates(f_xy, o_xy, theirs, gate_xy, gate_comp),
    )
    return best


def _barriers_crossed(
    o_xy: np.ndarray, f_xy: np.ndarray, rows: np.ndarray, obstacles: Obstacles
) -> tuple[np.ndarray, np.ndarray]:
    """Which straight lines building -> facility (of ``rows``) cross a barrier, and the name
    of the first one crossed (None elsewhere)."""
    lines = np.asarray(obstacles.barriers, dtype=object)
    names = (
        np.asarray(obstacles.barrier_names, dtype=object)
        if obstacles.barrier_names is not None
        else np.full(len(lines), None, dtype=object)
    )
    seg = shapely.linestrings(np.stack([o_xy[rows], f_xy[rows]], axis=1))
    si, bi = shapely.STRtree(lines).query(seg, predicate="intersects")
    crossed = np.zeros(len(o_xy), bool)
    crossed[rows[si]] = True
    first = np.r_[True, si[1:] != si[:-1]] if len(si) else np.zeros(0, bool)
    named = np.full(len(o_xy), None, dtype=object)
    named[rows[si[first]]] = names[bi[first]]
    return crossed, named


def compare_by_area(
    straight_m: ArrayLike,
    walk_m: ArrayLike,
    distance_m: float,
    weights: pd.DataFrame,
    areas: dict[str, pd.Series],
) -> pd.DataFrame:
    """Per area level and area: buildings where people live, residents and households inside the
    radius, within it on foot and on paper only.

    Columns ``*_radius``, ``*_walk`` and ``*_paper_only`` (= radius minus walk: a walk is never
    shorter than the straight line).

    Parameters
    ----------
    straight_m, walk_m : array_like
        Straight-line and network distance in metres, aligned with the buildings.
    distance_m : float
        The service radius in metres.
    weights : pandas.DataFrame
        'residents' and 'households', aligned with the buildings.
    areas : dict of str to pandas.Series
        Level -> area codes aligned with the buildings ('' for none).

    Returns
    -------
    pandas.DataFrame
        One row per level and area.
    """
    straight = np.asarray(straight_m, dtype=float)
    walk = np.asarray(walk_m, dtype=float)
    masks = {
        "radius": straight <= distance_m,
        "walk": walk <= distance_m,
        "paper_only": paper_only(straight, walk, distance_m),
    }
    residents = weights["residents"].fillna(0).to_numpy(float)
    values = {
        "buildings": (residents > 0).astype(float),
        "residents": residents,
        "households": weights["households"].fillna(0).to_numpy(float),
    }
    frames = []
    for level, codes in areas.items():
        code = pd.Series(codes).fillna("").astype(str).to_numpy()
        keys, inv = np.unique(code, return_inverse=True)
        cols: dict[str, object] = {"level": level, "area": keys}
        for what, v in values.items():
            cols[what] = np.bincount(inv, weights=v, minlength=len(keys)).round().astype(int)
            for name, mask in masks.items():
                cols[f"{what}_{name}"] = (
                    np.bincount(inv, weights=v * mask, minlength=len(keys)).round().astype(int)
                )
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
