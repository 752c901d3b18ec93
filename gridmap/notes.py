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
    """Mark ``template`` for extraction; it is translated when shown, not here.

    Parameters
    ----------
    template : str
        The English message with ``{named}`` fields.

    Returns
    -------
    str
        The template, unchanged.
    """
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
        """The message in English (logs, the command line)."""
        return _format(self.template, self.params)

    def render(self, gettext: Callable[[str], str]) -> str:
        """The message in the viewer's language.

        Parameters
        ----------
        gettext : callable
            The translation function of the request.

        Returns
        -------
        str
            The translated message with its fields filled in.
        """
        return _format(gettext(self.template), self.params, gettext)

    def __str__(self) -> str:
        return self.text


def note(template: str, **params: Any) -> Note:
    """A :class:`Note` of a template and its values.

    Parameters
    ----------
    template : str
        The English message, marked with ``N_``.
    **params
        The field values (Notes among them are translated too).

    Returns
    -------
    Note
        The message.
    """
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
        """The message in English."""
        return self.note.text

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON for the import report.

        Returns
        -------
        dict
            row, kind, severity, message, and code and area_m2 when known.
        """
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
        """The message in English."""
        return self.note.text

    @property
    def first_rows(self) -> tuple[int, ...]:
        """The rows listed by number."""
        return self.rows[: self.FIRST]

    @property
    def more(self) -> int:
        """How many more rows the group holds than are listed."""
        return max(0, len(self.rows) - self.FIRST)

    def rows_note(self) -> Note | None:
        """The rows of the group as said to people.

        Returns
        -------
        Note or None
            '1, 7, 12' or '1, 7, 12 … and 40 more'; None for a whole-file problem.
        """
        if not self.rows:
            return None
        listed = ", ".join(str(r) for r in self.first_rows)
        if self.more:
            return Note(N_("{rows} … and {n} more"), {"rows": listed, "n": self.more})
        return Note("{rows}", {"rows": listed})

    def as_dict(self) -> dict[str, Any]:
        """The group as JSON for the import report.

        Returns
        -------
        dict
            kind, severity, message, count, row, rows, more.
        """
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
    """One group per distinct (kind, severity, message), in order of first appearance; errors
    first, then warnings, then infos.

    Parameters
    ----------
    problems : list of Problem
        What the import found.

    Returns
    -------
    list of ProblemGroup
        The groups.
    """
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
    """A :class:`Problem` found in one feature (or the whole file).

    Parameters
    ----------
    row : int or None
        1-based row; None for the whole file.
    kind : str
        What sort of problem it is.
    severity : str
        'error' stops the write, 'warning' is written anyway but said, 'info' records what
        was done.
    template : str
        The English message, marked with ``N_``.
    code : str, optional
        The feature's code (also a field of the message).
    area_m2 : float, optional
        An area in square metres the problem concerns.
    **params
        The other field values.

    Returns
    -------
    Problem
        The problem.
    """
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
    """An :class:`InputRejected` refusal whose message is translated when shown.

    Parameters
    ----------
    template : str
        The English message, marked with ``N_``.
    **params
        The field values.

    Returns
    -------
    InputRejected
        The error to raise.
    """
    return InputRejected(template, **params)
