"""`gridmap patrol`, `gridmap risk`, `gridmap heatmap`: patrol coverage, risk and heatmaps."""

from __future__ import annotations

import json
import math
import sys
from contextlib import contextmanager

import click
import numpy as np

from gridmap.errors import InvalidInput


@contextmanager
def _steps(label: str, n: int):
    """A progress bar on stderr advanced by named steps."""
    with click.progressbar(length=n, label=label, file=sys.stderr) as bar:
        yield lambda _step: bar.update(1)


def _session():
    from gridmap_cli.main import _session as session

    return session()


def _jsonable(value):
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def _records(frame, columns=None) -> list[dict]:
    frame = frame if columns is None else frame[columns]
    return [{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _hours(text: str) -> tuple[int, int]:
    try:
        a, b = (int(p) for p in text.split("-"))
    except ValueError as exc:
        raise InvalidInput(f"--day-hours {text!r}: write START-END in whole hours, e.g. 6-20") from exc
    return a, b


def _table(rows: list[list], headers: list[str]) -> None:
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        click.echo("  ".join(c.rjust(w) if k and i else c.ljust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))))


def _fmt(v, unit: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:g}{unit}" if isinstance(v, float) else f"{v}{unit}"


@click.command("patrol")
@click.option("--period", help="START/END (2025-06-01/2025-06-30), a day, a month (2025-06) or "
              "a week (2025-W23). Default: the last 30 days.")
@click.option("--by", type=click.Choice(["period", "day", "week", "month"]), default="period",
              show_default=True, help="One row per grid and day, week or month.")
@click.option("--shift", type=click.Choice(["all", "day", "night"]), default="all",
              show_default=True, help="Only day or night patrols.")
@click.option("--day-hours", default="6-20", show_default=True,
              help="Day shift hours START-END; the rest is night.")
@click.option("--grid", "grid_code", help="Only this grid.")
@click.option("--tolerance-m", default=20.0, show_default=True,
              help="A track this close to a street runs along it.")
@click.option("--max-speed-kmh", default=15.0, show_default=True,
              help="Fixes implying a faster walk are GPS jumps.")
@click.option("--max-accuracy-m", default=50.0, show_default=True,
              help="Fixes reported less accurate than this are dropped.")
@click.option("--gap-min", default=10.0, show_default=True,
              help="Tracks are split at longer gaps between fixes.")
@click.option("--pass-m", default=30.0, show_default=True,
              help="A building (or key site) this close to a track was passed (visited).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def patrol_cmd(period, by, shift, day_hours, grid_code, tolerance_m, max_speed_kmh,
               max_accuracy_m, gap_min, pass_m, as_json):
    """Patrol coverage (巡查覆盖率) per grid: streets, buildings, households, key sites;
    overdue inspections, longest unpatrolled streets and per-patroller totals."""
    from geodata.db.analysis import patrol_report
    from gridmap.analysis.patrol import PatrolOptions, parse_period
    from gridmap.privacy import Requester

    start, end = _hours(day_hours)
    options = PatrolOptions(tolerance_m=tolerance_m, max_speed_kmh=max_speed_kmh,
                            max_accuracy_m=max_accuracy_m, max_gap_min=gap_min, pass_m=pass_m,
                            visit_m=pass_m, day_start_hour=start, night_start_hour=end)
    chosen = parse_period(period) if period else None
    with _steps("patrol", 5) as step, _session() as session:
        res = patrol_report(session, Requester.system("cli"), period=chosen, by=by, shift=shift,
                            grid_code=grid_code, options=options, progress=step)
    rep = res.report
    overdue = res.overdue_only()
    if as_json:
        click.echo(json.dumps({
            "period": {"start": res.period.start.isoformat(), "end": res.period.end.isoformat(),
                       "label": res.period.label, "by": by, "shift": shift},
            "as_of": res.as_of.isoformat(), "crs": res.crs.to_string(),
            "options": {"tolerance_m": tolerance_m, "max_speed_kmh": max_speed_kmh,
                        "max_accuracy_m": max_accuracy_m, "gap_min": gap_min,
                        "min_share": options.min_share, "pass_m": options.pass_m,
                        "visit_m": options.visit_m, "visit_min_s": options.visit_min_s,
                        "day_hours": day_hours},
            "totals": rep.totals(), "cleaning": rep.cleaning,
            "grids": _records(rep.grids.drop(columns=["period_start"])),
            "overdue_sites": _records(overdue, ["code", "name", "category", "grid_code",
                                                "last_inspected", "inspection_interval_days",
                                                "days_overdue"]),
            "unpatrolled": _records(rep.unpatrolled.drop(columns="geometry")),
            "patrollers": _records(rep.patrollers),
        }, ensure_ascii=False))
        return
    t = rep.totals()
    click.echo(f"patrol coverage {res.period.label} ({shift}); as of {res.as_of:%Y-%m-%d %H:%M}")
    click.echo(f"streets patrolled: {t['patrolled_m'] / 1000:.1f} of {t['street_m'] / 1000:.1f} km "
               f"({_fmt(t['street_pct'], '%')}); patrols: {t['patrols']}, {t['patrol_km']} km; "
               f"fixes kept {rep.cleaning['kept']} of {rep.cleaning['fixes']}"
               + "".join(f", {k} {v}" for k, v in rep.cleaning["dropped"].items()))
    click.echo("")
    rows = [[r.grid_code, r.grid_name, r.period, _fmt(r.street_pct, "%"), _fmt(r.buildings_pct, "%"),
             f"{r.households_covered}/{r.households}", f"{r.key_sites_visited}/{r.key_sites}",
             r.patrols, f"{r.patrol_km:.2f}"] for r in rep.grids.itertuples()]
    _table(rows, ["grid", "name", "period", "streets", "buildings", "households", "sites visited",
                  "patrols", "km"])
    if len(overdue):
        click.echo(f"\noverdue key-site inspections: {len(overdue)}")
        _table([[r.grid_code, r.name, r.category,
                 "never" if math.isinf(r.days_overdue) else f"{r.days_overdue:.0f} d"]
                for r in overdue.itertuples()], ["grid", "site", "category", "overdue"])
    if len(rep.unpatrolled):
        click.echo("\nlongest unpatrolled streets:")
        _table([[r.grid_code, r.name or f"({r.highway})", f"{r.length_m:.0f} m"]
                for r in rep.unpatrolled.groupby("grid_code").head(3).itertuples()],
               ["grid", "street", "length"])
    if len(rep.patrollers):
        click.echo("\npatrollers:")
        _table([[r.patroller, r.period, r.patrols, f"{r.km:.2f}", f"{r.hours:.2f}",
                 f"{r.night_hours:.2f}"] for r in rep.patrollers.itertuples()],
               ["patroller", "period", "patrols", "km", "hours", "night hours"])


@click.command("risk")
@click.option("--period", help="Judge as of this period's end, with its patrols (START/END, a "
              "day, a month 2025-06 or a week 2025-W23). Default: now, with the weights' "
              "patrol window of whole days.")
@click.option("--grid", "grid_code", help="Only this grid.")
@click.option("--weights", type=click.Path(dir_okay=False),
              help="YAML file overriding gridmap/standards/risk_weights.yaml "
                   "(also $GRIDMAP_RISK_WEIGHTS).")
@click.option("--top", default=10, show_default=True, help="Buildings listed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def risk_cmd(period, grid_code, weights, top, as_json):
    """Explainable risk index per grid and building: every score with its components."""
    from geodata.db.analysis import risk_report
    from gridmap.analysis.patrol import parse_period
    from gridmap.analysis.risk import component_label, load_weights
    from gridmap.privacy import Requester

    w = load_weights(weights)
    chosen = parse_period(period) if period else None
    with _steps("risk", 6) as step, _session() as session:
        rep = risk_report(session, Requester.system("cli"), grid_code=grid_code, weights=w,
                          period=chosen, progress=step)
    grids = rep.grids.sort_values("score", ascending=False)
    buildings = rep.buildings.sort_values("score", ascending=False)

    def explain(result, i):
        return [{"component": e["component"], "count": e["count"], "points": e["points"]}
                for e in result.explain(i)]

    if as_json:
        click.echo(json.dumps({
            "as_of": rep.as_of.isoformat(), "weights": rep.weights,
            "patrol_window": rep.patrol_period.label,
            "grids": [{"code": r["code"], "name": r["name"], "score": _jsonable(r["score"]),
                       "households": _jsonable(r["households"]),
                       "per_100_households": _jsonable(r["per_100_households"]),
                       "components": explain(rep.grid_risk, i)} for i, r in grids.iterrows()],
            "buildings": [{"code": r["code"], "address": _jsonable(r["address"]),
                           "grid_code": r["grid_code"], "score": _jsonable(r["score"]),
                           "components": explain(rep.building_risk, i)}
                          for i, r in buildings.head(top).iterrows()],
            "buildings_total": len(buildings),
        }, ensure_ascii=False))
        return
    click.echo(f"risk index as of {rep.as_of:%Y-%m-%d} (weights: {weights or 'defaults'}); "
               "every score is the sum of its components")
    for i, r in grids.iterrows():
        parts = ", ".join(f"{component_label(e['component'], 'en')} {e['points']:g}"
                          for e in rep.grid_risk.explain(i)[:4])
        rate = r["per_100_households"]
        click.echo(f"{r['code']}  {r['name']}  {r['score']:g}"
                   f" ({'-' if rate != rate else f'{rate:g}'} per 100 households)  = {parts}"
                   + (" ..." if len(rep.grid_risk.explain(i)) > 4 else ""))
    click.echo(f"\ntop {min(top, len(buildings))} buildings of {len(buildings)}:")
    for i, r in buildings.head(top).iterrows():
        parts = ", ".join(f"{component_label(e['component'], 'en')} {e['points']:g}"
                          for e in rep.building_risk.explain(i))
        click.echo(f"{r['code']}  {r['address'] if isinstance(r['address'], str) else ''}  "
                   f"{r['score']:g}  = {parts}")


@click.command("heatmap")
@click.option("--layer", required=True,
              help="households | group:NAME | hazards | incidents | patrol | reach:CATEGORY")
@click.option("--bandwidth-m", default=150.0, show_default=True, help="Kernel bandwidth in metres.")
@click.option("--cell-m", default=50.0, show_default=True, help="Cell size in metres.")
@click.option("--kernel", type=click.Choice(["quartic", "gaussian"]), default="quartic",
              show_default=True)
@click.option("--period", help="For incidents and patrol: START/END, a day, month or week.")
@click.option("--k", "k", default=5, show_default=True,
              help="Personal groups: hide cells with fewer households than this.")
@click.option("--grid", "grid_code", help="Only this grid.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="FILE.tif (values, GeoTIFF) or FILE.png (colours, with a .wld world file).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object describing the result.")
def heatmap_cmd(layer, bandwidth_m, cell_m, kernel, period, k, grid_code, out, as_json):
    """Kernel-density heatmap computed in metres, written as GeoTIFF or PNG."""
    from pathlib import Path

    from geodata.db.analysis import heatmap
    from geodata.raster import write_surface
    from gridmap.analysis.patrol import parse_period
    from gridmap.maps.heatmap import TIME_PALETTE, colorize, scale_max
    from gridmap.privacy import Requester

    if Path(out).suffix.lower() not in (".tif", ".tiff", ".png"):
        raise InvalidInput(f"--out {out}: use a .tif or .png file name")
    chosen = parse_period(period) if period else None
    with _steps("heatmap", 3) as step, _session() as session:
        hm = heatmap(session, Requester.system("cli"), layer=layer, bandwidth_m=bandwidth_m,
                     cell_m=cell_m, kernel=kernel, period=chosen, k=k, grid_code=grid_code,
                     progress=step)
    s = hm.surface
    rgba = None
    if Path(out).suffix.lower() == ".png":
        colors = TIME_PALETTE if s.units == "minutes" else None
        rgba = colorize(s.values, vmax=scale_max(s.values), **({"colors": colors} if colors else {}))
    write_surface(s, out, rgba=rgba, tags={"layer": layer, "bandwidth_m": bandwidth_m,
                                           "kernel": kernel})
    integral = s.integral() if s.units == "per_ha" else None
    info = {"layer": layer, "out": str(out), "units": hm.units, "value_units": s.units,
            "bandwidth_m": bandwidth_m, "cell_m": cell_m, "kernel": kernel,
            "crs": s.crs.to_string(), "shape": list(s.shape), "bounds": list(s.bounds),
            "total": hm.total, "integral": integral, "max": float(s.values[~np.isnan(s.values)].max())
            if np.isfinite(s.values).any() else None,
            "cells": len(hm.cells), "suppressed_cells": hm.suppressed_cells, "k": k if hm.personal else None,
            "period": hm.period.label if hm.period else None, "notes": hm.notes}
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    click.echo(f"{layer}: {hm.total:g} {hm.units} on {s.shape[1]} x {s.shape[0]} cells of "
               f"{cell_m:g} m ({s.crs.to_string()}), bandwidth {bandwidth_m:g} m {kernel}")
    if integral is not None:
        click.echo(f"surface integrates to {integral:.2f}; peak {info['max']:.2f} per ha")
    for note in hm.notes:
        click.echo(note)
    click.echo(f"written {out}")


COMMANDS = [patrol_cmd, risk_cmd, heatmap_cmd]
