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
from geodata.db.field_photos import store_photos
from geodata.db.frames import to_ewkt
from geodata.db.models import (
    Grid,
    HouseholdVisit,
    Inspection,
    PatrolTrack,
    Submission,
)
from geodata.db.scope import household_in_areas, key_site_in_areas, visible_grids
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
def local_time(ms: float) -> datetime:
    """A number of milliseconds is always a time."""


@overload
def local_time(ms: float | int | str | None) -> datetime | None:
    """No time (None or empty) stays none."""


def local_time(ms: float | int | str | None) -> datetime | None:
    """Epoch milliseconds (a phone's clock) as naive local time.

    In the server's zone like every other time gridmap writes (``datetime.now()``; run the
    server with the street office's TZ, e.g. TZ=Asia/Shanghai).

    Parameters
    ----------
    ms : float, int, str or None
        Milliseconds since 1970-01-01 UTC.

    Returns
    -------
    datetime or None
        The local time, None when ``ms`` is None or empty.
    """
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


# --- the kinds of delivery ------------------------------------------------------------------
class _Ctx:
    def __init__(self, session, requester, payload, photos, made_at, home, rules):
        self.session, self.requester, self.payload = session, requester, payload
        self.photos, self.made_at, self.home, self.rules = photos, made_at, home, rules

    def store_photos(self, owner: str, owner_id: int) -> list[int]:
        return store_photos(
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


def _inspection(c: _Ctx) -> dict:
    p = c.payload
    site = key_site_in_areas(c.session, c.requester, str(p.get("site") or ""))
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


def _visit(c: _Ctx) -> dict:
    p = c.payload
    hh = household_in_areas(c.session, c.requester, str(p.get("household") or ""))
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
    """The patrol_track of patrol ``ref`` rebuilt from all its fixes received so far.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        The patroller whose fixes are read.
    ref : str
        The patrol's id, generated by the phone.

    Returns
    -------
    PatrolTrack or None
        The track, or the stored one (None) while there are fewer than two distinct times.
    """
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
    """Apply one delivery from the phone, exactly once.

    The same ``client_id`` again gives the stored result and ``False``; a delivery that no
    longer applies raises the handler's typed error.

    Parameters
    ----------
    session : Session
        Database session; the delivery is applied in its transaction.
    requester : Requester
        Who sent it.
    client_id : str
        The delivery's id, generated by the phone (8-64 letters, digits, - or _).
    kind : str
        One of ``HANDLERS``: hazard_report, hazard_act, inspection, visit, patrol_fix,
        patrol_stop.
    payload : dict
        The delivery's fields.
    made_at_ms : float, int, str or None
        When it was made on the phone, epoch milliseconds (default: now).
    photos : sequence of (str, bytes)
        File name and content of the photos sent with it.
    home : Path
        The directory photo files are stored under.
    rules : dict, optional
        The field rules (default: ``gridmap.field.default_rules()``).

    Returns
    -------
    tuple of (dict, bool)
        The handler's result and whether this was the first delivery of ``client_id``.
    """
    done = _earlier_delivery(session, requester, client_id=client_id, kind=kind)
    if done is not None:
        return dict(done.result or {}), False
    made_at = _made_at(made_at_ms)
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
        assert ref is not None  # _patrol_fix keeps the patrol's ref in the payload
        _rebuild_now_and_then(session, requester, ref)
    return result, True


def _earlier_delivery(
    session: Session, requester: Requester, *, client_id: str, kind: str
) -> Submission | None:
    """The delivery of ``client_id`` already applied, after refusing what may not be sent."""
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
        return done
    if kind not in HANDLERS:
        raise fail(InvalidInput, N_("kind: unknown value {value}"), value=kind)
    return None


def _made_at(made_at_ms: float | int | str | None) -> datetime:
    """When a delivery was made (default: now), refused when the phone's clock runs ahead."""
    made_at = (local_time(made_at_ms) or datetime.now()).replace(microsecond=0)
    if made_at > datetime.now() + timedelta(minutes=10):
        raise fail(
            InvalidInput,
            N_("time: {value} lies in the future; check the phone's clock"),
            value=f"{made_at:%Y-%m-%d %H:%M}",
        )
    return made_at


def _rebuild_now_and_then(session: Session, requester: Requester, ref: str) -> None:
    """Rebuild the track at the second fix of a patrol and every ``REBUILD_EVERY`` fixes."""
    received = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Submission)
            .where(Submission.ref == ref, Submission.kind == "patrol_fix")
        )
        or 0
    )
    if received == 2 or received % REBUILD_EVERY == 0:
        rebuild_track(session, requester, ref)
