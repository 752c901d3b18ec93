"""The grid leader's field app, the pure part: which vulnerable households are due for a
visit today, whether a check-in is close enough to its key site, and the field rules
(``gridmap/standards/field_rules.yaml``, overridable with ``GRIDMAP_FIELD_RULES``).

Households never visited are spread over their interval by a stable hash of their code, so
a grid's first week does not ask for every household on day one.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gridmap.errors import ConfigError
from gridmap.messages import N_, fail

#: Tags shown only to roles whose work needs them (and never on print unless asked).
SENSITIVE_TAGS = frozenset(
    {"severe_mental_illness", "pregnant", "key_person", "community_correction"}
)
SENSITIVE_TAG_ROLES = frozenset({"admin", "community_staff", "grid_leader"})


def default_rules() -> dict[str, Any]:
    """The packaged field-work rules (``standards/field_rules.yaml``).

    Returns
    -------
    dict
        ``visits`` (intervals, days), ``checkin``, ``reveal`` (reasons, a day's limit) and
        ``photos`` (size limits).
    """
    text = resources.files("gridmap.standards").joinpath("field_rules.yaml").read_text("utf-8")
    rules: dict[str, Any] = yaml.safe_load(text)
    return rules


def load_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The packaged field rules, with a user file's keys (two levels deep) laid over them.

    Parameters
    ----------
    path : str or Path, optional
        The user's YAML file.

    Returns
    -------
    dict
        The rules by section.
    """
    rules = default_rules()
    if not path:
        return rules
    p = Path(path)
    try:
        user = yaml.safe_load(p.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise fail(
            ConfigError, N_("{path}: cannot read the field rules ({reason})"), path=p, reason=exc
        ) from exc
    if not isinstance(user, dict):
        raise fail(ConfigError, N_("{path}: the field rules must be a mapping of sections"), path=p)
    for section, values in user.items():
        if section not in rules or not isinstance(values, dict):
            raise fail(
                ConfigError,
                N_("{path}: unknown section {section!r}; see gridmap/standards/field_rules.yaml"),
                path=p,
                section=section,
            )
        for key, value in values.items():
            if isinstance(rules[section].get(key), dict) and isinstance(value, dict):
                rules[section][key] = {**rules[section][key], **value}
            else:
                rules[section][key] = value
    return rules


def visible_tags(
    tags: Iterable[str] | None, role: str, *, printed: bool = False, sensitive: bool = False
) -> list[str]:
    """Tags a role may see: sensitive ones only for roles that need them, and on paper only when
    asked for.

    Parameters
    ----------
    tags : iterable of str, optional
        The tag codes.
    role : str
        The viewer's role.
    printed : bool
        Whether the tags go on paper.
    sensitive : bool
        Whether sensitive tags may go on paper.

    Returns
    -------
    list of str
        The tags to show.
    """
    hide = role not in SENSITIVE_TAG_ROLES or (printed and not sensitive)
    return [t for t in (tags or []) if not (hide and t in SENSITIVE_TAGS)]


def visit_interval_days(tags: Iterable[str], intervals: Mapping[str, int]) -> int | None:
    """The shortest visit interval of any of ``tags``.

    Parameters
    ----------
    tags : iterable of str
        A household's tags.
    intervals : mapping of str to int
        Tag -> days between visits.

    Returns
    -------
    int or None
        Days; None when no tag asks for visits.
    """
    days = [int(intervals[t]) for t in tags if t in intervals]
    return min(days) if days else None


def _spread_offset(code: str, interval_days: int) -> int:
    return zlib.crc32(code.encode("utf-8")) % max(1, interval_days)


def visits_due(
    households: pd.DataFrame,
    *,
    last_visit: Mapping[int, datetime],
    today: date,
    intervals: Mapping[str, int],
    start: date | None = None,
) -> pd.DataFrame:
    """Households due for a visit on ``today``, most overdue first.

    A household never visited is due on ``start + crc32(code) % interval``, so first visits
    spread evenly over the interval.

    Parameters
    ----------
    households : pandas.DataFrame
        id, code, tags (household and member tags together).
    last_visit : mapping of int to datetime
        Household id -> last visit.
    today : date
        The day asked about.
    intervals : mapping of str to int
        Tag -> days between visits.
    start : date, optional
        Day first visits count from (default: the Monday of ``today``'s week).

    Returns
    -------
    pandas.DataFrame
        The due rows with ``interval_days``, ``due_on`` and ``days_overdue`` (0 = due today).
    """
    start = start or today - timedelta(days=today.weekday())
    rows = []
    for h in households.itertuples():
        interval = visit_interval_days(h.tags or [], intervals)
        if interval is None:
            continue
        last = last_visit.get(h.id)
        if last is not None and not pd.isna(last):
            due_on = pd.Timestamp(last).date() + timedelta(days=interval)
        else:
            due_on = start + timedelta(days=_spread_offset(str(h.code), interval))
        if due_on <= today:
            rows.append(
                {
                    "id": h.id,
                    "code": h.code,
                    "interval_days": interval,
                    "due_on": due_on,
                    "days_overdue": (today - due_on).days,
                    "last_visit": last,
                }
            )
    out = pd.DataFrame(
        rows, columns=["id", "code", "interval_days", "due_on", "days_overdue", "last_visit"]
    )
    return out.sort_values(
        ["days_overdue", "interval_days", "code"], ascending=[False, True, True]
    ).reset_index(drop=True)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius).

    Parameters
    ----------
    lon1, lat1, lon2, lat2 : float
        The two points in degrees.

    Returns
    -------
    float
        Metres.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(h))
