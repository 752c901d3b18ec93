"""OGC API - Features handlers: request in, document out, no web framework.

Each handler takes an :class:`OgcRequest` (the base URL of the API, the query arguments, a
translation function) and returns the response document (a dict ready for JSON, which the
HTML views render too) and extra headers. ``web/ogc.py`` only adapts Flask to these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import building_json
from geodata.db.backend import Bbox
from geodata.db.features import read_collection
from geodata.db.frames import read_frame
from geodata.db.models import Community, Street
from geodata.db.repo import audit
from gridmap import ogc
from gridmap.errors import NotFound
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


@dataclass
class OgcRequest:
    base: str  # e.g. http://host/ogc (no trailing slash)
    args: dict[str, str] = field(default_factory=dict)
    gettext: Callable[[str], str] = str
    via: str = "session"  # "token" or "session": recorded in the audit log


def _bbox(args: dict[str, str]) -> Bbox | None:
    """The request's ``bbox`` (in its ``bbox-crs``) as a lon/lat box; None without one."""
    box = ogc.parse_bbox(args.get("bbox"), ogc.parse_crs(args.get("bbox-crs"), name="bbox-crs"))
    if box is None:
        return None
    minx, miny, maxx, maxy = box  # parse_bbox always answers four numbers
    return minx, miny, maxx, maxy


def _link(href: str, rel: str, kind: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": kind, "title": title}


def landing(req: OgcRequest) -> dict:
    """The landing page: what the service is and links to its other documents.

    Parameters
    ----------
    req : OgcRequest
        The request (base URL and the language to answer in).

    Returns
    -------
    dict
    """
    _ = req.gettext
    b = req.base
    return {
        "title": _("gridmap OGC API - Features"),
        "description": _(
            "Map layers of gridmap for GIS clients (QGIS, GDAL): boundaries, "
            "buildings, roads, facilities, key sites, hazards and patrol tracks, "
            "scoped to your areas."
        ),
        "links": [
            _link(f"{b}/?f=json", "self", JSON, _("this document")),
            _link(f"{b}/?f=html", "alternate", "text/html", _("this document as HTML")),
            _link(f"{b}/api", "service-desc", OPENAPI, _("the API definition (OpenAPI 3.0)")),
            _link(f"{b}/conformance", "conformance", JSON, _("conformance classes")),
            _link(f"{b}/collections", "data", JSON, _("collections")),
        ],
    }


def conformance(_req: OgcRequest) -> dict:
    """The OGC API conformance classes the service implements.

    Parameters
    ----------
    _req : OgcRequest
        The request (unused: the answer is the same for every client).

    Returns
    -------
    dict
    """
    return {"conformsTo": list(ogc.CONFORMANCE)}


def _area_extent(session: Session) -> tuple[float, float, float, float] | None:
    """The box of every street office and community: the extent of every collection (one
    cheap query, instead of reading each layer; layers never leave the areas served)."""
    boxes = []
    for model in (Street, Community):
        frame = read_frame(session, sa.select(model.id, model.geom).where(model.geom.is_not(None)))
        if len(frame):
            boxes.append(frame.total_bounds)
    if not boxes:
        return None
    return (
        float(min(b[0] for b in boxes)),
        float(min(b[1] for b in boxes)),
        float(max(b[2] for b in boxes)),
        float(max(b[3] for b in boxes)),
    )


def _collection_doc(req: OgcRequest, coll: ogc.Collection, extent) -> dict:
    _ = req.gettext
    b = f"{req.base}/collections/{coll.id}"
    return {
        "id": coll.id,
        "title": _(coll.title),
        "description": _(coll.description),
        "itemType": "feature",
        "extent": ogc.extent_of(extent),
        "crs": list(ogc.CRS_LIST),
        "storageCrs": ogc.CRS84,
        "links": [
            _link(f"{b}?f=json", "self", JSON, _(coll.title)),
            _link(f"{b}?f=html", "alternate", "text/html", _(coll.title)),
            _link(f"{b}/items?f=json", "items", ogc.GEOJSON, _("features")),
            _link(f"{b}/items?f=html", "items", "text/html", _("features")),
            _link(f"{b}/queryables", ogc.QUERYABLES_REL, ogc.SCHEMA_JSON, _(coll.title)),
        ],
    }


def collections(session: Session, req: OgcRequest) -> dict:
    """Every collection with its extent and links.

    Parameters
    ----------
    session : Session
        The database session.
    req : OgcRequest
        The request.

    Returns
    -------
    dict
    """
    _ = req.gettext
    extent = _area_extent(session)
    return {
        "links": [
            _link(f"{req.base}/collections?f=json", "self", JSON, _("collections")),
            _link(f"{req.base}/collections?f=html", "alternate", "text/html", _("collections")),
        ],
        "collections": [_collection_doc(req, c, extent) for c in ogc.COLLECTIONS],
    }


def collection(session: Session, req: OgcRequest, collection_id: str) -> dict:
    """One collection's description.

    Parameters
    ----------
    session : Session
        The database session.
    req : OgcRequest
        The request.
    collection_id : str
        The collection (NotFound when unknown).

    Returns
    -------
    dict
    """
    coll = ogc.collection(collection_id)
    return _collection_doc(req, coll, _area_extent(session))


def queryables(req: OgcRequest, collection_id: str) -> dict:
    """The properties a client may filter one collection's items by.

    Parameters
    ----------
    req : OgcRequest
        The request.
    collection_id : str
        The collection (NotFound when unknown).

    Returns
    -------
    dict
        A JSON Schema of the queryables.
    """
    coll = ogc.collection(collection_id)
    return ogc.queryables(
        coll, f"{req.base}/collections/{coll.id}/queryables", req.gettext(coll.title)
    )


def _read(
    session: Session,
    requester: Requester,
    req: OgcRequest,
    coll: ogc.Collection,
    *,
    as_of: Callable[[], datetime],
):
    """(rows after bbox, datetime and property filters, the output CRS)."""
    args = req.args
    crs = ogc.parse_crs(args.get("crs"))
    bbox = _bbox(args)
    interval = ogc.parse_datetime(args.get("datetime"))
    filters = ogc.property_filters(coll, args)
    frame = read_collection(session, requester, coll, bbox, as_of=as_of, interval=interval)
    if interval is not None and coll.time:  # a layer without time ignores datetime
        frame = frame[ogc.time_mask(frame, coll.time, interval)]
    if filters:
        frame = frame[ogc.property_mask(frame, coll, filters)]
    return ogc.sort_frame(frame, ogc.parse_sortby(args.get("sortby"), coll)), crs


def _audit(
    session: Session, requester: Requester, req: OgcRequest, coll: ogc.Collection, returned: int
) -> None:
    """Scoped layers (key sites, hazards, patrols) leave a row per read, as pages do."""
    if coll.scoped:
        audit(session, requester, "ogc_items", coll.id, {"returned": returned, "via": req.via})


def items(
    session: Session,
    requester: Requester,
    req: OgcRequest,
    collection_id: str,
    *,
    as_of: Callable[[], datetime],
) -> tuple[dict, dict]:
    """One page of a collection's features, limited to the requester's areas.

    Parameters
    ----------
    session : Session
        The database session.
    requester : Requester
        Who asks; decides the areas and the personal fields shown.
    req : OgcRequest
        The request, with bbox, datetime, sortby, crs, limit and offset in ``args``.
    collection_id : str
        The collection.
    as_of : callable
        Gives the time the answer is stamped with.

    Returns
    -------
    tuple of (dict, dict)
        The GeoJSON FeatureCollection with numberMatched/numberReturned and paging links,
        and the response headers.
    """
    _ = req.gettext
    coll = ogc.collection(collection_id)
    limit = ogc.parse_int(
        req.args.get("limit"), name="limit", default=ogc.DEFAULT_LIMIT, low=1, high=ogc.MAX_LIMIT
    )
    offset = ogc.parse_int(req.args.get("offset"), name="offset", default=0, low=0, high=10**9)
    frame, crs = _read(session, requester, req, coll, as_of=as_of)
    page = frame.iloc[offset : offset + limit]
    keep = {k: v for k, v in req.args.items() if k not in ("f", "offset", "limit")}
    doc = {
        "type": "FeatureCollection",
        "features": ogc.features(page, coll, crs),
        "numberMatched": len(frame),
        "numberReturned": len(page),
        "timeStamp": datetime.now().astimezone().isoformat(timespec="seconds"),
        "links": ogc.page_links(
            f"{req.base}/collections/{coll.id}/items",
            keep,
            offset=offset,
            limit=limit,
            matched=len(frame),
            title_next=_("next page"),
            title_prev=_("previous page"),
        ),
    }
    _audit(session, requester, req, coll, len(page))
    return doc, {"Content-Crs": f"<{crs}>"}


def items_json(
    session: Session, requester: Requester, req: OgcRequest, collection_id: str
) -> tuple[str, dict] | None:
    """:func:`items` as JSON text written mostly by the database.

    Only for the one query the maps and GIS clients send most (buildings in a box, no other
    filter, on PostGIS).

    Parameters
    ----------
    session : Session
        The database session.
    requester : Requester
        Who asks.
    req : OgcRequest
        The request.
    collection_id : str
        The collection.

    Returns
    -------
    tuple of (str, dict) or None
        The JSON text and the response headers; None when the request is not that one (the
        caller then uses :func:`items`).
    """
    args = req.args
    if (
        collection_id != "buildings"
        or not args.get("bbox")
        or args.get("datetime")
        or args.get("sortby")
        or ogc.property_filters(ogc.BY_ID["buildings"], args)
        or not building_json.usable(session)
    ):
        return None
    _ = req.gettext
    coll = ogc.collection(collection_id)
    limit = ogc.parse_int(
        args.get("limit"), name="limit", default=ogc.DEFAULT_LIMIT, low=1, high=ogc.MAX_LIMIT
    )
    offset = ogc.parse_int(args.get("offset"), name="offset", default=0, low=0, high=10**9)
    crs = ogc.parse_crs(args.get("crs"))
    bbox = _bbox(args)
    if bbox is None:  # not this query (the bbox argument was checked above)
        return None
    features, matched = building_json.ogc_page(session, bbox, crs, limit=limit, offset=offset)
    keep = {k: v for k, v in args.items() if k not in ("f", "offset", "limit")}
    text = ogc.collection_json(
        features,
        {
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "links": ogc.page_links(
                f"{req.base}/collections/{coll.id}/items",
                keep,
                offset=offset,
                limit=limit,
                matched=matched,
                title_next=_("next page"),
                title_prev=_("previous page"),
            ),
        },
    )
    _audit(session, requester, req, coll, len(features))
    return text, {"Content-Crs": f"<{crs}>"}


def item(
    session: Session,
    requester: Requester,
    req: OgcRequest,
    collection_id: str,
    feature_id: str,
    *,
    as_of: Callable[[], datetime],
) -> tuple[dict, dict]:
    """One feature, or NotFound (also for a feature outside the requester's areas).

    Parameters
    ----------
    session : Session
        The database session.
    requester : Requester
        Who asks.
    req : OgcRequest
        The request.
    collection_id : str
        The collection.
    feature_id : str
        The feature's id.
    as_of : callable
        Gives the time the answer is stamped with.

    Returns
    -------
    tuple of (dict, dict)
        The GeoJSON Feature and the response headers.
    """
    coll = ogc.collection(collection_id)
    crs = ogc.parse_crs(req.args.get("crs"))
    frame = read_collection(session, requester, coll, None, as_of=as_of)
    try:
        wanted = int(feature_id)
    except ValueError:
        wanted = None
    frame = frame[frame["id"] == wanted] if wanted is not None else frame.iloc[0:0]
    if not len(frame):
        raise fail(
            NotFound, N_("no feature {fid} in collection {id}"), fid=feature_id[:40], id=coll.id
        )
    feature = ogc.features(frame, coll, crs)[0]
    b = f"{req.base}/collections/{coll.id}"
    feature["links"] = [
        _link(f"{b}/items/{wanted}?f=json", "self", ogc.GEOJSON, str(wanted)),
        _link(f"{b}/items/{wanted}?f=html", "alternate", "text/html", str(wanted)),
        _link(f"{b}?f=json", "collection", JSON, req.gettext(coll.title)),
    ]
    _audit(session, requester, req, coll, 1)
    return feature, {"Content-Crs": f"<{crs}>"}
