"""Patrol tracks: cleaning, street matching, coverage per grid and period, overdue key sites.

Everything here is pure and works in a *metric* CRS (metres): the caller projects
tracks, roads, grids, buildings and key sites into one projected CRS first.

The pipeline, each step vectorised (shapely STRtree / numpy, no per-fix Python
loop except over the few tracks that really contain a speed violation):

1. :func:`track_fixes` explodes stored tracks (LineString + seconds per vertex) into
   one row per GPS fix; :func:`fixes_frame` does the same for raw GPX/CSV records.
2. :func:`clean_fixes` drops fixes worse than an accuracy threshold or implying a
   walking speed above ``max_speed_kmh`` (GPS jumps), and splits tracks into
   *pieces* at gaps longer than ``max_gap_min``.
3. :func:`street_network` nodes the roads into street segments (intersection to
   intersection), cuts them into short pieces (``piece_m``) and assigns every piece
   to the grid(s) it lies in or borders.
4. :func:`coverage` matches the cleaned pieces to the streets: a street piece is
   covered in a period when a track segment *running along it* (heading within
   ``max_angle_deg``) passes within ``tolerance_m``; a street segment is patrolled
   when covered for at least ``min_share`` of its length. It also counts buildings
   passed, households covered, key sites visited and per-patroller totals.
5. :func:`overdue_sites` lists key sites past their inspection interval.
"""

from __future__ import annotations

from gridmap.analysis.patrol.coverage import CoverageReport, coverage
from gridmap.analysis.patrol.fixes import (
    FIX_COLUMNS,
    clean_fixes,
    fixes_frame,
    track_fixes,
    track_pieces,
)
from gridmap.analysis.patrol.inspections import overdue_sites
from gridmap.analysis.patrol.matching import TrackSegments, match_pieces, track_segments
from gridmap.analysis.patrol.options import PatrolOptions
from gridmap.analysis.patrol.periods import Period, parse_period, shift_of, split_period
from gridmap.analysis.patrol.streets import (
    StreetNetwork,
    patrolled_roads,
    road_levels,
    street_network,
)

__all__ = [
    "FIX_COLUMNS",
    "CoverageReport",
    "PatrolOptions",
    "Period",
    "StreetNetwork",
    "TrackSegments",
    "clean_fixes",
    "coverage",
    "fixes_frame",
    "match_pieces",
    "overdue_sites",
    "parse_period",
    "patrolled_roads",
    "road_levels",
    "shift_of",
    "split_period",
    "street_network",
    "track_fixes",
    "track_pieces",
    "track_segments",
]
