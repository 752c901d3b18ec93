"""JSON and vector-tile endpoints the map pages load their layers from.

GET /api/layers/<layer>?bbox=minx,miny,maxx,maxy&zoom=Z[&display=gcj02][&grid=CODE]
    GeoJSON of one layer in the box, simplified for Z, coordinates rounded, only the
    properties the map uses (gridmap.vector.feature_collection)
GET /api/tiles/buildings/<z>/<x>/<y>.mvt[?display=gcj02]
    building footprints as a Mapbox vector tile (ST_AsMVT on PostGIS)
GET /api/buildings/<id>     what a building's popup shows
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request

from geodata.db import building_json, layers
from geodata.db.analysis import analysis_as_of
from gridmap import ogc, vector
from web.db import db_session
from web.i18n import current_lang
from web.maps import requested_display

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/layers/<layer>")
def layer_geojson(layer: str):
    session = db_session()
    bbox = vector.parse_bbox(request.args.get("bbox")) if request.args.get("bbox") else None
    zoom = vector.parse_zoom(request.args.get("zoom"))
    display = requested_display()
    read_box = layers.display_bbox_to_storage(bbox, display) if bbox else None
    if layer == "buildings" and bbox and display == "wgs84" and building_json.usable(session):
        features = building_json.map_features(
            session,
            read_box,
            tolerance_deg=vector.simplify_tolerance_deg(zoom),
            decimals=vector.coordinate_decimals(zoom),
            lang=current_lang(),
            grid_code=request.args.get("grid") or None,
        )
        response = Response(ogc.collection_json(features), mimetype="application/json")
        response.headers["Cache-Control"] = "private, max-age=30"
        return response
    frame, props = layers.layer_frame(
        session,
        g.requester,
        layer,
        read_box,
        as_of=analysis_as_of(session),
        lang=current_lang(),
        grid_code=request.args.get("grid") or None,
    )
    body = vector.feature_collection(frame, props, zoom=zoom, display=display)
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, max-age=30"
    return response


@bp.get("/tiles/buildings/<int:z>/<int:x>/<int:y>.mvt")
def building_tile(z: int, x: int, y: int):
    data = layers.building_tile(db_session(), z, x, y, display=requested_display())
    response = Response(data, mimetype="application/vnd.mapbox-vector-tile")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/buildings/<int:building_id>")
def building(building_id: int):
    return jsonify(layers.building_details(db_session(), building_id, lang=current_lang()))


def mvt_threshold() -> int:
    """Above this many buildings a page draws them as vector tiles instead of GeoJSON."""
    return int(current_app.config.get("MVT_THRESHOLD", 3000))
