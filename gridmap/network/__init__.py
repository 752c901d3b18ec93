"""The walking network: a graph of CSR arrays in a metric CRS, and snapping points onto it.

``build_network`` turns street lines into a graph:

* **walkability**: the rule of ``gridmap.walkable`` (private access only inside a compound).
* **noding**: OSM ways join where they share a node id (``node_ids``; bridges stay apart);
  an imported line layer is noded where lines share a vertex (``"vertices"``) or wherever
  they meet or cross on the same level (``"intersections"``, the default; the rule of
  ``gridmap.noding``: a bridge over a street is no junction), and line ends closer than
  ``snap_tolerance_m`` to another line are joined to it (undershoots in survey data).
* **gated compounds**: a compound with at least one gate is closed. Paths inside it
  (internal paths) are cut from everything outside except at its gates. Lines are split
  where they cross the compound outline; every crossing that is not within
  ``gate_tolerance_m`` of a gate is cut. A gate that is not on a crossing is linked to the
  nearest public edge and the nearest internal path (within ``gate_link_m``) by a straight
  connector. A compound without any gate is treated as open and reported in ``warnings``.

``snap_points`` attaches points (buildings, facilities) to the nearest point *on* an edge,
never just the nearest node: a point inside a gated compound attaches to that compound's
internal paths, or, when none are mapped, straight to each of its gates; any other point
attaches to a public edge. The straight access leg counts in every distance. Points farther
than ``max_snap_m`` from any allowed edge are reported as off-network.

Everything is vectorised (numpy, shapely 2, STRtree); the graph feeds
``scipy.sparse.csgraph`` through ``Network.adjacency``.
"""

from __future__ import annotations

from gridmap.network._build import CompoundInputs, Tolerances, build_network
from gridmap.network._graph import (
    BUILDER_VERSION,
    DEFAULT_GATE_LINK_M,
    DEFAULT_GATE_TOLERANCE_M,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_SNAP_TOLERANCE_M,
    GATE_LINK,
    NODINGS,
    UNUSABLE_GATE,
    Network,
)
from gridmap.network._osm import (
    COMPOUND_AREA_KINDS,
    network_from_osm,
    osm_compounds,
    usable_entrances,
)
from gridmap.network._snap import (
    SNAP_EDGE,
    SNAP_GATE,
    SNAP_NODE,
    SNAP_OFF,
    Snap,
    point_xy,
    snap_nodes,
    snap_points,
)
from gridmap.noding import vertical_layer
from gridmap.walkable import walkable

__all__ = [
    "BUILDER_VERSION",
    "COMPOUND_AREA_KINDS",
    "CompoundInputs",
    "DEFAULT_GATE_LINK_M",
    "DEFAULT_GATE_TOLERANCE_M",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_SNAP_TOLERANCE_M",
    "GATE_LINK",
    "NODINGS",
    "Network",
    "SNAP_EDGE",
    "SNAP_GATE",
    "SNAP_NODE",
    "SNAP_OFF",
    "Snap",
    "Tolerances",
    "UNUSABLE_GATE",
    "build_network",
    "network_from_osm",
    "osm_compounds",
    "point_xy",
    "snap_nodes",
    "snap_points",
    "usable_entrances",
    "vertical_layer",
    "walkable",
]
