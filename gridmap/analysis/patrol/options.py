"""The thresholds of the patrol analysis and the metric-CRS check every step makes."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail


@dataclass(frozen=True)
class PatrolOptions:
    """Every threshold of the patrol analysis, with the defaults of the issue."""

    max_speed_kmh: float = 15.0  # faster than a brisk cyclist: a GPS jump
    max_accuracy_m: float = 50.0  # fixes reported worse than this are dropped
    # GPS noise of a few metres between fixes 5 s apart already "implies" 7+ km/h:
    # a step is a jump only when longer than max speed x time + this slack.
    speed_slack_m: float = 10.0
    max_gap_min: float = 10.0  # tracks split at longer gaps
    tolerance_m: float = 20.0  # a track this close to a street runs along it
    min_share: float = 0.5  # "most of its length"
    piece_m: float = 10.0  # streets are matched in pieces this long
    max_angle_deg: float = 45.0  # track heading vs street direction
    step_m: float = 15.0  # tracks are matched as chords at least this long
    heading_window: int = 1  # chords each side used to smooth the heading
    edge_m: float = 5.0  # a street this close to a grid belongs to it
    pass_m: float = 30.0  # buildings passed within
    visit_m: float = 30.0  # key sites visited within ...
    visit_min_s: float = 60.0  # ... for at least this long
    day_start_hour: int = 6  # day shift starts (local time)
    night_start_hour: int = 20  # night shift starts (local time)

    def __post_init__(self) -> None:
        if self.speed_slack_m < 0:
            raise fail(
                InvalidInput,
                N_("patrol option speed_slack_m must be >= 0, got {value}"),
                value=self.speed_slack_m,
            )
        for name in (
            "max_speed_kmh",
            "max_accuracy_m",
            "max_gap_min",
            "tolerance_m",
            "piece_m",
            "pass_m",
            "visit_m",
            "step_m",
        ):
            if not getattr(self, name) > 0:
                raise fail(
                    InvalidInput,
                    N_("patrol option {name} must be positive, got {value}"),
                    name=name,
                    value=getattr(self, name),
                )
        if not 0 < self.min_share <= 1:
            raise fail(
                InvalidInput,
                N_("patrol option min_share must be in (0, 1], got {value}"),
                value=self.min_share,
            )
        for name in ("day_start_hour", "night_start_hour"):
            if not 0 <= getattr(self, name) <= 23:
                raise fail(
                    InvalidInput,
                    N_("patrol option {name} must be an hour 0-23, got {value}"),
                    name=name,
                    value=getattr(self, name),
                )


def _require_metric(frame: gpd.GeoDataFrame, what: str) -> None:
    if frame.crs is None or not frame.crs.is_projected:
        raise fail(
            InvalidInput,
            N_(
                "{what} must be in a projected (metric) CRS, got {crs}; project it first "
                "(e.g. frame.to_crs(gridmap.crs.metric_crs(frame)))"
            ),
            what=what,
            crs=frame.crs,
        )


# The defaults, shared: the options are frozen, so one instance serves every call.
DEFAULT_OPTIONS = PatrolOptions()
