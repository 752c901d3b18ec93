"""File mode of `gridmap reach`: a network, facilities and origins from files, a table out.

* network: an OSM extract (.osm, .osm.bz2, .osm.gz, .osm.pbf; ways joined by node id, gated
  compounds from landuse=residential and institution grounds with their entrance nodes),
  or a street-line layer (GeoJSON, GeoPackage, zipped Shapefile ...; optional
  highway/foot/access columns, noded where lines meet);
* facilities: a point layer (or a CSV/XLSX table with lon/lat columns) with a category
  column, or an OSM extract (POIs classified into the GB 50180 categories by gridmap's OSM
  tag table);
* origins: a point or polygon layer (polygons by centroid), or an OSM extract (its
  buildings);
* output: .csv, .geojson or .gpkg, one row per origin with its own id column.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.readers import OSM_SUFFIXES
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network import Network, build_network, network_from_osm
from gridmap.notes import note
from gridmap.privacy import neutralise_frame

OUT_SUFFIXES = (".csv", ".geojson", ".gpkg")
ID_CANDIDATES = ("id", "code", "osm_id", "fid", "gid", "objectid", "bm", "编码", "编号")


def is_osm(path: str | Path) -> bool:
    """Whether ``path`` names an OpenStreetMap extract (.osm, .osm.pbf, .osm.gz ...).

    Parameters
    ----------
    path : str or Path
        The file name.

    Returns
    -------
    bool
    """
    return str(path).lower().endswith(OSM_SUFFIXES)


def read_layer(path: str | Path, what: str) -> gpd.GeoDataFrame:
    """A vector layer in EPSG:4326 read the way data arrives.

    Read through ``geodata.readers``: zipped Shapefiles, GBK/UTF-8, CSV/XLSX with lon/lat
    columns, CRS from .prj or the numbers.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        Names the file in errors ('the network file' ...), marked with ``N_``.

    Returns
    -------
    GeoDataFrame
        The features with a geometry, in EPSG:4326.
    """
    from geodata.readers import read_source

    path = Path(path)
    if not path.exists():
        raise fail(InvalidInput, N_("{path}: {what} not found"), path=path, what=note(what))
    source = read_source(path)
    frame = source.frame
    if not source.spatial or frame.geometry.isna().all():
        raise fail(
            InvalidInput,
            N_("{file}: {what} has no geometry (no lon/lat or WKT columns)"),
            file=path.name,
            what=note(what),
        )
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise fail(
            InvalidInput,
            N_("{file}: {what} holds no features with geometry"),
            file=path.name,
            what=note(what),
        )
    return frame.to_crs("EPSG:4326")


def _column(frame: pd.DataFrame, name: str) -> str | None:
    lower = {str(c).lower(): c for c in frame.columns}
    return lower.get(name.lower())


def read_network(
    path: str | Path, *, noding: str = "intersections", gated_compounds: bool = True
) -> Network:
    """The walking network of an OSM extract or a street-line layer.

    Parameters
    ----------
    path : str or Path
        An OSM extract or a file of street lines.
    noding : str
        'intersections' (street lines join where they cross) or 'vertices' (where they
        share a vertex); OSM ways always join at shared nodes.
    gated_compounds : bool
        Honour gated compounds (OSM only).

    Returns
    -------
    Network
        The network in a metric CRS.
    """
    if is_osm(path):
        from geodata.osm import read_osm

        extract = read_osm(path)
        return network_from_osm(
            extract.ways, extract.entrances, extract.areas, gated_compounds=gated_compounds
        )
    lines = read_layer(path, N_("the network file"))
    lines = lines.explode(index_parts=False)
    lines = lines[lines.geom_type == "LineString"]
    if lines.empty:
        raise fail(
            InvalidInput, N_("{file}: the network file holds no lines"), file=Path(path).name
        )
    crs = str(metric_crs(lines))
    metric = lines.to_crs(crs)

    def col(name):
        c = _column(lines, name)
        return lines[c].to_numpy(object) if c else None

    return build_network(
        np.asarray(metric.geometry.values, dtype=object),
        crs=crs,
        highway=col("highway"),
        foot=col("foot"),
        access=col("access"),
        layer=col("layer"),
        noding=noding,
    )


def read_facilities(
    path: str | Path, *, category_field: str = "category", id_field: str | None = None
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Facilities (EPSG:4326) with their category and id columns.

    Parameters
    ----------
    path : str or Path
        An OSM extract or a file of facilities.
    category_field : str
        The column holding the facility category.
    id_field : str, optional
        The id column (default: a known id column, else the row number from 1).

    Returns
    -------
    tuple of (GeoDataFrame, str, str)
        The facilities, the name of the category column and the name of the id column.
    """
    if is_osm(path):
        from geodata.osm import read_osm
        from gridmap.demo.osm_city import FACILITY_RULES, match_rules

        pois = read_osm(path).pois
        cats = [
            match_rules(t if isinstance(t, dict) else {}, n, FACILITY_RULES)
            for t, n in zip(pois["tags"], pois["name"], strict=True)
        ]
        frame = pois.assign(
            category=cats,
            id=[
                f"{str(t)[0]}{int(i)}"
                for t, i in zip(pois["osm_type"], pois["osm_id"], strict=True)
            ],
        )
        frame = frame[frame["category"].notna()]
        return (
            frame[["id", "name", "category", "geometry"]].reset_index(drop=True),
            "category",
            "id",
        )
    frame = read_layer(path, N_("the facilities file"))
    cat = _column(frame, category_field)
    if cat is None:
        raise fail(
            InvalidInput,
            N_(
                "{file}: no column {column} for the facility category; columns are "
                "{columns}; name it with --category-field"
            ),
            file=Path(path).name,
            column=repr(category_field),
            columns=", ".join(map(str, frame.columns)),
        )
    ident = _id_column(frame, id_field, Path(path).name)
    if ident is None:
        frame = frame.assign(id=np.arange(1, len(frame) + 1))
        ident = "id"
    frame = frame[frame[cat].notna()].copy()
    frame[cat] = frame[cat].astype(str)
    return frame.reset_index(drop=True), cat, ident


def _id_column(frame: pd.DataFrame, wanted: str | None, name: str) -> str | None:
    if wanted:
        c = _column(frame, wanted)
        if c is None:
            raise fail(
                InvalidInput,
                N_("{file}: no column {column}; columns are {columns}"),
                file=name,
                column=repr(wanted),
                columns=", ".join(map(str, frame.columns)),
            )
        return c
    for cand in ID_CANDIDATES:
        c = _column(frame, cand)
        if c is not None and frame[c].notna().all():
            return c
    return None


def read_origins(path: str | Path, *, id_field: str | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Origins (EPSG:4326; points or polygons) and the name of their id column.

    Parameters
    ----------
    path : str or Path
        An OSM extract (its buildings) or a file of origins.
    id_field : str, optional
        The id column (default: a known id column, else 'origin_id', the row number from 1).

    Returns
    -------
    tuple of (GeoDataFrame, str)
        The origins and the name of their id column.
    """
    if is_osm(path):
        from geodata.osm import read_osm

        b = read_osm(path).buildings
        if b.empty:
            raise fail(
                InvalidInput,
                N_("{file}: the OSM file holds no buildings to use as origins"),
                file=Path(path).name,
            )
        frame = b.assign(
            osm_id=[f"{str(t)[0]}{int(i)}" for t, i in zip(b["osm_type"], b["osm_id"], strict=True)]
        )
        return frame[["osm_id", "name", "building", "geometry"]].reset_index(drop=True), "osm_id"
    frame = read_layer(path, N_("the origins file")).reset_index(drop=True)
    ident = _id_column(frame, id_field, Path(path).name)
    if ident is None:
        frame.insert(0, "origin_id", np.arange(1, len(frame) + 1))
        ident = "origin_id"
    return frame, ident


def write_table(
    table: pd.DataFrame, origins: gpd.GeoDataFrame, id_column: str, path: str | Path
) -> Path:
    """Write one row per origin: its id, then ``table``'s columns (aligned with the origins).

    CSV adds lon/lat of the origin point; GeoJSON and GeoPackage keep the origin geometry
    (EPSG:4326).

    Parameters
    ----------
    table : DataFrame
        The per-origin results, in the origins' order.
    origins : GeoDataFrame
        The origins (EPSG:4326).
    id_column : str
        The origins' id column.
    path : str or Path
        The output file (.csv, .geojson or .gpkg).

    Returns
    -------
    Path
        The path written.
    """
    path = Path(path)
    suffix = "".join(path.suffixes[-1:]).lower()
    if suffix not in OUT_SUFFIXES:
        raise fail(
            InvalidInput,
            N_("{file}: the output must end in {suffixes}"),
            file=path.name,
            suffixes=", ".join(OUT_SUFFIXES),
        )
    out = pd.concat(
        [origins[[id_column]].reset_index(drop=True), table.reset_index(drop=True)], axis=1
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        pts = origins.geometry.representative_point()
        out.insert(1, "lon", pts.x.map("{:.7f}".format).to_numpy())
        out.insert(2, "lat", pts.y.map("{:.7f}".format).to_numpy())
        # Two decimals (cm, 1/100 min) and 3x faster than full float repr.
        neutralise_frame(out).to_csv(path, index=False, encoding="utf-8-sig", float_format="%.2f")
        return path
    frame = gpd.GeoDataFrame(
        out, geometry=origins.geometry.reset_index(drop=True).values, crs="EPSG:4326"
    )
    if path.exists():
        path.unlink()
    frame.to_file(path, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    return path


NAME_CANDIDATES = ("name", "名称", "名字", "地址", "address", "label", "备注")
MAX_CANDIDATES = 5000


def read_candidates(path: str | Path) -> tuple[tuple[float, float, str | None], ...]:
    """The planner's candidate sites, one per feature (polygons by an inside point).

    The name comes from a name/名称/地址 column when there is one.

    Parameters
    ----------
    path : str or Path
        The planner's file of candidate sites.

    Returns
    -------
    tuple of (float, float, str or None)
        (lon, lat, name) per site, longitude and latitude in degrees (EPSG:4326).
    """
    frame = read_layer(path, N_("the candidate file"))
    if len(frame) > MAX_CANDIDATES:
        raise fail(
            InvalidInput,
            N_(
                "{file}: {n} candidate sites; at most {limit} are compared "
                "(split the file or pick fewer)"
            ),
            file=Path(path).name,
            n=len(frame),
            limit=MAX_CANDIDATES,
        )
    pts = frame.geometry.representative_point()
    col = next((c for c in (_column(frame, n) for n in NAME_CANDIDATES) if c), None)
    names = frame[col].tolist() if col else [None] * len(frame)
    return tuple(
        (
            round(float(p.x), 7),
            round(float(p.y), 7),
            None if n is None or n != n or str(n).strip() == "" else str(n),
        )
        for p, n in zip(pts, names, strict=True)
    )
