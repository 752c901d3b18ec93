"""The grid leader's field app (PWA): an app shell at /field/ with its manifest and
service worker, and the JSON it works from under /field/api/ (the app's script asks for it with
``Accept: application/json``, so its errors come back as JSON too; these session-and-CSRF
endpoints belong to the app, not to the documented token API under /api/).

    GET  /field/                        the shell (the same for every grid; cached offline)
    GET  /field/sw.js                   service worker (scope /field/)
    GET  /field/manifest.webmanifest    install ("add to home screen")
    GET  /field/api/me                  who, their grids, vocabularies, CSRF token
    GET  /field/api/grid/<code>         one grid for the map and today's list (GeoJSON)
    GET  /field/api/photo/<id>          an evidence photo (scoped by its case or site)
    POST /field/api/submit              one queued record, applied exactly once by its id
    POST /field/api/reveal              one household's phone numbers, with a reason

Views parse, call geodata.db.field / geodata.db.mygrid, and answer; rules live there.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from geodata.db import field as field_repo
from geodata.db import field_photos, phones, repo
from geodata.db import hazards as cases_repo
from geodata.db.mygrid import grid_view
from gridmap import field, vocab
from gridmap import hazards as hazard_rules
from gridmap.errors import InvalidInput, NotFound, PermissionDenied
from web.auth import csrf_token
from web.db import db_session
from web.grid import _labels, field_rules, todo_text
from web.i18n import action_labels, current_lang

bp = Blueprint("field", __name__)
#: Bump when the shell's files change: the service worker keeps one cache per version.
SHELL_VERSION = "1"
SHELL_ASSETS = (
    "field/field.css",
    "field/field.js",
    "field/icon.svg",
    "vendor/leaflet/1.9.3/leaflet.css",
    "vendor/leaflet/1.9.3/leaflet.js",
)


def _require_field_role() -> None:
    if g.requester.role not in hazard_rules.FIELD:
        raise PermissionDenied(_("The field app is for grid leaders and community staff."))


@bp.route("/field/")
def app():
    _require_field_role()
    return render_template("field/app.html", version=SHELL_VERSION)


@bp.route("/field/sw.js")
def service_worker():
    shell = [url_for("field.app"), url_for("field.manifest")] + [
        url_for("static", filename=a) for a in SHELL_ASSETS
    ]
    body = render_template("field/sw.js", version=SHELL_VERSION, shell=json.dumps(shell))
    return Response(body, mimetype="application/javascript", headers={"Cache-Control": "no-cache"})


@bp.route("/field/manifest.webmanifest")
def manifest():
    body = {
        "name": _("gridmap field app"),
        "short_name": _("My grid"),
        "start_url": url_for("field.app"),
        "scope": url_for("field.app"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f6feb",
        "lang": "zh-CN" if current_lang() == "zh" else "en",
        "icons": [
            {
                "src": url_for("static", filename="field/icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            }
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/field/api/me")
def me():
    _require_field_role()
    session = db_session()
    grids = repo.visible_grids_frame(session, g.requester)
    mine = [gr.code for gr in g.user.grids]
    rules = field_rules()
    lang = current_lang()

    def terms(ts):
        return [{"code": code, "label": text} for code, text in vocab.labels(ts, lang).items()]

    return jsonify(
        user=g.user.display_name or g.user.username,
        username=g.user.username,
        role=g.requester.role,
        csrf=csrf_token(),
        lang=lang,
        grids=[
            {"code": r["code"], "name": r["name"], "mine": r["code"] in mine}
            for r in grids[["code", "name"]].to_dict("records")
        ],
        categories=terms(vocab.HAZARD_CATEGORIES),
        severities=terms(vocab.HAZARD_SEVERITIES),
        results=terms(vocab.INSPECTION_RESULTS),
        reasons=[{"code": r, "label": _reason_label(r)} for r in rules["reveal"]["reasons"]],
        actions=action_labels(),
        photos={
            "per_item": rules["photos"]["per_item"],
            "max_side_px": rules["photos"]["max_side_px"],
        },
        checkin={
            "radius_m": rules["checkin"]["radius_m"],
            "max_accuracy_m": rules["checkin"]["max_accuracy_m"],
        },
    )


def _reason_label(code: str) -> str:
    return {
        "visit": _("Home visit"),
        "call": _("Phone call"),
        "emergency": _("Emergency"),
        "verify": _("Check the register"),
    }.get(code, code)


def _geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> dict:
    keep = [c for c in columns if c in frame.columns]
    sub = frame[keep + ["geometry"]].copy()
    for c in keep:  # no NaN/NaT reaches the phone
        sub[c] = [
            None
            if v is None or (isinstance(v, float) and not math.isfinite(v))
            else (
                v.isoformat()
                if hasattr(v, "isoformat") and not isinstance(v, str) and str(v) != "NaT"
                else (None if str(v) == "NaT" else v)
            )
            for v in sub[c]
        ]
    return json.loads(sub.to_crs(4326).to_json(drop_id=True))


def _point(geom) -> list[float] | None:
    if geom is None or geom.is_empty:
        return None
    p = geom.representative_point() if geom.geom_type != "Point" else geom
    return [round(p.x, 6), round(p.y, 6)]


def _sites(view, labels: dict) -> gpd.GeoDataFrame:
    """The grid's sites to inspect, with the check-in radius and their category in words."""
    sites = view.sites.copy()
    rules = field_rules()
    sites["radius_m"] = float(rules["checkin"]["radius_m"])
    sites["category_label"] = [labels["sites"].get(c, c) for c in sites["category"]]
    return sites


def _cases(session, view, labels: dict) -> gpd.GeoDataFrame:
    """The grid's hazard cases, with what this person may do next and the labels in words."""
    cases = view.cases.copy()
    cases["actions"] = [
        [
            a
            for a in cases_repo.allowed_actions(
                session, g.requester, cases_repo.get(session, g.requester, c)
            )
            if a != "comment"
        ]
        for c in cases["code"]
    ]
    cases["category_label"] = [labels["category"].get(c, c) for c in cases["category"]]
    cases["status_label"] = [labels["status"].get(c, c) for c in cases["status"]]
    return cases


def _visits(view, todo: list[dict], labels: dict) -> list[dict]:
    """The households the to-do list asks to visit, with the tags this role may see."""
    households = view.households
    shown = {t["code"] for t in todo if t["kind"] == "visit"}
    return [
        {
            "code": h["code"],
            "address": h.get("address"),
            "tags": [
                labels["hh_tags"].get(t, labels["res_tags"].get(t, t))
                for t in field.visible_tags(
                    list(h["tags"]) + list(h["resident_tags"]), g.requester.role
                )
            ],
            "head": h.get("head"),
            "phone": h.get("phone"),
        }
        for h in households.to_dict("records")
        if h["code"] in shown
    ]


@bp.get("/field/api/grid/<code>")
def grid_bundle(code: str):
    """Everything the phone draws and lists for one grid, in one response (cached offline)."""
    _require_field_role()
    session = db_session()
    view = grid_view(session, g.requester, code, rules=field_rules())
    lang = current_lang()
    labels = _labels(lang)
    boundary = view.boundary
    minx, miny, maxx, maxy = boundary.total_bounds
    pad = 0.002
    roads = repo.roads_frame(session, bbox=(minx - pad, miny - pad, maxx + pad, maxy + pad))
    sites = _sites(view, labels)
    cases = _cases(session, view, labels)
    where = _places(view)
    todo = [
        {
            "kind": i.kind,
            "priority": i.priority,
            "code": i.code,
            "text": todo_text(i, labels),
            "at": where.get((i.kind, i.code, i.name)),
        }
        for i in view.todo
    ]
    visits = _visits(view, todo, labels)
    return jsonify(
        grid={
            "code": view.grid["code"],
            "name": view.grid["name"],
            "community": view.grid.get("community_name"),
        },
        as_of=view.as_of.isoformat(),
        boundary=_geojson(boundary, ["code", "name"]),
        buildings=_geojson(view.buildings, ["code", "address", "households"]),
        roads=_geojson(roads, ["name", "highway"]),
        sites=_geojson(
            sites,
            [
                "code",
                "name",
                "category_label",
                "address",
                "overdue",
                "days_overdue",
                "radius_m",
                "last_inspected",
            ],
        ),
        hazards=_geojson(
            cases,
            [
                "code",
                "category_label",
                "severity",
                "status_label",
                "overdue",
                "deadline",
                "description",
                "actions",
            ],
        ),
        patrolled=_geojson(view.patrolled, ["name"]),
        todo=todo,
        visits=visits,
        coverage={k: view.coverage.get(k) for k in ("street_pct", "patrolled_m", "street_m")}
        if view.coverage
        else None,
    )


def _places(view) -> dict:
    """Where each to-do item is: (kind, code, name) -> [lon, lat]."""
    out = {}
    sites = view.sites.set_index("code").geometry if len(view.sites) else {}
    cases = view.cases.set_index("code").geometry if len(view.cases) else {}
    for code, geom in getattr(sites, "items", dict)():
        out[("inspection_overdue", code, None)] = _point(geom)
    for code, geom in getattr(cases, "items", dict)():
        for kind in ("hazard_overdue", "hazard_action", "hazard_due_soon"):
            out[(kind, code, None)] = _point(geom)
    for item in view.todo:
        if item.kind == "unpatrolled":
            streets = view.unpatrolled[
                (view.unpatrolled["name"] == item.name) | (view.unpatrolled["highway"] == item.name)
            ]
            if len(streets):
                out[(item.kind, None, item.name)] = _point(streets.geometry.iloc[0])
        elif item.kind == "visit" and len(view.households):
            hh = view.households[view.households["code"] == item.code]
            if len(hh):
                b = view.buildings[view.buildings["id"] == hh["building_id"].iloc[0]]
                if len(b):
                    out[(item.kind, item.code, item.name)] = _point(b.geometry.iloc[0])
    # items are keyed loosely: fill (kind, code, name) lookups for sites and cases too
    for item in view.todo:
        key = (item.kind, item.code, None)
        if key in out:
            out[(item.kind, item.code, item.name)] = out[key]
    return out


@bp.post("/field/api/submit")
def submit():
    """One record from the phone's queue: JSON body, or multipart with a ``submission``
    JSON field and ``photo`` files. 201 the first time, 200 with the same result again."""
    _require_field_role()
    if request.mimetype == "multipart/form-data":
        try:
            sub = json.loads(request.form.get("submission") or "{}")
        except json.JSONDecodeError as exc:
            raise InvalidInput(_("submission: not JSON")) from exc
        photos = [
            (f.filename or f"photo{i + 1}", f.read())
            for i, f in enumerate(request.files.getlist("photo"))
        ]
    else:
        sub = request.get_json(silent=True) or {}
        photos = []
    if not isinstance(sub, dict):
        raise InvalidInput(_("submission: not JSON"))
    session = db_session()

    def apply():
        return field_repo.submit(
            session,
            g.requester,
            client_id=str(sub.get("id") or ""),
            kind=str(sub.get("kind") or ""),
            payload=sub.get("payload") if isinstance(sub.get("payload"), dict) else {},
            made_at_ms=sub.get("made_at"),
            photos=photos,
            home=current_app.config["SETTINGS"].home,
            rules=field_rules(),
        )

    try:
        result, first = apply()
        session.commit()
    except IntegrityError:  # the same id delivered twice at once: the other one won
        session.rollback()
        result, first = apply()
    return jsonify(id=sub.get("id"), duplicate=not first, **result), 201 if first else 200


@bp.get("/field/api/photo/<int:photo_id>")
def photo(photo_id: int):
    """One evidence photo, for those who may see the case or site it belongs to."""
    record = field_photos.photo_file(db_session(), g.requester, photo_id)
    path = current_app.config["SETTINGS"].home / record.path
    if not path.is_file():
        raise NotFound(_("The photo file is missing from the photo store."))
    body = path.read_bytes()  # at most a few hundred kB
    return Response(
        body, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )


@bp.post("/field/api/reveal")
def reveal():
    _require_field_role()
    data = request.get_json(silent=True) or request.form
    session = db_session()
    out = phones.reveal_phone(
        session,
        g.requester,
        household_code=str(data.get("household") or ""),
        reason=str(data.get("reason") or ""),
        rules=field_rules(),
    )
    session.commit()
    return jsonify(out)
