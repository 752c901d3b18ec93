"""The field app on the database: deliveries from the phone, each applied exactly once.

A phone queues what its leader does (a hazard report, a step on a case, a key-site
check-in, a household visit, patrol fixes) under ids it generates itself, and sends the
queue in order when it has a connection. :func:`submit` applies one delivery inside the
caller's transaction and records it in ``submission``; the same id delivered again is
answered from that row and changes nothing. A delivery the data has moved past (the case
was closed meanwhile) raises :class:`~gridmap.errors.Conflict`, which the phone shows.

Patrol fixes of one patrol (``ref`` = the patrol's id) are kept as they came and the
``patrol_track`` row is rebuilt from all of them (at the second fix, every
``REBUILD_EVERY`` fixes and at the stop): times as seconds after the
first fix, the accuracy of each in ``props['accuracy']``, so the patrol analysis cleans
them exactly as it cleans imported tracks (speed, accuracy, gaps).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import overload

import shapely
import sqlalchemy as sa
from geoalchemy2.shape import to_shape
from sqlalchemy.orm import Session

from geodata.db import hazards as cases_repo
from geodata.db import repo
from geodata.db.frames import to_ewkt
from geodata.db.models import (
    AuditLog,
    Building,
    Grid,
    Hazard,
    HazardEvent,
    Household,
    HouseholdVisit,
    Inspection,
    KeySite,
    PatrolTrack,
    Photo,
    Resident,
    Submission,
)
from geodata.db.scope import scoped, visible_grids
from geodata.photos import store_photo
from gridmap import field
from gridmap.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester
from gridmap.vocab import INSPECTION_RESULT_CODES

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
#: The patrol_track is rebuilt from its fixes every this many fixes and at the stop (the
#: rebuild reads them all: rebuilding on every fix of an hour's patrol would be quadratic).
REBUILD_EVERY = 10


@overload
def local_time(ms: float) -> datetime: ...
@overload
def local_time(ms: float | int | str | None) -> datetime | None: ...
def local_time(ms: float | int | str | None) -> datetime | None:
    """Epoch milliseconds (a phone's clock) as naive local time, in the server's zone like
    every other time gridmap writes (``datetime.now()``; run the server with the street
    office's TZ, e.g. TZ=Asia/Shanghai)."""
    if ms is None or ms == "":
        return None
    try:
        value = float(ms)
    except (TypeError, ValueError) as exc:
        raise fail(
            InvalidInput, N_("time: {value} is not a time in milliseconds"), value=ms
        ) from exc
    return datetime.fromtimestamp(value / 1000)


def _number(payload: dict, key: str, *, lo: float, hi: float, required: bool = True):
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise fail(InvalidInput, N_("{field}: missing"), field=key)
        return None
    try:
        value = float(value)
    except (TypeError, ValueError) as exc:
        raise fail(
            InvalidInput, N_("{field}: {value} is not a number"), field=key, value=value
        ) from exc
    if not lo <= value <= hi:
        raise fail(InvalidInput, N_("{field}: {value} is out of range"), field=key, value=value)
    return value


# --- photos -------------------------------------------------------------------------------
def _store_photos(
    session: Session,
    requester: Requester,
    photos: list[tuple[str, bytes]],
    hints: list,
    owner: str,
    owner_id: int,
    home: Path,
    rules: dict,
) -> list[int]:
    limits = rules["photos"]
    if len(photos) > int(limits["per_item"]):
        raise fail(
            InvalidInput,
            N_("{n} photos: at most {limit} per item"),
            n=len(photos),
            limit=limits["per_item"],
        )
    used = int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Photo.bytes), 0))) or 0)
    ids = []
    for i, (name, data) in enumerate(photos):
        hint = hints[i] if i < len(hints) and isinstance(hints[i], dict) else None
        stored = store_photo(
            data,
            home=home,
            name=name,
            max_bytes=int(limits["max_bytes"]),
            max_side_px=int(limits["max_side_px"]),
            used_bytes=used,
            total_bytes=int(float(limits["total_mb"]) * 1e6),
            hint=hint,
        )
        used += stored.bytes
        row = Photo(
            owner=owner,
            owner_id=owner_id,
            path=stored.path,
            sha256=stored.sha256,
            bytes=stored.bytes,
            width=stored.width,
            height=stored.height,
            taken_at=stored.taken_at,
            lon=stored.lon,
            lat=stored.lat,
            uploaded_by=requester.username,
            uploaded_at=datetime.now().replace(microsecond=0),
        )
        session.add(row)
        session.flush()
        ids.append(row.id)
    return ids


# --- the kinds of delivery ------------------------------------------------------------------
class _Ctx:
    def __init__(self, session, requester, payload, photos, made_at, home, rules):
        self.session, self.requester, self.payload = session, requester, payload
        self.photos, self.made_at, self.home, self.rules = photos, made_at, home, rules

    def store_photos(self, owner: str, owner_id: int) -> list[int]:
        return _store_photos(
            self.session,
            self.requester,
            self.photos,
            list(self.payload.get("photo_exif") or []),
            owner,
            owner_id,
            self.home,
            self.rules,
        )


def _hazard_report(c: _Ctx) -> dict:
    p = c.payload
    lon = _number(p, "lon", lo=-180, hi=180)
    lat = _number(p, "lat", lo=-90, hi=90)
    hazard = cases_repo.report(
        c.session,
        c.requester,
        lon=lon,
        lat=lat,
        category=str(p.get("category") or ""),
        severity=str(p.get("severity") or ""),
        description=str(p.get("description") or ""),
        at=c.made_at,
    )
    photos = c.store_photos("hazard", hazard.id)
    return {"hazard": hazard.code, "photos": len(photos)}


def _hazard_act(c: _Ctx) -> dict:
    p = c.payload
    code = str(p.get("code") or "")
    hazard = cases_repo.get(c.session, c.requester, code)
    action = str(p.get("action") or "")
    if hazard.status == "closed" or action not in cases_repo.allowed_actions(
        c.session, c.requester, hazard
    ):
        raise fail(
            Conflict,
            N_(
                "Hazard {code} is now {status}: the step {action} recorded on "
                "the phone no longer applies."
            ),
            code=code,
            status=hazard.status,
            action=action,
        )
    event = cases_repo.act(c.session, c.requester, code, action, note=p.get("note"), at=c.made_at)
    photos = c.store_photos("hazard_event", event.id)
    return {"hazard": code, "status": hazard.status, "photos": len(photos)}


def _site(session: Session, requester: Requester, code: str) -> KeySite:
    site = session.scalar(sa.select(KeySite).where(KeySite.code == code))
    if site is None:
        raise fail(NotFound, N_("no key site with code {code}"), code=code)
    if (
        session.scalar(
            scoped(sa.select(KeySite.id).where(KeySite.id == site.id), requester, KeySite)
        )
        is None
    ):
        raise fail(PermissionDenied, N_("Key site {code} is outside your areas."), code=code)
    return site


def _inspection(c: _Ctx) -> dict:
    p = c.payload
    site = _site(c.session, c.requester, str(p.get("site") or ""))
    lon = _number(p, "lon", lo=-180, hi=180)
    lat = _number(p, "lat", lo=-90, hi=90)
    accuracy = _number(p, "accuracy", lo=0, hi=100000, required=False)
    point = to_shape(site.geom)
    sx, sy = point.x, point.y
    rules = c.rules["checkin"]
    radius = float((site.props or {}).get("checkin_radius_m") or rules["radius_m"])
    dist = field.distance_m(lon, lat, float(sx), float(sy))
    if accuracy is not None and accuracy > float(rules["max_accuracy_m"]):
        raise fail(
            InvalidInput,
            N_(
                "Your position is only known to {acc} m: wait for a better "
                "fix (at most {limit} m) to check in."
            ),
            acc=f"{accuracy:.0f}",
            limit=rules["max_accuracy_m"],
        )
    if dist > radius:
        raise fail(
            InvalidInput,
            N_("You are {dist} m from {site}: check in within {radius} m."),
            dist=f"{dist:.0f}",
            site=site.name,
            radius=f"{radius:.0f}",
        )
    result = str(p.get("result") or "ok")
    if result not in INSPECTION_RESULT_CODES:
        raise fail(InvalidInput, N_("result: unknown value {value}"), value=result)
    notes = str(p.get("notes") or "").strip() or None
    row = Inspection(
        site_id=site.id,
        inspected_at=c.made_at,
        inspector=c.requester.username,
        result=result,
        notes=notes,
        photos=[],
    )
    c.session.add(row)
    c.session.flush()
    row.photos = c.store_photos("inspection", row.id)
    repo.audit(
        c.session,
        c.requester,
        "inspection_checkin",
        site.code,
        {"distance_m": round(dist, 1), "accuracy_m": accuracy},
    )
    return {
        "site": site.code,
        "inspection": row.id,
        "distance_m": round(dist, 1),
        "photos": len(row.photos),
    }


def _household(session: Session, requester: Requester, code: str) -> Household:
    hh = session.scalar(
        scoped(sa.select(Household).where(Household.code == code), requester, Household)
    )
    if hh is None:
        exists = session.scalar(sa.select(Household.id).where(Household.code == code))
        if exists is None:
            raise fail(NotFound, N_("no household with code {code}"), code=code)
        raise fail(PermissionDenied, N_("Household {code} is outside your areas."), code=code)
    return hh


def _visit(c: _Ctx) -> dict:
    p = c.payload
    hh = _household(c.session, c.requester, str(p.get("household") or ""))
    kind = str(p.get("kind") or "visit")
    if kind not in ("visit", "call"):
        raise fail(InvalidInput, N_("kind: unknown value {value}"), value=kind)
    row = HouseholdVisit(
        household_id=hh.id,
        visited_at=c.made_at,
        visitor=c.requester.username,
        kind=kind,
        notes=(str(p.get("notes") or "").strip() or None),
    )
    c.session.add(row)
    repo.audit(c.session, c.requester, "household_visit", hh.code, {"kind": kind})
    c.session.flush()
    return {"household": hh.code, "visit": row.id}


def _grid_for(session: Session, requester: Requester, code: str) -> Grid:
    grid = session.scalar(sa.select(Grid).where(Grid.code == code))
    if grid is None:
        raise fail(NotFound, N_("no grid with code {code}"), code=code)
    allowed = visible_grids(requester)
    if allowed is not None and grid.id not in set(session.scalars(allowed)):
        raise fail(PermissionDenied, N_("Grid {code} is outside your areas."), code=code)
    return grid


def _patrol_ref(payload: dict) -> str:
    ref = str(payload.get("patrol") or "")
    if not CLIENT_ID.match(ref):
        raise fail(InvalidInput, N_("patrol: {value} is not a patrol id"), value=ref)
    return ref


def rebuild_track(session: Session, requester: Requester, ref: str) -> PatrolTrack | None:
    """The patrol_track of patrol ``ref`` from all its fixes received so far (None while
    there are fewer than two distinct times)."""
    rows = (
        session.execute(
            sa.select(Submission.payload).where(
                Submission.ref == ref,
                Submission.kind == "patrol_fix",
                Submission.username == requester.username,
            )
        )
        .scalars()
        .all()
    )
    fixes = sorted({float(p["t"]): p for p in rows}.values(), key=lambda p: float(p["t"]))
    code = f"field-{ref}"[:64]
    track = session.scalar(sa.select(PatrolTrack).where(PatrolTrack.code == code))
    if len(fixes) < 2:
        return track
    t0 = float(fixes[0]["t"])
    grid = _grid_for(session, requester, str(fixes[0].get("grid") or ""))
    line = shapely.LineString([(float(p["lon"]), float(p["lat"])) for p in fixes])
    values = {
        "patroller": requester.username,
        "grid_id": grid.id,
        "started_at": local_time(t0).replace(microsecond=0),
        "ended_at": local_time(float(fixes[-1]["t"])).replace(microsecond=0),
        "times": [round((float(p["t"]) - t0) / 1000, 3) for p in fixes],
        "geom": to_ewkt(line),
        "props": {"accuracy": [p.get("accuracy") for p in fixes], "source": "field"},
    }
    if track is None:
        track = PatrolTrack(code=code, **values)
        session.add(track)
    else:
        for k, v in values.items():
            setattr(track, k, v)
    session.flush()
    return track


def _patrol_fix(c: _Ctx) -> dict:
    p = c.payload
    ref = _patrol_ref(p)
    fix = {
        "patrol": ref,
        "t": _number(p, "t", lo=0, hi=1e14),
        "lon": _number(p, "lon", lo=-180, hi=180),
        "lat": _number(p, "lat", lo=-90, hi=90),
        "accuracy": _number(p, "accuracy", lo=0, hi=100000, required=False),
        "grid": str(p.get("grid") or ""),
    }
    _grid_for(c.session, c.requester, fix["grid"])
    c.payload = fix  # only what the track needs is kept
    return {"patrol": ref, "fix": True}


def _patrol_stop(c: _Ctx) -> dict:
    ref = _patrol_ref(c.payload)
    track = rebuild_track(c.session, c.requester, ref)
    if track is None:
        return {"patrol": ref, "track": None, "fixes": 0}
    track.props = {**(track.props or {}), "stopped": True}
    repo.audit(c.session, c.requester, "patrol_recorded", track.code, {"fixes": len(track.times)})
    return {"patrol": ref, "track": track.code, "fixes": len(track.times)}


HANDLERS: dict[str, Callable[[_Ctx], dict]] = {
    "hazard_report": _hazard_report,
    "hazard_act": _hazard_act,
    "inspection": _inspection,
    "visit": _visit,
    "patrol_fix": _patrol_fix,
    "patrol_stop": _patrol_stop,
}


def submit(
    session: Session,
    requester: Requester,
    *,
    client_id: str,
    kind: str,
    payload: dict,
    made_at_ms: float | int | str | None = None,
    photos: Sequence[tuple[str, bytes]] = (),
    home: Path,
    rules: dict | None = None,
) -> tuple[dict, bool]:
    """Apply one delivery; returns (result, first time). The same ``client_id`` again gives
    the stored result and ``False``. Raises the handler's typed error otherwise."""
    if not CLIENT_ID.match(client_id or ""):
        raise fail(
            InvalidInput,
            N_("id: {value} is not a submission id (8-64 letters, digits, - or _)"),
            value=client_id,
        )
    if requester.role not in cases_repo.rules.FIELD:
        raise fail(
            PermissionDenied,
            N_("Your role ({role}) may not send field records."),
            role=requester.role,
        )
    done = session.scalar(sa.select(Submission).where(Submission.client_id == client_id))
    if done is not None:
        if done.username != requester.username:
            raise fail(
                Conflict, N_("The submission id {value} was used by someone else."), value=client_id
            )
        return dict(done.result or {}), False
    if kind not in HANDLERS:
        raise fail(InvalidInput, N_("kind: unknown value {value}"), value=kind)
    made_at = (local_time(made_at_ms) or datetime.now()).replace(microsecond=0)
    if made_at > datetime.now() + timedelta(minutes=10):
        raise fail(
            InvalidInput,
            N_("time: {value} lies in the future; check the phone's clock"),
            value=f"{made_at:%Y-%m-%d %H:%M}",
        )
    ctx = _Ctx(
        session,
        requester,
        dict(payload or {}),
        list(photos),
        made_at,
        home,
        rules or field.default_rules(),
    )
    result = HANDLERS[kind](ctx)
    ref = ctx.payload.get("patrol") if kind.startswith("patrol") else None
    kept = {k: v for k, v in ctx.payload.items() if k != "photo_exif"}
    session.add(
        Submission(
            client_id=client_id,
            username=requester.username,
            kind=kind,
            ref=ref,
            made_at=made_at,
            received_at=datetime.now().replace(microsecond=0),
            payload=kept,
            result=result,
        )
    )
    session.flush()
    if kind == "patrol_fix":
        received = (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Submission)
                .where(Submission.ref == ref, Submission.kind == "patrol_fix")
            )
            or 0
        )
        assert ref is not None  # _patrol_fix keeps the patrol's ref in the payload
        if received == 2 or received % REBUILD_EVERY == 0:
            rebuild_track(session, requester, ref)
    return result, True


# --- revealing one household's phone ------------------------------------------------------
def reveal_phone(
    session: Session,
    requester: Requester,
    *,
    household_code: str,
    reason: str,
    rules: dict | None = None,
) -> dict:
    """The unmasked phone numbers of one household for ``reason`` (from the rules' list):
    roles that may reveal only, inside their areas, at most ``reveal.per_day`` a day per
    person; every reveal is audited with its reason."""
    rules = rules or field.default_rules()
    if not requester.may_reveal:
        raise fail(
            PermissionDenied,
            N_("Your role ({role}) may not see phone numbers."),
            role=requester.role,
        )
    if reason not in rules["reveal"]["reasons"]:
        raise fail(
            InvalidInput,
            N_("reason: choose one of {choices}"),
            choices=", ".join(rules["reveal"]["reasons"]),
        )
    hh = _household(session, requester, household_code)
    day = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    used = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.username == requester.username,
                AuditLog.action == "reveal_phone",
                AuditLog.at >= day,
            )
        )
        or 0
    )
    limit = int(rules["reveal"]["per_day"])
    if used >= limit:
        raise fail(
            PermissionDenied,
            N_(
                "You have revealed {n} phone numbers today, the daily "
                "limit: ask your community office."
            ),
            n=limit,
        )
    people = session.execute(
        sa.select(Resident.name, Resident.phone)
        .where(Resident.household_id == hh.id)
        .order_by(Resident.id)
    ).all()
    repo.audit(
        session, requester, "reveal_phone", hh.code, {"reason": reason, "count": len(people)}
    )
    session.flush()
    return {
        "household": hh.code,
        "reason": reason,
        "left_today": limit - used - 1,
        "people": [{"name": n, "phone": p} for n, p in people if p],
    }


def household_in_grid(session: Session, household_id: int) -> str | None:
    """The code of the grid holding a household's building.

    Parameters
    ----------
    session : Session
    household_id : int

    Returns
    -------
    str or None
        None when the household or its building has no grid.
    """
    return session.scalar(
        sa.select(Grid.code)
        .join(Building, Building.grid_id == Grid.id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == household_id)
    )


# --- evidence photos: read back through the scope of what they belong to ------------------
def hazard_photos(session: Session, requester: Requester, code: str) -> list[dict]:
    """The photos of case ``code`` (its report and every step), oldest first."""
    hazard = cases_repo.get(session, requester, code)
    events = sa.select(HazardEvent.id).where(HazardEvent.hazard_id == hazard.id)
    rows = session.execute(
        sa.select(
            Photo.id, Photo.taken_at, Photo.lon, Photo.lat, Photo.uploaded_by, Photo.uploaded_at
        )
        .where(
            sa.or_(
                sa.and_(Photo.owner == "hazard", Photo.owner_id == hazard.id),
                sa.and_(Photo.owner == "hazard_event", Photo.owner_id.in_(events)),
            )
        )
        .order_by(Photo.uploaded_at, Photo.id)
    ).all()
    return [dict(r._mapping) for r in rows]


def photo_file(session: Session, requester: Requester, photo_id: int) -> Photo:
    """Photo ``photo_id`` if the requester may see what it belongs to."""
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise fail(NotFound, N_("no photo {id}"), id=photo_id)
    if photo.owner == "inspection":
        site = session.scalar(
            sa.select(KeySite.code).join(Inspection).where(Inspection.id == photo.owner_id)
        )
        _site(session, requester, site or "")
    else:
        hazard_id = (
            photo.owner_id
            if photo.owner == "hazard"
            else session.scalar(
                sa.select(HazardEvent.hazard_id).where(HazardEvent.id == photo.owner_id)
            )
        )
        code = session.scalar(sa.select(Hazard.code).where(Hazard.id == hazard_id))
        cases_repo.get(session, requester, code or "")
    return photo
