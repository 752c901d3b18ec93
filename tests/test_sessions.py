"""Sessions that end: login CSRF, no empty-token window, logout, password change and an
administrator ending sessions, idle and absolute timeouts, and throttled failed logins."""

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from geodata.db.engine import session_factory
from geodata.db.models import AuditLog, LoginFailure, StaffSession, StaffUser
from geodata.db.users import create_user

from conftest import login

PASSWORD = "session-password-1"


@pytest.fixture(scope="module")
def users(demo_db):
    with session_factory(demo_db[0]).begin() as s:
        for name in ("s_viewer", "s_locked", "s_changer"):
            create_user(s, name, "viewer", password=PASSWORD)
    return demo_db[0]


def _token(client, path="/settings"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _logged_in(client) -> bool:
    return client.get("/settings").status_code == 200


def _copy_cookie(app, client):
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def _run(engine, stmt):
    with session_factory(engine).begin() as s:
        return s.execute(stmt)


def test_login_needs_the_forms_csrf_token(demo_app, users):
    fresh = demo_app.test_client()
    r = fresh.post("/login", data={"username": "s_viewer", "password": PASSWORD})
    assert r.status_code == 400 and not _logged_in(fresh)
    r = fresh.post("/login", data={"username": "s_viewer", "password": PASSWORD, "csrf_token": ""})
    assert r.status_code == 400 and not _logged_in(fresh)
    assert login(fresh, PASSWORD, username="s_viewer").status_code == 302 and _logged_in(fresh)


def test_no_state_change_without_the_token_right_after_login(demo_app, users):
    client = demo_app.test_client()
    login(client, PASSWORD, username="s_viewer")
    for data in (
        {"display_name": "x"},
        {"display_name": "x", "csrf_token": ""},
        {"display_name": "x", "csrf_token": "forged"},
    ):
        assert client.post("/settings", data=data).status_code == 400
    with session_factory(users)() as s:
        assert (
            s.scalar(sa.select(StaffUser.display_name).where(StaffUser.username == "s_viewer"))
            != "x"
        )


def test_a_cookie_saved_before_logout_is_dead_after_it(demo_app, users):
    client = demo_app.test_client()
    login(client, PASSWORD, username="s_viewer")
    saved = _copy_cookie(demo_app, client)
    assert _logged_in(saved)
    assert client.post("/logout", data={"csrf_token": _token(client)}).status_code == 302
    assert not _logged_in(saved) and not _logged_in(client)


def test_password_change_and_admin_end_other_sessions(demo_app, demo_db, users):
    here, there = demo_app.test_client(), demo_app.test_client()
    login(here, PASSWORD, username="s_changer")
    login(there, PASSWORD, username="s_changer")
    r = here.post(
        "/settings",
        data={
            "csrf_token": _token(here),
            "old_password": PASSWORD,
            "new_password": "session-password-2",
        },
    )
    assert r.status_code == 302
    assert _logged_in(here) and not _logged_in(there)
    admin = demo_app.test_client()
    login(admin, demo_db[1])
    r = admin.post(
        "/admin/users/s_changer/sessions/end",
        data={"csrf_token": _token(admin, "/admin/users/s_changer")},
    )
    assert r.status_code == 302 and not _logged_in(here)
    with session_factory(users)() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(StaffSession)
                .join(StaffUser, StaffSession.user_id == StaffUser.id)
                .where(StaffUser.username == "s_changer", StaffSession.ended_at.is_(None))
            )
            == 0
        )


@pytest.mark.parametrize(
    "column, age", [("last_seen", timedelta(hours=1)), ("created_at", timedelta(hours=13))]
)
def test_idle_and_absolute_timeouts(demo_app, users, column, age):
    client = demo_app.test_client()
    login(client, PASSWORD, username="s_viewer")
    assert _logged_in(client)
    user_id = sa.select(StaffUser.id).where(StaffUser.username == "s_viewer").scalar_subquery()
    _run(
        users,
        sa.update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values({column: datetime.now() - age}),
    )
    assert not _logged_in(client)


def test_repeated_failures_lock_the_account_until_an_admin_unlocks(demo_app, demo_db, users):
    client = demo_app.test_client()
    for _ in range(5):
        assert login(client, "wrong-password", username="s_locked").status_code == 401
    r = login(client, PASSWORD, username="s_locked")  # the right password, too late
    assert r.status_code == 429 and not _logged_in(client)
    assert "锁定" in r.get_data(as_text=True)
    with session_factory(users)() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "login_failed", AuditLog.target == "s_locked")
            )
            == 6
        )
        assert (
            s.scalar(
                sa.select(sa.func.count())
                .select_from(LoginFailure)
                .where(LoginFailure.username == "s_locked")
            )
            == 6
        )
    admin = demo_app.test_client()
    login(admin, demo_db[1])
    assert (
        admin.post(
            "/admin/users/s_locked/unlock",
            data={"csrf_token": _token(admin, "/admin/users/s_locked")},
        ).status_code
        == 302
    )
    assert login(client, PASSWORD, username="s_locked").status_code == 302 and _logged_in(client)
