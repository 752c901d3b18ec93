"""OGC API - Features at /ogc/ for QGIS, GDAL and other systems (thin Flask adapter).

The handlers live in :mod:`geodata.ogc_api`; here each route builds the request, picks
JSON or HTML (``f=json|html``, else the Accept header) and writes the response. Sessions and
API tokens (web.auth) both work; scope, masking and audit are the same as on the pages.

    GET /ogc/                                     landing page
    GET /ogc/conformance                          conformance classes
    GET /ogc/api                                  OpenAPI 3.0 document (these and /api/)
    GET /ogc/collections[/<id>]                   collections
    GET /ogc/collections/<id>/queryables          its properties (JSON Schema)
    GET /ogc/collections/<id>/items               features: bbox, bbox-crs, crs, datetime,
                                                  limit, offset, property=value, sortby
    GET /ogc/collections/<id>/items/<fid>         one feature
"""

from __future__ import annotations

from flask import Blueprint, Response, g, json, render_template, request
from flask_babel import gettext

from geodata import ogc_api
from geodata.db import layers
from geodata.db.analysis import analysis_as_of
from gridmap import ogc, openapi
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from web.db import db_session

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _req() -> ogc_api.OgcRequest:
    return ogc_api.OgcRequest(
        base=request.url_root.rstrip("/") + "/ogc",
        args=request.args.to_dict(),
        gettext=gettext,
        via="token" if g.get("token_auth") else "session",
    )


def _html() -> bool:
    f = request.args.get("f")
    if f not in (None, "", "json", "html"):
        raise fail(InvalidInput, N_("f must be json or html, got {value}"), value=f[:20])
    if f:
        return f == "html"
    return request.accept_mimetypes.best == "text/html"


def _respond(
    doc: dict,
    template: str,
    *,
    mimetype: str = "application/json",
    headers: dict | None = None,
    **context,
) -> Response:
    if _html():
        response = Response(render_template(template, doc=doc, **context), mimetype="text/html")
    else:
        response = Response(json.dumps(doc, ensure_ascii=False), mimetype=mimetype)
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _respond_text(text: str, headers: dict) -> Response:
    response = Response(text, mimetype=ogc.GEOJSON)
    response.headers.update(headers)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
def landing():
    return _respond(ogc_api.landing(_req()), "ogc/landing.html")


@bp.get("/conformance")
def conformance():
    return _respond(ogc_api.conformance(_req()), "ogc/conformance.html")


@bp.get("/api")
def api_document():
    doc = openapi.document(request.url_root.rstrip("/"), layers.LAYERS)
    return Response(
        json.dumps(doc, ensure_ascii=False), mimetype="application/vnd.oai.openapi+json;version=3.0"
    )


@bp.get("/collections")
def collections():
    return _respond(ogc_api.collections(db_session(), _req()), "ogc/collections.html")


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    return _respond(ogc_api.collection(db_session(), _req(), collection_id), "ogc/collection.html")


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    doc = ogc_api.queryables(_req(), collection_id)
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=ogc.SCHEMA_JSON)


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    session = db_session()
    if not _html():
        fast = ogc_api.items_json(session, g.requester, _req(), collection_id)
        if fast is not None:
            return _respond_text(*fast)
    doc, headers = ogc_api.items(
        session, g.requester, _req(), collection_id, as_of=lambda: analysis_as_of(session)
    )
    return _respond(
        doc,
        "ogc/items.html",
        mimetype=ogc.GEOJSON,
        headers=headers,
        coll=ogc.collection(collection_id),
    )


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    session = db_session()
    doc, headers = ogc_api.item(
        session,
        g.requester,
        _req(),
        collection_id,
        feature_id,
        as_of=lambda: analysis_as_of(session),
    )
    return _respond(
        doc,
        "ogc/item.html",
        mimetype=ogc.GEOJSON,
        headers=headers,
        coll=ogc.collection(collection_id),
    )
