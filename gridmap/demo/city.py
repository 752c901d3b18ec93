"""The in-memory shape of a whole street office, as the demo builders produce it.

Every frame is a GeoDataFrame in EPSG:4326 (or a plain DataFrame for the tables
without geometry). Rows refer to each other by *code* (never by database id), so
the same structure can be written to any database or file. ``geodata`` writes a
``City`` to the database; the builders in this package only compute it.

Columns (all required; ``None``/NaN where unknown):

districts     code, name, geometry (MultiPolygon)
streets       code, name, district_code, geometry (MultiPolygon)
communities   code, name, street_code, geometry (MultiPolygon)
grids         code, name, community_code, kind ('community'|'unit'), leader,
              leader_phone, target_households, geometry (MultiPolygon)
compounds     code, name, community_code, geometry (MultiPolygon)
gates         code, compound_code, name, kind ('pedestrian'|'vehicle'|'both'), geometry (Point)
roads         code, name, highway (OSM highway value), foot ('yes'|'no'|None),
              access (None|'private'), compound_code (None unless an internal path),
              geometry (LineString)
buildings     code, name, address, floors, use (vocab.BUILDING_USES), compound_code,
              grid_code, geometry (Polygon or MultiPolygon)
households    code, building_code, unit, floor, room, size, tags (list[str] from
              vocab.HOUSEHOLD_TAGS)             -- DataFrame, no geometry
residents     household_code, name, id_number, phone, birth_year, sex ('M'|'F'),
              tags (list[str] from vocab.RESIDENT_TAGS) -- DataFrame, no geometry
facilities    code, name, category (vocab.FACILITY_CATEGORIES), capacity, geometry (Point)
key_sites     code, name, category (vocab.KEY_SITE_CATEGORIES), address, grid_code,
              inspection_interval_days, geometry (Point)
inspections   site_code, inspected_at (datetime, UTC-naive local time), inspector,
              result (vocab.INSPECTION_RESULTS), notes -- DataFrame
hazards       code, category, severity, status (vocab.HAZARD_*), description,
              found_at, deadline, closed_at, reporter, responsible, grid_code,
              history (list of dicts: at, actor, action, from_status, to_status, note),
              geometry (Point)
patrol_tracks code, patroller, grid_code, started_at, ended_at,
              times (list[float], seconds since started_at, one per vertex),
              geometry (LineString)

``label`` names the data source for display (it says "synthetic" for generated
data) and ``anchor`` is the (lon, lat) the map should open on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd

# Local practice: one grid leader looks after 300-500 households.
TARGET_HOUSEHOLDS_RANGE = (300, 500)


def planned_target_households(households) -> np.ndarray:
    """A plausible planned load per grid: its households to the nearest 50, within 300-500.

    Parameters
    ----------
    households : array-like of int
        Households in each grid.

    Returns
    -------
    numpy.ndarray
        The target households of each grid.
    """
    low, high = TARGET_HOUSEHOLDS_RANGE
    return np.clip(np.round(np.asarray(households) / 50) * 50, low, high).astype(int)


@dataclass
class City:
    label: str
    anchor: tuple[float, float]
    districts: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    gates: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    households: pd.DataFrame
    residents: pd.DataFrame
    facilities: gpd.GeoDataFrame
    key_sites: gpd.GeoDataFrame
    inspections: pd.DataFrame
    hazards: gpd.GeoDataFrame
    patrol_tracks: gpd.GeoDataFrame

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name, in the order they must be written (parents first).

        Returns
        -------
        dict of str to pandas.DataFrame
            The tables.
        """
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), pd.DataFrame)
        }

    def counts(self) -> dict[str, int]:
        """Rows of every table by name, in the order they are written.

        Returns
        -------
        dict of str to int
            The row counts.
        """
        return {name: len(frame) for name, frame in self.frames().items()}
