"""Benchmark: noding the streets of the synthetic demo for patrol matching.

    .venv/bin/python bench/noding.py

Ours (gridmap.noding.node_lines): cut lines at shared vertices and at crossings on the
same vertical level, keeping which line each piece came from. Peer: shapely.node on the
union of all lines (what patrol matching used before; it nodes bridges into the streets
under them and loses the source line, found afterwards by a nearest-midpoint query).
The synthetic roads are repeated on a 3 x 3 lattice (9 street offices side by side) so the
timing is not lost in noise; best of three runs each.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridmap.demo.synth import METRIC_CRS, build_synthetic_city  # noqa: E402
from gridmap.noding import node_lines  # noqa: E402


def _best(fn, runs: int = 3):
    best, out = np.inf, None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _peer(lines):
    noded = shapely.get_parts(shapely.node(shapely.MultiLineString(list(lines))))
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    src = shapely.STRtree(lines).query_nearest(mids, all_matches=False)[1]
    return noded, src


def main() -> None:
    roads = build_synthetic_city().roads.to_crs(METRIC_CRS)
    one = np.asarray(shapely.get_parts(roads.geometry.to_numpy()), dtype=object)
    span = 3200.0  # the demo street is about 2.6 km across
    lines = np.concatenate(
        [
            [affinity.translate(g, dx * span, dy * span) for g in one]
            for dx in range(3)
            for dy in range(3)
        ]
    )
    level = np.zeros(len(lines), dtype=np.int64)
    t_ours, (ours, _src) = _best(lambda: node_lines(lines, level=level))
    t_peer, (peer, _psrc) = _best(lambda: _peer(lines))
    print(
        f"python {platform.python_version()}, shapely {shapely.__version__}, {platform.machine()}"
    )
    print(f"input: {len(lines)} street lines, {shapely.length(lines).sum() / 1000:.1f} km")
    print(
        f"ours  gridmap.noding.node_lines (levels)   {t_ours:7.3f} s  {len(ours)} pieces, "
        f"{shapely.length(ours).sum() / 1000:.1f} km"
    )
    print(
        f"peer  shapely.node + nearest source line   {t_peer:7.3f} s  {len(peer)} pieces, "
        f"{shapely.length(peer).sum() / 1000:.1f} km"
    )


if __name__ == "__main__":
    main()
