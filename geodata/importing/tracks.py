"""Patrol tracks: GPS points grouped into lines, and the time of every point."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import fields as F
from geodata.column_mapping import map_columns
from geodata.importing.state import BuilderState
from gridmap.notes import N_, note, rejected


class TracksMixin(BuilderState):
    """Patrol points -> tracks; times -> start, end and seconds per point."""

    def _tracks_from_points(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """CSV/XLSX patrol points (patroller, time, lon, lat[, track]) -> one line per track."""
        mapping, _props, _ = map_columns(
            [c for c in frame.columns if c not in ("geometry", "_row")],
            "patrol_tracks",
            {"patroller", "time", "track", "code", "grid"},
            self.opts.mapping,
            registry=self.registry,
        )
        inv = {v: k for k, v in mapping.items()}
        if "time" not in inv or (
            "patroller" not in inv and "patroller" not in self.opts.mapping.defaults
        ):
            raise rejected(
                N_(
                    "{file}: patrol points need a patroller (巡查人) and a time (时间) "
                    "column besides lon/lat"
                ),
                file=self.src.name,
            )
        pts = pd.DataFrame(
            {
                "patroller": frame[inv["patroller"]].map(F.text)
                if "patroller" in inv
                else self.opts.mapping.defaults["patroller"],
                "time": frame[inv["time"]].map(F.timestamp),
                "track": frame[inv["track"]].map(F.text) if "track" in inv else "",
                "code": frame[inv["code"]].map(F.text) if "code" in inv else None,
                "grid": frame[inv["grid"]].map(F.text) if "grid" in inv else None,
                "_row": frame["_row"],
                "geometry": frame.geometry.to_numpy(),
            }
        )
        for k in np.flatnonzero(pts["time"].isna().to_numpy()):
            self.add(
                int(pts["_row"].iloc[k]),
                "bad_time",
                "error",
                N_("time {value!r} is not a date and time"),
                value=str(frame[inv["time"]].iloc[k]),
            )
        pts = pts[pts["time"].notna() & pts["geometry"].notna()]
        rows = self._track_lines(pts)
        out = gpd.GeoDataFrame(
            pd.DataFrame(
                rows, columns=["patroller", "track", "code", "grid", "times", "_rows", "geometry"]
            ),
            geometry="geometry",
            crs=frame.crs,
        )
        out["_row"] = [r[0] for r in out["_rows"]] if len(out) else []
        self.report.notes.append(
            note(
                N_(
                    "{points} patrol points grouped into {tracks} tracks "
                    "(by patroller and track; a pause of over 30 minutes "
                    "starts a new track)"
                ),
                points=len(pts),
                tracks=len(out),
            )
        )
        return out.drop(columns="_rows")

    def _track_lines(self, pts: pd.DataFrame) -> list[dict]:
        """One line per patroller, track and stretch without a long pause, from the points
        sorted by time (a single point is dropped with a warning)."""
        rows = []
        for (who, track), part in pts.groupby(["patroller", "track"], sort=True, dropna=False):
            part = part.sort_values("time")
            # A new track starts after a pause of more than 30 minutes.
            gap = part["time"].diff() > pd.Timedelta(minutes=30)
            for _seg, seg in part.groupby(gap.cumsum()):
                if len(seg) < 2:
                    self.add(
                        int(seg["_row"].iloc[0]),
                        "dropped",
                        "warning",
                        N_("a track of {who} has a single point; dropped"),
                        who=who,
                    )
                    continue
                xy = shapely.get_coordinates(seg["geometry"].to_numpy())
                rows.append(
                    {
                        "patroller": who,
                        "track": track or None,
                        "code": seg["code"].dropna().iloc[0] if seg["code"].notna().any() else None,
                        "grid": seg["grid"].dropna().iloc[0] if seg["grid"].notna().any() else None,
                        "times": list(seg["time"]),
                        "_rows": list(seg["_row"]),
                        "geometry": shapely.linestrings(xy),
                    }
                )
        return rows

    def _track_times(self, rec: dict, frame, k) -> None:
        row = rec["_row"]
        times = frame.at[k, "times"] if "times" in frame.columns else None
        line = rec["_geom"]
        if isinstance(times, np.ndarray):  # GDAL reads a JSON list as a list field
            times = times.tolist()
        if isinstance(times, str):  # a gridmap export: seconds after started_at, as JSON
            try:
                times = json.loads(times)
            except ValueError:
                times = None
        start_given = F.timestamp(self.value(frame, k, "started_at"))
        if (
            isinstance(times, list)
            and start_given is not None
            and all(isinstance(t, (int, float)) for t in times)
        ):
            times = [start_given + pd.Timedelta(seconds=float(t)) for t in times]
        parsed = [F.timestamp(t) for t in (times or [])]
        stamps = [s for s in parsed if s is not None]
        n = len(shapely.get_coordinates(line)) if line is not None else 0
        if not parsed or len(stamps) != len(parsed) or len(parsed) != n:
            self.add(
                row,
                "bad_time",
                "error",
                N_("the track needs a time at every point ({n} points, {t} times)"),
                n=n,
                t=len(stamps),
            )
            return
        start = min(stamps)
        rec["started_at"], rec["ended_at"] = start, max(stamps)
        rec["times"] = [round((s - start).total_seconds(), 1) for s in stamps]
        if not rec.get("patroller"):
            rec["patroller"] = (
                F.text(self.opts.mapping.defaults.get("patroller")) or Path(self.src.name).stem[:50]
            )
            self.add(
                row,
                "defaulted",
                "info",
                N_("no patroller in the file; used {who!r}"),
                who=rec["patroller"],
            )
        if not rec.get("code"):
            rec["code"] = f"{rec['patroller']}-{start:%Y%m%dT%H%M%S}"[:64]
