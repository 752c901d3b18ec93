"""Builder stages of the synthetic street that lay out places: roads, compounds,
buildings, the walking network, grids, codes and addresses, on one layout record."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon

from gridmap.demo.city import planned_target_households
from gridmap.demo.synth_buildings import adjust_uses, partition_blocks, place_buildings
from gridmap.demo.synth_common import (
    COMMUNITY_NAMES,
    COMPOUND_TAILS,
    GRID_TARGET_HOUSEHOLDS,
    INSTITUTE_COMPOUNDS,
    STEMS,
    STREET_CODE,
    STREET_NAME,
    pick,
    reading_order,
    sweep_order,
    synth_names,
    synth_phones,
)
from gridmap.demo.synth_layout import (
    arterial_designs,
    block_neighbours,
    branch_designs,
    compound_outlines,
    faces,
    insert_ring_vertices,
    merge_slivers,
    node_network,
    plan_blocks,
    plan_lanes,
    split_edge,
)


# =====================================================================================
# the builder: stages sharing one layout record
# =====================================================================================
def _unset() -> np.ndarray:
    return np.zeros(0)


@dataclass
class Street:
    """Everything the stages compute, in local metres (internal to this module). Each
    field starts empty and is filled by the stage that computes it."""

    designs: list = field(default_factory=list)
    net: pd.DataFrame = field(default_factory=pd.DataFrame)
    is_arterial: np.ndarray = field(default_factory=_unset)
    superblocks: np.ndarray = field(default_factory=_unset)
    blocks: np.ndarray = field(default_factory=_unset)
    block_comm: np.ndarray = field(default_factory=_unset)
    nbrs: list = field(default_factory=list)
    street_poly: Any = None  # shapely polygon
    plan: np.ndarray = field(default_factory=_unset)
    public_kind: list = field(default_factory=list)
    compounds: pd.DataFrame = field(default_factory=pd.DataFrame)
    gates: list = field(default_factory=list)
    lanes: list = field(default_factory=list)
    bld: pd.DataFrame = field(default_factory=pd.DataFrame)
    road_rows: list = field(default_factory=list)
    comm_codes: list = field(default_factory=list)
    comm_names: list = field(default_factory=list)
    comm_polys: np.ndarray = field(default_factory=_unset)
    grid_blocks: list = field(default_factory=list)
    grid_comm: np.ndarray = field(default_factory=_unset)
    grid_polys: np.ndarray = field(default_factory=_unset)
    grid_code: np.ndarray = field(default_factory=_unset)
    grid_name: np.ndarray = field(default_factory=_unset)
    block_grid: np.ndarray = field(default_factory=_unset)
    target_households: np.ndarray = field(default_factory=_unset)
    leaders: np.ndarray = field(default_factory=_unset)
    leader_phone: np.ndarray = field(default_factory=_unset)
    patrollers: list = field(default_factory=list)
    staff: np.ndarray = field(default_factory=_unset)
    comp_code: np.ndarray = field(default_factory=_unset)
    comp_name: list = field(default_factory=list)
    comp_addr: list = field(default_factory=list)


def lay_street_network(st: Street, rng) -> None:
    """Arterials -> superblocks (communities); branch roads -> noded network -> blocks.

    Parameters
    ----------
    st : Street
        The street being built, filled in place.
    rng : numpy.random.Generator
        The demo's random generator.
    """
    arterials = arterial_designs(rng)
    superblocks = faces(shapely.get_parts(shapely.union_all([a["geometry"] for a in arterials])))
    xy = shapely.get_coordinates(shapely.centroid(superblocks))
    st.superblocks = superblocks[sweep_order(xy[:, 0], xy[:, 1], 500.0)]
    st.designs = arterials + branch_designs(st.superblocks, rng)
    st.net = node_network(st.designs)
    blocks = merge_slivers(faces(st.net["geometry"].to_numpy()))
    xy = shapely.get_coordinates(shapely.centroid(blocks))
    st.blocks = blocks[sweep_order(xy[:, 0], xy[:, 1], 100.0)]
    a, b = shapely.STRtree(st.superblocks).query(
        shapely.point_on_surface(st.blocks), predicate="within"
    )
    st.block_comm = np.full(len(st.blocks), -1)
    st.block_comm[a] = b
    st.nbrs = block_neighbours(st.blocks)
    st.street_poly = shapely.union_all(st.blocks)
    st.is_arterial = np.array([st.designs[d]["arterial"] for d in st.net["design"]])


def _remap_compounds(st: Street, keep: np.ndarray) -> None:
    """Keep only the compounds in ``keep`` (sorted indices), renumbering references."""
    remap = np.full(len(st.compounds), -1)
    remap[keep] = np.arange(len(keep))
    st.compounds = st.compounds.iloc[keep].reset_index(drop=True)
    c = st.bld["compound"].to_numpy()
    st.bld["compound"] = np.where(c >= 0, remap[np.maximum(c, 0)], -1)
    st.gates = [
        dict(g, compound=int(remap[g["compound"]])) for g in st.gates if remap[g["compound"]] >= 0
    ]
    st.lanes = [
        dict(x, compound=int(remap[x["compound"]])) for x in st.lanes if remap[x["compound"]] >= 0
    ]


def lay_compounds_and_buildings(st: Street, rng) -> None:
    """Compounds, their lanes and gates, and all buildings.

    Compounds left without a building or without a gate are dropped (their buildings
    become open housing).

    Parameters
    ----------
    st : Street
        The street being built, filled in place.
    rng : numpy.random.Generator
        The demo's random generator.
    """
    st.plan, st.public_kind = plan_blocks(st.blocks, rng)
    st.compounds = compound_outlines(st.blocks, st.plan, rng)
    st.gates, st.lanes = plan_lanes(st.compounds, st.net["geometry"].to_numpy(), rng)
    arterial_union = shapely.union_all(st.net["geometry"].to_numpy()[st.is_arterial])
    st.bld = place_buildings(st.blocks, st.plan, st.public_kind, st.compounds, st.lanes, rng)
    st.bld = adjust_uses(st.bld, arterial_union, rng)
    with_bld = set(st.bld["compound"][st.bld["compound"] >= 0].tolist())
    gated = {g["compound"] for g in st.gates}
    keep = np.array(sorted(with_bld & gated), dtype=int)
    if len(keep) < len(st.compounds):
        _remap_compounds(st, keep)
    # gates become exact vertices of the walls; their lanes end on those vertices
    walls = []
    for ci, poly in enumerate(st.compounds["geometry"]):
        mine = [g for g in st.gates if g["compound"] == ci]
        ring, snapped = insert_ring_vertices(
            shapely.get_coordinates(poly.exterior), [g["xy"] for g in mine]
        )
        for g, xy in zip(mine, snapped, strict=True):
            for lane in st.lanes:
                if lane["compound"] == ci and np.abs(lane["coords"][1] - g["xy"]).max() < 1e-6:
                    lane["coords"] = np.array([lane["coords"][0], xy])
            g["xy"] = xy
        walls.append(Polygon(ring))
    st.compounds["geometry"] = walls


def lay_walk_network(st: Street) -> None:
    """The road rows, all sharing end points.

    They are the street edges split where gate connectors meet them, the connectors
    (gate -> street) and the compounds' internal lanes.

    Parameters
    ----------
    st : Street
        The street being built, filled in place.
    """
    edges = st.net["geometry"].to_numpy()
    gate_pts = shapely.points(np.array([g["xy"] for g in st.gates]))
    nearest = shapely.STRtree(edges).query_nearest(gate_pts, all_matches=False)[1]
    along = shapely.line_locate_point(edges[nearest], gate_pts)
    cuts = defaultdict(list)
    for gi, (e, d) in enumerate(zip(nearest.tolist(), along.tolist(), strict=True)):
        cuts[e].append((d, gi))
    rows, connector_end = [], {}
    for e, row in enumerate(st.net.itertuples(index=False)):
        coords = shapely.get_coordinates(row.geometry)
        pieces = [coords]
        if e in cuts:
            pieces, pts = split_edge(coords, [d for d, _ in cuts[e]])
            for (_, gi), p in zip(cuts[e], pts, strict=True):
                connector_end[gi] = p
        rows += [
            {
                "coords": c,
                "name": row.name,
                "highway": row.highway,
                "foot": None,
                "access": None,
                "compound": -1,
            }
            for c in pieces
        ]
    for gi, g in enumerate(st.gates):
        c = np.array([g["xy"], connector_end[gi]])
        if np.hypot(*(c[1] - c[0])) > 0.01:
            rows.append(
                {
                    "coords": c,
                    "name": None,
                    "compound": -1,
                    "foot": None,
                    "access": None,
                    "highway": "footway" if g["kind"] == "pedestrian" else "service",
                }
            )
    rows += [
        {
            "coords": x["coords"],
            "name": None,
            "compound": x["compound"],
            "highway": x["highway"],
            "foot": x["foot"],
            "access": x["access"],
        }
        for x in st.lanes
    ]
    st.road_rows = rows


def group_grids(st: Street, rng) -> None:
    """Grids as groups of blocks by households inside each community.

    Codes and names go in reading order; leaders, patrollers and office staff are drawn.

    Parameters
    ----------
    st : Street
        The street being built, filled in place.
    rng : numpy.random.Generator
        The demo's random generator.
    """
    b = st.bld
    homes = np.where(
        b["use"].isin(["residential", "mixed"]),
        b["units"] * np.maximum(b["floors"] - (b["use"] == "mixed"), 1) * b["per_floor"],
        0,
    )
    block_hh = np.bincount(b["block"], weights=homes, minlength=len(st.blocks))
    centres = shapely.get_coordinates(shapely.centroid(st.blocks))
    n_comm = len(st.superblocks)
    st.comm_codes = [f"{STREET_CODE}{c + 1:03d}" for c in range(n_comm)]
    st.comm_names = list(COMMUNITY_NAMES[:n_comm])
    groups, comm, codes, names = [], [], [], []
    for c in range(n_comm):
        mine = partition_blocks(
            np.flatnonzero(st.block_comm == c).tolist(),
            block_hh,
            centres,
            st.nbrs,
            GRID_TARGET_HOUSEHOLDS,
        )
        polys = np.array([shapely.union_all(st.blocks[g]) for g in mine], dtype=object)
        xy = shapely.get_coordinates(shapely.centroid(polys))
        for seq, k in enumerate(reading_order(xy[:, 0], xy[:, 1]), start=1):
            groups.append(mine[k])
            comm.append(c)
            codes.append(f"{st.comm_codes[c]}{seq:03d}")
            names.append(f"{st.comm_names[c]}第{seq}网格")
    st.grid_blocks, st.grid_comm = groups, np.array(comm)
    st.grid_code, st.grid_name = np.array(codes, dtype=object), np.array(names, dtype=object)
    st.grid_polys = np.array([shapely.union_all(st.blocks[g]) for g in groups], dtype=object)
    st.comm_polys = np.array(
        [shapely.union_all(st.grid_polys[st.grid_comm == c]) for c in range(n_comm)], dtype=object
    )
    st.block_grid = np.empty(len(st.blocks), int)
    for k, g in enumerate(groups):
        st.block_grid[g] = k
    n = len(groups)
    grid_hh = np.array([block_hh[g].sum() for g in groups])
    st.target_households = planned_target_households(grid_hh)
    st.leaders = synth_names(
        rng, np.where(rng.random(n) < 0.65, "F", "M"), rng.integers(1968, 1998, n)
    )
    st.leader_phone = synth_phones(rng, n)
    helpers = synth_names(
        rng, np.where(rng.random(2 * n) < 0.5, "M", "F"), rng.integers(1960, 2000, 2 * n)
    )
    n_help = rng.integers(1, 3, n)
    st.patrollers = [[st.leaders[k], *helpers[2 * k : 2 * k + n_help[k]]] for k in range(n)]
    n_staff = 2 * n_comm + 1  # two per community office, one at the street office
    st.staff = synth_names(
        rng, np.where(rng.random(n_staff) < 0.6, "F", "M"), rng.integers(1970, 2000, n_staff)
    )


def addresser(st: Street):
    """A function giving points their road names and house numbers.

    Numbers are odd on the left of the road, even on the right.

    Parameters
    ----------
    st : Street
        The street, with its road designs laid out.

    Returns
    -------
    callable
        Points (local metres) -> (road names, house numbers).
    """
    lines = np.array([d["geometry"] for d in st.designs], dtype=object)
    tree = shapely.STRtree(lines)

    def address(points) -> tuple[list[str], np.ndarray]:
        near = tree.query_nearest(points, all_matches=False)[1]
        pos = shapely.line_locate_point(lines[near], points)
        a = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], pos))
        b = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], pos + 1.0))
        p = shapely.get_coordinates(points)
        left = (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[:, 0] - a[:, 0])
        number = 2 * (pos // 40).astype(int) + np.where(left > 0, 1, 2)
        return [st.designs[i]["name"] for i in near], number

    return address


def codes_and_addresses(st: Street, rng) -> None:
    """Codes, names and addresses of the compounds and buildings.

    Compounds get community code + 'C' + seq and addresses like '...路12号院'; buildings get
    grid code + 'B' + seq and addresses like '...号院3号楼'.

    Parameters
    ----------
    st : Street
        The street being built, filled in place.
    rng : numpy.random.Generator
        The demo's random generator.
    """
    address = addresser(st)
    comp_comm = st.block_comm[st.compounds["block"].to_numpy()]
    st.compounds["community"] = comp_comm
    st.comp_code = np.empty(len(st.compounds), dtype=object)
    cxy = shapely.get_coordinates(shapely.centroid(st.compounds["geometry"].to_numpy()))
    for c in range(len(st.comm_codes)):
        mine = np.flatnonzero(comp_comm == c)
        for seq, k in enumerate(mine[reading_order(cxy[mine, 0], cxy[mine, 1], 150.0)], start=1):
            st.comp_code[k] = f"{st.comm_codes[c]}C{seq:03d}"
    pool = [s + t for s in STEMS for t in COMPOUND_TAILS if s[-1] != t[0]]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    institutes = list(INSTITUTE_COMPOUNDS)
    st.comp_name = [
        institutes.pop(0) if institutes and rng.random() < 0.06 else pool.pop()
        for _ in range(len(st.compounds))
    ]
    roads, numbers = address(shapely.points(cxy))
    used: set[tuple[str, int]] = set()
    st.comp_addr = []
    for r, num in zip(roads, numbers.tolist(), strict=True):
        while (r, num) in used:
            num += 2
        used.add((r, num))
        st.comp_addr.append(f"{STREET_NAME}{r}{num}号院")

    b = st.bld
    b["grid"] = st.block_grid[b["block"].to_numpy()]
    bxy = shapely.get_coordinates(shapely.centroid(b["geometry"].to_numpy()))
    b = b.iloc[np.lexsort((bxy[:, 0], -np.round(bxy[:, 1]), b["grid"].to_numpy()))]
    b = b.reset_index(drop=True)
    seq = pd.Series(b.groupby("grid").cumcount() + 1).astype(str).str.zfill(3).to_numpy(object)
    b["code"] = st.grid_code[b["grid"].to_numpy()] + "B" + seq
    in_comp = b["compound"].to_numpy() >= 0
    number_in = b.groupby("compound").cumcount().to_numpy() + 1
    roads, numbers = address(shapely.centroid(b["geometry"].to_numpy()))
    service_names = {
        "public": ("物业用房", "社区用房", "综合楼"),
        "other": ("配电室", "自行车棚"),
        "office": ("办公楼", "科研楼", "综合办公楼"),
        "commercial": ("商业楼", "综合商业楼", "商务楼"),
    }
    names, addrs = [], []
    for i, (use, ci) in enumerate(zip(b["use"], b["compound"], strict=True)):
        if in_comp[i]:
            label_ = (
                f"{number_in[i]}号楼"
                if use in ("residential", "mixed")
                else pick(rng, service_names[use])
            )
            names.append(label_)
            addrs.append(f"{st.comp_addr[ci]}{number_in[i]}号楼")
        else:
            own = f"{roads[i]}{numbers[i]}号"
            names.append(pick(rng, service_names[use]) if use in service_names else f"{own}楼")
            addrs.append(f"{STREET_NAME}{own}")
    b["name"], b["address"] = names, addrs
    b["compound_code"] = np.where(in_comp, st.comp_code[np.maximum(b["compound"], 0)], None)
    b["grid_code"] = st.grid_code[b["grid"].to_numpy()]
    st.bld = b
