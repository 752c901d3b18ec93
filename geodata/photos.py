"""Evidence photos: checked, re-encoded and stored under ``GRIDMAP_HOME/photos``.

A photo arrives already resized by the phone (canvas re-encoding drops its EXIF; the
phone sends the EXIF time and position it read beside it) or straight from a camera.
Either way the server decodes it, applies the EXIF orientation, caps the longer side,
and writes a fresh JPEG with no metadata at all: of the EXIF only the time taken and the
GPS position are kept, as columns of the ``photo`` row. Files are named by the SHA-256 of
what is stored, so a photo delivered twice is one file.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
_EXIF_DATETIME_ORIGINAL, _EXIF_DATETIME, _EXIF_GPS = 36867, 306, 34853
_EXIF_IFD = 34665


@dataclass(frozen=True)
class StoredPhoto:
    path: str  # relative to GRIDMAP_HOME
    sha256: str
    bytes: int
    width: int
    height: int
    taken_at: datetime | None
    lon: float | None
    lat: float | None


def _rational(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = v
        return float(num) / float(den)


def _gps(info) -> tuple[float | None, float | None]:
    try:

        def deg(values, ref, neg):
            d, m, s = (_rational(x) for x in values)
            value = d + m / 60 + s / 3600
            return -value if str(ref).upper().startswith(neg) else value

        lat = deg(info[2], info.get(1, "N"), "S")
        lon = deg(info[4], info.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None, None
    return lon, lat


def exif_time_and_place(image: Image.Image) -> tuple[datetime | None, float | None, float | None]:
    """The EXIF time taken (local camera time) and GPS position, when the file has them.

    Parameters
    ----------
    image : PIL.Image.Image
        The opened photo.

    Returns
    -------
    tuple of (datetime or None, float or None, float or None)
        Time taken, longitude and latitude (degrees, EPSG:4326).
    """
    exif = image.getexif()
    taken = None
    text = exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL) or exif.get(_EXIF_DATETIME)
    if isinstance(text, str):
        try:
            taken = datetime.strptime(text.strip()[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            taken = None
    lon, lat = _gps(exif.get_ifd(_EXIF_GPS)) if _EXIF_GPS in exif else (None, None)
    return taken, lon, lat


def _open_photo(data: bytes, name: str, max_bytes: int) -> Image.Image:
    """The photo decoded, refused when too large (bytes) or not a JPEG, PNG or WebP."""
    if len(data) > max_bytes:
        raise fail(
            InvalidInput,
            N_("{file}: the photo is {mb} MB, more than {limit} MB"),
            file=name,
            mb=f"{len(data) / 1e6:.1f}",
            limit=f"{max_bytes / 1e6:.1f}",
        )
    image: Image.Image
    try:
        image = Image.open(io.BytesIO(data))
        fmt = image.format
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise fail(InvalidInput, N_("{file}: not a photo (JPEG, PNG or WebP)"), file=name) from exc
    if fmt not in ACCEPTED_FORMATS:
        raise fail(InvalidInput, N_("{file}: not a photo (JPEG, PNG or WebP)"), file=name)
    return image


def _time_and_place(
    image: Image.Image, hint: dict | None
) -> tuple[datetime | None, float | None, float | None]:
    """The photo's time taken and position (lon, lat degrees): its EXIF, else the phone's
    ``hint``."""
    taken, lon, lat = exif_time_and_place(image)
    hint = hint or {}
    if taken is None and hint.get("taken_at"):
        try:
            taken = datetime.fromisoformat(str(hint["taken_at"])[:19])
        except ValueError:
            taken = None
    if lon is None and hint.get("lon") is not None and hint.get("lat") is not None:
        try:
            lon, lat = float(hint["lon"]), float(hint["lat"])
        except (TypeError, ValueError):
            lon = lat = None
        if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
            lon = lat = None
    return taken, lon, lat


def store_photo(
    data: bytes,
    *,
    home: Path,
    name: str,
    max_bytes: int,
    max_side_px: int,
    used_bytes: int,
    total_bytes: int,
    hint: dict | None = None,
) -> StoredPhoto:
    """Check, re-encode and write one photo under ``home``.

    The stored copy is a new JPEG without EXIF, XMP or ICC data, named by its SHA-256, so the
    same photo is stored once.

    Parameters
    ----------
    data : bytes
        The uploaded file.
    home : Path
        The gridmap home; photos go to its ``photos`` folder.
    name : str
        The file's name, shown in errors.
    max_bytes : int
        Largest upload accepted, in bytes.
    max_side_px : int
        Longest side of the stored copy, in pixels.
    used_bytes, total_bytes : int
        Bytes the photo store already holds, and may hold at most.
    hint : dict, optional
        What the phone read from the original's EXIF (taken_at ISO text, lon, lat), used
        when the file carries none.

    Returns
    -------
    StoredPhoto
    """
    image = _open_photo(data, name, max_bytes)
    taken, lon, lat = _time_and_place(image, hint)
    image = ImageOps.exif_transpose(image).convert("RGB")
    image.thumbnail((max_side_px, max_side_px))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)  # a new file: no EXIF, no XMP, no ICC
    blob = out.getvalue()
    if used_bytes + len(blob) > total_bytes:
        raise fail(
            InvalidInput,
            N_("The photo store is full ({mb} MB): ask the administrator to archive old photos."),
            mb=f"{total_bytes / 1e6:.0f}",
        )
    digest = hashlib.sha256(blob).hexdigest()
    rel = Path("photos") / digest[:2] / f"{digest}.jpg"
    target = home / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(blob)
        tmp.replace(target)
    return StoredPhoto(
        path=rel.as_posix(),
        sha256=digest,
        bytes=len(blob),
        width=image.width,
        height=image.height,
        taken_at=taken,
        lon=lon,
        lat=lat,
    )
