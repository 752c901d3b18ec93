"""Records of the OSM demo city: facilities and key sites from OSM points of interest,
and the grid workers' synthetic inspections, hazards and patrol tracks."""

from __future__ import annotations

from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import vocab
from gridmap.demo import people
from gridmap.demo.osm_places import assign_to, frame_of
from gridmap.demo.osm_rules import (
    CRS,
    FACILITY_RULES,
    HAZARD_TEMPLATES,
    KEY_SITE_RULES,
    WALK_SPEED_KMH,
    chinese_name,
    match_rules,
    osm_code,
    tag_text,
)
from gridmap.units import minutes_for


def facilities_from(pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """POIs that are life-circle facilities (FACILITY_RULES), real names kept.

    Parameters
    ----------
    pois : geopandas.GeoDataFrame
        The OSM points of interest (EPSG:4326), with name and tags.

    Returns
    -------
    geopandas.GeoDataFrame
        The facilities (code, name, category, capacity), EPSG:4326.
    """
    zh = {c.code: c.zh for c in vocab.FACILITY_CATEGORIES}
    rows, geoms = [], []
    for _, poi in pois.iterrows():
        tags = poi["tags"] if isinstance(poi.get("tags"), dict) else {}
        category = match_rules(tags, tag_text(poi["name"]), FACILITY_RULES)
        if category not in zh:
            continue
        rows.append(
            {
                "code": osm_code(poi["osm_type"], poi["osm_id"]),
                "name": chinese_name(poi["name"], zh[category])[:100],
                "category": category,
                "capacity": _capacity(tags),
            }
        )
        geoms.append(poi.geometry)
    columns = ["code", "name", "category", "capacity"]
    frame = frame_of({c: [r[c] for r in rows] for c in columns}, geoms, CRS)
    frame["capacity"] = frame["capacity"].astype(object)
    return frame.drop_duplicates("code").reset_index(drop=True)


def _capacity(tags: dict) -> int | None:
    for key in ("capacity", "beds", "capacity:persons"):
        value = tag_text(tags.get(key))
        if value and value.isdigit():
            return int(value)
    return None


def key_sites_from(
    candidates: gpd.GeoDataFrame, grids_m: gpd.GeoDataFrame, crs
) -> gpd.GeoDataFrame:
    """POIs (and construction areas) that are key sites, inside the grids.

    Parameters
    ----------
    candidates : geopandas.GeoDataFrame
        The POIs and construction-site points (EPSG:4326).
    grids_m : geopandas.GeoDataFrame
        The grids in the metric CRS.
    crs : pyproj.CRS or str
        The metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The key sites with their grid code and inspection interval, metric CRS.
    """
    zh = {c.code: c.zh for c in vocab.KEY_SITE_CATEGORIES}
    rows, geoms = [], []
    for _, poi in candidates.iterrows():
        tags = poi["tags"] if isinstance(poi.get("tags"), dict) else {}
        category = match_rules(tags, tag_text(poi["name"]), KEY_SITE_RULES)
        if category not in zh:
            continue
        rows.append(
            {
                "code": osm_code(poi["osm_type"], poi["osm_id"]),
                "name": chinese_name(poi["name"], zh[category])[:100],
                "category": category,
                "address": tag_text(poi.get("address"), 200),
                "inspection_interval_days": vocab.INSPECTION_INTERVAL_DAYS[category],
            }
        )
        geoms.append(poi.geometry)
    columns = ["code", "name", "category", "address", "inspection_interval_days"]
    sites = frame_of({c: [r[c] for r in rows] for c in columns}, geoms, CRS).to_crs(crs)
    sites = sites.drop_duplicates("code").reset_index(drop=True)
    owner = assign_to(
        np.asarray(sites.geometry.values, dtype=object),
        np.asarray(grids_m.geometry.values, dtype=object),
    )
    sites["grid_code"] = [grids_m["code"].iloc[g] if g >= 0 else None for g in owner]
    return sites[owner >= 0].reset_index(drop=True)


def inspections_for(sites, leaders: dict[str, str], rng, as_of: datetime) -> pd.DataFrame:
    """1-3 past inspections per key site; about a third of the sites are overdue.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        The key sites, with code, grid_code and inspection_interval_days.
    leaders : dict of str to str
        Grid leader name by grid code (the inspectors).
    rng : numpy.random.Generator
        The demo's random generator.
    as_of : datetime
        The moment the demo describes.

    Returns
    -------
    pandas.DataFrame
        site_code, inspected_at, inspector, result, notes.
    """
    notes_by_result = {
        "ok": "检查正常",
        "issue_found": "发现问题，已责令整改",
        "closed_site": "场所已关闭",
    }
    rows = []
    for _, site in sites.iterrows():
        every = int(site["inspection_interval_days"])
        last = as_of - timedelta(days=float(rng.uniform(0, every * 1.5)))
        for k in range(int(rng.integers(1, 4))):
            result = str(rng.choice(["ok", "issue_found", "closed_site"], p=[0.85, 0.12, 0.03]))
            at = (last - timedelta(days=every * k)).replace(second=0, microsecond=0)
            rows.append(
                {
                    "site_code": site["code"],
                    "inspected_at": at,
                    "inspector": leaders.get(site["grid_code"]),
                    "result": result,
                    "notes": notes_by_result[result],
                }
            )
    return pd.DataFrame(rows, columns=["site_code", "inspected_at", "inspector", "result", "notes"])


_HAZARD_COLUMNS = [
    "code",
    "category",
    "severity",
    "status",
    "description",
    "found_at",
    "deadline",
    "closed_at",
    "reporter",
    "responsible",
    "grid_code",
    "history",
]
_HAZARD_ACTIONS = {
    "filed": "file",
    "assigned": "assign",
    "handled": "handle",
    "reinspected": "reinspect",
    "closed": "close",
}
_HAZARD_DAYS_FOR = {"low": 15, "medium": 7, "high": 3}


def hazards_for(buildings_m, grids_m, leaders, rng, as_of: datetime, crs) -> gpd.GeoDataFrame:
    """A few hazards at buildings, spread over the workflow (some overdue, some closed).

    Parameters
    ----------
    buildings_m : geopandas.GeoDataFrame
        Buildings in the metric CRS, with ``grid_code`` and ``name``.
    grids_m : geopandas.GeoDataFrame
        Grids in the metric CRS (their number sets how many hazards).
    leaders : dict
        Grid leader name by grid code (the reporters).
    rng : numpy.random.Generator
        The demo's random generator.
    as_of : datetime
        The moment the demo describes.
    crs : pyproj.CRS or str
        The metric CRS of the input frames.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per hazard, in EPSG:4326.
    """
    n = min(12, max(3, len(grids_m) // 2))
    rows, geoms = [], []
    statuses = [t.code for t in vocab.HAZARD_STATUSES]
    candidates = buildings_m.index.to_numpy()
    if len(candidates) == 0:
        return frame_of({c: [] for c in _HAZARD_COLUMNS}, [], CRS)
    for k, b in enumerate(rng.choice(candidates, size=min(n, len(candidates)), replace=False)):
        building = buildings_m.loc[b]
        rows.append(_hazard_row(k, building, statuses, leaders, rng, as_of))
        geoms.append(building.geometry.representative_point())
    return frame_of({c: [r[c] for r in rows] for c in _HAZARD_COLUMNS}, geoms, crs).to_crs(CRS)


def _hazard_row(k, building, statuses, leaders, rng, as_of: datetime) -> dict:
    """One hazard at ``building``, walked through the workflow up to a drawn status."""
    category = str(rng.choice(list(HAZARD_TEMPLATES)))
    severity = str(rng.choice(["low", "medium", "high"], p=[0.6, 0.3, 0.1]))
    status = statuses[int(rng.integers(0, len(statuses)))]
    found = (as_of - timedelta(days=float(rng.uniform(1, 45)))).replace(second=0, microsecond=0)
    reporter = leaders.get(building["grid_code"])
    responsible = people.synth_name(rng, "M" if rng.random() < 0.5 else "F", 1980)
    history = [
        {
            "at": found,
            "actor": reporter,
            "action": "report",
            "from_status": None,
            "to_status": "reported",
            "note": "网格员巡查发现",
        }
    ]
    at, deadline, closed_at = found, None, None
    for prev, nxt in zip(statuses, statuses[1:], strict=False):
        if statuses.index(status) < statuses.index(nxt):
            break
        at = min(at + timedelta(hours=float(rng.uniform(4, 72))), as_of)
        if nxt == "assigned":
            deadline = found + timedelta(days=_HAZARD_DAYS_FOR[severity])
        if nxt == "closed":
            closed_at = at
        history.append(
            {
                "at": at,
                "actor": responsible if nxt == "handled" else reporter,
                "action": _HAZARD_ACTIONS[nxt],
                "from_status": prev,
                "to_status": nxt,
                "note": None,
            }
        )
    return {
        "code": f"HZ-OSM-{k + 1:03d}",
        "category": category,
        "severity": severity,
        "status": status,
        "description": str(rng.choice(HAZARD_TEMPLATES[category]))
        + (f"（{building['name']}）" if tag_text(building["name"]) else ""),
        "found_at": found,
        "deadline": deadline,
        "closed_at": closed_at,
        "reporter": reporter,
        "responsible": responsible if deadline else None,
        "grid_code": building["grid_code"],
        "history": history,
    }


def patrol_tracks_for(grids_m, roads_m, leaders, rng, as_of: datetime) -> gpd.GeoDataFrame:
    """One recent walk per grid: its longest stretch of connected road (else its edge).

    Parameters
    ----------
    grids_m : geopandas.GeoDataFrame
        The grids in the metric CRS.
    roads_m : geopandas.GeoDataFrame
        The walkable roads in the metric CRS.
    leaders : dict of str to str
        Grid leader name by grid code (the patrollers).
    rng : numpy.random.Generator
        The demo's random generator.
    as_of : datetime
        The moment the demo describes.

    Returns
    -------
    geopandas.GeoDataFrame
        One track per grid, EPSG:4326.
    """
    columns = ["code", "patroller", "grid_code", "started_at", "ended_at", "times"]
    rows, geoms = [], []
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    tree = shapely.STRtree(road_geoms) if len(road_geoms) else None
    for _, grid in grids_m.iterrows():
        line = None
        if tree is not None:
            hits = tree.query(grid["geometry"], predicate="intersects")
            clipped = shapely.get_parts(shapely.intersection(road_geoms[hits], grid["geometry"]))
            lines = [p for p in clipped if p.geom_type == "LineString" and p.length > 0]
            merged = shapely.line_merge(shapely.MultiLineString(lines)) if lines else None
            parts = list(shapely.get_parts(merged)) if merged is not None else []
            if parts:
                line = max(parts, key=lambda p: p.length)
        if line is None or line.length < 100:
            inner = grid["geometry"].buffer(-10)
            if inner.is_empty:
                continue
            line = max(shapely.get_parts(inner), key=lambda p: p.area).exterior
        coords = shapely.get_coordinates(line)
        step = np.r_[0, np.hypot(*np.diff(coords, axis=0).T)]
        times = list(
            np.round(minutes_for(np.cumsum(step), WALK_SPEED_KMH) * 60.0 * rng.uniform(1.0, 1.3), 1)
        )
        start = (as_of - timedelta(days=int(rng.integers(0, 7)))).replace(
            hour=int(rng.choice([9, 15, 20])),
            minute=int(rng.integers(0, 60)),
            second=0,
            microsecond=0,
        )
        rows.append(
            {
                "code": f"PT-{grid['code']}-001",
                "patroller": leaders[grid["code"]],
                "grid_code": grid["code"],
                "started_at": start,
                "ended_at": start + timedelta(seconds=float(times[-1])),
                "times": [float(t) for t in times],
            }
        )
        geoms.append(shapely.LineString(coords))
    return frame_of({c: [r[c] for r in rows] for c in columns}, geoms, grids_m.crs).to_crs(CRS)


def area_points(areas: gpd.GeoDataFrame, kinds: list[str]) -> gpd.GeoDataFrame:
    """Areas of the given kinds as POI-like rows (point inside, tags, no address).

    Parameters
    ----------
    areas : geopandas.GeoDataFrame or None
        The OSM areas (EPSG:4326), with kind.
    kinds : list of str
        The kinds kept, e.g. ``landuse=construction``.

    Returns
    -------
    geopandas.GeoDataFrame
        osm_type, osm_id, name, address, tags and a point inside each area, EPSG:4326.
    """
    columns = ["osm_type", "osm_id", "name", "address", "tags", "geometry"]
    if areas is None or areas.empty:
        return gpd.GeoDataFrame({c: [] for c in columns[:-1]}, geometry=[], crs=CRS)
    chosen = areas[areas["kind"].isin(kinds)]
    return gpd.GeoDataFrame(
        {
            "osm_type": chosen["osm_type"].to_numpy(),
            "osm_id": chosen["osm_id"].to_numpy(),
            "name": chosen["name"].to_numpy(),
            "address": [None] * len(chosen),
            "tags": chosen["tags"].to_numpy(),
        },
        geometry=list(shapely.point_on_surface(np.asarray(chosen.geometry.values, dtype=object))),
        crs=CRS,
    )
