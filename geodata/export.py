"""Exporting a layer as GeoJSON, GeoPackage or a zipped Shapefile (UTF-8 with .cpg).

Column names are the ones the importer's dictionary reads back (``code``, ``name``,
``community`` ...; Shapefile's ten-character limit uses ``target_hh``, ``leader_tel``,
``interval``, ``descr``, ``responsib``), parents are given by code, lists are
comma-joined, times are ISO text and unmapped attributes go out as a JSON ``props``
column: an export imports again unchanged.

Households and residents have no geometry of their own; they are exported at their
building's representative point. Personal layers go through the requester's scope,
residents are masked unless revealed (and allowed), and every export is audited.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.models import model_for
from geodata.db.repo import audit
from geodata.db.scope import scoped, visible_grids
from gridmap import privacy
from gridmap.analysis.density import DEFAULT_K, suppressed
from gridmap.crs import STORAGE_CRS
from gridmap.errors import PermissionDenied
from gridmap.layers import REGISTRY, LayerSpec, Registry
from gridmap.messages import fail
from gridmap.notes import N_, rejected
from gridmap.privacy import Requester, mask_id_number, mask_name, mask_phone

FORMATS = ("geojson", "gpkg", "shp")
SUFFIX = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip"}


def _frame(session: Session, stmt) -> gpd.GeoDataFrame:
    return read_frame(session, stmt)


def _parent_codes(spec: LayerSpec, model, registry: Registry) -> list:
    """The parents' codes, each under its field's name (``community``, ``grid`` ...)."""
    out = []
    for p in spec.parents:
        parent: type[Any] = model_for(registry[p.layer].table)
        fk = getattr(model, p.column)
        out.append(sa.select(parent.code).where(parent.id == fk).scalar_subquery().label(p.field))
    return out


def _columns(spec: LayerSpec, model) -> list:
    return [getattr(model, c) for c in (*spec.fields, *spec.derived)]


def _simple(
    session: Session, spec: LayerSpec, registry: Registry, requester: Requester | None = None
) -> gpd.GeoDataFrame:
    """code, name, the layer's fields, parent codes, props and geometry (inside the
    requester's areas when one is given)."""
    model: type[Any] = model_for(spec.table)  # columns differ per layer: looked up, not checked
    stmt = sa.select(
        model.code,
        model.name,
        *_columns(spec, model),
        *_parent_codes(spec, model, registry),
        model.props,
        model.geom,
    ).order_by(model.code)
    if requester is not None:
        stmt = scoped(stmt, requester, model)
    return _frame(session, stmt)


def _mask_others(f: pd.DataFrame, spec: LayerSpec, registry: Registry) -> None:
    """Phones and names of people, masked for roles that do not manage them."""
    for name in spec.fields:
        how = registry.field(name).mask
        if how is not None:
            _mask_column(f, name, {"phone": mask_phone, "name": mask_name}[how])


def _mask_column(f: pd.DataFrame, column: str, mask) -> None:
    if column in f.columns:
        f[column] = pd.Series(
            [mask(v) if isinstance(v, str) else None for v in f[column]],
            index=f.index,
            dtype=object,
        )


def _aggregate(session: Session, requester: Requester, layer: str) -> gpd.GeoDataFrame:
    """Counts in place of people: households or residents per building, patrol tracks per
    grid, inside the requester's areas; counts of 1 to k-1 are suppressed (empty, with
    ``suppressed`` true) as on the heatmaps."""
    if layer == "patrol_tracks":
        t = m.PatrolTrack
        stmt = scoped(
            sa.select(t.grid_id.label("place_id"), sa.func.count().label("n")).group_by(t.grid_id),
            requester,
            t,
        )
        places = _frame(session, sa.select(m.Grid.id, m.Grid.code.label("grid"), m.Grid.geom))
        places["geometry"] = shapely.point_on_surface(places.geometry.to_numpy())
        count_name = "tracks"
    else:
        stmt = sa.select(m.Building.id.label("place_id"), sa.func.count().label("n"))
        if layer == "residents":
            stmt = stmt.select_from(m.Resident).join(
                m.Household, m.Resident.household_id == m.Household.id
            )
        else:
            stmt = stmt.select_from(m.Household)
        stmt = stmt.join(m.Building, m.Household.building_id == m.Building.id)
        grids = visible_grids(requester)
        if grids is not None:
            stmt = stmt.where(m.Building.grid_id.in_(grids))
        stmt = stmt.group_by(m.Building.id)
        places = _building_points(session).reset_index()
        places = places.rename(columns={"code": "building"})
        count_name = layer
    counts = pd.DataFrame(session.execute(stmt).all(), columns=["place_id", "n"]).dropna()
    counts = counts.astype({"place_id": "int64", "n": "int64"})
    f = places.merge(counts, left_on="id", right_on="place_id", how="inner")
    hidden = suppressed(f["n"].to_numpy(), k=DEFAULT_K)
    f[count_name] = pd.array(
        [None if h else int(n) for n, h in zip(f["n"], hidden, strict=True)], dtype="Int64"
    )
    f["suppressed"] = hidden
    audit(session, requester, f"export_{layer}_counts", None, {"count": len(f)})
    label = "grid" if layer == "patrol_tracks" else "building"
    return gpd.GeoDataFrame(
        f[[label, count_name, "suppressed"]], geometry=f.geometry.values, crs=STORAGE_CRS
    )


def layer_frame(
    session: Session,
    layer: str,
    requester: Requester,
    *,
    reveal: bool = False,
    registry: Registry = REGISTRY,
) -> gpd.GeoDataFrame:
    """The rows of ``layer`` as an export frame in EPSG:4326 (see the module docstring).

    Parameters
    ----------
    session : Session
        The database session.
    layer : str
        The layer's name in the registry.
    requester : Requester
        Who exports; decides which rows and which personal fields are shown.
    reveal : bool
        Export personal data unmasked (refused unless the role may).
    registry : Registry
        The layers known to the export.

    Returns
    -------
    GeoDataFrame
        One row per feature, masked as the requester's role requires.
    """
    spec = registry.spec(layer)
    name = spec.name
    if reveal and not requester.may_reveal:
        raise fail(
            PermissionDenied,
            N_("role {role} may not export unmasked personal data"),
            role=repr(requester.role),
        )
    if privacy.export_kind(requester.role, name) == "aggregate":
        return _aggregate(session, requester, name)
    if name == "households":
        f = _households(session, requester, spec)
    elif name == "residents":
        f = _residents(session, requester, spec, reveal=reveal)
    elif spec.personal:
        f = _personal(session, requester, spec, registry)
    else:  # key sites are scoped as on the map
        f = _simple(session, spec, registry, requester if spec.scoped else None)
    if requester.role not in privacy.MANAGING_ROLES:
        _mask_others(f, spec, registry)
    return _as_text(f).set_crs(STORAGE_CRS, allow_override=True)


def _as_text(f: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Times as ISO text, props and lists of times as JSON, tags comma-joined."""
    for col in f.columns:
        if col != "geometry" and pd.api.types.is_datetime64_any_dtype(f[col]):
            f[col] = f[col].dt.strftime("%Y-%m-%dT%H:%M:%S").where(f[col].notna(), None)
    if "props" in f.columns:
        f["props"] = [json.dumps(p, ensure_ascii=False) if p else None for p in f["props"]]
    if "tags" in f.columns:
        f["tags"] = [",".join(t) if t else None for t in f["tags"]]
    if "times" in f.columns:
        f["times"] = [json.dumps(t) for t in f["times"]]
    return f


def _personal(
    session: Session, requester: Requester, spec: LayerSpec, registry: Registry
) -> gpd.GeoDataFrame:
    model: type[Any] = model_for(spec.table)  # columns differ per layer: looked up, not checked
    stmt = scoped(
        sa.select(
            model.code,
            *_columns(spec, model),
            *_parent_codes(spec, model, registry),
            model.props,
            model.geom,
        ),
        requester,
        model,
    ).order_by(model.code)
    f = _frame(session, stmt)
    audit(session, requester, f"export_{model.__tablename__}", None, {"count": len(f)})
    return f


def _building_points(session: Session) -> gpd.GeoDataFrame:
    b = _frame(session, sa.select(m.Building.id, m.Building.code, m.Building.geom))
    b["geometry"] = shapely.point_on_surface(b.geometry.to_numpy())
    return b.set_index("id")


def _households(session: Session, requester: Requester, spec: LayerSpec) -> gpd.GeoDataFrame:
    h = m.Household
    stmt = scoped(
        sa.select(h.code, h.building_id, *_columns(spec, h), h.props), requester, h
    ).order_by(h.code)
    rows = pd.DataFrame(
        session.execute(stmt).all(), columns=["code", "building_id", *spec.fields, "props"]
    )
    audit(session, requester, "export_households", None, {"count": len(rows)})
    b = _building_points(session)
    rows["building"] = rows["building_id"].map(b["code"])
    geoms = rows["building_id"].map(b.geometry)
    rows = rows.drop(columns="building_id")
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms.to_numpy(), crs=STORAGE_CRS))


def _residents(
    session: Session, requester: Requester, spec: LayerSpec, *, reveal: bool
) -> gpd.GeoDataFrame:
    r = m.Resident
    stmt = scoped(
        sa.select(r.household_id, r.name, *_columns(spec, r), r.props), requester, r
    ).order_by(r.id)
    rows = pd.DataFrame(
        session.execute(stmt).all(), columns=["household_id", "name", *spec.fields, "props"]
    )
    birth = "birth_year"
    if not reveal:
        for col, mask in (
            ("name", mask_name),
            ("phone", mask_phone),
            ("id_number", mask_id_number),
        ):
            _mask_column(rows, col, mask)
        # an age band, not the birth year, beside a masked ID number
        year = datetime.now().year
        rows["age_band"] = [privacy.age_band(v, year) for v in rows["birth_year"]]
        birth = "age_band"
    audit(
        session,
        requester,
        "export_residents_revealed" if reveal else "export_residents",
        None,
        {"count": len(rows), "reveal": reveal},
    )
    hh = pd.DataFrame(
        session.execute(sa.select(m.Household.id, m.Household.code, m.Household.building_id)).all(),
        columns=["id", "code", "building_id"],
    ).set_index("id")
    b = _building_points(session)
    rows["household"] = rows["household_id"].map(hh["code"])
    geoms = rows["household_id"].map(hh["building_id"]).map(b.geometry)
    rows = rows.drop(columns="household_id")
    cols = ["household", "name", *(birth if c == "birth_year" else c for c in spec.fields), "props"]
    return gpd.GeoDataFrame(rows[cols], geometry=gpd.GeoSeries(geoms.to_numpy(), crs=STORAGE_CRS))


def export_layer(
    session: Session,
    layer: str,
    fmt: str,
    out: str | Path,
    requester: Requester,
    *,
    reveal: bool = False,
    registry: Registry = REGISTRY,
) -> tuple[Path, int]:
    """Write ``layer`` to ``out`` as ``fmt`` (geojson, gpkg or shp = zipped Shapefile).

    Parameters
    ----------
    session : Session
        The database session.
    layer : str
        The layer's name in the registry.
    fmt : str
        'geojson', 'gpkg' or 'shp'.
    out : str or Path
        The file to write.
    requester : Requester
        Who exports; decides which rows and which personal fields are shown.
    reveal : bool
        Export personal data unmasked (refused unless the role may).
    registry : Registry
        The layers known to the export.

    Returns
    -------
    tuple of (Path, int)
        The path written and the number of features.
    """
    if fmt not in FORMATS:
        raise rejected(N_("unknown export format {fmt!r}; use geojson, gpkg or shp"), fmt=fmt)
    spec = registry.spec(layer)
    frame = layer_frame(session, spec.name, requester, reveal=reveal, registry=registry)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    geometry_type = spec.geometry_type
    if privacy.export_kind(requester.role, spec.name) == "aggregate":
        geometry_type = "Point"  # counts at building and grid points
    with warnings.catch_warnings():
        # Shapefile truncates long props text; that is said in the docs, not as a warning.
        warnings.simplefilter("ignore", RuntimeWarning)
        if fmt == "geojson":
            out.unlink(missing_ok=True)
            pyogrio.write_dataframe(
                frame,
                out,
                driver="GeoJSON",
                layer=spec.name,
                geometry_type=geometry_type,
                layer_options={"RFC7946": "YES", "WRITE_NAME": "NO", "COORDINATE_PRECISION": "9"},
            )
        elif fmt == "gpkg":
            out.unlink(missing_ok=True)
            pyogrio.write_dataframe(
                frame, out, driver="GPKG", layer=spec.name, geometry_type=geometry_type
            )
        else:
            _write_shapefile_zip(
                frame.rename(columns=registry.export_names()), out, spec.name, geometry_type
            )
    return out, len(frame)


def _write_shapefile_zip(frame: gpd.GeoDataFrame, out: Path, name: str, geometry_type: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-export-"))
    try:
        shp = tmp / f"{name}.shp"
        pyogrio.write_dataframe(
            frame, shp, driver="ESRI Shapefile", encoding="UTF-8", geometry_type=geometry_type
        )
        cpg = shp.with_suffix(".cpg")
        if not cpg.exists():
            cpg.write_text("UTF-8")
        out.unlink(missing_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(tmp.iterdir()):
                zf.write(part, arcname=part.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
