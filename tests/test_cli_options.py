"""Commands with many options take them grouped: one frozen object per group, the options and
their help exactly as if written one by one."""

from dataclasses import FrozenInstanceError, dataclass

import click
import pytest
from click.testing import CliRunner

from gridmap_cli.common import option_group


@dataclass(frozen=True)
class Walk:
    speed_kmh: float
    minutes_text: str


walk_options = option_group(
    Walk,
    "walk",
    click.option("--speed-kmh", default=4.0, show_default=True, help="Walking speed."),
    click.option("--minutes", "minutes_text", default="5,10", help="Thresholds."),
)


def _commands():
    @click.command("grouped")
    @click.option("--first", help="Before the group.")
    @walk_options
    @click.option("--json", "as_json", is_flag=True, help="JSON.")
    def grouped(first, walk, as_json):
        click.echo(repr((first, walk, as_json)))

    @click.command("grouped")
    @click.option("--first", help="Before the group.")
    @click.option("--speed-kmh", default=4.0, show_default=True, help="Walking speed.")
    @click.option("--minutes", "minutes_text", default="5,10", help="Thresholds.")
    @click.option("--json", "as_json", is_flag=True, help="JSON.")
    def plain(first, speed_kmh, minutes_text, as_json):
        pass

    return grouped, plain


def test_a_group_hands_the_command_one_frozen_object_and_keeps_the_help():
    grouped, plain = _commands()
    runner = CliRunner()
    assert runner.invoke(grouped, ["--help"]).output == runner.invoke(plain, ["--help"]).output
    out = runner.invoke(grouped, ["--first", "a", "--minutes", "15", "--json"]).output
    assert out.strip() == repr(("a", Walk(4.0, "15"), True))
    with pytest.raises(FrozenInstanceError):
        Walk(4.0, "5").speed_kmh = 5.0


def test_gridmap_reach_and_import_take_their_options_grouped():
    from gridmap_cli.imports import import_cmd
    from gridmap_cli.reach import reach_cmd

    reach = [p.name for p in reach_cmd.params]
    assert reach[:3] == ["categories", "minutes_text", "speed_kmh"]
    assert reach[-3:] == ["noding", "out_file", "as_json"] and len(reach) == 20
    imports = [p.name for p in import_cmd.params]
    assert imports[:4] == ["layer", "path", "source_layer", "crs"] and len(imports) == 17
