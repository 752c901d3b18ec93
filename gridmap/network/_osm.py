"""The walking network from OpenStreetMap frames (``geodata.osm.read_osm``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network._build import CompoundInputs, Tolerances, build_network
from gridmap.network._graph import (
    DEFAULT_GATE_LINK_M,
    DEFAULT_GATE_TOLERANCE_M,
    UNUSABLE_GATE,
    Network,
)

if TYPE_CHECKING:
    import geopandas as gpd

# OSM areas that are gated grounds in Chinese cities: residential compounds (小区) and
# institution grounds (campuses, hospitals, schools).
COMPOUND_AREA_KINDS = frozenset(
    {
        "landuse=residential",
        "amenity=school",
        "amenity=kindergarten",
        "amenity=hospital",
        "amenity=university",
        "amenity=college",
        "amenity=research_institute",
    }
)


def osm_compounds(areas: gpd.GeoDataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, polygons) of the OSM areas that are compounds, EPSG:4326 as given."""
    if areas is None or len(areas) == 0:
        return np.array([], dtype=object), np.array([], dtype=object)
    chosen = areas[areas["kind"].isin(COMPOUND_AREA_KINDS)]
    codes = np.array(
        [
            f"osm-{str(t)[0]}{int(i)}"
            for t, i in zip(chosen["osm_type"], chosen["osm_id"], strict=True)
        ],
        dtype=object,
    )
    return codes, np.asarray(chosen.geometry.values, dtype=object)


def usable_entrances(entrances: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """OSM entrance/gate nodes people may walk through (not emergency exits, not foot=no)."""
    if entrances is None or len(entrances) == 0:
        return entrances
    bad = (
        entrances["entrance"].isin(list(UNUSABLE_GATE))
        | entrances["access"].isin(["no", "private_no"])
        | (entrances["foot"] == "no")
    )
    return entrances[~bad.fillna(False).to_numpy(bool)]


def network_from_osm(
    ways: gpd.GeoDataFrame,
    entrances: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    *,
    crs: str | None = None,
    gated_compounds: bool = True,
    gate_tolerance_m: float = DEFAULT_GATE_TOLERANCE_M,
    gate_link_m: float = DEFAULT_GATE_LINK_M,
) -> Network:
    """Walking network from the frames of ``geodata.osm.read_osm`` (EPSG:4326).

    Ways join where they share OSM node ids; compounds are the areas of
    ``COMPOUND_AREA_KINDS`` and their gates the usable entrance nodes on their outline
    (``gated_compounds=False`` ignores compounds: every way joins every way it shares a
    node with). ``crs`` defaults to the local UTM zone.
    """
    if ways is None or len(ways) == 0:
        raise fail(
            InvalidInput, N_("the OSM data holds no highways: no walking network can be built")
        )
    crs = crs or str(metric_crs(ways))
    ways_m = ways.to_crs(crs)
    codes, polys = (
        osm_compounds(areas)
        if gated_compounds
        else (np.array([], dtype=object), np.array([], dtype=object))
    )
    if len(polys):
        import geopandas as gpd  # local: only needed here

        polys = np.asarray(gpd.GeoSeries(polys, crs=ways.crs).to_crs(crs).values, dtype=object)
    ents = usable_entrances(entrances) if gated_compounds else None
    gate_pts = gate_codes = gate_ids = None
    if ents is not None and len(ents):
        gate_pts = np.asarray(ents.to_crs(crs).geometry.values, dtype=object)
        gate_codes = np.array([f"osm-n{int(i)}" for i in ents["osm_id"]], dtype=object)
        gate_ids = ents["osm_id"].astype(np.int64).to_numpy()
    return build_network(
        np.asarray(ways_m.geometry.values, dtype=object),
        crs=crs,
        highway=ways["highway"].to_numpy(object),
        foot=ways["foot"].to_numpy(object) if "foot" in ways else None,
        access=ways["access"].to_numpy(object) if "access" in ways else None,
        node_ids=list(ways["nodes"]) if "nodes" in ways else None,
        compounds=CompoundInputs(
            compound_codes=codes,
            compound_geoms=polys,
            gate_points=gate_pts,
            gate_codes=gate_codes,
            gate_node_ids=gate_ids,
        ),
        tolerances=Tolerances(gate_tolerance_m=gate_tolerance_m, gate_link_m=gate_link_m),
    )
