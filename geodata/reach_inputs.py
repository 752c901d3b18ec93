"""The inputs of a reachability run, read from the database and placed on the network.

Buildings come with their grid, community and street and the number of households and
residents living in them (aggregates only: no personal data is read); facilities with their
category.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import STORAGE_CRS, read_frame
from gridmap.analysis import reach as R
from gridmap.crs import metric_crs
from gridmap.network import snap_points


@dataclass
class ReachInputs:
    """Buildings (polygons, EPSG:4326, indexed by building id) with their area codes/names,
    households and residents; facilities (points, indexed by facility id)."""

    buildings: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    names: dict[str, dict[str, str]]


def load_inputs(session: Session) -> ReachInputs:
    """Every building with its area codes and counts, and every facility (aggregates only).

    Parameters
    ----------
    session : Session
        The database session.

    Returns
    -------
    ReachInputs
        Buildings with grid/community/street and household/resident counts, facilities with
        their category, and the names of the areas.
    """
    per = (
        sa.select(
            m.Household.building_id.label("building_id"),
            sa.func.count(m.Household.id).label("households"),
            sa.func.coalesce(sa.func.sum(m.Household.size), 0).label("residents"),
        )
        .group_by(m.Household.building_id)
        .subquery()
    )
    stmt = (
        sa.select(
            m.Building.id,
            m.Building.code,
            m.Building.name,
            m.Building.address,
            m.Building.use,
            m.Compound.code.label("compound_code"),
            m.Grid.code.label("grid"),
            m.Community.code.label("community"),
            m.Street.code.label("street"),
            sa.func.coalesce(per.c.households, 0).label("households"),
            sa.func.coalesce(per.c.residents, 0).label("residents"),
            sa.func.ST_AsBinary(m.Building.entrance).label("entrance_wkb"),
            m.Building.geom,
        )
        .outerjoin(m.Compound, m.Building.compound_id == m.Compound.id)
        .outerjoin(m.Grid, m.Building.grid_id == m.Grid.id)
        .outerjoin(m.Community, m.Grid.community_id == m.Community.id)
        .outerjoin(m.Street, m.Community.street_id == m.Street.id)
        .outerjoin(per, per.c.building_id == m.Building.id)
        .order_by(m.Building.id)
    )
    buildings = read_frame(session, stmt).set_index("id", drop=False)
    buildings.index.name = None
    entrance = [
        shapely.from_wkb(bytes(w)) if w is not None else None for w in buildings.pop("entrance_wkb")
    ]
    buildings["entrance"] = pd.Series(entrance, index=buildings.index, dtype=object)
    facilities = read_frame(
        session,
        sa.select(
            m.Facility.id, m.Facility.code, m.Facility.name, m.Facility.category, m.Facility.geom
        ).order_by(m.Facility.id),
    ).set_index("id", drop=False)
    facilities.index.name = None
    names = {
        "grid": dict(session.execute(sa.select(m.Grid.code, m.Grid.name)).all()),
        "community": dict(session.execute(sa.select(m.Community.code, m.Community.name)).all()),
        "street": dict(session.execute(sa.select(m.Street.code, m.Street.name)).all()),
    }
    return ReachInputs(buildings, facilities, names)


def origin_points(buildings: gpd.GeoDataFrame, crs: str) -> np.ndarray:
    """Where a walk from each building starts: its entrance when known, else its centroid.

    Parameters
    ----------
    buildings : GeoDataFrame
        Buildings (EPSG:4326) with an ``entrance`` column (points or None).
    crs : str
        The metric CRS to give the points in.

    Returns
    -------
    numpy.ndarray
        (n, 2) x, y in metres of ``crs``.
    """
    metric = buildings.to_crs(crs)
    xy = np.column_stack([metric.geometry.centroid.x, metric.geometry.centroid.y])
    has = buildings["entrance"].notna().to_numpy()
    if has.any():
        ent = gpd.GeoSeries(list(buildings["entrance"][has]), crs=STORAGE_CRS).to_crs(crs)
        xy[has] = np.column_stack([ent.x, ent.y])
    return xy


def building_snap(net, buildings: gpd.GeoDataFrame, *, max_snap_m: float):
    """Buildings onto the network at their entrance (else centroid).

    Each is snapped inside the gated compound the database assigns it to (else the one around
    the point), so a building behind a gate leaves through the gate.

    Parameters
    ----------
    net : Network
        The walking network.
    buildings : GeoDataFrame
        Buildings (EPSG:4326) with ``entrance`` and ``compound_code`` columns.
    max_snap_m : float
        Farthest a building may be from the network, in metres, before it is off-network.

    Returns
    -------
    Snap
        Where each building joins the network.
    """
    xy = origin_points(buildings, net.crs)
    comp_index = {c: k for k, c in enumerate(net.compound_code)}
    explicit = np.array([comp_index.get(c, -1) for c in buildings["compound_code"]], dtype=np.int64)
    explicit[(explicit >= 0) & ~net.compound_gated[np.maximum(explicit, 0)]] = -1
    return snap_points(
        net,
        xy,
        max_snap_m=max_snap_m,
        compound=np.where(explicit >= 0, explicit, net.compound_of(xy)),
    )


def facilities_in_range(
    inputs: ReachInputs, max_distance_m: float
) -> tuple[ReachInputs, pd.DataFrame]:
    """Only the facilities that can serve someone take part.

    A facility takes part when it is within ``max_distance_m`` (straight line, a lower bound of
    any walk) of a building where people live: one just over the street's boundary still
    serves its residents, one in another city never does.

    Parameters
    ----------
    inputs : ReachInputs
        The buildings and facilities.
    max_distance_m : float
        The run's cutoff in metres.

    Returns
    -------
    tuple of (ReachInputs, DataFrame)
        The inputs with those facilities and, per category, how many there are, were
        considered and were out of range.
    """
    f, b = inputs.facilities, inputs.buildings
    lived = b[(b["residents"] > 0).to_numpy()]
    homes = lived if len(lived) else b
    crs = str(metric_crs(b))
    keep = np.zeros(len(f), bool)
    if len(f) and len(homes):
        d, _ = cKDTree(origin_points(homes, crs)).query(R.metric_points(f, crs))
        keep = d <= max_distance_m
    cat = f["category"].fillna("").to_numpy(object)
    scope = (
        pd.DataFrame(
            {"category": cat, "considered": keep.astype(int), "out_of_range": (~keep).astype(int)}
        )
        .groupby("category")
        .sum()
    )
    scope.insert(0, "total", scope["considered"] + scope["out_of_range"])
    return ReachInputs(b, f[keep], inputs.names), scope
