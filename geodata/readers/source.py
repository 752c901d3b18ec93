"""What a read is asked (options, limits) and what it gives (the frame and its story)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd

from gridmap.notes import Note, Problem

MB = 1024 * 1024


# GRIDMAP_MAX_UPLOAD_MB's default; the installation's value comes in through its Settings
DEFAULT_MAX_BYTES = 200 * MB


@dataclass(frozen=True)
class Limits:
    """Safety caps for one import (all configurable)."""

    max_bytes: int = DEFAULT_MAX_BYTES  # the file as received
    max_unpacked_bytes: int = 1024 * MB  # everything an archive unpacks to
    max_ratio: float = 200.0  # uncompressed / compressed size of one member
    max_members: int = 2000
    # vertices of one feature and of the whole file (GRIDMAP_MAX_VERTICES_FEATURE/_FILE):
    # a million-vertex polygon would hold the server's memory while its preview lives
    max_vertices_feature: int = 100_000
    max_vertices_file: int = 5_000_000


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
    ".zip": "zip",
    ".shp": "shapefile",
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".kml": "kml",
    ".kmz": "kmz",
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".gpx": "gpx",
}


_DATASET_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg", ".kml", ".csv", ".xlsx", ".gpx")


_SUPPORTED = (
    ".zip (Shapefile), .shp, .geojson/.json, .gpkg, .kml, .kmz, .csv, .xlsx, .gpx, "
    ".osm/.osm.pbf/.osm.bz2 (streets)"
)
