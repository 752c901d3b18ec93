"""Walking reachability on the network: nearest facility, coverage, isochrones, gaps, sites.

The engine runs **one multi-source Dijkstra per facility category** in compiled code
(``scipy.sparse.csgraph.dijkstra`` with ``min_only=True`` and a distance ``limit``): every
facility becomes a virtual source node whose out-edges reach the two ends of its edge at
the exact cost (access leg + distance along the edge), so a facility in the middle of an
edge is exact and no Python loop runs per facility. An origin's distance is the minimum
over its own attachments (leg + along its edge + node distance), plus the direct way along
a shared edge. Distances are metres; minutes follow from ``speed_kmh`` (default 4 km/h),
which every output states.

Public API (also for other analyses that need travel times):

``nearest_facility(network, facilities, origins, ...)``  distance, minutes and facility
    per origin (one category)
``node_distances(network, sources, ...)``  distance and nearest source for every node
``travel_time_grid(network, sources, ...)``  minutes on a regular grid of points
``reach_by_category(...)`` / ``estimate_by_category(...)``  the per-origin table for many
    categories on the network / as a labelled straight-line estimate
``coverage(...)``, ``isochrones(...)``, ``gap_polygons(...)``, ``suggest_sites(...)``
"""

from __future__ import annotations

from gridmap.analysis.reach.categories import (
    ReachTable,
    SnapOptions,
    coverage,
    estimate_by_category,
    radius_by_category,
    reach_by_category,
)
from gridmap.analysis.reach.defaults import (
    DEFAULT_BUFFER_M,
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_MINUTES,
    DEFAULT_SPEED_KMH,
    METHOD_ESTIMATE,
    METHOD_NETWORK,
    METHOD_RADIUS,
    Progress,
)
from gridmap.analysis.reach.engine import (
    NodeDistances,
    PointJoin,
    SourceGraph,
    metric_points,
    nearest_facility,
    node_distances,
    point_distances,
    travel_time_grid,
)
from gridmap.analysis.reach.isochrones import buffer_lines, isochrones
from gridmap.analysis.reach.sites import (
    PICK_COLUMNS,
    Suggestion,
    candidate_nodes,
    gap_polygons,
    suggest_sites,
    suggest_sites_estimate,
    thin_points,
)
from gridmap.units import metres_for, metres_per_minute, minutes_for

__all__ = [
    "DEFAULT_BUFFER_M",
    "DEFAULT_DETOUR_FACTOR",
    "DEFAULT_MINUTES",
    "DEFAULT_SPEED_KMH",
    "METHOD_ESTIMATE",
    "METHOD_NETWORK",
    "METHOD_RADIUS",
    "PICK_COLUMNS",
    "NodeDistances",
    "PointJoin",
    "Progress",
    "ReachTable",
    "SnapOptions",
    "SourceGraph",
    "Suggestion",
    "buffer_lines",
    "candidate_nodes",
    "coverage",
    "estimate_by_category",
    "gap_polygons",
    "isochrones",
    "metres_for",
    "metres_per_minute",
    "metric_points",
    "minutes_for",
    "nearest_facility",
    "node_distances",
    "point_distances",
    "radius_by_category",
    "reach_by_category",
    "suggest_sites",
    "suggest_sites_estimate",
    "thin_points",
    "travel_time_grid",
]
