"""Administration: users and roles, grid assignment, the audit trail (admins only)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import sessions
from geodata.db import users as accounts
from geodata.db.repo import audit as record
from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput, PermissionDenied
from web.db import db_session
from web.i18n import current_lang, error_text

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    if g.get("requester") is None or g.requester.role != "admin":
        raise PermissionDenied(_("Only administrators may open the administration pages."))


def _roles() -> list[tuple[str, str]]:
    lang = current_lang()
    return list(vocab.labels(vocab.ROLES, lang).items())


@bp.route("/")
@bp.route("/users")
def users():
    rows = accounts.list_users(db_session(), g.requester)
    return render_template("admin/users.html", users=rows, roles=dict(_roles()))


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<username>", methods=["GET", "POST"])
def user_form(username: str | None = None):
    session = db_session()
    create = username is None
    error = None
    if request.method == "POST":
        form = request.form
        try:
            user, generated = accounts.save_user(
                session,
                g.requester,
                form.get("username", "") if create else username,
                role=form.get("role", ""),
                display_name=form.get("display_name"),
                active=form.get("active") == "1",
                password=form.get("password") or None,
                areas=accounts.AreaCodes(
                    streets=form.getlist("streets"),
                    communities=form.getlist("communities"),
                    grids=form.getlist("grids"),
                ),
                create=create,
            )
            if form.get("password") and not create:  # a new password ends their sessions
                sessions.end_all(session, user.id, datetime.now())
            if generated:
                flash(
                    _(
                        "User %(u)s created. Initial password (shown once): %(p)s",
                        u=user.username,
                        p=generated,
                    ),
                    "success",
                )
            else:
                flash(_("User %(u)s saved.", u=user.username), "success")
            return redirect(url_for("admin.users"))
        except GridmapError as exc:
            session.rollback()
            error = error_text(exc)
        values = {
            "username": form.get("username", username or ""),
            "display_name": form.get("display_name", ""),
            "role": form.get("role", ""),
            "active": form.get("active") == "1",
            "streets": form.getlist("streets"),
            "communities": form.getlist("communities"),
            "grids": form.getlist("grids"),
        }
    elif create:
        values = {
            "username": "",
            "display_name": "",
            "role": "grid_leader",
            "active": True,
            "streets": [],
            "communities": [],
            "grids": [],
        }
    else:
        u = accounts.get_user(session, g.requester, username)
        values = {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "streets": [s.code for s in u.streets],
            "communities": [c.code for c in u.communities],
            "grids": [x.code for x in u.grids],
        }
    return render_template(
        "admin/user_form.html",
        create=create,
        values=values,
        error=error,
        roles=_roles(),
        areas=accounts.area_choices(session),
    ), 400 if error else 200


@bp.post("/users/<username>/sessions/end")
def end_sessions(username: str):
    """Log a user out everywhere (every browser's session ends now)."""
    session = db_session()
    user = accounts.get_user(session, g.requester, username)
    n = sessions.end_all(session, user.id, datetime.now())
    record(session, g.requester, "end_sessions", user.username, {"sessions": n})
    flash(
        _("%(u)s is logged out everywhere (%(n)s sessions ended).", u=user.username, n=n), "success"
    )
    return redirect(url_for("admin.user_form", username=user.username))


@bp.post("/users/<username>/unlock")
def unlock(username: str):
    """Forget a user's failed logins: the lockout ends."""
    session = db_session()
    user = accounts.get_user(session, g.requester, username)
    n = sessions.unlock(session, user.username)
    record(session, g.requester, "unlock_login", user.username, {"failures": n})
    flash(_("%(u)s may log in again.", u=user.username), "success")
    return redirect(url_for("admin.user_form", username=user.username))


@bp.route("/grids", methods=["GET", "POST"])
def grids():
    session = db_session()
    error = None
    if request.method == "POST":
        form = request.form
        try:
            target = form.get("target_households", "").strip()
            try:
                target_n = int(target) if target else None
            except ValueError as exc:
                raise InvalidInput(_("Target households must be a whole number.")) from exc
            accounts.assign_grid(
                session,
                g.requester,
                form.get("code", ""),
                leader=form.get("leader"),
                leader_phone=form.get("leader_phone"),
                target_households=target_n,
                usernames=form.getlist("users"),
            )
            flash(_("Grid %(code)s saved.", code=form.get("code")), "success")
            return redirect(url_for("admin.grids") + f"#grid-{form.get('code')}")
        except GridmapError as exc:
            session.rollback()
            error = error_text(exc)
    rows = accounts.grid_assignments(session, g.requester)
    people = [u for u in accounts.list_users(session, g.requester) if u["active"]]
    return render_template(
        "admin/grids.html", grids=rows, people=people, error=error, roles=dict(_roles())
    ), 400 if error else 200


@bp.route("/audit")
def audit():
    rows = accounts.audit_entries(
        db_session(),
        g.requester,
        username=request.args.get("user") or None,
        action=request.args.get("action") or None,
    )
    return render_template("admin/audit.html", rows=rows, args=request.args)
