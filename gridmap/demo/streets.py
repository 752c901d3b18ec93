"""A generated city of several street offices: the synthetic street office built with one
seed per street office, renumbered and laid side by side.

Street office ``k`` (1-based) is ``build_synthetic_city(seed + k - 1)`` with every code
under the street code 110108001 moved to 110108``k`` (three digits), hazard and patrol
track codes suffixed ``-k``, and its geometry shifted east and north onto a square
layout with a gap of about 200 m between neighbours. Street office 1 is the demo itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pandas as pd

from gridmap.demo import synth
from gridmap.demo.city import City

STEP_LON_DEG = 0.032  # the demo street office spans 0.0295 deg east-west
STEP_LAT_DEG = 0.021  # and 0.0192 deg north-south
MAX_STREETS = 999  # three digits of the street code


def street_code(k: int) -> str:
    """The 9-digit code of street office ``k`` of the generated city.

    Parameters
    ----------
    k : int
        Number of the street office (1 is the synthetic street itself).

    Returns
    -------
    str
        District code + the 3-digit street number.
    """
    return f"{synth.DISTRICT_CODE}{k:03d}"


def _renumbered(frame: pd.DataFrame, old: str, new: str, suffix: str) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col == "geometry" or not (col == "code" or col.endswith("_code")):
            continue
        values = out[col].astype(object)
        out[col] = [
            v
            if not isinstance(v, str)
            else new + v[len(old) :]
            if v.startswith(old)
            else v
            if col in ("district_code",)
            else v + suffix
            for v in values
        ]
    return out


def _shifted(frame: pd.DataFrame, dx: float, dy: float) -> pd.DataFrame:
    if hasattr(frame, "geometry") and "geometry" in frame:
        frame = frame.copy()
        frame["geometry"] = frame.geometry.translate(xoff=dx, yoff=dy)
    return frame


def street_office(k: int, *, seed: int = 7, per_row: int = 1) -> City:
    """Street office ``k`` of a city laid out ``per_row`` street offices wide.

    Each is the synthetic street built with its own seed, renumbered and moved to its place.

    Parameters
    ----------
    k : int
        Number of the street office, 1 to ``MAX_STREETS``.
    seed : int
        Seed of street office 1; street office ``k`` uses ``seed + k - 1``.
    per_row : int
        Street offices per row of the city.

    Returns
    -------
    City
        The street office's frames (EPSG:4326); only street office 1 holds the district.
    """
    if not 1 <= k <= MAX_STREETS:
        raise ValueError(f"street office number must be 1..{MAX_STREETS}, got {k}")
    city = synth.build_synthetic_city(seed=seed + k - 1)
    if k == 1:
        return city
    dx = ((k - 1) % per_row) * STEP_LON_DEG
    dy = ((k - 1) // per_row) * STEP_LAT_DEG
    old, new, suffix = synth.STREET_CODE, street_code(k), f"-{k}"
    frames = {
        name: _shifted(_renumbered(frame, old, new, suffix), dx, dy)
        for name, frame in city.frames().items()
    }
    frames["districts"] = frames["districts"].iloc[0:0]  # written with street office 1
    frames["streets"]["name"] = f"示例{k}街道"
    return City(label=city.label, anchor=(city.anchor[0] + dx, city.anchor[1] + dy), **frames)


def city_of_streets(n: int, *, seed: int = 7) -> Iterator[City]:
    """The ``n`` street offices of a generated city, one at a time.

    Each is ~55,000 residents: a city is written street office by street office.

    Parameters
    ----------
    n : int
        Number of street offices.
    seed : int
        Seed of the first street office.

    Yields
    ------
    City
        Each street office in turn.
    """
    per_row = max(1, math.ceil(math.sqrt(n)))
    for k in range(1, n + 1):
        yield street_office(k, seed=seed, per_row=per_row)
