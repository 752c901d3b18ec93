"""Login, logout, the session guard and CSRF protection.

Every endpoint needs a logged-in session except the login page, /healthz and
static files. Unsafe methods (POST, PUT, PATCH, DELETE) need the session's CSRF
token in the form field ``csrf_token`` or the header ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from geodata.db.models import StaffUser
from geodata.db.repo import audit
from geodata.db.users import authenticate, requester_for
from web.db import db_session

bp = Blueprint("auth", __name__)
PUBLIC_ENDPOINTS = {"auth.login", "healthz", "static"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _load_user() -> None:
    g.user = None
    g.requester = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = db_session().get(StaffUser, user_id)
    if user is None or not user.active:
        session.clear()
        return
    g.user = user
    g.requester = requester_for(user)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def _guard():
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        _load_user()
        if g.user is None:
            if _wants_json():
                return jsonify(error="Unauthorized", message=_("Please log in.")), 401
            return redirect(url_for("auth.login", next=request.full_path))
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(sent, session.get("csrf", "")):
                abort(400, description=_("The form expired; reload the page and try again."))
        return None


def _safe_next(target: str | None) -> str:
    """Only same-site relative redirects after login."""
    if not target or urlparse(target).netloc or not target.startswith("/"):
        return url_for("pages.overview")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not hmac.compare_digest(sent, session.get("csrf", "")):
            flash(_("The form expired; please try again."), "warning")
            return render_template("login.html"), 400
        username = request.form.get("username", "").strip()
        user = authenticate(db_session(), username, request.form.get("password", ""))
        if user is None:
            flash(_("Wrong user name or password."), "danger")
            return render_template("login.html", username=username), 401
        lang = session.get("lang")
        session.clear()  # a new session id on login
        session["user_id"] = user.id
        if lang:
            session["lang"] = lang
        audit(db_session(), requester_for(user), "login")
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
