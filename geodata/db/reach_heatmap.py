"""The travel-time heatmap layer: walking minutes to the nearest facility of a category.

Uses the reachability engine: the walking network stored in the database
(``geodata.network_store.ensure_network``) and ``gridmap.analysis.reach.travel_time_grid``
(cell centres snapped to the network like buildings, one multi-source run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.frames import STORAGE_CRS
from gridmap import vocab
from gridmap.analysis import density
from gridmap.errors import ConfigError, InvalidInput, NotFound
from gridmap.messages import N_, fail


@dataclass(frozen=True)
class TravelTimeCells:
    """Walking minutes to the nearest facility, as a surface and as cells."""

    surface: density.Surface  # minutes on the cell_m raster, NaN where unreached
    cells: gpd.GeoDataFrame  # EPSG:4326: cell, value, per_ha (both minutes)
    facilities: int  # facilities of the category measured from
    notes: list[str]


def travel_time_cells(
    session: Session,
    *,
    category: str,
    cell_m: float,
    grids: gpd.GeoDataFrame,
    crs: Any,
    max_minutes: float = 30.0,
) -> TravelTimeCells:
    """Walking minutes to the nearest facility of ``category`` on ``cell_m`` cells.

    Cells farther than ``max_minutes`` or off the network are left empty; only the cells in
    ``grids`` (plus one cell) are kept.

    Parameters
    ----------
    session : Session
        Database session holding the facilities and streets.
    category : str
        Facility category code (``vocab.FACILITY_CODES``).
    cell_m : float
        Cell size in metres.
    grids : GeoDataFrame
        The grids whose cells are kept.
    crs : CRS
        The metric CRS the cells are computed in.
    max_minutes : float
        Walking time in minutes beyond which a cell is left empty.

    Returns
    -------
    TravelTimeCells
        The minutes surface and cells, the facility count and a note on the assumptions.
    """
    facilities, points, speed_kmh = _travel_times(
        session, category=category, cell_m=cell_m, max_minutes=max_minutes
    )
    points = points.to_crs(crs)
    # Keep the cells inside the requester's grids (plus one cell).
    area = grids.to_crs(crs).union_all().buffer(cell_m)
    points = points[points.within(area) & np.isfinite(points["minutes"])]
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    minutes = points["minutes"].to_numpy(float)
    if not len(x):
        raise fail(
            NotFound,
            N_("no street cell reaches a {facility} within {minutes} minutes"),
            facility=category,
            minutes=f"{max_minutes:g}",
        )
    notes = [
        f"walking at {speed_kmh:g} km/h on the stored network; "
        f"cells beyond {max_minutes:g} minutes are left empty"
    ]
    return TravelTimeCells(
        _minutes_surface(x, y, minutes, cell_m=cell_m, crs=crs, facilities=facilities),
        _minute_cells(x, y, minutes, cell_m=cell_m, crs=crs),
        facilities,
        notes,
    )


def _travel_times(
    session: Session, *, category: str, cell_m: float, max_minutes: float
) -> tuple[int, gpd.GeoDataFrame, float]:
    """The facilities counted, the cell centres with their minutes, and the walking speed."""
    if category not in vocab.FACILITY_CODES:
        raise fail(
            InvalidInput,
            N_("unknown facility category {given}; use one of {choices}"),
            given=repr(category),
            choices=", ".join(sorted(vocab.FACILITY_CODES)),
        )
    try:
        from geodata.network_store import ensure_network
        from gridmap.analysis.reach import DEFAULT_SPEED_KMH, travel_time_grid
    except ImportError as exc:  # pragma: no cover - the engine ships with gridmap
        raise fail(
            ConfigError,
            N_(
                "the travel-time layer needs the walking-network engine "
                "(gridmap reach), which this installation lacks: {error}"
            ),
            error=str(exc),
        ) from exc
    facilities = repo.facilities_frame(session, category=category)
    if not len(facilities):
        raise fail(
            NotFound,
            N_("no facility of category {facility} is loaded; import facilities first"),
            facility=category,
        )
    stored = ensure_network(session)
    if stored is None:
        raise fail(
            NotFound, N_("no streets are loaded, so there is no walking network to measure on")
        )
    points = travel_time_grid(
        stored.network,
        facilities,
        cell_m=cell_m,
        speed_kmh=DEFAULT_SPEED_KMH,
        max_minutes=max_minutes,
    )
    return len(facilities), points, DEFAULT_SPEED_KMH


def _minutes_surface(
    x: np.ndarray, y: np.ndarray, minutes: np.ndarray, *, cell_m: float, crs: Any, facilities: int
) -> density.Surface:
    """The cell centres' minutes laid on a raster (NaN where no cell was reached)."""
    x0, y0 = x.min() - cell_m / 2, y.max() + cell_m / 2
    nx = int(round((x.max() - x.min()) / cell_m)) + 1
    ny = int(round((y.max() - y.min()) / cell_m)) + 1
    values = np.full((ny, nx), np.nan)
    values[
        np.round((y0 - cell_m / 2 - y) / cell_m).astype(int),
        np.round((x - x0 - cell_m / 2) / cell_m).astype(int),
    ] = minutes
    return density.Surface(
        values,
        float(x0),
        float(y0),
        float(cell_m),
        CRS.from_user_input(crs),
        "minutes",
        float(facilities),
    )


def _minute_cells(
    x: np.ndarray, y: np.ndarray, minutes: np.ndarray, *, cell_m: float, crs: Any
) -> gpd.GeoDataFrame:
    """One square per reached cell centre with its minutes, in EPSG:4326."""
    half = cell_m / 2
    return gpd.GeoDataFrame(
        {
            "cell": [f"{i}" for i in range(len(x))],
            "value": np.round(minutes, 1),
            "per_ha": np.round(minutes, 1),
        },
        geometry=gpd.GeoSeries(shapely.box(x - half, y - half, x + half, y + half), crs=crs),
        crs=crs,
    ).to_crs(STORAGE_CRS)
