"""The OpenAPI 3.0 document served at /ogc/api: the OGC API - Features routes (one path per
collection, as GIS clients and property-based testers read them best) and the JSON and tile
routes under /api/ that the map pages use. Built from :data:`gridmap.ogc.COLLECTIONS`, so a
new collection is documented by being registered."""

from __future__ import annotations

from typing import Any

from gridmap import ogc, vector

_REF = "#/components"


def _ref(kind: str, name: str) -> dict[str, Any]:
    return {"$ref": f"{_REF}/{kind}/{name}"}


def _json(
    schema: dict[str, Any], description: str, media: str = "application/json", *, html: bool = False
) -> dict[str, Any]:
    """A response in ``media`` (and, with ``html``, as an HTML page for f=html/browsers)."""
    content = {media: {"schema": schema}}
    if html:
        content["text/html"] = {"schema": {"type": "string"}}
    return {"description": description, "content": content}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad parameter (the message names it)",
        401: "no valid session or token",
        404: "no such collection, feature or object",
    }
    return {str(c): _json(_ref("schemas", "Error"), text[c]) for c in codes}


def _get(
    summary: str,
    ok: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    tags: tuple[str, ...] = ("OGC API",),
    errors: tuple[int, ...] = (400, 401),
    op_id: str,
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "operationId": op_id,
            "tags": list(tags),
            "parameters": params or [],
            "responses": {"200": ok, **_errors(*errors)},
        }
    }


_DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_INSTANT = _DATE + r"(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?"
DATETIME_PATTERN = rf"^({_INSTANT}|({_INSTANT}|\.\.)/({_INSTANT}|\.\.))$"
BBOX_PATTERN = r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$"

_TYPES = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
}


def _feature_schema(coll: ogc.Collection) -> dict[str, Any]:
    props = {name: {**_TYPES[kind], "nullable": True} for name, kind in coll.properties.items()}
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": _ref("schemas", "Geometry"),
            "properties": {"type": "object", "properties": props},
            "links": {"type": "array", "items": _ref("schemas", "Link")},
        },
    }


def _collection_schema(coll: ogc.Collection) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "features", "numberMatched", "numberReturned", "links"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _ref("schemas", f"{coll.id}Feature")},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string"},
            "links": {"type": "array", "items": _ref("schemas", "Link")},
        },
    }


def _parameters() -> dict[str, Any]:
    crs = {"type": "string", "enum": list(ogc.CRS_LIST)}
    return {
        "f": {
            "name": "f",
            "in": "query",
            "required": False,
            "description": "json (default for programs) or html (default for browsers)",
            "schema": {"type": "string", "enum": ["json", "html"]},
        },
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat)",
            "schema": {
                "type": "array",
                "minItems": 4,
                "maxItems": 4,
                "items": {"type": "number", "minimum": -180, "maximum": 180},
            },
        },
        "bbox-crs": {"name": "bbox-crs", "in": "query", "required": False, "schema": crs},
        "crs": {"name": "crs", "in": "query", "required": False, "schema": crs},
        "datetime": {
            "name": "datetime",
            "in": "query",
            "required": False,
            "description": "an RFC 3339 instant or date, or an interval start/end "
            "with .. for an open end; ignored by layers without time",
            "schema": {"type": "string", "pattern": DATETIME_PATTERN},
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": ogc.MAX_LIMIT,
                "default": ogc.DEFAULT_LIMIT,
            },
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "featureId": {
            "name": "featureId",
            "in": "path",
            "required": True,
            "schema": {"type": "integer"},
        },
    }


def _schemas() -> dict[str, Any]:
    schemas = {**_ogc_schemas(), **_api_schemas()}
    for coll in ogc.COLLECTIONS:
        schemas[f"{coll.id}Feature"] = _feature_schema(coll)
        schemas[f"{coll.id}FeatureCollection"] = _collection_schema(coll)
    return schemas


def _ogc_schemas() -> dict[str, Any]:
    """The objects of OGC API - Features: links, errors, landing page, collections."""
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": _ref("schemas", "Link")}
    collection = {
        "type": "object",
        "required": ["id", "links"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "itemType": {"type": "string"},
            "crs": {"type": "array", "items": {"type": "string"}},
            "storageCrs": {"type": "string"},
            "extent": {"type": "object"},
            "links": links,
        },
    }
    return {
        "Link": link,
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        },
        "Geometry": {
            "type": "object",
            "nullable": True,
            "required": ["type"],
            "properties": {"type": {"type": "string"}, "coordinates": {"type": "array"}},
        },
        "LandingPage": {
            "type": "object",
            "required": ["links"],
            "properties": {
                "title": {"type": "string"},
                "description": {"type": "string"},
                "links": links,
            },
        },
        "Conformance": {
            "type": "object",
            "required": ["conformsTo"],
            "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
        },
        "Collection": collection,
        "Queryables": {
            "type": "object",
            "required": ["type", "properties"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "properties": {"type": "object"},
            },
        },
        "Collections": {
            "type": "object",
            "required": ["links", "collections"],
            "properties": {
                "links": links,
                "collections": {"type": "array", "items": _ref("schemas", "Collection")},
            },
        },
    }


def _api_schemas() -> dict[str, Any]:
    """The objects of the map API."""
    return {
        "MapLayer": {
            "type": "object",
            "required": ["type", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"type": "object"}},
            },
        },
        "Building": {
            "type": "object",
            "required": ["id", "code", "households", "residents"],
            "properties": {
                "id": {"type": "integer"},
                "code": {"type": "string"},
                "households": {"type": "integer"},
                "residents": {"type": "integer"},
            },
        },
    }


def _p(name: str) -> dict[str, Any]:
    """A reference to one of the shared parameters."""
    return _ref("parameters", name)


def _ogc_paths() -> dict[str, Any]:
    paths = {
        "/ogc/": _get(
            "landing page",
            _json(_ref("schemas", "LandingPage"), "links to the API", html=True),
            params=[_p("f")],
            op_id="getLandingPage",
        ),
        "/ogc/conformance": _get(
            "conformance classes served",
            _json(_ref("schemas", "Conformance"), "conformance classes", html=True),
            params=[_p("f")],
            op_id="getConformance",
        ),
        "/ogc/api": _get(
            "this document",
            _json(
                {"type": "object"}, "OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0"
            ),
            errors=(401,),
            op_id="getOpenApi",
        ),
        "/ogc/collections": _get(
            "the collections",
            _json(_ref("schemas", "Collections"), "every collection", html=True),
            params=[_p("f")],
            op_id="getCollections",
        ),
    }
    for coll in ogc.COLLECTIONS:
        paths.update(_collection_paths(coll))
    return paths


def _collection_paths(coll: ogc.Collection) -> dict[str, Any]:
    """The routes of one collection: its description, items, queryables and one item."""
    paths: dict[str, Any] = {}
    base = f"/ogc/collections/{coll.id}"
    filters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": _TYPES[kind],
            "description": f"only features whose {name} equals this",
        }
        for name, kind in coll.properties.items()
    ]
    names = "|".join(coll.properties)
    sortby = {
        "name": "sortby",
        "in": "query",
        "required": False,
        "description": "properties to sort by, comma-separated; - before a name sorts descending",
        "schema": {"type": "string", "pattern": rf"^[+-]?({names})(,[+-]?({names}))*$"},
    }
    paths[base] = _get(
        f"{coll.id}: description",
        _json(_ref("schemas", "Collection"), "the collection", html=True),
        params=[_p("f")],
        op_id=f"describe_{coll.id}",
    )
    paths[f"{base}/items"] = _get(
        f"{coll.id}: features",
        _json(
            _ref("schemas", f"{coll.id}FeatureCollection"),
            "GeoJSON features",
            ogc.GEOJSON,
            html=True,
        ),
        params=[
            _p("f"),
            _p("bbox"),
            _p("bbox-crs"),
            _p("crs"),
            _p("datetime"),
            _p("limit"),
            _p("offset"),
            sortby,
            *filters,
        ],
        op_id=f"items_{coll.id}",
    )
    paths[f"{base}/queryables"] = _get(
        f"{coll.id}: queryables",
        _json(_ref("schemas", "Queryables"), "its properties as JSON Schema", ogc.SCHEMA_JSON),
        op_id=f"queryables_{coll.id}",
    )
    paths[f"{base}/items/{{featureId}}"] = _get(
        f"{coll.id}: one feature",
        _json(_ref("schemas", f"{coll.id}Feature"), "a GeoJSON feature", ogc.GEOJSON, html=True),
        params=[_p("f"), _p("crs"), _p("featureId")],
        errors=(400, 401, 404),
        op_id=f"item_{coll.id}",
    )
    return paths


def _api_paths(map_layers: tuple[str, ...]) -> dict[str, Any]:
    return {
        "/api/layers/{layer}": _map_layer_route(map_layers),
        "/api/tiles/buildings/{z}/{x}/{y}.mvt": _building_tile_route(),
        "/api/buildings/{building_id}": _building_route(),
        "/api/indicators": _indicators_route(),
    }


def _map_layer_route(map_layers: tuple[str, ...]) -> dict[str, Any]:
    """A map layer in a box, as the map pages draw it."""
    return _get(
        "a map layer in a box (what the map pages draw)",
        _json(_ref("schemas", "MapLayer"), "GeoJSON, simplified for the zoom"),
        params=[
            {
                "name": "layer",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(map_layers)},
            },
            {
                "name": "bbox",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "pattern": BBOX_PATTERN},
                "description": "minx,miny,maxx,maxy",
            },
            {
                "name": "zoom",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": vector.MAX_ZOOM},
            },
            {
                "name": "display",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["wgs84", "gcj02"]},
            },
            {"name": "grid", "in": "query", "required": False, "schema": {"type": "string"}},
        ],
        tags=("map API",),
        errors=(400, 401, 404),
        op_id="mapLayer",
    )


def _building_tile_route() -> dict[str, Any]:
    """Building footprints as a vector tile."""
    return _get(
        "building footprints as a Mapbox vector tile",
        {
            "description": "the tile (empty when no building meets it)",
            "content": {
                "application/vnd.mapbox-vector-tile": {
                    "schema": {"type": "string", "format": "binary"}
                }
            },
        },
        params=[
            {
                "name": n,
                "in": "path",
                "required": True,
                "schema": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": vector.MAX_ZOOM if n == "z" else 2**22 - 1,
                },
            }
            for n in ("z", "x", "y")
        ],
        tags=("map API",),
        errors=(400, 401, 404),
        op_id="buildingTile",
    )


def _building_route() -> dict[str, Any]:
    """What a building's popup shows."""
    return _get(
        "what a building's popup shows (counts, nothing personal)",
        _json(_ref("schemas", "Building"), "the building"),
        params=[
            {
                "name": "building_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
            }
        ],
        tags=("map API",),
        errors=(400, 401, 404),
        op_id="building",
    )


def _indicators_route() -> dict[str, Any]:
    """The assessment indicators of a period."""
    return _get(
        "the assessment indicators of a period (the rows of the viewer's areas)",
        _json(
            {
                "type": "object",
                "required": ["period", "indicators"],
                "properties": {
                    "period": {"type": "object"},
                    "indicators": {"type": "array", "items": {"type": "object"}},
                },
            },
            "values, targets, pass/fail or stars, and their sources",
        ),
        params=[
            {
                "name": "level",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["grid", "community", "street"]},
            },
            {
                "name": "period",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "a day, ISO week (2026-W47), month (2026-11) or year",
            },
            {
                "name": "corrections",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["0", "1"]},
                "description": "1: list corrections made after the period was closed",
            },
        ],
        tags=("indicators",),
        errors=(400, 401),
        op_id="indicators",
    )


def document(server_url: str, map_layers: tuple[str, ...]) -> dict[str, Any]:
    """The whole OpenAPI 3.0 document served at /ogc/api.

    Parameters
    ----------
    server_url : str
        The app's root URL (no trailing /).
    map_layers : tuple of str
        The layers /api/layers serves.

    Returns
    -------
    dict
        The document, ready for JSON.
    """
    security: list[dict[str, list[str]]] = [
        {"bearerAuth": []},
        {"basicAuth": []},
        {"sessionCookie": []},
    ]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridmap",
            "version": "1.0",
            "description": "OGC API - Features (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; "
            "Part 2 CRS) and the map API of gridmap. Authenticate with a "
            "personal API token as Bearer, or HTTP Basic user:token.",
        },
        "servers": [{"url": server_url}],
        "security": security,
        "paths": {**_ogc_paths(), **_api_paths(map_layers)},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "basicAuth": {"type": "http", "scheme": "basic"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "parameters": _parameters(),
            "schemas": _schemas(),
        },
    }
