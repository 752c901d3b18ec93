"""Benchmark: a 50 m heatmap of all households of the synthetic demo street office.

    .venv/bin/python bench/heatmap.py

Ours (gridmap.analysis.density.kde): linear binning onto the 50 m grid + FFT convolution
with the kernel sampled in metres; the surface integrates to the household count.
Peers on the same points, grid and Gaussian bandwidth (sigma = 100 m):
* an exact Gaussian KDE in plain numpy (every point x every cell, chunked): the reference
  for accuracy;
* scipy.stats.gaussian_kde (its bandwidth comes from the data covariance, so its surface
  differs; timed for scale, not compared for accuracy).
A city-sized case (400,000 households over 12 km x 12 km, 50 m cells) runs ours and the
exact numpy KDE on a 1 km window to show how each scales.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import gaussian_kde

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine_header  # noqa: E402

from gridmap.analysis import density  # noqa: E402

SIGMA_M = 100.0
CELL_M = 50.0


def timed(label, fn, results, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    results[label] = best
    print(f"{label:<52} {best * 1000:10.1f} ms", flush=True)
    return out


def exact_gaussian(x, y, w, cx, cy, sigma, chunk=200_000):
    """Density per hectare at every cell centre: sum of Gaussian kernels (reference)."""
    gx, gy = np.meshgrid(cx, cy)
    gx, gy = gx.ravel(), gy.ravel()
    out = np.zeros(len(gx))
    step = max(1, chunk // max(1, len(x)))
    for s in range(0, len(gx), step):
        d2 = (gx[s : s + step, None] - x) ** 2 + (gy[s : s + step, None] - y) ** 2
        out[s : s + step] = (np.exp(-0.5 * d2 / sigma**2) * w).sum(axis=1)
    return (out / (2 * np.pi * sigma**2) * 1e4).reshape(len(cy), len(cx))


def main() -> None:
    from gridmap.demo.synth import build_synthetic_city

    print(machine_header())
    city = build_synthetic_city(seed=7)
    crs = city.grids.estimate_utm_crs()
    b = city.buildings.to_crs(crs)
    pts = b.geometry.representative_point()
    per = city.households.groupby("building_code").size()
    w_b = per.reindex(b["code"]).fillna(0).to_numpy(float)
    # One point per household (at its building), as a KDE of households sees them.
    x = np.repeat(pts.x.to_numpy(), w_b.astype(int))
    y = np.repeat(pts.y.to_numpy(), w_b.astype(int))
    w = np.ones(len(x))
    print(
        f"{len(x)} households in {int((w_b > 0).sum())} buildings; Gaussian sigma {SIGMA_M:g} m, "
        f"cells {CELL_M:g} m"
    )
    r: dict[str, float] = {}
    print("\n--- demo street office: all households ---")
    s = timed(
        "gridmap kde (binned + FFT), one point per household",
        lambda: density.kde(
            x, y, w, bandwidth_m=SIGMA_M, cell_m=CELL_M, crs=crs, kernel="gaussian"
        ),
        r,
    )
    timed(
        "gridmap kde, building points weighted by households",
        lambda: density.kde(
            pts.x, pts.y, w_b, bandwidth_m=SIGMA_M, cell_m=CELL_M, crs=crs, kernel="gaussian"
        ),
        r,
    )
    timed(
        "gridmap kde, quartic 150 m",
        lambda: density.kde(x, y, w, bandwidth_m=150, cell_m=CELL_M, crs=crs, kernel="quartic"),
        r,
    )
    cx, cy = s.centers()
    ref = timed(
        "numpy exact Gaussian KDE (reference)",
        lambda: exact_gaussian(x, y, w, cx, cy, SIGMA_M),
        r,
        repeat=1,
    )
    kde = gaussian_kde(np.vstack([x, y]))
    gx, gy = np.meshgrid(cx, cy)
    timed(
        "scipy.stats.gaussian_kde evaluate (Scott bandwidth)",
        lambda: kde(np.vstack([gx.ravel(), gy.ravel()])),
        r,
        repeat=1,
    )
    err = np.abs(s.values - ref)
    print(
        f"cells {s.shape[1]} x {s.shape[0]}; integral {s.integral():.1f} of {len(x)} "
        f"({100 * (s.integral() / len(x) - 1):+.3f}%); reference integral "
        f"{ref.sum() * CELL_M**2 / 1e4:.1f}"
    )
    print(
        f"max |ours - exact| = {err.max():.3f} per ha = {100 * err.max() / ref.max():.2f}% of "
        f"the peak ({ref.max():.1f} per ha)"
    )
    ours = r["gridmap kde (binned + FFT), one point per household"]
    print(
        f"speed-up vs exact numpy: {r['numpy exact Gaussian KDE (reference)'] / ours:.0f}x; "
        f"vs scipy gaussian_kde: "
        f"{r['scipy.stats.gaussian_kde evaluate (Scott bandwidth)'] / ours:.0f}x"
    )

    print("\n--- city-sized: 400,000 households over 12 km x 12 km ---")
    rng = np.random.default_rng(1)
    centres = rng.uniform(0, 12_000, (300, 2))
    k = rng.integers(0, 300, 400_000)
    cx2 = centres[k, 0] + rng.normal(0, 250, len(k))
    cy2 = centres[k, 1] + rng.normal(0, 250, len(k))
    big = timed(
        "gridmap kde, 400k points, 50 m cells",
        lambda: density.kde(
            cx2, cy2, bandwidth_m=SIGMA_M, cell_m=CELL_M, crs=crs, kernel="gaussian"
        ),
        r,
    )
    print(
        f"cells {big.shape[1]} x {big.shape[0]} = {big.values.size}; integral "
        f"{big.integral():.0f} of 400000"
    )
    win = (cx2 > 5000) & (cx2 < 6000) & (cy2 > 5000) & (cy2 < 6000)
    wx = np.arange(5000 + 25, 6000, 50.0)
    t = time.perf_counter()
    near = (cx2 > 4500) & (cx2 < 6500) & (cy2 > 4500) & (cy2 < 6500)
    exact_gaussian(cx2[near], cy2[near], np.ones(near.sum()), wx, wx[::-1], SIGMA_M)
    dt = time.perf_counter() - t
    print(
        f"numpy exact, truncated at 5 sigma, on a 1 km window (400 cells, {int(near.sum())} "
        f"points within 500 m): {dt * 1000:.0f} ms; over the whole city that is "
        f"~{dt * big.values.size / 400:.0f} s against ours "
        f"{r['gridmap kde, 400k points, 50 m cells']:.2f} s ({int(win.sum())} points in the window)"
    )


if __name__ == "__main__":
    main()
