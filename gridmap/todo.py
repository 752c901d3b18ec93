"""A grid leader's to-do list: what needs attention today, most urgent first.

Made from the grid's key sites (inspection status), open hazards (deadlines, whose move it
is), this week's unpatrolled streets (one line per street name, however many segments it
has) and the vulnerable households due for a visit by their tags' intervals
(:func:`gridmap.field.visits_due`). The list is finite: at most ``visits_per_day`` visits
and ``UNPATROLLED_SHOWN`` streets, the rest counted in one line each. Pure: frames in, a
list of :class:`Item` out; the page words them in the user's language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

import pandas as pd

#: Household tags that make a household one to look after.
VULNERABLE_HOUSEHOLD_TAGS = frozenset({"elderly_alone", "empty_nest", "low_income", "disabled"})
#: Resident tags that do (any member).
VULNERABLE_RESIDENT_TAGS = frozenset(
    {
        "living_alone",
        "disabled",
        "severe_mental_illness",
        "extreme_poverty",
        "left_behind_child",
        "low_income",
    }
)
UNPATROLLED_SHOWN = 5
SOON_DAYS = 2


class Item(NamedTuple):
    kind: str  # hazard_overdue, inspection_overdue, hazard_action, hazard_due_soon,
    #                 unpatrolled, unpatrolled_more, visit, visits_more
    priority: int  # 1 most urgent
    code: str | None
    name: str | None
    days: float | None = None  # days overdue / left
    detail: str | None = None  # e.g. the actions open to this user


def is_vulnerable(
    household_tags: Iterable[str] | None, resident_tags: Iterable[str] | None
) -> bool:
    """Whether a household needs regular visits.

    Parameters
    ----------
    household_tags, resident_tags : iterable of str or None
        The household's tags and all its members' tags.

    Returns
    -------
    bool
        True when any tag is in :data:`VULNERABLE_HOUSEHOLD_TAGS` or
        :data:`VULNERABLE_RESIDENT_TAGS`.
    """
    return bool(
        set(household_tags or ()) & VULNERABLE_HOUSEHOLD_TAGS
        or set(resident_tags or ()) & VULNERABLE_RESIDENT_TAGS
    )


def unpatrolled_streets(unpatrolled: pd.DataFrame) -> pd.DataFrame:
    """One row per street: segments of the same name (or, unnamed, the same kind of road) summed.

    Parameters
    ----------
    unpatrolled : pandas.DataFrame
        Street segments: name, highway, length_m.

    Returns
    -------
    pandas.DataFrame
        name, highway, length_m, segments; longest first.
    """
    if not len(unpatrolled):
        return pd.DataFrame(columns=["name", "highway", "length_m", "segments"])
    frame = pd.DataFrame(
        {
            "name": [n if isinstance(n, str) and n else None for n in unpatrolled["name"]],
            "highway": list(unpatrolled["highway"]),
            "length_m": list(unpatrolled["length_m"]),
        }
    )
    frame["key"] = frame["name"].fillna("~" + frame["highway"].astype(str))
    out = frame.groupby("key", sort=False).agg(
        name=("name", "first"),
        highway=("highway", "first"),
        length_m=("length_m", "sum"),
        segments=("length_m", "size"),
    )
    return out.sort_values("length_m", ascending=False).reset_index(drop=True)


def todo_items(
    *,
    sites: pd.DataFrame,
    cases: pd.DataFrame,
    unpatrolled: pd.DataFrame,
    visits: pd.DataFrame,
    actionable: dict[str, list[str]],
    as_of: datetime | None = None,
    visits_per_day: int = 8,
) -> list[Item]:
    """What a user should do next, most urgent first.

    Parameters
    ----------
    sites : pandas.DataFrame
        Key sites: code, name, overdue, days_overdue (inf = never inspected).
    cases : pandas.DataFrame
        Hazards: code, category, overdue, days_overdue, due_at.
    unpatrolled : pandas.DataFrame
        Unpatrolled street segments: name, highway, length_m.
    visits : pandas.DataFrame
        The households due (code, address, days_overdue), most overdue first.
    actionable : dict of str to list of str
        Case code -> actions this user may take (comments excluded from urgency).
    as_of : datetime, optional
        The moment deadlines due soon are judged at (None: none are).
    visits_per_day : int
        Visits listed one by one; the rest are counted.

    Returns
    -------
    list of Item
        The items.
    """
    items = _case_items(cases, actionable, as_of)
    for s in sites.itertuples():
        if bool(s.overdue):
            days = float(s.days_overdue)
            items.append(
                Item(
                    "inspection_overdue",
                    1 if math.isinf(days) or days > 7 else 2,
                    s.code,
                    s.name,
                    days,
                )
            )
    streets = unpatrolled_streets(unpatrolled)
    for u in streets.head(UNPATROLLED_SHOWN).itertuples():
        items.append(Item("unpatrolled", 3, None, u.name or u.highway, float(u.length_m)))
    if len(streets) > UNPATROLLED_SHOWN:
        items.append(
            Item("unpatrolled_more", 5, None, None, float(len(streets) - UNPATROLLED_SHOWN))
        )
    for v in visits.head(visits_per_day).itertuples():
        address = getattr(v, "address", None)
        items.append(
            Item(
                "visit",
                4,
                v.code,
                address if isinstance(address, str) else None,
                float(v.days_overdue),
            )
        )
    if len(visits) > visits_per_day:
        items.append(Item("visits_more", 5, None, None, float(len(visits) - visits_per_day)))
    return sorted(items, key=lambda i: (i.priority, -(i.days or 0)))


def _case_items(
    cases: pd.DataFrame, actionable: dict[str, list[str]], as_of: datetime | None
) -> list[Item]:
    """The hazard cases overdue, waiting for this user's action or due soon."""
    items: list[Item] = []
    for c in cases.itertuples():
        acts = [a for a in actionable.get(c.code, []) if a != "comment"]
        if bool(c.overdue):
            items.append(
                Item(
                    "hazard_overdue",
                    1,
                    c.code,
                    c.category,
                    float(c.days_overdue),
                    ",".join(acts) or None,
                )
            )
        elif acts:
            items.append(Item("hazard_action", 2, c.code, c.category, None, ",".join(acts)))
    if as_of is not None and len(cases):
        for c in cases.itertuples():
            due = getattr(c, "due_at", None)
            if bool(c.overdue) or due is None or pd.isna(due):
                continue
            left = (pd.Timestamp(due) - pd.Timestamp(as_of)).total_seconds() / 86400
            if 0 <= left <= SOON_DAYS:
                items.append(Item("hazard_due_soon", 2, c.code, c.category, round(left, 1)))
    return items
