"""Places of the OSM demo city (metric CRS): walkable roads, buildings, grids and
communities from street blocks (compounds and their gates: :mod:`gridmap.demo.osm_compounds`)."""

from __future__ import annotations

import logging
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
    GRID_HOUSEHOLDS,
    M2_PER_DWELLING,
    SINGLE_DWELLING,
    USE_FROM_LANDUSE,
    building_floors,
    building_use,
    osm_code,
    road_access,
    tag_text,
)
from gridmap.demo.regions import grow_regions, shared_boundaries, split_heavy_block, split_in_two
from gridmap.ordering import reading_order, reading_sequence
from gridmap.walkable import FOOT_YES, walkable

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
    """A GeoDataFrame from columns and geometries.

    Parameters
    ----------
    data : dict
        The columns (scalars are repeated).
    geoms : sequence of shapely geometries
        One geometry per row.
    crs : pyproj.CRS or str
        Their CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The frame.
    """
    frame = pd.DataFrame({k: _column(v) for k, v in data.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs=crs), crs=crs)


def to_wgs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:4326, as every frame of a City is.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        A frame in the metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The frame in EPSG:4326.
    """
    return frame.to_crs(CRS)


def walk_roads(ways: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """Walkable ways split at junctions (nodes shared with another walkable way), metric.

    Parameters
    ----------
    ways : geopandas.GeoDataFrame
        The OSM ways (EPSG:4326), with their tags and node ids.
    crs : pyproj.CRS or str
        The metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The road pieces in the metric CRS.
    """
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
    """Lines that bound street blocks.

    These are the BLOCK_HIGHWAYS ways, except those lying (>= 90% of their length) inside a
    compound area, so that a gated compound stays one block.

    Parameters
    ----------
    ways_m : geopandas.GeoDataFrame
        The OSM ways in the metric CRS.
    areas_m : geopandas.GeoDataFrame
        The OSM areas in the metric CRS.

    Returns
    -------
    numpy.ndarray
        The lines.
    """
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
    """The area the street blocks tile: the buildings' box (else the ways') with a margin.

    Parameters
    ----------
    buildings_m : geopandas.GeoSeries
        The buildings in the metric CRS.
    ways_m : geopandas.GeoSeries
        The ways in the metric CRS.

    Returns
    -------
    shapely.Polygon
        The box grown by FRAME_MARGIN_M metres.
    """
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
    """Metric buildings with code, use, floors, dwellings and centroid columns.

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        The OSM buildings (EPSG:4326).
    areas_m : geopandas.GeoDataFrame
        The OSM areas in the metric CRS (the landuse sets a default use).
    crs : pyproj.CRS or str
        The metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The buildings in the metric CRS.
    """
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
    """Split heavy blocks, then grow grids from adjacent blocks.

    Parameters
    ----------
    blocks : numpy.ndarray
        The street blocks (metric CRS).
    b : geopandas.GeoDataFrame
        The buildings of :func:`prepare_buildings`.
    notes : Notes
        Receives the problems that do not stop the build.

    Returns
    -------
    tuple of numpy.ndarray
        The grid polygons and the households of each grid.
    """
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
    """Community label per grid: adjacent grids grown to ~COMMUNITY_HOUSEHOLDS, at least 2.

    Parameters
    ----------
    grids : numpy.ndarray
        The grid polygons (metric CRS).
    households : numpy.ndarray
        Households of each grid.

    Returns
    -------
    numpy.ndarray
        The community label of each grid.
    """
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
    """Sequence number (1-based) of each polygon in reading order.

    Parameters
    ----------
    geoms : sequence of shapely polygons
        The polygons (metric CRS).

    Returns
    -------
    numpy.ndarray
        The sequence numbers.
    """
    cent = shapely.centroid(np.asarray(geoms, dtype=object))
    return reading_sequence(
        shapely.get_x(cent), shapely.get_y(cent), float(np.sqrt(np.median(shapely.area(geoms))))
    )


def assign_to(points, polys) -> np.ndarray:
    """Index of the polygon holding each point (first on shared edges), -1 outside.

    Parameters
    ----------
    points : numpy.ndarray
        The points.
    polys : numpy.ndarray
        The polygons, in the points' CRS.

    Returns
    -------
    numpy.ndarray
        The polygon index of each point.
    """
    owner = np.full(len(points), -1)
    if len(points) == 0 or len(polys) == 0:
        return owner
    pi, gi = shapely.STRtree(np.asarray(polys, dtype=object)).query(points, predicate="intersects")
    owner[pi[::-1]] = gi[::-1]
    return owner
