"""Reading any supported file (or archive member) into a SourceData."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd

from geodata.osm import read_osm
from geodata.readers.archive import _datasets, _matches, _pick, safe_extract
from geodata.readers.ogr import _read_ogr
from geodata.readers.sniff import detect_format
from geodata.readers.source import _SUPPORTED, ReadOptions, SourceData
from geodata.readers.spool import _too_big
from geodata.readers.tabular import _read_csv, _read_xlsx
from gridmap import crs as gcrs
from gridmap.errors import InvalidInput
from gridmap.notes import N_, Note, note, rejected

Reader = Callable[[Path, str, ReadOptions], SourceData]


def read_source(
    path: str | Path,
    opts: ReadOptions | None = None,
    *,
    display_name: str | None = None,
    workdir: Path | None = None,
) -> SourceData:
    """Read one file (or archive) into a :class:`SourceData` in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        The file.
    opts : ReadOptions, optional
        Layer, encoding, CRS and coordinate choices (default: detect them).
    display_name : str, optional
        The name the user knows (an upload's original name).
    workdir : Path, optional
        Receives unpacked archives and transcoded copies (default: a temporary directory
        removed before returning).

    Returns
    -------
    SourceData
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
        raise rejected(
            N_("unknown coordinate system {coords!r}; use wgs84, gcj02 or bd09"), coords=opts.coords
        )
    own_tmp = workdir is None
    work = Path(tempfile.mkdtemp(prefix="gridmap-import-")) if workdir is None else workdir
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
            key = (
                _pick(keys, opts.layer if named else None, display, "dataset")
                if len(keys) > 1
                else keys[0]
            )
            layer_opt = None if named else opts.layer
            member = found[key]
            notes.append(note(N_("read {member} from the archive"), member=key))
        inner = member_format(member, display)
        sub = ReadOptions(
            layer=layer_opt,
            crs=opts.crs,
            central_meridian=opts.central_meridian,
            coords=opts.coords,
            encoding=opts.encoding,
            limits=opts.limits,
        )
        src = _read_file(
            member, inner, f"{display}/{key}" if fmt == "zip" else display, sub, work, notes
        )
        if fmt == "zip":
            src.layers = list(found) if len(found) > 1 else src.layers
        src.format = inner if fmt == "zip" else "kmz"
        return src
    return _read_file(path, fmt, display, opts, work, notes)


def member_format(member: Path, display: str) -> str:
    """The format of a file unpacked from an archive; archives inside it are refused.

    Parameters
    ----------
    member : Path
        The unpacked file.
    display : str
        The archive's name, shown in errors.

    Returns
    -------
    str
    """
    fmt = detect_format(member, f"{display}/{member.name}")
    if fmt in ("zip", "kmz") and member.suffix.lower() != ".kmz":
        raise rejected(
            N_("{file}: archives inside archives are not unpacked; unzip {member} first"),
            file=display,
            member=member.name,
        )
    return fmt


def _read_file(
    path: Path, fmt: str, display: str, opts: ReadOptions, work: Path, notes: list[Note]
) -> SourceData:
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
        raise rejected(
            N_("{file}: unknown format; gridmap reads {supported}"),
            file=display,
            supported=_SUPPORTED,
        )
    src.notes = notes + src.notes
    return src


def _read_osm_ways(path: Path, display: str) -> SourceData:
    """The highway ways of an OpenStreetMap file, as lines with their walking tags; the way id
    is the code, so a later extract of the same area updates them."""

    try:
        ways = read_osm(path).ways
    except InvalidInput as exc:
        raise rejected(
            N_("{file} cannot be read ({reason})"), file=display, reason=str(exc)
        ) from exc
    frame = gpd.GeoDataFrame(
        {
            "code": "W" + ways["osm_id"].astype(str),
            "name": ways["name"],
            **{
                c: ways[c]
                for c in ("highway", "foot", "access", "service", "layer", "bridge", "tunnel")
            },
        },
        geometry=ways.geometry.values,
        crs="EPSG:4326",
    )
    return SourceData(
        name=display,
        format="osm",
        layer="ways",
        layers=["ways"],
        frame=frame.reset_index(drop=True),
        spatial=True,
        encoding="UTF-8",
        encoding_reason=note(N_("OpenStreetMap files are always UTF-8")),
        crs="EPSG:4326",
        crs_reason=note(N_("OpenStreetMap coordinates are always WGS84")),
    )


def list_layers(path: str | Path, opts: ReadOptions | None = None) -> list[str]:
    """The layers (GeoPackage layers, sheets, archive members) a file offers.

    Parameters
    ----------
    path : str or Path
        The file.
    opts : ReadOptions, optional
        Read options, passed on to :func:`read_source`.

    Returns
    -------
    list of str
    """
    opts = opts or ReadOptions()
    return read_source(path, opts).layers
