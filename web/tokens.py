"""Personal API tokens on the settings page: make one (shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import repo
from geodata.db.tokens import create_token, revoke_token, token_state, tokens_of
from gridmap.errors import InvalidInput
from web.db import db_session

bp = Blueprint("tokens", __name__, url_prefix="/settings/tokens")
DAY_CHOICES = (7, 30, 90, 365)


def my_tokens() -> list[dict]:
    user = g.get("user")
    if user is None:
        return []
    return [
        {
            "id": t.id,
            "name": t.name,
            "prefix": t.prefix,
            "state": token_state(t),
            "expires_at": t.expires_at,
            "last_used_at": t.last_used_at,
        }
        for t in tokens_of(db_session(), user.username)
    ]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(my_tokens=my_tokens, token_days=DAY_CHOICES)


@bp.post("")
def add():
    try:
        days = int(request.form.get("days", "90"))
    except ValueError:
        days = 0
    if days not in DAY_CHOICES:
        raise InvalidInput(_("Choose how many days the token is valid."))
    row, secret = create_token(
        db_session(), g.user.username, name=request.form.get("name", "").strip() or "api", days=days
    )
    repo.audit(db_session(), g.requester, "token_add", row.name, {"token_id": row.id, "days": days})
    return render_template("nav/settings.html", new_token=secret)


@bp.post("/revoke")
def revoke():
    try:
        token_id = int(request.form.get("token_id", ""))
    except ValueError:
        raise InvalidInput(_("No such token.")) from None
    row = revoke_token(db_session(), token_id, username=g.user.username)
    repo.audit(db_session(), g.requester, "token_revoke", row.name, {"token_id": row.id})
    flash(_("Token revoked."), "success")
    return redirect(url_for("nav.settings"))
