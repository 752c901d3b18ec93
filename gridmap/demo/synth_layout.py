"""The synthetic street's layout in its local metric frame: arterial and branch roads,
blocks, gated compounds with their gates and internal lanes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, box

from gridmap.demo.synth_common import (
    ARTERIAL_EXTENSION_M,
    ARTERIAL_X_M,
    ARTERIAL_Y_M,
    BRANCH_OVERSHOOT_M,
    BRANCH_SPACING_M,
    EW_ARTERIALS,
    NS_ARTERIALS,
    ROAD_TAILS,
    SETBACK_M,
    STEMS,
    largest,
)


# =====================================================================================
# 1. road network and blocks
# =====================================================================================
def _bent_line(
    fixed_m: float, along_m: np.ndarray, north_south: bool, jitter_m: float, rng
) -> LineString:
    """Polyline with vertices at ``along_m`` on one axis, jittered around ``fixed_m``."""
    other = fixed_m + rng.normal(0.0, jitter_m, len(along_m))
    xy = np.column_stack([other, along_m] if north_south else [along_m, other])
    return LineString(xy)


def _stations(v: np.ndarray, ext_m: float) -> np.ndarray:
    """Vertex positions along an arterial: the crossings, halfway points and its ends."""
    return np.sort(np.concatenate([[v[0] - ext_m], v, (v[:-1] + v[1:]) / 2, [v[-1] + ext_m]]))


def arterial_designs(rng) -> list[dict]:
    """Arterial roads (名称, highway) with gentle bends; their faces become communities.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    list of dict
        Road designs: name, highway, arterial (True) and geometry (local metres).
    """
    xs, ys = np.array(ARTERIAL_X_M), np.array(ARTERIAL_Y_M)
    out = []
    for x, (name, hw) in zip(xs, NS_ARTERIALS, strict=True):
        out.append(
            {
                "name": name,
                "highway": hw,
                "arterial": True,
                "geometry": _bent_line(x, _stations(ys, ARTERIAL_EXTENSION_M), True, 9.0, rng),
            }
        )
    for y, (name, hw) in zip(ys, EW_ARTERIALS, strict=True):
        out.append(
            {
                "name": name,
                "highway": hw,
                "arterial": True,
                "geometry": _bent_line(y, _stations(xs, ARTERIAL_EXTENSION_M), False, 9.0, rng),
            }
        )
    return out


def _positions(lo: float, hi: float, spacing_m: float, rng) -> np.ndarray:
    """Roughly evenly spaced positions strictly between lo and hi (jittered)."""
    n = max(1, round((hi - lo) / spacing_m) - 1)
    step = (hi - lo) / (n + 1)
    return lo + step * (np.arange(1, n + 1) + rng.uniform(-0.15, 0.15, n))


def branch_designs(superblocks, rng) -> list[dict]:
    """Branch roads inside each arterial superblock.

    East-west lines cross it and north-south lines, a quarter of which stop at an east-west
    branch (T junction). Lines overshoot their end road by BRANCH_OVERSHOOT_M; the stubs are
    pruned later.

    Parameters
    ----------
    superblocks : numpy.ndarray
        The faces of the arterial network (local metres).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    list of dict
        Road designs: name, highway, arterial (False) and geometry (local metres).
    """
    taken = {n for n, _ in NS_ARTERIALS + EW_ARTERIALS}
    names = [s + t for s in STEMS for t in ROAD_TAILS if s[-1] != t[0] and s + t not in taken]
    order = rng.permutation(len(names))
    name_iter = iter(names[i] for i in order)
    out, over = [], BRANCH_OVERSHOOT_M
    for sb in superblocks:
        x0, y0, x1, y1 = sb.bounds
        xs = _positions(x0, x1, BRANCH_SPACING_M, rng)
        ys = _positions(y0, y1, BRANCH_SPACING_M, rng)
        for y in ys:
            along = np.concatenate([[x0 - over], xs, [x1 + over]])
            out.append(
                {
                    "name": next(name_iter),
                    "arterial": False,
                    "highway": "tertiary" if rng.random() < 0.4 else "residential",
                    "geometry": _clip(_bent_line(y, along, False, 5.0, rng), sb),
                }
            )
        for x in xs:
            lo, hi = y0 - over, y1 + over
            if len(ys) >= 2 and rng.random() < 0.25:
                k = int(rng.integers(len(ys)))
                lo, hi = (lo, ys[k] + over) if rng.random() < 0.5 else (ys[k] - over, hi)
            along = np.concatenate([[lo], ys[(ys > lo + over) & (ys < hi - over)], [hi]])
            out.append(
                {
                    "name": next(name_iter),
                    "arterial": False,
                    "highway": "tertiary" if rng.random() < 0.3 else "residential",
                    "geometry": _clip(_bent_line(x, along, True, 5.0, rng), sb),
                }
            )
    return out


def _clip(line, superblock, beyond_m: float = 2.0):
    """The part of a branch line inside its superblock, crossing the arterial by
    ``beyond_m`` (so it is noded there) but never reaching the next superblock's roads."""
    parts = shapely.get_parts(line.intersection(superblock.buffer(beyond_m)))
    return parts[np.argmax(shapely.length(parts))]


def node_ids(xy: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer node id per coordinate row (coordinates equal to the millimetre share one).

    Parameters
    ----------
    xy : numpy.ndarray
        Coordinates (n x 2) in metres.

    Returns
    -------
    tuple of numpy.ndarray and int
        The node id of each row and the number of nodes.
    """
    _, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1


def node_network(designs: list[dict]) -> pd.DataFrame:
    """Noded road edges (split at every crossing) with the attributes of their design line.

    Branch stubs that end nowhere are pruned; arterial extensions are kept.

    Parameters
    ----------
    designs : list of dict
        The road designs (name, highway, arterial, geometry).

    Returns
    -------
    pandas.DataFrame
        One row per edge: geometry, name, highway and design (index into ``designs``).
    """
    lines = np.array([d["geometry"] for d in designs], dtype=object)
    edges = shapely.get_parts(shapely.union_all(lines))
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    src = shapely.STRtree(lines).query_nearest(mids, all_matches=False)[1]
    keep = np.array([designs[i]["arterial"] for i in src])
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(edges, 0)),
            shapely.get_coordinates(shapely.get_point(edges, -1)),
        ]
    )
    ids, n_nodes = node_ids(ends)
    u, v = ids[: len(edges)], ids[len(edges) :]
    alive = np.ones(len(edges), bool)
    while True:
        deg = np.bincount(np.r_[u[alive], v[alive]], minlength=n_nodes)
        dangling = alive & ~keep & ((deg[u] == 1) | (deg[v] == 1))
        if not dangling.any():
            break
        alive &= ~dangling
    return pd.DataFrame(
        {
            "geometry": edges[alive],
            "name": [designs[i]["name"] for i in src[alive]],
            "highway": [designs[i]["highway"] for i in src[alive]],
            "design": src[alive],
        }
    )


def faces(lines) -> np.ndarray:
    """Polygons enclosed by noded lines (dangling lines are ignored).

    Parameters
    ----------
    lines : sequence of shapely geometries
        Noded lines.

    Returns
    -------
    numpy.ndarray
        The polygons.
    """
    return shapely.get_parts(shapely.polygonize(np.asarray(lines, dtype=object)))


def merge_slivers(blocks: np.ndarray, min_area_m2: float = 2_000.0) -> np.ndarray:
    """Tiny faces (where two nearly aligned roads cross) merged into a neighbouring block.

    Each goes to the neighbour it shares the most road with; the merged edge becomes an
    inner stub.

    Parameters
    ----------
    blocks : numpy.ndarray
        Block polygons (metric CRS).
    min_area_m2 : float
        Faces smaller than this, in square metres, are merged.

    Returns
    -------
    numpy.ndarray
        The blocks after merging.
    """
    parts = list(blocks)
    while True:
        area = shapely.area(np.array(parts, dtype=object))
        small = int(np.argmin(area))
        if area[small] >= min_area_m2 or len(parts) < 2:
            return np.array(parts, dtype=object)
        shared = shapely.length(
            shapely.intersection(
                shapely.boundary(np.array(parts, dtype=object)), parts[small].boundary
            )
        )
        shared[small] = -1.0
        into = int(np.argmax(shared))
        parts[into] = shapely.union_all([parts[into], parts[small]])
        del parts[small]


def block_neighbours(blocks: np.ndarray, min_shared_m: float = 1.0) -> list[set[int]]:
    """Blocks sharing a stretch of road (not just a corner) with each block.

    Parameters
    ----------
    blocks : numpy.ndarray
        Block polygons (metric CRS).
    min_shared_m : float
        Shortest shared boundary, in metres, that makes two blocks neighbours.

    Returns
    -------
    list of set of int
        The neighbours of each block.
    """
    tree = shapely.STRtree(blocks)
    a, b = tree.query(blocks, predicate="intersects")
    m = a < b
    a, b = a[m], b[m]
    shared = shapely.length(
        shapely.intersection(shapely.boundary(blocks[a]), shapely.boundary(blocks[b]))
    )
    nbrs: list[set[int]] = [set() for _ in blocks]
    for i, j in zip(
        a[shared > min_shared_m].tolist(), b[shared > min_shared_m].tolist(), strict=True
    ):
        nbrs[i].add(j)
        nbrs[j].add(i)
    return nbrs


# =====================================================================================
# 2. compounds, gates, internal lanes
# =====================================================================================
_GATE_DIRS = ((1.0, 0.0, "东"), (0.0, -1.0, "南"), (-1.0, 0.0, "西"), (0.0, 1.0, "北"))


# Block plans: 0 public (no compound), 1 / 2 gated compounds, 3 open residential.
_BLOCK_PLAN_P = (0.12, 0.52, 0.30, 0.06)


_PUBLIC_KINDS = ("school", "school", "school", "park", "park", "office", "commercial")


def plan_blocks(blocks: np.ndarray, rng) -> tuple[np.ndarray, list[str | None]]:
    """Plan per block and, for public blocks, what they hold.

    Plans are 0 public, 1/2 compounds, 3 open residential; public blocks hold a school,
    park, office or commercial buildings.

    Parameters
    ----------
    blocks : numpy.ndarray
        Block polygons (local metres).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of numpy.ndarray and list
        The plan of each block and what each public block holds (None elsewhere).
    """
    area = shapely.area(blocks)
    plan = rng.choice(4, size=len(blocks), p=_BLOCK_PLAN_P)
    plan[(plan == 2) & (area < 26_000)] = 1
    small = area < 9_000
    plan[small] = np.where(rng.random(small.sum()) < 0.5, 0, 1)
    # enough public blocks for the schools and parks a street office has
    while (plan == 0).sum() < len(_PUBLIC_KINDS):
        plan[rng.choice(np.flatnonzero(plan == 1))] = 0
    kinds: list[str | None] = [None] * len(blocks)
    for k, b in enumerate(rng.permutation(np.flatnonzero(plan == 0))):
        kinds[b] = (
            _PUBLIC_KINDS[k] if k < len(_PUBLIC_KINDS) else ("office", "commercial", "park")[k % 3]
        )
    return plan, kinds


def _split_block(poly, rng) -> list:
    """Two halves of a block, cut across its longer side near the middle."""
    x0, y0, x1, y1 = poly.bounds
    if x1 - x0 > y1 - y0:
        c = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * (x1 - x0)
        halves = [box(x0 - 1, y0 - 1, c, y1 + 1), box(c, y0 - 1, x1 + 1, y1 + 1)]
    else:
        c = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * (y1 - y0)
        halves = [box(x0 - 1, y0 - 1, x1 + 1, c), box(x0 - 1, c, x1 + 1, y1 + 1)]
    return [poly.intersection(h) for h in halves]


def compound_outlines(blocks, plan, rng) -> pd.DataFrame:
    """Compound walls: each planned block (or half block) inset by a 8-15 m setback.

    Parameters
    ----------
    blocks : numpy.ndarray
        Block polygons (local metres).
    plan : numpy.ndarray
        Plan of each block (see :func:`plan_blocks`).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    pandas.DataFrame
        One row per compound: block, setback_m, geometry.
    """
    rows = []
    for b in np.flatnonzero((plan == 1) | (plan == 2)):
        parts = _split_block(blocks[b], rng) if plan[b] == 2 else [blocks[b]]
        for part in parts:
            setback = float(rng.uniform(*SETBACK_M))
            inner = largest(shapely.buffer(part, -setback, join_style="mitre"))
            if inner is not None and inner.area > 2_500:
                rows.append(
                    {"block": int(b), "setback_m": setback, "geometry": shapely.normalize(inner)}
                )
    return pd.DataFrame(rows)


def _ray_hit(poly, hub: np.ndarray, dx: float, dy: float):
    """First point where a ray from ``hub`` meets the outline, and its distance."""
    ray = LineString([hub, hub + np.array([dx, dy]) * 5_000.0])
    pts = shapely.get_coordinates(ray.intersection(poly.exterior))
    if len(pts) == 0:
        return None, 0.0
    d = np.hypot(*(pts - hub).T)
    return pts[np.argmin(d)], float(d.min())


def plan_lanes(compounds: pd.DataFrame, public_edges: np.ndarray, rng) -> tuple[list, list]:
    """Gates and internal lanes of each compound.

    Lanes run from a hub (the centroid) east/south/west/north to the wall. A lane end
    becomes a gate when the wall there faces a street (within setback + 4 m of a road);
    the other lanes stop 6 m short of the wall (internal dead ends).

    Parameters
    ----------
    compounds : pandas.DataFrame
        The compounds (geometry, setback_m).
    public_edges : numpy.ndarray
        The public road edges (local metres).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of list and list
        Gates (compound index, xy, name, kind) and lanes (coordinates, highway, access,
        foot).
    """
    tree = shapely.STRtree(public_edges)
    gates, lanes = [], []
    for ci, (poly, setback) in enumerate(
        zip(compounds["geometry"], compounds["setback_m"], strict=True)
    ):
        c = poly.centroid
        hub = np.array(c.coords[0] if poly.contains(c) else poly.representative_point().coords[0])
        hits = [(_ray_hit(poly, hub, dx, dy), name) for dx, dy, name in _GATE_DIRS]
        ends = [(xy, d, name) for (xy, d), name in hits if xy is not None and d > 15.0]
        if not ends:
            continue
        dist = tree.query_nearest(shapely.points([e[0] for e in ends]), return_distance=True)[1]
        facing = [e for e, dd in zip(ends, dist, strict=True) if dd < setback + 4.0]
        n_gates = min(len(facing), int(rng.choice([1, 2, 3], p=[0.25, 0.5, 0.25])))
        chosen = [facing[i] for i in sorted(rng.choice(len(facing), n_gates, replace=False))]
        for k, (xy, _, name) in enumerate(chosen):
            kind = (
                "both"
                if k == 0
                else str(rng.choice(["pedestrian", "vehicle", "both"], p=[0.6, 0.15, 0.25]))
            )
            gates.append({"compound": ci, "xy": xy, "name": name + "门", "kind": kind})
            lanes.append(
                {
                    "compound": ci,
                    "coords": np.array([hub, xy]),
                    "highway": "footway" if kind == "pedestrian" else "service",
                    "access": None,
                    "foot": None,
                }
            )
        for xy, d, _ in ends:
            if any(xy is g[0] for g in chosen) or rng.random() < 0.4:
                continue
            tip = hub + (xy - hub) * (d - 6.0) / d
            lanes.append(
                {
                    "compound": ci,
                    "coords": np.array([hub, tip]),
                    "highway": "footway",
                    "access": None,
                    "foot": None,
                }
            )
        if rng.random() < 0.12:  # ramp to an underground garage: residents' cars only
            tip = hub + np.array([8.0, -8.0])  # diagonal: clear of the four lanes
            if poly.contains(Point(tip)):
                lanes.append(
                    {
                        "compound": ci,
                        "coords": np.array([hub, tip]),
                        "highway": "service",
                        "access": "private",
                        "foot": "no",
                    }
                )
    return gates, lanes


def insert_ring_vertices(ring_xy: np.ndarray, pts: list[np.ndarray]) -> tuple[np.ndarray, list]:
    """Ring coordinates with each point inserted into its nearest segment.

    So that gates are exact vertices of the wall.

    Parameters
    ----------
    ring_xy : numpy.ndarray
        The ring's coordinates (closed).
    pts : list of numpy.ndarray
        The points to insert.

    Returns
    -------
    tuple of numpy.ndarray and list
        The ring and the (possibly snapped) points.
    """
    a, b = ring_xy[:-1], ring_xy[1:]
    ab = b - a
    l2 = np.maximum((ab**2).sum(1), 1e-12)
    inserts, snapped = [], []
    for p in pts:
        t = np.clip(((p - a) * ab).sum(1) / l2, 0.0, 1.0)
        d = np.hypot(*(a + t[:, None] * ab - p).T)
        k = int(np.argmin(d))
        if t[k] < 1e-9 or t[k] > 1 - 1e-9:  # already a vertex
            snapped.append(a[k] if t[k] < 0.5 else b[k])
            continue
        inserts.append((k, float(t[k]), p))
        snapped.append(p)
    inserts.sort(key=lambda s: (s[0], s[1]))
    out, j = [], 0
    for k in range(len(a)):
        out.append(a[k])
        while j < len(inserts) and inserts[j][0] == k:
            out.append(inserts[j][2])
            j += 1
    out.append(a[0])
    return np.array(out), snapped


def split_edge(coords: np.ndarray, dists_m: list[float]) -> tuple[list[np.ndarray], list]:
    """Split a polyline at distances along it.

    An existing vertex within 1 m is used instead of a new split point; the ends are never
    split.

    Parameters
    ----------
    coords : numpy.ndarray
        The polyline's coordinates (metres).
    dists_m : list of float
        Distances along the line, in metres.

    Returns
    -------
    tuple of list and list
        The pieces and the exact split point of each distance.
    """
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    points, cuts = [], {}  # position along the line -> (vertex or segment index, new point)
    for d in np.clip(np.asarray(dists_m, float), 0.0, cum[-1]).tolist():
        near = int(np.argmin(np.abs(cum - d)))
        if abs(cum[near] - d) < 1.0:
            points.append(coords[near])
            if 0 < near < len(coords) - 1:
                cuts[cum[near]] = (near, None)
            continue
        k = int(np.searchsorted(cum, d, side="right")) - 1
        cuts.setdefault(d, (k, coords[k] + (d - cum[k]) / seg[k] * (coords[k + 1] - coords[k])))
        points.append(cuts[d][1])
    pieces, current, vi = [], [coords[0]], 1
    for _, (k, p) in sorted(cuts.items()):
        current.extend(coords[vi : k + 1])
        vi = k + 1
        if p is not None:
            current.append(p)
        pieces.append(np.array(current))
        current = [coords[k] if p is None else p]
    current.extend(coords[vi:])
    pieces.append(np.array(current))
    return pieces, points
