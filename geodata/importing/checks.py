"""Refusals before writing: file and feature size, role and areas, workflow fields, and
the datum of a layer declared WGS84."""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from geodata import fields as F
from geodata.db import models as m
from geodata.db.frames import read_frame
from geodata.db.scope import PLACE_LEVEL, existing_places, in_place, writable_places
from geodata.importing.state import BuilderState
from gridmap import permissions
from gridmap.crs import (
    china_outline,
    gcj02_offset_check,
    gcj02_shift_m,
    share_inside,
)
from gridmap.notes import N_, note, rejected

OFFSET_SAMPLE = 20_000  # roads or buildings read to measure a datum shift


def _same_value(new, old) -> bool:
    if isinstance(old, datetime) or isinstance(new, datetime):
        return pd.Timestamp(new) == pd.Timestamp(old) if old is not None else False
    return F.text(new) == F.text(old)


class ChecksMixin(BuilderState):
    """Checks of the rows against the requester and what is loaded."""

    def _vertex_limits(self, frame: gpd.GeoDataFrame) -> None:
        """Refuse the file past the per-file vertex limit, and each feature past the
        per-feature one (its geometry dropped at once: the row is refused anyway)."""
        limits = self.opts.read.limits
        counts = shapely.get_num_coordinates(frame.geometry.to_numpy())
        total = int(counts.sum())
        if total > limits.max_vertices_file:
            raise rejected(
                N_(
                    "{file} has {n} vertices; at most {limit} per file are accepted "
                    "(GRIDMAP_MAX_VERTICES_FILE)"
                ),
                file=self.src.name,
                n=total,
                limit=limits.max_vertices_file,
            )
        for i in np.flatnonzero(counts > limits.max_vertices_feature):
            self.add(
                int(frame["_row"].iloc[i]),
                "too_many_vertices",
                "error",
                N_(
                    "the feature has {n} vertices; at most {limit} are accepted "
                    "(GRIDMAP_MAX_VERTICES_FEATURE)"
                ),
                n=int(counts[i]),
                limit=limits.max_vertices_feature,
            )
            frame.iloc[i, frame.columns.get_loc(frame.geometry.name)] = None

    def _new_place(self, rec: dict, level: str, compound_community: dict):
        if "_place" in rec:  # households and residents: their building's grid
            return rec["_place"]
        if level == "area":
            return rec.get("_geom")
        if self.spec.name == "gates":
            return compound_community.get(rec.get("compound_id"))
        if self.spec.name == "streets":
            return rec["_id"]
        return rec.get(
            {"grid": "grid_id", "community": "community_id", "street": "street_id"}[level]
        )

    def _authorise(self, rows: list[dict]) -> None:
        """Refuse, row by row, what the requester's role may not do (gridmap.permissions)
        and rows whose old or new place lies outside their areas; an existing record's
        workflow fields may not change here."""
        spec, requester = self.spec, self.requester
        level = PLACE_LEVEL.get(spec.name)
        allowed = None if level is None else writable_places(self.session, requester, level)
        updating = [r["_id"] for r in rows if r["_id"] is not None]
        old = (
            existing_places(self.session, spec.name, self.model, updating)
            if allowed is not None
            else {}
        )
        compound_community = (
            dict(self.session.execute(sa.select(m.Compound.id, m.Compound.community_id)).all())
            if spec.name == "gates" and allowed is not None
            else {}
        )
        for rec in rows:
            action = permissions.UPDATE if rec["_id"] is not None else permissions.CREATE
            if not permissions.may(requester.role, spec.name, action):
                self.add(
                    rec["_row"],
                    "not_allowed",
                    "error",
                    N_("role {role} may not {action} {layer}"),
                    role=requester.role,
                    action=action,
                    layer=note(spec.label),
                )
                continue
            if allowed is None or level is None:  # level is None only when allowed is
                continue
            if rec["_id"] is not None and not in_place(old.get(rec["_id"]), allowed):
                self.add(
                    rec["_row"],
                    "out_of_scope",
                    "error",
                    N_("{code} exists outside your areas; it cannot be changed or moved from here"),
                    code=rec.get("code") or rec.get("_label") or "",
                )
            elif not in_place(self._new_place(rec, level, compound_community), allowed):
                self.add(
                    rec["_row"], "out_of_scope", "error", N_("the feature lies outside your areas")
                )
        self._keep_workflow(rows)

    def _keep_workflow(self, rows: list[dict]) -> None:
        """Workflow fields of existing records keep their stored values; a file that
        tries to change them is refused on that row."""
        fields_ = permissions.WORKFLOW_FIELDS.get(self.spec.name)
        ids = [r["_id"] for r in rows if r["_id"] is not None]
        if not fields_ or not ids:
            return
        model = self.model
        stored = {
            r[0]: r[1:]
            for r in self.session.execute(
                sa.select(model.id, *(getattr(model, f) for f in fields_)).where(model.id.in_(ids))
            ).all()
        }
        for rec in rows:
            if rec["_id"] is None:
                continue
            before = dict(zip(fields_, stored[rec["_id"]], strict=True))
            changed = [
                f
                for f in fields_
                if not F.is_blank(rec.get(f))
                and f not in rec.get("_defaulted", ())
                and not _same_value(rec.get(f), before[f])
            ]
            if changed:
                self.add(
                    rec["_row"],
                    "workflow_field",
                    "error",
                    N_("{code}: {fields} change only through the case workflow, not by import"),
                    code=rec.get("code"),
                    fields=", ".join(changed),
                )
            rec.update(before)

    def _offset_check(self, rows: list[dict]) -> None:
        """A layer declared WGS84: compared with what is loaded for the same area (boundaries,
        compounds, roads, buildings); where nothing is there to compare with and the layer
        lies in China (the shipped outline, or the loaded districts), the report says so."""
        new = [r["_geom"] for r in rows if r.get("_geom") is not None]
        if not new:
            return
        existing = []
        updating = {r["_id"] for r in rows if r["_id"] is not None}
        for model in (m.District, m.Street, m.Community, m.Grid, m.Compound, m.Road, m.Building):
            stmt = sa.select(model.id, model.geom)
            if model in (m.Road, m.Building):  # a sample is enough to measure a shift
                stmt = stmt.order_by(model.id).limit(OFFSET_SAMPLE)
            frame = read_frame(self.session, stmt)
            if model is self.model:
                frame = frame[~frame["id"].isin(updating)]
            existing.extend(frame.geometry.to_numpy())
        new_arr = np.asarray(new, dtype=object)
        check = (
            gcj02_offset_check(new_arr, np.asarray(existing, dtype=object)) if existing else None
        )
        if check is not None and check.suspected:
            self.warn(
                N_(
                    "this layer was declared WGS84 but sits {before:,.0f} m (median) from "
                    "the layers already loaded for the same area; read as GCJ-02 it would "
                    "sit {after:,.0f} m from them. Amap/Tencent data is GCJ-02: re-import "
                    "with --coords gcj02"
                ),
                before=check.median_m,
                after=check.median_if_gcj02_m,
            )
        elif check is None:
            self._datum_alone(new_arr)

    def _datum_alone(self, new: np.ndarray) -> None:
        districts = read_frame(self.session, sa.select(m.District.id, m.District.geom))
        where, inside = (
            note(N_("the outline of China shipped with gridmap")),
            share_inside(new, china_outline()),
        )
        if len(districts) and self.spec.name != "districts":
            in_districts = share_inside(new, shapely.union_all(districts.geometry.to_numpy()))
            if in_districts > inside:
                where, inside = note(N_("the districts already loaded")), in_districts
        if inside < 0.5:
            return
        self.warn(
            N_(
                "this layer was declared WGS84 and lies in China ({where}), where Amap, "
                "Tencent and DataV coordinates are GCJ-02 and sit {shift:,.0f} m off. "
                "Nothing is loaded here to compare it with, so the datum could not be "
                "checked: if the file came from Amap, Tencent or DataV, import it with "
                "--coords gcj02; GPS, Tianditu and survey data are right as declared"
            ),
            where=where,
            shift=gcj02_shift_m(*shapely.get_coordinates(shapely.point_on_surface(new[0]))[0]),
        )
