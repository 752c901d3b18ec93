"""Importing a file into one layer: map, normalise, check, report, then write all or nothing.

    report = import_file(session, path, "grids", ImportOptions(community="110108001001"),
                         requester, dry_run=True)

:func:`prepare` reads the file (``geodata.readers``), maps its columns to fields
(``geodata.fields``), normalises geometry for the layer (2D, valid, single or multi
part, empties and zero areas dropped with a report line each), resolves parents (by
code, else by location), decides insert or update for every row (by code, else by
name), runs the layer's checks (grid topology, household load, codes; a GCJ-02
offset against what is already loaded) and returns the full report *before*
anything is written. :func:`write` then writes every row in the caller's
transaction; :func:`import_file` does both and never writes when the report has an
error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata import fields as F
from geodata.db import models as m
from geodata.db.bulk import can_copy, copy_insert
from geodata.db.frames import read_frame, to_ewkt
from geodata.db.models import model_for
from geodata.db.repo import audit, buildings_frame
from geodata.db.scope import PLACE_LEVEL, existing_places, in_place, writable_places
from geodata.readers import ReadOptions, SourceData, read_source
from gridmap import permissions, vocab
from gridmap.analysis import grids as ga
from gridmap.crs import (
    STORAGE_CRS,
    china_outline,
    gcj02_offset_check,
    gcj02_shift_m,
    metric_crs,
    share_inside,
)
from gridmap.errors import PermissionDenied
from gridmap.layers import REGISTRY, LayerSpec, Registry
from gridmap.privacy import Requester, mask_id_number, mask_name
from gridmap.report import N_, Note, Problem, group_problems, note, problem, rejected
from gridmap.standards import poi

Progress = Callable[[str, int, int], None]
CHUNK = 2000
OFFSET_SAMPLE = 20_000  # roads or buildings read to measure a datum shift


# --- layers ------------------------------------------------------------------------------------
LAYERS = REGISTRY  # the layers a file may go to (gridmap.layers)


def layer_spec(name: str, registry: Registry = REGISTRY) -> LayerSpec:
    """The layer called ``name`` (or one of its words) in ``registry``."""
    return registry.spec(name)


# --- options and report ---------------------------------------------------------------------------
@dataclass
class ImportOptions:
    read: ReadOptions = field(default_factory=ReadOptions)
    community: str | None = None  # parent community code for every row without one
    mapping: F.Mapping = field(default_factory=F.Mapping)
    code_scheme: str = "15"  # grid codes: "15" or "20" (CJ/T 349)
    service_code: str | None = None  # CJ/T 349 service-object code (6 digits)
    target_min: int = ga.DEFAULT_TARGET_MIN
    target_max: int = ga.DEFAULT_TARGET_MAX
    min_area_m2: float = 1.0  # overlaps, gaps and crossings smaller than this are noise


@dataclass
class ImportReport:
    layer: str
    file: str
    format: str | None = None
    source_layer: str | None = None
    layers: list[str] = field(default_factory=list)
    features: int = 0
    encoding: str | None = None
    encoding_reason: Note | None = None
    crs: str | None = None
    crs_reason: Note | None = None
    coords: str = "wgs84"
    mapping: dict[str, str] = field(default_factory=dict)
    props_columns: list[str] = field(default_factory=list)
    # one entry per distinct category value: value, count, category (None: unmapped),
    # source (mapping | known | dictionary | None), key (the dictionary entry), excluded
    categories: list[dict] = field(default_factory=list)
    excluded: int = 0
    warnings: list[Note] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    inserts: int = 0
    updates: int = 0
    dropped: int = 0
    generated_codes: list[dict] = field(default_factory=list)
    load: list[dict] = field(default_factory=list)
    load_source: Note | None = None
    suggestions: list[Note] = field(default_factory=list)
    written: int = 0
    written_rows: list[dict] = field(default_factory=list)
    dry_run: bool = False
    committed: bool = False

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        def t(n: Note | None) -> str | None:
            return n.text if n is not None else None

        return {
            "layer": self.layer, "file": self.file, "format": self.format,
            "source_layer": self.source_layer, "layers": self.layers,
            "features": self.features, "crs": self.crs, "crs_reason": t(self.crs_reason),
            "encoding": self.encoding, "encoding_reason": t(self.encoding_reason),
            "coords": self.coords, "mapping": self.mapping, "props_columns": self.props_columns,
            "categories": self.categories, "excluded": self.excluded,
            "unmapped": [{"value": c["value"], "count": c["count"]} for c in self.categories
                         if c["category"] is None and not c["excluded"]],
            "warnings": [w.text for w in self.warnings],
            "notes": [n.text for n in self.notes],
            "problems": [g.as_dict() for g in group_problems(self.problems)],
            "problem_rows": len(self.problems),
            "errors": len(self.errors), "inserts": self.inserts, "updates": self.updates,
            "dropped": self.dropped, "generated_codes": self.generated_codes,
            "load": self.load, "load_source": t(self.load_source),
            "suggestions": [s.text for s in self.suggestions],
            "written": self.written, "dry_run": self.dry_run, "committed": self.committed,
        }


@dataclass
class Prepared:
    spec: LayerSpec
    report: ImportReport
    rows: list[dict]  # column values; "_id" existing id or None, "_row" source row(s)
    preview: gpd.GeoDataFrame  # new/updated features in EPSG:4326 (code, name, action)
    requester: Requester
    mapping: F.Mapping = field(default_factory=F.Mapping)  # the user's mapping (audited)


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


# --- entry points ----------------------------------------------------------------------------------
def import_file(session: Session, path: str | Path, layer: str, options: ImportOptions,
                requester: Requester, *, dry_run: bool = False,
                progress: Progress | None = None, display_name: str | None = None,
                workdir: Path | None = None, registry: Registry = REGISTRY) -> ImportReport:
    """Read, check and (unless ``dry_run`` or errors) write ``path`` into ``layer``.

    Writes happen in ``session``'s transaction; the caller commits. Raises
    InvalidInput for files that cannot be read at all. ``registry``: the layers and their
    fields (``gridmap.layers``).
    """
    prepared = prepare(session, path, layer, options, requester, progress=progress,
                       display_name=display_name, workdir=workdir, registry=registry)
    report = prepared.report
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    write(session, prepared, progress=progress)
    return report


def prepare(session: Session, path: str | Path, layer: str, options: ImportOptions,
            requester: Requester, *, progress: Progress | None = None,
            display_name: str | None = None, workdir: Path | None = None,
            registry: Registry = REGISTRY) -> Prepared:
    """Read ``path``, map, normalise and check it for ``layer``: the rows to write and the
    full report, nothing written (see the module docstring)."""
    spec = registry.spec(layer)
    _check_role(spec, requester)
    progress = progress or _noop
    progress("read", 0, 1)
    src = read_source(path, options.read, display_name=display_name, workdir=workdir)
    progress("read", 1, 1)
    report = ImportReport(layer=spec.name, file=src.name, format=src.format,
                          source_layer=src.layer, layers=src.layers, features=len(src.frame),
                          encoding=src.encoding, encoding_reason=src.encoding_reason,
                          crs=src.crs, crs_reason=src.crs_reason, coords=options.read.coords,
                          warnings=list(src.warnings), notes=list(src.notes),
                          problems=list(src.problems))
    builder = _Builder(session, spec, src, options, requester, report, progress, registry)
    rows, preview = builder.run()
    report.problems.sort(key=lambda p: (p.row is None, p.row or 0, p.severity != "error"))
    report.inserts = sum(1 for r in rows if r["_id"] is None)
    report.updates = len(rows) - report.inserts
    return Prepared(spec, report, rows, preview, requester, options.mapping)


def _check_role(spec: LayerSpec, requester: Requester) -> None:
    """The whole file is refused when the role may write nothing of this layer."""
    if permissions.may_write(requester.role, spec.name):
        return
    if not permissions.layers_writable(requester.role):
        raise PermissionDenied(f"role {requester.role!r} may not import data")
    writers = [r for r in permissions.WRITE if permissions.may_write(r, spec.name)]
    if writers == ["admin"]:
        raise PermissionDenied(f"only administrators may import {spec.name}; "
                               f"role {requester.role!r} may not")
    if set(writers) == {"admin", "street_staff"}:
        raise PermissionDenied(f"only administrators and street-office staff may import "
                               f"{spec.name}; role {requester.role!r} may not")
    raise PermissionDenied(f"role {requester.role!r} may not import {spec.name}")


# --- building the rows --------------------------------------------------------------------------------
def _name_like_column(frame: pd.DataFrame, columns) -> str | None:
    """The column most likely to hold names: text values under a heading that says name
    (…名称, …名稱, …name), else the most values with Chinese characters, else the most text
    values (numbers and codes are not names)."""
    def score(c) -> tuple[int, int, int]:
        values = [str(v) for v in frame[c].head(200) if not F.is_blank(v)]
        texts = sum(not _NUMERIC.fullmatch(v) for v in values)
        named = bool(texts) and bool(re.search(r"名|name", str(c), re.IGNORECASE))
        return (int(named), sum(bool(_CJK.search(v)) for v in values), texts)
    return max(columns, key=score, default=None)  # all alike: the first column


_CJK = re.compile(r"[\u4e00-\u9fff]")
_NUMERIC = re.compile(r"[-+]?[\d.,eE]+")


def _short_hash(*parts) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:10]


def _column_length(model, column: str) -> int | None:
    if column not in model.__table__.c:
        return None
    return getattr(model.__table__.c[column].type, "length", None)


class _Builder:
    """One import's working state: the mapped frame, problems, parents, rows."""

    def __init__(self, session: Session, spec: LayerSpec, src: SourceData, options: ImportOptions,
                 requester: Requester, report: ImportReport, progress: Progress,
                 registry: Registry = REGISTRY) -> None:
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

    # -- helpers
    def add(self, row: int | None, kind: str, severity: str, template: str, **params) -> None:
        self.report.problems.append(problem(row, kind, severity, template, **params))

    def warn(self, template: str, **params) -> None:
        self.report.warnings.append(note(template, **params))

    def say(self, template: str, **params) -> None:
        self.report.notes.append(note(template, **params))

    def value(self, frame: pd.DataFrame, k, name: str):
        """The mapped value of field ``name`` at row label ``k`` (after value maps/defaults)."""
        v = frame.at[k, name] if name in frame.columns else None
        if F.is_blank(v) and name in self.opts.mapping.defaults:
            v = self.opts.mapping.defaults[name]
        values = self.opts.mapping.values.get(name)
        if values and not F.is_blank(v):
            key = F.text(v)
            if key in values:
                v = values[key]
        return v

    # -- the pipeline
    def run(self) -> tuple[list[dict], gpd.GeoDataFrame]:
        spec, src = self.spec, self.src
        if spec.geometry is not None and not src.spatial:
            raise rejected(N_("{file} has no geometry (no lon/lat or WKT columns), but {layer} "
                              "need locations; add lon/lat columns (经度/纬度) or a WKT column"),
                           file=src.name, layer=note(spec.label))
        frame = src.frame.copy()
        frame["_row"] = np.arange(1, len(frame) + 1)
        if src.spatial:
            self._vertex_limits(frame)
        if spec.name == "patrol_tracks" and src.format != "gpx" and len(frame) and \
                (shapely.get_type_id(frame.geometry.to_numpy()) == 0).all():
            frame = self._tracks_from_points(frame)
        self.frame = self._map_fields(frame)
        self._categorise()
        if spec.geometry is not None:
            self._normalise_geometry()
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

    def _vertex_limits(self, frame: gpd.GeoDataFrame) -> None:
        """Refuse the file past the per-file vertex limit, and each feature past the
        per-feature one (its geometry dropped at once: the row is refused anyway)."""
        limits = self.opts.read.limits
        counts = shapely.get_num_coordinates(frame.geometry.to_numpy())
        total = int(counts.sum())
        if total > limits.max_vertices_file:
            raise rejected(N_("{file} has {n} vertices; at most {limit} per file are accepted "
                              "(GRIDMAP_MAX_VERTICES_FILE)"), file=self.src.name, n=total,
                           limit=limits.max_vertices_file)
        for i in np.flatnonzero(counts > limits.max_vertices_feature):
            self.add(int(frame["_row"].iloc[i]), "too_many_vertices", "error",
                     N_("the feature has {n} vertices; at most {limit} are accepted "
                        "(GRIDMAP_MAX_VERTICES_FEATURE)"), n=int(counts[i]),
                     limit=limits.max_vertices_feature)
            frame.iloc[i, frame.columns.get_loc(frame.geometry.name)] = None

    # -- columns
    def _map_fields(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        columns = [c for c in frame.columns if c not in ("geometry", "_row", "times", "points")
                   and not (self.spec.name == "patrol_tracks" and c in _TRACK_DERIVED)]
        if self.src.format in ("kml", "kmz"):
            # GDAL's KML drivers add style/time columns; keep them only when they hold data.
            columns = [c for c in columns if c not in _KML_NOISE or frame[c].notna().any()
                       and not (frame[c].astype(str).isin(["-1", "0", "NaT", "nan", "None", ""])
                                .all())]
        mapping, props, clashes = F.map_columns(columns, self.spec.name, self.spec.allowed,
                                                self.opts.mapping, registry=self.registry)
        self.report.mapping = mapping
        self.report.props_columns = props
        for col, target in clashes:
            self.warn(N_("column {col} also looks like {field}, which column {other} already "
                         "gives; kept {col} in props"), col=col, field=target,
                      other=next(c for c, t in mapping.items() if t == target))
        # A props column (as gridmap exports it) is merged back, not nested.
        exported = [c for c in props if F.normalise_name(c) == "props"]
        props = [c for c in props if c not in exported]
        self.report.props_columns = props
        out = gpd.GeoDataFrame(
            {target: frame[col].to_numpy() for col, target in mapping.items()},
            geometry=frame.geometry.to_numpy(), crs=frame.crs, index=frame.index)
        out["_row"] = frame["_row"].to_numpy()
        if "times" in frame.columns:
            out["times"] = frame["times"].to_numpy()
        out["_props"] = [
            {**{key: val for c in exported for key, val in _parse_props(frame.at[k, c]).items()},
             **{c: v for c in props if (v := F.json_safe(frame.at[k, c])) is not None}}
            for k in frame.index
        ]
        if self.spec.name_required and "name" not in out.columns and \
                "name" not in self.opts.mapping.defaults:
            raise rejected(N_("{file}: no column gives the {layer} name (looked for 名称, name, "
                              "NAME ...; columns are: {columns}); map one in a mapping file, "
                              "e.g. '{example}: name'"),
                           file=self.src.name, layer=note(self.spec.label),
                           columns=", ".join(map(str, columns)) or "-",
                           example=_name_like_column(frame, columns) or "名称")
        return out

    def _categorise(self) -> None:
        """Category cells -> codes, decided once per distinct value: the user's mapping first,
        then the shipped dictionary of map-provider types (``gridmap.standards.poi``), then
        gridmap's own codes and labels. Rows whose value is excluded leave the import (counted,
        one note per value); values nothing decides stay as they are and are refused per row.
        """
        layer = self.spec.name
        terms = F.VOCABS.get(f"{layer}.category")
        if terms is None or "category" not in self.frame.columns:
            return
        frame = self.frame
        user = self.opts.mapping.values.get("category", {})
        cells = frame["category"].map(F.text)
        codes = cells.copy()
        drop = np.zeros(len(frame), dtype=bool)
        for value, count in cells.value_counts(sort=True).items():
            entry = {"value": value, "count": int(count), "category": None, "source": None,
                     "key": None, "excluded": False}
            if value in user:
                target = F.text(user[value])
                entry["source"] = "mapping"
                if target == poi.EXCLUDE:
                    entry["excluded"] = True
                else:
                    entry["category"] = F.vocab_code(target, terms) or target
            elif (hit := poi.classify(layer, value)) is not None:
                entry.update(category=hit.category, source="dictionary", key=hit.key,
                             excluded=hit.excluded)
            elif (code := F.vocab_code(value, terms)) is not None:
                entry.update(category=code, source="known")
            self.report.categories.append(entry)
            at = (cells == value).to_numpy()
            if entry["excluded"]:
                drop |= at
                self.say(N_("{n} rows of category {value!r} left out ({why})"), n=int(count),
                         value=value, why=note(N_("your mapping")) if entry["source"] ==
                         "mapping" else note(N_("shipped dictionary: {key}"), key=entry["key"]))
            elif entry["category"] is not None:
                codes.loc[at] = entry["category"]
        frame["category"] = codes.where(codes.notna(), frame["category"])
        if drop.any():
            self.report.excluded = int(drop.sum())
            self.report.dropped += int(drop.sum())
            frame = frame[~drop].copy()
        self.frame = frame

    def _tracks_from_points(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """CSV/XLSX patrol points (patroller, time, lon, lat[, track]) -> one line per track."""
        mapping, _props, _ = F.map_columns([c for c in frame.columns
                                            if c not in ("geometry", "_row")],
                                           "patrol_tracks", {"patroller", "time", "track",
                                                             "code", "grid"}, self.opts.mapping,
                                           registry=self.registry)
        inv = {v: k for k, v in mapping.items()}
        if "time" not in inv or ("patroller" not in inv
                                 and "patroller" not in self.opts.mapping.defaults):
            raise rejected(N_("{file}: patrol points need a patroller (巡查人) and a time (时间) "
                              "column besides lon/lat"), file=self.src.name)
        pts = pd.DataFrame({
            "patroller": frame[inv["patroller"]].map(F.text) if "patroller" in inv
            else self.opts.mapping.defaults["patroller"],
            "time": frame[inv["time"]].map(F.timestamp),
            "track": frame[inv["track"]].map(F.text) if "track" in inv else "",
            "code": frame[inv["code"]].map(F.text) if "code" in inv else None,
            "grid": frame[inv["grid"]].map(F.text) if "grid" in inv else None,
            "_row": frame["_row"], "geometry": frame.geometry.to_numpy(),
        })
        for k in np.flatnonzero(pts["time"].isna().to_numpy()):
            self.add(int(pts["_row"].iloc[k]), "bad_time", "error",
                     N_("time {value!r} is not a date and time"),
                     value=str(frame[inv["time"]].iloc[k]))
        pts = pts[pts["time"].notna() & pts["geometry"].notna()]
        rows = []
        for (who, track), part in pts.groupby(["patroller", "track"], sort=True, dropna=False):
            part = part.sort_values("time")
            # A new track starts after a pause of more than 30 minutes.
            gap = part["time"].diff() > pd.Timedelta(minutes=30)
            for _seg, seg in part.groupby(gap.cumsum()):
                if len(seg) < 2:
                    self.add(int(seg["_row"].iloc[0]), "dropped", "warning",
                             N_("a track of {who} has a single point; dropped"), who=who)
                    continue
                xy = shapely.get_coordinates(seg["geometry"].to_numpy())
                rows.append({"patroller": who, "track": track or None,
                             "code": seg["code"].dropna().iloc[0] if seg["code"].notna().any()
                             else None,
                             "grid": seg["grid"].dropna().iloc[0] if seg["grid"].notna().any()
                             else None,
                             "times": list(seg["time"]), "_rows": list(seg["_row"]),
                             "geometry": shapely.linestrings(xy)})
        out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["patroller", "track", "code", "grid",
                                                           "times", "_rows", "geometry"]),
                               geometry="geometry", crs=frame.crs)
        out["_row"] = [r[0] for r in out["_rows"]] if len(out) else []
        self.report.notes.append(note(N_("{points} patrol points grouped into {tracks} tracks "
                                            "(by patroller and track; a pause of over 30 minutes "
                                            "starts a new track)"),
                                         points=len(pts), tracks=len(out)))
        return out.drop(columns="_rows")

    # -- geometry
    def _normalise_geometry(self) -> None:
        frame = self.frame
        kind = self.spec.geometry
        geoms = shapely.force_2d(frame.geometry.to_numpy())
        keep = np.ones(len(frame), dtype=bool)
        rows = frame["_row"].to_numpy()
        # Real exports mix kinds (address and entrance points in a building file): features of
        # another kind are skipped with a warning when the file holds the right kind too;
        # when it holds none, the layer or the file is wrong and that is an error.
        types = shapely.get_type_id(geoms)
        fits = np.isin(types, _FITTING_TYPES[kind])
        if not fits.any() and (types >= 0).any():
            raise self._wrong_file(types[types >= 0])
        mixed = bool(fits.any() and (~fits & (types >= 0)).any())
        for i, g in enumerate(geoms):
            row = int(rows[i])
            if g is None or g.is_empty:
                if not any(p.row == row and p.severity == "error" for p in self.report.problems):
                    self.add(row, "dropped", "warning", N_("empty geometry; feature dropped"))
                keep[i] = False
                continue
            out = self._fit(g, kind, row, mixed=mixed)
            if out is None:
                keep[i] = False
                continue
            geoms[i] = out
        self.report.dropped += int((~keep).sum())
        frame = frame.set_geometry(geoms)
        self.frame = frame[keep].copy()

    def _wrong_file(self, types: np.ndarray) -> Exception:
        """One refusal for a file with no feature of the layer's kind: what it holds and
        which layers would take it."""
        kinds = pd.Series([_KIND_OF_TYPE.get(int(t), "other") for t in types]).value_counts()
        held = kinds.index[0]
        takers = [s for s in self.registry if s.geometry == held]
        listing = Note(", ".join(f"{{l{i}}}" for i in range(len(takers))),
                       {f"l{i}": note(s.label) for i, s in enumerate(takers)})
        return rejected(N_("{file} holds {n:,} {what}, but {layer} need {need}: nothing was "
                           "read. A file of {what} goes to {takers}"),
                        file=self.src.name, n=int(kinds.iloc[0]), what=note(_KIND_WORDS[held]),
                        layer=note(self.spec.label), need=note(_KIND_WORDS[self.spec.geometry]),
                        takers=listing if takers else note(N_("no layer")))

    def _wrong_kind(self, row: int, gtype: str, message: str, *, mixed: bool) -> None:
        if mixed:
            self.add(row, "wrong_geometry", "warning", N_("{what}; skipped (the file mixes "
                                                         "kinds of features)"),
                     what=note(message, gtype=gtype, layer=note(self.spec.label)))
        else:
            self.add(row, "wrong_geometry", "error", message, gtype=gtype,
                     layer=note(self.spec.label))

    def _fit(self, g, kind: str, row: int, *, mixed: bool):
        gtype = g.geom_type
        if kind == "polygon":
            if gtype not in ("Polygon", "MultiPolygon", "GeometryCollection"):
                self._wrong_kind(row, gtype, N_("a {gtype}, but {layer} need polygons"), mixed=mixed)
                return None
            if not g.is_valid:
                why = shapely.is_valid_reason(g)
                g = shapely.make_valid(g)
                self.add(row, "repaired", "info", N_("invalid polygon ({why}); repaired with "
                                                     "make_valid"), why=why)
            parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon",
                                                                        "MultiPolygon")]
            polys = [q for p in parts for q in shapely.get_parts(p)]
            polys = [p for p in polys if p.area > 0]
            if not polys:
                self.add(row, "dropped", "warning", N_("zero area; feature dropped"))
                return None
            return shapely.MultiPolygon(polys)
        if kind == "point":
            if gtype == "Point":
                return g
            if gtype == "MultiPoint":
                parts = shapely.get_parts(g)
                if len(parts) > 1:
                    self.add(row, "multipart", "warning",
                             N_("{n} points in one feature; the first is used"), n=len(parts))
                return parts[0]
            if gtype in ("Polygon", "MultiPolygon"):
                self.add(row, "converted", "info",
                         N_("a polygon; its representative point is used"))
                return g.representative_point()
            self._wrong_kind(row, gtype, N_("a {gtype}, but {layer} need points"), mixed=mixed)
            return None
        if kind == "line":
            if gtype == "MultiLineString":
                merged = shapely.line_merge(g)
                if merged.geom_type == "MultiLineString":
                    parts = sorted(shapely.get_parts(merged), key=lambda p: -p.length)
                    self.add(row, "multipart", "warning",
                             N_("{n} separate pieces; the longest is used"), n=len(parts))
                    merged = parts[0]
                g, gtype = merged, merged.geom_type
            if gtype != "LineString":
                self._wrong_kind(row, gtype, N_("a {gtype}, but {layer} need lines"), mixed=mixed)
                return None
            if g.length == 0:
                self.add(row, "dropped", "warning", N_("zero length; feature dropped"))
                return None
            return g
        return g

    # -- parents
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
            given = frame[parent.field].map(F.text) if parent.field in frame.columns else \
                pd.Series([None] * len(frame), index=frame.index, dtype=object)
            if parent.field == "community" and self.opts.community:
                if self.opts.community not in by_code:
                    raise rejected(N_("--community {code}: no community with that code; import "
                                      "the communities first"), code=self.opts.community)
                given = given.where(given.notna(), self.opts.community)
            ids = pd.Series([None] * len(frame), index=frame.index, dtype=object)
            for k, code in given.items():
                if code is None:
                    continue
                if code in by_code:
                    ids[k] = by_code[code]
                else:
                    self.add(int(frame.at[k, "_row"]), "unknown_parent", "error",
                             N_("{parent} {code!r} does not exist; import it first or correct "
                                "the code"), parent=parent.field, code=code)
            missing = ids.isna() & given.isna()
            if missing.any() and parent.locate and len(table) and frame.geometry.notna().any():
                located = self._locate(frame.geometry[missing], table, parent.locate)
                for k, label in located.items():
                    if label is not None:
                        ids[k] = int(table.at[label, "id"])
                n = int(located.notna().sum())
                if n:
                    self.say(N_("{parent} of {n} features found by location"),
                              parent=parent.field, n=n)
            frame[f"_{parent.column}"] = ids

    def _locate(self, geoms: gpd.GeoSeries, table: gpd.GeoDataFrame, how: str) -> pd.Series:
        geoms = gpd.GeoSeries(geoms, crs=STORAGE_CRS)
        if how == "area":
            return ga.assign_by_location(geoms, table.geometry)
        crs = metric_crs(tuple(geoms.total_bounds))
        g = geoms.to_crs(crs).to_numpy()
        t = table.geometry.to_crs(crs).to_numpy()
        idx, dist = shapely.STRtree(t).query_nearest(g, max_distance=30.0, return_distance=True,
                                                     all_matches=False)
        out = pd.Series([None] * len(geoms), index=geoms.index, dtype=object)
        out.iloc[idx[0]] = table.index[idx[1]].to_numpy()
        return out

    # -- rows
    def _rows(self) -> list[dict]:
        build = {"households": self._household_rows, "residents": self._resident_rows}.get(
            self.spec.name, self._feature_rows)
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

    def _field_value(self, frame, k, f: str, row: int):
        v = self.value(frame, k, f)
        layer = self.spec.name
        kind = self.registry.field(f).kind
        if kind == "int":
            out = F.integer(v)
            if out is None and not F.is_blank(v):
                self.add(row, "bad_value", "warning", N_("{field} {value!r} is not a number; "
                                                         "left empty"), field=f, value=str(v))
            return out
        if kind == "time":
            out = F.timestamp(v)
            if out is None and not F.is_blank(v):
                self.add(row, "bad_value", "error", N_("{field} {value!r} is not a date"),
                         field=f, value=str(v))
            return out
        if f"{layer}.{f}" in F.VOCABS:
            out = F.vocab_code(v, F.VOCABS[f"{layer}.{f}"])
            if out is None and not F.is_blank(v):
                self.add(row, "bad_value", "error",
                         N_("{field} {value!r} is not a known {layer} {field}; choose one on the "
                            "import page or in the mapping file's values section"),
                         field=note(_FIELD_WORDS.get(f, f)), value=str(v),
                         layer=note(self.spec.label))
                if f not in self._listed:
                    self._listed.add(f)
                    self.warn(N_("known values of {field}: {known}"), field=f, known=", ".join(
                        f"{t.code} ({t.zh})" for t in F.VOCABS[f"{layer}.{f}"]))
            return out
        if kind == "road_class":
            return F.road_class(v)
        if f == "kind" and layer == "gates":
            t = F.text(v)
            return F.GATE_KINDS.get(t.lower() if t else "", "both")
        if kind == "sex":
            return F.sex(v)
        if kind == "tags":
            terms = vocab.RESIDENT_TAGS if layer == "residents" else vocab.HOUSEHOLD_TAGS
            codes, unknown = F.tag_list(v, terms)
            if unknown:
                self.add(row, "bad_value", "warning", N_("unknown tags {tags}; kept in props"),
                         tags=", ".join(unknown))
            return codes or None
        length = _column_length(self.model, f) if f in self.model.__table__.c else None
        return F.text(v, length)

    def _layer_fixups(self, rec: dict, frame, k) -> None:
        layer, row = self.spec.name, rec["_row"]
        if layer == "grids":
            rec["kind"] = rec.get("kind") or "community"
            hh = F.integer(self.value(frame, k, "households"))
            if hh is not None:
                rec["props"] = {**(rec["props"] or {}), "households": hh}
            rec["_households"] = hh
        elif layer == "buildings":
            rec["use"] = rec.get("use") or "residential"
        elif layer == "roads" and not rec.get("highway"):
            rec["highway"] = "unclassified"  # walkable: a street of no given class
            if "highway" not in self._listed:
                self._listed.add("highway")
                self.warn(N_("rows without a road class (highway, 道路等级) are taken as "
                             "walkable streets ('unclassified'); give the class to exclude "
                             "expressways"))
        elif layer == "key_sites":
            if rec.get("category") is None:
                if not any(p.row == row and p.kind == "bad_value" for p in self.report.problems):
                    self.add(row, "missing_category", "error",
                             N_("no category; give a 类别 column or a default in the mapping file"))
            elif rec.get("inspection_interval_days") is None:
                rec["inspection_interval_days"] = vocab.INSPECTION_INTERVAL_DAYS[rec["category"]]
        elif layer == "facilities":
            if rec.get("category") is None and not any(
                    p.row == row and p.kind == "bad_value" for p in self.report.problems):
                self.add(row, "missing_category", "error",
                         N_("no category; give a 类别 column or a default in the mapping file"))
        elif layer == "hazards":
            rec["_defaulted"] = set()
            for f, default in (("category", "other"), ("severity", "low"), ("status", "reported")):
                if not rec.get(f):
                    rec["_defaulted"].add(f)
                rec[f] = rec.get(f) or default
            if rec.get("found_at") is None:
                rec["found_at"] = datetime.now().replace(microsecond=0)
                self.add(row, "defaulted", "info",
                         N_("no found time; the import time is used"))
        elif layer == "patrol_tracks":
            self._track_times(rec, frame, k)

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
        if isinstance(times, list) and start_given is not None and all(
                isinstance(t, (int, float)) for t in times):
            times = [start_given + pd.Timedelta(seconds=float(t)) for t in times]
        stamps = [F.timestamp(t) for t in (times or [])]
        n = len(shapely.get_coordinates(line)) if line is not None else 0
        if not stamps or any(s is None for s in stamps) or len(stamps) != n:
            self.add(row, "bad_time", "error",
                     N_("the track needs a time at every point ({n} points, {t} times)"),
                     n=n, t=sum(s is not None for s in stamps))
            return
        start = min(stamps)
        rec["started_at"], rec["ended_at"] = start, max(stamps)
        rec["times"] = [round((s - start).total_seconds(), 1) for s in stamps]
        if not rec.get("patroller"):
            rec["patroller"] = F.text(self.opts.mapping.defaults.get("patroller")) or \
                Path(self.src.name).stem[:50]
            self.add(row, "defaulted", "info",
                     N_("no patroller in the file; used {who!r}"), who=rec["patroller"])
        if not rec.get("code"):
            rec["code"] = f"{rec['patroller']}-{start:%Y%m%dT%H%M%S}"[:64]

    def _assign_codes(self, rows: list[dict]) -> None:
        """Rows without a code: grids get scheme codes later; others a stable hash of their
        name (boundaries), or name, address and location (the rest), so a re-import finds
        them again."""
        spec = self.spec
        length = _column_length(self.model, "code") or 48
        for rec in rows:
            if rec.get("code"):
                if len(rec["code"]) > length:
                    self.add(rec["_row"], "bad_code", "error",
                             N_("code {code!r} is longer than {n} characters"),
                             code=rec["code"], n=length)
                continue
            if spec.name == "grids":
                continue  # scheme codes once parents and existing grids are known
            geom = rec.get("_geom")
            where = ""
            if geom is not None and spec.geometry == "point":
                where = f"{geom.x:.5f},{geom.y:.5f}"
            elif geom is not None and not spec.boundary:
                # Names repeat (1号楼 in every compound) or are missing: footprints and lines
                # are told apart by their shape (to 1e-6 degree, 0.1 m) too; the same shape
                # twice (tiled exports repeat it) is one feature. Boundaries go by name alone.
                where = hashlib.sha1(shapely.to_wkb(shapely.normalize(
                    shapely.set_precision(geom, 1e-6)))).hexdigest()
            # Layers without names (hazards, tracks) are told apart by all their fields.
            extra = () if "name" in self.model.__table__.c else tuple(
                str(rec.get(f)) for f in spec.fields)
            rec["_key"] = (rec.get("name"), rec.get("address"), where, *extra)
            rec["code"] = f"{spec.prefix}{_short_hash(spec.name, *rec['_key'])}"[:length]
            rec["_generated"] = True
        if spec.name != "grids":
            self._flag_duplicates(rows)

    def _flag_duplicates(self, rows: list[dict]) -> None:
        by_code: dict[str, list[dict]] = {}
        for rec in rows:
            if rec.get("code"):
                by_code.setdefault(rec["code"], []).append(rec)
        for code, recs in by_code.items():
            if len(recs) < 2:
                continue
            if recs[0].get("_generated"):
                first = recs[0]["_row"]
                for rec in recs[1:]:
                    self.add(rec["_row"], "duplicate", "warning",
                             N_("same name, address and place as row {first}; skipped"),
                             first=first)
                    rec["_skip"] = True
            else:
                rownums = ", ".join(str(r["_row"]) for r in recs)
                for rec in recs:
                    self.add(rec["_row"], "duplicate_code", "error",
                             N_("code {code} appears in rows {rows}; codes must be unique"),
                             code=code, rows=rownums)
        rows[:] = [r for r in rows if not r.get("_skip")]

    # -- households and residents
    def _building_index(self) -> tuple[dict, dict, dict]:
        res = self.session.execute(sa.select(m.Building.id, m.Building.code, m.Building.address,
                                             m.Building.grid_id)).all()
        by_code = {r.code: r.id for r in res}
        by_address: dict[str, list[int]] = {}
        for r in res:
            if r.address:
                by_address.setdefault(_address_key(r.address), []).append(r.id)
        grid_of = {r.id: r.grid_id for r in res}
        codes = {r.id: r.code for r in res}
        self._building_codes = codes
        return by_code, by_address, grid_of

    def _household_rows(self) -> list[dict]:
        """Households in bulk: each column converted once per distinct value and buildings
        matched by code, else by address, with lookups over whole columns, so a city's
        register of a million rows takes a few passes rather than a million lookups. The
        checks and messages are those of the other layers."""
        frame = self.frame
        by_code, by_address, grid_of = self._building_index()
        rows_no = frame["_row"].to_numpy()
        given = _per_value(self.column(frame, "building"), F.text)
        bid = np.array([by_code.get(c) if c is not None else None for c in given], dtype=object)
        keys = _per_value(self.column(frame, "address"),
                          lambda a: _address_key(F.text(a)) if F.text(a) else None)
        for i in np.flatnonzero(bid == None):  # noqa: E711 - element-wise on an object array
            row, code, key = int(rows_no[i]), given[i], keys[i]
            if code is not None:
                self.add(row, "unknown_building", "error",
                         N_("building {code!r} does not exist; import the buildings first"),
                         code=code)
            elif key is not None:
                found = by_address.get(key, [])
                if len(found) == 1:
                    bid[i] = found[0]
                elif found:
                    self.add(row, "ambiguous_address", "error",
                             N_("address {address!r} matches {n} buildings; give the building "
                                "code"), address=F.text(self.column(frame, "address").iloc[i]),
                             n=len(found))
                else:
                    self.add(row, "unknown_building", "error",
                             N_("no building has the address {address!r}"),
                             address=F.text(self.column(frame, "address").iloc[i]))
            else:
                self.add(row, "unknown_building", "error",
                         N_("neither a building code (楼栋编码) nor an address (地址) is given"))
        values = {f: self._bulk_field(frame, f) for f in self.spec.fields}
        values["size"] = np.array([v or 1 for v in values["size"]], dtype=object)
        own = _per_value(self.column(frame, "code"), F.text)
        props = frame["_props"].to_numpy()
        rows = []
        for i in range(len(frame)):
            rec: dict[str, Any] = {"_row": int(rows_no[i]), "_id": None, "building_id": bid[i],
                                   **{f: values[f][i] for f in values}, "props": props[i] or None}
            code = own[i]
            if not code and bid[i] is not None:
                if not (rec["unit"] or rec["room"]):
                    self.add(rec["_row"], "missing_code", "error",
                             N_("no household code and no unit/room to make one from"))
                code = "-".join([self._building_codes[bid[i]], rec["unit"] or "", rec["room"] or ""])
            rec["code"] = code
            rec["_place"] = grid_of.get(bid[i])
            rows.append(rec)
        self._flag_duplicates(rows)
        return rows

    def column(self, frame: pd.DataFrame, name: str) -> pd.Series:
        """Field ``name`` for every row, as :meth:`value` gives it for one."""
        out = frame[name] if name in frame.columns else \
            pd.Series([None] * len(frame), index=frame.index, dtype=object)
        if name in self.opts.mapping.defaults:
            blank = _per_value(out, F.is_blank).astype(bool)
            out = out.where(~blank, self.opts.mapping.defaults[name])
        values = self.opts.mapping.values.get(name)
        if values:
            texts = pd.Series(_per_value(out, F.text), index=out.index)
            out = out.where(~texts.isin(list(values)), texts.map(values))
        return out

    def _bulk_field(self, frame: pd.DataFrame, f: str) -> np.ndarray:
        """:meth:`_field_value` for a whole column: each distinct value converted once, the
        rows of values that do not convert reported one by one."""
        rows_no = frame["_row"].to_numpy()
        codes, uniques = _factorize(self.column(frame, f))
        seen, at = np.unique(codes, return_index=True)
        first = dict(zip(seen.tolist(), at.tolist(), strict=True))
        converted = []
        for c in range(-1, len(uniques)):
            if c not in first:
                converted.append(None)
                continue
            before = len(self.report.problems)
            converted.append(self._field_value(frame, frame.index[first[c]], f,
                                               int(rows_no[first[c]])))
            said = self.report.problems[before:]
            if said:  # the same line for every other row holding this value
                for i in np.flatnonzero(codes == c)[1:]:
                    self.report.problems.extend(
                        problem(int(rows_no[i]), p.kind, p.severity, p.note.template,
                                **p.note.params) for p in said)
        return _object_array(converted)[codes + 1]

    def _find_building(self, frame, k, row, by_code, by_address) -> int | None:
        code = F.text(self.value(frame, k, "building"))
        address = F.text(self.value(frame, k, "address"))
        if code:
            if code in by_code:
                return by_code[code]
            self.add(row, "unknown_building", "error",
                     N_("building {code!r} does not exist; import the buildings first"),
                     code=code)
            return None
        if address:
            found = by_address.get(_address_key(address), [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                self.add(row, "ambiguous_address", "error",
                         N_("address {address!r} matches {n} buildings; give the building code"),
                         address=address, n=len(found))
            else:
                self.add(row, "unknown_building", "error",
                         N_("no building has the address {address!r}"), address=address)
            return None
        self.add(row, "unknown_building", "error",
                 N_("neither a building code (楼栋编码) nor an address (地址) is given"))
        return None

    def _resident_rows(self) -> list[dict]:
        frame = self.frame
        households = self.session.execute(sa.select(m.Household.id, m.Household.code,
                                                    m.Household.building_id)).all()
        hh_by_code = {h.code: h.id for h in households}
        hh_building = {h.id: h.building_id for h in households}
        need_buildings = "household" not in frame.columns
        if need_buildings:
            by_code, by_address, grid_of = self._building_index()
        else:
            grid_of = dict(self.session.execute(sa.select(m.Building.id, m.Building.grid_id)).all())
        rows = []
        for k in frame.index:
            row = int(frame.at[k, "_row"])
            hcode = F.text(self.value(frame, k, "household"))
            if hcode is None and need_buildings:
                bid = self._find_building(frame, k, row, by_code, by_address)
                unit = F.text(self.value(frame, k, "unit"), 16) or ""
                room = F.text(self.value(frame, k, "room"), 16) or ""
                hcode = "-".join([self._building_codes[bid], unit, room]) if bid else None
            hid = hh_by_code.get(hcode) if hcode else None
            if hid is None and hcode is not None:
                self.add(row, "unknown_household", "error",
                         N_("household {code!r} does not exist; import the households first"),
                         code=hcode)
            elif hcode is None and not need_buildings:
                self.add(row, "unknown_household", "error", N_("no household code (户编码)"))
            name = F.text(self.value(frame, k, "name"), 50)
            if not name:
                self.add(row, "missing_name", "error", N_("the name is empty"))
            rec: dict[str, Any] = {"_row": row, "_id": None, "household_id": hid, "name": name}
            for f in self.spec.fields:
                rec[f] = self._field_value(frame, k, f, row)
            idn = rec.get("id_number")
            if idn:
                rec["id_number"] = idn.upper()
                if not F.id_number_ok(idn):
                    self.add(row, "bad_id_number", "warning",
                             N_("ID number {masked} fails the GB 11643 check digit"),
                             masked=mask_id_number(idn))
                elif rec.get("birth_year") is None:
                    rec["birth_year"] = int(idn[6:10])
                if rec.get("sex") is None and F.id_number_ok(idn):
                    rec["sex"] = "M" if int(idn[16]) % 2 else "F"
            rec["props"] = frame.at[k, "_props"] or None
            rec["_label"] = mask_name(name)
            rec["_place"] = grid_of.get(hh_building.get(hid))
            rows.append(rec)
        seen: dict[tuple, int] = {}
        for rec in rows:
            key = ("id", rec["id_number"]) if rec.get("id_number") else \
                ("hh", rec["household_id"], rec["name"])
            rec["_key"] = key
            if key in seen:
                self.add(rec["_row"], "duplicate", "error",
                         N_("the same person as row {first}"), first=seen[key])
            else:
                seen[key] = rec["_row"]
        return rows

    # -- insert or update
    def _match_existing(self, rows: list[dict]) -> None:
        model = self.model
        if self.spec.name == "residents":
            existing = self.session.execute(sa.select(model.id, model.household_id, model.name,
                                                      model.id_number)).all()
            by_id = {r.id_number.upper(): r.id for r in existing if r.id_number}
            by_hh = {(r.household_id, r.name): r.id for r in existing}
            for rec in rows:
                key = rec["_key"]
                rec["_id"] = by_id.get(key[1]) if key[0] == "id" else by_hh.get(key[1:])
            return
        cols = [model.id, model.code]
        if "name" in model.__table__.c:
            cols.append(model.name)
        same_parent = "community_id" in model.__table__.c
        if same_parent:
            cols.append(model.community_id)
        existing = self.session.execute(sa.select(*cols)).all()
        by_code = {r.code: r.id for r in existing}
        by_name: dict[str, list] = {}
        if "name" in model.__table__.c:
            for r in existing:
                by_name.setdefault(r.name, []).append(r)
        claimed = {rec["code"] for rec in rows if rec.get("code") in by_code}
        file_names: dict[str, int] = {}
        for rec in rows:
            if rec.get("name"):
                file_names[rec["name"]] = file_names.get(rec["name"], 0) + 1
        for rec in rows:
            code = rec.get("code")
            if code and code in by_code:
                rec["_id"] = by_code[code]
                continue
            if code and not rec.get("_generated"):
                continue
            # No code of its own: match by name (in the same community) when that is
            # unambiguous on both sides.
            name = rec.get("name")
            same = [r for r in by_name.get(name, []) if r.code not in claimed
                    and (not same_parent or r.community_id == rec.get("community_id"))] \
                if name else []
            if len(same) == 1 and file_names.get(name) == 1:
                rec["_id"] = same[0].id
                rec["code"] = same[0].code
                rec["_generated"] = False
                claimed.add(same[0].code)
                self.add(rec["_row"], "matched_by_name", "info",
                         N_("no code in the file; matched existing {code} by name"),
                         code=same[0].code)
        self._taken_codes = set(by_code)

    # -- who may write what, where
    def _new_place(self, rec: dict, level: str, compound_community: dict):
        if "_place" in rec:  # households and residents: their building's grid
            return rec["_place"]
        if level == "area":
            return rec.get("_geom")
        if self.spec.name == "gates":
            return compound_community.get(rec.get("compound_id"))
        if self.spec.name == "streets":
            return rec["_id"]
        return rec.get({"grid": "grid_id", "community": "community_id",
                        "street": "street_id"}[level])

    def _authorise(self, rows: list[dict]) -> None:
        """Refuse, row by row, what the requester's role may not do (gridmap.permissions)
        and rows whose old or new place lies outside their areas; an existing record's
        workflow fields may not change here."""
        spec, requester = self.spec, self.requester
        level = PLACE_LEVEL.get(spec.name)
        allowed = None if level is None else writable_places(self.session, requester, level)
        updating = [r["_id"] for r in rows if r["_id"] is not None]
        old = existing_places(self.session, spec.name, self.model, updating) \
            if allowed is not None else {}
        compound_community = dict(self.session.execute(
            sa.select(m.Compound.id, m.Compound.community_id)).all()) \
            if spec.name == "gates" and allowed is not None else {}
        for rec in rows:
            action = permissions.UPDATE if rec["_id"] is not None else permissions.CREATE
            if not permissions.may(requester.role, spec.name, action):
                self.add(rec["_row"], "not_allowed", "error",
                         N_("role {role} may not {action} {layer}"), role=requester.role,
                         action=action, layer=note(spec.label))
                continue
            if allowed is None:
                continue
            if rec["_id"] is not None and not in_place(old.get(rec["_id"]), allowed):
                self.add(rec["_row"], "out_of_scope", "error",
                         N_("{code} exists outside your areas; it cannot be changed or moved "
                            "from here"), code=rec.get("code") or rec.get("_label") or "")
            elif not in_place(self._new_place(rec, level, compound_community), allowed):
                self.add(rec["_row"], "out_of_scope", "error",
                         N_("the feature lies outside your areas"))
        self._keep_workflow(rows)

    def _keep_workflow(self, rows: list[dict]) -> None:
        """Workflow fields of existing records keep their stored values; a file that
        tries to change them is refused on that row."""
        fields_ = permissions.WORKFLOW_FIELDS.get(self.spec.name)
        ids = [r["_id"] for r in rows if r["_id"] is not None]
        if not fields_ or not ids:
            return
        model = self.model
        stored = {r[0]: r[1:] for r in self.session.execute(
            sa.select(model.id, *(getattr(model, f) for f in fields_)).where(
                model.id.in_(ids))).all()}
        for rec in rows:
            if rec["_id"] is None:
                continue
            before = dict(zip(fields_, stored[rec["_id"]], strict=True))
            changed = [f for f in fields_ if not F.is_blank(rec.get(f))
                       and f not in rec.get("_defaulted", ())
                       and not _same_value(rec.get(f), before[f])]
            if changed:
                self.add(rec["_row"], "workflow_field", "error",
                         N_("{code}: {fields} change only through the case workflow, not by "
                            "import"), code=rec.get("code"), fields=", ".join(changed))
            rec.update(before)

    # -- grids
    def _grid_checks(self, rows: list[dict]) -> None:
        opts = self.opts
        if not rows:
            return
        updating = {r["_id"] for r in rows if r["_id"] is not None}
        old = read_frame(self.session, sa.select(m.Grid.id, m.Grid.code, m.Grid.name,
                                                 m.Grid.community_id, m.Grid.geom))
        keep_old = old[~old["id"].isin(updating)]
        communities = read_frame(self.session, sa.select(m.Community.id, m.Community.code,
                                                         m.Community.name, m.Community.geom))
        communities = communities.set_index("id", drop=False)
        new = gpd.GeoDataFrame(
            {"row": [r["_row"] for r in rows], "code": [r.get("code") for r in rows],
             "name": [r.get("name") for r in rows],
             "community_id": [r.get("community_id") for r in rows]},
            geometry=[r["_geom"] for r in rows], crs=STORAGE_CRS)
        # Codes: generate the missing ones, in reading order inside each community.
        cc = new["community_id"].map(lambda i: communities.at[i, "code"]
                                     if i is not None and i in communities.index else None)
        missing = new["code"].isna()
        if missing.any():
            taken = set(self._taken_codes) | set(new["code"].dropna())
            gen = ga.generate_grid_codes(new, cc, scheme=opts.code_scheme,
                                         service_code=opts.service_code, taken=taken)
            for k in np.flatnonzero(missing.to_numpy()):
                rec = rows[k]
                code, why = gen["code"].iloc[k], gen["reason"].iloc[k]
                if code is None:
                    base = cc.iloc[k] or "X"
                    code = f"{base}-{int(gen['sequence'].iloc[k]):03d}"[:24]
                    self.add(rec["_row"], "code_fallback", "warning",
                             N_("cannot make a standard grid code ({why}); used {code}"),
                             why=why, code=code)
                rec["code"] = code
                new.loc[new.index[k], "code"] = code
                self.report.generated_codes.append({"row": rec["_row"], "code": code,
                                                    "name": rec.get("name"),
                                                    "sequence": int(gen["sequence"].iloc[k])})
                self.add(rec["_row"], "generated_code", "info",
                         N_("no code in the file; generated {code} (sequence {seq}, "
                            "{scheme}-digit scheme)"), code=code,
                         seq=int(gen["sequence"].iloc[k]), scheme=opts.code_scheme)
        self._flag_duplicates(rows)
        # Existing codes: the standard's shape.
        for k, rec in enumerate(rows):
            if rec["_row"] in {g["row"] for g in self.report.generated_codes}:
                continue
            why = ga.validate_grid_code(rec["code"], community_code=cc.iloc[k])
            if why:
                self.add(rec["_row"], "code_format", "warning",
                         N_("grid code {code} is not a standard 15- or 20-digit code: {why}"),
                         code=rec["code"], why=why)
        for rec in rows:
            if rec.get("community_id") is None:
                self.add(rec["_row"], "no_community", "warning",
                         N_("the grid lies in no known community; import the communities first "
                            "or pass --community"))
        # Overlaps among the new grids and with the grids that stay.
        both = pd.concat([new.assign(src="new"),
                          gpd.GeoDataFrame({"row": None, "code": keep_old["code"],
                                            "name": keep_old["name"],
                                            "community_id": keep_old["community_id"],
                                            "src": "old"}, geometry=keep_old.geometry.to_numpy(),
                                           crs=STORAGE_CRS)], ignore_index=True)
        over = ga.grid_overlaps(both, min_area_m2=opts.min_area_m2)
        for _, o in over.iterrows():
            a, b = both.loc[o["left"]], both.loc[o["right"]]
            if a["src"] == "old" and b["src"] == "old":
                continue
            if a["src"] == "old":
                a, b = b, a
            if b["src"] == "new":
                self.report.problems.append(problem(
                    int(a["row"]), "overlap", "error",
                    N_("grid {code} overlaps grid {other} (row {other_row}) by {area:,.0f} m²"),
                    code=a["code"], other=b["code"], other_row=int(b["row"]),
                    area=float(o["area_m2"]), area_m2=float(o["area_m2"])))
            else:
                self.report.problems.append(problem(
                    int(a["row"]), "overlap", "error",
                    N_("grid {code} overlaps the existing grid {other} by {area:,.0f} m²"),
                    code=a["code"], other=b["code"], area=float(o["area_m2"]),
                    area_m2=float(o["area_m2"])))
        # Inside the community, and the gaps each community is left with.
        if len(communities):
            fit = ga.community_fit(both, communities, both["community_id"],
                                   min_area_m2=opts.min_area_m2)
            for k in both.index[both["src"] == "new"]:
                status = fit.at[k, "status"]
                rec = both.loc[k]
                cname = communities.at[rec["community_id"], "name"] \
                    if rec["community_id"] in communities.index else None
                if status == "outside":
                    self.report.problems.append(problem(
                        int(rec["row"]), "outside_community", "error",
                        N_("grid {code} lies outside its community {community}"),
                        code=rec["code"], community=cname))
                elif status == "crosses":
                    area = float(fit.at[k, "outside_m2"])
                    self.report.problems.append(problem(
                        int(rec["row"]), "crosses_community", "warning",
                        N_("grid {code} crosses the boundary of {community}: {area:,.0f} m² "
                           "({share:.1%}) lie outside"), code=rec["code"], community=cname,
                        area=area, share=float(fit.at[k, "share_outside"]), area_m2=area))
            touched = set(new["community_id"].dropna())
            in_touched = both[both["community_id"].isin(touched)]
            gaps = ga.community_gaps(in_touched, communities, in_touched["community_id"],
                                     min_area_m2=opts.min_area_m2)
            for cid, gap in gaps.iterrows():
                self.report.problems.append(problem(
                    None, "gap", "warning",
                    N_("community {community} ({code}): {area:,.0f} m² in {parts} pieces are "
                       "covered by no grid"), community=communities.at[cid, "name"],
                    code=communities.at[cid, "code"], area=float(gap["gap_m2"]),
                    parts=int(gap["parts"]), area_m2=float(gap["gap_m2"])))
        self._grid_load(rows, new)

    def _grid_load(self, rows: list[dict], new: gpd.GeoDataFrame) -> None:
        opts = self.opts
        buildings = buildings_frame(self.session)
        counted = None
        if len(buildings) and buildings["households"].sum() > 0:
            owner = ga.assign_by_location(buildings.geometry, new.geometry)
            per = buildings.groupby(owner.dropna().astype(int))["households"].sum() \
                if owner.notna().any() else pd.Series(dtype=int)
            if len(per):
                counted = pd.Series([int(per.get(i, 0)) for i in new.index], index=new.index)
                self.report.load_source = note(N_("households counted from the buildings in the "
                                                  "database that lie in each grid"))
        if counted is None:
            given = pd.Series([r.get("_households") for r in rows], index=new.index)
            if given.notna().any():
                counted = given
                self.report.load_source = note(N_("households from the file's household column "
                                                  "(户数)"))
        if counted is None:
            self.report.load_source = note(N_("no households known for these grids yet (no "
                                              "buildings with households in the database and no "
                                              "户数 column)"))
            return
        targets = pd.Series([r.get("target_households") for r in rows], index=new.index)
        load = ga.household_load(counted, targets=targets, target_min=opts.target_min,
                                 target_max=opts.target_max)
        for k, rec in zip(new.index, rows, strict=True):
            entry = {"row": rec["_row"], "code": rec["code"], "name": rec.get("name"),
                     **{c: (int(load.at[k, c]) if c != "status" else load.at[k, c])
                        for c in ("households", "low", "high", "status")}}
            self.report.load.append(entry)
            if entry["status"] != "ok":
                self.add(rec["_row"], "overloaded" if entry["status"] == "over" else
                         "underloaded", "warning",
                         N_("grid {code} has {households} households, target {low}-{high}"),
                         code=rec["code"], households=entry["households"], low=entry["low"],
                         high=entry["high"])
        suggestions = ga.rebalance_suggestions(new, load, new["community_id"])
        for _, s in suggestions.iterrows():
            code = new.at[s["grid"], "code"]
            partner = new.at[s["partner"], "code"] if s["partner"] is not None else None
            text = {
                "move": N_("move about {n} households from grid {code} to its neighbour "
                           "{partner} (same community)"),
                "split": N_("split grid {code} into {parts} grids of about {n} households, "
                            "cutting with {axis} lines"),
                "merge": N_("merge grid {code} with its neighbour {partner} (together {n} "
                            "households, same community)"),
                "take": N_("move about {n} households from neighbour {partner} into grid {code}"),
                "none": N_("grid {code}: no neighbour in the same community can balance it; "
                           "review its boundary by hand"),
            }[s["action"]]
            self.report.suggestions.append(note(
                text, code=code, partner=partner,
                n=None if pd.isna(s["households"]) else int(s["households"]),
                parts=None if pd.isna(s["parts"]) else int(s["parts"]),
                axis=note(N_("north-south")) if s["axis"] == "north-south"
                else note(N_("east-west")) if s["axis"] == "east-west" else None))

    # -- GCJ-02 offset
    def _offset_check(self, rows: list[dict]) -> None:
        """A layer declared WGS84: compared with what is loaded for the same area (boundaries,
        compounds, roads, buildings); where nothing is there to compare with and the layer
        lies in China (the shipped outline, or the loaded districts), the report says so."""
        new = [r["_geom"] for r in rows if r.get("_geom") is not None]
        if not new:
            return
        existing = []
        updating = {r["_id"] for r in rows if r["_id"] is not None}
        for model in (m.District, m.Street, m.Community, m.Grid, m.Compound, m.Road,
                      m.Building):
            stmt = sa.select(model.id, model.geom)
            if model in (m.Road, m.Building):  # a sample is enough to measure a shift
                stmt = stmt.order_by(model.id).limit(OFFSET_SAMPLE)
            frame = read_frame(self.session, stmt)
            if model is self.model:
                frame = frame[~frame["id"].isin(updating)]
            existing.extend(frame.geometry.to_numpy())
        new_arr = np.asarray(new, dtype=object)
        check = gcj02_offset_check(new_arr, np.asarray(existing, dtype=object)) \
            if existing else None
        if check is not None and check.suspected:
            self.warn(N_("this layer was declared WGS84 but sits {before:,.0f} m (median) from "
                         "the layers already loaded for the same area; read as GCJ-02 it would "
                         "sit {after:,.0f} m from them. Amap/Tencent data is GCJ-02: re-import "
                         "with --coords gcj02"), before=check.median_m,
                      after=check.median_if_gcj02_m)
        elif check is None:
            self._datum_alone(new_arr)

    def _datum_alone(self, new: np.ndarray) -> None:
        districts = read_frame(self.session, sa.select(m.District.id, m.District.geom))
        where, inside = note(N_("the outline of China shipped with gridmap")), \
            share_inside(new, china_outline())
        if len(districts) and self.spec.name != "districts":
            in_districts = share_inside(new, shapely.union_all(districts.geometry.to_numpy()))
            if in_districts > inside:
                where, inside = note(N_("the districts already loaded")), in_districts
        if inside < 0.5:
            return
        self.warn(N_("this layer was declared WGS84 and lies in China ({where}), where Amap, "
                     "Tencent and DataV coordinates are GCJ-02 and sit {shift:,.0f} m off. "
                     "Nothing is loaded here to compare it with, so the datum could not be "
                     "checked: if the file came from Amap, Tencent or DataV, import it with "
                     "--coords gcj02; GPS, Tianditu and survey data are right as declared"),
                  where=where, shift=gcj02_shift_m(*shapely.get_coordinates(
                      shapely.point_on_surface(new[0]))[0]))

    # -- preview
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


# shapely type ids a layer kind takes (points also take polygons: their representative point)
_FITTING_TYPES = {"polygon": (3, 6, 7), "point": (0, 4, 3, 6), "line": (1, 5)}
_FIELD_WORDS = {"category": N_("category"), "use": N_("use"), "severity": N_("severity"),
                "status": N_("status"), "kind": N_("kind")}
_KIND_OF_TYPE = {0: "point", 4: "point", 1: "line", 5: "line", 2: "line", 3: "polygon",
                 6: "polygon"}
_KIND_WORDS = {"point": N_("points"), "line": N_("lines"), "polygon": N_("polygons"),
               "other": N_("geometry collections")}
_TRACK_DERIVED = frozenset({"ended_at", "ended"})
_KML_NOISE = frozenset({"id", "Name", "description", "timestamp", "begin", "end", "altitudeMode",
                        "tessellate", "extrude", "visibility", "drawOrder", "icon"})


def _parse_props(value) -> dict:
    if isinstance(value, dict):
        return value
    if F.is_blank(value):
        return {}
    try:
        out = json.loads(str(value))
    except ValueError:
        return {"props": str(value)}
    return out if isinstance(out, dict) else {"props": out}


def _per_value(series: pd.Series, fn) -> np.ndarray:
    """``fn`` of every cell, computed once per distinct value (blank cells: ``fn(None)``)."""
    codes, uniques = _factorize(series)
    return _object_array([fn(None), *(fn(u) for u in uniques)])[codes + 1]


def _factorize(series: pd.Series) -> tuple[np.ndarray, list]:
    """(code of each cell, -1 for blanks; the distinct values). Cells holding lists or dicts
    (GeoJSON arrays) are their own values."""
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return codes, list(uniques)
    except TypeError:
        return np.arange(len(series)), list(series)


def _object_array(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # lists stay lists (no broadcasting)
        out[i] = v
    return out


def _same_value(new, old) -> bool:
    if isinstance(old, datetime) or isinstance(new, datetime):
        return pd.Timestamp(new) == pd.Timestamp(old) if old is not None else False
    return F.text(new) == F.text(old)


def _address_key(address: str) -> str:
    return F.normalise_name(address)


# --- writing --------------------------------------------------------------------------------------
def write(session: Session, prepared: Prepared, *, progress: Progress | None = None) -> int:
    """Insert and update every prepared row in the caller's transaction; returns rows written.

    Refuses a report with errors. Hazards get an 'import' event; the import is audited.
    """
    report, spec = prepared.report, prepared.spec
    if not report.ok:
        raise rejected(N_("the import has {n} errors; nothing was written"), n=len(report.errors))
    progress = progress or _noop
    table = model_for(spec.table).__table__
    columns = set(table.c.keys()) - {"id"}
    inserts, updates = [], []
    for rec in prepared.rows:
        values = {k: v for k, v in rec.items() if k in columns}
        if spec.geometry is not None:
            values["geom"] = to_ewkt(rec["_geom"])
        if rec["_id"] is None:
            inserts.append(values)
        else:
            updates.append({"b_id": rec["_id"], **values})
    total = len(inserts) + len(updates)
    done = 0
    progress("write", 0, total)
    if can_copy(session, len(inserts)):
        copy_insert(session, table, inserts, progress=lambda n: progress("write", n, total))
        done = len(inserts)
    else:
        for start in range(0, len(inserts), CHUNK):
            chunk = inserts[start:start + CHUNK]
            session.execute(sa.insert(table), chunk)
            done += len(chunk)
            progress("write", done, total)
    if updates:
        keys = sorted({k for u in updates for k in u} - {"b_id"})
        stmt = sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(
            {k: sa.bindparam(k, type_=table.c[k].type) for k in keys})
        for start in range(0, len(updates), CHUNK):
            chunk = [{k: u.get(k) for k in ["b_id", *keys]}
                     for u in updates[start:start + CHUNK]]
            session.execute(stmt, chunk)
            done += len(chunk)
            progress("write", done, total)
    if spec.name == "hazards" and inserts:
        ids = dict(session.execute(sa.select(m.Hazard.code, m.Hazard.id).where(
            m.Hazard.code.in_([r["code"] for r in inserts]))).all())
        session.execute(sa.insert(m.HazardEvent), [
            {"hazard_id": ids[r["code"]], "at": datetime.now().replace(microsecond=0),
             "actor": prepared.requester.username, "action": "import", "from_status": None,
             "to_status": r["status"], "note": f"imported from {report.file}"} for r in inserts])
    audit(session, prepared.requester, "import", f"{spec.name}:{report.file}",
          {"inserted": len(inserts), "updated": len(updates), "format": report.format,
           "crs": report.crs, "encoding": report.encoding, "excluded": report.excluded,
           "mapping": F.mapping_dict(prepared.mapping)})
    session.flush()
    report.written = total
    report.written_rows = [
        {"row": r["_row"], "code": r.get("code"), "name": r.get("_label") or r.get("name"),
         "action": "update" if r["_id"] is not None else "insert"} for r in prepared.rows]
    report.committed = True
    return total
