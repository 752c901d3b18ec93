"""What every benchmark prints first: the machine and the versions it ran on, and a timer.

The cores are shared with other work, so the load average at the start is printed too;
compare figures only within one run (each benchmark runs its peer beside it).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine_header() -> str:
    """One line: architecture, cores, Python, numpy/geopandas/shapely and the load."""
    import geopandas as gpd
    import numpy as np
    import shapely

    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, numpy {np.__version__}, geopandas {gpd.__version__}, "
        f"shapely {shapely.__version__}; load average {os.getloadavg()[0]:.1f} at start"
    )


def best_of(fn, repeat: int = 3):
    """(smallest wall time in seconds over ``repeat`` calls, the last result)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def build_demo() -> tuple[str, str]:
    """The synthetic demo street office in a new SpatiaLite file, built by `gridmap demo`:
    (database URL, admin password)."""
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-"))
    url = f"sqlite:///{tmp / 'demo.sqlite'}"
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    exe = Path(sys.executable).parent / "gridmap"
    t = time.perf_counter()
    out = subprocess.run(
        [str(exe), "demo", "--build-only"], env=env, capture_output=True, text=True, check=True
    ).stdout
    password = out.split("log in as: admin / ")[1].split()[0]
    print(f"synthetic demo built in {time.perf_counter() - t:.1f} s (not timed below)")
    return url, password
