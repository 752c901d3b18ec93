"""Figures kept in memory between requests, keyed by what they were computed from.

A figure of a period is a pure function of the data, so it is kept per database, request
and :func:`data_fingerprint`: the page, its print view, its download and the API ask once,
and any change of the data (an insert, a deletion, a building moved between grids, a hazard
step) makes the next request compute afresh. An edit the fingerprint cannot see (a boundary
redrawn in place) is seen when the entry expires after ``CACHE_SECONDS``; a period still
running is recomputed then too, because the clock moves its end.
"""

from __future__ import annotations

import copy as copy_mod
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m

CACHE_SECONDS = 600
MAX_ENTRIES = 16
_CACHE: OrderedDict = OrderedDict()
_LOCK = threading.Lock()
_COMPUTING: dict[tuple, threading.Lock] = {}  # one lock per question being computed


def data_fingerprint(session: Session) -> tuple:
    """Row counts, newest ids and a few sums of every table a figure reads: any insert,
    delete, move of a building between grids or change of household size, hazard step or
    inspection changes it. (An edit that changes none of them, e.g. a boundary redrawn in
    place, is seen when the cached entry expires: CACHE_SECONDS.)"""
    parts: list = []
    for model in (m.Grid, m.Community, m.Building, m.Household, m.Resident, m.KeySite,
                  m.Inspection, m.Facility, m.PatrolTrack, m.Hazard, m.HazardEvent, m.Road):
        parts += list(session.execute(sa.select(sa.func.count(), sa.func.max(model.id))).one())
    parts += list(session.execute(sa.select(
        sa.func.sum(sa.func.coalesce(m.Building.grid_id, 0)),
        sa.func.count(m.Building.entrance))).one())
    parts.append(session.execute(sa.select(sa.func.sum(m.Household.size))).scalar())
    parts.append(session.execute(sa.select(sa.func.count(m.Hazard.closed_at))).scalar())
    return tuple(str(p) for p in parts)


def cached(session: Session, key: tuple, compute: Callable, *, copy: bool = False):
    """``compute()`` once per (database, ``key``, data fingerprint) within CACHE_SECONDS.

    With ``copy`` the caller gets its own deep copy; otherwise the shared result, which
    the caller must not change."""
    if session.info.get("memo") is False:
        # A city-wide run's task (one street office's part of the database) computes afresh:
        # its figures are not the whole's, and a long-lived worker must not answer from an
        # earlier run whose data changed in a way the fingerprint cannot see.
        return compute()
    full = (str(session.get_bind().engine.url), *key, data_fingerprint(session))
    with _LOCK:
        computing = _COMPUTING.setdefault(full, threading.Lock())
    # Requests asking the same question at once wait for the first one's answer: computed
    # once, and on SQLite two computations that both cache a reach run cannot deadlock.
    with computing:
        now = time.monotonic()
        with _LOCK:
            hit = _CACHE.get(full)
            if hit is not None and now - hit[0] < CACHE_SECONDS:
                _CACHE.move_to_end(full)
                return copy_mod.deepcopy(hit[1]) if copy else hit[1]
        result = compute()
        with _LOCK:
            _CACHE[full] = (now, copy_mod.deepcopy(result) if copy else result)
            while len(_CACHE) > MAX_ENTRIES:
                _CACHE.popitem(last=False)
            _COMPUTING.pop(full, None)
    return result


def clear() -> None:
    with _LOCK:
        _CACHE.clear()
