"""Personal API tokens: made (shown once), checked, listed and revoked.

A token is ``gm_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored,
so a stolen database does not give working tokens; a token is found by that hash.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from geodata.db.models import ApiToken, Community, Grid, StaffUser, Street
from gridmap.errors import InvalidInput, NotFound
from gridmap.messages import N_, fail

PREFIX = "gm_"
LAST_USED_EVERY_S = 60  # write last_used_at at most once a minute per token


def token_hash(token: str) -> str:
    """The SHA-256 hex digest stored in place of an API token.

    Parameters
    ----------
    token : str
        The token as given to its user.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    username: str,
    *,
    name: str = "api",
    days: int | None = 90,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new API token for ``username``.

    Parameters
    ----------
    session : Session
        Database session; the token's row is written in its transaction.
    username : str
        The token's user.
    name : str
        A label for the token (1-50 characters).
    days : int or None
        Days it is valid (1-3650; None: until revoked).
    now : datetime, optional
        The creation time (default: now).

    Returns
    -------
    tuple of (ApiToken, str)
        The row and the token, which is not kept anywhere else.
    """
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise fail(NotFound, N_("no user {name}"), name=username)
    if not user.active:
        raise fail(InvalidInput, N_("user {name} is inactive"), name=username)
    name = (name or "").strip()
    if not 1 <= len(name) <= 50:
        raise fail(InvalidInput, N_("a token name must have 1 to 50 characters"))
    if days is not None and not 1 <= days <= 3650:
        raise fail(InvalidInput, N_("days must be between 1 and 3650, got {days}"), days=days)
    now = now or datetime.now()
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user,
        name=name,
        token_hash=token_hash(token),
        prefix=token[:10],
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    return row, token


def user_for_token(
    session: Session, token: str, *, username: str | None = None, now: datetime | None = None
) -> StaffUser | None:
    """The active user a valid (unexpired, unrevoked) token belongs to.

    Parameters
    ----------
    session : Session
        Database session holding the tokens.
    token : str
        The token presented.
    username : str, optional
        The user name from HTTP Basic; it must be the token's own user.
    now : datetime, optional
        The time of the request (default: now).

    Returns
    -------
    StaffUser or None
        The user, else None.
    """
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = (
        session.scalars(
            _with_user_and_areas(sa.select(ApiToken)).where(
                ApiToken.token_hash == token_hash(token)
            )
        )
        .unique()
        .first()
    )
    now = now or datetime.now()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    user = row.user
    if not user.active:
        return None
    if username is not None and not hmac.compare_digest(username.encode(), user.username.encode()):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > LAST_USED_EVERY_S:
        row.last_used_at = now
    return user


def _with_user_and_areas(stmt):
    """The token's user and the ids of their areas in the same round trip: every API
    request needs them (web.auth builds the requester's scope from them)."""
    user = joinedload(ApiToken.user)
    return stmt.options(
        *(
            user.joinedload(rel).load_only(model.id)
            for rel, model in (
                (StaffUser.streets, Street),
                (StaffUser.communities, Community),
                (StaffUser.grids, Grid),
            )
        )
    )


def tokens_of(session: Session, username: str | None = None) -> list[ApiToken]:
    """API tokens by user name, every user's or one user's.

    Parameters
    ----------
    session : Session
        Database session holding the tokens.
    username : str or None
        Only this user's tokens when given.

    Returns
    -------
    list of ApiToken
        The tokens' rows.
    """
    stmt = sa.select(ApiToken).join(StaffUser).order_by(StaffUser.username, ApiToken.id)
    if username is not None:
        stmt = stmt.where(StaffUser.username == username)
    return list(session.scalars(stmt))


def revoke_token(
    session: Session, token_id: int, *, username: str | None = None, now: datetime | None = None
) -> ApiToken:
    """Revoke token ``token_id``.

    Parameters
    ----------
    session : Session
        Database session; the revocation is written in its transaction.
    token_id : int
        The token's id.
    username : str, optional
        The token must be this user's (users revoke only their own).
    now : datetime, optional
        The revocation time (default: now).

    Returns
    -------
    ApiToken
        The revoked token's row.
    """
    row = session.get(ApiToken, token_id)
    if row is None or (username is not None and row.user.username != username):
        if username is None:
            raise fail(NotFound, N_("no token {id}"), id=token_id)
        raise fail(NotFound, N_("no token {id} of {name}"), id=token_id, name=username)
    if row.revoked_at is None:
        row.revoked_at = now or datetime.now()
    return row


def token_state(row: ApiToken, now: datetime | None = None) -> str:
    """Whether a token is revoked, expired or active.

    Parameters
    ----------
    row : ApiToken
        The token's row.
    now : datetime, optional
        The moment judged (default: now).

    Returns
    -------
    str
        "revoked", "expired" or "active".
    """
    now = now or datetime.now()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"
