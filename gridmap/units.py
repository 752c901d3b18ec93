"""Walking time and distance: the one conversion between metres and minutes at a speed."""

from __future__ import annotations

from typing import Any, overload

import numpy as np
import numpy.typing as npt

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail


def metres_per_minute(speed_kmh: float) -> float:
    """Metres walked in a minute at ``speed_kmh`` (4 km/h: 66.67 m); refuses a speed <= 0."""
    if not speed_kmh or speed_kmh <= 0:
        raise fail(
            InvalidInput,
            N_("walking speed must be positive (got {speed} km/h)"),
            speed=speed_kmh,
        )
    return speed_kmh * 1000.0 / 60.0


@overload
def minutes_for(distance_m: float, speed_kmh: float) -> float: ...
@overload
def minutes_for(distance_m: npt.ArrayLike, speed_kmh: float) -> npt.NDArray[np.float64]: ...
def minutes_for(distance_m: npt.ArrayLike, speed_kmh: float) -> Any:
    """Walking minutes for ``distance_m`` metres at ``speed_kmh`` (scalar or array)."""
    # Multiply before dividing: 1000 m at 4 km/h is exactly 15 minutes, not 14.999999999999998.
    metres_per_minute(speed_kmh)  # refuses a speed <= 0
    return np.asarray(distance_m, dtype=float) * 60.0 / (speed_kmh * 1000.0)


@overload
def metres_for(minutes: float, speed_kmh: float) -> float: ...
@overload
def metres_for(minutes: npt.ArrayLike, speed_kmh: float) -> npt.NDArray[np.float64]: ...
def metres_for(minutes: npt.ArrayLike, speed_kmh: float) -> Any:
    """Metres walked in ``minutes`` at ``speed_kmh`` (scalar or array)."""
    metres_per_minute(speed_kmh)  # refuses a speed <= 0
    return np.asarray(minutes, dtype=float) * speed_kmh * 1000.0 / 60.0
