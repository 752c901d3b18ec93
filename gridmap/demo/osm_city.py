"""A demo street office built from real OpenStreetMap features plus synthetic people.

``city_from_osm`` takes the GeoDataFrames that ``geodata.osm.read_osm`` produces (it
does not import geodata: pass the frames) and returns the same ``City`` structure as
the synthetic demo:

* roads: walkable OSM ways, split at junctions (shared OSM nodes);
* street blocks: faces of the street network (no footways/service roads), slivers
  merged into their neighbour, blocks with too many homes cut in two (recursively);
* grids: adjacent blocks grown into groups of ~300-500 synthesized households;
  communities: adjacent grids grown to ~2,000 households (at least two); one street
  and one district around them (grid ``target_households`` = its households to the nearest 50 within 300-500,
  leaders synthetic); codes as GB/T 30428.1-style 15 digits
  (6 district + 3 street + 3 community + 3 grid), numbered west->east in rows north->south;
* buildings: OSM footprints whose centroid falls in a grid, floors from
  building:levels / height / a default by type; use from building=* and the landuse;
* households and residents: synthetic (``gridmap.demo.people``), ~90 m2 per dwelling;
* facilities and key sites: OSM POIs through the tag tables below, real names kept;
* compounds: landuse=residential and gated institution grounds, clipped to grids,
  with OSM gates (or an inferred one where a road meets the outline);
* a few synthetic hazards, inspections and patrol tracks.

All geometry work happens in a local UTM CRS; every output frame is EPSG:4326.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.crs import metric_crs
from gridmap.demo import people
from gridmap.demo.city import City, planned_target_households
from gridmap.demo.osm_compounds import compound_gates, compounds_in, internal_roads
from gridmap.demo.osm_places import (
    Notes,
    assign_to,
    communities_of,
    frame_of,
    frame_polygon,
    grids_from_blocks,
    prepare_buildings,
    reading_sequence_of,
    street_lines,
    to_wgs,
    walk_roads,
)
from gridmap.demo.osm_records import (
    area_points,
    facilities_from,
    hazards_for,
    inspections_for,
    key_sites_from,
    patrol_tracks_for,
)
from gridmap.demo.osm_rules import (
    CRS,
    FACILITY_RULES,
    GATE_SNAP_M,
    chinese_numeral,
    is_walkable,
    match_rules,
    tag_text,
)
from gridmap.demo.regions import merge_slivers, shared_boundaries, street_blocks
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.ordering import reading_order

# Re-exported: the tag rules and sizes callers and tests read from here.
__all__ = [
    "FACILITY_RULES",
    "GATE_SNAP_M",
    "StreetOffice",
    "city_from_osm",
    "is_walkable",
    "match_rules",
    "reading_order",
    "shared_boundaries",
]


@dataclass(frozen=True)
class StreetOffice:
    """The district and street office the OSM demo is named as.

    ``district_code`` is a 6-digit GB/T 2260 region code and ``street_seq`` the 3-digit
    number of the street office within it; together they prefix every grid code.
    """

    district_code: str = "110108"
    district_name: str = "海淀区"
    street_seq: str = "001"
    street_name: str = "示例街道"

    @property
    def street_code(self) -> str:
        """The street office's 9-digit code (district code + street sequence)."""
        return self.district_code + self.street_seq


_BUILDING_COLUMNS = ["code", "name", "address", "floors", "use", "compound_code", "grid_code"]
_KEY_SITE_COLUMNS = ["code", "name", "category", "address", "grid_code", "inspection_interval_days"]


def city_from_osm(
    ways: gpd.GeoDataFrame,
    entrances: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    pois: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    seed: int = 7,
    place_name: str = "OSM 示例",
    office: StreetOffice = StreetOffice(),
    as_of: datetime = datetime(2025, 6, 30, 17, 0),
    warnings_out: list[str] | None = None,
) -> City:
    """Build a ``City`` from the frames of ``geodata.osm.read_osm`` (EPSG:4326).

    Deterministic for a given ``seed``. Problems that do not stop the build (a compound
    without an OSM gate, an oversized grid) are logged and appended to ``warnings_out``.

    Parameters
    ----------
    ways, entrances, buildings, pois, areas : geopandas.GeoDataFrame
        The frames of the OSM extract (EPSG:4326).
    seed : int
        Seed of the random generator the synthetic people and records come from.
    place_name : str
        Name of the place, shown in the city's label.
    office : StreetOffice
        The district and street office the grids are coded under.
    as_of : datetime
        The moment the demo describes (records lie before it).
    warnings_out : list of str, optional
        Receives the problems that did not stop the build.

    Returns
    -------
    City
        The street office's frames, all in EPSG:4326.

    Raises
    ------
    InvalidInput
        When the codes are malformed or there are no buildings or no street network.
    """
    notes = Notes(warnings_out)
    _refuse_unusable(office, buildings, ways)
    rng = np.random.default_rng(seed)
    crs = metric_crs(buildings)
    areas_m = _metric_areas(areas, crs)
    roads_m, b, streets, grid_polys, grid_households = _streets_and_grids(
        ways, buildings, areas_m, notes, crs
    )
    leaders, grids_m, whole, admin = _areas(office, grid_polys, grid_households, rng, crs)
    b, compounds_m, gates_m = _buildings_and_compounds(
        b, grids_m, areas_m, roads_m, entrances, streets, notes, crs
    )
    buildings_m = b.sort_values("code").reset_index(drop=True)
    dwellings = buildings_m[buildings_m["dwellings"] > 0]
    households, residents = people.synth_population(
        dwellings, rng, region=office.district_code, as_of_year=as_of.year
    )
    key_sites_m = key_sites_from(_site_candidates(pois, areas), grids_m, crs)
    anchor_pt = gpd.GeoSeries([whole.centroid], crs=crs).to_crs(CRS).iloc[0]
    return City(
        label=_label(place_name),
        anchor=(round(anchor_pt.x, 6), round(anchor_pt.y, 6)),
        **{name: to_wgs(frame) for name, frame in admin.items()},
        grids=to_wgs(grids_m),
        compounds=to_wgs(compounds_m.drop(columns=["grid_code", "outline"])),
        gates=to_wgs(gates_m),
        roads=to_wgs(roads_m),
        buildings=to_wgs(buildings_m[[*_BUILDING_COLUMNS, "geometry"]]),
        households=households.reset_index(drop=True),
        residents=residents,
        facilities=facilities_from(pois),
        key_sites=to_wgs(key_sites_m[[*_KEY_SITE_COLUMNS, "geometry"]]),
        inspections=inspections_for(key_sites_m, leaders, rng, as_of),
        hazards=hazards_for(buildings_m, grids_m, leaders, rng, as_of, crs),
        patrol_tracks=patrol_tracks_for(grids_m, roads_m, leaders, rng, as_of),
    )


def _metric_areas(areas, crs) -> gpd.GeoDataFrame:
    """The OSM areas in the metric CRS (an empty frame with their columns when none)."""
    if len(areas):
        return areas.to_crs(crs)
    return gpd.GeoDataFrame(
        {"kind": [], "osm_type": [], "osm_id": [], "name": []}, geometry=[], crs=crs
    )


def _label(place_name: str) -> str:
    """The city's bilingual label, saying that the households are synthetic."""
    return (
        f"OSM 实景示例（{place_name}，住户为合成数据） / "
        f"OSM demo ({place_name}, synthetic households)"
    )


def _streets_and_grids(ways, buildings, areas_m, notes: Notes, crs):
    """Walkable roads, buildings, the street lines and grids of adjacent street blocks:
    (roads, buildings, street lines, grid polygons, households per grid), metric CRS."""
    roads_m = walk_roads(ways, crs)
    ways_m = ways.to_crs(crs)
    b = prepare_buildings(buildings, areas_m, crs)
    frame = frame_polygon(b.geometry, ways_m.geometry)
    streets = street_lines(ways_m, areas_m)
    blocks = merge_slivers(street_blocks(streets, frame))
    grid_polys, grid_households = grids_from_blocks(blocks, b, notes)
    return roads_m, b, streets, grid_polys, grid_households


def _refuse_unusable(office: StreetOffice, buildings, ways) -> None:
    """Raise ``InvalidInput`` for malformed codes or an extract without buildings or ways."""
    district_code, street_seq = office.district_code, office.street_seq
    if len(district_code) != 6 or not district_code.isdigit() or len(street_seq) != 3:
        raise fail(
            InvalidInput,
            N_(
                "district code must be 6 digits and street sequence 3 "
                "(got {district_code}, {street_seq})"
            ),
            district_code=repr(district_code),
            street_seq=repr(street_seq),
        )
    if buildings is None or buildings.empty:
        raise fail(InvalidInput, N_("the OSM data holds no buildings: cannot place households"))
    if ways is None or ways.empty:
        raise fail(InvalidInput, N_("the OSM data holds no highways: cannot form street blocks"))


def _areas(area: StreetOffice, grid_polys, grid_households, rng, crs):
    """Grids grouped into communities, numbered in reading order, with synthetic leaders:
    (leaders by grid code, grids, the street's outline, district/street/community frames)."""
    comm_label = communities_of(grid_polys, grid_households)
    comm_polys = [
        shapely.union_all(grid_polys[comm_label == c]) for c in range(comm_label.max() + 1)
    ]
    comm_seq = reading_sequence_of(comm_polys)
    comm_codes = [f"{area.street_code}{s:03d}" for s in comm_seq]
    street_short = area.street_name.removesuffix("街道")
    comm_names = [f"{street_short}第{chinese_numeral(int(s))}社区" for s in comm_seq]
    grid_codes = [""] * len(grid_polys)
    grid_names = [""] * len(grid_polys)
    for c in range(len(comm_polys)):
        members = np.flatnonzero(comm_label == c)
        for k, s in zip(members, reading_sequence_of(grid_polys[members]), strict=True):
            grid_codes[k] = f"{comm_codes[c]}{s:03d}"
            grid_names[k] = f"{comm_names[c]}第{s}网格"
    leaders = {
        code: people.synth_name(rng, "F" if rng.random() < 0.6 else "M", 1985)
        for code in sorted(grid_codes)
    }
    grids_m = (
        frame_of(
            {
                "code": grid_codes,
                "name": grid_names,
                "community_code": [comm_codes[c] for c in comm_label],
                "kind": "community",
                "leader": [leaders[c] for c in grid_codes],
                "leader_phone": [people.synth_phone(rng) for _ in grid_codes],
                "target_households": planned_target_households(grid_households),
            },
            grid_polys,
            crs,
        )
        .sort_values("code")
        .reset_index(drop=True)
    )
    communities_m = frame_of(
        {"code": comm_codes, "name": comm_names, "street_code": area.street_code}, comm_polys, crs
    )
    whole = shapely.union_all(np.asarray(comm_polys, dtype=object))
    admin = {
        "districts": frame_of(
            {"code": [area.district_code], "name": [area.district_name]}, [whole], crs
        ),
        "streets": frame_of(
            {
                "code": [area.street_code],
                "name": [area.street_name],
                "district_code": [area.district_code],
            },
            [whole],
            crs,
        ),
        "communities": communities_m.sort_values("code").reset_index(drop=True),
    }
    return leaders, grids_m, whole, admin


def _buildings_and_compounds(b, grids_m, areas_m, roads_m, entrances, streets, notes, crs):
    """Buildings in grids (centroid test) and compounds, compounds' internal roads (set on
    ``roads_m``) and gates: (buildings, compounds, gates)."""
    owner = assign_to(
        shapely.points(b[["cx", "cy"]].to_numpy()),
        np.asarray(grids_m.geometry.values, dtype=object),
    )
    b = b[owner >= 0].copy()
    b["grid_code"] = grids_m["code"].to_numpy()[owner[owner >= 0]]
    compounds_m = compounds_in(areas_m, grids_m, notes)
    comp_owner = assign_to(
        shapely.points(b[["cx", "cy"]].to_numpy()),
        np.asarray(compounds_m.geometry.values, dtype=object),
    )
    b["compound_code"] = [compounds_m["code"].iloc[c] if c >= 0 else None for c in comp_owner]
    roads_m["compound_code"] = internal_roads(roads_m, compounds_m)
    entrances_m = entrances.to_crs(crs) if len(entrances) else entrances
    gates_m = compound_gates(compounds_m, entrances_m, roads_m, streets, notes)
    b["name"] = pd.Series([tag_text(v, 100) for v in b["name"]], index=b.index, dtype=object)
    b["address"] = pd.Series([tag_text(v, 200) for v in b["address"]], index=b.index, dtype=object)
    return b, compounds_m, gates_m


def _site_candidates(pois, areas) -> gpd.GeoDataFrame:
    """Points that may be key sites: the POIs and construction sites."""
    parts = [
        f
        for f in (
            pois.reindex(columns=["osm_type", "osm_id", "name", "address", "tags", "geometry"]),
            area_points(areas, ["landuse=construction"]),
        )
        if len(f)
    ]
    return (
        gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=CRS)
        if parts
        else area_points(None, [])
    )
