"""How a value reaches a person: one helper, so no "nan", "None" or "NaN" ever does.

``show`` renders a missing value (None, NaN, NaT, empty text, the strings a careless
conversion leaves behind) as "—"; ``person`` renders a missing person as "未指定"
(unassigned) and ``grid_label`` names a grid with its community, never a bare number.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "—"
NO_PERSON = "未指定"
# What a careless str() of a missing value leaves (exact: "none" is a real basemap code).
_LEFTOVERS = frozenset({"nan", "NaN", "None", "NaT", "<NA>"})


def is_missing(value: object) -> bool:
    """Whether ``value`` counts as absent for display.

    Parameters
    ----------
    value : object
        None, NaN, NaT, pandas NA, blank text or a leftover such as ``"nan"``/``"None"``
        are missing.

    Returns
    -------
    bool
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip() or value.strip() in _LEFTOVERS
    try:  # pandas NA / NaT
        import pandas as pd

        return bool(pd.isna(value)) if not hasattr(value, "__len__") else False
    except (TypeError, ValueError, ImportError):
        return False


def show(value: object, missing: str = MISSING, fmt: str | None = None) -> str:
    """A value as text, or ``missing`` ("—") when it is absent.

    Parameters
    ----------
    value : object
        The value.
    missing : str
        What stands for an absent value.
    fmt : str, optional
        A format spec for present values.

    Returns
    -------
    str
        The text.
    """
    if is_missing(value):
        return missing
    if fmt is not None:
        return format(value, fmt)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def person(value: object) -> str:
    """A person's name, or 未指定 when nobody is named.

    Parameters
    ----------
    value : object
        The name.

    Returns
    -------
    str
        The text.
    """
    return show(value, NO_PERSON)


def grid_label(community: str | None, name: str | None, code: str | None = None) -> str:
    """社区 + 网格名, e.g. 学府社区第2网格 (not "003"); falls back to the code.

    Parameters
    ----------
    community : str, optional
        The community's name.
    name : str, optional
        The grid's name.
    code : str, optional
        The grid's code.

    Returns
    -------
    str
        The label.
    """
    community = "" if is_missing(community) else str(community)
    name = "" if is_missing(name) else str(name)
    if name and community and name.startswith(community):
        return name
    if name.isdigit() and len(name) <= 4:  # a sequence number ("003")
        return f"{community}第{int(name)}网格"
    if not name:
        return f"{community}{'' if is_missing(code) else code}" or MISSING
    return f"{community}{name}"


def finalize(value: Any) -> Any:
    """The template engine's last step for every ``{{ ... }}``: an absent value prints "—".
    Empty text stays empty (form fields).

    Parameters
    ----------
    value : object
        The value.

    Returns
    -------
    object
        "—" for an absent value, else the value.
    """
    if value is None or (isinstance(value, str) and value.strip() in _LEFTOVERS):
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if type(value).__name__ in ("NaTType", "NAType"):
        return MISSING
    return value
