"""Walking time and distance: the one conversion between metres and minutes at a speed."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail


def metres_per_minute(speed_kmh: float) -> float:
    """Metres walked in a minute (4 km/h: 66.67 m); refuses a speed <= 0.

    Parameters
    ----------
    speed_kmh : float
        Walking speed in km/h.

    Returns
    -------
    float
        Metres per minute.
    """
    if not speed_kmh or speed_kmh <= 0:
        raise fail(
            InvalidInput,
            N_("walking speed must be positive (got {speed} km/h)"),
            speed=speed_kmh,
        )
    return speed_kmh * 1000.0 / 60.0


@overload
def minutes_for(distance_m: float, speed_kmh: float) -> float:
    """Walking minutes for one distance."""


@overload
def minutes_for(distance_m: npt.ArrayLike, speed_kmh: float) -> npt.NDArray[np.float64]:
    """Walking minutes for an array of distances."""


def minutes_for(distance_m: npt.ArrayLike, speed_kmh: float) -> Any:
    """Walking minutes for a distance, the one conversion gridmap uses.

    Parameters
    ----------
    distance_m : float or array_like
        Distance in metres.
    speed_kmh : float
        Walking speed in km/h (refused when <= 0).

    Returns
    -------
    float or numpy.ndarray
        Minutes, shaped as ``distance_m``.
    """
    # Multiply before dividing: 1000 m at 4 km/h is exactly 15 minutes, not 14.999999999999998.
    metres_per_minute(speed_kmh)  # refuses a speed <= 0
    return np.asarray(distance_m, dtype=float) * 60.0 / (speed_kmh * 1000.0)


@overload
def metres_for(minutes: float, speed_kmh: float) -> float:
    """Metres walked in one duration."""


@overload
def metres_for(minutes: npt.ArrayLike, speed_kmh: float) -> npt.NDArray[np.float64]:
    """Metres walked in an array of durations."""


def metres_for(minutes: npt.ArrayLike, speed_kmh: float) -> Any:
    """Metres walked in a time, the one conversion gridmap uses.

    Parameters
    ----------
    minutes : float or array_like
        Walking time in minutes.
    speed_kmh : float
        Walking speed in km/h (refused when <= 0).

    Returns
    -------
    float or numpy.ndarray
        Metres, shaped as ``minutes``.
    """
    metres_per_minute(speed_kmh)  # refuses a speed <= 0
    return np.asarray(minutes, dtype=float) * speed_kmh * 1000.0 / 60.0
