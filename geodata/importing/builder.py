"""One import's pipeline: read frame -> mapped fields -> fitted geometry -> parents -> rows
-> insert or update -> checks -> preview."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.orm import Session

from geodata import fields as F
from geodata.db.models import model_for
from geodata.importing.checks import ChecksMixin
from geodata.importing.fields import FieldsMixin, _column_length
from geodata.importing.grids import GridChecksMixin
from geodata.importing.matching import MatchingMixin
from geodata.importing.parents import ParentsMixin
from geodata.importing.people import PeopleMixin
from geodata.importing.spec import ImportOptions, ImportReport, Progress
from geodata.importing.tracks import TracksMixin
from geodata.readers import SourceData
from gridmap.crs import (
    STORAGE_CRS,
)
from gridmap.layer_geometry import fit_to_layer
from gridmap.layers import REGISTRY, LayerSpec, Registry
from gridmap.notes import N_, note, rejected
from gridmap.privacy import Requester


class Builder(
    FieldsMixin, TracksMixin, ParentsMixin, PeopleMixin, MatchingMixin, ChecksMixin, GridChecksMixin
):
    """One import's working state: the mapped frame, problems, parents, rows."""

    def __init__(
        self,
        session: Session,
        spec: LayerSpec,
        src: SourceData,
        options: ImportOptions,
        requester: Requester,
        report: ImportReport,
        progress: Progress,
        registry: Registry = REGISTRY,
    ) -> None:
        self.session = session
        self.spec = spec
        self.registry = registry
        self.src = src
        self.opts = options
        self.requester = requester
        self.report = report
        self.progress = progress
        self.model = model_for(spec.table)
        self._listed: set[str] = set()

    def run(self) -> tuple[list[dict], gpd.GeoDataFrame]:
        """Map, normalise and check every row of the source for the layer.

        Returns
        -------
        tuple of (list of dict, GeoDataFrame)
            The rows to write, and a preview (EPSG:4326) of every row: code, name, action
            (insert or update) and whether it has an error, for the map.
        """
        spec, src = self.spec, self.src
        if spec.geometry is not None and not src.spatial:
            raise rejected(
                N_(
                    "{file} has no geometry (no lon/lat or WKT columns), but {layer} "
                    "need locations; add lon/lat columns (经度/纬度) or a WKT column"
                ),
                file=src.name,
                layer=note(spec.label),
            )
        frame = src.frame.copy()
        frame["_row"] = np.arange(1, len(frame) + 1)
        if src.spatial:
            self._vertex_limits(frame)
        if (
            spec.name == "patrol_tracks"
            and src.format != "gpx"
            and len(frame)
            and (shapely.get_type_id(frame.geometry.to_numpy()) == 0).all()
        ):
            frame = self._tracks_from_points(frame)
        self.frame = self._map_fields(frame)
        self._categorise()
        if spec.geometry is not None:
            self._normalise_geometry(spec.geometry)
        self.progress("check", 0, 3)
        self._resolve_parents()
        rows = self._rows()
        self.progress("check", 1, 3)
        self._match_existing(rows)
        self._authorise(rows)
        if spec.name == "grids":
            self._grid_checks(rows)
        self.progress("check", 2, 3)
        if spec.geometry is not None and self.opts.read.coords == "wgs84":
            self._offset_check(rows)
        self.progress("check", 3, 3)
        preview = self._preview(rows)
        return rows, preview

    def _normalise_geometry(self, kind: str) -> None:
        """Fit every feature to the layer's geometry kind (``gridmap.layer_geometry``)."""
        frame = self.frame
        refused = {
            p.row for p in self.report.problems if p.severity == "error" and p.row is not None
        }
        takers = {
            kind: [s.label for s in self.registry if s.geometry == kind]
            for kind in ("polygon", "point", "line")
        }
        fitted = fit_to_layer(
            frame.geometry.to_numpy(),
            frame["_row"].to_numpy(),
            kind,
            layer=self.spec.label,
            file=self.src.name,
            takers=takers,
            rows_with_errors=refused,
        )
        self.report.problems.extend(fitted.problems)
        self.report.dropped += int((~fitted.keep).sum())
        frame = frame.set_geometry(fitted.geometries)
        self.frame = frame[fitted.keep].copy()

    def _rows(self) -> list[dict]:
        build = {"households": self._household_rows, "residents": self._resident_rows}.get(
            self.spec.name, self._feature_rows
        )
        return build()

    def _feature_rows(self) -> list[dict]:
        spec, frame = self.spec, self.frame
        rows = []
        name_len = _column_length(self.model, "name")
        for k in frame.index:
            row = int(frame.at[k, "_row"])
            rec: dict[str, Any] = {"_row": row, "_id": None, "_key": None}
            code = F.text(self.value(frame, k, "code"))
            name = F.text(self.value(frame, k, "name"), name_len)
            if spec.name_required and not name:
                self.add(row, "missing_name", "error", N_("the name is empty"))
            rec["code"] = code
            if "name" in self.model.__table__.c:
                rec["name"] = name
            for f in spec.fields:
                rec[f] = self._field_value(frame, k, f, row)
            for parent in spec.parents:
                rec[parent.column] = frame.at[k, f"_{parent.column}"]
            rec["props"] = frame.at[k, "_props"] or None
            rec["_geom"] = frame.geometry[k]
            self._layer_fixups(rec, frame, k)
            rows.append(rec)
        self._assign_codes(rows)
        return rows

    def _preview(self, rows: list[dict]) -> gpd.GeoDataFrame:
        errors = {p.row for p in self.report.problems if p.severity == "error"}
        data = {
            "row": [r["_row"] for r in rows],
            "code": [r.get("code") for r in rows],
            "name": [r.get("_label") or r.get("name") for r in rows],
            "action": ["update" if r["_id"] is not None else "insert" for r in rows],
            "error": [r["_row"] in errors for r in rows],
        }
        geoms = [r.get("_geom") for r in rows]
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS))
