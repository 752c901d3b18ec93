"""Masking of personal fields, and who may see them unmasked.

Masks follow common practice in Chinese government systems: a name keeps its
surname (张*, 欧阳**), a phone its first 3 and last 4 digits (138****1234), an
ID number its first 6 (region) and last 4 digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Roles whose work covers a whole city: they see every area, but only in aggregate
# or masked; planners never need a resident's identity.
ALL_AREA_ROLES = frozenset({"admin", "planner"})
# Roles that may ask for unmasked personal fields inside their own areas.
REVEAL_ROLES = frozenset({"admin", "street_staff", "community_staff", "grid_leader"})
# Roles that may change data (hazard workflow, imports, user admin is admin-only).
EDIT_ROLES = frozenset({"admin", "street_staff", "community_staff", "grid_leader"})

# Two-character compound surnames: mask after the whole surname.
COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐", "端木", "轩辕"]
)


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    keep = 2 if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else 1
    return name[:keep] + "*" * max(1, len(name) - keep)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.strip()
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str | None) -> str | None:
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
        return self.role in ALL_AREA_ROLES

    @property
    def may_reveal(self) -> bool:
        return self.role in REVEAL_ROLES

    @property
    def may_edit(self) -> bool:
        return self.role in EDIT_ROLES

    @classmethod
    def system(cls, username: str = "system") -> Requester:
        """The command line acting as administrator of its own installation."""
        return cls(username=username, role="admin")
