"""Grid topology, household load, grid codes and rebalancing (pure, vectorised).

The rules come from how community grids are drawn (domain.md): the grids of one
community tile it (no gaps, no overlaps, never across its boundary), each holds
about 300-500 households (a local default, editable), and codes follow either
CJ/T 349-2010 (20 digits: 6 service object + 6 GB/T 2260 division + 3 street +
3 community + 2 sequence) or the 15-digit scheme of GB/T 30428.1-based local
standards (6 district + 3 street + 3 community + 3 sequence). Sequence numbers
run west->east in rows from north to south inside each community.

Inputs are GeoDataFrames in any CRS (areas are computed in the local UTM zone);
outputs are DataFrames aligned to the input index, or tables of pairs keyed by
index labels. Areas are square metres.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import STORAGE_CRS, metric_crs
from gridmap.demo.regions import shared_boundaries
from gridmap.ordering import reading_sequence

DEFAULT_TARGET_MIN = 300
DEFAULT_TARGET_MAX = 500
CODE_SCHEMES = ("15", "20")
# GB/T 2260 province-level prefixes: a quick sanity check on division codes.
PROVINCES = frozenset(
    [
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
    ]
)


def to_metric(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, crs: pyproj.CRS | str | None = None
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """A frame in the metric CRS of its own extent (or ``crs``).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame or geopandas.GeoSeries
        Any CRS.
    crs : pyproj.CRS or str, optional
        The metric CRS to use (default: :func:`gridmap.crs.metric_crs` of the frame).

    Returns
    -------
    geopandas.GeoDataFrame or geopandas.GeoSeries
        The reprojected frame.
    """
    if frame.crs is None:
        frame = frame.set_crs(STORAGE_CRS)
    if crs is None:
        crs = metric_crs(frame)
    return frame.to_crs(crs)


# --- topology ---------------------------------------------------------------------------
def grid_overlaps(grids: gpd.GeoDataFrame, *, min_area_m2: float = 1.0) -> pd.DataFrame:
    """Pairs of grids whose interiors overlap by at least ``min_area_m2``; shared edges and
    corners are not overlaps.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid polygons.
    min_area_m2 : float
        Smallest overlap counted, in square metres.

    Returns
    -------
    pandas.DataFrame
        Columns ``left``, ``right`` (index labels of ``grids``, left before right in index
        order) and ``area_m2``.
    """
    cols = ["left", "right", "area_m2"]
    if len(grids) < 2:
        return pd.DataFrame(columns=cols)
    geoms = to_metric(grids.geometry).to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    area = shapely.area(shapely.intersection(geoms[i], geoms[j], grid_size=0.001))
    big = area >= min_area_m2
    return pd.DataFrame(
        {"left": grids.index[i[big]], "right": grids.index[j[big]], "area_m2": area[big]},
        columns=cols,
    ).reset_index(drop=True)


def assign_by_location(geoms: gpd.GeoSeries, areas: gpd.GeoSeries) -> pd.Series:
    """For each geometry, the area holding most of it; points and lines use their representative
    point.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        The geometries to place.
    areas : geopandas.GeoSeries
        The area polygons (same CRS).

    Returns
    -------
    pandas.Series
        Aligned with ``geoms``: the index label of the area, None when it touches none.
    """
    out = pd.Series([None] * len(geoms), index=geoms.index, dtype=object)
    if len(geoms) == 0 or len(areas) == 0:
        return out
    crs = metric_crs(geoms)
    g = to_metric(geoms, crs).to_numpy()
    a = to_metric(areas, crs).to_numpy()
    polygonal = np.isin(shapely.get_type_id(g), [3, 6])
    probe = np.where(polygonal, g, shapely.point_on_surface(g))
    gi, ai = shapely.STRtree(a).query(probe, predicate="intersects")
    if len(gi) == 0:
        return out
    share = np.where(polygonal[gi], shapely.area(shapely.intersection(g[gi], a[ai])), 1.0)
    best = (
        pd.DataFrame({"g": gi, "a": ai, "share": share})
        .sort_values(["g", "share"], ascending=[True, False])
        .drop_duplicates("g")
    )
    out.iloc[best["g"].to_numpy()] = areas.index[best["a"].to_numpy()].to_numpy()
    return out


def community_fit(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    grid_community: pd.Series,
    *,
    min_area_m2: float = 1.0,
    outside_share: float = 0.99,
) -> pd.DataFrame:
    """How each grid sits in its community.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid polygons.
    communities : geopandas.GeoDataFrame
        The community polygons.
    grid_community : pandas.Series
        Community index label per grid.
    min_area_m2 : float
        Area in square metres beyond the boundary from which a grid crosses it.
    outside_share : float
        Share 0-1 beyond the boundary from which a grid is outside.

    Returns
    -------
    pandas.DataFrame
        Aligned to ``grids``: ``outside_m2`` (area beyond the community boundary),
        ``share_outside`` (0-1) and ``status``: 'inside', 'crosses', 'outside' or
        'no_community' (label missing or unknown).
    """
    out = pd.DataFrame(
        {"outside_m2": np.nan, "share_outside": np.nan, "status": "no_community"}, index=grids.index
    )
    known = grid_community.notna() & grid_community.isin(communities.index)
    if not known.any():
        return out
    crs = metric_crs(grids)
    g = to_metric(grids.geometry[known], crs).to_numpy()
    c = to_metric(communities.geometry, crs).loc[grid_community[known].to_numpy()].to_numpy()
    outside = shapely.area(shapely.difference(g, c, grid_size=0.001))
    share = outside / np.maximum(shapely.area(g), 1e-9)
    status = np.where(
        share >= outside_share, "outside", np.where(outside >= min_area_m2, "crosses", "inside")
    )
    out.loc[known, "outside_m2"] = outside
    out.loc[known, "share_outside"] = share
    out.loc[known, "status"] = status
    return out


def community_gaps(
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    grid_community: pd.Series,
    *,
    min_area_m2: float = 1.0,
) -> pd.DataFrame:
    """Area of each community (that has grids) not covered by any of its grids.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid polygons.
    communities : geopandas.GeoDataFrame
        The community polygons.
    grid_community : pandas.Series
        Community index label per grid.
    min_area_m2 : float
        Smallest gap polygon counted, in square metres.

    Returns
    -------
    pandas.DataFrame
        Aligned to the communities with a gap: ``gap_m2`` and ``parts`` (separate gap
        polygons).
    """
    cols = ["gap_m2", "parts"]
    known = grid_community.notna() & grid_community.isin(communities.index)
    if not known.any():
        return pd.DataFrame(columns=cols)
    crs = metric_crs(communities)
    g = to_metric(grids.geometry[known], crs)
    c = to_metric(communities.geometry, crs)
    rows = {}
    for label, members in g.groupby(grid_community[known].to_numpy()):
        covered = shapely.union_all(members.to_numpy(), grid_size=0.001)
        gap = shapely.difference(c.loc[label], covered, grid_size=0.001)
        parts = shapely.get_parts(gap)
        areas = shapely.area(parts)
        big = areas >= min_area_m2
        if big.any():
            rows[label] = {"gap_m2": float(areas[big].sum()), "parts": int(big.sum())}
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def duplicated_values(values: pd.Series) -> pd.Series:
    """True for every row whose (non-empty) value occurs more than once.

    Parameters
    ----------
    values : pandas.Series
        Codes or names.

    Returns
    -------
    pandas.Series
        Aligned bool.
    """
    present = values.notna() & (values.astype(str).str.strip() != "")
    return present & values.duplicated(keep=False)


# --- household load --------------------------------------------------------------------
def household_load(
    households: pd.Series,
    *,
    targets: pd.Series | None = None,
    target_min: int = DEFAULT_TARGET_MIN,
    target_max: int = DEFAULT_TARGET_MAX,
) -> pd.DataFrame:
    """Households per grid against the target band.

    Parameters
    ----------
    households : pandas.Series
        Households per grid.
    targets : pandas.Series, optional
        A grid's own target (aligned); where given, the band is target +-25%.
    target_min, target_max : int
        The band where a grid has no own target, in households.

    Returns
    -------
    pandas.DataFrame
        Aligned columns ``households``, ``low``, ``high``, ``status`` ('under', 'ok', 'over').
    """
    h = households.fillna(0).astype(int)
    low = pd.Series(float(target_min), index=h.index)
    high = pd.Series(float(target_max), index=h.index)
    if targets is not None:
        t = pd.to_numeric(targets, errors="coerce").reindex(h.index)
        own = t.notna() & (t > 0)
        low[own] = (t[own] * 0.75).round()
        high[own] = (t[own] * 1.25).round()
    status = np.where(h > high, "over", np.where(h < low, "under", "ok"))
    return pd.DataFrame(
        {"households": h, "low": low.astype(int), "high": high.astype(int), "status": status},
        index=h.index,
    )


# --- grid codes ----------------------------------------------------------------------------
def sequence_numbers(geoms: gpd.GeoSeries, groups: pd.Series) -> pd.Series:
    """1-based sequence of each polygon inside its group: rows from north to south, west to east
    inside a row (see :mod:`gridmap.ordering`).

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        The polygons.
    groups : pandas.Series
        The group (community) of each polygon.

    Returns
    -------
    pandas.Series
        Aligned sequence numbers.
    """
    out = pd.Series(0, index=geoms.index, dtype=int)
    if len(geoms) == 0:
        return out
    m = to_metric(geoms)
    for _label, idx in m.groupby(groups.fillna("").to_numpy()).groups.items():
        part = m.loc[idx].to_numpy()
        cent = shapely.centroid(part)
        bounds = shapely.bounds(part)
        out.loc[idx] = reading_sequence(
            shapely.get_x(cent), shapely.get_y(cent), float(np.median(bounds[:, 3] - bounds[:, 1]))
        )
    return out


def make_grid_code(
    community_code: str, sequence: int, *, scheme: str = "15", service_code: str | None = None
) -> str:
    """The code of grid ``sequence`` in a community with a 12-digit code (6 division + 3
    street + 3 community).

    Parameters
    ----------
    community_code : str
        The 12-digit community code.
    sequence : int
        The grid's number in the community.
    scheme : str
        "15" or "20" (digits of the code).
    service_code : str, optional
        The 6-digit service-object code the 20-digit scheme needs.

    Returns
    -------
    str
        The code; ValueError when it cannot be made.
    """
    cc = str(community_code or "").strip()
    if not (len(cc) == 12 and cc.isdigit()):
        raise ValueError(
            f"community code {cc!r} is not 12 digits (6 division + 3 street + 3 community)"
        )
    if scheme == "15":
        if not 1 <= sequence <= 999:
            raise ValueError(f"sequence {sequence} does not fit 3 digits")
        return f"{cc}{sequence:03d}"
    if scheme == "20":
        sc = str(service_code or "").strip()
        if not (len(sc) == 6 and sc.isdigit()):
            raise ValueError("the CJ/T 349 20-digit scheme needs a 6-digit service-object code")
        if not 1 <= sequence <= 99:
            raise ValueError(f"sequence {sequence} does not fit 2 digits")
        return f"{sc}{cc}{sequence:02d}"
    raise ValueError(f"unknown code scheme {scheme!r}; use 15 or 20")


def validate_grid_code(
    code: str, *, scheme: str | None = None, community_code: str | None = None
) -> str | None:
    """Why a grid code is not valid, if it is not.

    Parameters
    ----------
    code : str
        The code.
    scheme : str, optional
        "15" or "20"; None accepts either (by length).
    community_code : str, optional
        12 digits: the code must lie inside that community.

    Returns
    -------
    str or None
        None when ``code`` is valid, else the reason (English).
    """
    c = str(code or "").strip()
    if not c.isdigit():
        return "not all digits"
    want = scheme or ("20" if len(c) == 20 else "15")
    if len(c) != int(want):
        return f"{len(c)} digits, the {want}-digit scheme needs {want}"
    division = c[:6] if want == "15" else c[6:12]
    if int(division[:2]) not in PROVINCES:
        return f"division code {division} has no valid province prefix (GB/T 2260)"
    seq = c[12:] if want == "15" else c[18:]
    if int(seq) == 0:
        return "grid sequence number is zero"
    cc = str(community_code or "").strip()
    if len(cc) == 12 and cc.isdigit():
        inner = c[:12] if want == "15" else c[6:18]
        if inner != cc:
            return f"does not start with its community's code {cc}"
    return None


def generate_grid_codes(
    grids: gpd.GeoDataFrame,
    community_codes: pd.Series,
    *,
    scheme: str = "15",
    service_code: str | None = None,
    taken: set[str] | frozenset[str] = frozenset(),
) -> pd.DataFrame:
    """Codes for every grid, numbered in reading order inside each community.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid polygons.
    community_codes : pandas.Series
        Aligned to ``grids``.
    scheme : str
        "15" or "20".
    service_code : str, optional
        The 6-digit service-object code the 20-digit scheme needs.
    taken : set of str
        Codes already used by other grids (skipped).

    Returns
    -------
    pandas.DataFrame
        Aligned columns ``sequence`` and ``code`` (None where the community code is not 12
        digits) and ``reason`` (why not).
    """
    seq = sequence_numbers(grids.geometry, community_codes)
    codes: list[str | None] = []
    reasons: list[str | None] = []
    used = set(taken)
    order = sorted(grids.index, key=lambda k: (str(community_codes.get(k)), seq[k]))
    by_label: dict[Any, tuple[int, str | None, str | None]] = {}  # grid index -> row
    next_seq: dict[str, int] = {}
    for k in order:
        cc = community_codes.get(k)
        n = max(int(seq[k]), next_seq.get(str(cc), 0))
        try:
            code = make_grid_code(cc, n, scheme=scheme, service_code=service_code)
            while code in used:
                n += 1
                code = make_grid_code(cc, n, scheme=scheme, service_code=service_code)
            used.add(code)
            next_seq[str(cc)] = n + 1
            by_label[k] = (n, code, None)
        except ValueError as exc:
            by_label[k] = (int(seq[k]), None, str(exc))
    for k in grids.index:
        codes.append(by_label[k][1])
        reasons.append(by_label[k][2])
    return pd.DataFrame(
        {
            "sequence": [by_label[k][0] for k in grids.index],
            "code": pd.Series(codes, index=grids.index, dtype=object),
            "reason": pd.Series(reasons, index=grids.index, dtype=object),
        },
        index=grids.index,
    )


# --- rebalancing ---------------------------------------------------------------------------
def _split_parts(h: int, low: int, high: int) -> int:
    """Fewest parts that bring ``h`` households inside [low, high], else ceil(h / high)."""
    first = max(2, math.ceil(h / max(high, 1)))
    for k in range(first, max(first, h // max(low, 1)) + 1):
        if low <= h / k <= high:
            return k
    return first


def rebalance_suggestions(
    grids: gpd.GeoDataFrame, load: pd.DataFrame, groups: pd.Series
) -> pd.DataFrame:
    """Split or merge suggestions for grids outside their target band.

    Suggestions only pair grids of the same group and sharing a boundary, so community and
    street boundaries stay where they are.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        The grid polygons.
    load : pandas.DataFrame
        :func:`household_load`'s result (aligned to ``grids``).
    groups : pandas.Series
        The community (or street) of each grid.

    Returns
    -------
    pandas.DataFrame
        One row per unbalanced grid: ``grid`` (index label), ``action`` ('move', 'split',
        'merge', 'take', 'none'), ``partner`` (index label or None), ``parts``,
        ``households`` (moved or per part) and ``axis`` ('east-west' / 'north-south': the
        direction along which a split line should run across the grid's longer side).
    """
    cols = ["grid", "action", "partner", "parts", "households", "axis"]
    bad = load.index[load["status"] != "ok"]
    if len(bad) == 0:
        return pd.DataFrame(columns=cols)
    m = to_metric(grids.geometry)
    polys = m.to_numpy()
    nbrs = shared_boundaries(polys)
    pos = {label: p for p, label in enumerate(grids.index)}
    grp = groups.reindex(grids.index).fillna("").astype(str).to_numpy()
    h = load["households"].to_numpy()
    low, high = load["low"].to_numpy(), load["high"].to_numpy()
    rows = []
    paired: set[int] = set()
    for label in sorted(bad, key=lambda lb: -abs(int(load.at[lb, "households"]))):
        p = pos[label]
        if p in paired:
            continue
        same = [
            q
            for q in sorted(nbrs[p], key=lambda q: -nbrs[p][q])
            if grp[q] == grp[p] and q not in paired
        ]
        if load.at[label, "status"] == "over":
            excess = int(h[p] - high[p])
            room = [q for q in same if high[q] - h[q] >= excess]
            if room:
                q = max(room, key=lambda q: high[q] - h[q])
                rows.append([label, "move", grids.index[q], None, excess, None])
                paired.update({p, q})
                continue
            k = _split_parts(int(h[p]), int(low[p]), int(high[p]))
            minx, miny, maxx, maxy = shapely.bounds(polys[p])
            # cut across the longer side: a wide grid is cut by north-south lines
            axis = "north-south" if (maxx - minx) >= (maxy - miny) else "east-west"
            rows.append([label, "split", None, k, int(round(h[p] / k)), axis])
            continue
        need = int(low[p] - h[p])
        merge = [q for q in same if h[p] + h[q] <= high[q]]
        if merge:
            q = min(merge, key=lambda q: h[q])
            rows.append([label, "merge", grids.index[q], None, int(h[p] + h[q]), None])
            paired.update({p, q})
            continue
        give = [q for q in same if h[q] - need >= low[q]]
        if give:
            q = max(give, key=lambda q: h[q])
            rows.append([label, "take", grids.index[q], None, need, None])
            paired.update({p, q})
            continue
        rows.append([label, "none", None, None, None, None])
    return pd.DataFrame(rows, columns=cols)
