"""Buildings of the synthetic street (rows inside compounds, service buildings) and
grids grouped from blocks by households."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Polygon

from gridmap.demo.synth_common import (
    BLOCK_MAX_HOUSEHOLDS,
    LANE_CLEARANCE_M,
    SETBACK_M,
    WALL_CLEARANCE_M,
    largest,
    pick,
    sweep_order,
)

# =====================================================================================
# 3. buildings
# =====================================================================================
# Row layouts: depth/length/gaps in metres, floors, metres per stair unit, doors per landing.
_STYLES: dict[str, dict[str, Any]] = {
    "old": {
        "depth": (10, 12),
        "length": (24, 48),
        "row_gap": (16, 22),
        "gap": (6, 12),
        "floors": (5, 6, 6, 6),
        "unit_m": 14,
        "per_floor": (2,),
        "keep": 0.8,
    },
    "low": {
        "depth": (9, 11),
        "length": (14, 26),
        "row_gap": (10, 14),
        "gap": (6, 10),
        "floors": (2, 3, 3, 4),
        "unit_m": 14,
        "per_floor": (2,),
        "keep": 0.8,
    },
    "mid": {
        "depth": (12, 14),
        "length": (30, 50),
        "row_gap": (26, 32),
        "gap": (10, 16),
        "floors": (9, 11, 11, 12),
        "unit_m": 20,
        "per_floor": (2,),
        "keep": 0.75,
    },
    "tower": {
        "depth": (20, 26),
        "length": None,
        "row_gap": (28, 36),
        "gap": (18, 26),
        "floors": (18, 20, 24, 26, 28),
        "unit_m": 99,
        "per_floor": (4,),
        "keep": 0.7,
    },
    "school": {
        "depth": (14, 18),
        "length": (40, 70),
        "row_gap": (20, 30),
        "gap": (12, 20),
        "floors": (3, 4, 5),
        "unit_m": 99,
        "per_floor": (0,),
        "keep": 0.7,
        "max": 6,
    },
    "office": {
        "depth": (15, 22),
        "length": (30, 60),
        "row_gap": (18, 24),
        "gap": (12, 20),
        "floors": (5, 8, 12, 15),
        "unit_m": 99,
        "per_floor": (0,),
        "keep": 0.7,
        "max": 8,
    },
    "commercial": {
        "depth": (20, 35),
        "length": (40, 80),
        "row_gap": (18, 24),
        "gap": (12, 20),
        "floors": (2, 3, 4, 5),
        "unit_m": 99,
        "per_floor": (0,),
        "keep": 0.7,
        "max": 6,
    },
}


_COMPOUND_STYLES = ("old", "low", "mid", "tower", "mixed")


_COMPOUND_STYLE_P = (0.45, 0.25, 0.12, 0.06, 0.12)


_USE_BY_STYLE = {"school": "public", "office": "office", "commercial": "commercial"}


def row_layout(bounds, style: str, rng) -> np.ndarray:
    """Candidate building rectangles in east-west rows (slabs face south), north to south.

    Parameters
    ----------
    bounds : tuple of float
        (minx, miny, maxx, maxy) of the area to fill, local metres.
    style : str
        The building style (sets sizes, floors and spacing).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    numpy.ndarray
        Rows of (x0, y0, x1, y1, floors, units, doors_per_landing, old).
    """
    minx, miny, maxx, maxy = bounds
    out = []
    y_top = maxy - WALL_CLEARANCE_M
    while True:
        name = rng.choice(["old", "tower"]) if style == "mixed" else style
        s = _STYLES[name]
        depth = float(rng.uniform(*s["depth"]))
        if y_top - depth < miny + WALL_CLEARANCE_M:
            break
        x = minx + WALL_CLEARANCE_M + float(rng.uniform(0, s["gap"][1]))
        floors_row = s["floors"][int(rng.integers(len(s["floors"])))]
        while x < maxx - WALL_CLEARANCE_M:
            length = depth if s["length"] is None else float(rng.uniform(*s["length"]))
            units = int(np.clip(round(length / s["unit_m"]), 1, 4))
            per = s["per_floor"][int(rng.integers(len(s["per_floor"])))]
            floors = floors_row if rng.random() < 0.8 else pick(rng, s["floors"])
            out.append((x, y_top - depth, x + length, y_top, floors, units, per, name == "old"))
            x += length + float(rng.uniform(*s["gap"]))
        y_top -= depth + float(rng.uniform(*s["row_gap"]))
    return np.array(out, dtype=float).reshape(-1, 8)


def place_buildings(
    blocks, plan, public_kind, compounds: pd.DataFrame, lanes: list, rng
) -> pd.DataFrame:
    """Buildings in compounds, open residential blocks and public blocks.

    Rows are kept clear of walls and lanes in compounds; public blocks hold schools,
    offices and shops; compounds also get small service buildings. Most blocks are thinned
    to BLOCK_MAX_HOUSEHOLDS so grids can be balanced.

    Parameters
    ----------
    blocks : numpy.ndarray
        Block polygons (local metres).
    plan : numpy.ndarray
        Plan of each block (0 public, 1/2 compounds, 3 open residential).
    public_kind : list
        What each public block holds (school, park, office, commercial), else None.
    compounds : pandas.DataFrame
        The compounds, with ``geometry`` and ``block``.
    lanes : list
        Internal lanes, each a dict with ``compound`` and ``coords``.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    pandas.DataFrame
        One row per building.
    """
    owners = _building_owners(blocks, plan, public_kind, compounds, lanes, rng)
    cand, own, boxes, kept = _kept_candidates(owners, len(blocks), rng)
    areas = np.array([o[0] for o in owners], dtype=object)
    corridors = np.array([o[1] for o in owners], dtype=object)
    sel = np.flatnonzero(kept)
    o = own[sel]
    styles = np.array([owners[k][4] for k in o], dtype=object)
    main = pd.DataFrame(
        {
            "geometry": boxes[sel],
            "floors": cand[sel, 4].astype(int),
            "units": cand[sel, 5].astype(int),
            "per_floor": cand[sel, 6].astype(int),
            "old": cand[sel, 7].astype(bool),
            "use": np.array([_USE_BY_STYLE.get(s, "residential") for s in styles], dtype=object),
            "block": np.array([owners[k][2] for k in o]),
            "compound": np.array([owners[k][3] for k in o]),
        }
    )
    in_comp = [k for k, ow in enumerate(owners) if ow[3] >= 0]
    aux = service_buildings(areas[in_comp], corridors[in_comp], boxes[sel], rng)
    aux_owner = [in_comp[k] for k in aux.pop("owner")]
    aux["block"] = np.array([owners[k][2] for k in aux_owner], dtype=int)
    aux["compound"] = np.array([owners[k][3] for k in aux_owner], dtype=int)
    return pd.concat([main, aux], ignore_index=True)


def _building_owners(blocks, plan, public_kind, compounds: pd.DataFrame, lanes: list, rng) -> list:
    """The areas that get buildings: compounds (clear of their lanes), then open blocks.

    Each is (area to fill, corridor, block, compound index or -1, style, keep p, max).
    """
    lane_zone = defaultdict(list)
    for lane in lanes:
        lane_zone[lane["compound"]].append(LineString(lane["coords"]))
    owners = []
    for ci, (poly, b) in enumerate(zip(compounds["geometry"], compounds["block"], strict=True)):
        style = str(rng.choice(_COMPOUND_STYLES, p=_COMPOUND_STYLE_P))
        corridor = (
            shapely.buffer(shapely.union_all(lane_zone[ci]), LANE_CLEARANCE_M)
            if lane_zone[ci]
            else Polygon()
        )
        keep = _STYLES["old" if style == "mixed" else style]["keep"]
        owners.append(
            (
                shapely.buffer(poly, -WALL_CLEARANCE_M, join_style="mitre"),
                corridor,
                b,
                ci,
                style,
                keep,
                999,
            )
        )
    for b in np.flatnonzero((plan == 0) | (plan == 3)):
        inner = largest(
            shapely.buffer(blocks[b], -float(rng.uniform(*SETBACK_M)), join_style="mitre")
        )
        style = "old" if plan[b] == 3 else public_kind[b]
        if inner is None or style == "park":
            continue
        s = _STYLES[style]
        owners.append(
            (inner, Polygon(), b, -1, style, s["keep"] if plan[b] == 0 else 0.6, s.get("max", 999))
        )
    return owners


def _kept_candidates(owners: list, n_blocks: int, rng):
    """Candidate building boxes laid out in rows per owner, and which of them are kept:
    (candidates, owner of each, boxes, kept mask)."""
    rows, owner_idx = [], []
    for k, (area, _, _, _, style, _, _) in enumerate(owners):
        cand = row_layout(area.bounds, style, rng)
        rows.append(cand)
        owner_idx.append(np.full(len(cand), k))
    cand = np.vstack(rows)
    own = np.concatenate(owner_idx)
    boxes = shapely.box(cand[:, 0], cand[:, 1], cand[:, 2], cand[:, 3])
    areas = np.array([o[0] for o in owners], dtype=object)
    corridors = np.array([o[1] for o in owners], dtype=object)
    fits = shapely.contains_properly(areas[own], boxes) & ~shapely.intersects(corridors[own], boxes)
    kept = fits & (rng.random(len(own)) < np.array([o[5] for o in owners])[own])
    # every compound keeps at least one building (no compound without buildings)
    first_fit = pd.Series(np.arange(len(own))[fits]).groupby(own[fits]).first()
    has = np.bincount(own[kept], minlength=len(owners)) > 0
    kept[first_fit[~has[first_fit.index]].to_numpy()] = True
    protected = np.zeros(len(own), bool)
    protected[pd.Series(np.flatnonzero(kept)).groupby(own[kept]).first().to_numpy()] = True
    # cap public blocks at a few buildings
    rank = pd.Series(kept.astype(int)).groupby(own).cumsum().to_numpy()
    kept &= rank <= np.array([o[6] for o in owners])[own]
    # thin most blocks to a grid-sized number of homes (random buildings go: green space)
    block_of = np.array([o[2] for o in owners])[own]
    homes = cand[:, 4] * cand[:, 5] * cand[:, 6]
    cap = np.where(rng.random(n_blocks) < 0.85, BLOCK_MAX_HOUSEHOLDS, np.inf)
    sel = rng.permutation(np.flatnonzero(kept))
    sel = sel[np.argsort(block_of[sel], kind="stable")]
    cum = pd.Series(homes[sel]).groupby(block_of[sel]).cumsum().to_numpy()
    kept[sel[(cum > cap[block_of[sel]]) & ~protected[sel]]] = False
    return cand, own, boxes, kept


_SERVICE_USES = ("public", "public", "other")  # 物业/社区用房 (public), 配电室/车棚 (other)


def service_buildings(
    areas: np.ndarray, corridors: np.ndarray, existing: np.ndarray, rng
) -> pd.DataFrame:
    """Small one- or two-storey service buildings (物业用房, 配电室, 自行车棚 ...) in compounds.

    Random 8-16 x 6-9 m boxes in free spots that clear walls, lanes and other buildings by
    3 m; up to three per compound.

    Parameters
    ----------
    areas : numpy.ndarray
        The buildable area of each compound (inside its walls).
    corridors : numpy.ndarray
        The lane corridor of each compound.
    existing : numpy.ndarray
        The buildings already placed.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    pandas.DataFrame
        One row per service building, with its ``owner`` (index into ``areas``).
    """
    n_try = 10
    owner = np.repeat(np.arange(len(areas)), n_try)
    bounds = shapely.bounds(areas)[owner]
    w, h = rng.uniform(8, 16, len(owner)), rng.uniform(6, 9, len(owner))
    x0 = bounds[:, 0] + rng.random(len(owner)) * np.maximum(bounds[:, 2] - bounds[:, 0] - w, 0)
    y0 = bounds[:, 1] + rng.random(len(owner)) * np.maximum(bounds[:, 3] - bounds[:, 1] - h, 0)
    boxes = shapely.box(x0, y0, x0 + w, y0 + h)
    ok = shapely.contains_properly(areas[owner], boxes) & ~shapely.intersects(
        corridors[owner], boxes
    )
    hit = shapely.STRtree(existing).query(shapely.buffer(boxes, 3.0), predicate="intersects")[0]
    ok[hit] = False
    wanted = rng.choice([0, 1, 2, 3], len(areas), p=[0.2, 0.35, 0.3, 0.15])
    chosen: list[int] = []
    taken: dict[int, list] = defaultdict(list)
    for i in np.flatnonzero(ok).tolist():
        k = int(owner[i])
        if len(taken[k]) < wanted[k] and not any(boxes[i].distance(t) < 3.0 for t in taken[k]):
            taken[k].append(boxes[i])
            chosen.append(i)
    chosen_a = np.array(chosen, dtype=int)
    return pd.DataFrame(
        {
            "geometry": boxes[chosen_a],
            "floors": rng.choice([1, 1, 2], len(chosen_a)),
            "units": 0,
            "per_floor": 0,
            "old": False,
            "use": np.array(_SERVICE_USES, dtype=object)[rng.integers(0, 3, len(chosen_a))],
            "owner": owner[chosen_a],
        }
    )


def adjust_uses(buildings: pd.DataFrame, arterial_union, rng) -> pd.DataFrame:
    """Shops on the ground floor of some compound buildings by an arterial (商住, mixed).

    Parameters
    ----------
    buildings : pandas.DataFrame
        The buildings.
    arterial_union : shapely geometry
        The arterial roads, local metres.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    pandas.DataFrame
        A copy with some uses set to ``mixed``.
    """
    b = buildings.copy()
    inc = b["compound"].to_numpy() >= 0
    near_art = shapely.distance(b["geometry"].to_numpy(), arterial_union) < 30.0
    mixed = (
        inc
        & near_art
        & (b["floors"].to_numpy() >= 5)
        & (b["use"] == "residential")
        & (rng.random(len(b)) < 0.5)
    )
    b.loc[mixed, "use"] = "mixed"
    return b


# =====================================================================================
# 4. grids from blocks
# =====================================================================================
def partition_blocks(
    members: list[int],
    weights: np.ndarray,
    centres: np.ndarray,
    nbrs: list[set[int]],
    target: float,
) -> list[list[int]]:
    """Contiguous groups of blocks with about ``target`` weight (households) each.

    Seeds are taken in reading order (north-west first); a group grows by the unassigned
    neighbour nearest its seed until it holds its share of what is left. Groups split in
    pieces, and very light groups, are merged into their lightest neighbouring group.

    Parameters
    ----------
    members : list of int
        The blocks to group.
    weights : numpy.ndarray
        Households of each block.
    centres : numpy.ndarray
        Centre of each block (x, y in local metres).
    nbrs : list of set of int
        Neighbours of each block.
    target : float
        Households wanted per group.

    Returns
    -------
    list of list of int
        The groups of blocks.
    """
    total = float(weights[members].sum())
    k = max(1, round(total / target))
    order = [members[i] for i in sweep_order(centres[members, 0], centres[members, 1], 150.0)]
    unassigned = set(members)
    label: dict[int, int] = {}
    for r in range(k):
        if not unassigned:
            break
        goal = sum(weights[b] for b in unassigned) / (k - r)
        seed = next(b for b in order if b in unassigned)
        group, s = [seed], float(weights[seed])
        unassigned.discard(seed)
        while s < goal * 0.92 and r < k - 1:
            frontier = {n for g in group for n in nbrs[g] if n in unassigned}
            if not frontier:
                break
            nb = min(frontier, key=lambda n: (np.hypot(*(centres[n] - centres[seed])), n))
            if s + weights[nb] > goal * 1.3 and s >= goal * 0.6:
                break
            group.append(nb)
            unassigned.discard(nb)
            s += float(weights[nb])
        if r == k - 1:
            group += sorted(unassigned)
            unassigned.clear()
        for g in group:
            label[g] = r
    for b in unassigned:  # leftovers join a neighbouring group below
        label[b] = k
    return _fix_groups(label, weights, nbrs, min_weight=0.3 * target)


def _components(blocks: list[int], nbrs: list[set[int]]) -> list[list[int]]:
    left, comps = set(blocks), []
    while left:
        stack = [min(left)]
        comp = []
        left.discard(stack[0])
        while stack:
            b = stack.pop()
            comp.append(b)
            for n in nbrs[b]:
                if n in left:
                    left.discard(n)
                    stack.append(n)
        comps.append(sorted(comp))
    return comps


def _fix_groups(label: dict[int, int], weights, nbrs, min_weight: float) -> list[list[int]]:
    """Make every group contiguous and not too light by merging pieces into neighbours."""
    for _ in range(100):
        groups = defaultdict(list)
        for b, g in label.items():
            groups[g].append(b)
        changed = False
        for g, blocks in sorted(groups.items()):
            comps = sorted(_components(blocks, nbrs), key=lambda c: -weights[c].sum())
            pieces = (
                comps[1:]
                if len(comps) > 1
                else (comps if weights[blocks].sum() < min_weight and len(groups) > 1 else [])
            )
            for piece in pieces:
                adj = {label[n] for b in piece for n in nbrs[b] if n in label} - {g}
                if not adj:
                    continue
                into = min(adj, key=lambda a: (sum(weights[x] for x in groups[a]), a))
                for b in piece:
                    label[b] = into
                changed = True
            if changed:
                break
        if not changed:
            break
    groups = defaultdict(list)
    for b, g in label.items():
        groups[g].append(b)
    return [sorted(v) for _, v in sorted(groups.items())]
