"""Translatable notes: what an import (or a check) found, said once, shown in any language.

A :class:`Note` keeps an English message template and its parameters apart, so
the command line prints English (``note.text``) while the web page shows the
same note in Chinese (``note.render(gettext)``). Templates are marked with
``N_`` so that ``scripts/i18n.sh`` extracts them into the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gridmap.errors import InvalidInput

SEVERITIES = ("error", "warning", "info")


def N_(template: str) -> str:  # noqa: N802 - the conventional gettext marker name
    """Mark ``template`` for extraction; it is translated when shown, not here."""
    return template


def _format(
    template: str, params: dict[str, Any], gettext: Callable[[str], str] | None = None
) -> str:
    # A parameter that is itself a Note (".prj file", "north-south") is translated too.
    values = {
        k: (v.render(gettext) if gettext else v.text) if isinstance(v, Note) else v
        for k, v in params.items()
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken translation must not hide the fact
        return template + " " + repr(values)


@dataclass(frozen=True)
class Note:
    """One message: an English ``template`` with ``{named}`` fields, and their values
    (which may be Notes themselves, translated with the message)."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return _format(self.template, self.params)

    def render(self, gettext: Callable[[str], str]) -> str:
        return _format(gettext(self.template), self.params, gettext)

    def __str__(self) -> str:
        return self.text


def note(template: str, **params: Any) -> Note:
    return Note(template, params)


@dataclass(frozen=True)
class Problem:
    """Something found in one feature (``row`` is 1-based; None for the whole file).

    ``severity`` 'error' stops the write, 'warning' is written anyway but said,
    'info' records what was done (a repair, a generated code).
    """

    row: int | None
    kind: str
    severity: str
    note: Note
    code: str | None = None
    area_m2: float | None = None

    @property
    def message(self) -> str:
        return self.note.text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
        }
        if self.code is not None:
            out["code"] = self.code
        if self.area_m2 is not None:
            out["area_m2"] = round(self.area_m2, 1)
        return out


@dataclass(frozen=True)
class ProblemGroup:
    """Problems that say the same thing (same kind, severity and message) about many rows."""

    kind: str
    severity: str
    note: Note
    rows: tuple[int, ...]  # every row, in file order
    count: int  # problems in the group (rows, plus any without a row)

    FIRST = 3

    @property
    def message(self) -> str:
        return self.note.text

    @property
    def first_rows(self) -> tuple[int, ...]:
        return self.rows[: self.FIRST]

    @property
    def more(self) -> int:
        return max(0, len(self.rows) - self.FIRST)

    def rows_note(self) -> Note | None:
        """'1, 7, 12' or '1, 7, 12 … and 40 more'; None for a whole-file problem."""
        if not self.rows:
            return None
        listed = ", ".join(str(r) for r in self.first_rows)
        if self.more:
            return Note(N_("{rows} … and {n} more"), {"rows": listed, "n": self.more})
        return Note("{rows}", {"rows": listed})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "row": self.rows[0] if self.rows else None,
            "rows": list(self.first_rows),
            "more": self.more,
        }


def group_problems(problems: list[Problem]) -> list[ProblemGroup]:
    """One group per distinct (kind, severity, message), in order of first appearance;
    errors first, then warnings, then infos."""
    groups: dict[tuple[str, str, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.kind, p.severity, p.note.text), []).append(p)
    out = [
        ProblemGroup(
            ps[0].kind,
            ps[0].severity,
            ps[0].note,
            tuple(sorted({p.row for p in ps if p.row is not None})),
            len(ps),
        )
        for ps in groups.values()
    ]
    return sorted(out, key=lambda g: SEVERITIES.index(g.severity))


def problem(
    row: int | None,
    kind: str,
    severity: str,
    template: str,
    *,
    code: str | None = None,
    area_m2: float | None = None,
    **params: Any,
) -> Problem:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    if code is not None:
        params = {"code": code, **params}
    return Problem(row, kind, severity, Note(template, params), code, area_m2)


class InputRejected(InvalidInput):
    """An :class:`InvalidInput` whose message is a translatable :class:`Note`."""

    def __init__(self, template: str, **params: Any) -> None:
        self.note = Note(template, params)
        super().__init__(self.note.text)


def rejected(template: str, **params: Any) -> InputRejected:
    return InputRejected(template, **params)
