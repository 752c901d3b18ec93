"""The OGC API - Features collections gridmap publishes, the CRSs and conformance classes it
declares; re-exported by :mod:`gridmap.ogc`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gridmap.errors import NotFound
from gridmap.layers import REGISTRY
from gridmap.messages import N_, fail

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRS_LIST = (CRS84, EPSG4326, EPSG4490)
LAT_FIRST = frozenset({EPSG4326, EPSG4490})

CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: each collection's queryables (its properties), filtered as property=value
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
)
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
COORD_DECIMALS = 7  # about 1 cm
GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class Collection:
    """One published layer. ``properties``: name -> JSON type ("string", "integer",
    "number"); every one is a simple equality filter on the items. ``time``: the property
    (or the start and end properties) the datetime parameter filters on."""

    id: str
    title: str
    description: str
    geometry: str
    properties: dict[str, str]
    time: tuple[str, ...] = ()
    scoped: bool = False
    counts: tuple[str, ...] = field(default=())  # aggregate counts of people: suppressed


_AREA_COUNTS = {"households": "integer", "residents": "integer"}


def _published(
    id_: str, title: str, description: str, properties: dict[str, str], **kw: Any
) -> Collection:
    """A collection of the layer ``id_``, its geometry type as the layer registry says."""
    return Collection(id_, title, description, REGISTRY[id_].geometry_type, properties, **kw)


COLLECTIONS: tuple[Collection, ...] = (
    _published(
        "streets",
        N_("Street offices"),
        N_("Street office boundaries (街道)."),
        {"code": "string", "name": "string"},
    ),
    _published(
        "communities",
        N_("Communities"),
        N_(
            "Community boundaries (社区) with their "
            "number of grids and, suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "street_name": "string",
            "grids": "integer",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "grids",
        N_("Grids"),
        N_(
            "Grid polygons (网格) with leader, target and, "
            "suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "community_code": "string",
            "community_name": "string",
            "leader": "string",
            "target_households": "integer",
            "buildings": "integer",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "compounds",
        N_("Compounds"),
        N_("Residential compounds (小区/院落)."),
        {"code": "string", "name": "string", "community_code": "string"},
    ),
    _published(
        "buildings",
        N_("Buildings"),
        N_(
            "Building footprints with address, floors, "
            "use and, suppressed below 5 households, households and residents."
        ),
        {
            "code": "string",
            "name": "string",
            "address": "string",
            "floors": "integer",
            "use": "string",
            "grid_code": "string",
            **_AREA_COUNTS,
        },
        counts=("households", "residents"),
    ),
    _published(
        "roads",
        N_("Roads"),
        N_("Street and path lines."),
        {"code": "string", "name": "string", "highway": "string"},
    ),
    _published(
        "facilities",
        N_("Facilities"),
        N_("Service facilities by category."),
        {"code": "string", "name": "string", "category": "string", "capacity": "integer"},
    ),
    _published(
        "key_sites",
        N_("Key sites"),
        N_("Key sites in your areas with their last inspection."),
        {
            "code": "string",
            "name": "string",
            "category": "string",
            "address": "string",
            "grid_code": "string",
            "last_inspected": "string",
            "status": "string",
        },
        scoped=True,
    ),
    _published(
        "hazards",
        N_("Hazards"),
        N_("Hazard cases in your areas; datetime filters on the time found."),
        {
            "code": "string",
            "category": "string",
            "severity": "string",
            "status": "string",
            "found_at": "string",
            "deadline": "string",
            "closed_at": "string",
            "responsible": "string",
            "grid_code": "string",
        },
        time=("found_at",),
        scoped=True,
    ),
    _published(
        "patrol_tracks",
        N_("Patrol tracks"),
        N_("GPS patrol tracks in your areas; datetime filters on the patrol's start and end."),
        {
            "code": "string",
            "patroller": "string",
            "grid_code": "string",
            "started_at": "string",
            "ended_at": "string",
        },
        time=("started_at", "ended_at"),
        scoped=True,
    ),
)
BY_ID = {c.id: c for c in COLLECTIONS}


def collection(collection_id: str) -> Collection:
    """The collection served under an id; NotFound names the others.

    Parameters
    ----------
    collection_id : str
        The id in the URL.

    Returns
    -------
    Collection
        The collection.
    """
    if collection_id not in BY_ID:
        raise fail(
            NotFound,
            N_("no collection {id}; collections are {choices}"),
            id=collection_id,
            choices=", ".join(BY_ID),
        )
    return BY_ID[collection_id]
