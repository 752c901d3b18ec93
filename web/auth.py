"""Login, logout, the session guard and CSRF protection.

Every endpoint needs a logged-in session except the login page, /healthz and
static files. Unsafe methods (POST, PUT, PATCH, DELETE), the login form included, need
the session's CSRF token in the form field ``csrf_token`` or the header
``X-CSRF-Token``; a session without a token accepts no such request.

The signed cookie carries a random session token; the session itself lives in the
database (``geodata.db.sessions``) so that logout, a password change and an
administrator's "log out everywhere" end it, as do the idle and absolute timeouts.
Failed logins are counted per account and per address, audited, and lock the login
for a while past a limit (an administrator can unlock).

Other systems send a personal API token instead of a session: ``Authorization: Bearer
<token>`` or HTTP Basic ``<user>:<token>`` (what GDAL_HTTP_USERPWD and QGIS's basic
authentication send). Such a request acts as the token's user with the same role, scope
and audit, never touches the session cookie, and needs no CSRF token: a browser never
adds that header to a forged cross-site request by itself.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from datetime import datetime
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    current_app,
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

from geodata.db import sessions
from geodata.db.repo import audit
from geodata.db.tokens import user_for_token
from geodata.db.users import authenticate, requester_for
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.privacy import Requester
from web.db import db_session

bp = Blueprint("auth", __name__)
PUBLIC_ENDPOINTS = {"auth.login", "healthz", "static"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _wants_html() -> bool:
    return request.accept_mimetypes.best == "text/html"


def wants_json() -> bool:
    """JSON for /api/, for /ogc/ unless a browser asks for a page, and for a request that
    asks for JSON and not HTML; a browser (any Accept naming text/html, or none at all)
    gets a page."""
    if request.path.startswith("/api/"):
        return True
    if request.path.startswith("/ogc/"):
        return not _wants_html()
    accept = request.accept_mimetypes
    if not accept or "text/html" in str(accept):
        return False
    return "application/json" in str(accept) or request.is_json


def csrf_ok() -> bool:
    """The request carries this session's CSRF token (and the session has one)."""
    expected = session.get("csrf") or ""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    return bool(expected) and hmac.compare_digest(sent, expected)


def _rules() -> sessions.SessionRules:
    return current_app.config["SESSION_RULES"]


def _address() -> str | None:
    return request.remote_addr


def _unauthorized(message: str):
    """401 JSON. Programs are invited to send Basic credentials; browsers never are, so
    they never cache credentials that a forged cross-site request would carry along."""
    response = jsonify(error="Unauthorized", message=message)
    if not _wants_html():
        response.headers["WWW-Authenticate"] = 'Basic realm="gridmap"'
    return response, 401


def _token_credentials() -> tuple[str | None, str] | None:
    """(user name or None, token) from the Authorization header, else None."""
    header = request.headers.get("Authorization", "")
    kind, _sep, value = header.partition(" ")
    if kind.lower() == "bearer":
        return None, value.strip()
    if kind.lower() == "basic":
        try:
            text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        username, _sep, token = text.partition(":")
        return username, token
    return None


def _load_token_user(credentials: tuple[str | None, str]) -> None:
    username, token = credentials
    user = user_for_token(db_session(), token, username=username)
    g.token_auth = True
    g.user = user
    g.requester = requester_for(user) if user is not None else None


def _load_user() -> None:
    g.user = None
    g.requester = None
    token = session.get("sid")
    if token is None:
        return
    user = sessions.resume(db_session(), token, _rules(), datetime.now())
    if user is None or not user.active:
        sessions.end(db_session(), token, datetime.now())
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        return
    g.user = user
    g.requester = requester_for(user)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.config.setdefault("SESSION_RULES", app.config["SETTINGS"].session_rules)

    @app.before_request
    def _guard():
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        credentials = _token_credentials()
        if credentials is not None:
            _load_token_user(credentials)
            if g.user is None:
                return _unauthorized(_("The API token is wrong, expired or revoked."))
            return None  # token requests are CSRF-exempt (see the module docstring)
        _load_user()
        if g.user is None:
            if wants_json():
                return _unauthorized(_("Please log in."))
            return redirect(url_for("auth.login", next=request.full_path))
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not csrf_ok():
            raise fail(InvalidInput, N_("The form expired; reload the page and try again."))
        return None


def _safe_next(target: str | None) -> str:
    """Only same-site relative redirects after login."""
    if not target or urlparse(target).netloc or not target.startswith("/"):
        return url_for("pages.overview")
    return target


def _failed(username: str) -> None:
    """Count and audit a failed login in a transaction of its own (the response, a 401,
    rolls the request's transaction back)."""
    with current_app.extensions["gridmap_sessions"].begin() as own:
        sessions.record_failure(own, username, _address(), datetime.now())
        audit(
            own,
            Requester(username=username[:50] or "-", role="-"),
            "login_failed",
            username[:200],
            {"address": _address()},
        )


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        if not csrf_ok():
            flash(_("The form expired; please try again."), "warning")
            return render_template("login.html"), 400
        username = request.form.get("username", "").strip()
        now = datetime.now()
        lock = sessions.locked(db_session(), username, _address(), _rules(), now)
        if lock is not None:
            _failed(username)
            flash(
                _(
                    "Too many failed logins: this account is locked for %(min)s minutes; "
                    "an administrator can unlock it.",
                    min=int(_rules().window.seconds // 60),
                )
                if lock == "account"
                else _(
                    "Too many failed logins from this address: try again in %(min)s minutes.",
                    min=int(_rules().window.seconds // 60),
                ),
                "danger",
            )
            return render_template("login.html", username=username), 429
        user = authenticate(db_session(), username, request.form.get("password", ""))
        if user is None:
            _failed(username)
            flash(_("Wrong user name or password."), "danger")
            return render_template("login.html", username=username), 401
        lang = session.get("lang")
        session.clear()  # a new session (and CSRF token) on login
        session["sid"] = sessions.start(db_session(), user, _address(), now)
        if lang:
            session["lang"] = lang
        audit(db_session(), requester_for(user), "login")
        target = request.args.get("next")
        if user.role == "grid_leader" and (target or "/").rstrip("?") in ("", "/"):
            return redirect(url_for("field.app"))  # a leader's phone opens on their grid
        return redirect(_safe_next(target))
    csrf_token()  # the form's token lives in the (not yet logged-in) session
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout():
    sessions.end(db_session(), session.get("sid"), datetime.now())
    session.clear()
    return redirect(url_for("auth.login"))
