"""`gridmap patrol`: patrol coverage per grid, overdue inspections, unpatrolled streets."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import click

from gridmap.errors import InvalidInput
from gridmap_cli.common import command_session, fmt, option_group, records, steps, table


def _hours(text: str) -> tuple[int, int]:
    try:
        a, b = (int(p) for p in text.split("-"))
    except ValueError as exc:
        raise InvalidInput(
            f"--day-hours {text!r}: write START-END in whole hours, e.g. 6-20"
        ) from exc
    return a, b


@dataclass(frozen=True)
class TrackOptions:
    """How patrol tracks are cleaned and matched to streets, buildings and key sites."""

    tolerance_m: float
    max_speed_kmh: float
    max_accuracy_m: float
    gap_min: float
    pass_m: float

    def patrol_options(self, day_hours: str):
        """The analysis options of these choices, day shift ``day_hours`` (START-END)."""
        from gridmap.analysis.patrol import PatrolOptions

        start, end = _hours(day_hours)
        return PatrolOptions(
            tolerance_m=self.tolerance_m,
            max_speed_kmh=self.max_speed_kmh,
            max_accuracy_m=self.max_accuracy_m,
            max_gap_min=self.gap_min,
            pass_m=self.pass_m,
            visit_m=self.pass_m,
            day_start_hour=start,
            night_start_hour=end,
        )


track_options = option_group(
    TrackOptions,
    "tracks",
    click.option(
        "--tolerance-m",
        default=20.0,
        show_default=True,
        help="A track this close to a street runs along it.",
    ),
    click.option(
        "--max-speed-kmh",
        default=15.0,
        show_default=True,
        help="Fixes implying a faster walk are GPS jumps.",
    ),
    click.option(
        "--max-accuracy-m",
        default=50.0,
        show_default=True,
        help="Fixes reported less accurate than this are dropped.",
    ),
    click.option(
        "--gap-min",
        default=10.0,
        show_default=True,
        help="Tracks are split at longer gaps between fixes.",
    ),
    click.option(
        "--pass-m",
        default=30.0,
        show_default=True,
        help="A building (or key site) this close to a track was passed (visited).",
    ),
)


@click.command("patrol")
@click.option(
    "--period",
    help="START/END (2025-06-01/2025-06-30), a day, a month (2025-06) or "
    "a week (2025-W23). Default: the last 30 days.",
)
@click.option(
    "--by",
    type=click.Choice(["period", "day", "week", "month"]),
    default="period",
    show_default=True,
    help="One row per grid and day, week or month.",
)
@click.option(
    "--shift",
    type=click.Choice(["all", "day", "night"]),
    default="all",
    show_default=True,
    help="Only day or night patrols.",
)
@click.option(
    "--day-hours",
    default="6-20",
    show_default=True,
    help="Day shift hours START-END; the rest is night.",
)
@click.option("--grid", "grid_code", help="Only this grid.")
@track_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def patrol_cmd(period, by, shift, day_hours, grid_code, tracks: TrackOptions, as_json):
    """Patrol coverage (巡查覆盖率) per grid: streets, buildings, households, key sites;
    overdue inspections, longest unpatrolled streets and per-patroller totals."""
    from geodata.db.analysis import patrol_report
    from gridmap.analysis.patrol import parse_period
    from gridmap.privacy import Requester

    options = tracks.patrol_options(day_hours)
    chosen = parse_period(period) if period else None
    with steps("patrol", 5) as step, command_session() as session:
        res = patrol_report(
            session,
            Requester.system("cli"),
            period=chosen,
            by=by,
            shift=shift,
            grid_code=grid_code,
            options=options,
            progress=step,
        )
    if as_json:
        out = _patrol_json(res, by, shift, day_hours, tracks, options)
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    _echo_patrol(res, shift)


def _patrol_json(res, by, shift, day_hours, tracks: TrackOptions, options) -> dict:
    """The patrol report as one JSON object, with the options it was computed with."""
    rep = res.report
    overdue = res.overdue_only()
    return {
        "period": {
            "start": res.period.start.isoformat(),
            "end": res.period.end.isoformat(),
            "label": res.period.label,
            "by": by,
            "shift": shift,
        },
        "as_of": res.as_of.isoformat(),
        "crs": res.crs.to_string(),
        "options": {
            "tolerance_m": tracks.tolerance_m,
            "max_speed_kmh": tracks.max_speed_kmh,
            "max_accuracy_m": tracks.max_accuracy_m,
            "gap_min": tracks.gap_min,
            "min_share": options.min_share,
            "pass_m": options.pass_m,
            "visit_m": options.visit_m,
            "visit_min_s": options.visit_min_s,
            "day_hours": day_hours,
        },
        "totals": rep.totals(),
        "cleaning": rep.cleaning,
        "grids": records(rep.grids.drop(columns=["period_start"])),
        "overdue_sites": records(
            overdue,
            [
                "code",
                "name",
                "category",
                "grid_code",
                "last_inspected",
                "inspection_interval_days",
                "days_overdue",
            ],
        ),
        "unpatrolled": records(rep.unpatrolled.drop(columns="geometry")),
        "patrollers": records(rep.patrollers),
    }


def _echo_patrol(res, shift: str) -> None:
    """The patrol report as text: totals, one row per grid, overdue sites, unpatrolled
    streets, patrollers."""
    rep = res.report
    overdue = res.overdue_only()
    t = rep.totals()
    click.echo(f"patrol coverage {res.period.label} ({shift}); as of {res.as_of:%Y-%m-%d %H:%M}")
    click.echo(
        f"streets patrolled: {t['patrolled_m'] / 1000:.1f} of {t['street_m'] / 1000:.1f} km "
        f"({fmt(t['street_pct'], '%')}); patrols: {t['patrols']}, {t['patrol_km']} km; "
        f"fixes kept {rep.cleaning['kept']} of {rep.cleaning['fixes']}"
        + "".join(f", {k} {v}" for k, v in rep.cleaning["dropped"].items())
    )
    click.echo("")
    rows = [
        [
            r.grid_code,
            r.grid_name,
            r.period,
            fmt(r.street_pct, "%"),
            fmt(r.buildings_pct, "%"),
            f"{r.households_covered}/{r.households}",
            f"{r.key_sites_visited}/{r.key_sites}",
            r.patrols,
            f"{r.patrol_km:.2f}",
        ]
        for r in rep.grids.itertuples()
    ]
    table(
        rows,
        [
            "grid",
            "name",
            "period",
            "streets",
            "buildings",
            "households",
            "sites visited",
            "patrols",
            "km",
        ],
    )
    _echo_lists(rep, overdue)


def _echo_lists(rep, overdue) -> None:
    """Overdue key sites, the longest unpatrolled streets per grid, the patrollers."""
    if len(overdue):
        click.echo(f"\noverdue key-site inspections: {len(overdue)}")
        table(
            [
                [
                    r.grid_code,
                    r.name,
                    r.category,
                    "never" if math.isinf(r.days_overdue) else f"{r.days_overdue:.0f} d",
                ]
                for r in overdue.itertuples()
            ],
            ["grid", "site", "category", "overdue"],
        )
    if len(rep.unpatrolled):
        click.echo("\nlongest unpatrolled streets:")
        table(
            [
                [r.grid_code, r.name or f"({r.highway})", f"{r.length_m:.0f} m"]
                for r in rep.unpatrolled.groupby("grid_code").head(3).itertuples()
            ],
            ["grid", "street", "length"],
        )
    if len(rep.patrollers):
        click.echo("\npatrollers:")
        table(
            [
                [
                    r.patroller,
                    r.period,
                    r.patrols,
                    f"{r.km:.2f}",
                    f"{r.hours:.2f}",
                    f"{r.night_hours:.2f}",
                ]
                for r in rep.patrollers.itertuples()
            ],
            ["patroller", "period", "patrols", "km", "hours", "night hours"],
        )
