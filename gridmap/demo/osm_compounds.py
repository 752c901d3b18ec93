"""Compounds of the OSM demo city (metric CRS): gated areas clipped to the grids, their
gates (OSM entrances, else inferred where a road meets the outline) and internal roads."""

from __future__ import annotations

import logging
import math
from collections import Counter

import geopandas as gpd
import numpy as np
import shapely

from gridmap.demo.osm_places import Notes, frame_of
from gridmap.demo.osm_rules import (
    COMPOUND_KINDS,
    GATE_SNAP_M,
    MIN_COMPOUND_PIECE_M2,
    PEDESTRIAN_GATES,
    chinese_numeral,
    osm_code,
    tag_text,
)
from gridmap.walkable import internal_highway

logger = logging.getLogger("gridmap.demo.osm_city")


def compounds_in(areas_m, grids_m: gpd.GeoDataFrame, notes: Notes):
    """Compound pieces: candidate areas clipped to each grid.

    Areas are taken smallest first, so nested ones keep their own ground.

    Parameters
    ----------
    areas_m : geopandas.GeoDataFrame
        The OSM areas in the metric CRS.
    grids_m : geopandas.GeoDataFrame
        The grids in the metric CRS.
    notes : Notes
        Receives the problems that do not stop the build.

    Returns
    -------
    geopandas.GeoDataFrame
        The compounds in the metric CRS.
    """
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
    """The gates of each compound.

    OSM entrances within GATE_SNAP_M of a compound's outline; an inferred gate where a road
    meets the outline for compounds without any.

    Parameters
    ----------
    compounds_m : geopandas.GeoDataFrame
        The compounds in the metric CRS.
    entrances_m : geopandas.GeoDataFrame
        The OSM entrances in the metric CRS.
    roads_m : geopandas.GeoDataFrame
        The walkable roads in the metric CRS.
    block_roads_m : numpy.ndarray
        The lines that bound street blocks.
    notes : Notes
        Receives the problems that do not stop the build.

    Returns
    -------
    geopandas.GeoDataFrame
        The gates in the metric CRS.
    """
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
        rows += _gate_rows(comp, centre, found, inferred)
        geoms += [geom for geom, _ent in found]
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


def _gate_rows(comp, centre, found: list, inferred: bool) -> list[dict]:
    """A row per gate of a compound, named from OSM or by its side of the compound."""
    rows = []
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
    return rows


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
    """Compound code of roads lying (>= 90% of their length) inside one compound.

    Parameters
    ----------
    roads_m : geopandas.GeoDataFrame
        The roads in the metric CRS.
    compounds_m : geopandas.GeoDataFrame
        The compounds in the metric CRS.

    Returns
    -------
    list of str or None
        The compound code of each road (None outside compounds).
    """
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
