"""Writing density surfaces as GeoTIFF (values) and PNG (colours), in plain numpy + zlib.

Why not rasterio: its wheels bundle their own GDAL, PROJ and SQLite, and in a process
that has SpatiaLite loaded (the default backend: the web app and every CLI command on
a SpatiaLite file) the two copies corrupt each other's heap (``free(): invalid
pointer`` on the first write). Both formats are small enough to write directly:

* GeoTIFF: one float32 band, deflate-compressed strips, GeoKeys for the surface's
  EPSG CRS (PixelIsArea), NaN as nodata (GDAL_NODATA tag) and the layer description
  in GDAL_METADATA, so GDAL/QGIS/ArcGIS read it georeferenced. The tests read it
  back with rasterio in a separate process.
* PNG: 8-bit RGBA; :func:`write_surface` adds a world file (.wld) and a .aux.xml
  with the CRS beside it.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from gridmap.analysis.density import Surface
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

_SHORT, _LONG, _DOUBLE, _ASCII = 3, 4, 12, 2
_SIZES = {_SHORT: 2, _LONG: 4, _DOUBLE: 8, _ASCII: 1}
_FORMAT = {_SHORT: "H", _LONG: "I", _DOUBLE: "d"}


def _epsg(surface: Surface) -> int:
    code = surface.crs.to_epsg()
    if code is None:
        raise fail(
            InvalidInput,
            N_("cannot write a GeoTIFF in {crs}: it has no EPSG code"),
            crs=surface.crs.name,
        )
    return int(code)


def _metadata(surface: Surface, tags: dict | None) -> str:
    items = {
        "units": surface.units,
        "cell_m": f"{surface.cell_m:g}",
        "total": f"{surface.total:g}",
        **{k: str(v) for k, v in (tags or {}).items()},
    }
    body = "".join(f'<Item name="{escape(k)}">{escape(v)}</Item>' for k, v in items.items())
    return f"<GDALMetadata>{body}</GDALMetadata>"


def geotiff_bytes(surface: Surface, *, tags: dict | None = None) -> bytes:
    """The surface as a georeferenced float32 GeoTIFF (little-endian, deflate strips).

    Parameters
    ----------
    surface : Surface
        The density surface; its CRS must have an EPSG code.
    tags : dict, optional
        Extra metadata items written beside the units, cell size and total.

    Returns
    -------
    bytes
        The GeoTIFF file's content.
    """
    values = np.ascontiguousarray(surface.values, dtype="<f4")
    ny, nx = values.shape
    rows_per_strip = max(1, min(ny, 65536 // max(1, nx * 4)))
    strips = [
        zlib.compress(values[r : r + rows_per_strip].tobytes(), 6)
        for r in range(0, ny, rows_per_strip)
    ]
    geokeys = [
        1,
        1,
        0,
        3,
        1024,
        0,
        1,
        1,  # GTModelType: projected
        1025,
        0,
        1,
        1,  # GTRasterType: PixelIsArea
        3072,
        0,
        1,
        _epsg(surface),
    ]  # ProjectedCSType
    entries: list[tuple[int, int, list | bytes]] = [
        (256, _LONG, [nx]),
        (257, _LONG, [ny]),
        (258, _SHORT, [32]),
        (259, _SHORT, [8]),
        (262, _SHORT, [1]),
        (273, _LONG, [0] * len(strips)),
        (277, _SHORT, [1]),
        (278, _LONG, [rows_per_strip]),
        (279, _LONG, [len(s) for s in strips]),
        (284, _SHORT, [1]),
        (339, _SHORT, [3]),
        (33550, _DOUBLE, [surface.cell_m, surface.cell_m, 0.0]),
        (33922, _DOUBLE, [0.0, 0.0, 0.0, surface.x0, surface.y0, 0.0]),
        (34735, _SHORT, geokeys),
        (42112, _ASCII, _metadata(surface, tags).encode("utf-8") + b"\0"),
        (42113, _ASCII, b"nan\0"),
    ]
    return _tiff_file(entries, strips)


def _tiff_file(entries: list[tuple[int, int, list | bytes]], strips: list[bytes]) -> bytes:
    """A little-endian TIFF of one image file directory holding ``entries`` (tag, type,
    values; the strip offsets are filled in here), then the strips."""
    n = len(entries)
    ifd_size = 2 + n * 12 + 4
    data_at = 8 + ifd_size
    blobs: list[bytes] = []

    def payload(kind, value) -> bytes:
        return value if kind == _ASCII else struct.pack(f"<{len(value)}{_FORMAT[kind]}", *value)

    # Strip data goes after the out-of-line tag values; compute their size first.
    out_of_line = sum(
        len(payload(k, v)) + (len(payload(k, v)) & 1)
        for _t, k, v in entries
        if len(payload(k, v)) > 4
    )
    offset = data_at + out_of_line
    strip_offsets = []
    for s in strips:
        strip_offsets.append(offset)
        offset += len(s)
    entries[5] = (273, _LONG, strip_offsets)
    ifd = struct.pack("<H", n)
    cursor = data_at
    for tag, kind, value in entries:
        raw = payload(kind, value)
        count = len(value)
        if len(raw) <= 4:
            ifd += struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, kind, count, cursor)
            pad = raw + b"\0" * (len(raw) & 1)  # word-align the next value
            blobs.append(pad)
            cursor += len(pad)
    ifd += struct.pack("<I", 0)
    return b"II" + struct.pack("<HI", 42, 8) + ifd + b"".join(blobs) + b"".join(strips)


def png_bytes(rgba: np.ndarray) -> bytes:
    """An 8-bit RGBA PNG of ``rgba``.

    Parameters
    ----------
    rgba : numpy.ndarray
        The coloured image, shaped (rows, columns, 4).

    Returns
    -------
    bytes
        The PNG file's content.
    """
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise fail(InvalidInput, N_("a PNG needs an RGBA image (rows, columns, 4)"))
    ny, nx, _ = rgba.shape
    raw = np.concatenate([np.zeros((ny, 1), dtype=np.uint8), rgba.reshape(ny, nx * 4)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", nx, ny, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def world_file(surface: Surface) -> str:
    """ESRI world file: pixel size, rotation, and the centre of the top-left pixel.

    Parameters
    ----------
    surface : Surface
        The surface the PNG shows.

    Returns
    -------
    str
        The world file's six lines (metres of the surface's CRS).
    """
    c = surface.cell_m
    return f"{c!r}\n0.0\n0.0\n{-c!r}\n{surface.x0 + c / 2!r}\n{surface.y0 - c / 2!r}\n"


def surface_bytes(
    surface: Surface, fmt: str, *, rgba: np.ndarray | None = None, tags: dict | None = None
) -> bytes:
    """The file content of ``surface`` as 'tif' (values) or 'png' (``rgba`` colours).

    Parameters
    ----------
    surface : Surface
        The density surface.
    fmt : str
        'tif' (or 'tiff') or 'png', with or without the dot.
    rgba : numpy.ndarray, optional
        The coloured image; required for 'png'.
    tags : dict, optional
        Extra GeoTIFF metadata items.

    Returns
    -------
    bytes
        The file's content.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt in ("tif", "tiff"):
        return geotiff_bytes(surface, tags=tags)
    if fmt == "png":
        if rgba is None:
            raise fail(InvalidInput, N_("a PNG needs the coloured image (rgba)"))
        return png_bytes(rgba)
    raise fail(InvalidInput, N_("unknown format {format}; use tif or png"), format=repr(fmt))


def write_surface(
    surface: Surface, path: str | Path, *, rgba: np.ndarray | None = None, tags: dict | None = None
) -> Path:
    """Write ``surface`` to ``path``: .tif/.tiff values, or .png colours.

    A PNG gets a .wld world file and a .png.aux.xml naming the CRS beside it, so GIS
    software places it.

    Parameters
    ----------
    surface : Surface
        The density surface.
    path : str or Path
        The file to write; its suffix chooses the format.
    rgba : numpy.ndarray, optional
        The coloured image; required for .png.
    tags : dict, optional
        Extra GeoTIFF metadata items.

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".tif", ".tiff", ".png"):
        raise fail(
            InvalidInput, N_("cannot write {file}: use a .tif or .png file name"), file=path.name
        )
    data = surface_bytes(surface, suffix, rgba=rgba, tags=tags)
    path.write_bytes(data)
    if suffix == ".png":
        path.with_suffix(".wld").write_text(world_file(surface))
        Path(f"{path}.aux.xml").write_text(
            f"<PAMDataset><SRS>{escape(surface.crs.to_wkt())}</SRS></PAMDataset>\n"
        )
    return path
