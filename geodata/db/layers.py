"""Map layers by bbox and zoom, and building vector tiles, on PostGIS and SpatiaLite.

* :func:`layer_frame`: the rows of one named layer in a bbox with only the columns its map
  needs (personal layers scoped by the requester);
* :func:`building_tile`: a Mapbox vector tile of buildings: ``ST_AsMVTGeom``/``ST_AsMVT`` on
  PostGIS, :mod:`gridmap.vector` on SpatiaLite; both decode to the same features.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.backend import Bbox, bbox_clause, in_box, is_postgis
from geodata.db.frames import read_frame
from geodata.db.models import Building, District, Facility, Grid, Household, Road, Street
from gridmap import mvt, vector, vocab
from gridmap.analysis.patrol import overdue_sites
from gridmap.crs import gcj02_to_wgs84, wgs84_to_gcj02
from gridmap.errors import NotFound
from gridmap.layers import REGISTRY
from gridmap.messages import N_, fail
from gridmap.privacy import Requester

BUILDING_LAYER = "buildings"


def display_bbox_to_storage(bbox: Bbox, display: str) -> Bbox:
    """The WGS84 box to read for a box seen on a ``display`` basemap.

    Parameters
    ----------
    bbox : tuple of float
        (minx, miny, maxx, maxy) in the display's coordinates (degrees).
    display : str
        "wgs84" or "gcj02" (the Amap basemap's shifted coordinates).

    Returns
    -------
    tuple of float
        The box in EPSG:4326, padded by about 50 m when shifted back from GCJ-02.
    """
    if display != "gcj02":
        return bbox
    lon, lat = gcj02_to_wgs84([bbox[0], bbox[2]], [bbox[1], bbox[3]])
    pad = 0.0005  # the shift varies a little across a box: read ~50 m more
    return (float(lon[0]) - pad, float(lat[0]) - pad, float(lon[1]) + pad, float(lat[1]) + pad)


# --- buildings ----------------------------------------------------------------------------
def _households_per_building():
    return (
        sa.select(
            Household.building_id.label("building_id"),
            sa.func.count(Household.id).label("households"),
            sa.cast(sa.func.coalesce(sa.func.sum(Household.size), 0), sa.Integer).label(
                "residents"
            ),
        )
        .group_by(Household.building_id)
        .subquery()
    )


def buildings_in(
    session: Session, bbox: Bbox | None, *, grid_code: str | None = None
) -> gpd.GeoDataFrame:
    """Buildings meeting ``bbox``, with their household counts.

    Parameters
    ----------
    session : Session
        Database session.
    bbox : tuple of float or None
        (minx, miny, maxx, maxy) in EPSG:4326; None: everywhere.
    grid_code : str, optional
        Only the buildings of this grid.

    Returns
    -------
    GeoDataFrame
        id, code, name, address, floors, use, grid_code, households (EPSG:4326).
    """
    count = (
        sa.select(sa.func.count(Household.id))
        .where(Household.building_id == Building.id)
        .correlate(Building)
        .scalar_subquery()
    )
    stmt = (
        sa.select(
            Building.id,
            Building.code,
            Building.name,
            Building.address,
            Building.floors,
            Building.use,
            Grid.code.label("grid_code"),
            count.label("households"),
            Building.geom,
        )
        .outerjoin(Grid, Building.grid_id == Grid.id)
        .order_by(Building.id)
    )
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, Building, bbox))
    if grid_code:
        stmt = stmt.where(Grid.code == grid_code)
    return read_frame(session, stmt)


def building_count(session: Session, bbox: Bbox | None = None) -> int:
    """How many buildings meet ``bbox`` (the spatial index answers at once).

    Parameters
    ----------
    session : Session
        Database session.
    bbox : tuple of float, optional
        (minx, miny, maxx, maxy) in EPSG:4326; None: everywhere.

    Returns
    -------
    int
        The number of buildings.
    """
    stmt = sa.select(sa.func.count(Building.id))
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, Building, bbox))
    return int(session.execute(stmt).scalar_one())


def building_details(session: Session, building_id: int, *, lang: str = "zh") -> dict:
    """What a building's popup shows (aggregates only, nothing personal).

    Parameters
    ----------
    session : Session
        Database session.
    building_id : int
        The building's id.
    lang : str
        Language of the use label ("zh" or "en").

    Returns
    -------
    dict
        Code, name, address, floors, use label, grid, households and residents.
    """
    if not 0 < building_id <= 2**31 - 1:  # beyond PostgreSQL's integer: no such row
        raise fail(NotFound, N_("no building with id {id}"), id=building_id)
    per = _households_per_building()
    row = session.execute(
        sa.select(
            Building.id,
            Building.code,
            Building.name,
            Building.address,
            Building.floors,
            Building.use,
            Grid.code.label("grid_code"),
            Grid.name.label("grid_name"),
            sa.func.coalesce(per.c.households, 0).label("households"),
            sa.func.coalesce(per.c.residents, 0).label("residents"),
        )
        .outerjoin(Grid, Building.grid_id == Grid.id)
        .outerjoin(per, per.c.building_id == Building.id)
        .where(Building.id == building_id)
    ).first()
    if row is None:
        raise fail(NotFound, N_("no building with id {id}"), id=building_id)
    out = dict(row._mapping)
    out["use"] = vocab.label(vocab.BUILDING_USES, out["use"], lang)
    return out


def building_tile(session: Session, z: int, x: int, y: int, *, display: str = "wgs84") -> bytes:
    """Buildings of tile z/x/y as a Mapbox vector tile.

    Layer ``buildings``; feature id = building id; properties households, use. With
    ``display="gcj02"`` the tile grid is the Amap one, so buildings are shifted to GCJ-02
    before they are cut into the tile.

    Parameters
    ----------
    session : Session
        Database session.
    z, x, y : int
        The tile's zoom, column and row.
    display : str
        "wgs84" or "gcj02".

    Returns
    -------
    bytes
        The encoded tile.
    """
    vector.check_tile(z, x, y)
    if is_postgis(session):
        return _building_tile_postgis(session, z, x, y, display=display)
    return _building_tile_python(session, z, x, y, display=display)


def _tile_read_box(z: int, x: int, y: int, display: str) -> Bbox:
    box = vector.tile_bbox_4326(z, x, y, buffer=mvt.MVT_BUFFER / mvt.MVT_EXTENT)
    return display_bbox_to_storage(box, display)


@dataclass
class _BuildingIndex:
    """Every building's id, use, household count and footprint with an STRtree: what the
    SpatiaLite tile path cuts tiles from, so that a screenful of tiles does not read the
    same rows twenty times (PostGIS needs none of this: ST_AsMVT works in the database)."""

    fingerprint: tuple
    checked: float
    ids: np.ndarray
    use: np.ndarray
    households: np.ndarray
    geoms: np.ndarray
    tree: shapely.STRtree


_INDEXES: dict[str, _BuildingIndex] = {}
_INDEX_LOCK = threading.Lock()
INDEX_RECHECK_S = 5.0  # how stale a tile may be after buildings or households change


def _fingerprint(session: Session) -> tuple:
    """Changes whenever a building is added, removed or moved, or households change."""
    rtree = session.execute(
        sa.text(
            "SELECT count(*), total(xmin + 3 * ymax - 7 * xmax + 11 * ymin) FROM idx_building_geom"
        )
    ).one()
    households = session.execute(
        sa.select(sa.func.count(Household.id), sa.func.max(Household.id))
    ).one()
    return tuple(rtree) + tuple(households)


def _building_index(session: Session) -> _BuildingIndex:
    bind = session.get_bind()
    key = str(bind.engine.url)  # an Engine's .engine is itself
    now = time.monotonic()
    with _INDEX_LOCK:
        index = _INDEXES.get(key)
        if index is not None and now - index.checked < INDEX_RECHECK_S:
            return index
        fp = _fingerprint(session)
        if index is not None and index.fingerprint == fp:
            index.checked = now
            return index
        count = (
            sa.select(Household.building_id, sa.func.count(Household.id).label("n"))
            .group_by(Household.building_id)
            .subquery()
        )
        rows = (
            session.connection()
            .execute(
                # plain WKB: SpatiaLite's AsEWKB (GeoAlchemy2's default) is 5x slower on 50,000 rows
                sa.select(
                    Building.id,
                    Building.use,
                    sa.func.coalesce(count.c.n, 0),
                    sa.func.AsBinary(Building.geom),
                )
                .outerjoin(count, count.c.building_id == Building.id)
                .order_by(Building.id)
            )
            .fetchall()
        )
        geoms = shapely.from_wkb([bytes(r[3]) for r in rows]) if rows else np.empty(0, object)
        index = _BuildingIndex(
            fingerprint=fp,
            checked=now,
            ids=np.array([r[0] for r in rows], dtype=np.int64),
            use=np.array([r[1] for r in rows], dtype=object),
            households=np.array([r[2] for r in rows], dtype=np.int64),
            geoms=np.asarray(geoms),
            tree=shapely.STRtree(geoms),
        )
        _INDEXES[key] = index
        return index


def warm_building_index(engine) -> None:
    """Build the SpatiaLite tile index in the background.

    The overview page calls this when it is about to ask for building tiles, so the first
    tiles need not wait for it; PostGIS needs no index.

    Parameters
    ----------
    engine : Engine
        The database engine.
    """
    if engine.dialect.name == "postgresql":
        return

    def work():
        from sqlalchemy.orm import Session as _Session

        with _Session(engine) as s:
            _building_index(s)

    threading.Thread(target=work, daemon=True, name="gridmap-tile-index").start()


def _building_tile_python(session: Session, z: int, x: int, y: int, *, display: str) -> bytes:
    box = _tile_read_box(z, x, y, display)
    if building_count(session, box) == 0:  # the R*Tree answers at once: no need to wait
        return b""  # for the index on tiles without buildings
    index = _building_index(session)
    hit = np.sort(index.tree.query(shapely.box(*box)))
    if not len(hit):
        return b""
    geoms = vector.shift_geometries(index.geoms[hit], display)
    tile_geoms = vector.tile_geometries(geoms, z, x, y)
    ids = index.ids[hit].tolist()
    columns = {"households": index.households[hit].tolist(), "use": index.use[hit].tolist()}
    layer = mvt.encode_layer(BUILDING_LAYER, list(tile_geoms), columns=columns, ids=ids)
    return mvt.encode_mvt([layer])


def _gcj02_affine(z: int, x: int, y: int) -> tuple[float, ...]:
    """The GCJ-02 shift near tile z/x/y as an affine map of lon/lat (first-order Taylor
    at the tile centre): at zoom 14 and finer it stays within centimetres to a metre of the
    exact formula, which the Python path applies point by point."""
    minx, miny, maxx, maxy = vector.tile_bbox_4326(z, x, y)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    h = max((maxx - minx) / 4, 1e-6)
    lon, lat = wgs84_to_gcj02([cx, cx + h, cx], [cy, cy, cy + h])
    a = (lon[1] - lon[0]) / h  # d lon' / d lon
    b = (lon[2] - lon[0]) / h  # d lon' / d lat
    d = (lat[1] - lat[0]) / h
    e = (lat[2] - lat[0]) / h
    xoff = lon[0] - a * cx - b * cy
    yoff = lat[0] - d * cx - e * cy
    return tuple(float(v) for v in (a, b, d, e, xoff, yoff))


def _building_tile_postgis(session: Session, z: int, x: int, y: int, *, display: str) -> bytes:
    minx, miny, maxx, maxy = _tile_read_box(z, x, y, display)
    geom = "b.geom"
    params: dict = {
        "z": z,
        "x": x,
        "y": y,
        "minx": minx,
        "miny": miny,
        "maxx": maxx,
        "maxy": maxy,
        "extent": mvt.MVT_EXTENT,
        "buffer": mvt.MVT_BUFFER,
    }
    if display == "gcj02":
        a, b, d, e, xoff, yoff = _gcj02_affine(z, x, y)
        params.update(a=a, b=b, d=d, e=e, xoff=xoff, yoff=yoff)
        geom = "ST_Affine(b.geom, :a, :b, :d, :e, :xoff, :yoff)"
    sql = sa.text(f"""
        WITH t AS (
          SELECT b.id AS fid, b.use,
                 (SELECT count(*) FROM household h WHERE h.building_id = b.id)::int AS households,
                 ST_AsMVTGeom(ST_Transform({geom}, 3857), ST_TileEnvelope(:z, :x, :y),
                              :extent, :buffer, true) AS geom
          FROM building b
          WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
        )
        SELECT ST_AsMVT(t.*, '{BUILDING_LAYER}', :extent, 'geom', 'fid') FROM t
        WHERE t.geom IS NOT NULL AND NOT ST_IsEmpty(t.geom)""")
    data = session.execute(sql, params).scalar()
    return bytes(data) if data else b""


# --- the other layers ---------------------------------------------------------------------
def _fillna(frame: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    return frame.assign(**{c: frame[c].where(frame[c].notna(), None) for c in columns})


@dataclass(frozen=True)
class _Ask:
    """What :func:`layer_frame` was asked, handed to the reader of the layer."""

    session: Session
    requester: Requester
    layer: str
    bbox: Bbox | None
    as_of: datetime
    lang: str
    grid_code: str | None


def layer_frame(
    session: Session,
    requester: Requester,
    layer: str,
    bbox: Bbox | None,
    *,
    as_of: datetime,
    lang: str = "zh",
    grid_code: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The rows of a map layer meeting ``bbox`` and the properties its map uses.

    Key sites and hazards are scoped to the requester's areas; the rest carry no personal
    data.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks.
    layer : str
        districts, streets, communities, grids, buildings, roads, facilities, key_sites or
        hazards.
    bbox : tuple of float or None
        (minx, miny, maxx, maxy) in EPSG:4326; None: everywhere.
    as_of : datetime
        The moment overdue key sites and hazards are judged at.
    lang : str
        Language of the labels ("zh" or "en").
    grid_code : str, optional
        Only this grid (grids, buildings, key sites, hazards).

    Returns
    -------
    tuple of (GeoDataFrame, list of str)
        The rows (EPSG:4326) and the names of the properties the map shows.
    """
    reader = _READERS.get(layer)
    if reader is None:
        raise fail(
            NotFound,
            N_("no map layer {layer}; layers are {choices}"),
            layer=layer,
            choices=", ".join(LAYERS),
        )
    return reader(_Ask(session, requester, layer, bbox, as_of, lang, grid_code))


def _places(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    session, bbox = ask.session, ask.bbox
    model = District if ask.layer == "districts" else Street
    stmt = sa.select(model.id, model.code, model.name, model.geom)
    if bbox is not None:
        stmt = stmt.where(bbox_clause(session, model, bbox))
    return _fillna(read_frame(session, stmt), ["name"]), ["code", "name"]


def _communities(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    f = repo.communities_frame(ask.session)
    return in_box(f, ask.bbox), ["code", "name", "grids", "households", "residents"]


def _grids(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    f = repo.grids_frame(ask.session)
    if ask.grid_code:
        f = f[f["code"] == ask.grid_code]
    f = f.assign(target=f["target_households"].fillna(0).astype(int), leader=f["leader"].fillna(""))
    return in_box(f, ask.bbox), [
        "code",
        "name",
        "community_name",
        "leader",
        "households",
        "target",
        "residents",
        "buildings",
    ]


def _buildings(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    f = buildings_in(ask.session, ask.bbox, grid_code=ask.grid_code)
    f = f.assign(
        use=[vocab.label(vocab.BUILDING_USES, u, ask.lang) for u in f["use"]],
        address=f["address"].fillna(f["code"]),
    )
    return f, ["id", "address", "households", "floors", "use", "grid_code"]


def _roads(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    stmt = sa.select(Road.id, Road.name, Road.highway, Road.geom)
    if ask.bbox is not None:
        stmt = stmt.where(bbox_clause(ask.session, Road, ask.bbox))
    f = read_frame(ask.session, stmt)
    return _fillna(f, ["name"]), ["name", "highway"]


def _facilities(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    stmt = sa.select(Facility.id, Facility.code, Facility.name, Facility.category, Facility.geom)
    if ask.bbox is not None:
        stmt = stmt.where(bbox_clause(ask.session, Facility, ask.bbox))
    f = read_frame(ask.session, stmt)
    labels = vocab.labels(vocab.FACILITY_CATEGORIES, ask.lang)
    f = f.assign(category_label=f["category"].map(labels).fillna(f["category"]))
    return f, ["code", "name", "category", "category_label"]


def _key_sites(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    f = in_box(repo.key_sites_frame(ask.session, ask.requester, grid_code=ask.grid_code), ask.bbox)
    f = f.join(overdue_sites(f, as_of=ask.as_of))
    labels = vocab.labels(vocab.KEY_SITE_CATEGORIES, ask.lang)
    f = f.assign(
        category_label=f["category"].map(labels).fillna(f["category"]),
        last=pd.to_datetime(f["last_inspected"]).dt.strftime("%Y-%m-%d"),
        status=np.where(f["overdue"], "overdue", "ok"),
    )
    return _fillna(f, ["last", "address"]), [
        "code",
        "name",
        "category_label",
        "address",
        "last",
        "status",
        "grid_code",
    ]


def _hazards(ask: _Ask) -> tuple[gpd.GeoDataFrame, list[str]]:
    f = repo.hazards_frame(ask.session, ask.requester, grid_code=ask.grid_code)
    f = in_box(f, ask.bbox)
    from gridmap import hazards as hz

    lang = ask.lang
    f = f.assign(
        overdue=[
            hz.is_overdue(s, d, as_of=ask.as_of, found_at=fa)
            for s, d, fa in zip(f["status"], f["deadline"], f["found_at"], strict=True)
        ],
        status_label=[vocab.label(vocab.HAZARD_STATUSES, s, lang) for s in f["status"]],
        category_label=[vocab.label(vocab.HAZARD_CATEGORIES, c, lang) for c in f["category"]],
        deadline=pd.to_datetime(f["deadline"]).dt.strftime("%Y-%m-%d"),
    )
    f = f.assign(state=np.where(f["overdue"], "overdue", f["status"]))
    return _fillna(f, ["deadline", "responsible"]), [
        "code",
        "category_label",
        "status",
        "status_label",
        "state",
        "deadline",
        "responsible",
        "grid_code",
    ]


_READERS: dict[str, Callable[[_Ask], tuple[gpd.GeoDataFrame, list[str]]]] = {
    "districts": _places,
    "streets": _places,
    "communities": _communities,
    "grids": _grids,
    "buildings": _buildings,
    "roads": _roads,
    "facilities": _facilities,
    "key_sites": _key_sites,
    "hazards": _hazards,
}


LAYERS = REGISTRY.map_layers  # the layers drawn on the map, in drawing order
