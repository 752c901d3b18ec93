"""Files the import tests derive from the real ones in ../shared/data, with pyogrio/pyproj.

Each helper writes into a directory the test owns (tmp_path) and returns the path:
Gauss-Kruger copies without .prj, GBK copies without .cpg, GCJ-02/BD-09 shifted copies
(shifted with the oracle formulas of tests/test_crs.py, not with gridmap's code), zips
with Chinese member names in GBK, zip-slip and zip-bomb archives.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

SHANGHAI_GBK = "admin/shanghai_districts_gbk_ldid936/区县界_area.shp"
GARY_DIR = "admin/garybikini_district_gcj02_utf8_nocpg"
KML = "kml/taiwan_chiayi_isolated_area_redacted.kml"


def read(path: Path, **kwargs) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, **kwargs)


def shapefile_set(src: Path, dest_dir: Path) -> dict[str, Path]:
    """Copy every sidecar of the Shapefile ``src`` into ``dest_dir``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for part in src.parent.glob(src.stem + ".*"):
        target = dest_dir / part.name
        target.write_bytes(part.read_bytes())
        out[part.suffix.lower()] = target
    return out


def write_shp(
    frame: gpd.GeoDataFrame,
    path: Path,
    *,
    encoding: str = "UTF-8",
    prj: bool = True,
    cpg: bool = True,
    ldid: int | None = None,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile", encoding=encoding)
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    return path


def reproject_shp(src: Path, dest: Path, epsg: int, *, prj: bool = False) -> Path:
    """The Shapefile reprojected to ``epsg`` (e.g. a Gauss-Kruger zone), without .prj."""
    frame = read(src, encoding="GBK").to_crs(epsg)
    return write_shp(frame, dest, prj=prj)


def gbk_without_cpg(src: Path, dest: Path) -> Path:
    """A UTF-8 Shapefile re-encoded to GBK with no .cpg and language-driver byte 0."""
    frame = read(src, encoding="UTF-8")
    frame = frame.set_crs("EPSG:4326", allow_override=True)
    return write_shp(frame, dest, encoding="GBK", cpg=False, ldid=0)


# --- datum shifts with the oracle formulas --------------------------------------------------
def _oracle():
    import test_crs  # the oracle lives with the CRS tests

    return test_crs.oracle_wgs_to_gcj, test_crs.oracle_gcj_to_bd


def shifted_geojson(src: Path, dest: Path, datum: str, *, encoding: str | None = "GBK") -> Path:
    """The WGS84 Shapefile ``src`` shifted to GCJ-02 or BD-09, written as GeoJSON."""
    to_gcj, to_bd = _oracle()
    frame = read(src, encoding=encoding)

    def shift(xy):
        out = []
        for lon, lat in xy:
            x, y = to_gcj(lon, lat)
            if datum == "bd09":
                x, y = to_bd(x, y)
            out.append((x, y))
        return np.array(out)

    frame["geometry"] = shapely.transform(frame.geometry.to_numpy(), shift)
    dest.unlink(missing_ok=True)
    pyogrio.write_dataframe(frame, dest, driver="GeoJSON")
    return dest


# --- archives ----------------------------------------------------------------------------
class _GbkName(zipfile.ZipInfo):
    """A member whose name is stored in GBK without the UTF-8 flag (Chinese Windows zips)."""

    def _encodeFilenameFlags(self):  # noqa: N802 - CPython's own name
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def zip_files(files: dict[str, bytes | Path], dest: Path, *, gbk_names: bool = False) -> Path:
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            payload = data.read_bytes() if isinstance(data, Path) else data
            info = _GbkName(name) if gbk_names else zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, payload)
    return dest


def zip_shapefile(
    parts: dict[str, Path],
    dest: Path,
    folder: str = "",
    *,
    gbk_names: bool = False,
    stem: str | None = None,
) -> Path:
    files = {}
    for suffix, path in parts.items():
        name = (stem or path.stem) + suffix
        files[f"{folder}{name}"] = path
    return zip_files(files, dest, gbk_names=gbk_names)


def zip_bomb(dest: Path, size_mb: int = 64) -> Path:
    """One member of zeros compressing about 1000:1."""
    with (
        zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("bomb/zeros.csv", "w") as member,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(size_mb):
            member.write(chunk)
    return dest


def zip_lying_header(dest: Path) -> Path:
    """A bomb whose central directory claims a tiny uncompressed size."""
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("zeros.csv", "w") as member,
    ):
        for _ in range(32):
            member.write(b"\0" * (1024 * 1024))
    zip_bomb_bytes = bytearray(buf.getvalue())
    # Patch the uncompressed size (4 bytes at offset 24 of the central directory entry).
    cd = zip_bomb_bytes.rfind(b"PK\x01\x02")
    struct.pack_into("<I", zip_bomb_bytes, cd + 24, 1000)
    lh = zip_bomb_bytes.find(b"PK\x03\x04")
    struct.pack_into("<I", zip_bomb_bytes, lh + 22, 1000)
    dest.write_bytes(bytes(zip_bomb_bytes))
    return dest
