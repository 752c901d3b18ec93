"""The street network patrols are matched to: segments, short pieces, their grids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.analysis.patrol.options import DEFAULT_OPTIONS, PatrolOptions, _require_metric
from gridmap.noding import node_lines, vertical_layer
from gridmap.walkable import walkable


@dataclass
class StreetNetwork:
    """Street segments, their short pieces, and which grid each piece belongs to.

    segments: GeoDataFrame (segment index 0..n-1) with road (index label of the source
        road), name, highway, length_m, geometry.
    pieces: DataFrame with segment, length_m, mx, my (midpoint), dx, dy (unit direction).
    piece_grid: DataFrame of (piece, grid) pairs: grid is the position in ``grids``; a
        piece on a boundary between two grids belongs to both.
    grids: the grids (code, name, geometry) in the same metric CRS.
    """

    segments: gpd.GeoDataFrame
    pieces: pd.DataFrame
    piece_grid: pd.DataFrame
    grids: gpd.GeoDataFrame
    crs: object = field(default=None)


def patrolled_roads(roads: gpd.GeoDataFrame) -> pd.Series:
    """Roads a patrol can walk, by the rule of ``gridmap.walkable``.

    Private roads count only as a compound's own roads (``compound_code`` set).

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        highway, foot, access and compound_code columns.

    Returns
    -------
    pandas.Series
        Index-aligned bool.
    """

    def col(name: str) -> np.ndarray | None:
        return roads[name].to_numpy(object) if name in roads else None

    inside = roads["compound_code"].notna().to_numpy() if "compound_code" in roads else None
    return pd.Series(
        walkable(roads["highway"].to_numpy(object), col("foot"), col("access"), in_compound=inside),
        index=roads.index,
    )


def road_levels(roads: pd.DataFrame) -> np.ndarray | None:
    """Vertical level of each road from its layer/bridge/tunnel columns.

    Parameters
    ----------
    roads : pandas.DataFrame
        The roads, with any of layer, bridge, tunnel.

    Returns
    -------
    numpy.ndarray or None
        Level per road; None when no such column is given.
    """
    if not any(c in roads for c in ("layer", "bridge", "tunnel")):
        return None
    tags = [
        roads[c].to_numpy(object) if c in roads else [None] * len(roads)
        for c in ("layer", "bridge", "tunnel")
    ]
    return np.array([vertical_layer(*t) for t in zip(*tags, strict=True)], dtype=np.int64)


def street_network(
    roads: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, *, options: PatrolOptions = DEFAULT_OPTIONS
) -> StreetNetwork:
    """The streets a patrol may cover, in pieces assigned to grids.

    Node ``roads`` into segments between intersections, cut them into pieces of at most
    ``piece_m`` and assign every piece to the grids within ``edge_m`` of its midpoint. Roads
    outside every grid and roads nobody patrols are left out.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        Metric CRS; highway, foot, name columns.
    grids : geopandas.GeoDataFrame
        code, name, geometry.
    options : PatrolOptions
        ``piece_m`` and ``edge_m``.

    Returns
    -------
    StreetNetwork
        Segments, pieces and the grid of each piece.
    """
    _require_metric(roads, "roads")
    _require_metric(grids, "grids")
    crs = roads.crs
    grids = grids.to_crs(crs).reset_index(drop=True)
    walk = roads[patrolled_roads(roads)]
    levels = road_levels(walk)
    lines = np.asarray(walk.geometry.values, dtype=object)
    ok = ~shapely.is_missing(lines) & ~shapely.is_empty(lines)
    ok[ok] = shapely.length(lines[ok]) > 0
    lines, keep_labels = lines[ok], walk.index[ok]
    if len(lines) and len(grids):
        # Keep roads touching the grids (plus edge_m) before noding: noding is the slow step.
        union = shapely.union_all(np.asarray(grids.geometry.values, dtype=object))
        near = shapely.intersects(lines, shapely.buffer(union, options.edge_m))
        lines, keep_labels = lines[near], keep_labels[near]
        # Cut roads leaving the area at its edge (1 m slack keeps boundary streets whole).
        lines = shapely.intersection(lines, shapely.buffer(union, 1.0))
        lines = np.array(
            [shapely.line_merge(g) if g.geom_type == "MultiLineString" else g for g in lines],
            dtype=object,
        )
        ok = ~shapely.is_empty(lines) & np.isin(shapely.get_type_id(lines), [1, 5])
        lines, keep_labels = lines[ok], keep_labels[ok]
    return _segments_and_pieces(walk, lines, keep_labels, levels, grids, crs, options)


def _noded_streets(
    lines: np.ndarray, levels: np.ndarray | None, keep_labels: pd.Index, walk_index: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Street segments between junctions (``gridmap.noding``: a bridge over a street is none)
    and the position in ``lines`` of the road each came from. Stretches drawn twice count
    once; crumbs of the edge cut and of noding (2 m or shorter) are dropped."""
    parts, owner = shapely.get_parts(lines, return_index=True)
    level = None
    if levels is not None:
        level = levels[walk_index.get_indexer(keep_labels)][owner]
    noded, src = node_lines(parts, level=level)
    keep = shapely.length(noded) > 2.0
    noded, src = noded[keep], owner[src[keep]]
    _, first = np.unique(shapely.to_wkb(shapely.normalize(noded)), return_index=True)
    first = np.sort(first)
    return noded[first], src[first]


def _segments_and_pieces(
    walk: gpd.GeoDataFrame,
    lines: np.ndarray,
    keep_labels: pd.Index,
    levels: np.ndarray | None,
    grids: gpd.GeoDataFrame,
    crs: Any,
    options: PatrolOptions,
) -> StreetNetwork:
    empty = gpd.GeoDataFrame(
        {"road": [], "name": [], "highway": [], "length_m": []},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )
    if not len(lines):
        return StreetNetwork(
            empty,
            pd.DataFrame(columns=["segment", "length_m", "mx", "my", "dx", "dy"]),
            pd.DataFrame({"piece": [], "grid": []}, dtype=int),
            grids,
            crs,
        )
    noded, road_pos = _noded_streets(lines, levels, keep_labels, walk.index)
    source = walk.loc[keep_labels[road_pos]]
    segments = gpd.GeoDataFrame(
        {
            "road": keep_labels[road_pos],
            "name": source["name"].to_numpy() if "name" in source else None,
            "highway": source["highway"].to_numpy(),
            "length_m": shapely.length(noded),
        },
        geometry=gpd.GeoSeries(noded, crs=crs),
        crs=crs,
    )

    # Pieces: consecutive vertices of the segmentized segments.
    fine = shapely.segmentize(noded, options.piece_m)
    coords, owner = shapely.get_coordinates(fine, return_index=True)
    pair = np.flatnonzero(owner[1:] == owner[:-1])
    a, b = coords[pair], coords[pair + 1]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    nz = length > 1e-9
    a, b, d, length, seg = a[nz], b[nz], d[nz], length[nz], owner[pair][nz]
    pieces = pd.DataFrame(
        {
            "segment": seg,
            "length_m": length,
            "mx": (a[:, 0] + b[:, 0]) / 2,
            "my": (a[:, 1] + b[:, 1]) / 2,
            "dx": d[:, 0] / length,
            "dy": d[:, 1] / length,
        }
    )
    mid_pts = shapely.points(pieces[["mx", "my"]].to_numpy())
    tree = shapely.STRtree(np.asarray(grids.geometry.values, dtype=object))
    p_idx, g_idx = tree.query(mid_pts, predicate="dwithin", distance=options.edge_m)
    piece_grid = pd.DataFrame({"piece": p_idx, "grid": g_idx})
    # Drop segments no grid claims (roads just outside the area).
    used = np.unique(pieces["segment"].to_numpy()[p_idx])
    if len(used) < len(segments):
        remap = np.full(len(segments), -1)
        remap[used] = np.arange(len(used))
        keep_piece = np.isin(pieces["segment"].to_numpy(), used)
        old_piece = np.flatnonzero(keep_piece)
        piece_remap = np.full(len(pieces), -1)
        piece_remap[old_piece] = np.arange(len(old_piece))
        pieces = pieces[keep_piece].reset_index(drop=True)
        pieces["segment"] = remap[pieces["segment"].to_numpy()]
        segments = segments.iloc[used].reset_index(drop=True)
        piece_grid = pd.DataFrame({"piece": piece_remap[p_idx], "grid": g_idx})
    return StreetNetwork(segments, pieces, piece_grid, grids, crs)
