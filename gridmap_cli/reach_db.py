"""`gridmap reach` on the database: the stored run (walk, estimate or service radius), the
radius compared with the walk, and the export of a run's tables and areas."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from gridmap_cli.common import category_bar, command_session, percent, rounded, upgrade

RULE_COLUMNS = [
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


def reach_db(run, *, noding: str, as_json: bool) -> None:
    """Compute and store one run on the database and print it (``run``: the command's
    :class:`~gridmap_cli.reach.ReachFlags`)."""
    from geodata.network_store import NetworkOptions
    from geodata.reachability import ReachOptions, compute_reach

    minutes = run.minutes
    upgrade()
    started = time.perf_counter()
    written: list[Path] = []
    bar = category_bar("shortest paths")
    try:
        with command_session() as session:
            options = ReachOptions(
                categories=run.category_list,
                minutes=minutes,
                speed_kmh=run.speed_kmh,
                max_minutes=run.max_minutes,
                method=run.method,
                detour_factor=run.detour_factor,
                rules_path=run.rules_path,
                time_based=run.time_based,
                max_snap_m=run.max_snap_m,
                network_options=NetworkOptions(noding=noding),
                rebuild_network=run.rebuild_network,
                lang="en",
            )
            report = compute_reach(session, options, created_by="cli", progress=bar)
            if run.export_dir:
                written = _export(report, Path(run.export_dir))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    if as_json:
        out = _run_json(report, run.speed_kmh, seconds)
        if run.export_dir:
            out["exported"] = [str(p) for p in written]
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    _echo_run(report, seconds)
    if run.export_dir:
        for p in written:
            click.echo(f"wrote {p}")


def _run_json(report, speed_kmh: float, seconds: float) -> dict:
    """A stored run as one JSON object: coverage of the whole database, the rules per
    community, the facilities taken into account."""
    rules = report.rules[report.rules["level"] == "community"]
    return {
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
        "coverage": _coverage_json(report),
        "rules": [
            {k: rounded(v) for k, v in r.items()} for r in rules[RULE_COLUMNS].to_dict("records")
        ],
        "facilities": _facilities_json(report),
        "warnings": report.warnings,
        "seconds": round(seconds, 2),
    }


def _echo_run(report, seconds: float) -> None:
    """A stored run as text: the network, residents covered, the rules not met."""
    street = report.coverage[report.coverage["level"] == "street"]
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


def reach_compare(*, categories, minutes, speed_kmh, rules_path, as_json) -> None:
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
