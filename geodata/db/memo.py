"""Figures kept in memory between requests, keyed by what they were computed from.

A figure of a period is a pure function of the data, so it is kept per database, request
and :func:`data_fingerprint`: the page, its print view, its download and the API ask once.
The fingerprint is the ``data_version`` counters, which database triggers bump in the
writing transaction on any insert, update or delete of a table a figure reads: any change
by any server process or tool makes the next request everywhere compute afresh. A period
still running is recomputed after ``CACHE_SECONDS`` because the clock moves its end.
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
_STATS = {"computed": 0, "kept": 0}  # answers computed, answers given from memory


def data_fingerprint(session: Session) -> tuple:
    """The data-version counters: one indexed read instead of an aggregate over every table.

    Parameters
    ----------
    session : Session
        Database session holding the data_version counters.

    Returns
    -------
    tuple
        (family, version) pairs: one row per family of tables, and one telling databases apart.
    """
    rows = session.execute(
        sa.select(m.DataVersion.family, m.DataVersion.version).order_by(m.DataVersion.family)
    ).all()
    return tuple((family, int(version)) for family, version in rows)


def cached(session: Session, key: tuple, compute: Callable, *, copy: bool = False):
    """``compute()`` once per (database, ``key``, data fingerprint) within CACHE_SECONDS.

    Parameters
    ----------
    session : Session
        Database session (its URL and data fingerprint are part of the key).
    key : tuple
        What the figure was computed from.
    compute : callable
        Computes the figure.
    copy : bool
        Give the caller its own deep copy; otherwise the shared result, which the caller
        must not change.

    Returns
    -------
    object
        What ``compute()`` returned, now or earlier.
    """
    if session.info.get("memo") is False:
        # A city-wide run's task sees one street office's part of the database: its figures
        # are not the whole's, though its question and the data-version counters are the same.
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
                _STATS["kept"] += 1
                return copy_mod.deepcopy(hit[1]) if copy else hit[1]
        result = compute()
        with _LOCK:
            _STATS["computed"] += 1
            _CACHE[full] = (now, copy_mod.deepcopy(result) if copy else result)
            while len(_CACHE) > MAX_ENTRIES:
                _CACHE.popitem(last=False)
            _COMPUTING.pop(full, None)
    return result


def clear() -> None:
    """Forget every kept figure."""
    with _LOCK:
        _CACHE.clear()


def statistics() -> dict[str, int]:
    """How many answers were computed and how many were given from memory since start.

    Returns
    -------
    dict
        ``computed`` and ``kept`` counts, a copy.
    """
    with _LOCK:
        return dict(_STATS)
