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
    """Circles of ``radius_m`` around points ((n, 2) metric coordinates)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    rings: np.ndarray = shapely.buffer(shapely.points(xy), radius_m, quad_segs=quad_segs)
    return rings


def paper_only(straight_m: ArrayLike, walk_m: ArrayLike, distance_m: float) -> np.ndarray:
    """Inside the service radius but not within ``distance_m`` on foot (NaN walk: beyond
    the search or off the network)."""
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


def paper_only_reasons(
    *,
    origin_xy: np.ndarray,
    facility_xy: np.ndarray,
    straight_m: ArrayLike,
    walk_m: ArrayLike,
    distance_m: float,
    off_network: ArrayLike,
    origin_compound: ArrayLike | None = None,
    facility_compound: ArrayLike | None = None,
    gate_xy: np.ndarray | None = None,
    gate_compound: ArrayLike | None = None,
    barriers: np.ndarray | None = None,
    barrier_names: Any = None,
    detour_limit: float = DEFAULT_DETOUR_LIMIT,
) -> pd.DataFrame:
    """Why each building covered on paper only is not reached on foot.

    All arrays are aligned with the buildings (the ones not on paper only get no reason):
    origin_xy, facility_xy  the building's point and the nearest facility by straight line
    straight_m, walk_m      straight-line and network distance (NaN beyond the search)
    off_network             the building did not join the walking network
    origin_compound, facility_compound
                            index of the gated compound holding each (-1: none)
    gate_xy, gate_compound  the gates (metric points) and their compound index
    barriers, barrier_names lines people cannot cross (metric) and their names
    Returns ``reason`` (one of REASONS or None), ``detour`` (walk / straight, inf when
    there is no walk within the search), ``via_gate_m`` (the shortest straight way through
    the gates) and ``barrier`` (the name of the barrier crossed).
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
    if gate_xy is not None and len(gate_xy):
        gate_xy = np.asarray(gate_xy, float).reshape(-1, 2)
        gate_comp = np.asarray(gate_compound, dtype=np.int64)
        oc = (
            np.full(len(todo), -1)
            if origin_compound is None
            else np.asarray(origin_compound, dtype=np.int64)[todo]
        )
        fc = (
            np.full(len(todo), -1)
            if facility_compound is None
            else np.asarray(facility_compound, dtype=np.int64)[todo]
        )
        own = np.where(oc != fc, oc, -1)  # leaving one's own compound through its gates
        theirs = np.where(fc != oc, fc, -1)  # entering the facility's compound
        # Both ways round are lower bounds of the walk: the larger one holds.
        best = np.maximum(
            _via_gates(o_xy, f_xy, own, gate_xy, gate_comp),
            _via_gates(f_xy, o_xy, theirs, gate_xy, gate_comp),
        )
        via[todo] = np.where(np.isfinite(best), best, np.nan)
        assign(best > distance_m, "gate")
    if barriers is not None and len(barriers) and left.any():
        lines = np.asarray(barriers, dtype=object)
        names = (
            np.asarray(barrier_names, dtype=object)
            if barrier_names is not None
            else np.full(len(lines), None, dtype=object)
        )
        rows = np.flatnonzero(left)
        seg = shapely.linestrings(np.stack([o_xy[rows], f_xy[rows]], axis=1))
        si, bi = shapely.STRtree(lines).query(seg, predicate="intersects")
        crossed = np.zeros(len(todo), bool)
        crossed[rows[si]] = True
        first = np.r_[True, si[1:] != si[:-1]] if len(si) else np.zeros(0, bool)
        barrier[todo[rows[si[first]]]] = names[bi[first]]
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


def compare_by_area(
    straight_m: ArrayLike,
    walk_m: ArrayLike,
    distance_m: float,
    weights: pd.DataFrame,
    areas: dict[str, pd.Series],
) -> pd.DataFrame:
    """Per area level and area: buildings where people live, residents and households
    inside the radius (``*_radius``), within ``distance_m`` on foot (``*_walk``) and on
    paper only (``*_paper_only`` = radius minus walk: a walk is never shorter than the
    straight line).

    weights  aligned with the buildings: 'residents' and 'households'
    areas    level -> Series of area codes aligned with the buildings ('' for none)
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
