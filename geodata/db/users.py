"""Staff accounts: creation, password hashing (Argon2id), login and scope; and their
administration (roles, assigned areas, grid leaders, the audit trail).

Administration is admin-only (PermissionDenied otherwise); every change there is audited in
the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from geodata.db import repo
from geodata.db.models import AuditLog, Community, Grid, StaffUser, Street
from gridmap.errors import InvalidInput, NotFound, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.privacy import Requester
from gridmap.vocab import ROLE_CODES

_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` for storing.

    Parameters
    ----------
    password : str
        The password in clear.

    Returns
    -------
    str
        The encoded hash (salt and cost included).
    """
    return _hasher.hash(password)


_NO_SUCH = {
    "grid": N_("no grid with code {code}"),
    "community": N_("no community with code {code}"),
    "street": N_("no street with code {code}"),
}


def _by_codes(session: Session, model, codes: list[str], what: str) -> list:
    if not codes:
        return []
    rows = session.scalars(sa.select(model).where(model.code.in_(codes))).all()
    missing = sorted(set(codes) - {r.code for r in rows})
    if missing:
        raise fail(NotFound, _NO_SUCH[what], code=", ".join(missing))
    return list(rows)


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    password: str | None = None,
    display_name: str | None = None,
    grid_codes: Sequence[str] = (),
    community_codes: Sequence[str] = (),
    street_codes: Sequence[str] = (),
) -> tuple[StaffUser, str]:
    """Add (or update) a user from the command line or a test, with a password.

    Parameters
    ----------
    session : Session
        Database session.
    username : str
        1-50 characters.
    role : str
        One of ``vocab.ROLE_CODES``.
    password : str, optional
        At least 8 characters (default: a generated one).
    display_name : str, optional
        Shown name (default: the existing one, or the user name).
    grid_codes, community_codes, street_codes : sequence of str
        The areas assigned, replacing the previous ones.

    Returns
    -------
    tuple of (StaffUser, str)
        The user and its password (the generated one when not given).
    """
    if role not in ROLE_CODES:
        raise fail(
            InvalidInput,
            N_("unknown role {given}; choose one of {choices}"),
            given=repr(role),
            choices=", ".join(sorted(ROLE_CODES)),
        )
    if not username or len(username) > 50:
        raise fail(InvalidInput, N_("user name must be 1-50 characters"))
    if password is not None and len(password) < 8:
        raise fail(InvalidInput, N_("password must have at least 8 characters"))
    password = password or secrets.token_urlsafe(12)
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None:
        user = StaffUser(username=username)
        session.add(user)
    user.role = role
    user.display_name = display_name or user.display_name or username
    user.password_hash = hash_password(password)
    user.active = True
    user.grids = _by_codes(session, Grid, list(grid_codes), "grid")
    user.communities = _by_codes(session, Community, list(community_codes), "community")
    user.streets = _by_codes(session, Street, list(street_codes), "street")
    session.flush()
    return user, password


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active user with this password, or None; upgrades old hashes in place.

    Parameters
    ----------
    session : Session
        Database session.
    username : str
        The user name given.
    password : str
        The password given.

    Returns
    -------
    StaffUser or None
        The user when the password matches, None otherwise (in the same time either way).
    """
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        _hasher.hash(password)  # spend the same time whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def requester_for(user: StaffUser) -> Requester:
    """Who a logged-in user is to the scoped queries: their role and assigned areas.

    Parameters
    ----------
    user : StaffUser
        The user.

    Returns
    -------
    Requester
        The user's name, role and street, community and grid ids.
    """
    return Requester(
        username=user.username,
        role=user.role,
        street_ids=frozenset(s.id for s in user.streets),
        community_ids=frozenset(c.id for c in user.communities),
        grid_ids=frozenset(g.id for g in user.grids),
    )


def _admin(requester: Requester) -> None:
    if requester.role != "admin":
        raise fail(PermissionDenied, N_("Only administrators manage users and grid assignments."))


def list_users(session: Session, requester: Requester) -> list[dict]:
    """Every user with their role, areas and last login, for the administration page.

    Parameters
    ----------
    session : Session
        Database session holding the users and the audit log.
    requester : Requester
        Who asks (administrators only).

    Returns
    -------
    list of dict
        One row per user, by user name.
    """
    _admin(requester)
    users = session.scalars(sa.select(StaffUser).order_by(StaffUser.username)).all()
    last = dict(
        session.execute(
            sa.select(AuditLog.username, sa.func.max(AuditLog.at))
            .where(AuditLog.action == "login")
            .group_by(AuditLog.username)
        ).all()
    )
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "locale": u.locale,
            "basemap": u.basemap,
            "streets": [s.code for s in u.streets],
            "communities": [c.code for c in u.communities],
            "grids": [g.code for g in u.grids],
            "last_login": last.get(u.username),
        }
        for u in users
    ]


def get_user(session: Session, requester: Requester, username: str) -> StaffUser:
    """One user, for the administration form.

    Parameters
    ----------
    session : Session
        Database session holding the users.
    requester : Requester
        Who asks (administrators only).
    username : str
        The user's name.

    Returns
    -------
    StaffUser
        The user's row.
    """
    _admin(requester)
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise fail(NotFound, N_("no user {name}"), name=username)
    return user


@dataclass(frozen=True)
class AreaCodes:
    """The areas assigned to a user, by code: what a grid leader or community staff sees."""

    streets: list[str] = field(default_factory=list)
    communities: list[str] = field(default_factory=list)
    grids: list[str] = field(default_factory=list)


def save_user(
    session: Session,
    requester: Requester,
    username: str,
    *,
    role: str,
    display_name: str | None,
    active: bool,
    password: str | None,
    areas: AreaCodes,
    create: bool,
) -> tuple[StaffUser, str | None]:
    """Create or update a user from the administration form (admins only; audited).

    Parameters
    ----------
    session : Session
        Database session; the user is written in its transaction.
    requester : Requester
        The administrator.
    username : str
        1-50 letters, digits, '.', '-' or '_'.
    role : str
        One of ``vocab.ROLE_CODES``.
    display_name : str or None
        Shown name (default: the user name).
    active : bool
        Whether the user may log in.
    password : str or None
        A new password (at least 8 characters); None keeps it, or generates one for a new user.
    areas : AreaCodes
        The streets, communities and grids assigned, replacing the previous ones.
    create : bool
        Create a new user (refused when the name is taken) rather than update one.

    Returns
    -------
    tuple of (StaffUser, str or None)
        The user and, for a new user without a given password, the generated one (to be
        shown once).
    """
    _admin(requester)
    username = (username or "").strip()
    _check_account(username, role, password)
    user, generated = _account_row(session, username, password, create=create)
    if user.username == requester.username and (role != "admin" or not active):
        raise fail(
            InvalidInput,
            N_("You cannot take away your own administrator role or deactivate yourself."),
        )
    user.role = role
    user.display_name = (display_name or "").strip() or username
    user.active = active
    user.streets = _by_codes(session, Street, areas.streets, "street")
    user.communities = _by_codes(session, Community, areas.communities, "community")
    user.grids = _by_codes(session, Grid, areas.grids, "grid")
    session.flush()
    repo.audit(
        session,
        requester,
        "user_create" if create else "user_update",
        username,
        {
            "role": role,
            "active": active,
            "password_changed": bool(password),
            "streets": areas.streets,
            "communities": areas.communities,
            "grids": areas.grids,
        },
    )
    return user, generated


def _check_account(username: str, role: str, password: str | None) -> None:
    """Refuse a malformed user name, an unknown role or a short password."""
    if (
        not username
        or len(username) > 50
        or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()
    ):
        raise fail(InvalidInput, N_("User name: 1-50 letters, digits, '.', '-' or '_'."))
    if role not in ROLE_CODES:
        raise fail(
            InvalidInput,
            N_("Role: choose one of {choices}."),
            choices=", ".join(sorted(ROLE_CODES)),
        )
    if password and len(password) < 8:
        raise fail(InvalidInput, N_("Password: at least 8 characters."))


def _account_row(
    session: Session, username: str, password: str | None, *, create: bool
) -> tuple[StaffUser, str | None]:
    """The new or existing user's row with its password set, and the generated password."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    generated = None
    if create:
        if user is not None:
            raise fail(InvalidInput, N_("The user name {name} is taken."), name=username)
        if not password:
            password = generated = secrets.token_urlsafe(12)
        user = StaffUser(username=username, password_hash=hash_password(password))
        session.add(user)
    elif user is None:
        raise fail(NotFound, N_("no user {name}"), name=username)
    elif password:
        user.password_hash = hash_password(password)
    return user, generated


def grid_assignments(session: Session, requester: Requester) -> list[dict]:
    """Every grid with its leader fields and the users assigned to it.

    Parameters
    ----------
    session : Session
        Database session holding the grids and their users.
    requester : Requester
        Who asks (administrators only).

    Returns
    -------
    list of dict
        One row per grid, by code.
    """
    _admin(requester)
    grids = session.scalars(sa.select(Grid).order_by(Grid.code)).all()
    users = session.scalars(sa.select(StaffUser).order_by(StaffUser.username)).all()
    by_grid: dict[int, list[str]] = {}
    for u in users:
        for gr in u.grids:
            by_grid.setdefault(gr.id, []).append(u.username)
    return [
        {
            "code": gr.code,
            "name": gr.name,
            "community": gr.community.name if gr.community else None,
            "leader": gr.leader,
            "leader_phone": gr.leader_phone,
            "target_households": gr.target_households,
            "users": by_grid.get(gr.id, []),
        }
        for gr in grids
    ]


def assign_grid(
    session: Session,
    requester: Requester,
    code: str,
    *,
    leader: str | None,
    leader_phone: str | None,
    target_households: int | None,
    usernames: list[str],
) -> None:
    """Set a grid's leader fields and exactly which users are assigned to it (audited).

    Parameters
    ----------
    session : Session
        Database session; the change is made in its transaction.
    requester : Requester
        Who asks (administrators only).
    code : str
        The grid's code.
    leader, leader_phone : str or None
        The grid leader's name and phone number (digits, '-' and spaces).
    target_households : int or None
        How many households the grid should hold.
    usernames : list of str
        The users assigned to the grid; everybody else is taken off it.
    """
    _admin(requester)
    grid = session.scalar(sa.select(Grid).where(Grid.code == code))
    if grid is None:
        raise fail(NotFound, N_("no grid with code {code}"), code=code)
    if target_households is not None and not 0 < target_households < 100000:
        raise fail(InvalidInput, N_("Target households: a whole number above 0."))
    phone = (leader_phone or "").strip() or None
    if phone and not phone.replace("-", "").replace(" ", "").isdigit():
        raise fail(
            InvalidInput, N_("Leader phone: digits only (e.g. 13812345678 or 010-62345678).")
        )
    grid.leader = (leader or "").strip() or None
    grid.leader_phone = phone
    grid.target_households = target_households
    wanted = set(usernames)
    users = session.scalars(sa.select(StaffUser)).all()
    unknown = wanted - {u.username for u in users}
    if unknown:
        raise fail(NotFound, N_("no user {name}"), name=", ".join(sorted(unknown)))
    for u in users:
        has = any(gr.id == grid.id for gr in u.grids)
        if u.username in wanted and not has:
            u.grids = [*u.grids, grid]
        elif u.username not in wanted and has:
            u.grids = [gr for gr in u.grids if gr.id != grid.id]
    session.flush()
    repo.audit(
        session,
        requester,
        "grid_assign",
        code,
        {"leader": grid.leader, "users": sorted(wanted), "target": target_households},
    )


def audit_entries(
    session: Session,
    requester: Requester,
    *,
    username: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[dict]:
    """The latest audit entries, newest first, for the administration page.

    Parameters
    ----------
    session : Session
        Database session holding the audit log.
    requester : Requester
        Who asks (administrators only).
    username : str, optional
        Only the entries of this user.
    action : str, optional
        Only the entries of this action.
    limit : int
        Most entries returned.

    Returns
    -------
    list of dict
        Per entry its time, user, action, target and detail.
    """
    _admin(requester)
    stmt = sa.select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)
    if username:
        stmt = stmt.where(AuditLog.username == username)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return [
        {
            "at": a.at,
            "username": a.username,
            "action": a.action,
            "target": a.target,
            "detail": a.detail,
        }
        for a in session.scalars(stmt)
    ]


def area_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Every street, community and grid a user may be assigned, for the form's lists.

    Parameters
    ----------
    session : Session
        Database session holding the places.

    Returns
    -------
    dict of str to list of (str, str)
        Per level the (code, name) pairs, by code.
    """
    return {
        "streets": [
            (s.code, s.name) for s in session.scalars(sa.select(Street).order_by(Street.code))
        ],
        "communities": [
            (c.code, c.name) for c in session.scalars(sa.select(Community).order_by(Community.code))
        ],
        "grids": [(g.code, g.name) for g in session.scalars(sa.select(Grid).order_by(Grid.code))],
    }
