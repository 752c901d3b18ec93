"""Periods of local time: parsing, splitting into days/weeks/months, day and night shifts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail


@dataclass(frozen=True)
class Period:
    """A half-open time range [start, end) of local time."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """The period as written: one day, or FIRST/LAST day."""
        last = self.end - timedelta(seconds=1)
        if self.start.date() == last.date():
            return self.start.date().isoformat()
        return f"{self.start.date().isoformat()}/{last.date().isoformat()}"


def _parse_day(text: str, what: str) -> datetime:
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise fail(
            InvalidInput,
            N_("{what} {text!r} is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM)"),
            what=what,
            text=text,
        ) from exc


def parse_period(text: str) -> Period:
    """A period as the user writes it.

    Parameters
    ----------
    text : str
        ``START/END`` (dates inclusive, or times), ``YYYY-MM-DD``, ``YYYY-MM`` or
        ``YYYY-Www``.

    Returns
    -------
    Period
        The half-open period.
    """
    text = (text or "").strip()
    try:
        return _parse_period(text)
    except InvalidInput:
        raise
    except (ValueError, OverflowError) as exc:  # month 13, week 99: the calendar refuses
        raise fail(
            InvalidInput,
            N_(
                "period {text!r} is not on the calendar ({reason}); use a month 01-12 or an "
                "ISO week 01-53"
            ),
            text=text,
            reason=exc,
        ) from exc


def _parse_period(text: str) -> Period:
    if "/" in text:
        a, b = text.split("/", 1)
        start = _parse_day(a, "period start")
        end = _parse_day(b, "period end")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", b.strip()):
            end += timedelta(days=1)  # a date as END means the whole of that day
        if end <= start:
            raise fail(
                InvalidInput,
                N_("period {text!r} ends before it starts; write START/END"),
                text=text,
            )
        return Period(start, end)
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        start = datetime(int(m[1]), int(m[2]), 1)
        end = datetime(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return Period(start, end)
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", text):
        start = datetime.combine(date.fromisocalendar(int(m[1]), int(m[2]), 1), datetime.min.time())
        return Period(start, start + timedelta(days=7))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        start = _parse_day(text, "period")
        return Period(start, start + timedelta(days=1))
    raise fail(
        InvalidInput,
        N_(
            "period {text!r} not understood; use START/END (2025-06-01/2025-06-30), "
            "a day (2025-06-01), a month (2025-06) or an ISO week (2025-W23)"
        ),
        text=text,
    )


def split_period(period: Period, by: str | None) -> list[Period]:
    """A period cut into calendar days, ISO weeks (Monday first) or months.

    Parameters
    ----------
    period : Period
        The whole period.
    by : str or None
        'day', 'week' or 'month'; None (or '', 'all', 'period') keeps it whole.

    Returns
    -------
    list of Period
        The parts, in order.
    """
    if by in (None, "", "all", "period"):
        return [period]
    if by not in ("day", "week", "month"):
        raise fail(
            InvalidInput, N_("cannot split a period by {by!r}; use day, week or month"), by=by
        )
    out: list[Period] = []
    cur = period.start
    while cur < period.end:
        if by == "day":
            nxt = datetime.combine(cur.date() + timedelta(days=1), datetime.min.time())
        elif by == "week":
            monday = cur.date() - timedelta(days=cur.weekday())
            nxt = datetime.combine(monday + timedelta(days=7), datetime.min.time())
        else:
            nxt = datetime(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
        out.append(Period(cur, min(nxt, period.end)))
        cur = nxt
    return out


def shift_of(
    times: ArrayLike, *, day_start_hour: int = 6, night_start_hour: int = 20
) -> np.ndarray:
    """'day' or 'night' for each local time (day = [day_start_hour, night_start_hour)).

    Parameters
    ----------
    times : array_like
        Local times.
    day_start_hour, night_start_hour : int
        Hours 0-23 at which the day and the night shift start.

    Returns
    -------
    numpy.ndarray
        'day' or 'night' per time.
    """
    hours = pd.DatetimeIndex(times).hour.to_numpy()
    if day_start_hour < night_start_hour:
        day = (hours >= day_start_hour) & (hours < night_start_hour)
    else:  # a day shift that wraps midnight (unusual but configurable)
        day = (hours >= day_start_hour) | (hours < night_start_hour)
    return np.where(day, "day", "night")


def _bin_of(times: np.ndarray, periods: list[Period]) -> np.ndarray:
    """Index of the period holding each time, -1 outside all of them."""
    if not len(periods):
        return np.full(len(times), -1)
    edges = np.array([p.start for p in periods] + [periods[-1].end], dtype="datetime64[us]")
    t = np.asarray(times, dtype="datetime64[us]")
    idx = np.searchsorted(edges, t, side="right") - 1
    idx[(idx < 0) | (idx >= len(periods))] = -1
    return idx
