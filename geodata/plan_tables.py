"""The per-building side of a plan: which buildings the service radius covers only on
paper (inside the circle but beyond the walk) and why, their totals per grid, community
and street, and the building table the planner's map and downloads show.

Only aggregates leave here (households and residents counted per building).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import STORAGE_CRS, read_frame
from geodata.reach_inputs import building_snap
from geodata.reachability import AREA_LEVELS, ReachReport
from gridmap.analysis import radius as RD
from gridmap.analysis import reach as R
from gridmap.network import SNAP_OFF, walkable


def _barriers(session: Session, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Lines people may not walk along or across: roads of a barrier class that are not
    walkable (expressways, motorways, railways or rivers imported as lines), outside
    compounds."""
    roads = read_frame(
        session,
        sa.select(
            m.Road.name, m.Road.highway, m.Road.foot, m.Road.access, m.Road.compound_id, m.Road.geom
        ),
    )
    if roads.empty:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=object)
    ok = walkable(
        roads["highway"].to_numpy(object),
        roads["foot"].to_numpy(object),
        roads["access"].to_numpy(object),
        in_compound=roads["compound_id"].notna().to_numpy(),
    )
    bar = roads[
        ~ok
        & roads["highway"].isin(RD.BARRIER_CLASSES).to_numpy()
        & roads["compound_id"].isna().to_numpy()
    ]
    names = [n or h for n, h in zip(bar["name"], bar["highway"], strict=True)]
    return (
        np.asarray(bar.to_crs(crs).geometry.values, dtype=object),
        np.asarray(names, dtype=object),
    )


def paper_only_table(
    session: Session, radius: ReachReport, walk: ReachReport, category: str, distance_m: float
) -> pd.DataFrame:
    """Per building, whether it is covered on paper only and why.

    Parameters
    ----------
    session : Session
        The database session (reads the streets a walk must cross).
    radius, walk : ReachReport
        The service-radius and walking runs of the same buildings.
    category : str
        A category both runs computed.
    distance_m : float
        The level's distance in metres.

    Returns
    -------
    DataFrame
        Straight and walking metres, inside the radius, within the walk, on paper only, and
        the reason (see ``gridmap.analysis.radius.paper_only_reasons``).
    """
    b = walk.inputs.buildings
    straight = radius.reach.distance(category).to_numpy(float)
    walk_m = walk.reach.distance(category).to_numpy(float)
    crs = walk.metric_crs
    fac = radius.inputs.facilities
    fxy_all = R.metric_points(fac, crs) if len(fac) else np.zeros((0, 2))
    pos = pd.Series(np.arange(len(fac)), index=fac.index)
    nearest = radius.reach.table[f"{category}_id"].to_numpy(object)
    fxy = np.full((len(b), 2), np.nan)
    has = np.array([i is not None for i in nearest], bool)
    if has.any():
        fxy[has] = fxy_all[pos.loc[list(nearest[has])].to_numpy()]
    kw: dict = {}
    if walk.network is not None:
        net = walk.network.network
        osnap = building_snap(net, b, max_snap_m=walk.params["max_snap_m"])
        oxy = osnap.xy
        off = osnap.status == SNAP_OFF
        fcomp = np.full(len(b), -1)
        fcomp[has] = net.compound_of(fxy[has])
        kw = {
            "origin_compound": osnap.compound,
            "facility_compound": fcomp,
            "gate_xy": net.node_xy[net.gate_node],
            "gate_compound": net.gate_compound,
        }
        kw["barriers"], kw["barrier_names"] = _barriers(session, crs)
    else:
        oxy = R.metric_points(b, crs)
        off = np.zeros(len(b), bool)
    reasons = RD.paper_only_reasons(
        origin_xy=oxy,
        facility_xy=fxy,
        straight_m=straight,
        walk_m=walk_m,
        distance_m=distance_m,
        off_network=off,
        obstacles=RD.Obstacles(**kw),
    )
    reasons.index = b.index
    # Buildings where nobody lives are not "covered" on paper or otherwise (as the
    # coverage and compare_by_area count them).
    lived = RD.paper_only(straight, walk_m, distance_m) & (b["residents"] > 0).to_numpy()
    reasons = reasons.where(pd.Series(lived, index=b.index), None)
    reasons["detour"] = pd.to_numeric(reasons["detour"])
    return pd.DataFrame(
        {
            "straight_m": straight,
            "walk_m": walk_m,
            "within_radius": straight <= distance_m,
            "on_foot": walk_m <= distance_m,
            "paper_only": lived,
        },
        index=b.index,
    ).join(reasons)


def compare_by_area(report: ReachReport, straight_m, walk_m, distance_m: float) -> pd.DataFrame:
    """Inside the radius, on foot and on paper only per grid, community and street.

    Parameters
    ----------
    report : ReachReport
        The run whose buildings (residents, households, areas) are counted.
    straight_m, walk_m : array-like of float
        Per building, the straight-line and walking distance in metres.
    distance_m : float
        The level's distance in metres.

    Returns
    -------
    DataFrame
        See ``gridmap.analysis.radius.compare_by_area``.
    """
    b = report.inputs.buildings
    return RD.compare_by_area(
        straight_m,
        walk_m,
        distance_m,
        b[["residents", "households"]],
        {lv: b[lv] for lv in AREA_LEVELS},
    )


def building_frame(
    main: ReachReport,
    category: str,
    *,
    radius: ReachReport | None,
    walk: ReachReport | None,
    distance_m: float,
    session: Session,
) -> gpd.GeoDataFrame:
    """One row per building (EPSG:4326 polygons) for the map and the building table.

    Parameters
    ----------
    main : ReachReport
        The run the view shows.
    category : str
        The plan's category.
    radius, walk : ReachReport or None
        The service-radius and walking runs (both for the comparison).
    distance_m : float
        The level's distance in metres.
    session : Session
        The database session.

    Returns
    -------
    GeoDataFrame
        Code, name, address, areas, use, households, residents, straight_m, walk_m, walk_min,
        the nearest facility's code and name, covered, paper_only, reason, detour, barrier,
        and ``state`` for the map (covered / paper_only / uncovered / other).
    """
    b = main.inputs.buildings
    fac = main.inputs.facilities
    out = b[
        [
            "code",
            "name",
            "address",
            "grid",
            "community",
            "street",
            "use",
            "households",
            "residents",
            "geometry",
        ]
    ].copy()
    nan = np.full(len(b), np.nan)
    out["straight_m"] = (
        radius.reach.distance(category).to_numpy(float) if radius is not None else nan
    )
    out["walk_m"] = walk.reach.distance(category).to_numpy(float) if walk is not None else nan
    out["walk_min"] = (
        walk.reach.table[f"{category}_min"].to_numpy(float) if walk is not None else nan
    )
    ids = main.reach.table[f"{category}_id"]
    out["facility_code"] = [fac["code"].get(i) if i is not None else None for i in ids]
    out["facility_name"] = [fac["name"].get(i) if i is not None else None for i in ids]
    covered = main.reach.distance(category).to_numpy(float) <= distance_m
    out["covered"] = covered
    out["paper_only"] = False
    out["detour"] = np.nan
    for c in ("reason", "barrier"):
        out[c] = pd.Series([None] * len(b), index=b.index, dtype=object)
    residential = (b["residents"] > 0).to_numpy()
    if radius is not None and walk is not None:
        po = paper_only_table(session, radius, walk, category, distance_m)
        for c in ("paper_only", "reason", "detour", "barrier"):
            out[c] = po[c]
    out["state"] = np.where(
        ~residential,
        "other",
        np.where(
            out["paper_only"].to_numpy(bool),
            "paper_only",
            np.where(covered, "covered", "uncovered"),
        ),
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)
