"""`gridmap heatmap`: kernel-density surfaces written as GeoTIFF or PNG."""

from __future__ import annotations

import json

import click
import numpy as np

from gridmap.errors import InvalidInput
from gridmap_cli.common import command_session, steps


@click.command("heatmap")
@click.option(
    "--layer",
    required=True,
    help="households | group:NAME | hazards | incidents | patrol | reach:CATEGORY",
)
@click.option("--bandwidth-m", default=150.0, show_default=True, help="Kernel bandwidth in metres.")
@click.option("--cell-m", default=50.0, show_default=True, help="Cell size in metres.")
@click.option(
    "--kernel", type=click.Choice(["quartic", "gaussian"]), default="quartic", show_default=True
)
@click.option("--period", help="For incidents and patrol: START/END, a day, month or week.")
@click.option(
    "--k",
    "k",
    default=5,
    show_default=True,
    help="Personal groups: hide cells with fewer households than this.",
)
@click.option("--grid", "grid_code", help="Only this grid.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False),
    help="FILE.tif (values, GeoTIFF) or FILE.png (colours, with a .wld world file).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object describing the result."
)
def heatmap_cmd(layer, bandwidth_m, cell_m, kernel, period, k, grid_code, out, as_json):
    """Kernel-density heatmap computed in metres, written as GeoTIFF or PNG."""
    from pathlib import Path

    from geodata.db.heatmaps import HeatmapOptions, heatmap
    from geodata.raster import write_surface
    from gridmap.analysis.patrol import parse_period
    from gridmap.maps.heatmap import TIME_PALETTE, colorize, scale_max
    from gridmap.privacy import Requester

    if Path(out).suffix.lower() not in (".tif", ".tiff", ".png"):
        raise InvalidInput(f"--out {out}: use a .tif or .png file name")
    chosen = parse_period(period) if period else None
    with steps("heatmap", 3) as step, command_session() as session:
        hm = heatmap(
            session,
            Requester.system("cli"),
            layer=layer,
            options=HeatmapOptions(bandwidth_m=bandwidth_m, cell_m=cell_m, kernel=kernel, k=k),
            period=chosen,
            grid_code=grid_code,
            progress=step,
        )
    s = hm.surface
    rgba = None
    if Path(out).suffix.lower() == ".png":
        colors = TIME_PALETTE if s.units == "minutes" else None
        rgba = colorize(
            s.values, vmax=scale_max(s.values), **({"colors": colors} if colors else {})
        )
    write_surface(
        s, out, rgba=rgba, tags={"layer": layer, "bandwidth_m": bandwidth_m, "kernel": kernel}
    )
    integral = s.integral() if s.units == "per_ha" else None
    info = {
        "layer": layer,
        "out": str(out),
        "units": hm.units,
        "value_units": s.units,
        "bandwidth_m": bandwidth_m,
        "cell_m": cell_m,
        "kernel": kernel,
        "crs": s.crs.to_string(),
        "shape": list(s.shape),
        "bounds": list(s.bounds),
        "total": hm.total,
        "integral": integral,
        "max": float(s.values[~np.isnan(s.values)].max()) if np.isfinite(s.values).any() else None,
        "cells": len(hm.cells),
        "suppressed_cells": hm.suppressed_cells,
        "k": k if hm.personal else None,
        "period": hm.period.label if hm.period else None,
        "notes": hm.notes,
    }
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    click.echo(
        f"{layer}: {hm.total:g} {hm.units} on {s.shape[1]} x {s.shape[0]} cells of "
        f"{cell_m:g} m ({s.crs.to_string()}), bandwidth {bandwidth_m:g} m {kernel}"
    )
    if integral is not None:
        click.echo(f"surface integrates to {integral:.2f}; peak {info['max']:.2f} per ha")
    for note in hm.notes:
        click.echo(note)
    click.echo(f"written {out}")
