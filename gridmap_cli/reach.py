"""`gridmap reach`: 15-minute life-circle reachability on the walking network, from the
database or from files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from gridmap.errors import InvalidInput
from gridmap_cli.common import ProgressBar, command_session, percent, rounded, upgrade

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


def _bar(label: str):
    """A progress bar on stderr (the importer's) fed by (category, done, total) callbacks."""
    bar = ProgressBar(enabled=True)

    def progress(_what: str, done: int, total: int) -> None:
        bar(label, done, total)

    progress.close = bar.close
    return progress


# --- gridmap reach ----------------------------------------------------------------------


@click.command("reach")
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="Facility category code (repeatable). Default: every category the rules "
    "need or a facility has.",
)
@click.option(
    "--minutes",
    "minutes_text",
    default="5,10,15",
    show_default=True,
    help="Coverage thresholds. 5/10/15 use the GB 50180-2018 walking distances "
    "(300/500/1000 m) unless --time-based.",
)
@click.option("--speed-kmh", default=4.0, show_default=True, help=SPEED_HELP)
@click.option(
    "--max-minutes",
    type=float,
    help="Search cutoff: distances beyond it are empty. Default: the largest "
    "threshold or rule distance (database), 30 minutes (files).",
)
@click.option(
    "--time-based",
    is_flag=True,
    help="Thresholds are minutes x speed, not the standard's distances.",
)
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False),
    help="Your rules file (YAML): overrides and adds to the shipped rules.",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "network", "estimate", "radius", "compare"]),
    default="auto",
    show_default=True,
    help="network: walking network; estimate: straight line x detour factor "
    "(labelled as an estimate); auto: network when roads exist; radius: the "
    "service radius (straight-line circles around facilities, as local plans "
    "draw them); compare: radius and walk side by side, with the buildings "
    "covered on paper only per grid, community and street.",
)
@click.option(
    "--detour-factor",
    default=1.3,
    show_default=True,
    help="Straight-line estimate: route length / straight distance.",
)
@click.option(
    "--max-snap-m",
    default=300.0,
    show_default=True,
    help="Buildings and facilities farther than this from a walkable edge are off-network.",
)
@click.option("--rebuild-network", is_flag=True, help="Rebuild the stored walking network.")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False),
    help="Also write buildings.csv, coverage.csv, rules.csv and isochrones/gaps "
    "(GeoPackage) into this folder.",
)
@click.option(
    "--network",
    "network_file",
    type=click.Path(dir_okay=False),
    help="File mode: the network (.osm/.osm.pbf or a street-line layer).",
)
@click.option(
    "--facilities",
    "facilities_file",
    type=click.Path(dir_okay=False),
    help="File mode: facilities (point layer with a category column, or .osm).",
)
@click.option(
    "--origins",
    "origins_file",
    type=click.Path(dir_okay=False),
    help="File mode: origins (points or polygons, or .osm buildings).",
)
@click.option(
    "--category-field",
    default="category",
    show_default=True,
    help="File mode: the facilities' category column.",
)
@click.option("--facility-id-field", help="File mode: the facilities' id column.")
@click.option(
    "--origin-id-field",
    help="File mode: the origins' id column (default: id, code, osm_id ... or the row number).",
)
@click.option(
    "--noding",
    type=click.Choice(["intersections", "vertices"]),
    default="intersections",
    show_default=True,
    help="Street-line layers: join lines wherever they meet, or only at shared vertices.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="File mode: output .csv, .geojson or .gpkg (one row per origin).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def reach_cmd(
    categories,
    minutes_text,
    speed_kmh,
    max_minutes,
    time_based,
    rules_path,
    method,
    detour_factor,
    max_snap_m,
    rebuild_network,
    export_dir,
    network_file,
    facilities_file,
    origins_file,
    category_field,
    facility_id_field,
    origin_id_field,
    noding,
    out_file,
    as_json,
) -> None:
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
    file_mode = any([network_file, facilities_file, origins_file, out_file])
    if file_mode:
        missing = [
            n
            for n, v in (
                ("--network", network_file),
                ("--facilities", facilities_file),
                ("--origins", origins_file),
                ("--out", out_file),
            )
            if not v
        ]
        if missing:
            raise InvalidInput(f"file mode needs {', '.join(missing)} as well")
        _reach_files(
            network_file,
            facilities_file,
            origins_file,
            out_file,
            categories=list(categories) or None,
            category_field=category_field,
            facility_id_field=facility_id_field,
            origin_id_field=origin_id_field,
            speed_kmh=speed_kmh,
            max_minutes=max_minutes if max_minutes else 30.0,
            max_snap_m=max_snap_m,
            noding=noding,
            minutes=_minutes(minutes_text),
            as_json=as_json,
        )
        return
    if method == "compare":
        if export_dir:
            raise InvalidInput(
                "--export works with one method; run --method radius and "
                "--method network separately to export both"
            )
        _reach_compare(
            categories=list(categories) or None,
            minutes=_minutes(minutes_text),
            speed_kmh=speed_kmh,
            rules_path=rules_path,
            as_json=as_json,
        )
        return
    _reach_db(
        categories=list(categories) or None,
        minutes=_minutes(minutes_text),
        speed_kmh=speed_kmh,
        max_minutes=max_minutes,
        time_based=time_based,
        rules_path=rules_path,
        method=method,
        detour_factor=detour_factor,
        max_snap_m=max_snap_m,
        rebuild=rebuild_network,
        export_dir=export_dir,
        noding=noding,
        as_json=as_json,
    )


def _reach_files(
    network_file,
    facilities_file,
    origins_file,
    out_file,
    *,
    categories,
    category_field,
    facility_id_field,
    origin_id_field,
    speed_kmh,
    max_minutes,
    max_snap_m,
    noding,
    minutes,
    as_json,
) -> None:
    from geodata.reach_files import read_facilities, read_network, read_origins, write_table
    from gridmap.analysis.reach import SnapOptions, metres_for, reach_by_category

    started = time.perf_counter()
    steps = {}
    t = time.perf_counter()
    net = read_network(network_file, noding=noding)
    steps["network_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fac, cat_col, id_col = read_facilities(
        facilities_file, category_field=category_field, id_field=facility_id_field
    )
    origins, origin_id = read_origins(origins_file, id_field=origin_id_field)
    steps["read_s"] = time.perf_counter() - t
    cutoff = float(metres_for(max_minutes, speed_kmh))
    bar = _bar("shortest paths")
    t = time.perf_counter()
    try:
        res = reach_by_category(
            net,
            fac,
            origins,
            category_field=cat_col,
            id_field=id_col,
            categories=categories,
            max_distance_m=cutoff,
            speed_kmh=speed_kmh,
            snapping=SnapOptions(max_snap_m=max_snap_m),
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
    path = write_table(table, origins, origin_id, out_file)
    total = time.perf_counter() - started
    summary = {}
    for cat in res.categories:
        d = res.distance(cat).to_numpy(float)
        summary[cat] = {f"{m:g} min": int((d <= metres_for(m, speed_kmh)).sum()) for m in minutes}
    off = int((res.table["snap"] == "off_network").sum())
    info = {
        "out": str(path),
        "origins": len(origins),
        "facilities": len(fac),
        "categories": res.categories,
        "network": {"nodes": net.n_nodes, "edges": net.n_edges, "crs": net.crs},
        "speed_kmh": speed_kmh,
        "max_distance_m": round(cutoff, 2),
        "method": res.method,
        "off_network_origins": off,
        "facilities_off_network": int((res.facility_status == "off_network").sum()),
        "origins_within": summary,
        "warnings": list(net.warnings),
        "seconds": {k: round(v, 3) for k, v in {**steps, "total_s": total}.items()},
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    click.echo(f"network: {net.n_nodes} nodes, {net.n_edges} edges ({net.crs})")
    for w in net.warnings:
        click.echo(f"  note: {w}")
    click.echo(
        f"{len(origins)} origins, {len(fac)} facilities in {len(res.categories)} "
        f"categories; walking {speed_kmh:g} km/h, cutoff {cutoff:.0f} m"
    )
    if off:
        click.echo(
            f"{off} origins are more than {max_snap_m:g} m from the network "
            "(off-network, empty results)"
        )
    width = max([len(c) for c in res.categories] + [8])
    click.echo("origins within (network distance at the speed above):")
    click.echo(f"  {'category':<{width}}  " + "  ".join(f"{m:>7g} min" for m in minutes))
    for cat in res.categories:
        click.echo(
            f"  {cat:<{width}}  " + "  ".join(f"{summary[cat][f'{m:g} min']:>11}" for m in minutes)
        )
    click.echo(f"wrote {path} ({len(origins)} rows) in {total:.1f} s")


def _reach_db(
    *,
    categories,
    minutes,
    speed_kmh,
    max_minutes,
    time_based,
    rules_path,
    method,
    detour_factor,
    max_snap_m,
    rebuild,
    export_dir,
    noding,
    as_json,
) -> None:
    from geodata.network_store import NetworkOptions
    from geodata.reachability import ReachOptions, compute_reach

    upgrade()
    started = time.perf_counter()
    bar = _bar("shortest paths")
    try:
        with command_session() as session:
            options = ReachOptions(
                categories=categories,
                minutes=minutes,
                speed_kmh=speed_kmh,
                max_minutes=max_minutes,
                method=method,
                detour_factor=detour_factor,
                rules_path=rules_path,
                time_based=time_based,
                max_snap_m=max_snap_m,
                network_options=NetworkOptions(noding=noding),
                rebuild_network=rebuild,
                lang="en",
            )
            report = compute_reach(session, options, created_by="cli", progress=bar)
            if export_dir:
                written = _export(report, Path(export_dir))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    street = report.coverage[report.coverage["level"] == "street"]
    if as_json:
        cov = _coverage_json(report)
        rules = report.rules[report.rules["level"] == "community"]
        out = {
            "run_id": report.run_id,
            "method": report.method,
            "label": report.label("en"),
            "speed_kmh": speed_kmh,
            "max_distance_m": report.params["max_distance_m"],
            "network": None
            if report.network is None
            else {
                "id": report.network.network_id,
                "nodes": report.network.network.n_nodes,
                "edges": report.network.network.n_edges,
                "reused": not report.network.built,
            },
            "thresholds": [
                {"label": t.label, "distance_m": t.distance_m, "minutes": t.minutes, "kind": t.kind}
                for t in report.thresholds
            ],
            "coverage": cov,
            "rules": [
                {k: rounded(v) for k, v in r.items()}
                for r in rules[
                    [
                        "rule",
                        "clause",
                        "area",
                        "area_name",
                        "threshold_m",
                        "minutes",
                        "share",
                        "min_share",
                        "passed",
                    ]
                ].to_dict("records")
            ],
            "facilities": _facilities_json(report),
            "warnings": report.warnings,
            "seconds": round(seconds, 2),
        }
        if export_dir:
            out["exported"] = [str(p) for p in written]
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(report.label("en").upper() if report.method == "estimate" else report.label("en"))
    if report.network is not None:
        n = report.network
        click.echo(
            f"walking network: {n.network.n_nodes} nodes, {n.network.n_edges} edges "
            f"({'built now' if n.built else 'reused from ' + n.built_at.isoformat(' ', 'seconds')})"
        )
    for w in report.warnings:
        click.echo(f"  note: {w}")
    _echo_facilities(report)
    click.echo("residents covered (whole database):")
    labels = [t.label + f" ({t.distance_m:.0f} m)" for t in report.thresholds]
    width = max([len(c) for c in report.categories] + [8])
    click.echo(f"  {'category':<{width}}  " + "  ".join(f"{lab:>17}" for lab in labels))
    for cat in report.categories:
        rows = street[street["category"] == cat].set_index("threshold")
        cells = []
        for t in report.thresholds:
            r = rows.loc[t.label] if t.label in rows.index else None
            cells.append(
                "-"
                if r is None
                else f"{int(r['residents_covered'])} {percent(r['residents_share'])}"
            )
        click.echo(f"  {cat:<{width}}  " + "  ".join(f"{c:>17}" for c in cells))
    rules = report.rules[report.rules["level"] == "street"]
    if len(rules):
        failed = rules[rules["passed"] == False]  # noqa: E712
        click.echo(
            f"rules: {len(rules) - len(failed)} of {len(rules)} met for the whole "
            "street office; not met:"
        )
        for _, r in failed.iterrows():
            click.echo(
                f"  {r['rule']}: {percent(r['share'])} within {r['threshold_m']:.0f} m "
                f"({r['minutes']:.1f} min), needs {percent(r['min_share'])} — {r['clause']}"
            )
    click.echo(f"run {report.run_id} stored in {seconds:.1f} s")
    if export_dir:
        for p in written:
            click.echo(f"wrote {p}")


def _coverage_json(report) -> dict:
    """Residents and households covered per category and threshold, whole database."""
    street = report.coverage[report.coverage["level"] == "street"]
    cov = {}
    for cat in report.categories:
        rows = street[street["category"] == cat]
        cov[cat] = {
            r["threshold"]: {
                "distance_m": r["threshold_m"],
                "residents": int(r["residents"]),
                "covered": int(r["residents_covered"]),
                "share": rounded(r["residents_share"]),
                "households": int(r["households"]),
                "households_covered": int(r["households_covered"]),
                "buildings": int(r["buildings"]),
                "buildings_covered": int(r["buildings_covered"]),
            }
            for _, r in rows.iterrows()
        }
    return cov


def _facilities_json(report) -> dict:
    return {c: {k: int(v) for k, v in row.items()} for c, row in report.facility_scope.iterrows()}


def _echo_facilities(report) -> None:
    out = {c: r for c, r in _facilities_json(report).items() if r["out_of_range"]}
    for cat, r in out.items():
        click.echo(
            f"  note: {cat}: {r['considered']} of {r['total']} facilities considered; "
            f"{r['out_of_range']} are farther than "
            f"{report.params['max_distance_m']:.0f} m from every resident and take "
            "no part"
        )


def _reach_compare(*, categories, minutes, speed_kmh, rules_path, as_json) -> None:
    """Service radius beside the walk: both runs stored, the paper-only buildings counted."""
    from geodata.plan_tables import compare_by_area, paper_only_table
    from geodata.reachability import ReachOptions, compute_reach

    upgrade()
    started = time.perf_counter()
    with command_session() as session:
        run = {
            "categories": categories,
            "minutes": minutes,
            "speed_kmh": speed_kmh,
            "rules_path": rules_path,
            "lang": "en",
        }
        radius = compute_reach(session, ReachOptions(method="radius", **run), created_by="cli")
        walk = compute_reach(session, ReachOptions(method="auto", **run), created_by="cli")
        paper: dict = {}
        for cat in walk.categories:
            paper[cat] = {}
            for t in walk.thresholds:
                table = paper_only_table(session, radius, walk, cat, t.distance_m)
                by_area = compare_by_area(walk, table["straight_m"], table["walk_m"], t.distance_m)
                reasons = table.loc[table["paper_only"], "reason"].value_counts()
                paper[cat][t.label] = {
                    "distance_m": t.distance_m,
                    "reasons": {k: int(v) for k, v in reasons.items()},
                    **{
                        level: [
                            {k: rounded(v) for k, v in r.items()}
                            for r in by_area[by_area["level"] == level]
                            .drop(columns="level")
                            .to_dict("records")
                        ]
                        for level in ("street", "community", "grid")
                    },
                }
        session.commit()
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(
            json.dumps(
                {
                    "method": "compare",
                    "speed_kmh": speed_kmh,
                    "runs": {"radius": radius.run_id, "network": walk.run_id},
                    "labels": {"radius": radius.label("en"), "network": walk.label("en")},
                    "coverage": {"radius": _coverage_json(radius), "network": _coverage_json(walk)},
                    "paper_only": paper,
                    "facilities": _facilities_json(walk),
                    "seconds": round(seconds, 2),
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(radius.label("en"))
    click.echo(f"beside: {walk.label('en')}")
    _echo_facilities(walk)
    click.echo("residents inside the radius / within the walk / covered on paper only:")
    for cat in walk.categories:
        for t in walk.thresholds:
            s = paper[cat][t.label]["street"][0]
            click.echo(
                f"  {cat} {t.distance_m:.0f} m: {s['residents_radius']} / "
                f"{s['residents_walk']} / {s['residents_paper_only']} residents "
                f"({s['buildings_paper_only']} buildings on paper only)"
            )
    click.echo(f"runs {radius.run_id} (radius) and {walk.run_id} (walk) stored in {seconds:.1f} s")


def _export(report, folder: Path) -> list[Path]:
    import geopandas as gpd
    import pandas as pd

    from geodata.reach_layers import gaps_for, isochrones_for
    from gridmap.privacy import neutralise_frame

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    p = folder / "buildings.csv"
    neutralise_frame(report.building_table()).to_csv(p, index=False, encoding="utf-8-sig")
    out.append(p)
    p = folder / "coverage.csv"
    report.coverage.to_csv(p, index=False, encoding="utf-8-sig")
    out.append(p)
    p = folder / "rules.csv"
    report.rules.to_csv(p, index=False, encoding="utf-8-sig")
    out.append(p)
    isos, gaps = [], []
    have = set(report.inputs.facilities["category"])
    for cat in report.categories:
        if cat not in have:
            continue
        iso = isochrones_for(
            report, cat, distances_m=[t.distance_m for t in report.thresholds], per_facility=False
        )
        isos.append(iso.assign(category=cat))
        for t in report.thresholds:
            cover = iso[iso["distance_m"] == t.distance_m]
            g = gaps_for(
                report,
                cat,
                t.distance_m,
                covered_area=cover.geometry.iloc[0] if len(cover) else None,
            )
            gaps.append(g.assign(category=cat, threshold=t.label, distance_m=t.distance_m))
    if isos:
        p = folder / "isochrones.gpkg"
        if p.exists():
            p.unlink()
        frame = gpd.GeoDataFrame(pd.concat(isos, ignore_index=True), crs="EPSG:4326")
        frame.assign(speed_kmh=report.speed_kmh, method=report.method).to_file(p, driver="GPKG")
        out.append(p)
    if gaps:
        p = folder / "gaps.gpkg"
        if p.exists():
            p.unlink()
        gpd.GeoDataFrame(pd.concat(gaps, ignore_index=True), crs="EPSG:4326").assign(
            speed_kmh=report.speed_kmh, method=report.method
        ).to_file(p, driver="GPKG")
        out.append(p)
    return out
