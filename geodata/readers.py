"""Reading boundary and register files the way Chinese data really arrives.

One entry point, :func:`read_source`, takes a path (an upload already spooled to disk
with :func:`spool`) and returns a :class:`SourceData`: the features as a GeoDataFrame
in EPSG:4326 plus what was found on the way, each with its reason:

* formats: zipped Shapefile (nested folders, Chinese member names in UTF-8 or GBK),
  a loose .shp with sidecars, GeoJSON, GeoPackage (layers listed, one chosen), KML and
  KMZ, CSV and XLSX (lon/lat columns or a WKT column), GPX tracks with per-point times;
* encodings: ``--encoding``, else the .cpg, else the DBF language-driver byte, else
  UTF-8 versus GB18030 (a superset of GBK and GB2312) decided from the bytes;
* CRS: ``--crs``, else the .prj / the file's own CRS, else inferred from the coordinates
  (:func:`gridmap.crs.infer_crs`); then GCJ-02/BD-09 -> WGS84 when asked;
* geometry the readers cannot even parse: unclosed rings are closed (one report line
  per feature), anything else unreadable is an error for that row;
* safety: size cap, zip-slip and absolute paths, symlinks, zip bombs (ratio and total
  size, counted while decompressing), corrupt archives and mislabelled files.

Everything that goes wrong raises :class:`gridmap.report.InputRejected` (an
``InvalidInput``) with one message that names the file and says what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import shapely

from geodata.fields import timestamp
from gridmap import crs as gcrs
from gridmap.errors import InvalidInput
from gridmap.report import N_, InputRejected, Note, Problem, note, problem, rejected

MB = 1024 * 1024
DEFAULT_MAX_BYTES = int(os.environ.get("GRIDMAP_MAX_UPLOAD_MB", "200")) * MB


@dataclass(frozen=True)
class Limits:
    """Safety caps for one import (all configurable)."""

    max_bytes: int = DEFAULT_MAX_BYTES  # the file as received
    max_unpacked_bytes: int = 1024 * MB  # everything an archive unpacks to
    max_ratio: float = 200.0  # uncompressed / compressed size of one member
    max_members: int = 2000
    # vertices of one feature and of the whole file (GRIDMAP_MAX_VERTICES_FEATURE/_FILE):
    # a million-vertex polygon would hold the server's memory while its preview lives
    max_vertices_feature: int = field(default_factory=lambda: int(
        os.environ.get("GRIDMAP_MAX_VERTICES_FEATURE", 100_000)))
    max_vertices_file: int = field(default_factory=lambda: int(
        os.environ.get("GRIDMAP_MAX_VERTICES_FILE", 5_000_000)))


@dataclass
class ReadOptions:
    layer: str | None = None  # a layer, sheet or member of the file
    crs: str | None = None  # overrides the file's CRS
    central_meridian: float | None = None  # six-digit Gauss-Kruger eastings
    coords: str = "wgs84"  # wgs84 | gcj02 | bd09
    encoding: str | None = None  # overrides the encoding triage
    limits: Limits = field(default_factory=Limits)


@dataclass
class SourceData:
    """What one file held, in EPSG:4326, with how we know."""

    name: str  # file name as the user gave it
    format: str  # shapefile, geojson, gpkg, kml, csv, xlsx, gpx
    layer: str
    layers: list[str]
    frame: gpd.GeoDataFrame  # index 0..n-1 = row - 1; geometry None for plain tables
    spatial: bool
    encoding: str | None = None
    encoding_reason: Note | None = None
    crs: str | None = None
    crs_reason: Note | None = None
    warnings: list[Note] = field(default_factory=list)  # things to look at
    notes: list[Note] = field(default_factory=list)  # what was done, for the record
    problems: list[Problem] = field(default_factory=list)


FORMATS = ("shapefile", "geojson", "gpkg", "kml", "kmz", "csv", "xlsx", "gpx", "zip", "osm")
_EXTENSIONS = {
    ".zip": "zip", ".shp": "shapefile", ".geojson": "geojson", ".json": "geojson",
    ".gpkg": "gpkg", ".kml": "kml", ".kmz": "kmz", ".csv": "csv", ".txt": "csv",
    ".xlsx": "xlsx", ".gpx": "gpx",
}
OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf", ".pbf")  # what libosmium reads
_DATASET_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg", ".kml", ".csv", ".xlsx", ".gpx")
_SUPPORTED = (".zip (Shapefile), .shp, .geojson/.json, .gpkg, .kml, .kmz, .csv, .xlsx, .gpx, "
              ".osm/.osm.pbf/.osm.bz2 (streets)")


# --- spooling uploads -----------------------------------------------------------------------
def safe_filename(name: str) -> str:
    """The last path component of an uploaded name, Chinese kept, separators and controls out."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\x00-\x1f<>:\"|?*]", "_", base).strip(" .")
    return base[:200] or "upload"


def spool(stream, filename: str, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Copy an upload stream into ``directory`` (GDAL wants real files), enforcing the cap."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / safe_filename(filename)
    written = 0
    with open(target, "wb") as out:
        while chunk := stream.read(MB):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise _too_big(filename, max_bytes)
            out.write(chunk)
    return target


def _too_big(name: str, max_bytes: int):
    return rejected(N_("{file} is larger than the {mb} MB limit; split it or ask the "
                       "administrator to raise GRIDMAP_MAX_UPLOAD_MB"),
                    file=name, mb=max_bytes // MB)


# --- format sniffing ------------------------------------------------------------------------
def _head(path: Path, n: int = 4096) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def sniff(path: Path) -> str | None:
    """The format the content says, ignoring the name (None: not recognised)."""
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
    "zip": note(N_("a zip archive")), "shapefile": note(N_("a Shapefile")),
    "geojson": note(N_("JSON/GeoJSON")), "gpkg": note(N_("a GeoPackage/SQLite database")),
    "kml": note(N_("KML")), "kmz": note(N_("KMZ")), "csv": note(N_("CSV text")),
    "xlsx": note(N_("an Excel workbook (.xlsx)")), "gpx": note(N_("GPX")),
    "xls": note(N_("an old Excel .xls workbook")), "xml": note(N_("XML of an unknown kind")),
}


def detect_format(path: Path, display: str) -> str:
    """The format of ``path``: by name, checked against the content (mislabelled -> error)."""
    if display.lower().endswith(OSM_SUFFIXES):
        return "osm"  # libosmium checks the content (and says so) when it reads
    ext = path.suffix.lower()
    actual = sniff(path)
    if ext == ".xls" or actual == "xls":
        raise rejected(N_("{file} is an old Excel .xls workbook; save it as .xlsx or CSV (UTF-8) "
                          "and import that"), file=display)
    if ext == ".dbf":
        raise rejected(N_("{file} is only the attribute table of a Shapefile: the .shp (and "
                          ".shx, .prj) must come with it; zip them together"), file=display)
    if ext in (".shx", ".prj", ".cpg", ".sbn", ".sbx"):
        raise rejected(N_("{file} is a Shapefile sidecar; import the .shp (with all its files "
                          "zipped together)"), file=display)
    declared = _EXTENSIONS.get(ext)
    if declared is None:
        if actual in (None, "xml"):
            raise rejected(N_("{file}: unknown format; gridmap reads {supported}"),
                           file=display, supported=_SUPPORTED)
        return actual
    if actual is None:
        if path.stat().st_size == 0:
            raise rejected(N_("{file} is empty"), file=display)
        if declared == "zip":
            raise rejected(N_("{file} is not a zip archive (corrupt or mislabelled); export "
                              "the data again"), file=display)
        raise rejected(N_("{file} is named {ext} but its content is not {kind}; check the "
                          "file or export it again"),
                       file=display, ext=ext, kind=_KIND_NAMES.get(declared, declared))
    compatible = {
        "zip": {"zip", "kmz"}, "kmz": {"kmz", "zip"}, "csv": {"csv"},
        "geojson": {"geojson"}, "shapefile": {"shapefile"}, "gpkg": {"gpkg"},
        "kml": {"kml"}, "gpx": {"gpx"}, "xlsx": {"xlsx"},
    }
    if actual not in compatible[declared]:
        raise rejected(N_("{file} is named {ext} but it is {actual}; rename it to match its "
                          "content or export it again"),
                       file=display, ext=ext, actual=_KIND_NAMES.get(actual, actual))
    return declared


# --- archives ---------------------------------------------------------------------------------
def member_name(info: zipfile.ZipInfo) -> str:
    """A member's real name: zips from Chinese Windows store GBK without the UTF-8 flag,
    which Python shows as cp437 mojibake."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unsafe_member(name: str) -> bool:
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[a-zA-Z]:", norm):
        return True
    return ".." in PurePosixPath(norm).parts


def safe_extract(archive: Path, dest: Path, display: str, limits: Limits) -> list[Path]:
    """Unpack ``archive`` into ``dest`` refusing zip-slip, links and bombs; returns files."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise rejected(N_("{file} is not a readable zip archive ({reason}); the upload may be "
                          "incomplete: export or download it again"),
                       file=display, reason=str(exc)) from exc
    out: list[Path] = []
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise rejected(N_("{file} holds {n} files, more than the {limit} allowed"),
                           file=display, n=len(infos), limit=limits.max_members)
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_unpacked_bytes:
            raise _bomb(display, limits)
        for info in infos:
            name = member_name(info)
            if _unsafe_member(name):
                raise rejected(N_("{file} contains the path {member!r}, which points outside "
                                  "the archive (zip-slip); nothing was imported"),
                               file=display, member=name)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise rejected(N_("{file} contains a symbolic link {member!r}; archives with "
                                  "links are refused"), file=display, member=name)
            if info.file_size > limits.max_ratio * max(info.compress_size, 1) and \
                    info.file_size > MB:
                raise _bomb(display, limits)
        written = 0
        for info in infos:
            name = member_name(info).replace("\\", "/")
            parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
            if info.is_dir() or not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
                continue
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                raise rejected(N_("{file} contains the path {member!r}, which points outside "
                                  "the archive (zip-slip); nothing was imported"),
                               file=display, member=name)
            target.parent.mkdir(parents=True, exist_ok=True)
            member_bytes = 0
            try:
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(MB):
                        member_bytes += len(chunk)
                        written += len(chunk)
                        # Headers can lie: count what really comes out.
                        if written > limits.max_unpacked_bytes or member_bytes > max(
                                limits.max_ratio * max(info.compress_size, 1), MB):
                            raise _bomb(display, limits)
                        dst.write(chunk)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                    zlib.error) as exc:
                raise rejected(N_("{file} is corrupt: {member!r} cannot be unpacked ({reason}); "
                                  "export or download it again"),
                               file=display, member=name, reason=str(exc)) from exc
            except NotImplementedError as exc:
                raise rejected(N_("{file}: {member!r} uses a compression or encryption gridmap "
                                  "cannot read ({reason}); zip it again without a password"),
                               file=display, member=name, reason=str(exc)) from exc
            out.append(target)
    return out


def _bomb(display: str, limits: Limits):
    return rejected(N_("{file} unpacks to more than allowed (limit {mb} MB, at most {ratio:.0f}x "
                       "compression per file): refused as a possible zip bomb"),
                    file=display, mb=limits.max_unpacked_bytes // MB, ratio=limits.max_ratio)


def _datasets(files: list[Path], root: Path, display: str) -> dict[str, Path]:
    """Readable datasets among unpacked files, keyed by their path inside the archive."""
    found: dict[str, Path] = {}
    stems_with_shp = {f.with_suffix("").as_posix().lower() for f in files
                      if f.suffix.lower() == ".shp"}
    for f in sorted(files):
        suffix = f.suffix.lower()
        rel = f.relative_to(root).as_posix()
        if suffix == ".dbf" and f.with_suffix("").as_posix().lower() not in stems_with_shp:
            raise rejected(N_("{file}: {member} has no .shp next to it (the geometry is missing); "
                              "add the .shp and .shx with the same name"),
                           file=display, member=rel)
        if suffix in _DATASET_SUFFIXES:
            found[rel] = f
    if not found:
        names = ", ".join(sorted(f.relative_to(root).as_posix() for f in files)[:10])
        raise rejected(N_("{file} holds no file gridmap can read ({names}); it reads {supported}"),
                       file=display, names=names or "-", supported=_SUPPORTED)
    return found


class LayerChoiceNeeded(InputRejected):
    """The file holds several layers (or sheets, or datasets); ``choices`` lists them."""

    def __init__(self, template: str, choices: list[str], **params) -> None:
        self.choices = choices
        super().__init__(template, **params)


def _matches(key: str, wanted: str) -> bool:
    return wanted in (key, PurePosixPath(key).stem, PurePosixPath(key).name)


_WHAT = {"layer": (N_("layer"), N_("layers")), "sheet": (N_("sheet"), N_("sheets")),
         "dataset": (N_("dataset"), N_("datasets"))}


def _pick(keys: list[str], wanted: str | None, display: str, what: str) -> str:
    """Choose one of ``keys``: the only one, or the one ``wanted`` names."""
    one, many = (note(t) for t in _WHAT[what])
    if wanted is None:
        if len(keys) == 1:
            return keys[0]
        raise LayerChoiceNeeded(N_("{file} holds {n} {what}: {names}; choose one with --layer"),
                                list(keys), file=display, n=len(keys), what=many,
                                names=", ".join(keys))
    for key in keys:
        if _matches(key, wanted):
            return key
    raise LayerChoiceNeeded(N_("{file} has no {what} {wanted!r}; it has: {names}"), list(keys),
                            file=display, what=one, wanted=wanted, names=", ".join(keys))


# --- encodings --------------------------------------------------------------------------------
_ENCODING_ALIASES = {
    "utf8": "UTF-8", "utf-8": "UTF-8", "65001": "UTF-8", "utf-8-sig": "UTF-8",
    "936": "CP936", "cp936": "CP936", "gbk": "CP936", "ansi 936": "CP936", "ms936": "CP936",
    "gb2312": "CP936", "euc-cn": "CP936", "gb18030": "GB18030", "54936": "GB18030",
    "950": "CP950", "big5": "CP950", "cp950": "CP950", "ansi 950": "CP950",
    "1252": "CP1252", "cp1252": "CP1252", "ansi 1252": "CP1252", "latin1": "ISO-8859-1",
    "88591": "ISO-8859-1", "8859_1": "ISO-8859-1", "iso-8859-1": "ISO-8859-1",
    "iso8859-1": "ISO-8859-1", "437": "CP437", "cp437": "CP437",
}
# DBF byte 29 (language driver id) -> code page, for the ids Chinese data carries.
_LDID = {0x4D: "CP936", 0x7A: "CP936", 0x4F: "CP950", 0x78: "CP950", 0x4E: "CP949",
         0x7B: "CP932", 0x13: "CP932", 0x01: "CP437", 0x02: "CP850", 0x03: "CP1252",
         0x57: None, 0x00: None}
_CJK_LDID = {"CP936", "CP950", "CP949", "CP932"}


def normalise_encoding(name: str, display: str = "--encoding") -> str:
    key = str(name).strip().lower().replace("_", "-") if name else ""
    key2 = key.replace("-", "") if key.replace("-", "").isdigit() else key
    canonical = _ENCODING_ALIASES.get(key2) or _ENCODING_ALIASES.get(key.replace("-", ""))
    if canonical:
        return canonical
    try:
        codecs.lookup(key)
    except LookupError as exc:
        raise rejected(N_("{where}: unknown encoding {name!r}; use UTF-8, GBK or GB18030"),
                       where=display, name=name) from exc
    return key.upper()


def python_codec(encoding: str) -> str:
    return {"CP936": "gbk", "GB18030": "gb18030", "UTF-8": "utf-8"}.get(encoding, encoding.lower())


_CJK = re.compile(r"[\u3400-\u9fff]")


def guess_text_encoding(data: bytes) -> tuple[str, Note] | None:
    """UTF-8 versus GB18030 from the bytes themselves; None when it is neither."""
    if data.startswith(codecs.BOM_UTF8):
        return "UTF-8", note(N_("UTF-8 byte-order mark at the start of the file"))
    if not any(b >= 0x80 for b in data):
        return "UTF-8", note(N_("the text is plain ASCII (any encoding reads it); UTF-8 used"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sample may cut the last character in half.
        text = data[: exc.start].decode("utf-8") if exc.start >= len(data) - 3 else None
    if text is not None:
        return "UTF-8", note(N_("detected from the bytes: valid UTF-8 with {n} Chinese characters"),
                             n=len(_CJK.findall(text)))
    text = data.decode("gb18030", errors="replace")
    if text.count("\ufffd") > 2 + len(text) // 2000:
        return None
    return "GB18030", note(N_("detected from the bytes: not valid UTF-8, reads as GBK/GB18030 "
                              "with {n} Chinese characters"), n=len(_CJK.findall(text)))


def detect_text_encoding(data: bytes, display: str = "the file") -> tuple[str, Note]:
    found = guess_text_encoding(data)
    if found is None:
        raise rejected(N_("{file}: the text is neither UTF-8 nor GBK/GB18030; pass --encoding"),
                       file=display)
    return found


def _dbf_records(dbf: Path, limit: int = 4 * MB) -> tuple[int, bytes]:
    with open(dbf, "rb") as f:
        header = f.read(32)
        if len(header) < 32:
            raise rejected(N_("{file} is too short to be a dBASE table"), file=dbf.name)
        header_len = int.from_bytes(header[8:10], "little")
        f.seek(header_len)
        return header[29], f.read(limit)


def dbf_encoding(dbf: Path, display: str) -> tuple[str, Note]:
    """Encoding of a Shapefile's .dbf: .cpg, then the language-driver byte, then the bytes."""
    for cpg in (dbf.with_suffix(".cpg"), dbf.with_suffix(".CPG")):
        if cpg.exists():
            raw = cpg.read_bytes().decode("ascii", errors="replace").strip()
            try:
                enc = normalise_encoding(raw, cpg.name)
            except Exception:  # noqa: BLE001 - a broken .cpg falls back to the next rule
                break
            _ldid, records = _dbf_records(dbf)
            try:
                records.decode(python_codec(enc))
            except UnicodeDecodeError:
                found = guess_text_encoding(records)
                if found is not None:
                    return found[0], note(N_("the .cpg says {value}, but the text is not valid "
                                             "{value}; {detail}"), value=raw,
                                          detail=found[1])
            except LookupError:
                pass
            return enc, note(N_("from the .cpg file ({value})"), value=raw)
    ldid, records = _dbf_records(dbf)
    declared = _LDID.get(ldid, "unknown")
    if declared in _CJK_LDID:
        return declared, note(N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} "
                                 "({codepage})"), ldid=ldid, codepage=declared)
    named = declared not in (None, "unknown")
    if named and not any(b >= 0x80 for b in records):
        return declared, note(N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} "
                                 "({codepage})"), ldid=ldid, codepage=declared)
    found = guess_text_encoding(records)
    if found is None:
        if named:
            return declared, note(N_("no .cpg; the DBF language-driver byte is 0x{ldid:02X} "
                                     "({codepage})"), ldid=ldid, codepage=declared)
        raise rejected(N_("{file}: the text is neither UTF-8 nor GBK/GB18030; pass --encoding"),
                       file=display)
    enc, why = found
    if named:
        # A western code page next to valid UTF-8 or Chinese GBK text: the bytes win.
        return enc, note(N_("no .cpg; the DBF language-driver byte says {codepage} but {detail}"),
                         codepage=declared, detail=why)
    return enc, note(N_("no .cpg; the DBF language-driver byte 0x{ldid:02X} names no code page; "
                        "{detail}"), ldid=ldid, detail=why)


# --- geometry from WKB ------------------------------------------------------------------------
def _geometries(wkb: np.ndarray, rows_offset: int = 1) -> tuple[np.ndarray, list[Problem]]:
    """Parse WKB; close unclosed rings (a report line each); unreadable -> error line."""
    wkb = np.asarray(wkb, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    problems: list[Problem] = []
    broken = np.flatnonzero(shapely.is_missing(geoms) & np.array([w is not None for w in wkb],
                                                                  dtype=bool))
    if len(broken):
        fixed = shapely.from_wkb(wkb[broken], on_invalid="fix")
        for k, g in zip(broken, fixed, strict=True):
            row = int(k) + rows_offset
            short = _shortest_ring(g)
            if g is not None and not g.is_empty and short >= 3:
                geoms[k] = g
                problems.append(problem(row, "repaired", "info",
                                        N_("a ring was not closed; closed it by repeating its "
                                           "first point")))
            else:
                problems.append(problem(row, "unreadable_geometry", "error",
                                        N_("a ring is not closed and has only {n} distinct "
                                           "points, too few for a polygon; fix or delete this "
                                           "feature"), n=short) if g is not None else
                                problem(row, "unreadable_geometry", "error",
                                        N_("the geometry cannot be read; fix or delete this "
                                           "feature")))
    return geoms, problems


def _shortest_ring(g) -> int:
    """Fewest distinct points of any ring of ``g`` (large when it has no rings)."""
    if g is None:
        return 0
    rings = []
    for part in shapely.get_parts(g):
        if part.geom_type == "Polygon":
            rings.extend([part.exterior, *part.interiors])
    if not rings:
        return 1_000_000
    return min(len(np.unique(shapely.get_coordinates(r), axis=0)) for r in rings)


# --- OGR-backed formats -----------------------------------------------------------------------
def _ogr_read(path: Path, layer: str | None, encoding: str | None, display: str):
    """pyogrio raw read with GDAL's warnings captured as report notes."""
    notes: list[Note] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Times as text keep their UTC offsets (GPX is UTC; we store China time).
            meta, _fids, wkb, fields = pyogrio.raw.read(str(path), layer=layer,
                                                        encoding=encoding,
                                                        datetime_as_string=True)
        except pyogrio.errors.DataSourceError as exc:
            raise rejected(N_("{file} cannot be opened ({reason}); the file may be corrupt or "
                              "incomplete"), file=display, reason=_first_line(exc)) from exc
        except UnicodeDecodeError as exc:
            raise rejected(N_("{file}: the text is not valid {encoding}; pass the right "
                              "--encoding (GBK or UTF-8)"),
                           file=display, encoding=encoding or "UTF-8") from exc
        except (pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise rejected(N_("{file} cannot be read ({reason})"),
                           file=display, reason=_first_line(exc)) from exc
    for w in caught:
        text = str(w.message)
        if "Non closed ring" in text:
            continue  # reported per feature by _geometries
        notes.append(note(N_("GDAL: {message}"), message=text.splitlines()[0]))
    columns = [str(c) for c in meta["fields"]]
    data = {c: arr for c, arr in zip(columns, fields, strict=True)}
    frame = pd.DataFrame(data)
    return meta, frame, wkb, notes


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _xml_utf8_copy(path: Path, workdir: Path, forced: str | None) -> tuple[Path, str, Note]:
    """KML/GPX: honour the XML declaration; hand GDAL a UTF-8 copy of GBK files."""
    data = path.read_bytes()
    m = re.match(rb"^\s*(?:\xef\xbb\xbf)?<\?xml[^>]*encoding=[\"']([^\"']+)[\"']", data)
    if forced:
        enc, why = forced, note(N_("given with --encoding"))
    elif m:
        enc = normalise_encoding(m.group(1).decode("ascii", "replace"), path.name)
        why = note(N_("declared in the XML header ({value})"),
                   value=m.group(1).decode("ascii", "replace"))
    else:
        enc, why = detect_text_encoding(data[: 4 * MB])
    if enc == "UTF-8":
        return path, enc, why
    text = data.decode(python_codec(enc), errors="replace")
    text = re.sub(r"^(\s*<\?xml[^>]*encoding=[\"'])([^\"']+)", r"\1UTF-8", text, count=1)
    copy = workdir / (path.stem + ".utf8" + path.suffix)
    copy.write_text(text, encoding="utf-8")
    return copy, enc, why


def _with_rebuilt_shx(shp: Path, workdir: Path) -> Path:
    """A copy of the Shapefile ``shp`` in ``workdir`` with the .shx index rebuilt from the
    record headers of the .shp (GDAL's SHAPE_RESTORE_SHX is process-wide: not here)."""
    target = workdir / "shx" / shp.name
    target.parent.mkdir(parents=True, exist_ok=True)
    for part in shp.parent.glob(glob_escape(shp.stem) + ".*"):
        shutil.copyfile(part, target.with_suffix(part.suffix))
    data = shp.read_bytes()
    if len(data) < 100 or data[:4] != b"\x00\x00\x27\x0a":
        raise rejected(N_("{file} is not a Shapefile (.shp header missing)"), file=shp.name)
    index = bytearray()
    pos = 100
    while pos + 8 <= len(data):
        words = int.from_bytes(data[pos + 4:pos + 8], "big")  # content length in 16-bit words
        index += (pos // 2).to_bytes(4, "big") + words.to_bytes(4, "big")
        pos += 8 + 2 * words
    header = bytearray(data[:100])
    header[24:28] = ((100 + len(index)) // 2).to_bytes(4, "big")  # file length in words
    target.with_suffix(".shx").write_bytes(bytes(header) + bytes(index))
    return target


def _read_ogr(path: Path, fmt: str, display: str, opts: ReadOptions, workdir: Path,
              base_notes: list[Note]) -> SourceData:
    encoding: str | None = None
    enc_reason: Note | None = None
    read_path = path
    gdal_encoding: str | None = None
    read_warnings: list[Note] = []
    if fmt == "shapefile":
        if not path.with_suffix(".shx").exists() and not path.with_suffix(".SHX").exists():
            path = read_path = _with_rebuilt_shx(path, workdir)
            read_warnings.append(note(N_("the .shx index was missing; rebuilt it from the .shp")))
        dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()),
                   None)
        if dbf is None:
            encoding, enc_reason = None, note(N_("no .dbf: the file has no attributes"))
        elif opts.encoding:
            encoding, enc_reason = normalise_encoding(opts.encoding), note(N_("given with --encoding"))
        else:
            encoding, enc_reason = dbf_encoding(dbf, display)
        gdal_encoding = encoding
    elif fmt == "geojson":
        data = path.read_bytes()
        if opts.encoding:
            encoding, enc_reason = normalise_encoding(opts.encoding), note(N_("given with --encoding"))
        else:
            encoding, enc_reason = detect_text_encoding(data[: 8 * MB])
        if encoding != "UTF-8":
            read_path = workdir / (path.stem + ".utf8.geojson")
            read_path.write_text(data.decode(python_codec(encoding), errors="replace"),
                                 encoding="utf-8")
    elif fmt in ("kml", "gpx"):
        read_path, encoding, enc_reason = _xml_utf8_copy(
            path, workdir, normalise_encoding(opts.encoding) if opts.encoding else None)
    elif fmt == "gpkg":
        encoding, enc_reason = "UTF-8", note(N_("GeoPackage text is always UTF-8"))

    try:
        listed = pyogrio.list_layers(str(read_path))
    except pyogrio.errors.DataSourceError as exc:
        raise rejected(N_("{file} cannot be opened ({reason}); the file may be corrupt or "
                          "incomplete"), file=display, reason=_first_line(exc)) from exc
    layer_names = [str(n) for n, _t in listed]
    if fmt == "gpx":
        return _read_gpx(read_path, display, opts, layer_names, encoding, enc_reason, base_notes)
    chosen = _pick(layer_names, opts.layer, display, "layer")
    meta, frame, wkb, notes = _ogr_read(read_path, chosen, gdal_encoding, display)
    geoms, problems = _geometries(wkb)
    declared: gcrs.CrsChoice | None = None
    if meta.get("crs"):
        wkt = None
        source = {"shapefile": note(N_(".prj file")), "gpkg": note(N_("GeoPackage layer")),
                  "geojson": note(N_("GeoJSON")),
                  "kml": note(N_("KML (always WGS84)"))}.get(fmt, fmt)
        if fmt == "shapefile":
            prj = next((p for p in (path.with_suffix(".prj"), path.with_suffix(".PRJ"))
                        if p.exists()), None)
            wkt = prj.read_text(errors="replace") if prj else None
        elif fmt == "geojson" and '"crs"' not in read_path.read_text(encoding="utf-8",
                                                                      errors="replace")[:5000]:
            source = note(N_("GeoJSON default (RFC 7946 is always WGS84)"))
        declared = gcrs.describe_declared(pyproj.CRS.from_user_input(meta["crs"]), source, wkt)
    out = SourceData(name=display, format=fmt, layer=chosen, layers=layer_names,
                     frame=gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms)),
                     spatial=True, encoding=encoding, encoding_reason=enc_reason,
                     warnings=read_warnings + notes, notes=base_notes, problems=problems)
    _place(out, declared, opts)
    return out


def _read_gpx(path: Path, display: str, opts: ReadOptions, layer_names: list[str],
              encoding: str | None, enc_reason: Note | None, base_notes: list[Note]) -> SourceData:
    """GPX: tracks become one line per <trk> with the time of every point; waypoints stay
    points (``--layer waypoints``)."""
    wanted = opts.layer or "tracks"
    if wanted not in ("tracks", "waypoints", "routes"):
        raise rejected(N_("{file}: a GPX file offers the layers tracks, waypoints and routes, "
                          "not {wanted!r}"), file=display, wanted=wanted)
    if wanted == "tracks":
        meta, pts, wkb, notes = _ogr_read(path, "track_points", None, display)
        meta_t, trk, _wkb_t, _n = _ogr_read(path, "tracks", None, display)
        geoms = shapely.from_wkb(wkb)
        pts["geometry"] = geoms
        names = {i: (trk["name"].iloc[i] if "name" in trk and pd.notna(trk["name"].iloc[i])
                     else None) for i in range(len(trk))}
        rows = []
        for fid, part in pts.groupby("track_fid", sort=True):
            part = part.sort_values(["track_seg_id", "track_seg_point_id"])
            xy = shapely.get_coordinates(part["geometry"].to_numpy())
            times = [timestamp(t) for t in part["time"]]
            rows.append({"name": names.get(int(fid)), "track": int(fid) + 1,
                         "times": list(times), "points": len(part),
                         "geometry": shapely.linestrings(xy) if len(xy) >= 2 else None})
        frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["name", "track", "times", "points",
                                                              "geometry"]),
                                 geometry="geometry")
        if len(frame) == 0:
            raise rejected(N_("{file} has no tracks; to import its waypoints choose --layer "
                              "waypoints"), file=display)
    else:
        meta, attrs, wkb, notes = _ogr_read(path, wanted, None, display)
        frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(shapely.from_wkb(wkb)))
    out = SourceData(name=display, format="gpx", layer=wanted, layers=["tracks", "waypoints",
                                                                       "routes"],
                     frame=frame, spatial=True, encoding=encoding, encoding_reason=enc_reason,
                     warnings=notes, notes=base_notes)
    _place(out, gcrs.describe_declared(pyproj.CRS.from_epsg(4326),
                                 note(N_("GPX (always WGS84)"))), opts)
    return out


# --- CSV and XLSX -----------------------------------------------------------------------------
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "x坐标", "横坐标", "gcj_lng",
             "wgs84_lng", "bd_lng", "point_x", "coord_x")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "y坐标", "纵坐标", "gcj_lat", "wgs84_lat",
             "bd_lat", "point_y", "coord_y")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "空间信息", "坐标串")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()（）]", "", str(name)).lower()


def _find_column(columns, names) -> str | None:
    """The column named one of ``names``; else one starting with the first few (经度(GCJ02),
    longitude_wgs84 ...)."""
    wanted = [_norm(n) for n in names]
    for c in columns:
        if _norm(c) in wanted:
            return c
    prefixes = [w for w in wanted if len(w) >= 2 and not w.isascii() or len(w) >= 8]
    for c in columns:
        if any(_norm(c).startswith(p) for p in prefixes):
            return c
    return None


def _table_geometry(frame: pd.DataFrame, display: str) -> tuple[np.ndarray | None, list[Problem],
                                                                  list[str]]:
    """Point geometry from lon/lat columns, or geometry from a WKT column; None if neither."""
    lon_col = _find_column(frame.columns, LON_NAMES)
    lat_col = _find_column(frame.columns, LAT_NAMES)
    problems: list[Problem] = []
    if lon_col and lat_col:
        lon = pd.to_numeric(frame[lon_col].astype(str).str.strip(), errors="coerce")
        lat = pd.to_numeric(frame[lat_col].astype(str).str.strip(), errors="coerce")
        bad = lon.isna() | lat.isna()
        for k in np.flatnonzero(bad.to_numpy()):
            problems.append(problem(int(k) + 1, "no_coordinates", "error",
                                    N_("{lon}/{lat} are empty or not numbers ({x!r}, {y!r})"),
                                    lon=lon_col, lat=lat_col, x=frame[lon_col].iloc[k],
                                    y=frame[lat_col].iloc[k]))
        geoms = shapely.points(lon.to_numpy(float), lat.to_numpy(float))
        geoms[bad.to_numpy()] = None
        return geoms, problems, [lon_col, lat_col]
    wkt_col = _find_column(frame.columns, WKT_NAMES)
    if wkt_col:
        text = frame[wkt_col].astype(object).where(frame[wkt_col].notna(), None)
        geoms = shapely.from_wkt(text.to_numpy(), on_invalid="ignore")
        for k in np.flatnonzero(shapely.is_missing(geoms)):
            problems.append(problem(int(k) + 1, "no_coordinates", "error",
                                    N_("column {col} holds no readable WKT ({value!r})"),
                                    col=wkt_col, value=str(frame[wkt_col].iloc[k])[:60]))
        return geoms, problems, [wkt_col]
    return None, problems, []


def _read_csv(path: Path, display: str, opts: ReadOptions) -> SourceData:
    data = path.read_bytes()
    if opts.encoding:
        encoding, why = normalise_encoding(opts.encoding), note(N_("given with --encoding"))
    else:
        encoding, why = detect_text_encoding(data[: 8 * MB])
    codec = "utf-8-sig" if encoding == "UTF-8" else python_codec(encoding)
    text = data.decode(codec, errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise rejected(N_("{file} is not a readable CSV table ({reason})"),
                       file=display, reason=_first_line(exc)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return _tabular(frame, display, "csv", path.stem, [path.stem], encoding, why, opts)


def _read_xlsx(path: Path, display: str, opts: ReadOptions) -> SourceData:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken files
        raise rejected(N_("{file} is not a readable Excel workbook ({reason})"),
                       file=display, reason=_first_line(exc)) from exc
    try:
        sheets = [str(s) for s in book.sheetnames]
        if opts.layer is None:
            nonempty = [s for s in sheets if (book[s].max_row or 0) > 1]
            chosen = nonempty[0] if len(nonempty) == 1 else _pick(sheets, None, display, "sheet")
        else:
            chosen = _pick(sheets, opts.layer, display, "sheet")
        rows = list(book[chosen].iter_rows(values_only=True))
    finally:
        book.close()
    header = [str(c).strip() if c is not None else f"column{k + 1}"
              for k, c in enumerate(rows[0] if rows else [])]
    # Text as the sheet shows it: codes keep their digits, times become datetimes later.
    frame = pd.DataFrame([[None if v is None else (v if not isinstance(v, (int, float)) or
                                                   isinstance(v, bool) else _excel_number(v))
                           for v in r] for r in rows[1:]], columns=header, dtype=object)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all").reset_index(drop=True)
    return _tabular(frame, display, "xlsx", chosen, sheets, "UTF-8",
                    note(N_("Excel workbooks store Unicode text")), opts)


def _excel_number(v) -> str:
    """1.0 -> '1', 310101001001 -> '310101001001', 121.47 -> '121.47' (as Excel shows it)."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _tabular(frame: pd.DataFrame, display: str, fmt: str, layer: str, layers: list[str],
             encoding: str, why: Note, opts: ReadOptions) -> SourceData:
    geoms, problems, used = _table_geometry(frame, display)
    spatial = geoms is not None
    out = SourceData(name=display, format=fmt, layer=layer, layers=layers,
                     frame=gpd.GeoDataFrame(frame.drop(columns=used),
                                            geometry=gpd.GeoSeries(
                                                geoms if spatial else [None] * len(frame))),
                     spatial=spatial, encoding=encoding, encoding_reason=why,
                     problems=problems)
    if spatial:
        _place(out, None, opts)
    return out


# --- CRS and datum ----------------------------------------------------------------------------
def _place(src: SourceData, declared: gcrs.CrsChoice | None, opts: ReadOptions) -> None:
    """Decide the CRS (override, declared, inferred), reproject to EPSG:4326, then undo
    GCJ-02/BD-09 when asked. Mutates ``src``."""
    geoms = src.frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(np.asarray(geoms, dtype=object))
    coords = shapely.get_coordinates(geoms[present])
    x, y = (coords[:, 0], coords[:, 1]) if len(coords) else (np.array([]), np.array([]))
    if opts.crs:
        choice = gcrs.CrsChoice(gcrs.parse_crs(opts.crs),
                                note(N_("given with --crs {value}"), value=opts.crs))
        choice = gcrs.CrsChoice(choice.crs, choice.reason, gcrs.datum_warnings(choice.crs))
    elif declared is not None:
        gcrs.check_declared_fits(declared, x, y)
        choice = declared
    else:
        if len(x) == 0:
            src.crs, src.crs_reason = gcrs.STORAGE_CRS, note(N_("no coordinates in the file"))
            return
        choice = gcrs.infer_crs(x, y, central_meridian=opts.central_meridian)
    src.warnings.extend(choice.warnings)
    series = gpd.GeoSeries(geoms, crs=choice.crs)
    epsg = choice.crs.to_epsg(min_confidence=70)
    if epsg not in (4326, 4490):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            series = series.to_crs(gcrs.STORAGE_CRS)
    else:
        series = series.set_crs(gcrs.STORAGE_CRS, allow_override=True)
    reason = choice.reason
    if opts.coords != "wgs84":
        if not choice.crs.is_geographic:
            raise rejected(N_("--coords {coords} applies to longitude/latitude data, but "
                              "{file} is in {label}; drop --coords"),
                           coords=opts.coords, file=src.name, label=choice.label)
        series = gpd.GeoSeries(gcrs.to_wgs84_geometries(series.to_numpy(), opts.coords),
                               crs=gcrs.STORAGE_CRS)
        src.notes.append(note(N_("coordinates converted from {coords} to WGS84 (iterative "
                                    "inverse, error under 1 mm)"),
                                 coords={"gcj02": note(N_("GCJ-02 (Amap/Tencent)")),
                                         "bd09": note(N_("BD-09 (Baidu)"))}[opts.coords]))
    src.frame = src.frame.set_geometry(series.to_numpy()).set_crs(gcrs.STORAGE_CRS,
                                                                  allow_override=True)
    src.crs = choice.label
    src.crs_reason = reason


# --- entry point -------------------------------------------------------------------------------
Reader = Callable[[Path, str, ReadOptions], SourceData]


def read_source(path: str | Path, opts: ReadOptions | None = None, *,
                display_name: str | None = None, workdir: Path | None = None) -> SourceData:
    """Read one file (or archive) into a :class:`SourceData` in EPSG:4326.

    ``display_name`` is the name the user knows (an upload's original name);
    ``workdir`` receives unpacked archives and transcoded copies (default: a temporary
    directory removed before returning).
    """
    opts = opts or ReadOptions()
    path = Path(path)
    display = display_name or path.name
    if not path.exists():
        raise rejected(N_("{file} does not exist"), file=str(path))
    if path.is_dir():
        raise rejected(N_("{file} is a folder; zip it or name one file in it"), file=display)
    size = path.stat().st_size
    if size > opts.limits.max_bytes:
        raise _too_big(display, opts.limits.max_bytes)
    if opts.coords not in gcrs.COORD_SYSTEMS:
        raise rejected(N_("unknown coordinate system {coords!r}; use wgs84, gcj02 or bd09"),
                       coords=opts.coords)
    own_tmp = workdir is None
    work = Path(tempfile.mkdtemp(prefix="gridmap-import-")) if own_tmp else workdir
    try:
        return _read_any(path, display, opts, work)
    finally:
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)


def _read_any(path: Path, display: str, opts: ReadOptions, work: Path) -> SourceData:
    fmt = detect_format(path, display)
    notes: list[Note] = []
    if fmt in ("zip", "kmz"):
        unpacked = work / "unpacked"
        unpacked.mkdir(parents=True, exist_ok=True)
        files = safe_extract(path, unpacked, display, opts.limits)
        found = _datasets(files, unpacked, display)
        if fmt == "kmz":
            kml = {k: v for k, v in found.items() if k.lower().endswith(".kml")}
            key = "doc.kml" if "doc.kml" in kml else sorted(kml)[0]
            member, layer_opt = kml[key], opts.layer
        else:
            # A zip of several datasets: --layer names the member (by stem, name or path);
            # with a single dataset --layer is passed on (a GeoPackage layer, a sheet).
            keys = list(found)
            named = opts.layer is not None and any(_matches(k, opts.layer) for k in keys)
            key = _pick(keys, opts.layer if named else None, display, "dataset") \
                if len(keys) > 1 else keys[0]
            layer_opt = None if named else opts.layer
            member = found[key]
            notes.append(note(N_("read {member} from the archive"), member=key))
        inner = member_format(member, display)
        sub = ReadOptions(layer=layer_opt, crs=opts.crs, central_meridian=opts.central_meridian,
                          coords=opts.coords, encoding=opts.encoding, limits=opts.limits)
        src = _read_file(member, inner, f"{display}/{key}" if fmt == "zip" else display, sub,
                         work, notes)
        if fmt == "zip":
            src.layers = list(found) if len(found) > 1 else src.layers
        src.format = inner if fmt == "zip" else "kmz"
        return src
    return _read_file(path, fmt, display, opts, work, notes)


def member_format(member: Path, display: str) -> str:
    fmt = detect_format(member, f"{display}/{member.name}")
    if fmt in ("zip", "kmz") and member.suffix.lower() != ".kmz":
        raise rejected(N_("{file}: archives inside archives are not unpacked; unzip "
                          "{member} first"), file=display, member=member.name)
    return fmt


def _read_file(path: Path, fmt: str, display: str, opts: ReadOptions, work: Path,
               notes: list[Note]) -> SourceData:
    if fmt == "csv":
        src = _read_csv(path, display, opts)
    elif fmt == "xlsx":
        src = _read_xlsx(path, display, opts)
    elif fmt == "osm":
        src = _read_osm_ways(path, display)
    elif fmt in ("shapefile", "geojson", "gpkg", "kml", "gpx"):
        src = _read_ogr(path, fmt, display, opts, work, notes)
        return src
    else:
        raise rejected(N_("{file}: unknown format; gridmap reads {supported}"),
                       file=display, supported=_SUPPORTED)
    src.notes = notes + src.notes
    return src


def _read_osm_ways(path: Path, display: str) -> SourceData:
    """The highway ways of an OpenStreetMap file, as lines with their walking tags; the way id
    is the code, so a later extract of the same area updates them."""
    from geodata.osm import read_osm  # pyosmium: loaded only for OSM files

    try:
        ways = read_osm(path).ways
    except InvalidInput as exc:
        raise rejected(N_("{file} cannot be read ({reason})"), file=display,
                       reason=str(exc)) from exc
    frame = gpd.GeoDataFrame({
        "code": "W" + ways["osm_id"].astype(str), "name": ways["name"],
        **{c: ways[c] for c in ("highway", "foot", "access", "service", "layer", "bridge",
                                "tunnel")}}, geometry=ways.geometry.values, crs="EPSG:4326")
    return SourceData(name=display, format="osm", layer="ways", layers=["ways"],
                      frame=frame.reset_index(drop=True), spatial=True, encoding="UTF-8",
                      encoding_reason=note(N_("OpenStreetMap files are always UTF-8")),
                      crs="EPSG:4326",
                      crs_reason=note(N_("OpenStreetMap coordinates are always WGS84")))


def list_layers(path: str | Path, opts: ReadOptions | None = None) -> list[str]:
    """The layers (GeoPackage layers, sheets, archive members) a file offers."""
    opts = opts or ReadOptions()
    return read_source(path, opts).layers
