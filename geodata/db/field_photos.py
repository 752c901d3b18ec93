"""Evidence photos of the field app: kept within the rules' limits, read back in scope.

A photo belongs to a hazard report, a step on a case or a key-site inspection; whoever may
see that record may see its photos, nobody else.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import hazards as cases_repo
from geodata.db.models import Hazard, HazardEvent, Inspection, KeySite, Photo
from geodata.db.scope import key_site_in_areas
from geodata.photos import store_photo
from gridmap.errors import InvalidInput, NotFound
from gridmap.messages import N_, fail
from gridmap.privacy import Requester


def store_photos(
    session: Session,
    requester: Requester,
    photos: list[tuple[str, bytes]],
    hints: list,
    owner: str,
    owner_id: int,
    home: Path,
    rules: dict,
) -> list[int]:
    """Keep the photos sent with a field record, within the rules' size and count limits.

    Parameters
    ----------
    session : Session
        Database session the ``photo`` rows are added to.
    requester : Requester
        Who uploads them.
    photos : list of (str, bytes)
        File name and content of each photo.
    hints : list
        Per photo, the phone's EXIF reading (a dict) or anything else when it has none.
    owner : str
        The kind of record they belong to ("hazard", "hazard_event", "inspection").
    owner_id : int
        That record's id.
    home : Path
        The directory the photo files are stored under.
    rules : dict
        The field rules; ``rules["photos"]`` holds the limits (bytes, pixels, MB in total).

    Returns
    -------
    list of int
        The ids of the stored photos, in the order sent.
    """
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


def hazard_photos(session: Session, requester: Requester, code: str) -> list[dict]:
    """The photos of case ``code`` (its report and every step), oldest first.

    Parameters
    ----------
    session : Session
        Database session holding the photos and cases.
    requester : Requester
        Who asks: the case must lie in their areas.
    code : str
        The hazard case's code.

    Returns
    -------
    list of dict
        Per photo its id, time and place taken, uploader and upload time.
    """
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
    """Photo ``photo_id`` if the requester may see what it belongs to.

    Parameters
    ----------
    session : Session
        Database session holding the photos.
    requester : Requester
        Who asks: the case or key site the photo belongs to must lie in their areas.
    photo_id : int
        The photo's id.

    Returns
    -------
    Photo
        The photo's row (its file under ``path``).
    """
    photo = session.get(Photo, photo_id)
    if photo is None:
        raise fail(NotFound, N_("no photo {id}"), id=photo_id)
    if photo.owner == "inspection":
        site = session.scalar(
            sa.select(KeySite.code).join(Inspection).where(Inspection.id == photo.owner_id)
        )
        key_site_in_areas(session, requester, site or "")
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
