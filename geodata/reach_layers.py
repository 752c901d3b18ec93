"""Map layers and new-site suggestions for one category of a reachability run.

``isochrones_for`` draws the reach of a category's facilities, ``gaps_for`` the residential
areas left outside it and ``suggest_for`` picks new sites that close the gaps, each from a
:class:`geodata.reachability.ReachReport` (geometry in and out in EPSG:4326).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geodata.db.frames import STORAGE_CRS
from geodata.reach_inputs import building_snap, origin_points
from geodata.reachability import ReachReport
from gridmap.analysis import reach as R
from gridmap.analysis.radius import circles
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.network import snap_points


def _category_facilities(report: ReachReport, category: str) -> gpd.GeoDataFrame:
    if category not in report.categories:
        raise fail(
            InvalidInput,
            N_("category {category} was not computed in this run"),
            category=repr(category),
        )
    f = report.inputs.facilities
    return f[f["category"] == category]


def isochrones_for(
    report: ReachReport,
    category: str,
    *,
    distances_m,
    buffer_m: float = R.DEFAULT_BUFFER_M,
    per_facility: bool = True,
) -> gpd.GeoDataFrame:
    """Isochrones of one category (EPSG:4326), or circles when the run has no network.

    Parameters
    ----------
    report : ReachReport
        The run.
    category : str
        A category the run computed.
    distances_m : iterable of float
        Walking distances in metres.
    buffer_m : float
        How far either side of the reached streets an isochrone extends, in metres.
    per_facility : bool
        Add one polygon per facility besides the merged one.

    Returns
    -------
    GeoDataFrame
        Facility id (None for the merged polygon), code, name, distance_m, minutes and
        estimate (True when straight-line circles).
    """
    fac = _category_facilities(report, category)
    cols = ["facility", "code", "name", "distance_m", "minutes", "estimate"]
    if fac.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=STORAGE_CRS)
    speed = report.speed_kmh
    if report.network is not None:
        net = report.network.network
        snap = snap_points(
            net, R.metric_points(fac, net.crs), max_snap_m=report.params["max_snap_m"]
        )
        iso = R.isochrones(
            net, snap, radii_m=distances_m, buffer_m=buffer_m, per_source=per_facility
        )
        crs = net.crs
        estimate = False
    else:
        # Straight-line reach: circles (the service radius, or the estimate's radius / factor).
        crs = report.metric_crs
        xy = R.metric_points(fac, crs)
        factor = report.params.get("detour_factor") or 1.0
        rows = []
        for d in sorted(distances_m):
            rings = circles(xy, d / factor)
            rows.append((-1, d, shapely.union_all(rings)))
            if per_facility:
                rows += [(k, d, g) for k, g in enumerate(rings)]
        iso = gpd.GeoDataFrame(
            {"source": [r[0] for r in rows], "radius_m": [r[1] for r in rows]},
            geometry=[r[2] for r in rows],
            crs=crs,
        )
        estimate = True
    ids = fac.index.to_numpy()
    src = iso["source"].to_numpy()
    out = gpd.GeoDataFrame(
        {
            "facility": [int(ids[s]) if s >= 0 else None for s in src],
            "code": [fac["code"].iloc[s] if s >= 0 else None for s in src],
            "name": [fac["name"].iloc[s] if s >= 0 else None for s in src],
            "distance_m": iso["radius_m"].to_numpy(),
            "minutes": R.minutes_for(iso["radius_m"].to_numpy(), speed),
            "estimate": estimate,
        },
        geometry=iso.geometry.values,
        crs=crs,
    )
    return out.to_crs(STORAGE_CRS)


def covered_mask(report: ReachReport, category: str, distance_m: float) -> np.ndarray:
    """Which buildings lie within ``distance_m`` of a facility of ``category``.

    Parameters
    ----------
    report : ReachReport
        The run.
    category : str
        A category the run computed.
    distance_m : float
        Distance in metres.

    Returns
    -------
    numpy.ndarray
        One bool per building, in the order of the run's buildings.
    """
    return (report.reach.distance(category) <= distance_m).to_numpy()


def gaps_for(
    report: ReachReport,
    category: str,
    distance_m: float,
    *,
    covered_area=None,
    buffer_m: float = 30.0,
) -> gpd.GeoDataFrame:
    """Gap polygons (EPSG:4326) of one category and distance.

    Residential buildings with residents outside the reach, grown and merged.

    Parameters
    ----------
    report : ReachReport
        The run.
    category : str
        A category the run computed.
    distance_m : float
        Distance in metres.
    covered_area : shapely geometry, optional
        Area (EPSG:4326) already covered, removed from the gaps.
    buffer_m : float
        How far the uncovered buildings are grown before merging, in metres.

    Returns
    -------
    GeoDataFrame
        The gap polygons.
    """
    b = report.inputs.buildings
    crs = report.metric_crs
    residential = (b["residents"] > 0).to_numpy()
    uncovered = residential & ~covered_mask(report, category, distance_m)
    area = None
    if covered_area is not None:
        area = gpd.GeoSeries([covered_area], crs=STORAGE_CRS).to_crs(crs).iloc[0]
    gaps = R.gap_polygons(b.to_crs(crs), uncovered, covered_area=area, buffer_m=buffer_m)
    return gaps.to_crs(STORAGE_CRS)


def suggest_for(
    report: ReachReport,
    category: str,
    *,
    distance_m: float,
    k: int = 3,
    candidates: gpd.GeoSeries | None = None,
    max_candidates: int = 300,
    gaps: gpd.GeoDataFrame | None = None,
) -> tuple[R.Suggestion, gpd.GeoDataFrame]:
    """Greedy ``k`` new sites for one category, each adding the most residents covered.

    Parameters
    ----------
    report : ReachReport
        The run.
    category : str
        A category the run computed.
    distance_m : float
        The distance a new site must be within, in metres.
    k : int
        How many sites.
    candidates : GeoSeries, optional
        The planner's candidate points (EPSG:4326); default: network nodes inside the gaps
        (uncovered buildings without a network).
    max_candidates : int
        Most candidates compared when they are drawn from the gaps.
    gaps : GeoDataFrame, optional
        The gaps, when already computed.

    Returns
    -------
    tuple of (Suggestion, GeoDataFrame)
        The suggestion and the picks as points (EPSG:4326) with their added coverage.
    """
    fac = _category_facilities(report, category)
    b = report.inputs.buildings
    weights = b[["residents", "households"]]
    crs = report.metric_crs
    net = report.network.network if report.network is not None else None
    if gaps is None:
        gaps = gaps_for(report, category, distance_m)
    if candidates is not None:
        cand_xy = R.metric_points(candidates, crs)
    elif net is not None:
        gap_geoms = np.asarray(gaps.to_crs(crs).geometry.values, dtype=object)
        cand_xy = R.candidate_nodes(net, gap_geoms, max_candidates=max_candidates)
    else:
        pts = (
            b[(b["residents"] > 0).to_numpy() & ~covered_mask(report, category, distance_m)]
            .to_crs(crs)
            .geometry.centroid
        )
        cand_xy = R.thin_points(np.column_stack([pts.x, pts.y]), max_candidates)
    if net is not None:
        osnap = building_snap(net, b, max_snap_m=report.params["max_snap_m"])
        fsnap = snap_points(net, R.metric_points(fac, crs), max_snap_m=report.params["max_snap_m"])
        sugg = R.suggest_sites(
            net, fsnap, osnap, weights, radius_m=distance_m, candidates_xy=cand_xy, k=k
        )
    else:
        sugg = R.suggest_sites_estimate(
            R.metric_points(fac, crs),
            origin_points(b, crs),
            weights,
            radius_m=distance_m,
            candidates_xy=cand_xy,
            k=k,
            detour_factor=report.params.get("detour_factor") or 1.0,
        )
    picks = sugg.picks
    pts = gpd.GeoDataFrame(
        picks.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(picks["x"], picks["y"]), crs=crs
    )
    return sugg, pts.to_crs(STORAGE_CRS)
