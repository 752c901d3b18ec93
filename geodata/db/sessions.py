"""Server-side login sessions and failed-login throttling.

The browser's cookie holds a random token; the database holds its SHA-256 with the user,
when it began and when it was last seen. A session ends at logout, on a password change
(every other session of the user), on an administrator's "log out everywhere", after
``idle`` without a request and ``absolute`` after it began.

Failed logins are counted per account and per address over a window; past the limit the
account (or address) is locked until the window passes or an administrator unlocks it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db.models import LoginFailure, StaffSession, StaffUser

TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)
    window: timedelta = timedelta(minutes=15)
    max_failures_account: int = 5
    max_failures_address: int = 20

    @classmethod
    def from_env(cls, env) -> SessionRules:
        """Session limits from the environment.

        Parameters
        ----------
        env : mapping
            ``GRIDMAP_SESSION_IDLE_MIN`` (minutes, default 30), ``GRIDMAP_SESSION_MAX_HOURS``
            (hours, default 12), ``GRIDMAP_LOGIN_MAX_FAILURES`` (default 5).

        Returns
        -------
        SessionRules
            The limits.
        """
        return cls(
            idle=timedelta(minutes=float(env.get("GRIDMAP_SESSION_IDLE_MIN", 30))),
            absolute=timedelta(hours=float(env.get("GRIDMAP_SESSION_MAX_HOURS", 12))),
            max_failures_account=int(env.get("GRIDMAP_LOGIN_MAX_FAILURES", 5)),
        )


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _changed(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (``Session.execute`` is typed for any statement; for
    these it returns a CursorResult)."""
    return cast(sa.CursorResult[Any], result).rowcount or 0


def start(session: Session, user: StaffUser, address: str | None, now: datetime) -> str:
    """A new login session for ``user``.

    Parameters
    ----------
    session : Session
        Database session; the session row is written in its transaction.
    user : StaffUser
        Who logged in.
    address : str or None
        The client address.
    now : datetime
        The start time.

    Returns
    -------
    str
        The token for the cookie (only its hash is stored).
    """
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id=_key(token),
            user_id=user.id,
            created_at=now,
            last_seen=now,
            address=(address or "")[:64] or None,
        )
    )
    session.flush()
    return token


def resume(
    session: Session, token: str | None, rules: SessionRules, now: datetime
) -> StaffUser | None:
    """The user of a live session, touching it.

    Parameters
    ----------
    session : Session
        Database session holding the login sessions.
    token : str or None
        The cookie's session token.
    rules : SessionRules
        The idle and absolute limits.
    now : datetime
        The time of the request.

    Returns
    -------
    StaffUser or None
        The user; None (and the session ended) when it has ended, idled out or passed its
        absolute limit.
    """
    if not token:
        return None
    row = session.get(StaffSession, _key(token))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen > rules.idle or now - row.created_at > rules.absolute:
        row.ended_at = now
        session.flush()
        return None
    if now - row.last_seen > TOUCH_EVERY:
        row.last_seen = now
    return session.get(StaffUser, row.user_id)


def end(session: Session, token: str | None, now: datetime) -> None:
    """End the session of ``token`` (nothing when there is none or it has ended).

    Parameters
    ----------
    session : Session
        Database session; the session is ended in its transaction.
    token : str or None
        The cookie's session token.
    now : datetime
        The end time recorded.
    """
    if token:
        session.execute(
            sa.update(StaffSession)
            .where(StaffSession.id == _key(token), StaffSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def end_all(session: Session, user_id: int, now: datetime, *, keep: str | None = None) -> int:
    """End every live session of a user (but ``keep``'s), as after a password change.

    Parameters
    ----------
    session : Session
        Database session; the sessions are ended in its transaction.
    user_id : int
        The user's id.
    now : datetime
        The end time recorded.
    keep : str, optional
        The token of a session to keep (the one changing the password).

    Returns
    -------
    int
        How many sessions ended.
    """
    stmt = sa.update(StaffSession).where(
        StaffSession.user_id == user_id, StaffSession.ended_at.is_(None)
    )
    if keep:
        stmt = stmt.where(StaffSession.id != _key(keep))
    return _changed(session.execute(stmt.values(ended_at=now)))


def live_count(session: Session, user_id: int) -> int:
    """How many sessions of a user have not ended.

    Parameters
    ----------
    session : Session
        Database session holding the login sessions.
    user_id : int
        The user's id.

    Returns
    -------
    int
        The number of live sessions.
    """
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(StaffSession)
            .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        )
        or 0
    )


def record_failure(session: Session, username: str, address: str | None, now: datetime) -> None:
    """Record one failed login of ``username`` from ``address``.

    Parameters
    ----------
    session : Session
        Database session; the failure is written in its transaction.
    username : str
        As typed (first 50 characters kept).
    address : str or None
        The client address (first 64 characters kept).
    now : datetime
        The time of the attempt.
    """
    session.add(LoginFailure(at=now, username=username[:50], address=(address or "")[:64] or None))
    session.flush()


def locked(
    session: Session, username: str, address: str | None, rules: SessionRules, now: datetime
) -> str | None:
    """Whether too many recent failures lock the login, and for what.

    Parameters
    ----------
    session : Session
        Database session holding the failed logins.
    username : str
        The account tried.
    address : str or None
        The client address.
    rules : SessionRules
        The number of failures allowed.
    now : datetime
        The time of the attempt.

    Returns
    -------
    str or None
        "account" or "address" when locked, else None.
    """
    since = now - rules.window

    def failures(where) -> int:
        return (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.at > since, where)
            )
            or 0
        )

    if failures(LoginFailure.username == username) >= rules.max_failures_account:
        return "account"
    if address and failures(LoginFailure.address == address) >= rules.max_failures_address:
        return "address"
    return None


def unlock(session: Session, username: str) -> int:
    """Forget an account's failed logins (an administrator's unlock).

    Parameters
    ----------
    session : Session
        Database session; the failures are deleted in its transaction.
    username : str
        The account.

    Returns
    -------
    int
        How many failures were forgotten.
    """
    return _changed(
        session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username))
    )
