"""Grids: generated codes, the standard's code shape, overlaps, the fit in their
community, and the household load with rebalancing suggestions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa

from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.repo import buildings_frame
from geodata.importing.state import BuilderState
from gridmap.analysis import grids as ga
from gridmap.crs import STORAGE_CRS
from gridmap.notes import N_, note, problem


class GridChecksMixin(BuilderState):
    """Checks a grids import makes across all its rows."""

    def _grid_checks(self, rows: list[dict]) -> None:
        """Codes, overlaps, the fit in each community, then the household load."""
        if not rows:
            return
        updating = {r["_id"] for r in rows if r["_id"] is not None}
        old = read_frame(
            self.session,
            sa.select(m.Grid.id, m.Grid.code, m.Grid.name, m.Grid.community_id, m.Grid.geom),
        )
        keep_old = old[~old["id"].isin(updating)]
        communities = read_frame(
            self.session,
            sa.select(m.Community.id, m.Community.code, m.Community.name, m.Community.geom),
        )
        communities = communities.set_index("id", drop=False)
        new = gpd.GeoDataFrame(
            {
                "row": [r["_row"] for r in rows],
                "code": [r.get("code") for r in rows],
                "name": [r.get("name") for r in rows],
                "community_id": [r.get("community_id") for r in rows],
            },
            geometry=[r["_geom"] for r in rows],
            crs=STORAGE_CRS,
        )
        cc = new["community_id"].map(
            lambda i: (
                communities.at[i, "code"] if i is not None and i in communities.index else None
            )
        )
        self._grid_codes(rows, new, cc)
        both = self._grid_overlaps(new, keep_old)
        if len(communities):
            self._grid_fit(both, new, communities)
        self._grid_load(rows, new)

    def _grid_codes(self, rows: list[dict], new: gpd.GeoDataFrame, cc: pd.Series) -> None:
        """Generate the missing codes, in reading order inside each community (``cc``: each
        row's community code); check the standard's shape of the given ones."""
        opts = self.opts
        missing = new["code"].isna()
        if missing.any():
            taken = set(self._taken_codes) | set(new["code"].dropna())
            gen = ga.generate_grid_codes(
                new, cc, scheme=opts.code_scheme, service_code=opts.service_code, taken=taken
            )
            for k in np.flatnonzero(missing.to_numpy()):
                rec = rows[k]
                code, why = gen["code"].iloc[k], gen["reason"].iloc[k]
                if code is None:
                    base = cc.iloc[k] or "X"
                    code = f"{base}-{int(gen['sequence'].iloc[k]):03d}"[:24]
                    self.add(
                        rec["_row"],
                        "code_fallback",
                        "warning",
                        N_("cannot make a standard grid code ({why}); used {code}"),
                        why=why,
                        code=code,
                    )
                rec["code"] = code
                new.loc[new.index[k], "code"] = code
                self.report.generated_codes.append(
                    {
                        "row": rec["_row"],
                        "code": code,
                        "name": rec.get("name"),
                        "sequence": int(gen["sequence"].iloc[k]),
                    }
                )
                self.add(
                    rec["_row"],
                    "generated_code",
                    "info",
                    N_(
                        "no code in the file; generated {code} (sequence {seq}, "
                        "{scheme}-digit scheme)"
                    ),
                    code=code,
                    seq=int(gen["sequence"].iloc[k]),
                    scheme=opts.code_scheme,
                )
        self._flag_duplicates(rows)
        # Existing codes: the standard's shape.
        for pos, rec in enumerate(rows):
            if rec["_row"] in {g["row"] for g in self.report.generated_codes}:
                continue
            why = ga.validate_grid_code(rec["code"], community_code=cc.iloc[pos])
            if why:
                self.add(
                    rec["_row"],
                    "code_format",
                    "warning",
                    N_("grid code {code} is not a standard 15- or 20-digit code: {why}"),
                    code=rec["code"],
                    why=why,
                )
        for rec in rows:
            if rec.get("community_id") is None:
                self.add(
                    rec["_row"],
                    "no_community",
                    "warning",
                    N_(
                        "the grid lies in no known community; import the communities first "
                        "or pass --community"
                    ),
                )

    def _grid_overlaps(self, new: gpd.GeoDataFrame, keep_old: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Overlaps among the new grids and with the grids that stay; returns both sets."""
        both = pd.concat(
            [
                new.assign(src="new"),
                gpd.GeoDataFrame(
                    {
                        "row": None,
                        "code": keep_old["code"],
                        "name": keep_old["name"],
                        "community_id": keep_old["community_id"],
                        "src": "old",
                    },
                    geometry=keep_old.geometry.to_numpy(),
                    crs=STORAGE_CRS,
                ),
            ],
            ignore_index=True,
        )
        over = ga.grid_overlaps(both, min_area_m2=self.opts.min_area_m2)
        for _, o in over.iterrows():
            a, b = both.loc[o["left"]], both.loc[o["right"]]
            if a["src"] == "old" and b["src"] == "old":
                continue
            if a["src"] == "old":
                a, b = b, a
            if b["src"] == "new":
                self.report.problems.append(
                    problem(
                        int(a["row"]),
                        "overlap",
                        "error",
                        N_("grid {code} overlaps grid {other} (row {other_row}) by {area:,.0f} m²"),
                        code=a["code"],
                        other=b["code"],
                        other_row=int(b["row"]),
                        area=float(o["area_m2"]),
                        area_m2=float(o["area_m2"]),
                    )
                )
            else:
                self.report.problems.append(
                    problem(
                        int(a["row"]),
                        "overlap",
                        "error",
                        N_("grid {code} overlaps the existing grid {other} by {area:,.0f} m²"),
                        code=a["code"],
                        other=b["code"],
                        area=float(o["area_m2"]),
                        area_m2=float(o["area_m2"]),
                    )
                )
        return both

    def _grid_fit(
        self, both: gpd.GeoDataFrame, new: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
    ) -> None:
        """Inside the community, and the gaps each community is left with."""
        opts = self.opts
        fit = ga.community_fit(
            both, communities, both["community_id"], min_area_m2=opts.min_area_m2
        )
        for k in both.index[both["src"] == "new"]:
            status = fit.at[k, "status"]
            rec = both.loc[k]
            cname = (
                communities.at[rec["community_id"], "name"]
                if rec["community_id"] in communities.index
                else None
            )
            if status == "outside":
                self.report.problems.append(
                    problem(
                        int(rec["row"]),
                        "outside_community",
                        "error",
                        N_("grid {code} lies outside its community {community}"),
                        code=rec["code"],
                        community=cname,
                    )
                )
            elif status == "crosses":
                area = float(fit.at[k, "outside_m2"])
                self.report.problems.append(
                    problem(
                        int(rec["row"]),
                        "crosses_community",
                        "warning",
                        N_(
                            "grid {code} crosses the boundary of {community}: {area:,.0f} m² "
                            "({share:.1%}) lie outside"
                        ),
                        code=rec["code"],
                        community=cname,
                        area=area,
                        share=float(fit.at[k, "share_outside"]),
                        area_m2=area,
                    )
                )
        touched = set(new["community_id"].dropna())
        in_touched = both[both["community_id"].isin(touched)]
        gaps = ga.community_gaps(
            in_touched, communities, in_touched["community_id"], min_area_m2=opts.min_area_m2
        )
        for cid, gap in gaps.iterrows():
            self.report.problems.append(
                problem(
                    None,
                    "gap",
                    "warning",
                    N_(
                        "community {community} ({code}): {area:,.0f} m² in {parts} pieces are "
                        "covered by no grid"
                    ),
                    community=communities.at[cid, "name"],
                    code=communities.at[cid, "code"],
                    area=float(gap["gap_m2"]),
                    parts=int(gap["parts"]),
                    area_m2=float(gap["gap_m2"]),
                )
            )

    def _grid_load(self, rows: list[dict], new: gpd.GeoDataFrame) -> None:
        """Each grid's household load against its target, a warning per grid outside it,
        and the rebalancing suggestions."""
        opts = self.opts
        counted = self._grid_households(rows, new)
        if counted is None:
            return
        targets = pd.Series([r.get("target_households") for r in rows], index=new.index)
        load = ga.household_load(
            counted, targets=targets, target_min=opts.target_min, target_max=opts.target_max
        )
        for k, rec in zip(new.index, rows, strict=True):
            entry = {
                "row": rec["_row"],
                "code": rec["code"],
                "name": rec.get("name"),
                **{
                    c: (int(load.at[k, c]) if c != "status" else load.at[k, c])
                    for c in ("households", "low", "high", "status")
                },
            }
            self.report.load.append(entry)
            if entry["status"] != "ok":
                self.add(
                    rec["_row"],
                    "overloaded" if entry["status"] == "over" else "underloaded",
                    "warning",
                    N_("grid {code} has {households} households, target {low}-{high}"),
                    code=rec["code"],
                    households=entry["households"],
                    low=entry["low"],
                    high=entry["high"],
                )
        self._grid_rebalance(new, load)

    def _grid_households(self, rows: list[dict], new: gpd.GeoDataFrame) -> pd.Series | None:
        """Households per grid, counted from the buildings in the database, else the file's
        column (None when neither knows); says which in ``report.load_source``."""
        buildings = buildings_frame(self.session)
        counted = None
        if len(buildings) and buildings["households"].sum() > 0:
            owner = ga.assign_by_location(buildings.geometry, new.geometry)
            per = (
                buildings.groupby(owner.dropna().astype(int))["households"].sum()
                if owner.notna().any()
                else pd.Series(dtype=int)
            )
            if len(per):
                counted = pd.Series([int(per.get(i, 0)) for i in new.index], index=new.index)
                self.report.load_source = note(
                    N_(
                        "households counted from the buildings in the "
                        "database that lie in each grid"
                    )
                )
        if counted is None:
            given = pd.Series([r.get("_households") for r in rows], index=new.index)
            if given.notna().any():
                counted = given
                self.report.load_source = note(
                    N_("households from the file's household column (户数)")
                )
        if counted is None:
            self.report.load_source = note(
                N_(
                    "no households known for these grids yet (no "
                    "buildings with households in the database and no "
                    "户数 column)"
                )
            )
        return counted

    def _grid_rebalance(self, new: gpd.GeoDataFrame, load: pd.DataFrame) -> None:
        """Suggest moves, splits and merges that bring the grids to their targets."""
        suggestions = ga.rebalance_suggestions(new, load, new["community_id"])
        for _, s in suggestions.iterrows():
            code = new.at[s["grid"], "code"]
            partner = new.at[s["partner"], "code"] if s["partner"] is not None else None
            text = {
                "move": N_(
                    "move about {n} households from grid {code} to its neighbour "
                    "{partner} (same community)"
                ),
                "split": N_(
                    "split grid {code} into {parts} grids of about {n} households, "
                    "cutting with {axis} lines"
                ),
                "merge": N_(
                    "merge grid {code} with its neighbour {partner} (together {n} "
                    "households, same community)"
                ),
                "take": N_("move about {n} households from neighbour {partner} into grid {code}"),
                "none": N_(
                    "grid {code}: no neighbour in the same community can balance it; "
                    "review its boundary by hand"
                ),
            }[s["action"]]
            self.report.suggestions.append(
                note(
                    text,
                    code=code,
                    partner=partner,
                    n=None if pd.isna(s["households"]) else int(s["households"]),
                    parts=None if pd.isna(s["parts"]) else int(s["parts"]),
                    axis=note(N_("north-south"))
                    if s["axis"] == "north-south"
                    else note(N_("east-west"))
                    if s["axis"] == "east-west"
                    else None,
                )
            )
