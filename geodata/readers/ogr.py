"""OGR-backed formats (Shapefile, GeoJSON, GeoPackage, KML, GPX): geometry from WKB
with a problem line per unreadable feature."""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geodata.fields import timestamp
from geodata.readers.archive import _pick
from geodata.readers.crs import _place
from geodata.readers.encoding import (
    dbf_encoding,
    detect_text_encoding,
    normalise_encoding,
    python_codec,
)
from geodata.readers.source import MB, ReadOptions, SourceData
from gridmap import crs as gcrs
from gridmap.notes import N_, InputRejected, Note, Problem, note, problem, rejected


def _geometries(wkb: np.ndarray, rows_offset: int = 1) -> tuple[np.ndarray, list[Problem]]:
    """Parse WKB; close unclosed rings (a report line each); unreadable -> error line."""
    wkb = np.asarray(wkb, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    problems: list[Problem] = []
    broken = np.flatnonzero(
        shapely.is_missing(geoms) & np.array([w is not None for w in wkb], dtype=bool)
    )
    if len(broken):
        fixed = shapely.from_wkb(wkb[broken], on_invalid="fix")
        for k, g in zip(broken, fixed, strict=True):
            row = int(k) + rows_offset
            short = _shortest_ring(g)
            if g is not None and not g.is_empty and short >= 3:
                geoms[k] = g
                problems.append(
                    problem(
                        row,
                        "repaired",
                        "info",
                        N_("a ring was not closed; closed it by repeating its first point"),
                    )
                )
            else:
                problems.append(
                    problem(
                        row,
                        "unreadable_geometry",
                        "error",
                        N_(
                            "a ring is not closed and has only {n} distinct "
                            "points, too few for a polygon; fix or delete this "
                            "feature"
                        ),
                        n=short,
                    )
                    if g is not None
                    else problem(
                        row,
                        "unreadable_geometry",
                        "error",
                        N_("the geometry cannot be read; fix or delete this feature"),
                    )
                )
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


def _ogr_read(path: Path, layer: str | None, encoding: str | None, display: str):
    """pyogrio raw read with GDAL's warnings captured as report notes."""
    notes: list[Note] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Times as text keep their UTC offsets (GPX is UTC; we store China time).
            meta, _fids, wkb, fields = pyogrio.raw.read(
                str(path), layer=layer, encoding=encoding, datetime_as_string=True
            )
        except pyogrio.errors.DataSourceError as exc:
            raise _cannot_open(display, exc) from exc
        except UnicodeDecodeError as exc:
            raise rejected(
                N_(
                    "{file}: the text is not valid {encoding}; pass the right "
                    "--encoding (GBK or UTF-8)"
                ),
                file=display,
                encoding=encoding or "UTF-8",
            ) from exc
        except (pyogrio.errors.DataLayerError, pyogrio.errors.FieldError) as exc:
            raise rejected(
                N_("{file} cannot be read ({reason})"), file=display, reason=_first_line(exc)
            ) from exc
    for w in caught:
        text = str(w.message)
        if "Non closed ring" in text:
            continue  # reported per feature by _geometries
        notes.append(note(N_("GDAL: {message}"), message=text.splitlines()[0]))
    columns = [str(c) for c in meta["fields"]]
    data = {c: arr for c, arr in zip(columns, fields, strict=True)}
    frame = pd.DataFrame(data)
    return meta, frame, wkb, notes


def _cannot_open(display: str, exc: BaseException) -> InputRejected:
    return rejected(
        N_("{file} cannot be opened ({reason}); the file may be corrupt or incomplete"),
        file=display,
        reason=_first_line(exc),
    )


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
        why = note(
            N_("declared in the XML header ({value})"), value=m.group(1).decode("ascii", "replace")
        )
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
        words = int.from_bytes(data[pos + 4 : pos + 8], "big")  # content length in 16-bit words
        index += (pos // 2).to_bytes(4, "big") + words.to_bytes(4, "big")
        pos += 8 + 2 * words
    header = bytearray(data[:100])
    header[24:28] = ((100 + len(index)) // 2).to_bytes(4, "big")  # file length in words
    target.with_suffix(".shx").write_bytes(bytes(header) + bytes(index))
    return target


@dataclass
class _OgrInput:
    """The file OGR reads (a UTF-8 copy, or with a rebuilt .shx, when needed), its text
    encoding with the reason, the encoding to hand GDAL and what the reader must be told."""

    path: Path
    read_path: Path
    encoding: str | None
    reason: Note | None
    gdal_encoding: str | None
    warnings: list[Note]


def _ogr_input(path: Path, fmt: str, display: str, opts: ReadOptions, workdir: Path) -> _OgrInput:
    """Settle the encoding of ``path`` per format and make the copy OGR can read."""
    encoding: str | None = None
    enc_reason: Note | None = None
    read_path = path
    gdal_encoding: str | None = None
    read_warnings: list[Note] = []
    if fmt == "shapefile":
        if not path.with_suffix(".shx").exists() and not path.with_suffix(".SHX").exists():
            path = read_path = _with_rebuilt_shx(path, workdir)
            read_warnings.append(note(N_("the .shx index was missing; rebuilt it from the .shp")))
        dbf = next(
            (p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None
        )
        if dbf is None:
            encoding, enc_reason = None, note(N_("no .dbf: the file has no attributes"))
        elif opts.encoding:
            encoding, enc_reason = (
                normalise_encoding(opts.encoding),
                note(N_("given with --encoding")),
            )
        else:
            encoding, enc_reason = dbf_encoding(dbf, display)
        gdal_encoding = encoding
    elif fmt == "geojson":
        data = path.read_bytes()
        if opts.encoding:
            encoding, enc_reason = (
                normalise_encoding(opts.encoding),
                note(N_("given with --encoding")),
            )
        else:
            encoding, enc_reason = detect_text_encoding(data[: 8 * MB])
        if encoding != "UTF-8":
            read_path = workdir / (path.stem + ".utf8.geojson")
            read_path.write_text(
                data.decode(python_codec(encoding), errors="replace"), encoding="utf-8"
            )
    elif fmt in ("kml", "gpx"):
        read_path, encoding, enc_reason = _xml_utf8_copy(
            path, workdir, normalise_encoding(opts.encoding) if opts.encoding else None
        )
    elif fmt == "gpkg":
        encoding, enc_reason = "UTF-8", note(N_("GeoPackage text is always UTF-8"))
    return _OgrInput(path, read_path, encoding, enc_reason, gdal_encoding, read_warnings)


def _declared_crs(meta: dict, fmt: str, path: Path, read_path: Path) -> gcrs.CrsChoice | None:
    """The CRS the file declares, with where it says so (None when it declares none)."""
    declared: gcrs.CrsChoice | None = None
    if meta.get("crs"):
        wkt = None
        source = {
            "shapefile": note(N_(".prj file")),
            "gpkg": note(N_("GeoPackage layer")),
            "geojson": note(N_("GeoJSON")),
            "kml": note(N_("KML (always WGS84)")),
        }.get(fmt, fmt)
        if fmt == "shapefile":
            prj = next(
                (p for p in (path.with_suffix(".prj"), path.with_suffix(".PRJ")) if p.exists()),
                None,
            )
            wkt = prj.read_text(errors="replace") if prj else None
        elif (
            fmt == "geojson"
            and '"crs"' not in read_path.read_text(encoding="utf-8", errors="replace")[:5000]
        ):
            source = note(N_("GeoJSON default (RFC 7946 is always WGS84)"))
        declared = gcrs.describe_declared(pyproj.CRS.from_user_input(meta["crs"]), source, wkt)
    return declared


def _read_ogr(
    path: Path, fmt: str, display: str, opts: ReadOptions, workdir: Path, base_notes: list[Note]
) -> SourceData:
    src = _ogr_input(path, fmt, display, opts, workdir)
    path, read_path, encoding, enc_reason = src.path, src.read_path, src.encoding, src.reason
    try:
        listed = pyogrio.list_layers(str(read_path))
    except pyogrio.errors.DataSourceError as exc:
        raise _cannot_open(display, exc) from exc
    layer_names = [str(n) for n, _t in listed]
    if fmt == "gpx":
        return _read_gpx(read_path, display, opts, layer_names, encoding, enc_reason, base_notes)
    chosen = _pick(layer_names, opts.layer, display, "layer")
    meta, frame, wkb, notes = _ogr_read(read_path, chosen, src.gdal_encoding, display)
    geoms, problems = _geometries(wkb)
    declared = _declared_crs(meta, fmt, path, read_path)
    out = SourceData(
        name=display,
        format=fmt,
        layer=chosen,
        layers=layer_names,
        frame=gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms)),
        spatial=True,
        encoding=encoding,
        encoding_reason=enc_reason,
        warnings=src.warnings + notes,
        notes=base_notes,
        problems=problems,
    )
    _place(out, declared, opts)
    return out


def _read_gpx(
    path: Path,
    display: str,
    opts: ReadOptions,
    layer_names: list[str],
    encoding: str | None,
    enc_reason: Note | None,
    base_notes: list[Note],
) -> SourceData:
    """GPX: tracks become one line per <trk> with the time of every point; waypoints stay
    points (``--layer waypoints``)."""
    wanted = opts.layer or "tracks"
    if wanted not in ("tracks", "waypoints", "routes"):
        raise rejected(
            N_("{file}: a GPX file offers the layers tracks, waypoints and routes, not {wanted!r}"),
            file=display,
            wanted=wanted,
        )
    if wanted == "tracks":
        meta, pts, wkb, notes = _ogr_read(path, "track_points", None, display)
        meta_t, trk, _wkb_t, _n = _ogr_read(path, "tracks", None, display)
        geoms = shapely.from_wkb(wkb)
        pts["geometry"] = geoms
        names = {
            i: (trk["name"].iloc[i] if "name" in trk and pd.notna(trk["name"].iloc[i]) else None)
            for i in range(len(trk))
        }
        rows = []
        for fid, part in pts.groupby("track_fid", sort=True):
            part = part.sort_values(["track_seg_id", "track_seg_point_id"])
            xy = shapely.get_coordinates(part["geometry"].to_numpy())
            times = [timestamp(t) for t in part["time"]]
            rows.append(
                {
                    "name": names.get(int(fid)),
                    "track": int(fid) + 1,
                    "times": list(times),
                    "points": len(part),
                    "geometry": shapely.linestrings(xy) if len(xy) >= 2 else None,
                }
            )
        frame = gpd.GeoDataFrame(
            pd.DataFrame(rows, columns=["name", "track", "times", "points", "geometry"]),
            geometry="geometry",
        )
        if len(frame) == 0:
            raise rejected(
                N_("{file} has no tracks; to import its waypoints choose --layer waypoints"),
                file=display,
            )
    else:
        meta, attrs, wkb, notes = _ogr_read(path, wanted, None, display)
        frame = gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(shapely.from_wkb(wkb)))
    out = SourceData(
        name=display,
        format="gpx",
        layer=wanted,
        layers=["tracks", "waypoints", "routes"],
        frame=frame,
        spatial=True,
        encoding=encoding,
        encoding_reason=enc_reason,
        warnings=notes,
        notes=base_notes,
    )
    _place(
        out,
        gcrs.describe_declared(pyproj.CRS.from_epsg(4326), note(N_("GPX (always WGS84)"))),
        opts,
    )
    return out
