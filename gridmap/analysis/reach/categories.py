"""The per-origin reach table for many categories (network, estimate, radius) and its
coverage per area."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from gridmap.analysis.reach.defaults import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SPEED_KMH,
    METHOD_ESTIMATE,
    METHOD_NETWORK,
    METHOD_RADIUS,
    Progress,
)
from gridmap.analysis.reach.engine import PointJoin, SourceGraph, metric_points
from gridmap.crs import metric_crs
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network import Network, Snap, snap_points
from gridmap.units import metres_per_minute, minutes_for


@dataclass
class ReachTable:
    """Per-origin reach for several categories.

    ``table``: index-aligned with the origins: snap, leg_m, then per category
    ``<category>_m``, ``<category>_min`` and ``<category>_id`` (NaN/None beyond the cutoff).
    ``method`` is 'network' or 'estimate' (straight line x ``detour_factor``); ``params``
    holds speed_kmh, max_distance_m, max_snap_m, detour_factor; ``facility_status`` says per
    facility whether it joined the network.
    """

    table: pd.DataFrame
    categories: list[str]
    method: str
    params: dict[str, Any]
    facility_status: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    def distance(self, category: str) -> pd.Series:
        """The distance column of a category.

        Parameters
        ----------
        category : str
            A facility category.

        Returns
        -------
        pandas.Series
            Metres per origin (NaN beyond the cutoff).
        """
        return self.table[f"{category}_m"]

    def label(self, lang: str = "en") -> str:
        """What the distances are, for every display of them (the method must be said).

        Parameters
        ----------
        lang : str
            "zh" or "en".

        Returns
        -------
        str
            The label.
        """
        speed = self.params["speed_kmh"]
        if self.method == METHOD_RADIUS:
            return (
                "服务半径：设施周围的直线距离（圆），不计步行路线"
                if lang == "zh"
                else "SERVICE RADIUS: straight-line circles around facilities, not walking routes"
            )
        if self.method == METHOD_ESTIMATE:
            f = self.params["detour_factor"]
            return (
                f"估算：直线距离×{f:g}，步行速度 {speed:g} km/h"
                if lang == "zh"
                else f"ESTIMATE: straight line x {f:g}, walking {speed:g} km/h"
            )
        return (
            f"路网步行距离，步行速度 {speed:g} km/h"
            if lang == "zh"
            else f"network walking distance, walking {speed:g} km/h"
        )


def _table(cols: dict[str, np.ndarray], index: Any) -> pd.DataFrame:
    """The per-origin table; text columns stay ``object`` with None (pandas would infer a
    string dtype and turn None into NaN)."""
    return pd.DataFrame(
        {
            k: pd.Series(v, index=index, dtype=object)
            if v.dtype == object
            else pd.Series(v, index=index)
            for k, v in cols.items()
        },
        index=index,
    )


def _categories(
    facilities: pd.DataFrame, field_name: str, wanted: Iterable[Any] | None
) -> list[str]:
    if field_name not in facilities:
        raise fail(
            InvalidInput,
            N_("facilities have no {field!r} column; name the category field (--category-field)"),
            field=field_name,
        )
    have = [str(c) for c in pd.unique(facilities[field_name].dropna())]
    if wanted is None:
        return sorted(have)
    wanted = [str(c) for c in wanted]
    return wanted


def _ids(facilities: pd.DataFrame, id_field: str | None) -> np.ndarray:
    if id_field is None:
        return np.asarray(facilities.index, dtype=object)
    if id_field not in facilities:
        raise fail(InvalidInput, N_("facilities have no {field!r} column"), field=id_field)
    ids: np.ndarray = facilities[id_field].to_numpy(dtype=object)
    return ids


@dataclass(frozen=True)
class SnapOptions:
    """How :func:`reach_by_category` joins points to the network: within ``max_snap_m``
    metres, and ``origin_snap`` when the caller snapped the origins itself (e.g. at
    building entrances or with known compounds)."""

    max_snap_m: float = 300.0
    origin_snap: Snap | None = None


def reach_by_category(
    network: Network,
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    category_field: str = "category",
    id_field: str | None = None,
    categories: Iterable[str] | None = None,
    max_distance_m: float = np.inf,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    snapping: SnapOptions = SnapOptions(),
    progress: Progress | None = None,
) -> ReachTable:
    """Nearest facility of each category for every origin, on the network.

    Origins and facilities are snapped once; then one multi-source Dijkstra per category. A
    category without any facility gives empty columns (nobody covered).

    Parameters
    ----------
    network : Network
        The walking network.
    facilities, origins : geopandas.GeoDataFrame
        The facilities (with a category column) and the origins (buildings).
    category_field, id_field : str
        The facilities' category and id columns (id None: the index).
    categories : iterable of str, optional
        The categories wanted (default: every value of ``category_field``).
    max_distance_m : float
        Cutoff in metres.
    speed_kmh : float
        Walking speed in km/h for the minutes.
    snapping : SnapOptions
        Snap distance in metres, and the origins already snapped by the caller.
    progress : callable, optional
        Called with (category, done, total) after each category.

    Returns
    -------
    ReachTable
        Method 'network'.
    """
    metres_per_minute(speed_kmh)
    max_snap_m = snapping.max_snap_m
    cats = _categories(facilities, category_field, categories)
    fsnap = snap_points(network, metric_points(facilities, network.crs), max_snap_m=max_snap_m)
    osnap = snapping.origin_snap or snap_points(
        network, metric_points(origins, network.crs), max_snap_m=max_snap_m
    )
    ids = _ids(facilities, id_field)
    fcat = facilities[category_field].astype(object).to_numpy()
    cols: dict[str, np.ndarray] = {"snap": osnap.status, "leg_m": osnap.leg_m}
    graph = SourceGraph(network, fsnap)  # both built once for every category
    join = PointJoin(osnap, fsnap)
    for k, cat in enumerate(cats):
        mine = np.flatnonzero(fcat == cat)
        nd = graph.run(mine, max_distance_m=max_distance_m)
        dist, src = join.distances(nd, mine, max_distance_m=max_distance_m)
        ok = np.isfinite(dist)
        cols[f"{cat}_m"] = np.where(ok, dist, np.nan)
        cols[f"{cat}_min"] = np.where(ok, minutes_for(np.where(ok, dist, 0), speed_kmh), np.nan)
        id_col = np.full(osnap.n, None, dtype=object)
        id_col[ok] = ids[src[ok]]
        cols[f"{cat}_id"] = id_col
        if progress:
            progress(cat, k + 1, len(cats))
    table = _table(cols, origins.index)
    fstatus = pd.Series(fsnap.status, index=facilities.index, name="snap")
    return ReachTable(
        table,
        cats,
        METHOD_NETWORK,
        {
            "speed_kmh": speed_kmh,
            "max_distance_m": float(max_distance_m),
            "max_snap_m": max_snap_m,
            "detour_factor": None,
        },
        fstatus,
    )


def estimate_by_category(
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    *,
    crs: str | None = None,
    category_field: str = "category",
    id_field: str | None = None,
    categories: Iterable[str] | None = None,
    max_distance_m: float = np.inf,
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour_factor: float = DEFAULT_DETOUR_FACTOR,
) -> ReachTable:
    """Fallback without a network: straight-line distance x ``detour_factor``.

    Same table as ``reach_by_category`` with method 'estimate'; every display must say so
    (``ReachTable.label``).

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        The facilities, with a category column.
    origins : geopandas.GeoDataFrame
        The origins (buildings).
    crs : str, optional
        The metric CRS to measure in (default: the UTM zone of the origins).
    category_field : str
        The facilities' category column.
    id_field : str, optional
        The facilities' id column (default: the index).
    categories : iterable of str, optional
        The categories wanted (default: every value of ``category_field``).
    max_distance_m : float
        Cutoff in metres.
    speed_kmh : float
        Walking speed in km/h for the minutes.
    detour_factor : float
        Walk / straight-line ratio assumed (at least 1).

    Returns
    -------
    ReachTable
        Method 'estimate'.
    """
    if detour_factor < 1:
        raise fail(
            InvalidInput,
            N_("detour factor must be at least 1 (got {detour_factor})"),
            detour_factor=detour_factor,
        )
    return _straight_line(
        facilities,
        origins,
        (category_field, id_field, categories),
        crs=crs,
        max_distance_m=max_distance_m,
        speed_kmh=speed_kmh,
        factor=detour_factor,
        method=METHOD_ESTIMATE,
    )


def radius_by_category(
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    *,
    crs: str | None = None,
    category_field: str = "category",
    id_field: str | None = None,
    categories: Iterable[str] | None = None,
    max_distance_m: float = np.inf,
    speed_kmh: float = DEFAULT_SPEED_KMH,
) -> ReachTable:
    """The service radius: straight-line metres from each origin to the nearest facility of each
    category.

    An origin lies inside a facility's circle of radius r exactly when ``<category>_m <= r``
    (a true circle in the metric ``crs``). Minutes are empty: a circle says nothing about
    walking.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        The facilities, with a category column.
    origins : geopandas.GeoDataFrame
        The origins (buildings).
    crs : str, optional
        The metric CRS to measure in (default: the UTM zone of the origins).
    category_field : str
        The facilities' category column.
    id_field : str, optional
        The facilities' id column (default: the index).
    categories : iterable of str, optional
        The categories wanted (default: every value of ``category_field``).
    max_distance_m : float
        Cutoff in metres.
    speed_kmh : float
        Walking speed in km/h (checked, not used for minutes).

    Returns
    -------
    ReachTable
        Method 'radius'.
    """
    return _straight_line(
        facilities,
        origins,
        (category_field, id_field, categories),
        crs=crs,
        max_distance_m=max_distance_m,
        speed_kmh=speed_kmh,
        factor=1.0,
        method=METHOD_RADIUS,
    )


def _straight_line(
    facilities: gpd.GeoDataFrame,
    origins: gpd.GeoDataFrame,
    which: tuple[str, str | None, Any],
    *,
    crs: Any,
    max_distance_m: float,
    speed_kmh: float,
    factor: float,
    method: str,
) -> ReachTable:
    """Nearest facility per category by straight line (k-d tree) x ``factor``; ``which``
    holds the category field, the id field and the categories wanted."""
    category_field, id_field, categories = which
    metres_per_minute(speed_kmh)
    crs = crs or str(metric_crs(origins))
    cats = _categories(facilities, category_field, categories)
    fxy = metric_points(facilities, crs)
    oxy = metric_points(origins, crs)
    ids = _ids(facilities, id_field)
    fcat = facilities[category_field].astype(object).to_numpy()
    cols: dict[str, np.ndarray] = {
        "snap": np.full(len(oxy), method, dtype=object),
        "leg_m": np.full(len(oxy), np.nan),
    }
    for cat in cats:
        mine = np.flatnonzero(fcat == cat)
        dist = np.full(len(oxy), np.inf)
        src = np.full(len(oxy), -1)
        if len(mine):
            d, j = cKDTree(fxy[mine]).query(oxy)
            dist, src = d * factor, j
        ok = dist <= max_distance_m
        cols[f"{cat}_m"] = np.where(ok, dist, np.nan)
        cols[f"{cat}_min"] = (
            np.full(len(oxy), np.nan)
            if method == METHOD_RADIUS
            else np.where(ok, minutes_for(np.where(ok, dist, 0), speed_kmh), np.nan)
        )
        id_col = np.full(len(oxy), None, dtype=object)
        id_col[ok] = ids[mine][src[ok]]
        cols[f"{cat}_id"] = id_col
    return ReachTable(
        _table(cols, origins.index),
        cats,
        method,
        {
            "speed_kmh": speed_kmh,
            "max_distance_m": float(max_distance_m),
            "max_snap_m": None,
            "detour_factor": factor if method == METHOD_ESTIMATE else None,
            "crs": crs,
        },
        pd.Series(method, index=facilities.index, name="snap"),
    )


# --- coverage per area ------------------------------------------------------------------
#: The columns of :func:`coverage`, in order.
COVERAGE_COLUMNS = [
    "level",
    "area",
    "category",
    "threshold",
    "threshold_m",
    "residents",
    "residents_covered",
    "residents_share",
    "households",
    "households_covered",
    "households_share",
    "buildings",
    "buildings_covered",
]


def coverage(
    reach: ReachTable,
    weights: pd.DataFrame,
    areas: dict[str, pd.Series],
    *,
    thresholds_m: dict[str, float],
) -> pd.DataFrame:
    """Residents and households covered per area, category and threshold.

    Parameters
    ----------
    reach : ReachTable
        The per-origin distances.
    weights : pandas.DataFrame
        Aligned with the origins: 'residents' and 'households' columns.
    areas : dict of str to pandas.Series
        Area level ('grid', 'community', 'street' ...) -> each origin's area code (None: '').
    thresholds_m : dict of str to float
        Label -> metres, e.g. {'5 min': 333.3, '300 m': 300}.

    Returns
    -------
    pandas.DataFrame
        One row per (level, area, category, threshold): residents, households and buildings
        where people live, each total, ``_covered`` and ``_share`` (0..1, NaN when nobody
        lives there; buildings without a share).
    """
    w = weights.reindex(reach.table.index)
    res = w["residents"].fillna(0).to_numpy(float)
    hh = w["households"].fillna(0).to_numpy(float)
    lived = (res > 0).astype(float)
    frames = []
    for level, codes in areas.items():
        code = codes.reindex(reach.table.index).fillna("").astype(str).to_numpy()
        keys, inv = np.unique(code, return_inverse=True)
        tot_r = np.bincount(inv, weights=res, minlength=len(keys))
        tot_h = np.bincount(inv, weights=hh, minlength=len(keys))
        tot_b = np.bincount(inv, weights=lived, minlength=len(keys))
        for cat in reach.categories:
            d = reach.distance(cat).to_numpy(float)
            for label, limit in thresholds_m.items():
                ok = d <= limit
                cov_r = np.bincount(inv, weights=res * ok, minlength=len(keys))
                cov_h = np.bincount(inv, weights=hh * ok, minlength=len(keys))
                cov_b = np.bincount(inv, weights=lived * ok, minlength=len(keys))
                with np.errstate(invalid="ignore", divide="ignore"):
                    frames.append(
                        pd.DataFrame(
                            {
                                "level": level,
                                "area": keys,
                                "category": cat,
                                "threshold": label,
                                "threshold_m": float(limit),
                                "residents": tot_r.astype(int),
                                "residents_covered": cov_r.astype(int),
                                "residents_share": np.where(tot_r > 0, cov_r / tot_r, np.nan),
                                "households": tot_h.astype(int),
                                "households_covered": cov_h.astype(int),
                                "households_share": np.where(tot_h > 0, cov_h / tot_h, np.nan),
                                "buildings": tot_b.astype(int),
                                "buildings_covered": cov_b.astype(int),
                            }
                        )
                    )
    if not frames:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True)
