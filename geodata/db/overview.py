"""The street at a glance: street -> communities -> grids with counts and coverage.

Coverage here is the completeness rule of the plans ("社区不漏小区、小区不漏楼栋、楼栋不漏住户"):
how much of a community its grids cover, and how many of its homes (residential and
mixed-use buildings) have their households registered. Aggregates only.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.models import Building, Household
from gridmap.analysis.grids import community_gaps, household_load, to_metric

HOME_USES = ("residential", "mixed")


def _registration(session: Session) -> pd.DataFrame:
    """Per grid id: homes (residential/mixed buildings) and homes with households."""
    has = sa.exists().where(Household.building_id == Building.id)
    rows = session.execute(
        sa.select(
            Building.grid_id,
            sa.func.count(Building.id).label("homes"),
            sa.func.sum(sa.case((has, 1), else_=0)).label("homes_registered"),
        )
        .where(Building.use.in_(HOME_USES))
        .group_by(Building.grid_id)
    ).all()
    return (
        pd.DataFrame(rows, columns=["grid_id", "homes", "homes_registered"])
        .astype({"homes": int, "homes_registered": int})
        .set_index("grid_id")
    )


def _pct(part, whole):
    whole = np.asarray(whole, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, np.round(100.0 * np.asarray(part, float) / whole, 1), np.nan)


def street_tree(session: Session) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The communities and grids of the street with their load figures, EPSG:4326.

    Parameters
    ----------
    session : Session
        Database session holding the street's places and households.

    Returns
    -------
    tuple of (GeoDataFrame, GeoDataFrame)
        communities: code, name, street_name, grids, households, residents, buildings,
        homes, homes_registered_pct, grid_cover_pct, load_over, load_under, geometry;
        grids: code, name, community_code, community_name, leader, households, target,
        residents, buildings, homes, homes_registered_pct, load ('under'/'ok'/'over'), geometry.
    """
    communities = repo.communities_frame(session)
    grids = repo.grids_frame(session)
    reg = _registration(session)
    grids["homes"] = reg["homes"].reindex(grids["id"]).fillna(0).astype(int).to_numpy()
    grids["homes_registered"] = (
        reg["homes_registered"].reindex(grids["id"]).fillna(0).astype(int).to_numpy()
    )
    grids["homes_registered_pct"] = _pct(grids["homes_registered"], grids["homes"])
    grids["target"] = grids["target_households"].fillna(0).astype(int)
    grids["load"] = household_load(grids["households"], targets=grids["target_households"])[
        "status"
    ].to_numpy()
    by = grids.groupby("community_code")
    communities["buildings"] = (
        by["buildings"].sum().reindex(communities["code"]).fillna(0).astype(int).to_numpy()
    )
    communities["homes"] = (
        by["homes"].sum().reindex(communities["code"]).fillna(0).astype(int).to_numpy()
    )
    registered = by["homes_registered"].sum().reindex(communities["code"]).fillna(0).to_numpy()
    communities["homes_registered_pct"] = _pct(registered, communities["homes"])
    for status in ("over", "under"):
        communities[f"load_{status}"] = (
            grids.assign(x=grids["load"] == status)
            .groupby("community_code")["x"]
            .sum()
            .reindex(communities["code"])
            .fillna(0)
            .astype(int)
            .to_numpy()
        )
    cover = np.full(len(communities), np.nan)
    if len(communities) and len(grids):
        c_idx = communities.set_index("code")
        gaps = community_gaps(grids, c_idx, grids["community_code"])
        area = to_metric(c_idx.geometry).area
        gap = gaps["gap_m2"].reindex(c_idx.index).fillna(0.0) if len(gaps) else 0.0
        has_grids = c_idx.index.isin(grids["community_code"])
        cover = np.where(has_grids, np.round(100.0 * (1 - gap / area), 1), 0.0)
        cover = np.asarray(cover, float)
    communities["grid_cover_pct"] = cover
    return communities, grids.drop(columns=["homes_registered"])
