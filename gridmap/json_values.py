"""One way to turn an analysis value into what JSON can hold.

Frames and reports carry numpy scalars, pandas timestamps, missing values of every kind
(None, NaN, NaT, pd.NA), shapely geometries and nested containers of them; the command
line's ``--json`` and the stored results of city-wide runs write them all the same way.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

_WHEN = (date, datetime, time, pd.Timestamp)  # durations are written as text


def json_value(value: Any, *, digits: int | None = None) -> Any:
    """``value`` as JSON holds it: missing and infinite numbers null, dates ISO text.

    numpy scalars become Python numbers, containers lists and objects (keys as text),
    geometries WKT, anything else its text.

    Parameters
    ----------
    value : Any
        A value of a frame, a report or a container of them.
    digits : int, optional
        Decimals floats are rounded to (default: as they are).

    Returns
    -------
    None, bool, int, float, str, list or dict
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None
        return number if digits is None else round(number, digits)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, _WHEN):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_value(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [json_value(v, digits=digits) for v in value]
    if isinstance(value, BaseGeometry):
        return value.wkt
    return None if pd.isna(value) else str(value)
