"""What every `gridmap` subcommand shares: the database session and schema upgrade, progress
bars on stderr, JSON-ready records, plain-text tables.

The subcommand modules import this module, never ``gridmap_cli.main`` (which imports them).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import click

from gridmap.json_values import json_value

if TYPE_CHECKING:
    from geodata.settings import Settings


@cache
def settings() -> Settings:
    """The installation's settings, read from the environment once per command."""
    from geodata.settings import Settings

    return Settings.from_env()


def make_engine():
    """An engine on the configured database."""
    from geodata.db.engine import make_engine as engine_for

    s = settings()
    return engine_for(s.database_url, pool_size=s.db_pool_size, max_overflow=s.db_max_overflow)


@contextmanager
def command_session() -> Iterator:
    """One transaction on the configured database, committed when the command succeeds."""
    from geodata.db.engine import session_factory

    engine = make_engine()
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    from geodata.db.migrate import upgrade as upgrade_schema

    engine = make_engine()
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()


class ProgressBar:
    """click.progressbar on stderr, driven by a (stage, done, total) callback."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.stage = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 1:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.done = 0
            self.bar = click.progressbar(length=total, label=stage, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def category_bar(label: str):
    """A progress bar on stderr (the importer's) fed by (category, done, total) callbacks;
    ``.close()`` ends it."""
    bar = ProgressBar(enabled=True)

    def progress(_what: str, done: int, total: int) -> None:
        bar(label, done, total)

    progress.close = bar.close
    return progress


def option_group(cls: type, name: str, *options: Callable) -> Callable:
    """Add ``options`` to a command and hand the command their values as one ``cls``.

    ``cls`` is a frozen dataclass whose fields are the options' parameter names; the command
    receives it as the keyword argument ``name``. The options appear in ``--help`` where
    the decorator stands, in the order given, exactly as if written one by one.
    """
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def collect(*args, **kwargs):
            kwargs[name] = cls(**{f: kwargs.pop(f) for f in fields})
            return command(*args, **kwargs)

        for option in reversed(options):
            collect = option(collect)
        return collect

    return decorate


@contextmanager
def steps(label: str, n: int) -> Iterator[Callable[[Any], None]]:
    """A progress bar on stderr advanced by named steps."""
    with click.progressbar(length=n, label=label, file=sys.stderr) as bar:
        yield lambda _step: bar.update(1)


def rounded(value: Any) -> Any:
    """:func:`~gridmap.json_values.json_value` with floats to 4 decimals, as reach figures
    are stated."""
    return json_value(value, digits=4)


def records(frame, columns: list[str] | None = None) -> list[dict]:
    """The rows of a DataFrame as JSON-ready dicts."""
    frame = frame if columns is None else frame[columns]
    return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def table(rows: list[list], headers: list[str]) -> None:
    """Print ``rows`` under ``headers``, numbers right-aligned."""
    cells = [[str(c) for c in r] for r in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        click.echo(
            "  ".join(
                c.rjust(w) if k and i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def fmt(v, unit: str = "") -> str:
    """A number with its unit for a table cell; "-" when there is none."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:g}{unit}" if isinstance(v, float) else f"{v}{unit}"


def percent(share) -> str:
    """A share (0-1) as a percentage for a table cell; "-" when there is none."""
    return "-" if share is None or share != share else f"{100 * share:.1f}%"
