"""Importing a file into one layer: map, normalise, check, report, then write all or nothing.

    report = import_file(session, path, "grids", ImportOptions(community="110108001001"),
                         requester, dry_run=True)

:func:`prepare` reads the file (``geodata.readers``), maps its columns to fields
(``geodata.column_mapping``, values by ``geodata.fields``), normalises geometry for the layer (2D, valid, single or multi
part, empties and zero areas dropped with a report line each), resolves parents (by
code, else by location), decides insert or update for every row (by code, else by
name), runs the layer's checks (grid topology, household load, codes; a GCJ-02
offset against what is already loaded) and returns the full report *before*
anything is written. :func:`write` then writes every row in the caller's
transaction; :func:`import_file` does both and never writes when the report has an
error.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from geodata.importing.builder import Builder
from geodata.importing.spec import (
    ImportOptions,
    ImportReport,
    Prepared,
    Progress,
    _check_role,
    _noop,
)
from geodata.importing.write import write_rows
from geodata.readers import read_source
from gridmap.layers import REGISTRY, LayerSpec, Registry
from gridmap.privacy import Requester

__all__ = [
    "CHUNK",
    "LAYERS",
    "ImportOptions",
    "ImportReport",
    "Prepared",
    "import_file",
    "layer_spec",
    "prepare",
    "write",
]


CHUNK = 2000  # rows per INSERT or UPDATE statement


LAYERS = REGISTRY  # the layers a file may go to (gridmap.layers)


def layer_spec(name: str, registry: Registry = REGISTRY) -> LayerSpec:
    """The layer called ``name`` (or one of its words) in ``registry``.

    Parameters
    ----------
    name : str
        The layer's name, or one of its words ('楼栋', 'buildings' ...).
    registry : Registry
        The layers known.

    Returns
    -------
    LayerSpec
    """
    return registry.spec(name)


def import_file(
    session: Session,
    path: str | Path,
    layer: str,
    options: ImportOptions,
    requester: Requester,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    display_name: str | None = None,
    workdir: Path | None = None,
    registry: Registry = REGISTRY,
) -> ImportReport:
    """Read, check and (unless ``dry_run`` or errors) write ``path`` into ``layer``.

    Writes happen in ``session``'s transaction; the caller commits. Raises InvalidInput for
    files that cannot be read at all.

    Parameters
    ----------
    session : Session
        The caller's session.
    path : str or Path
        The file (or archive) to import.
    layer : str
        The layer it goes to.
    options : ImportOptions
        Mapping, CRS, encoding and checks of the import.
    requester : Requester
        Who imports; the role decides which layers they may fill.
    dry_run : bool
        Check only, write nothing.
    progress : callable, optional
        Called with (stage, done, total).
    display_name : str, optional
        The file's name to show (an upload's own name rather than its spool file's).
    workdir : Path, optional
        Where archives are unpacked (default: a temporary folder).
    registry : Registry
        The layers and their fields (``gridmap.layers``).

    Returns
    -------
    ImportReport
    """
    prepared = prepare(
        session,
        path,
        layer,
        options,
        requester,
        progress=progress,
        display_name=display_name,
        workdir=workdir,
        registry=registry,
    )
    report = prepared.report
    report.dry_run = dry_run
    if dry_run or not report.ok:
        return report
    write(session, prepared, progress=progress)
    return report


def prepare(
    session: Session,
    path: str | Path,
    layer: str,
    options: ImportOptions,
    requester: Requester,
    *,
    progress: Progress | None = None,
    display_name: str | None = None,
    workdir: Path | None = None,
    registry: Registry = REGISTRY,
) -> Prepared:
    """Read ``path``, map, normalise and check it for ``layer``; nothing is written.

    Parameters
    ----------
    session : Session
        The caller's session (read only).
    path : str or Path
        The file (or archive) to import.
    layer : str
        The layer it goes to.
    options : ImportOptions
        Mapping, CRS, encoding and checks of the import.
    requester : Requester
        Who imports.
    progress : callable, optional
        Called with (stage, done, total).
    display_name : str, optional
        The file's name to show.
    workdir : Path, optional
        Where archives are unpacked.
    registry : Registry
        The layers and their fields.

    Returns
    -------
    Prepared
        The rows to write and the full report (see the module docstring).
    """
    spec = registry.spec(layer)
    _check_role(spec, requester)
    progress = progress or _noop
    progress("read", 0, 1)
    src = read_source(path, options.read, display_name=display_name, workdir=workdir)
    progress("read", 1, 1)
    report = ImportReport(
        layer=spec.name,
        file=src.name,
        format=src.format,
        source_layer=src.layer,
        layers=src.layers,
        features=len(src.frame),
        encoding=src.encoding,
        encoding_reason=src.encoding_reason,
        crs=src.crs,
        crs_reason=src.crs_reason,
        coords=options.read.coords,
        warnings=list(src.warnings),
        notes=list(src.notes),
        problems=list(src.problems),
    )
    builder = Builder(session, spec, src, options, requester, report, progress, registry)
    rows, preview = builder.run()
    report.problems.sort(key=lambda p: (p.row is None, p.row or 0, p.severity != "error"))
    report.inserts = sum(1 for r in rows if r["_id"] is None)
    report.updates = len(rows) - report.inserts
    return Prepared(spec, report, rows, preview, requester, options.mapping)


def write(session: Session, prepared: Prepared, *, progress: Progress | None = None) -> int:
    """Insert and update every prepared row in the caller's transaction.

    Refuses a report with errors. Hazards get an 'import' event; the import is audited.

    Parameters
    ----------
    session : Session
        The caller's session.
    prepared : Prepared
        What :func:`prepare` returned.
    progress : callable, optional
        Called with ("write", rows done, rows in all).

    Returns
    -------
    int
        The number of rows written.
    """
    return write_rows(session, prepared, chunk_rows=CHUNK, progress=progress)
