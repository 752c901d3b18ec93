"""Telling a file's format from its first bytes and its name."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

from geodata.osm import SUFFIXES as OSM_SUFFIXES
from geodata.readers.source import _EXTENSIONS, _SUPPORTED
from gridmap.notes import N_, note, rejected


def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def sniff(path: Path) -> str | None:
    """The format the content says, ignoring the name.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str or None
        'zip', 'csv', 'geojson', 'gpkg', 'xlsx' ...; None when not recognised.
    """
    head = _head(path)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [i.filename.lower() for i in zf.infolist()]
        except (zipfile.BadZipFile, OSError):
            return "zip"
        if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
            return "xlsx"
        if any(n.endswith(".kml") for n in names) and not any(n.endswith(".shp") for n in names):
            return "kmz"
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head[:4] == b"\x00\x00\x27\x0a":
        return "shapefile"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] in (b"{", b"["):
        return "geojson"
    if text[:1] == b"<":
        low = text.lower()
        if b"<kml" in low:
            return "kml"
        if b"<gpx" in low:
            return "gpx"
        return "xml"
    if head and b"\x00" not in head:
        first = head.splitlines()[0] if head.splitlines() else b""
        if any(sep in first for sep in (b",", b"\t", b";", b"|")):
            return "csv"
    return None


_KIND_NAMES = {
    "zip": note(N_("a zip archive")),
    "shapefile": note(N_("a Shapefile")),
    "geojson": note(N_("JSON/GeoJSON")),
    "gpkg": note(N_("a GeoPackage/SQLite database")),
    "kml": note(N_("KML")),
    "kmz": note(N_("KMZ")),
    "csv": note(N_("CSV text")),
    "xlsx": note(N_("an Excel workbook (.xlsx)")),
    "gpx": note(N_("GPX")),
    "xls": note(N_("an old Excel .xls workbook")),
    "xml": note(N_("XML of an unknown kind")),
}


# The contents a declared format may hold (a .zip may be a KMZ and the other way round).
_COMPATIBLE = {
    "zip": {"zip", "kmz"},
    "kmz": {"kmz", "zip"},
    "csv": {"csv"},
    "geojson": {"geojson"},
    "shapefile": {"shapefile"},
    "gpkg": {"gpkg"},
    "kml": {"kml"},
    "gpx": {"gpx"},
    "xlsx": {"xlsx"},
}


def _refuse_parts(ext: str, actual: str | None, display: str) -> None:
    """Refuse an old .xls workbook and the parts of a Shapefile sent without their .shp."""
    if ext == ".xls" or actual == "xls":
        raise rejected(
            N_(
                "{file} is an old Excel .xls workbook; save it as .xlsx or CSV (UTF-8) "
                "and import that"
            ),
            file=display,
        )
    if ext == ".dbf":
        raise rejected(
            N_(
                "{file} is only the attribute table of a Shapefile: the .shp (and "
                ".shx, .prj) must come with it; zip them together"
            ),
            file=display,
        )
    if ext in (".shx", ".prj", ".cpg", ".sbn", ".sbx"):
        raise rejected(
            N_(
                "{file} is a Shapefile sidecar; import the .shp (with all its files "
                "zipped together)"
            ),
            file=display,
        )


def detect_format(path: Path, display: str) -> str:
    """The format of ``path``: by name, checked against the content (mislabelled -> error).

    Parameters
    ----------
    path : Path
        The file.
    display : str
        The name the user knows, shown in errors.

    Returns
    -------
    str
    """
    if display.lower().endswith(OSM_SUFFIXES):
        return "osm"  # libosmium checks the content (and says so) when it reads
    ext = path.suffix.lower()
    actual = sniff(path)
    _refuse_parts(ext, actual, display)
    declared = _EXTENSIONS.get(ext)
    if declared is None:
        if actual in (None, "xml"):
            raise rejected(
                N_("{file}: unknown format; gridmap reads {supported}"),
                file=display,
                supported=_SUPPORTED,
            )
        return actual
    if actual is None:
        if path.stat().st_size == 0:
            raise rejected(N_("{file} is empty"), file=display)
        if declared == "zip":
            raise rejected(
                N_("{file} is not a zip archive (corrupt or mislabelled); export the data again"),
                file=display,
            )
        raise rejected(
            N_(
                "{file} is named {ext} but its content is not {kind}; check the "
                "file or export it again"
            ),
            file=display,
            ext=ext,
            kind=_KIND_NAMES.get(declared, declared),
        )
    if actual not in _COMPATIBLE[declared]:
        raise rejected(
            N_(
                "{file} is named {ext} but it is {actual}; rename it to match its "
                "content or export it again"
            ),
            file=display,
            ext=ext,
            actual=_KIND_NAMES.get(actual, actual),
        )
    return declared
