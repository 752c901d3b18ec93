"""`gridmap reach`: 15-minute life-circle reachability on the walking network, from the
database or from files."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import click

from gridmap.errors import InvalidInput
from gridmap_cli.common import category_bar, option_group
from gridmap_cli.reach_db import reach_compare, reach_db

SPEED_HELP = "Walking speed in km/h (stated on every output)."


def _minutes(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InvalidInput(
            f"--minutes {text!r}: write minutes separated by commas, e.g. 5,10,15"
        ) from exc
    if not values or min(values) <= 0:
        raise InvalidInput(f"--minutes {text!r}: minutes must be positive")
    return values


@dataclass(frozen=True)
class ReachFlags:
    """What a reach run computes, in both modes: categories, thresholds, speed, method."""

    categories: tuple[str, ...]
    minutes_text: str
    speed_kmh: float
    max_minutes: float | None
    time_based: bool
    rules_path: str | None
    method: str
    detour_factor: float
    max_snap_m: float
    rebuild_network: bool
    export_dir: str | None

    @property
    def minutes(self) -> list[float]:
        """The coverage thresholds in minutes."""
        return _minutes(self.minutes_text)

    @property
    def category_list(self) -> list[str] | None:
        """The categories asked for; None: every category."""
        return list(self.categories) or None


@dataclass(frozen=True)
class ReachFiles:
    """File mode's inputs and output, and how street lines are joined into a network (which
    the database mode's network follows as well)."""

    network_file: str | None
    facilities_file: str | None
    origins_file: str | None
    category_field: str
    facility_id_field: str | None
    origin_id_field: str | None
    noding: str
    out_file: str | None

    def given(self) -> bool:
        """Whether any file was named: file mode."""
        return any([self.network_file, self.facilities_file, self.origins_file, self.out_file])

    def check(self) -> None:
        """Refuse file mode without all four files."""
        named = (
            ("--network", self.network_file),
            ("--facilities", self.facilities_file),
            ("--origins", self.origins_file),
            ("--out", self.out_file),
        )
        missing = [n for n, v in named if not v]
        if missing:
            raise InvalidInput(f"file mode needs {', '.join(missing)} as well")


run_options = option_group(
    ReachFlags,
    "run",
    click.option(
        "--category",
        "categories",
        multiple=True,
        help="Facility category code (repeatable). Default: every category the rules "
        "need or a facility has.",
    ),
    click.option(
        "--minutes",
        "minutes_text",
        default="5,10,15",
        show_default=True,
        help="Coverage thresholds. 5/10/15 use the GB 50180-2018 walking distances "
        "(300/500/1000 m) unless --time-based.",
    ),
    click.option("--speed-kmh", default=4.0, show_default=True, help=SPEED_HELP),
    click.option(
        "--max-minutes",
        type=float,
        help="Search cutoff: distances beyond it are empty. Default: the largest "
        "threshold or rule distance (database), 30 minutes (files).",
    ),
    click.option(
        "--time-based",
        is_flag=True,
        help="Thresholds are minutes x speed, not the standard's distances.",
    ),
    click.option(
        "--rules",
        "rules_path",
        type=click.Path(dir_okay=False),
        help="Your rules file (YAML): overrides and adds to the shipped rules.",
    ),
    click.option(
        "--method",
        type=click.Choice(["auto", "network", "estimate", "radius", "compare"]),
        default="auto",
        show_default=True,
        help="network: walking network; estimate: straight line x detour factor "
        "(labelled as an estimate); auto: network when roads exist; radius: the "
        "service radius (straight-line circles around facilities, as local plans "
        "draw them); compare: radius and walk side by side, with the buildings "
        "covered on paper only per grid, community and street.",
    ),
    click.option(
        "--detour-factor",
        default=1.3,
        show_default=True,
        help="Straight-line estimate: route length / straight distance.",
    ),
    click.option(
        "--max-snap-m",
        default=300.0,
        show_default=True,
        help="Buildings and facilities farther than this from a walkable edge are off-network.",
    ),
    click.option("--rebuild-network", is_flag=True, help="Rebuild the stored walking network."),
    click.option(
        "--export",
        "export_dir",
        type=click.Path(file_okay=False),
        help="Also write buildings.csv, coverage.csv, rules.csv and isochrones/gaps "
        "(GeoPackage) into this folder.",
    ),
)
file_options = option_group(
    ReachFiles,
    "files",
    click.option(
        "--network",
        "network_file",
        type=click.Path(dir_okay=False),
        help="File mode: the network (.osm/.osm.pbf or a street-line layer).",
    ),
    click.option(
        "--facilities",
        "facilities_file",
        type=click.Path(dir_okay=False),
        help="File mode: facilities (point layer with a category column, or .osm).",
    ),
    click.option(
        "--origins",
        "origins_file",
        type=click.Path(dir_okay=False),
        help="File mode: origins (points or polygons, or .osm buildings).",
    ),
    click.option(
        "--category-field",
        default="category",
        show_default=True,
        help="File mode: the facilities' category column.",
    ),
    click.option("--facility-id-field", help="File mode: the facilities' id column."),
    click.option(
        "--origin-id-field",
        help="File mode: the origins' id column (default: id, code, osm_id ... or the row number).",
    ),
    click.option(
        "--noding",
        type=click.Choice(["intersections", "vertices"]),
        default="intersections",
        show_default=True,
        help="Street-line layers: join lines wherever they meet, or only at shared vertices.",
    ),
    click.option(
        "--out",
        "out_file",
        type=click.Path(dir_okay=False),
        help="File mode: output .csv, .geojson or .gpkg (one row per origin).",
    ),
)


# --- gridmap reach ----------------------------------------------------------------------


@click.command("reach")
@run_options
@file_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def reach_cmd(run: ReachFlags, files: ReachFiles, as_json: bool) -> None:
    """Who reaches which facilities within 5/10/15 minutes on foot (or the service radius).

    Database mode (default): every building to the nearest facility of each category on
    the stored walking network; coverage per grid, community and street; every rule of GB
    50180-2018, TD/T 1062-2021, 完整居住社区 and the local targets judged per area; the run
    is stored. --method radius judges the straight-line service radius instead (circles,
    as local plans draw them); --method compare stores both runs and counts the buildings
    inside a radius but beyond the walk ("covered on paper only") per grid, community and
    street, with their reasons. File mode (--network, --facilities, --origins, --out): one
    table row per origin with <category>_m, <category>_min and <category>_id.
    """
    if files.given():
        files.check()
        _reach_files(files, run, as_json=as_json)
        return
    if run.method == "compare":
        if run.export_dir:
            raise InvalidInput(
                "--export works with one method; run --method radius and "
                "--method network separately to export both"
            )
        reach_compare(
            categories=run.category_list,
            minutes=run.minutes,
            speed_kmh=run.speed_kmh,
            rules_path=run.rules_path,
            as_json=as_json,
        )
        return
    reach_db(run, noding=files.noding, as_json=as_json)


def _reach_files(files: ReachFiles, run: ReachFlags, *, as_json: bool) -> None:
    """File mode: one table row per origin written to ``files.out_file``, a summary printed."""
    from geodata.reach_files import read_facilities, read_network, read_origins, write_table
    from gridmap.analysis.reach import SnapOptions, metres_for, reach_by_category

    minutes = run.minutes
    speed_kmh = run.speed_kmh
    started = time.perf_counter()
    steps = {}
    t = time.perf_counter()
    net = read_network(files.network_file, noding=files.noding)
    steps["network_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fac, cat_col, id_col = read_facilities(
        files.facilities_file, category_field=files.category_field, id_field=files.facility_id_field
    )
    origins, origin_id = read_origins(files.origins_file, id_field=files.origin_id_field)
    steps["read_s"] = time.perf_counter() - t
    cutoff = float(metres_for(run.max_minutes if run.max_minutes else 30.0, speed_kmh))
    bar = category_bar("shortest paths")
    t = time.perf_counter()
    try:
        res = reach_by_category(
            net,
            fac,
            origins,
            category_field=cat_col,
            id_field=id_col,
            categories=run.category_list,
            max_distance_m=cutoff,
            speed_kmh=speed_kmh,
            snapping=SnapOptions(max_snap_m=run.max_snap_m),
            progress=bar,
        )
    finally:
        bar.close()
    steps["reach_s"] = time.perf_counter() - t
    table = res.table.copy()
    for c in table.columns:
        if c.endswith("_m") or c.endswith("_min") or c == "leg_m":
            table[c] = table[c].round(2)
    table.insert(0, "speed_kmh", speed_kmh)
    table.insert(1, "method", res.method)
    path = write_table(table, origins, origin_id, files.out_file)
    total = time.perf_counter() - started
    summary = {}
    for cat in res.categories:
        d = res.distance(cat).to_numpy(float)
        summary[cat] = {f"{m:g} min": int((d <= metres_for(m, speed_kmh)).sum()) for m in minutes}
    info = {
        "out": str(path),
        "origins": len(origins),
        "facilities": len(fac),
        "categories": res.categories,
        "network": {"nodes": net.n_nodes, "edges": net.n_edges, "crs": net.crs},
        "speed_kmh": speed_kmh,
        "max_distance_m": round(cutoff, 2),
        "method": res.method,
        "off_network_origins": int((res.table["snap"] == "off_network").sum()),
        "facilities_off_network": int((res.facility_status == "off_network").sum()),
        "origins_within": summary,
        "warnings": list(net.warnings),
        "seconds": {k: round(v, 3) for k, v in {**steps, "total_s": total}.items()},
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    _echo_files(info, minutes, cutoff_m=cutoff, max_snap_m=run.max_snap_m, total_s=total)


def _echo_files(info: dict, minutes: list[float], *, cutoff_m, max_snap_m, total_s) -> None:
    """File mode's summary as text: the network, origins within each threshold."""
    network = info["network"]
    categories = info["categories"]
    click.echo(f"network: {network['nodes']} nodes, {network['edges']} edges ({network['crs']})")
    for w in info["warnings"]:
        click.echo(f"  note: {w}")
    click.echo(
        f"{info['origins']} origins, {info['facilities']} facilities in {len(categories)} "
        f"categories; walking {info['speed_kmh']:g} km/h, cutoff {cutoff_m:.0f} m"
    )
    off = info["off_network_origins"]
    if off:
        click.echo(
            f"{off} origins are more than {max_snap_m:g} m from the network "
            "(off-network, empty results)"
        )
    summary = info["origins_within"]
    width = max([len(c) for c in categories] + [8])
    click.echo("origins within (network distance at the speed above):")
    click.echo(f"  {'category':<{width}}  " + "  ".join(f"{m:>7g} min" for m in minutes))
    for cat in categories:
        click.echo(
            f"  {cat:<{width}}  " + "  ".join(f"{summary[cat][f'{m:g} min']:>11}" for m in minutes)
        )
    click.echo(f"wrote {info['out']} ({info['origins']} rows) in {total_s:.1f} s")
