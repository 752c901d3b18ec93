"""Parents of each row: by the code the file gives, else by location."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa

from geodata import fields as F
from geodata.db.frames import read_frame
from geodata.db.models import model_for
from geodata.importing.state import BuilderState
from gridmap.analysis import grids as ga
from gridmap.crs import (
    STORAGE_CRS,
    metric_crs,
)
from gridmap.notes import N_, rejected


class ParentsMixin(BuilderState):
    """Parent ids of every row (``_<column>`` in the frame)."""

    def _lookup(self, model) -> pd.DataFrame:
        cols = [model.id, model.code]
        has_geom = "geom" in model.__table__.c
        if has_geom:
            return read_frame(self.session, sa.select(*cols, model.geom))
        return pd.DataFrame(self.session.execute(sa.select(*cols)).all(), columns=["id", "code"])

    def _resolve_parents(self) -> None:
        frame = self.frame
        for parent in self.spec.parents:
            table = self._lookup(model_for(self.registry[parent.layer].table))
            by_code = dict(zip(table["code"], table["id"], strict=True))
            given = (
                frame[parent.field].map(F.text)
                if parent.field in frame.columns
                else pd.Series([None] * len(frame), index=frame.index, dtype=object)
            )
            if parent.field == "community" and self.opts.community:
                if self.opts.community not in by_code:
                    raise rejected(
                        N_(
                            "--community {code}: no community with that code; import "
                            "the communities first"
                        ),
                        code=self.opts.community,
                    )
                given = given.where(given.notna(), self.opts.community)
            ids = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            for k, code in given.items():
                if code is None:
                    continue
                if code in by_code:
                    ids[k] = by_code[code]
                else:
                    self.add(
                        int(frame.at[k, "_row"]),
                        "unknown_parent",
                        "error",
                        N_("{parent} {code!r} does not exist; import it first or correct the code"),
                        parent=parent.field,
                        code=code,
                    )
            missing = ids.isna() & given.isna()
            if missing.any() and parent.locate and len(table) and frame.geometry.notna().any():
                located = self._locate(frame.geometry[missing], table, parent.locate)
                for k, label in located.items():
                    if label is not None:
                        ids[k] = int(table.at[label, "id"])
                n = int(located.notna().sum())
                if n:
                    self.say(
                        N_("{parent} of {n} features found by location"), parent=parent.field, n=n
                    )
            frame[f"_{parent.column}"] = ids

    def _locate(self, geoms: gpd.GeoSeries, table: gpd.GeoDataFrame, how: str) -> pd.Series:
        geoms = gpd.GeoSeries(geoms, crs=STORAGE_CRS)
        if how == "area":
            return ga.assign_by_location(geoms, table.geometry)
        crs = metric_crs(tuple(geoms.total_bounds))
        g = geoms.to_crs(crs).to_numpy()
        t = table.geometry.to_crs(crs).to_numpy()
        idx, dist = shapely.STRtree(t).query_nearest(
            g, max_distance=30.0, return_distance=True, all_matches=False
        )
        out = pd.Series([None] * len(geoms), index=geoms.index, dtype=object)
        out.iloc[idx[0]] = table.index[idx[1]].to_numpy()
        return out
