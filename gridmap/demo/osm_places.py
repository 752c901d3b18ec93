"""Places of the OSM demo city (metric CRS): walkable roads, buildings, grids and
communities from street blocks, compounds and their gates."""

from __future__ import annotations

import logging
import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import split as split_geometry

from gridmap.demo import people
from gridmap.demo.osm_rules import (
    BLOCK_HIGHWAYS,
    COMMUNITY_HOUSEHOLDS,
    COMPOUND_KINDS,
    CRS,
    FRAME_MARGIN_M,
    GATE_SNAP_M,
    GRID_HOUSEHOLDS,
    M2_PER_DWELLING,
    MIN_COMPOUND_PIECE_M2,
    PEDESTRIAN_GATES,
    SINGLE_DWELLING,
    USE_FROM_LANDUSE,
    building_floors,
    building_use,
    chinese_numeral,
    osm_code,
    road_access,
    tag_text,
)
from gridmap.demo.regions import grow_regions, shared_boundaries, split_heavy_block, split_in_two
from gridmap.ordering import reading_order, reading_sequence
from gridmap.walkable import FOOT_YES, internal_highway, walkable

logger = logging.getLogger("gridmap.demo.osm_city")


class Notes:
    """Collects warnings for the caller; details go to the log at INFO, summaries at WARNING."""

    def __init__(self, sink: list[str] | None) -> None:
        self.sink = sink if sink is not None else []

    def __call__(self, message: str, level: int = logging.WARNING) -> None:
        logger.log(level, message)
        self.sink.append(message)


def _column(values) -> pd.Series | list:
    """Text columns stay ``object`` with None (pandas would otherwise turn None into NaN)."""
    values = list(values) if not np.isscalar(values) else values
    if isinstance(values, list) and any(isinstance(v, str) for v in values):
        return pd.Series(values, dtype=object)
    return values


def frame_of(data: dict, geoms, crs) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({k: _column(v) for k, v in data.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs=crs), crs=crs)


def to_wgs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(CRS)


def walk_roads(ways: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """Walkable ways split at junctions (nodes shared with another walkable way), metric."""
    columns = ["code", "name", "highway", "foot", "access", "compound_code"]
    ways = ways.reset_index(drop=True)
    walk = walkable(
        ways["highway"].to_numpy(object),
        ways["foot"].to_numpy(object) if "foot" in ways else None,
        ways["access"].to_numpy(object) if "access" in ways else None,
        in_compound=True,
    )
    ways = ways[walk].reset_index(drop=True)
    if ways.empty:
        return frame_of({c: [] for c in columns}, [], crs)
    node_lists = list(ways["nodes"]) if "nodes" in ways else [None] * len(ways)
    uses = Counter(n for nodes in node_lists if nodes is not None for n in nodes)
    metric = ways.geometry.to_crs(crs)
    rows, geoms = [], []
    for k, row in ways.iterrows():
        coords = shapely.get_coordinates(metric.iloc[k])
        nodes = node_lists[k]
        cuts = [0, len(coords) - 1]
        if nodes is not None and len(nodes) == len(coords):
            cuts = [0] + [i for i in range(1, len(nodes) - 1) if uses[nodes[i]] > 1] + cuts[1:]
        pieces = [coords[a : b + 1] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
        base = f"osm-w{int(row['osm_id'])}"
        for p, piece in enumerate(pieces, start=1):
            rows.append(
                {
                    "code": base if len(pieces) == 1 else f"{base}-{p}",
                    "name": tag_text(row.get("name"), 100),
                    "highway": tag_text(row["highway"], 32),
                    "foot": "yes"
                    if tag_text(row.get("foot")) in FOOT_YES
                    else ("no" if tag_text(row.get("foot")) == "no" else None),
                    "access": road_access(row.get("foot"), row.get("access")),
                    "compound_code": None,
                }
            )
            geoms.append(shapely.LineString(piece))
    return frame_of({c: [r[c] for r in rows] for c in columns}, geoms, crs)


def street_lines(ways_m: gpd.GeoDataFrame, areas_m: gpd.GeoDataFrame) -> np.ndarray:
    """Lines that bound street blocks: BLOCK_HIGHWAYS ways, except those lying (>= 90% of
    their length) inside a compound area, so that a gated compound stays one block."""
    lines = np.asarray(ways_m.geometry[ways_m["highway"].isin(BLOCK_HIGHWAYS)].values, dtype=object)
    grounds = np.asarray(
        areas_m.geometry[areas_m["kind"].isin(COMPOUND_KINDS)].values, dtype=object
    )
    if len(lines) == 0 or len(grounds) == 0:
        return lines
    li, gi = shapely.STRtree(grounds).query(lines, predicate="intersects")
    inside = np.zeros(len(lines))
    np.maximum.at(inside, li, shapely.length(shapely.intersection(lines[li], grounds[gi])))
    return lines[inside < 0.9 * shapely.length(lines)]


def frame_polygon(buildings_m: gpd.GeoSeries, ways_m: gpd.GeoSeries):
    geoms = buildings_m if len(buildings_m) else ways_m
    minx, miny, maxx, maxy = geoms.total_bounds
    return shapely.box(minx, miny, maxx, maxy).buffer(FRAME_MARGIN_M, join_style="mitre")


def _landuse_at(points: np.ndarray, areas_m: gpd.GeoDataFrame) -> list[str | None]:
    """Kind of the smallest area (landuse or institution ground) holding each point."""
    kinds: list[str | None] = [None] * len(points)
    relevant = areas_m[areas_m["kind"].isin(USE_FROM_LANDUSE)]
    if relevant.empty or len(points) == 0:
        return kinds
    geoms = np.asarray(relevant.geometry.values, dtype=object)
    pi, ai = shapely.STRtree(geoms).query(points, predicate="intersects")
    best: dict[int, tuple[float, str]] = {}
    areas = shapely.area(geoms)
    for p, a in zip(pi, ai, strict=True):
        if p not in best or areas[a] < best[p][0]:
            best[p] = (areas[a], relevant["kind"].iloc[a])
    for p, (_area, kind) in best.items():
        kinds[p] = kind
    return kinds


def prepare_buildings(buildings: gpd.GeoDataFrame, areas_m: gpd.GeoDataFrame, crs):
    """Metric buildings with code, use, floors, dwellings and centroid columns."""
    b = buildings.to_crs(crs).reset_index(drop=True)
    cent = shapely.centroid(np.asarray(b.geometry.values, dtype=object))
    kinds = _landuse_at(cent, areas_m)
    tags = [t if isinstance(t, dict) else {} for t in b.get("tags", [None] * len(b))]
    b["use"] = [building_use(bt, t, k) for bt, t, k in zip(b["building"], tags, kinds, strict=True)]
    b["floors"] = [
        building_floors(lv, h, bt, u)
        for lv, h, bt, u in zip(
            b.get("levels", [None] * len(b)),
            b.get("height", [None] * len(b)),
            b["building"],
            b["use"],
            strict=True,
        )
    ]
    residential = b["use"].isin(["residential", "mixed"]).to_numpy()
    res_floors = np.where(b["use"] == "mixed", np.maximum(b["floors"] - 1, 1), b["floors"])
    dwell = people.dwelling_counts(
        b.geometry.area, res_floors, residential, m2_per_dwelling=M2_PER_DWELLING
    )
    single = b["building"].isin(SINGLE_DWELLING).to_numpy() & residential
    b["dwellings"] = np.where(single, 1, dwell)
    b["code"] = [osm_code(t, i) for t, i in zip(b["osm_type"], b["osm_id"], strict=True)]
    b["cx"], b["cy"] = shapely.get_x(cent), shapely.get_y(cent)
    return b


def grids_from_blocks(blocks, b: gpd.GeoDataFrame, notes: Notes):
    """Split heavy blocks, then grow grids; returns (grid polygons, households per grid)."""
    xy = b[["cx", "cy"]].to_numpy()
    weights = b["dwellings"].to_numpy(dtype=float)
    pieces = []
    tree_idx = shapely.STRtree(blocks).query(shapely.points(xy), predicate="intersects")
    owner = np.full(len(xy), -1)
    owner[tree_idx[0][::-1]] = tree_idx[1][::-1]  # first block wins on a shared edge
    for k, block in enumerate(blocks):
        mine = owner == k
        pieces += split_heavy_block(block, xy[mine], weights[mine], GRID_HOUSEHOLDS[1])
    pieces = shapely.get_parts(np.asarray(pieces, dtype=object))
    if len(pieces) == 1:  # one block only: halve it so that two communities can exist
        c = pieces[0].centroid
        pieces = shapely.get_parts(
            split_geometry(
                pieces[0],
                shapely.LineString(
                    [(c.x, pieces[0].bounds[1] - 1), (c.x, pieces[0].bounds[3] + 1)]
                ),
            )
        )
    inside = shapely.STRtree(pieces).query(shapely.points(xy), predicate="intersects")
    owner = np.full(len(xy), -1)
    owner[inside[0][::-1]] = inside[1][::-1]
    piece_w = np.bincount(owner[owner >= 0], weights=weights[owner >= 0], minlength=len(pieces))
    nbrs = shared_boundaries(pieces)
    cent = shapely.centroid(pieces)
    centers = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    order = reading_order(
        centers[:, 0], centers[:, 1], float(np.sqrt(np.median(shapely.area(pieces))))
    )
    low, high = GRID_HOUSEHOLDS
    label = grow_regions(piece_w, nbrs, order, centers, low=low, high=high, min_keep=low / 2)
    label = split_in_two(label, nbrs, order, piece_w)
    grids = [shapely.union_all(pieces[label == r]) for r in range(label.max() + 1)]
    totals = np.bincount(label, weights=piece_w)
    over = int((totals > 1.5 * high).sum())
    if over:
        notes(
            f"{over} grids hold more than {1.5 * high:.0f} households (blocks could not be "
            "split further between buildings)"
        )
    return np.asarray(grids, dtype=object), totals


def communities_of(grids, households) -> np.ndarray:
    """Community label per grid: adjacent grids grown to ~COMMUNITY_HOUSEHOLDS, at least 2."""
    nbrs = shared_boundaries(grids)
    cent = shapely.centroid(grids)
    centers = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    order = reading_order(
        centers[:, 0], centers[:, 1], float(np.sqrt(np.median(shapely.area(grids))))
    )
    total = float(np.sum(households))
    k = max(2, round(total / COMMUNITY_HOUSEHOLDS))
    k = min(k, len(grids))
    target = total / k if k else total
    label = grow_regions(
        households,
        nbrs,
        order,
        centers,
        low=0.85 * target,
        high=1.3 * target,
        min_keep=0.45 * target,
    )
    return split_in_two(label, nbrs, order, households)


def reading_sequence_of(geoms) -> np.ndarray:
    """Sequence number (1-based) of each polygon in reading order."""
    cent = shapely.centroid(np.asarray(geoms, dtype=object))
    return reading_sequence(
        shapely.get_x(cent), shapely.get_y(cent), float(np.sqrt(np.median(shapely.area(geoms))))
    )


def assign_to(points, polys) -> np.ndarray:
    """Index of the polygon holding each point (first on shared edges), -1 outside."""
    owner = np.full(len(points), -1)
    if len(points) == 0 or len(polys) == 0:
        return owner
    pi, gi = shapely.STRtree(np.asarray(polys, dtype=object)).query(points, predicate="intersects")
    owner[pi[::-1]] = gi[::-1]
    return owner


def compounds_in(areas_m, grids_m: gpd.GeoDataFrame, notes: Notes):
    """Compound pieces: candidate areas, smallest first (nested ones keep their own ground),
    clipped to each grid."""
    cand = areas_m[areas_m["kind"].isin(COMPOUND_KINDS)].copy()
    columns = ["code", "name", "community_code", "grid_code", "outline"]
    if cand.empty:
        return frame_of({c: [] for c in columns}, [], grids_m.crs)
    cand["area_m2"] = cand.geometry.area
    cand = cand.sort_values(["area_m2", "osm_id"]).reset_index(drop=True)
    grid_geoms = np.asarray(grids_m.geometry.values, dtype=object)
    tree = shapely.STRtree(grid_geoms)
    cand_geoms = np.asarray(cand.geometry.values, dtype=object)
    cand_tree = shapely.STRtree(cand_geoms)
    placed = np.zeros(len(cand), dtype=bool)
    rows, geoms = [], []
    for i, area in cand.iterrows():
        geom = area["geometry"]
        inner = [k for k in cand_tree.query(geom, predicate="intersects") if placed[k]]
        if inner:  # smaller compounds placed before keep their ground
            geom = geom.difference(shapely.union_all(cand_geoms[inner]))
        hits = tree.query(geom, predicate="intersects")
        parts = []
        for g in sorted(hits):
            piece = shapely.intersection(geom, grid_geoms[g])
            piece_area = piece.area
            if piece_area >= max(MIN_COMPOUND_PIECE_M2, 0.05 * area.area_m2):
                parts.append((g, piece))
        if not parts:
            continue
        base = osm_code(area.osm_type, area.osm_id)
        label = tag_text(area.get("name"), 90) or f"{COMPOUND_KINDS[area.kind]}（OSM未命名）"
        for p, (g, piece) in enumerate(parts, start=1):
            polys = [q for q in shapely.get_parts(piece) if q.geom_type == "Polygon"]
            if not polys:
                continue
            multi = shapely.MultiPolygon(polys)
            # The piece's share of the real fence: not the grid cut, not nested compounds.
            fence = shapely.intersection(multi.boundary, area["geometry"].boundary.buffer(0.5))
            rows.append(
                {
                    "code": base if len(parts) == 1 else f"{base}-{p}",
                    "name": label if len(parts) == 1 else f"{label}（{chinese_numeral(p)}区）",
                    "community_code": grids_m["community_code"].iloc[g],
                    "grid_code": grids_m["code"].iloc[g],
                    "outline": multi.boundary if fence.is_empty else fence,
                }
            )
            geoms.append(multi)
            placed[i] = True
    out = frame_of({c: [r[c] for r in rows] for c in columns}, geoms, grids_m.crs)
    return out.sort_values("code").reset_index(drop=True)


def _direction(dx: float, dy: float) -> str:
    """Compass word (北, 东北, ...) of a vector, for gate names."""
    words = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
    return words[int(round(math.degrees(math.atan2(dy, dx)) / 45.0)) % 8]


def compound_gates(compounds_m, entrances_m, roads_m, block_roads_m, notes: Notes):
    """OSM entrances within GATE_SNAP_M of a compound's outline; an inferred gate where a
    road meets the outline for compounds without any."""
    rows, geoms, inferred_count = [], [], 0
    ent_geoms = (
        np.asarray(entrances_m.geometry.values, dtype=object)
        if len(entrances_m)
        else np.array([], dtype=object)
    )
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    streets = shapely.union_all(np.asarray(block_roads_m, dtype=object))
    for _, comp in compounds_m.iterrows():
        poly, outline = comp["geometry"], comp["outline"]
        centre = poly.representative_point()
        found = []
        if len(ent_geoms):
            near = np.flatnonzero(
                (shapely.distance(ent_geoms, poly) <= GATE_SNAP_M)
                & (shapely.distance(ent_geoms, outline) <= GATE_SNAP_M)
            )
            found = [(ent_geoms[k], entrances_m.iloc[k]) for k in near]
        inferred = False
        if not found:
            point, how = _inferred_gate(outline, road_geoms, roads_m, streets)
            if point is None:
                notes(
                    f"compound {comp['code']} ({comp['name']}): no OSM entrance and no road "
                    "near its outline; no gate placed"
                )
                continue
            notes(
                f"compound {comp['code']} ({comp['name']}): no OSM entrance within "
                f"{GATE_SNAP_M:.0f} m of its outline; placed an inferred gate {how}",
                logging.INFO,
            )
            found, inferred = [(point, None)], True
            inferred_count += 1
        used: Counter[str] = Counter()
        for n, (geom, ent) in enumerate(found, start=1):
            word = _direction(geom.x - centre.x, geom.y - centre.y)
            used[word] += 1
            name = tag_text(ent["name"]) if ent is not None else None
            if name is None:
                name = f"{word}门" if used[word] == 1 else f"{word}{chinese_numeral(used[word])}门"
                name += "（推定）" if inferred else ""
            rows.append(
                {
                    "code": f"{comp['code']}-g{n}",
                    "compound_code": comp["code"],
                    "name": name[:50],
                    "kind": _gate_kind(ent),
                }
            )
            geoms.append(geom)
    if inferred_count:
        logger.warning(
            "%d of %d compounds have no OSM entrance within %.0f m of their outline: "
            "placed inferred gates (named …（推定）)",
            inferred_count,
            len(compounds_m),
            GATE_SNAP_M,
        )
    columns = ["code", "compound_code", "name", "kind"]
    return frame_of({c: [r[c] for r in rows] for c in columns}, geoms, compounds_m.crs)


def _gate_kind(ent) -> str:
    if ent is None:
        return "both"
    kind, foot = tag_text(ent.get("kind")), tag_text(ent.get("foot"))
    if foot == "no":
        return "vehicle"
    if (
        kind in PEDESTRIAN_GATES
        or tag_text(ent.get("access")) == "foot"
        or tag_text(ent.get("motor_vehicle")) == "no"
    ):
        return "pedestrian"
    return "both"


def _inferred_gate(outline, road_geoms, roads_m, streets):
    """Where a walkable road crosses the outline (the crossing nearest a public street),
    else the outline point nearest any road. Returns (point, description)."""
    if len(road_geoms) == 0:
        return None, ""
    hits = shapely.STRtree(road_geoms).query(outline, predicate="intersects")
    best = None
    for k in hits:
        for pt in shapely.get_parts(shapely.intersection(road_geoms[k], outline)):
            if pt.geom_type != "Point":
                pt = shapely.Point(shapely.get_coordinates(pt)[0])
            d = 0.0 if streets.is_empty else float(shapely.distance(pt, streets))
            if best is None or d < best[0]:
                best = (d, pt, k)
    if best is not None:
        road = roads_m.iloc[best[2]]
        return best[
            1
        ], f"where {tag_text(road['name']) or road['highway']} ({road['code']}) meets it"
    k = int(np.argmin(shapely.distance(road_geoms, outline)))
    pt = shapely.shortest_line(outline, road_geoms[k]).coords[0]
    return shapely.Point(pt), f"on the outline nearest to road {roads_m['code'].iloc[k]}"


def internal_roads(roads_m, compounds_m) -> list[str | None]:
    """Compound code of roads lying (>= 90% of their length) inside one compound."""
    out: list[str | None] = [None] * len(roads_m)
    if compounds_m.empty or roads_m.empty:
        return out
    comp_geoms = np.asarray(compounds_m.geometry.values, dtype=object)
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    ri, ci = shapely.STRtree(comp_geoms).query(road_geoms, predicate="intersects")
    inside = shapely.length(shapely.intersection(road_geoms[ri], comp_geoms[ci]))
    share = inside / np.maximum(shapely.length(road_geoms[ri]), 1e-9)
    internal = internal_highway(roads_m["highway"].to_numpy(object))
    for r, c, s in zip(ri, ci, share, strict=True):
        if s >= 0.9 and internal[r]:
            out[r] = compounds_m["code"].iloc[c]
    return out
