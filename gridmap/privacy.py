"""Masking of personal fields, and who may see them unmasked.

Masks follow common practice in Chinese government systems: a name keeps its
surname (张*, 欧阳**), a phone its first 3 and last 4 digits (138****1234), an
ID number its first 6 (region) and last 4 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# Roles whose work covers a whole city: they see every area, but only in aggregate
# or masked; planners never need a resident's identity.
ALL_AREA_ROLES = frozenset({"admin", "planner"})
# Roles that may ask for unmasked personal fields inside their own areas.
REVEAL_ROLES = frozenset({"admin", "street_staff", "community_staff", "grid_leader"})
# Roles that may change data (hazard workflow, imports, user admin is admin-only).
EDIT_ROLES = frozenset({"admin", "street_staff", "community_staff", "grid_leader"})

# Two-character compound surnames: mask after the whole surname.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "令狐",
        "端木",
        "轩辕",
    ]
)


def mask_name(name: str | None) -> str | None:
    """A name with all but the surname starred (张** ; 欧阳* for compound surnames).

    Parameters
    ----------
    name : str or None
        The full name; empty or None is returned as is.

    Returns
    -------
    str or None
    """
    if not name:
        return name
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * max(1, len(name) - keep)


def mask_phone(phone: str | None) -> str | None:
    """A phone number with the first three and last four digits kept (138****5678).

    Parameters
    ----------
    phone : str or None
        The number; shorter than 8 characters is starred whole; empty or None is returned
        as is.

    Returns
    -------
    str or None
    """
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str | None) -> str | None:
    """An ID number with the first six and last four characters kept.

    Parameters
    ----------
    id_number : str or None
        The 18-digit resident ID (10 characters or fewer are starred whole); empty or None
        is returned as is.

    Returns
    -------
    str or None
    """
    if not id_number:
        return id_number
    s = id_number.strip()
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


@dataclass(frozen=True)
class Requester:
    """Who is asking: their role and assigned areas (database ids).

    Every repository query that returns people, hazards or tracks takes one.
    """

    username: str
    role: str
    street_ids: frozenset[int] = field(default_factory=frozenset)
    community_ids: frozenset[int] = field(default_factory=frozenset)
    grid_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def all_areas(self) -> bool:
        """Whether the role covers every area (admin, planner)."""
        return self.role in ALL_AREA_ROLES

    @property
    def may_reveal(self) -> bool:
        """Whether the role may reveal unmasked phone numbers."""
        return self.role in REVEAL_ROLES

    @property
    def may_edit(self) -> bool:
        """Whether the role may edit records at all."""
        return self.role in EDIT_ROLES

    @classmethod
    def system(cls, username: str = "system") -> Requester:
        """The command line acting as administrator of its own installation.

        Parameters
        ----------
        username : str
            The name recorded for what it does.

        Returns
        -------
        Requester
            An administrator without area limits.
        """
        return cls(username=username, role="admin")


# --- exports by need -------------------------------------------------------------------------
# Planners and viewers work with counts: for layers about people they get aggregates
# (per building or grid, small counts suppressed as on the heatmaps), never rows.
AGGREGATE_ONLY_ROLES = frozenset({"planner", "viewer"})
PEOPLE_LAYERS = ("households", "residents", "patrol_tracks")
# Grid leaders' phone numbers go to the staff who manage them, citizen reporters' names to
# the staff who handle the cases; everyone else gets them masked.
MANAGING_ROLES = frozenset({"admin", "street_staff", "community_staff"})
AGE_BAND_YEARS = 10


def export_kind(role: str, layer: str) -> str:
    """What ``role`` may export of ``layer``.

    Parameters
    ----------
    role : str
        The user's role.
    layer : str
        The layer's name.

    Returns
    -------
    str
        ``rows`` or ``aggregate``.
    """
    return "aggregate" if role in AGGREGATE_ONLY_ROLES and layer in PEOPLE_LAYERS else "rows"


def age_band(birth_year: Any, as_of_year: int) -> str | None:
    """A ten-year age band ("60-69") in place of a birth year beside a masked ID.

    Together they would narrow an 18-digit ID number to a few dozen candidates.

    Parameters
    ----------
    birth_year : int or None
        The birth year (anything not a year gives None).
    as_of_year : int
        The year ages are counted at.

    Returns
    -------
    str or None
        The band; None when the birth year is unknown or later than ``as_of_year``.
    """
    try:
        age = as_of_year - int(birth_year)
    except (TypeError, ValueError):
        return None
    if age < 0:
        return None
    low = age // AGE_BAND_YEARS * AGE_BAND_YEARS
    return f"{low}-{low + AGE_BAND_YEARS - 1}"


SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")  # -12.5 is a value, not a formula


def neutralise_formula(value: Any) -> Any:
    """A text a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe,
    so it opens as text; other values pass unchanged.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        The value, neutralised when it is such a text.
    """
    if (
        isinstance(value, str)
        and value.startswith(SPREADSHEET_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a DataFrame bound for CSV/XLSX with every text cell neutralised.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to export.

    Returns
    -------
    pandas.DataFrame
        The copy.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            out[col] = out[col].map(neutralise_formula)
    return out
