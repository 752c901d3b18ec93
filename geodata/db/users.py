"""Staff accounts: creation, password hashing (Argon2id), login, and scope."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from geodata.db.models import Community, Grid, StaffUser, Street
from gridmap.errors import InvalidInput, NotFound
from gridmap.privacy import Requester
from gridmap.vocab import ROLE_CODES

_hasher = PasswordHasher()  # Argon2id with the library's current recommended cost


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _by_codes(session: Session, model, codes: list[str], what: str) -> list:
    if not codes:
        return []
    rows = session.scalars(sa.select(model).where(model.code.in_(codes))).all()
    missing = sorted(set(codes) - {r.code for r in rows})
    if missing:
        raise NotFound(f"no {what} with code {', '.join(missing)}")
    return list(rows)


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    password: str | None = None,
    display_name: str | None = None,
    grid_codes: list[str] = (),
    community_codes: list[str] = (),
    street_codes: list[str] = (),
) -> tuple[StaffUser, str]:
    """Add (or update) a user; returns it and the password (generated when not given)."""
    if role not in ROLE_CODES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(sorted(ROLE_CODES))}")
    if not username or len(username) > 50:
        raise InvalidInput("user name must be 1-50 characters")
    if password is not None and len(password) < 8:
        raise InvalidInput("password must have at least 8 characters")
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
