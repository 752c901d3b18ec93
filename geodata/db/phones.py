"""Revealing one household's phone numbers: a reason, a daily limit, an audit entry.

Phone numbers are masked everywhere else; a role that may reveal gets one household's
numbers for a reason from the field rules, at most ``reveal.per_day`` a day.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.models import AuditLog, Building, Grid, Household, Resident
from geodata.db.scope import household_in_areas
from gridmap import field
from gridmap.errors import InvalidInput, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester


def reveal_phone(
    session: Session,
    requester: Requester,
    *,
    household_code: str,
    reason: str,
    rules: dict | None = None,
) -> dict:
    """The unmasked phone numbers of one household for ``reason``.

    Only roles that may reveal, inside their areas, at most ``reveal.per_day`` a day per
    person; every reveal is audited with its reason.

    Parameters
    ----------
    session : Session
        Database session.
    requester : Requester
        Who asks: a role that may reveal, the household in their areas.
    household_code : str
        The household's code.
    reason : str
        Why, one of the rules' ``reveal.reasons``.
    rules : dict, optional
        The field rules (default: ``gridmap.field.default_rules()``).

    Returns
    -------
    dict
        The household, the reason, the reveals left today and the people with a phone.
    """
    rules = rules or field.default_rules()
    _may_reveal(requester, reason, rules)
    hh = household_in_areas(session, requester, household_code)
    used = _revealed_today(session, requester)
    limit = int(rules["reveal"]["per_day"])
    if used >= limit:
        raise fail(
            PermissionDenied,
            N_(
                "You have revealed {n} phone numbers today, the daily "
                "limit: ask your community office."
            ),
            n=limit,
        )
    people = session.execute(
        sa.select(Resident.name, Resident.phone)
        .where(Resident.household_id == hh.id)
        .order_by(Resident.id)
    ).all()
    repo.audit(
        session, requester, "reveal_phone", hh.code, {"reason": reason, "count": len(people)}
    )
    session.flush()
    return {
        "household": hh.code,
        "reason": reason,
        "left_today": limit - used - 1,
        "people": [{"name": n, "phone": p} for n, p in people if p],
    }


def _may_reveal(requester: Requester, reason: str, rules: dict) -> None:
    """Refuse roles that may not reveal, and reasons outside the rules' list."""
    if not requester.may_reveal:
        raise fail(
            PermissionDenied,
            N_("Your role ({role}) may not see phone numbers."),
            role=requester.role,
        )
    if reason not in rules["reveal"]["reasons"]:
        raise fail(
            InvalidInput,
            N_("reason: choose one of {choices}"),
            choices=", ".join(rules["reveal"]["reasons"]),
        )


def _revealed_today(session: Session, requester: Requester) -> int:
    """How many phone numbers the requester has revealed since midnight (from the audit)."""
    day = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.username == requester.username,
                AuditLog.action == "reveal_phone",
                AuditLog.at >= day,
            )
        )
        or 0
    )


def household_in_grid(session: Session, household_id: int) -> str | None:
    """The code of the grid holding a household's building.

    Parameters
    ----------
    session : Session
        Database session.
    household_id : int
        The household's id.

    Returns
    -------
    str or None
        None when the household or its building has no grid.
    """
    return session.scalar(
        sa.select(Grid.code)
        .join(Building, Building.grid_id == Grid.id)
        .join(Household, Household.building_id == Building.id)
        .where(Household.id == household_id)
    )
