"""Defaults and method names shared by the reach analyses."""

from __future__ import annotations

from collections.abc import Callable

DEFAULT_SPEED_KMH = 4.0
DEFAULT_DETOUR_FACTOR = 1.3  # typical ratio of walking route to straight line in Chinese cities
DEFAULT_MINUTES = (5, 10, 15)
DEFAULT_BUFFER_M = 25.0
METHOD_NETWORK = "network"
METHOD_ESTIMATE = "estimate"
METHOD_RADIUS = "radius"  # the planner's service radius: straight-line circles, no walking

Progress = Callable[[str, int, int], None]
