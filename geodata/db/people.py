"""Households and residents: personal data, scoped to the requester's areas and audited.

Personal fields leave masked unless the caller asks for them with ``reveal=True`` and the
requester's role allows it; aggregate uses read no names, phones or ID numbers. Every read
is written to the audit log.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.models import Building, Grid, Household, Resident
from geodata.db.repo import audit
from geodata.db.scope import scoped
from gridmap.errors import PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester, mask_id_number, mask_name, mask_phone


def _check_reveal(requester: Requester, reveal: bool) -> None:
    if reveal and not requester.may_reveal:
        raise fail(
            PermissionDenied,
            N_("role {given} may not see unmasked personal data; ask a grid leader or admin"),
            given=repr(requester.role),
        )


def households(
    session: Session, requester: Requester, *, grid_code: str | None = None, tag: str | None = None
) -> list[dict]:
    """Households in the requester's areas (no names: the unit, size and tags), audited.

    Parameters
    ----------
    session : Session
        Database session holding the households.
    requester : Requester
        Whose areas choose the households.
    grid_code : str, optional
        Only the households of this grid.
    tag : str, optional
        Only households with this tag.

    Returns
    -------
    list of dict
        One row per household, by code.
    """
    stmt = scoped(
        sa.select(
            Household.id,
            Household.code,
            Household.unit,
            Household.floor,
            Household.room,
            Household.size,
            Household.tags,
            Household.building_id,
        ),
        requester,
        Household,
    )
    if grid_code:
        grid_id = sa.select(Grid.id).where(Grid.code == grid_code).scalar_subquery()
        stmt = stmt.where(
            Household.building_id.in_(sa.select(Building.id).where(Building.grid_id == grid_id))
        )
    rows = [dict(r._mapping) for r in session.execute(stmt.order_by(Household.code))]
    if tag:
        rows = [r for r in rows if tag in (r["tags"] or [])]
    audit(session, requester, "view_households", grid_code, {"count": len(rows), "tag": tag})
    return rows


def residents(
    session: Session,
    requester: Requester,
    *,
    grid_code: str | None = None,
    household_id: int | None = None,
    tag: str | None = None,
    reveal: bool = False,
) -> list[dict]:
    """Residents in the requester's areas; name, phone and ID number masked unless revealed.

    Parameters
    ----------
    session : Session
        Database session holding the residents.
    requester : Requester
        Whose areas choose the residents; only roles that may reveal get unmasked data.
    grid_code : str, optional
        Only the residents of this grid.
    household_id : int, optional
        Only the members of this household.
    tag : str, optional
        Only residents with this tag.
    reveal : bool
        Unmasked names, phones and ID numbers (audited as a reveal).

    Returns
    -------
    list of dict
        One row per resident, by id.
    """
    _check_reveal(requester, reveal)
    stmt = scoped(
        sa.select(
            Resident.id,
            Resident.household_id,
            Resident.name,
            Resident.id_number,
            Resident.phone,
            Resident.birth_year,
            Resident.sex,
            Resident.tags,
        ),
        requester,
        Resident,
    )
    if household_id is not None:
        stmt = stmt.where(Resident.household_id == household_id)
    if grid_code:
        grid_id = sa.select(Grid.id).where(Grid.code == grid_code).scalar_subquery()
        in_grid = sa.select(Household.id).join(Building, Household.building_id == Building.id)
        stmt = stmt.where(Resident.household_id.in_(in_grid.where(Building.grid_id == grid_id)))
    rows = [dict(r._mapping) for r in session.execute(stmt.order_by(Resident.id))]
    if tag:
        rows = [r for r in rows if tag in (r["tags"] or [])]
    if not reveal:
        for r in rows:
            r["name"] = mask_name(r["name"])
            r["phone"] = mask_phone(r["phone"])
            r["id_number"] = mask_id_number(r["id_number"])
    audit(
        session,
        requester,
        "reveal_residents" if reveal else "view_residents",
        grid_code,
        {"count": len(rows), "household_id": household_id, "tag": tag},
    )
    return rows


def group_members(
    session: Session, requester: Requester, *, purpose: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households and residents of the requester's areas, for aggregate counts only.

    No names, phones or ID numbers leave; the read is audited as an aggregate use of personal
    data with ``purpose``.

    Parameters
    ----------
    session : Session
        Database session holding the people.
    requester : Requester
        Whose areas choose the people.
    purpose : str
        What the counts are for (kept in the audit log).

    Returns
    -------
    tuple of (DataFrame, DataFrame)
        Households (id, building_id, tags) and residents (household_id, birth_year, tags).
    """
    hh_stmt = scoped(
        sa.select(Household.id, Household.building_id, Household.tags), requester, Household
    )
    res_stmt = scoped(
        sa.select(Resident.household_id, Resident.birth_year, Resident.tags), requester, Resident
    )
    hh = pd.DataFrame(session.execute(hh_stmt).all(), columns=["id", "building_id", "tags"])
    res = pd.DataFrame(
        session.execute(res_stmt).all(), columns=["household_id", "birth_year", "tags"]
    )
    audit(session, requester, *group_members_audit(purpose, hh, res))
    return hh, res


def group_members_audit(
    purpose: str, households: pd.DataFrame, residents: pd.DataFrame
) -> tuple[str, str, dict]:
    """The audit row of a :func:`group_members` read, so a view answered from a kept result
    can be audited exactly as the read that computed it.

    Parameters
    ----------
    purpose : str
        What the counts are for.
    households, residents : DataFrame
        What the read returned.

    Returns
    -------
    tuple of (str, str, dict)
        Action, target and detail of the audit row.
    """
    detail = {"households": len(households), "residents": len(residents)}
    return "aggregate_personal", purpose, detail
