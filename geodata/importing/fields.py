"""Columns -> fields and cells -> stored values: mapping, categories, conversion,
the per-layer defaults."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata import fields as F
from geodata.column_mapping import map_columns, normalise_name
from geodata.importing.state import BuilderState
from gridmap import vocab
from gridmap.notes import N_, note, problem, rejected
from gridmap.standards import poi

_FIELD_WORDS = {
    "category": N_("category"),
    "use": N_("use"),
    "severity": N_("severity"),
    "status": N_("status"),
    "kind": N_("kind"),
}


_TRACK_DERIVED = frozenset({"ended_at", "ended"})


_KML_NOISE = frozenset(
    {
        "id",
        "Name",
        "description",
        "timestamp",
        "begin",
        "end",
        "altitudeMode",
        "tessellate",
        "extrude",
        "visibility",
        "drawOrder",
        "icon",
    }
)


_CJK = re.compile(r"[\u4e00-\u9fff]")


_NUMERIC = re.compile(r"[-+]?[\d.,eE]+")


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


def _column_length(model, column: str) -> int | None:
    if column not in model.__table__.c:
        return None
    return getattr(model.__table__.c[column].type, "length", None)


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


class FieldsMixin(BuilderState):
    """The mapped frame's fields, value by value or column by column."""

    def value(self, frame: pd.DataFrame, k, name: str):
        """The mapped value of field ``name`` at row label ``k`` (after value maps/defaults).

        Parameters
        ----------
        frame : DataFrame
            The mapped frame.
        k : hashable
            The row label.
        name : str
            The field.

        Returns
        -------
        object
            The value, None when the row has none.
        """
        v = frame.at[k, name] if name in frame.columns else None
        if F.is_blank(v) and name in self.opts.mapping.defaults:
            v = self.opts.mapping.defaults[name]
        values = self.opts.mapping.values.get(name)
        if values and not F.is_blank(v):
            key = F.text(v)
            if key in values:
                v = values[key]
        return v

    def column(self, frame: pd.DataFrame, name: str) -> pd.Series:
        """Field ``name`` for every row, as :meth:`value` gives it for one.

        Parameters
        ----------
        frame : DataFrame
            The mapped frame.
        name : str
            The field.

        Returns
        -------
        Series
        """
        out = (
            frame[name]
            if name in frame.columns
            else pd.Series([None] * len(frame), index=frame.index, dtype=object)
        )
        if name in self.opts.mapping.defaults:
            blank = _per_value(out, F.is_blank).astype(bool)
            out = out.where(~blank, self.opts.mapping.defaults[name])
        values = self.opts.mapping.values.get(name)
        if values:
            texts = pd.Series(_per_value(out, F.text), index=out.index)
            out = out.where(~texts.isin(list(values)), texts.map(values))
        return out

    def _map_fields(self, frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        columns = [
            c
            for c in frame.columns
            if c not in ("geometry", "_row", "times", "points")
            and not (self.spec.name == "patrol_tracks" and c in _TRACK_DERIVED)
        ]
        if self.src.format in ("kml", "kmz"):
            # GDAL's KML drivers add style/time columns; keep them only when they hold data.
            columns = [
                c
                for c in columns
                if c not in _KML_NOISE
                or frame[c].notna().any()
                and not (frame[c].astype(str).isin(["-1", "0", "NaT", "nan", "None", ""]).all())
            ]
        mapping, props, clashes = map_columns(
            columns, self.spec.name, self.spec.allowed, self.opts.mapping, registry=self.registry
        )
        self.report.mapping = mapping
        self.report.props_columns = props
        for col, target in clashes:
            self.warn(
                N_(
                    "column {col} also looks like {field}, which column {other} already "
                    "gives; kept {col} in props"
                ),
                col=col,
                field=target,
                other=next(c for c, t in mapping.items() if t == target),
            )
        # A props column (as gridmap exports it) is merged back, not nested.
        exported = [c for c in props if normalise_name(c) == "props"]
        props = [c for c in props if c not in exported]
        self.report.props_columns = props
        out = gpd.GeoDataFrame(
            {target: frame[col].to_numpy() for col, target in mapping.items()},
            geometry=frame.geometry.to_numpy(),
            crs=frame.crs,
            index=frame.index,
        )
        out["_row"] = frame["_row"].to_numpy()
        if "times" in frame.columns:
            out["times"] = frame["times"].to_numpy()
        out["_props"] = [
            {
                **{key: val for c in exported for key, val in _parse_props(frame.at[k, c]).items()},
                **{c: v for c in props if (v := F.json_safe(frame.at[k, c])) is not None},
            }
            for k in frame.index
        ]
        if (
            self.spec.name_required
            and "name" not in out.columns
            and "name" not in self.opts.mapping.defaults
        ):
            raise rejected(
                N_(
                    "{file}: no column gives the {layer} name (looked for 名称, name, "
                    "NAME ...; columns are: {columns}); map one in a mapping file, "
                    "e.g. '{example}: name'"
                ),
                file=self.src.name,
                layer=note(self.spec.label),
                columns=", ".join(map(str, columns)) or "-",
                example=_name_like_column(frame, columns) or "名称",
            )
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
            entry = {
                "value": value,
                "count": int(count),
                "category": None,
                "source": None,
                "key": None,
                "excluded": False,
            }
            if value in user:
                target = F.text(user[value])
                entry["source"] = "mapping"
                if target == poi.EXCLUDE:
                    entry["excluded"] = True
                else:
                    entry["category"] = F.vocab_code(target, terms) or target
            elif (hit := poi.classify(layer, value)) is not None:
                entry.update(
                    category=hit.category, source="dictionary", key=hit.key, excluded=hit.excluded
                )
            elif (code := F.vocab_code(value, terms)) is not None:
                entry.update(category=code, source="known")
            self.report.categories.append(entry)
            at = (cells == value).to_numpy()
            if entry["excluded"]:
                drop |= at
                self.say(
                    N_("{n} rows of category {value!r} left out ({why})"),
                    n=int(count),
                    value=value,
                    why=note(N_("your mapping"))
                    if entry["source"] == "mapping"
                    else note(N_("shipped dictionary: {key}"), key=entry["key"]),
                )
            elif entry["category"] is not None:
                codes.loc[at] = entry["category"]
        frame["category"] = codes.where(codes.notna(), frame["category"])
        if drop.any():
            self.report.excluded = int(drop.sum())
            self.report.dropped += int(drop.sum())
            frame = frame[~drop].copy()
        self.frame = frame

    def _field_value(self, frame, k, f: str, row: int):
        v = self.value(frame, k, f)
        layer = self.spec.name
        kind = self.registry.field(f).kind
        if kind == "int":
            number = F.integer(v)
            if number is None and not F.is_blank(v):
                self.add(
                    row,
                    "bad_value",
                    "warning",
                    N_("{field} {value!r} is not a number; left empty"),
                    field=f,
                    value=str(v),
                )
            return number
        if kind == "time":
            when = F.timestamp(v)
            if when is None and not F.is_blank(v):
                self.add(
                    row,
                    "bad_value",
                    "error",
                    N_("{field} {value!r} is not a date"),
                    field=f,
                    value=str(v),
                )
            return when
        if f"{layer}.{f}" in F.VOCABS:
            out = F.vocab_code(v, F.VOCABS[f"{layer}.{f}"])
            if out is None and not F.is_blank(v):
                self.add(
                    row,
                    "bad_value",
                    "error",
                    N_(
                        "{field} {value!r} is not a known {layer} {field}; choose one on the "
                        "import page or in the mapping file's values section"
                    ),
                    field=note(_FIELD_WORDS.get(f, f)),
                    value=str(v),
                    layer=note(self.spec.label),
                )
                if f not in self._listed:
                    self._listed.add(f)
                    self.warn(
                        N_("known values of {field}: {known}"),
                        field=f,
                        known=", ".join(f"{t.code} ({t.zh})" for t in F.VOCABS[f"{layer}.{f}"]),
                    )
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
                self.add(
                    row,
                    "bad_value",
                    "warning",
                    N_("unknown tags {tags}; kept in props"),
                    tags=", ".join(unknown),
                )
            return codes or None
        length = _column_length(self.model, f) if f in self.model.__table__.c else None
        return F.text(v, length)

    def _bulk_field(self, frame: pd.DataFrame, f: str) -> np.ndarray:
        """:meth:`_field_value` for a whole column: each distinct value converted once, the
        rows of values that do not convert reported one by one."""
        rows_no = frame["_row"].to_numpy()
        codes, uniques = _factorize(self.column(frame, f))
        seen, at = np.unique(codes, return_index=True)
        first = dict(zip(seen.tolist(), at.tolist(), strict=True))
        converted: list[Any] = []
        for c in range(-1, len(uniques)):
            if c not in first:
                converted.append(None)
                continue
            before = len(self.report.problems)
            converted.append(
                self._field_value(frame, frame.index[first[c]], f, int(rows_no[first[c]]))
            )
            said = self.report.problems[before:]
            if said:  # the same line for every other row holding this value
                for i in np.flatnonzero(codes == c)[1:]:
                    self.report.problems.extend(
                        problem(
                            int(rows_no[i]), p.kind, p.severity, p.note.template, **p.note.params
                        )
                        for p in said
                    )
        return _object_array(converted)[codes + 1]

    def _layer_fixups(self, rec: dict, frame, k) -> None:
        """The layer's defaults and derived values for one row."""
        fix = {
            "grids": self._fix_grid,
            "buildings": self._fix_building,
            "roads": self._fix_road,
            "key_sites": self._fix_key_site,
            "facilities": self._fix_facility,
            "hazards": self._fix_hazard,
            "patrol_tracks": self._track_times,
        }.get(self.spec.name)
        if fix is not None:
            fix(rec, frame, k)

    def _fix_grid(self, rec: dict, frame, k) -> None:
        rec["kind"] = rec.get("kind") or "community"
        hh = F.integer(self.value(frame, k, "households"))
        if hh is not None:
            rec["props"] = {**(rec["props"] or {}), "households": hh}
        rec["_households"] = hh

    def _fix_building(self, rec: dict, _frame, _k) -> None:
        rec["use"] = rec.get("use") or "residential"

    def _fix_road(self, rec: dict, _frame, _k) -> None:
        if rec.get("highway"):
            return
        rec["highway"] = "unclassified"  # walkable: a street of no given class
        if "highway" not in self._listed:
            self._listed.add("highway")
            self.warn(
                N_(
                    "rows without a road class (highway, 道路等级) are taken as "
                    "walkable streets ('unclassified'); give the class to exclude "
                    "expressways"
                )
            )

    def _no_category(self, rec: dict) -> None:
        """A row without a category is refused, unless its value was refused already."""
        row = rec["_row"]
        if not any(p.row == row and p.kind == "bad_value" for p in self.report.problems):
            self.add(
                row,
                "missing_category",
                "error",
                N_("no category; give a 类别 column or a default in the mapping file"),
            )

    def _fix_key_site(self, rec: dict, _frame, _k) -> None:
        if rec.get("category") is None:
            self._no_category(rec)
        elif rec.get("inspection_interval_days") is None:
            rec["inspection_interval_days"] = vocab.INSPECTION_INTERVAL_DAYS[rec["category"]]

    def _fix_facility(self, rec: dict, _frame, _k) -> None:
        if rec.get("category") is None:
            self._no_category(rec)

    def _fix_hazard(self, rec: dict, _frame, _k) -> None:
        rec["_defaulted"] = set()
        for f, default in (("category", "other"), ("severity", "low"), ("status", "reported")):
            if not rec.get(f):
                rec["_defaulted"].add(f)
            rec[f] = rec.get(f) or default
        if rec.get("found_at") is None:
            rec["found_at"] = datetime.now().replace(microsecond=0)
            self.add(rec["_row"], "defaulted", "info", N_("no found time; the import time is used"))
