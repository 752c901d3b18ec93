"""Builder stages of the synthetic street that record activity: facilities, key sites,
inspections, hazards and patrols."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point

from gridmap import vocab
from gridmap.demo.synth_common import (
    ARTERIAL_X_M,
    ARTERIAL_Y_M,
    METRIC_CRS,
    MIDNIGHT,
    OVERDUE_SITE_SHARE,
    PATROL_DAYS,
    STREET_CODE,
    STREET_NAME,
    pick,
    synth_names,
)
from gridmap.demo.synth_places import Street, addresser
from gridmap.demo.synth_records import (
    FACILITY_PLAN,
    HAZARD_STEPS,
    HAZARD_TEXT,
    IN_BUILDING,
    INSPECTION_NOTES,
    KEY_SITE_FROM_FACILITY,
    KEY_SITE_PLAN,
    ONLY_IN_COMMUNITIES,
    fill,
    frontage_points,
    gps_fixes,
    hazard_steps,
    inspection_history,
    office_time,
    random_route,
    reachable_adjacency,
    roadside_points,
    route_coords,
    walk_graph,
)
from gridmap.units import metres_for


def facility_rows(st: Street, rng) -> tuple[pd.DataFrame, list]:
    """Service facilities of every GB 50180 category, with deliberate gaps.

    Parameters
    ----------
    st : Street
        The street being built.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of pandas.DataFrame and list
        The facility rows and their points (local metres).
    """
    comm_blocks = [np.flatnonzero(st.block_comm == c) for c in range(len(st.comm_codes))]
    b = st.bld
    non_res = b[(b["compound"] < 0) & ~b["use"].isin(["residential", "mixed"])]
    used_blocks: set[int] = set()
    edges = st.net["geometry"].to_numpy()
    street_m = shapely.buffer(st.street_poly, 1.0)
    art = np.flatnonzero(st.is_arterial & shapely.covered_by(edges, street_m))
    lines = np.array([d["geometry"] for d in st.designs], dtype=object)
    line_tree = shapely.STRtree(lines)
    rows, geoms = [], []
    used: set[str] = set()
    for cat in vocab.FACILITY_CATEGORIES:
        count, cap, names = FACILITY_PLAN[cat.code]
        comms = ONLY_IN_COMMUNITIES.get(cat.code, tuple(range(len(st.comm_codes))))
        for k in range(count):
            c = comms[k % len(comms)] if cat.code != "community_service_station" else k
            c %= len(st.comm_codes)
            pt = frontage_points(
                st.blocks[[int(rng.choice(comm_blocks[c]))]], rng.uniform(4.0, 7.0), rng
            )[0]
            cross = ""
            if cat.code in IN_BUILDING:  # inside a building of the right kind, one per block
                cands = non_res[
                    (non_res["use"] == IN_BUILDING[cat.code]) & ~non_res["block"].isin(used_blocks)
                ]
                if len(cands):
                    row = cands.iloc[int(rng.integers(len(cands)))]
                    pt = shapely.centroid(row["geometry"])
                    used_blocks.add(int(row["block"]))
            elif cat.code == "bus_stop":  # beside an arterial, named after the cross street
                e = int(rng.choice(art))
                pt = roadside_points(edges[[e]], 8.0, st.street_poly, rng)[0]
                near = line_tree.query(shapely.buffer(pt, 250.0))
                near = [i for i in near if st.designs[i]["name"] != st.net["name"].iat[e]]
                cross = (
                    st.designs[near[int(np.argmin(shapely.distance(lines[near], pt)))]]["name"]
                    if near
                    else st.net["name"].iat[e]
                )
            elif cat.code == "metro_station":  # only one, just outside the east edge
                pt = Point(ARTERIAL_X_M[-1] + 30.0, ARTERIAL_Y_M[1] + 40.0)
            rows.append(
                {
                    "name": fill(names, k, rng, used, st.comm_names[c], cross),
                    "category": cat.code,
                    "capacity": int(rng.integers(cap[0], cap[1] + 1)),
                }
            )
            geoms.append(pt)
    fac = pd.DataFrame(rows)
    fac.insert(0, "code", [f"{STREET_CODE}F{i + 1:03d}" for i in range(len(fac))])
    return fac, geoms


def key_site_rows(st: Street, fac: pd.DataFrame, fac_geoms: list, rng) -> tuple[pd.DataFrame, list]:
    """Key sites of every category.

    Schools, kindergartens, markets and nursing homes are the matching facilities; old
    buildings are real 1980s slabs.

    Parameters
    ----------
    st : Street
        The street being built.
    fac : pandas.DataFrame
        The facility rows of :func:`facility_rows`.
    fac_geoms : list
        Their points (local metres).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of pandas.DataFrame and list
        The key-site rows and their points (local metres).
    """
    address = addresser(st)
    comm_blocks = [np.flatnonzero(st.block_comm == c) for c in range(len(st.comm_codes))]
    old_b = st.bld[st.bld["old"] & st.bld["use"].eq("residential")]
    old_b = old_b.iloc[rng.permutation(len(old_b))]  # distinct 1980s slabs, random order
    edges = st.net["geometry"].to_numpy()
    art = np.flatnonzero(
        st.is_arterial & shapely.covered_by(edges, shapely.buffer(st.street_poly, 1.0))
    )
    parks = [i for i, kd in enumerate(st.public_kind) if kd == "park"]
    rows, geoms, used = [], [], set(fac["name"])
    for cat in vocab.KEY_SITE_CATEGORIES:
        count, where, names = KEY_SITE_PLAN[cat.code]
        same = fac.index[fac["category"].isin(KEY_SITE_FROM_FACILITY.get(cat.code, ()))].tolist()
        for k in range(count):
            c = int(rng.integers(len(st.comm_codes)))
            addr = None
            if k < len(same):
                name, pt = fac["name"].iat[same[k]], fac_geoms[same[k]]
            elif where == "old" and k < len(old_b):
                row = old_b.iloc[k]
                pt, addr = shapely.centroid(row["geometry"]), row["address"]
                name = f"{row['address']}（老旧房屋）"
            else:
                name = fill(names, k, rng, used, st.comm_names[c])
                if where == "park" and parks:
                    park = st.blocks[parks[k % len(parks)]]
                    pt = shapely.point_on_surface(shapely.buffer(park, -20.0))
                elif where == "compound":
                    ci = int(rng.integers(len(st.compounds)))
                    g = next(g for g in st.gates if g["compound"] == ci)
                    hub = st.lanes[[x["compound"] for x in st.lanes].index(ci)]["coords"][0]
                    inward = hub - g["xy"]  # 10 m inside the gate, towards the hub
                    pt = Point(g["xy"] + inward * min(10.0 / np.hypot(*inward), 0.5))
                elif where == "arterial":
                    e = int(rng.choice(art))
                    pt = roadside_points(edges[[e]], 7.0, st.street_poly, rng)[0]
                else:
                    pt = frontage_points(
                        st.blocks[[int(rng.choice(comm_blocks[c]))]], rng.uniform(4.0, 7.0), rng
                    )[0]
            if addr is None:
                road, num = address(np.array([pt]))
                addr = f"{STREET_NAME}{road[0]}{num[0]}号"
            rows.append(
                {
                    "name": name,
                    "category": cat.code,
                    "address": addr,
                    "inspection_interval_days": vocab.INSPECTION_INTERVAL_DAYS[cat.code],
                }
            )
            geoms.append(pt)
    return _coded_in_grids(st, pd.DataFrame(rows), geoms), geoms


def _coded_in_grids(st: Street, ks: pd.DataFrame, geoms: list) -> pd.DataFrame:
    """The key sites numbered, each in the grid holding it (else the nearest grid)."""
    pts = np.array(geoms, dtype=object)
    tree = shapely.STRtree(st.grid_polys)
    owner = np.full(len(ks), -1)
    a, g = tree.query(pts, predicate="within")
    owner[a] = g
    if (owner < 0).any():
        owner[owner < 0] = tree.query_nearest(pts[owner < 0], all_matches=False)[1]
    ks.insert(0, "code", [f"{STREET_CODE}K{i + 1:04d}" for i in range(len(ks))])
    ks.insert(4, "grid_code", st.grid_code[owner])
    ks["grid"] = owner
    return ks


def inspection_rows(st: Street, ks: pd.DataFrame, rng) -> pd.DataFrame:
    """Inspection history over ~90 days per key site; ~15% of sites are overdue.

    Parameters
    ----------
    st : Street
        The street being built (its office staff inspect).
    ks : pandas.DataFrame
        The key-site rows of :func:`key_site_rows`.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    pandas.DataFrame
        One row per inspection.
    """
    overdue = rng.random(len(ks)) < OVERDUE_SITE_SHARE
    rows = []
    for i, (code, interval, g) in enumerate(
        zip(ks["code"], ks["inspection_interval_days"], ks["grid"], strict=True)
    ):
        for days in inspection_history(int(interval), bool(overdue[i]), rng):
            at = (
                MIDNIGHT
                - timedelta(days=days)
                + timedelta(hours=int(rng.integers(9, 17)), minutes=int(rng.integers(0, 60)))
            )
            result = str(rng.choice(["ok", "issue_found", "closed_site"], p=[0.84, 0.13, 0.03]))
            rows.append(
                {
                    "site_code": code,
                    "inspected_at": at,
                    "inspector": st.leaders[g],
                    "result": result,
                    "notes": pick(rng, INSPECTION_NOTES[result]),
                }
            )
    out = pd.DataFrame(rows).sort_values(["site_code", "inspected_at"], ignore_index=True)
    out["inspected_at"] = pd.to_datetime(out["inspected_at"])
    return out


def hazard_rows(st: Street, rng) -> tuple[pd.DataFrame, list]:
    """Hazard cases across the workflow with a consistent step history.

    Parameters
    ----------
    st : Street
        The street being built.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of pandas.DataFrame and list
        The case rows and their points (local metres).
    """
    n = int(rng.integers(100, 131))
    statuses = [s[0] for s in HAZARD_STEPS]
    status = rng.choice(statuses, n, p=[0.07, 0.08, 0.15, 0.12, 0.08, 0.5])
    cats = rng.choice(
        [t.code for t in vocab.HAZARD_CATEGORIES], n, p=[0.25, 0.1, 0.15, 0.1, 0.1, 0.1, 0.15, 0.05]
    )
    sev = rng.choice(["low", "medium", "high"], n, p=[0.6, 0.3, 0.1])
    where = rng.integers(0, len(st.bld), n)
    residents = synth_names(
        rng, np.where(rng.random(n) < 0.5, "F", "M"), rng.integers(1950, 1995, n)
    )
    owners = synth_names(rng, np.where(rng.random(n) < 0.3, "F", "M"), rng.integers(1965, 1990, n))
    rows, geoms = [], []
    for i in range(n):
        b = st.bld.iloc[int(where[i])]
        g, c = int(b["grid"]), int(st.grid_comm[int(b["grid"])])
        found_ago, deadline_d, offsets = hazard_steps(str(status[i]), str(sev[i]), rng)
        found = office_time(MIDNIGHT - timedelta(days=found_ago), rng)
        reporter = st.leaders[g] if rng.random() < 0.75 else f"{residents[i]}（居民）"
        responsible = str(owners[i])
        actors = {
            "report": reporter,
            "file": st.staff[2 * c],
            "assign": st.staff[-1],
            "handle": responsible,
            "reinspect": st.leaders[g],
            "close": st.staff[2 * c + 1],
        }
        history = _hazard_history(actors, found, deadline_d, offsets, rng)
        pt = shapely.centroid(b["geometry"])
        if cats[i] == "traffic":  # on the street beside the building's block
            pt = frontage_points(st.blocks[[int(b["block"])]], 5.0, rng)[0]
        rows.append(
            {
                "category": str(cats[i]),
                "severity": str(sev[i]),
                "status": str(status[i]),
                "description": f"{b['address']}：{pick(rng, HAZARD_TEXT[str(cats[i])])}",
                "found_at": found,
                "deadline": found + timedelta(days=deadline_d),
                "closed_at": history[-1]["at"] if status[i] == "closed" else None,
                "reporter": reporter,
                "responsible": responsible if len(history) >= 3 else None,
                "grid_code": st.grid_code[g],
                "history": history,
            }
        )
        geoms.append(pt)
    order = np.argsort([r["found_at"] for r in rows], kind="stable")
    rows, geoms = [rows[i] for i in order], [geoms[i] for i in order]
    hz = pd.DataFrame(rows)
    hz.insert(0, "code", [f"YH{r['found_at']:%Y%m%d}{i + 1:03d}" for i, r in enumerate(rows)])
    for col in ("found_at", "deadline", "closed_at"):
        hz[col] = pd.to_datetime(hz[col])
    return hz, geoms


def _hazard_history(actors: dict, found, deadline_d: float, offsets: list, rng) -> list[dict]:
    """The steps a case went through, each by its actor, on working days after ``found``."""
    responsible = actors["handle"]
    history, prev, at = [], None, found
    for (to, action, note), off in zip(HAZARD_STEPS, offsets, strict=False):
        if action == "assign":
            note = f"责任人：{responsible}，限{deadline_d:.0f}天内整改"
        if prev is not None:  # on a working day after the previous step, never today
            day = min(found + timedelta(days=off), MIDNIGHT - timedelta(days=1))
            at = max(office_time(day, rng), at + timedelta(minutes=10))
        history.append(
            {
                "at": at,
                "actor": str(actors[action]),
                "action": action,
                "from_status": prev,
                "to_status": to,
                "note": note,
            }
        )
        prev = to
    return history


@dataclass(frozen=True)
class _WalkNet:
    """The road rows as a walking graph: edge ``i`` runs from node ``eu[i]`` to ``ev[i]``."""

    coords: list
    walkable: np.ndarray
    internal: np.ndarray
    street: np.ndarray  # named public streets
    eu: np.ndarray
    ev: np.ndarray
    lengths_l: list
    node_xy: np.ndarray


def patrol_rows(st: Street, rng) -> tuple[pd.DataFrame, np.ndarray]:
    """Four weeks of patrols per grid along the walking network (see ``random_route``).

    Parameters
    ----------
    st : Street
        The street being built, with its roads, grids and patrollers.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of pandas.DataFrame and numpy.ndarray
        The track rows and their line geometries (local metres).
    """
    net = _walk_net(st.road_rows)
    coords = net.coords
    lines = np.array([LineString(c) for c in coords], dtype=object)
    gi, ei = shapely.STRtree(lines).query(shapely.buffer(st.grid_polys, 40.0), predicate="contains")
    days = [MIDNIGHT - timedelta(days=d) for d in range(PATROL_DAYS, 0, -1)]
    rows: list[dict[str, Any]] = []
    xys: list[np.ndarray] = []
    for g in range(len(st.grid_polys)):
        adj, home = _patrol_area(net, ei[gi == g], st.grid_polys[g], rng)
        nodes = np.array(sorted(adj))
        weight = np.ones(len(coords))
        night_weight = np.where(net.internal, weight * 4.0, weight)  # night: inside compounds
        street_m = float(sum(net.lengths_l[e] for opts in adj.values() for e, _, _ in opts)) / 2
        for day in days:
            for _ in range(int(rng.choice(4, p=[0.1, 0.45, 0.35, 0.1]))):
                night = rng.random() < 0.15
                speed_kmh = float(rng.uniform(3.5, 5.0))
                minutes = float(rng.uniform(25, 60) if night else rng.uniform(35, 85))
                target_m = min(float(metres_for(minutes, speed_kmh)), 2.5 * street_m)
                start = home if rng.random() < 0.6 else int(rng.choice(nodes))
                route = random_route(
                    adj,
                    start,
                    target_m,
                    net.lengths_l,
                    (night_weight if night else weight).tolist(),
                    rng.random(3000).tolist(),
                )
                if not route:
                    continue
                xy, times = _patrol_fixes(route, coords, speed_kmh, rng)
                hour = rng.uniform(19.0, 22.0) if night else rng.uniform(8.0, 16.5)
                started = (day + timedelta(hours=float(hour))).replace(second=0, microsecond=0)
                who = st.patrollers[g][
                    0 if rng.random() < 0.6 else int(rng.integers(len(st.patrollers[g])))
                ]
                rows.append(
                    {
                        "code": f"PT{started:%Y%m%d}{len(rows) + 1:05d}",
                        "patroller": who,
                        "grid_code": st.grid_code[g],
                        "started_at": started,
                        "ended_at": started + timedelta(seconds=float(times[-1])),
                        "times": times.tolist(),
                    }
                )
                xys.append(xy)
    geoms = shapely.linestrings(
        np.vstack(xys), indices=np.repeat(np.arange(len(xys)), [len(x) for x in xys])
    )
    tracks = pd.DataFrame(rows)
    for col in ("started_at", "ended_at"):
        tracks[col] = pd.to_datetime(tracks[col])
    return tracks, geoms


def _walk_net(road_rows: list) -> _WalkNet:
    """The walking graph of the road rows, with each road's kind and length (metres)."""
    coords = [r["coords"] for r in road_rows]
    eu, ev, n_nodes = walk_graph(coords)
    lengths = np.array([np.hypot(*np.diff(c, axis=0).T).sum() for c in coords])
    node_xy = np.zeros((n_nodes, 2))
    node_xy[eu] = [c[0] for c in coords]
    node_xy[ev] = [c[-1] for c in coords]
    return _WalkNet(
        coords=coords,
        walkable=np.array([r["foot"] != "no" for r in road_rows]),
        internal=np.array([r["compound"] >= 0 for r in road_rows]),
        street=np.array([r["name"] is not None for r in road_rows]),
        eu=eu,
        ev=ev,
        lengths_l=lengths.tolist(),
        node_xy=node_xy,
    )


def _patrol_area(net: _WalkNet, es: np.ndarray, grid_poly, rng) -> tuple[dict, int]:
    """The walkable roads a grid's patrols use, as adjacency, and the node they start from."""
    es = es[net.walkable[es]]
    street = net.street
    # each grid skips a different share of its streets, so coverage differs
    skip = street[es] & (rng.random(len(es)) < rng.uniform(0.0, 0.5))
    centre = shapely.get_coordinates(shapely.centroid(grid_poly))[0]
    ends = np.r_[net.eu[es[street[es]]], net.ev[es[street[es]]]]
    home = int(ends[np.argmin(np.hypot(*(net.node_xy[ends] - centre).T))])
    adj = reachable_adjacency(es[~skip], net.eu, net.ev, home)
    if sum(map(len, adj.values())) / 2 < 0.5 * len(es):  # skipping cut the grid apart
        adj = reachable_adjacency(es, net.eu, net.ev, home)
    return adj, home


def _patrol_fixes(route, coords, speed_kmh: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """GPS fixes along a route, now and then with a wrong fix or a gap in the signal."""
    xy, times = gps_fixes(
        route_coords(route, coords),
        speed_kmh,
        float(rng.uniform(10, 30)),
        float(rng.uniform(3, 8)),
        rng,
    )
    if len(xy) > 40 and rng.random() < 0.03:  # a wrong fix or few, 200-500 m off
        j = int(rng.integers(5, len(xy) - 10))
        ang = rng.uniform(0, 2 * np.pi)
        xy[j : j + int(rng.integers(1, 5))] += rng.uniform(200, 500) * np.array(
            [np.cos(ang), np.sin(ang)]
        )
    if len(xy) > 60 and rng.random() < 0.04:  # signal lost for a while
        j = int(rng.integers(10, len(xy) - 40))
        keep = np.r_[0:j, j + int(rng.integers(8, 25)) : len(xy)]
        xy, times = xy[keep], times[keep]
    return xy, times


def wgs_frame(data: dict, geoms, origin: np.ndarray) -> gpd.GeoDataFrame:
    """GeoDataFrame in EPSG:4326 from local-metre geometries.

    Parameters
    ----------
    data : dict
        The columns.
    geoms : sequence of shapely geometries
        Geometries in metres east/north of ``origin``.
    origin : numpy.ndarray
        The anchor's (x, y) in the metric CRS (EPSG:4548).

    Returns
    -------
    geopandas.GeoDataFrame
        The frame in EPSG:4326.
    """
    g = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: xy + origin)
    return gpd.GeoDataFrame(data, geometry=g, crs=METRIC_CRS).to_crs("EPSG:4326")
