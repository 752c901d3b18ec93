"""`gridmap import` and `gridmap export`: files in and out of the database.

The command line acts as the installation's administrator (``Requester.system``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from gridmap.analysis.grids import DEFAULT_TARGET_MAX, DEFAULT_TARGET_MIN
from gridmap.layers import REGISTRY
from gridmap_cli.common import ProgressBar, command_session, option_group, settings, upgrade

LAYER_CHOICES = REGISTRY.choices()  # layer names and their hyphenated forms


def _print_report(report) -> None:
    d = report.as_dict()
    echo = click.echo
    echo(
        f"file:      {d['file']} ({d['format']}"
        + (f", layer {d['source_layer']}" if d["source_layer"] else "")
        + ")"
    )
    echo(f"layer:     {d['layer']}   features: {d['features']}")
    echo(f"encoding:  {d['encoding']}  -  {d['encoding_reason']}")
    echo(f"crs:       {d['crs']}  -  {d['crs_reason']}")
    if d["mapping"]:
        echo("fields:    " + ", ".join(f"{k} -> {v}" for k, v in d["mapping"].items()))
    if d["props_columns"]:
        echo("props:     " + ", ".join(d["props_columns"]))
    if d["categories"]:
        echo("categories:")
        for c in d["categories"]:
            to = "excluded" if c["excluded"] else c["category"] or "UNMAPPED"
            why = {
                "mapping": "your mapping",
                "known": "gridmap category",
                "dictionary": f"dictionary: {c['key']}",
            }.get(c["source"], "-")
            echo(f"  {c['count']:>6}  {c['value']} -> {to}  ({why})")
    for n in d["notes"]:
        echo(f"note:      {n}")
    for w in d["warnings"]:
        echo(f"warning:   {w}")
    if d["problems"]:
        echo(f"problems ({d['problem_rows']} in {len(d['problems'])} kinds):")
        for p in d["problems"]:
            rows = ", ".join(map(str, p["rows"])) or "-"
            if p["more"]:
                rows += f" … and {p['more']} more"
            echo(
                f"  {p['count']:>5} x  {p['severity']:<7}  {p['kind']:<18} {p['message']}"
                f"  (rows {rows})"
            )
    if d["load"]:
        over = [x["code"] for x in d["load"] if x["status"] == "over"]
        under = [x["code"] for x in d["load"] if x["status"] == "under"]
        echo(
            f"households: {d['load_source']}; over target: {', '.join(over) or '-'}; "
            f"under target: {', '.join(under) or '-'}"
        )
    for s in d["suggestions"]:
        echo(f"suggest:   {s}")
    if report.errors:
        echo(f"{len(report.errors)} errors: nothing was written")
    elif report.dry_run:
        echo(f"dry run: would insert {d['inserts']} and update {d['updates']}; nothing written")
    else:
        echo(f"written: {d['written']} ({d['inserts']} inserted, {d['updates']} updated)")


@dataclass(frozen=True)
class SourceFlags:
    """How the file is read: which layer, its CRS, datum and text encoding."""

    source_layer: str | None
    crs: str | None
    central_meridian: float | None
    coords: str
    encoding: str | None


@dataclass(frozen=True)
class LayerFlags:
    """How rows become the layer's records: community, field mapping, grid codes and sizes."""

    community: str | None
    mapping_file: str | None
    code_scheme: str
    service_code: str | None
    target_min: int
    target_max: int


source_options = option_group(
    SourceFlags,
    "source",
    click.option(
        "--layer",
        "source_layer",
        help="Layer, sheet or archive member to read "
        "(GeoPackage layers, XLSX sheets, zips with several Shapefiles).",
    ),
    click.option("--crs", help="CRS of the file, overriding its .prj (e.g. EPSG:4549)."),
    click.option(
        "--central-meridian",
        type=float,
        help="Central meridian of six-digit Gauss-Kruger eastings (e.g. 120).",
    ),
    click.option(
        "--coords",
        type=click.Choice(["wgs84", "gcj02", "bd09"]),
        default="wgs84",
        show_default=True,
        help="Datum of lon/lat: Amap/Tencent gcj02, Baidu bd09.",
    ),
    click.option("--encoding", help="Text encoding, overriding .cpg and detection (UTF-8, GBK)."),
)
layer_options = option_group(
    LayerFlags,
    "fields",
    click.option("--community", help="Community code of every row that names none."),
    click.option(
        "--mapping",
        "mapping_file",
        type=click.Path(exists=True, dir_okay=False),
        help="YAML/JSON file: column -> field, value maps (a value -> exclude leaves its "
        "rows out), defaults. Amap/Baidu POI types map by themselves "
        "(gridmap/standards/poi_categories.yaml).",
    ),
    click.option(
        "--code-scheme",
        type=click.Choice(["15", "20"]),
        default="15",
        show_default=True,
        help="Scheme of generated grid codes (20 = CJ/T 349).",
    ),
    click.option(
        "--service-code", help="CJ/T 349 service-object code (6 digits) for --code-scheme 20."
    ),
    click.option(
        "--target-min",
        type=int,
        default=DEFAULT_TARGET_MIN,
        show_default=True,
        help="Fewest households a grid should hold.",
    ),
    click.option(
        "--target-max",
        type=int,
        default=DEFAULT_TARGET_MAX,
        show_default=True,
        help="Most households a grid should hold.",
    ),
)


@click.command("import")
@click.argument("layer", type=click.Choice(LAYER_CHOICES), metavar="LAYER")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@source_options
@layer_options
@click.option("--max-mb", type=int, help="Largest accepted file (default GRIDMAP_MAX_UPLOAD_MB).")
@click.option("--dry-run", is_flag=True, help="Print the report; write nothing.")
@click.option(
    "--as",
    "as_user",
    metavar="USER",
    help="Import as this staff user: their role's layers, only inside their areas "
    "(default: the operator, as administrator).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the report).")
def import_cmd(
    layer,
    path,
    source: SourceFlags,
    fields: LayerFlags,
    max_mb,
    dry_run,
    as_user,
    as_json,
) -> None:
    """Import PATH into LAYER: check everything, report, then write all or nothing.

    Reads zipped or loose Shapefiles, GeoJSON, GeoPackage, KML/KMZ, CSV/XLSX (lon/lat or
    WKT columns), GPX, and OpenStreetMap files (.osm, .osm.pbf, .osm.bz2: their streets and
    paths, for `roads`). Exits 1 when errors stopped the write.

    LAYER: districts, streets, communities, grids, compounds, gates, roads, buildings,
    households, residents, key_sites, facilities, patrol_tracks or hazards.
    """
    from geodata.column_mapping import load_mapping
    from geodata.importer import ImportOptions, import_file
    from geodata.readers import ReadOptions

    limits = settings().read_limits(max_mb * 1024 * 1024 if max_mb else None)
    options = ImportOptions(
        read=ReadOptions(
            layer=source.source_layer,
            crs=source.crs,
            central_meridian=source.central_meridian,
            coords=source.coords,
            encoding=source.encoding,
            limits=limits,
        ),
        community=fields.community,
        mapping=load_mapping(fields.mapping_file),
        code_scheme=fields.code_scheme,
        service_code=fields.service_code,
        target_min=fields.target_min,
        target_max=fields.target_max,
    )
    upgrade()
    bar = ProgressBar(enabled=True)
    try:
        with command_session() as session:
            requester = _requester(session, as_user)
            report = import_file(
                session, path, layer, options, requester, dry_run=dry_run, progress=bar
            )
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, default=str))
    else:
        _print_report(report)
    if report.errors:
        sys.exit(1)


def _requester(session, username: str | None):
    """The staff user named by --as (active), else the operator as administrator."""
    import sqlalchemy as sa

    from geodata.db.models import StaffUser
    from geodata.db.users import requester_for
    from gridmap.privacy import Requester

    if not username:
        return Requester.system()
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        raise click.ClickException(f"--as {username}: no active user of that name")
    return requester_for(user)


@click.command("export")
@click.argument("layer", type=click.Choice(LAYER_CHOICES), metavar="LAYER")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "gpkg", "shp"]),
    required=True,
    help="GeoJSON, GeoPackage or a zipped Shapefile (UTF-8 with .cpg).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (.geojson, .gpkg or .zip).",
)
@click.option("--reveal", is_flag=True, help="Residents unmasked (audited).")
def export_cmd(layer, fmt, out, reveal) -> None:
    """Export LAYER to a file that `gridmap import` reads back unchanged."""
    from geodata.export import export_layer
    from gridmap.privacy import Requester

    upgrade()
    with command_session() as session:
        path, n = export_layer(session, layer, fmt, out, Requester.system(), reveal=reveal)
    click.echo(f"{n} {layer} written to {path}")
