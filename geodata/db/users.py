"""Staff accounts: creation, password hashing (Argon2id), login and scope; and their
administration (roles, assigned areas, grid leaders, the audit trail).

Administration is admin-only (PermissionDenied otherwise); every change there is audited in
the caller's transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

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
    """Add (or update) a user; returns it and the password (generated when not given)."""
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
    """The active user with this password, or None. Upgrades old hashes in place."""
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
    _admin(requester)
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise fail(NotFound, N_("no user {name}"), name=username)
    return user


def save_user(
    session: Session,
    requester: Requester,
    username: str,
    *,
    role: str,
    display_name: str | None,
    active: bool,
    password: str | None,
    street_codes: list[str],
    community_codes: list[str],
    grid_codes: list[str],
    create: bool,
) -> tuple[StaffUser, str | None]:
    """Create (``create=True``) or update a user. Returns the user and, for a new user
    without a given password, the generated one (to be shown once)."""
    _admin(requester)
    username = (username or "").strip()
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
    if user.username == requester.username and (role != "admin" or not active):
        raise fail(
            InvalidInput,
            N_("You cannot take away your own administrator role or deactivate yourself."),
        )
    user.role = role
    user.display_name = (display_name or "").strip() or username
    user.active = active
    user.streets = _by_codes(session, Street, street_codes, "street")
    user.communities = _by_codes(session, Community, community_codes, "community")
    user.grids = _by_codes(session, Grid, grid_codes, "grid")
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
            "streets": street_codes,
            "communities": community_codes,
            "grids": grid_codes,
        },
    )
    return user, generated


def grid_assignments(session: Session, requester: Requester) -> list[dict]:
    """Every grid with its leader fields and the users assigned to it."""
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
    """Set a grid's leader fields and exactly which users are assigned to it."""
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
    return {
        "streets": [
            (s.code, s.name) for s in session.scalars(sa.select(Street).order_by(Street.code))
        ],
        "communities": [
            (c.code, c.name) for c in session.scalars(sa.select(Community).order_by(Community.code))
        ],
        "grids": [(g.code, g.name) for g in session.scalars(sa.select(Grid).order_by(Grid.code))],
    }
