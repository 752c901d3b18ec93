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

Everything that goes wrong raises :class:`gridmap.notes.InputRejected` (an
``InvalidInput``) with one message that names the file and says what to do.

One module per step: ``spool``, ``sniff``, ``archive``, ``encoding``, ``ogr``, ``tabular``,
``crs`` and ``read`` (the entry point); ``source`` holds the options and the result.
"""

from geodata.osm import SUFFIXES as OSM_SUFFIXES
from geodata.readers.archive import LayerChoiceNeeded, member_name, safe_extract
from geodata.readers.encoding import (
    dbf_encoding,
    detect_text_encoding,
    guess_text_encoding,
    normalise_encoding,
    python_codec,
)
from geodata.readers.read import list_layers, member_format, read_source
from geodata.readers.sniff import detect_format, sniff
from geodata.readers.source import DEFAULT_MAX_BYTES, FORMATS, MB, Limits, ReadOptions, SourceData
from geodata.readers.spool import safe_filename, spool
from geodata.readers.tabular import LAT_NAMES, LON_NAMES, WKT_NAMES

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "LAT_NAMES",
    "LON_NAMES",
    "MB",
    "OSM_SUFFIXES",
    "WKT_NAMES",
    "LayerChoiceNeeded",
    "Limits",
    "ReadOptions",
    "SourceData",
    "dbf_encoding",
    "detect_format",
    "detect_text_encoding",
    "guess_text_encoding",
    "list_layers",
    "member_format",
    "member_name",
    "normalise_encoding",
    "python_codec",
    "read_source",
    "safe_extract",
    "safe_filename",
    "sniff",
    "spool",
]
