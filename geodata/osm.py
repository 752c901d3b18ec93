"""Reading OpenStreetMap files (.osm XML, .osm.bz2, .osm.gz, .osm.pbf) into GeoDataFrames.

One streaming pass with pyosmium's ``FileProcessor``: node locations are cached in
C++ (``with_locations``) and closed ways / multipolygon and boundary relations are
assembled into areas by libosmium (``with_areas``, which adds a relations-only pre-pass).
Tag filters run in C++ so untagged nodes and irrelevant objects never reach Python;
cost is linear in the file size, so a city-scale .pbf is fine.

The result keeps OSM semantics (tags, ids, node lists) and decides nothing about
walkability or use: that is ``gridmap``'s job. Every frame is EPSG:4326.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import shapely
from osmium.filter import IdFilter, KeyFilter, TagFilter

from geodata.osm_tags import (
    AREA_KEYS,
    GATE_BARRIERS,
    POI_KEYS,
    area_kind,
    chinese_address,
    first_number,
    is_entrance,
    is_poi,
    key_tags,
    osm_name,
)
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")  # what libosmium reads

CRS = "EPSG:4326"

# Tags kept as columns on highway ways: what a walking-network builder needs.
WAY_TAG_COLUMNS = (
    "highway",
    "foot",
    "access",
    "service",
    "footway",
    "sidewalk",
    "bicycle",
    "motor_vehicle",
    "oneway",
    "area",
    "layer",
    "bridge",
    "tunnel",
)
_DTYPES = {"osm_id": "int64", "levels": "float64", "height": "float64"}


@dataclass
class OsmExtract:
    """What ``read_osm`` found. Frames are EPSG:4326; ``osm_type`` is 'node'|'way'|'relation'.

    ways       osm_id, name, WAY_TAG_COLUMNS..., nodes (node ids, one per geometry vertex), geometry
    entrances  osm_id, kind (barrier value or 'entrance'), entrance, access, foot,
               motor_vehicle, name, geometry (Point)
    buildings  osm_type, osm_id, name, building, levels, height (m), address, tags, geometry
    pois       osm_type, osm_id, name, name_en, address, tags, geometry (Point; areas reduced
               to a point inside them)
    areas      osm_type, osm_id, kind ('landuse=residential', 'boundary=administrative' ...),
               name, tags, geometry (Polygon/MultiPolygon)
    """

    source: str
    bounds: tuple[float, float, float, float] | None  # (west, south, east, north) from the header
    ways: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    pois: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many ways, entrances, buildings, POIs and areas were read.

        Returns
        -------
        dict
        """
        return {
            name: len(getattr(self, name))
            for name in ("ways", "entrances", "buildings", "pois", "areas")
        }


def _polygonal(geom: shapely.Geometry | None) -> shapely.Geometry | None:
    """Valid Polygon/MultiPolygon part of ``geom``, None when nothing areal is left."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(parts) if parts else None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    return geom


def _frame(
    rows: list[dict], columns: Iterable[str], geoms, sort: Iterable[str] = ()
) -> gpd.GeoDataFrame:
    """GeoDataFrame with fixed columns; text/list/dict columns stay ``object`` with None."""
    data = {c: pd.Series([r.get(c) for r in rows], dtype=_DTYPES.get(c, object)) for c in columns}
    frame = gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries(list(geoms) if len(rows) else [], crs=CRS), crs=CRS
    )
    sort = list(sort)
    if sort and len(frame):
        frame = frame.sort_values(sort, kind="stable").reset_index(drop=True)
    return frame


# --- the reader ---------------------------------------------------------------


class _Collector:
    """Turns the objects of one FileProcessor pass into rows; geometry is built vectorised."""

    def __init__(self) -> None:
        self.wkb = osmium.geom.WKBFactory()
        self.ways: list[dict] = []
        self.way_xy: list[tuple[float, float]] = []
        self.way_index: list[int] = []
        self.ways_missing_nodes: list[int] = []
        self.entrances: list[dict] = []
        self.entrance_xy: list[tuple[float, float]] = []
        self.buildings: list[dict] = []
        self.building_wkb: list[str] = []  # hex WKB, as osmium's WKBFactory writes it
        self.pois: list[dict] = []
        self.poi_geom: list = []  # WKB point of a node, or the WKB of an area (reduced later)
        self.areas: list[dict] = []
        self.area_wkb: list[str] = []  # hex WKB
        self.relations: dict[int, dict] = {}  # multipolygon/boundary candidates by id
        self.relation_areas: set[int] = set()
        self.warnings: list[str] = []

    def node(self, n) -> None:
        if not n.location.valid():
            return
        tags = dict(n.tags)
        xy = (n.location.lon, n.location.lat)
        if is_entrance(tags):
            self.entrances.append(
                {
                    "osm_id": n.id,
                    "kind": tags["barrier"] if tags.get("barrier") in GATE_BARRIERS else "entrance",
                    "entrance": tags.get("entrance"),
                    "access": tags.get("access"),
                    "foot": tags.get("foot"),
                    "motor_vehicle": tags.get("motor_vehicle"),
                    "name": osm_name(tags),
                }
            )
            self.entrance_xy.append(xy)
        if is_poi(tags):
            self.pois.append(self._poi_row("node", n.id, tags))
            self.poi_geom.append(shapely.Point(xy))

    def way(self, w) -> None:
        tags = dict(w.tags)
        if "highway" not in tags:
            return
        refs: list[int] = []
        xy: list[tuple[float, float]] = []
        for nr in w.nodes:
            loc = nr.location
            if loc.valid():
                refs.append(nr.ref)
                xy.append((loc.lon, loc.lat))
        if len(refs) < len(w.nodes):
            self.ways_missing_nodes.append(w.id)
        if len(xy) < 2:
            return
        row = {"osm_id": w.id, "name": osm_name(tags), "nodes": refs}
        row.update({k: tags.get(k) for k in WAY_TAG_COLUMNS})
        self.way_index.extend([len(self.ways)] * len(xy))
        self.ways.append(row)
        self.way_xy.extend(xy)

    def relation(self, r) -> None:
        tags = dict(r.tags)
        if any(k in tags for k in ("building", *AREA_KEYS)):
            self.relations[r.id] = {
                "name": osm_name(tags),
                "what": ", ".join(
                    f"{k}={tags[k]}"
                    for k in ("type", "building", *AREA_KEYS, "admin_level")
                    if k in tags
                ),
                "ways": [m.ref for m in r.members if m.type == "w"],
            }

    def area(self, a) -> None:
        osm_type = "way" if a.from_way() else "relation"
        osm_id = a.orig_id()
        if osm_type == "relation":
            self.relation_areas.add(osm_id)
        tags = dict(a.tags)
        wants_building = tags.get("building", "no") != "no"
        kind = area_kind(tags)
        wants_poi = is_poi(tags)
        if not (wants_building or kind or wants_poi):
            return
        try:
            wkb = self.wkb.create_multipolygon(a)
        except RuntimeError as exc:  # libosmium could not build rings (broken geometry)
            self.warnings.append(
                f"{osm_type} {osm_id} ({osm_name(tags) or kind or 'building'}): "
                f"no polygon could be built ({exc}); skipped"
            )
            return
        if wants_building:
            self.buildings.append(
                {
                    "osm_type": osm_type,
                    "osm_id": osm_id,
                    "name": osm_name(tags),
                    "building": tags["building"],
                    "levels": first_number(tags.get("building:levels")),
                    "height": first_number(tags.get("height") or tags.get("building:height")),
                    "address": chinese_address(tags),
                    "tags": key_tags(tags),
                }
            )
            self.building_wkb.append(wkb)
        if kind:
            self.areas.append(
                {
                    "osm_type": osm_type,
                    "osm_id": osm_id,
                    "kind": kind,
                    "name": osm_name(tags),
                    "tags": key_tags(tags),
                }
            )
            self.area_wkb.append(wkb)
        if wants_poi:
            self.pois.append(self._poi_row(osm_type, osm_id, tags))
            self.poi_geom.append(wkb)

    @staticmethod
    def _poi_row(osm_type: str, osm_id: int, tags: dict[str, str]) -> dict:
        return {
            "osm_type": osm_type,
            "osm_id": osm_id,
            "name": osm_name(tags),
            "name_en": tags.get("name:en"),
            "address": chinese_address(tags),
            "tags": key_tags(tags),
        }

    # -- building the frames --

    def ways_frame(self) -> gpd.GeoDataFrame:
        columns = ("osm_id", "name", *WAY_TAG_COLUMNS, "nodes")
        geoms = (
            shapely.linestrings(
                np.asarray(self.way_xy, dtype=float), indices=np.asarray(self.way_index)
            )
            if self.ways
            else []
        )
        return _frame(self.ways, columns, geoms, sort=["osm_id"])

    def entrances_frame(self) -> gpd.GeoDataFrame:
        columns = ("osm_id", "kind", "entrance", "access", "foot", "motor_vehicle", "name")
        xy = np.asarray(self.entrance_xy, dtype=float).reshape(-1, 2)
        return _frame(self.entrances, columns, shapely.points(xy), sort=["osm_id"])

    def polygons_frame(self, rows: list[dict], wkbs: list[str], columns, what: str):
        geoms = [_polygonal(g) for g in shapely.from_wkb(wkbs)] if wkbs else []
        keep = [i for i, g in enumerate(geoms) if g is not None]
        for i in sorted(set(range(len(rows))) - set(keep)):
            self.warnings.append(
                f"{rows[i]['osm_type']} {rows[i]['osm_id']} ({what}): "
                "polygon is empty after repair; skipped"
            )
        return _frame(
            [rows[i] for i in keep], columns, [geoms[i] for i in keep], sort=["osm_type", "osm_id"]
        )

    def pois_frame(self) -> gpd.GeoDataFrame:
        geoms = []
        for g in self.poi_geom:
            if isinstance(g, bytes | bytearray | str):  # an area: a point guaranteed inside it
                poly = _polygonal(shapely.from_wkb(g))
                g = poly.point_on_surface() if poly is not None else None
            geoms.append(g)
        keep = [i for i, g in enumerate(geoms) if g is not None]
        columns = ("osm_type", "osm_id", "name", "name_en", "address", "tags")
        return _frame(
            [self.pois[i] for i in keep],
            columns,
            [geoms[i] for i in keep],
            sort=["osm_type", "osm_id"],
        )


def _check_path(path: Path) -> None:
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise fail(
            InvalidInput,
            N_("{file}: unknown OSM file type; expected one of {choices}"),
            file=path.name,
            choices=", ".join(SUFFIXES),
        )
    if not path.exists():
        raise fail(InvalidInput, N_("{file}: file not found ({path})"), file=path.name, path=path)
    if not path.is_file():
        raise fail(InvalidInput, N_("{file}: not a file ({path})"), file=path.name, path=path)
    if path.stat().st_size == 0:
        raise fail(InvalidInput, N_("{file}: the file is empty"), file=path.name)


def _header_bounds(processor: osmium.FileProcessor) -> tuple[float, float, float, float] | None:
    box = processor.header.box()
    if not box.valid():
        return None
    return (box.bottom_left.lon, box.bottom_left.lat, box.top_right.lon, box.top_right.lat)


def _present_ways(path: Path, way_ids: set[int]) -> set[int]:
    """Which of ``way_ids`` the file holds (a ways-only pass, filtered in C++)."""
    ids = IdFilter(sorted(way_ids))
    ids.enable_for(osmium.osm.WAY)
    return {w.id for w in osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(ids)}


def _broken_relation_warnings(path: Path, col: _Collector) -> list[str]:
    """Explain every multipolygon/boundary relation libosmium did not turn into an area."""
    broken = {rid: rel for rid, rel in col.relations.items() if rid not in col.relation_areas}
    if not broken:
        return []
    present = _present_ways(path, {w for rel in broken.values() for w in rel["ways"]})
    out = []
    for rid, rel in sorted(broken.items()):
        missing = [w for w in rel["ways"] if w not in present]
        label = f"relation {rid} ({rel['name'] or 'unnamed'}; {rel['what']})"
        if missing:
            shown = ", ".join(f"w{w}" for w in missing[:5]) + (" ..." if len(missing) > 5 else "")
            why = (
                f"{len(missing)} of {len(rel['ways'])} member ways are not in the file "
                f"({shown}); the extract probably clipped it"
            )
        else:
            why = "its member ways do not form closed rings"
        out.append(f"{label}: incomplete multipolygon, {why}; skipped")
    return out


def read_osm(path: str | os.PathLike[str], *, node_store: str = "flex_mem") -> OsmExtract:
    """Read highways, entrances, buildings, POIs and areas from an OSM file.

    Raises ``InvalidInput`` (naming the file) for a missing, empty, unknown-type or
    unreadable file. Problems that only affect single objects (a clipped relation, a way
    without node locations) do not raise: they are skipped and described in
    ``OsmExtract.warnings``.

    Parameters
    ----------
    path : str or PathLike
        An .osm, .osm.pbf or compressed OSM XML file.
    node_store : str
        The pyosmium location index; 'flex_mem' suits anything up to a country,
        'dense_file_array,<file>' the planet.

    Returns
    -------
    OsmExtract
    """
    path = Path(path)
    _check_path(path)
    col = _Collector()
    processor = _processor(path, node_store)
    try:
        bounds = _header_bounds(processor)
        dispatch = {"n": col.node, "w": col.way, "r": col.relation, "a": col.area}
        for obj in processor:
            handle = dispatch.get(obj.type_str())
            if handle:
                handle(obj)
        broken = _broken_relation_warnings(path, col)
    except RuntimeError as exc:  # libosmium reports parse/decompression errors this way
        raise fail(
            InvalidInput, N_("{file}: not a readable OSM file ({error})"), file=path.name, error=exc
        ) from exc
    extract = _extract(path.name, bounds, col)
    extract.warnings = broken + col.warnings
    return extract


def _processor(path: Path, node_store: str) -> osmium.FileProcessor:
    """A pass over the file with node locations and areas, filtered (in C++) to the objects
    the collector keeps."""
    nodes = KeyFilter(
        *POI_KEYS,
        "barrier",
        "entrance",
        "railway",
        "public_transport",
        "highway",
        "emergency",
        "man_made",
    )
    nodes.enable_for(osmium.osm.NODE)
    ways = KeyFilter("highway")
    ways.enable_for(osmium.osm.WAY)
    areas = KeyFilter("building", *AREA_KEYS, *POI_KEYS, "railway", "public_transport")
    areas.enable_for(osmium.osm.AREA)
    relations = TagFilter(("type", "multipolygon"), ("type", "boundary"))
    relations.enable_for(osmium.osm.RELATION)
    try:
        processor = osmium.FileProcessor(str(path)).with_locations(node_store)
    except RuntimeError as exc:
        raise fail(
            InvalidInput,
            N_("node_store {store} is not a pyosmium index type ({error})"),
            store=repr(node_store),
            error=exc,
        ) from exc
    return (
        processor.with_areas()
        .with_filter(nodes)
        .with_filter(ways)
        .with_filter(areas)
        .with_filter(relations)
    )


def _extract(
    source: str, bounds: tuple[float, float, float, float] | None, col: _Collector
) -> OsmExtract:
    """The collected objects as frames (and a warning for highways missing node locations)."""
    if col.ways_missing_nodes:
        ids = ", ".join(f"w{w}" for w in col.ways_missing_nodes[:5])
        col.warnings.append(
            f"{len(col.ways_missing_nodes)} highway ways reference nodes that are not in the file "
            f"({ids}{' ...' if len(col.ways_missing_nodes) > 5 else ''}); kept the located part "
            "(dropped ways with fewer than two located nodes)"
        )
    building_columns = (
        "osm_type",
        "osm_id",
        "name",
        "building",
        "levels",
        "height",
        "address",
        "tags",
    )
    area_columns = ("osm_type", "osm_id", "kind", "name", "tags")
    return OsmExtract(
        source=source,
        bounds=bounds,
        ways=col.ways_frame(),
        entrances=col.entrances_frame(),
        buildings=col.polygons_frame(col.buildings, col.building_wkb, building_columns, "building"),
        pois=col.pois_frame(),
        areas=col.polygons_frame(col.areas, col.area_wkb, area_columns, "area"),
    )
