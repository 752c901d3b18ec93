"""The CRS and datum of what was read: declared, overridden or guessed, then WGS84."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import shapely

from geodata.readers.source import ReadOptions, SourceData
from gridmap import crs as gcrs
from gridmap.notes import N_, note, rejected


def _place(src: SourceData, declared: gcrs.CrsChoice | None, opts: ReadOptions) -> None:
    """Decide the CRS (override, declared, inferred), reproject to EPSG:4326, then undo
    GCJ-02/BD-09 when asked. Mutates ``src``."""
    geoms = src.frame.geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(np.asarray(geoms, dtype=object))
    coords = shapely.get_coordinates(geoms[present])
    x, y = (coords[:, 0], coords[:, 1]) if len(coords) else (np.array([]), np.array([]))
    if opts.crs:
        choice = gcrs.CrsChoice(
            gcrs.parse_crs(opts.crs), note(N_("given with --crs {value}"), value=opts.crs)
        )
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
            raise rejected(
                N_(
                    "--coords {coords} applies to longitude/latitude data, but "
                    "{file} is in {label}; drop --coords"
                ),
                coords=opts.coords,
                file=src.name,
                label=choice.label,
            )
        series = gpd.GeoSeries(
            gcrs.to_wgs84_geometries(series.to_numpy(), opts.coords), crs=gcrs.STORAGE_CRS
        )
        src.notes.append(
            note(
                N_(
                    "coordinates converted from {coords} to WGS84 (iterative "
                    "inverse, error under 1 mm)"
                ),
                coords={
                    "gcj02": note(N_("GCJ-02 (Amap/Tencent)")),
                    "bd09": note(N_("BD-09 (Baidu)")),
                }[opts.coords],
            )
        )
    src.frame = src.frame.set_geometry(series.to_numpy()).set_crs(
        gcrs.STORAGE_CRS, allow_override=True
    )
    src.crs = choice.label
    src.crs_reason = reason
