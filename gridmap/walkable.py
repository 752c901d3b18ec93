"""Which ways a person may walk along: the one rule for OSM-style highway/foot/access tags.

The walking network, the demo city builders and patrol matching all read this module, so a
footway crossing, a bus platform or a private compound road is treated alike everywhere:

* footways, paths, pedestrian streets, steps, crossings, platforms, living, residential and
  service streets, unclassified roads, tertiary and above are walkable;
* trunk roads and motorways (urban expressways, 快速路), cycleways and bridleways only with
  an explicit foot=yes/designated/permissive/official;
* never where foot=no;
* private access (access=private/no/..., or foot=private) only inside a compound: the
  residents of a 小区 walk its roads, the public does not;
* a line without a highway value (an imported layer without that column) is walkable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

# Aligned tag values of a set of lines (str or None each): a list, array or pandas Series.
TagValues = Sequence[Any] | np.ndarray

WALK_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "corridor",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "road",
        "track",
        "tertiary",
        "tertiary_link",
        "secondary",
        "secondary_link",
        "primary",
        "primary_link",
        "crossing",
        "platform",
    }
)
# Walkable only with an explicit foot tag in FOOT_YES: cycle tracks, bridleways, and urban
# expressways, whose pedestrians use separately mapped side roads.
FOOT_TAG_ONLY_HIGHWAYS = frozenset(
    {"cycleway", "bridleway", "trunk", "trunk_link", "motorway", "motorway_link"}
)
FOOT_YES = frozenset({"yes", "designated", "permissive", "official"})
# access values that keep the public out.
PRIVATE_ACCESS = frozenset(
    {"private", "no", "customers", "delivery", "permit", "military", "agricultural", "forestry"}
)
# Highways that can be a compound's internal path; bigger roads stay public even when an
# OSM landuse polygon is drawn over them.
INTERNAL_HIGHWAYS = frozenset(
    {
        "service",
        "footway",
        "path",
        "living_street",
        "pedestrian",
        "steps",
        "track",
        "corridor",
        "residential",
        "unclassified",
        "road",
        "crossing",
    }
)


def text_array(values: TagValues | None, n: int) -> np.ndarray:
    """Tag values as an object array of stripped lower-case str or None.

    Parameters
    ----------
    values : sequence, optional
        The tag values (None: unknown for every line).
    n : int
        The length when ``values`` is None.

    Returns
    -------
    numpy.ndarray
        Object array of str or None.
    """
    if values is None:
        return np.full(n, None, dtype=object)
    ser = pd.Series(np.asarray(values, dtype=object), dtype=object)
    known = ser.notna()
    if not known.any():
        return np.full(n, None, dtype=object)
    text = ser[known].astype(str).str.strip().str.lower()
    out = np.full(n, None, dtype=object)
    out[known.to_numpy()] = text.where(text != "", None).to_numpy(dtype=object)
    return out


def isin(values: np.ndarray, options: Iterable[str]) -> npt.NDArray[np.bool_]:
    """Elementwise membership for object arrays: factorised, so millions of rows with a few
    distinct values cost one hashing pass.

    Parameters
    ----------
    values : numpy.ndarray
        Object array.
    options : iterable of str
        The values that count.

    Returns
    -------
    numpy.ndarray
        Boolean per value.
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    hit = (
        np.isin(np.asarray(uniques, dtype=object), list(options))
        if len(uniques)
        else np.zeros(0, bool)
    )
    out: npt.NDArray[np.bool_] = np.r_[hit, False][codes]  # code -1 (None): trailing False
    return out


def private(
    foot: TagValues | None, access: TagValues | None, n: int | None = None
) -> npt.NDArray[np.bool_]:
    """Whether the tagging keeps the public out: access in PRIVATE_ACCESS or foot=private,
    unless foot says yes.

    Parameters
    ----------
    foot, access : sequence, optional
        Aligned OSM-style values.
    n : int, optional
        The length when both are None.

    Returns
    -------
    numpy.ndarray
        Boolean mask.
    """
    if n is None:
        given = foot if foot is not None else access
        if given is None:
            raise ValueError("private(): give n when foot and access are both None")
        n = len(given)
    ft, ac = text_array(foot, n), text_array(access, n)
    return (isin(ac, PRIVATE_ACCESS) | isin(ft, ["private"])) & ~isin(ft, FOOT_YES)


def walkable(
    highway: TagValues,
    foot: TagValues | None = None,
    access: TagValues | None = None,
    *,
    in_compound: bool | TagValues | None = None,
) -> npt.NDArray[np.bool_]:
    """Whether a person may walk along each line.

    Parameters
    ----------
    highway : sequence
        Aligned OSM-style highway values (None when unknown).
    foot, access : sequence, optional
        Aligned OSM-style values (None when unknown).
    in_compound : bool or sequence, optional
        Lines inside a compound, where private access is fine (True for all: who may walk
        there at all, privacy aside).

    Returns
    -------
    numpy.ndarray
        Boolean mask.
    """
    n = len(highway)
    hw = text_array(highway, n)
    ft = text_array(foot, n)
    inside: npt.NDArray[np.bool_]
    if in_compound is None or np.ndim(in_compound) == 0:
        inside = np.full(n, bool(in_compound))
    else:
        inside = np.asarray(in_compound, bool)
    known: npt.NDArray[np.bool_] = pd.notna(pd.Series(hw, dtype=object)).to_numpy()
    normal = isin(hw, WALK_HIGHWAYS) | ~known
    only_foot = isin(hw, FOOT_TAG_ONLY_HIGHWAYS) & isin(ft, FOOT_YES)
    ok = (normal | only_foot) & ~isin(ft, ["no"])
    return ok & (~private(ft, access, n) | inside)


def internal_highway(highway: TagValues) -> npt.NDArray[np.bool_]:
    """Whether each line can be a compound's own path (INTERNAL_HIGHWAYS or no value).

    Parameters
    ----------
    highway : sequence
        Aligned OSM-style highway values.

    Returns
    -------
    numpy.ndarray
        Boolean mask.
    """
    hw = text_array(highway, len(highway))
    unknown: npt.NDArray[np.bool_] = pd.isna(pd.Series(hw, dtype=object)).to_numpy()
    return isin(hw, INTERNAL_HIGHWAYS) | unknown
