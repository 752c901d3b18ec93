"""What an import is asked (options) and what it answers (the report), before and after
writing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd

from geodata.column_mapping import Mapping
from geodata.readers import ReadOptions
from gridmap import permissions
from gridmap.analysis import grids as ga
from gridmap.errors import PermissionDenied
from gridmap.layers import LayerSpec
from gridmap.messages import N_, fail
from gridmap.notes import Note, Problem, group_problems
from gridmap.privacy import Requester

Progress = Callable[[str, int, int], None]


# --- options and report ---------------------------------------------------------------------------
@dataclass
class ImportOptions:
    read: ReadOptions = field(default_factory=ReadOptions)
    community: str | None = None  # parent community code for every row without one
    mapping: Mapping = field(default_factory=Mapping)
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
        """The problems that stop the import from being written."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        """Whether the import may be written (no errors)."""
        return not self.errors

    def as_dict(self) -> dict:
        """The report as JSON-ready values (English texts), for the CLI's --json and the upload page.

        Returns
        -------
        dict
        """

        def t(n: Note | None) -> str | None:
            return n.text if n is not None else None

        return {
            "layer": self.layer,
            "file": self.file,
            "format": self.format,
            "source_layer": self.source_layer,
            "layers": self.layers,
            "features": self.features,
            "crs": self.crs,
            "crs_reason": t(self.crs_reason),
            "encoding": self.encoding,
            "encoding_reason": t(self.encoding_reason),
            "coords": self.coords,
            "mapping": self.mapping,
            "props_columns": self.props_columns,
            "categories": self.categories,
            "excluded": self.excluded,
            "unmapped": [
                {"value": c["value"], "count": c["count"]}
                for c in self.categories
                if c["category"] is None and not c["excluded"]
            ],
            "warnings": [w.text for w in self.warnings],
            "notes": [n.text for n in self.notes],
            "problems": [g.as_dict() for g in group_problems(self.problems)],
            "problem_rows": len(self.problems),
            "errors": len(self.errors),
            "inserts": self.inserts,
            "updates": self.updates,
            "dropped": self.dropped,
            "generated_codes": self.generated_codes,
            "load": self.load,
            "load_source": t(self.load_source),
            "suggestions": [s.text for s in self.suggestions],
            "written": self.written,
            "dry_run": self.dry_run,
            "committed": self.committed,
        }


@dataclass
class Prepared:
    spec: LayerSpec
    report: ImportReport
    rows: list[dict]  # column values; "_id" existing id or None, "_row" source row(s)
    preview: gpd.GeoDataFrame  # new/updated features in EPSG:4326 (code, name, action)
    requester: Requester
    mapping: Mapping = field(default_factory=Mapping)  # the user's mapping (audited)


def _noop(_stage: str, _done: int, _total: int) -> None:
    return None


def _check_role(spec: LayerSpec, requester: Requester) -> None:
    """The whole file is refused when the role may write nothing of this layer."""
    if permissions.may_write(requester.role, spec.name):
        return
    if not permissions.layers_writable(requester.role):
        raise fail(
            PermissionDenied, N_("role {role} may not import data"), role=repr(requester.role)
        )
    writers = [r for r in permissions.WRITE if permissions.may_write(r, spec.name)]
    if writers == ["admin"]:
        raise fail(
            PermissionDenied,
            N_("only administrators may import {layer}; role {role} may not"),
            layer=spec.name,
            role=repr(requester.role),
        )
    if set(writers) == {"admin", "street_staff"}:
        raise fail(
            PermissionDenied,
            N_(
                "only administrators and street-office staff may import "
                "{layer}; role {role} may not"
            ),
            layer=spec.name,
            role=repr(requester.role),
        )
    raise fail(
        PermissionDenied,
        N_("role {role} may not import {layer}"),
        role=repr(requester.role),
        layer=spec.name,
    )
