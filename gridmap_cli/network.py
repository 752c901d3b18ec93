"""`gridmap network` and `gridmap standards`: the stored walking network and the
reachability rules it is measured against."""

from __future__ import annotations

import json
import time

import click

from gridmap_cli.common import command_session, upgrade


@click.group("network")
def network_group() -> None:
    """The stored walking network (built from the road, gate and compound tables)."""


@network_group.command("build")
@click.option(
    "--noding",
    type=click.Choice(["intersections", "vertices"]),
    default="intersections",
    show_default=True,
    help="Join road lines wherever they meet, or only at shared vertices.",
)
@click.option(
    "--gate-link-m",
    default=100.0,
    show_default=True,
    help="A gate off the mapped paths links to a street at most this far away.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def network_build(noding, gate_link_m, as_json) -> None:
    """Build (or rebuild) the walking network and store it for later runs."""
    from geodata.network_store import NetworkOptions, ensure_network, network_info
    from gridmap.errors import NotFound

    upgrade()
    started = time.perf_counter()
    with command_session() as session:
        stored = ensure_network(
            session, options=NetworkOptions(noding=noding, gate_link_m=gate_link_m), rebuild=True
        )
        if stored is None:
            raise NotFound("the database holds no roads: import street lines first")
        info = network_info(session)
    info["seconds"] = round(time.perf_counter() - started, 2)
    info["gated_compounds"] = int(stored.network.compound_gated.sum())
    info["gates"] = len(stored.network.gate_node)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    click.echo(
        f"walking network {info['id']}: {info['nodes']} nodes, {info['edges']} edges, "
        f"{info['gated_compounds']} gated compounds, {info['gates']} gates "
        f"({info['crs']}) in {info['seconds']} s"
    )
    for w in info["warnings"]:
        click.echo(f"  note: {w}")


@network_group.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def network_show(as_json) -> None:
    """What the stored walking network is."""
    from geodata.network_store import network_info

    upgrade()
    with command_session() as session:
        info = network_info(session)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    if info is None:
        click.echo("no walking network stored yet (`gridmap network build` or `gridmap reach`)")
        return
    click.echo(
        f"walking network {info['id']} built {info['built_at']}: {info['nodes']} nodes, "
        f"{info['edges']} edges ({info['crs']})"
    )
    for w in info["warnings"]:
        click.echo(f"  note: {w}")


# --- gridmap standards ------------------------------------------------------------------


@click.command("standards")
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False),
    help="Your rules file (YAML), merged over the shipped rules.",
)
@click.option("--all", "show_all", is_flag=True, help="Also list disabled rules.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def standards_cmd(rules_path, show_all, as_json) -> None:
    """The reachability rules with their clauses (GB 50180-2018, TD/T 1062-2021, ...)."""
    from dataclasses import asdict

    from gridmap.standards.rules import load_rules

    rules = load_rules(rules_path)
    chosen = rules.rules if show_all else rules.enabled()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "sources": list(rules.sources),
                    "levels": list(rules.levels),
                    "rules": [asdict(r) for r in chosen],
                },
                ensure_ascii=False,
            )
        )
        return
    for r in chosen:
        limit = (
            f"{r.max_distance_m:.0f} m"
            if r.max_distance_m is not None
            else f"{r.max_minutes:g} min"
        )
        flag = "" if r.enabled else " [disabled]"
        click.echo(
            f"{r.id}{flag}: {','.join(r.categories)} within {limit}, "
            f">= {100 * r.min_share:.0f}% of {r.weight} — {r.clause}"
        )
