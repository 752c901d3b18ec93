"""A grid leader's to-do list: what needs attention today, most urgent first.

Made from the grid's key sites (inspection status), open hazards (deadlines, whose move it
is), this week's unpatrolled streets and its vulnerable households. Pure: frames in, a
list of :class:`Item` out; the page words them in the user's language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd

#: Household tags that make a household one to look after.
VULNERABLE_HOUSEHOLD_TAGS = frozenset({"elderly_alone", "empty_nest", "low_income", "disabled"})
#: Resident tags that do (any member).
VULNERABLE_RESIDENT_TAGS = frozenset({"living_alone", "disabled", "severe_mental_illness",
                                      "extreme_poverty", "left_behind_child", "low_income"})
UNPATROLLED_SHOWN = 5
SOON_DAYS = 2


class Item(NamedTuple):
    kind: str       # hazard_overdue, inspection_overdue, hazard_action, hazard_due_soon,
    #                 unpatrolled, visit
    priority: int   # 1 most urgent
    code: str | None
    name: str | None
    days: float | None = None       # days overdue / left
    detail: str | None = None       # e.g. the actions open to this user


def is_vulnerable(household_tags: Iterable[str] | None, resident_tags: Iterable[str] | None) -> bool:
    return bool(set(household_tags or ()) & VULNERABLE_HOUSEHOLD_TAGS
                or set(resident_tags or ()) & VULNERABLE_RESIDENT_TAGS)


def todo_items(*, sites: pd.DataFrame, cases: pd.DataFrame, unpatrolled: pd.DataFrame,
               households: pd.DataFrame, actionable: dict[str, list[str]],
               as_of=None) -> list[Item]:
    """sites: code, name, overdue, days_overdue (inf = never inspected); cases: code,
    category, overdue, days_overdue, due_at; unpatrolled: name, highway, length_m (longest
    first); households: the vulnerable ones; actionable: case code -> actions this user may
    take (comments excluded from urgency)."""
    items: list[Item] = []
    for c in cases.itertuples():
        acts = [a for a in actionable.get(c.code, []) if a != "comment"]
        if bool(c.overdue):
            items.append(Item("hazard_overdue", 1, c.code, c.category, float(c.days_overdue),
                              ",".join(acts) or None))
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
    for s in sites.itertuples():
        if bool(s.overdue):
            days = float(s.days_overdue)
            items.append(Item("inspection_overdue", 1 if math.isinf(days) or days > 7 else 2,
                              s.code, s.name, days))
    for u in list(unpatrolled.itertuples())[:UNPATROLLED_SHOWN]:
        name = u.name if isinstance(u.name, str) and u.name else None
        items.append(Item("unpatrolled", 3, None, name or u.highway, float(u.length_m)))
    if len(households):
        items.append(Item("visit", 4, None, None, float(len(households))))
    return sorted(items, key=lambda i: (i.priority, -(i.days or 0)))
