"""Errors whose message can be shown in any language.

``fail(InvalidInput, N_("no grid with code {code}"), code=c)`` builds the error with its
English text (for the command line and logs) and keeps the template and parameters as a
:class:`gridmap.notes.Note` on ``exc.note``, so the web shows it in Chinese
(``exc.note.render(gettext)``). Templates marked with ``N_`` are extracted by
``scripts/i18n.sh``.
"""

from __future__ import annotations

from typing import Any

from gridmap.errors import GridmapError
from gridmap.notes import N_, Note

__all__ = ["N_", "fail"]


def fail(cls: type[GridmapError], template: str, **params: Any) -> GridmapError:
    """A typed error whose text is translated when shown.

    Parameters
    ----------
    cls : type
        The error class (``InvalidInput``, ``PermissionDenied`` ...).
    template : str
        A message marked with ``N_`` and ``{name}`` placeholders.
    **params
        The placeholder values.

    Returns
    -------
    GridmapError
        The error to raise, English text in ``str()``, the :class:`Note` in ``.note``.
    """
    note = Note(template, params)
    exc = cls(note.text)
    exc.note = note  # type: ignore[attr-defined]
    return exc
