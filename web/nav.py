"""The layout's moving parts: the navigation (role-aware, only pages that exist), search,
and the user's own settings (language, basemap, display name, password)."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from geodata.db import repo
from geodata.db.search import search as run_search
from geodata.db.sessions import end_all
from geodata.db.users import authenticate, hash_password
from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.maps.standard import basemap_label
from web.db import db_session
from web.i18n import LANGUAGES, current_lang
from web.maps import basemap_settings, user_basemap

bp = Blueprint("nav", __name__)

# (endpoint, label, roles that see it (None: everyone)); an endpoint whose blueprint is not
# registered (a page still being built) is left out.
NAV = (
    ("pages.overview", lambda: _("Overview"), None),
    (
        "grid.my_grid",
        lambda: _("My grid"),
        {"grid_leader", "community_staff", "street_staff", "admin"},
    ),
    ("hazards.index", lambda: _("Hazards"), None),
    ("analysis.patrol_page", lambda: _("Patrol"), None),
    ("analysis.risk_page", lambda: _("Risk"), None),
    ("analysis.heatmap_page", lambda: _("Heatmaps"), None),
    ("reach.planner_page", lambda: _("Reachability"), None),
    ("indicators.indicators_page", lambda: _("Indicators"), None),
    ("upload.upload_page", lambda: _("Import"), {"admin", "street_staff", "community_staff"}),
    ("admin.users", lambda: _("Admin"), {"admin"}),
)


def nav_items() -> list[dict]:
    user = g.get("user")
    if user is None:
        return []
    current = request.endpoint or ""
    items = []
    for endpoint, label, roles in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if roles is not None and user.role not in roles:
            continue
        active = current.split(".")[0] == endpoint.split(".")[0] and (
            endpoint.split(".")[0] != "analysis" or current == endpoint
        )
        items.append(
            {"endpoint": endpoint, "label": label(), "url": url_for(endpoint), "active": active}
        )
    return items


def init_app(app) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _layout():
        if g.get("user") is None:
            return {"nav_items": []}
        settings = basemap_settings()
        return {
            "nav_items": nav_items(),
            "basemap": user_basemap(),
            "basemap_choices": [(b, basemap_label(b, _)) for b in settings.available()],
            "role_label": vocab.label(vocab.ROLES, g.user.role, current_lang()),
        }


# --- search -------------------------------------------------------------------------------
KINDS = ("grids", "communities", "buildings", "key_sites", "facilities", "hazards")


def _target(kind: str, row: dict) -> str:
    """Where a search hit leads: its grid page, its hazard, or the map centred on it."""
    if kind == "grids":
        return url_for("grid.grid_page", code=row["code"])
    if kind == "hazards" and "hazards.detail" in current_app.view_functions:
        return url_for("hazards.detail", code=row["code"])
    if kind == "communities":
        return url_for("pages.overview", community=row["code"])
    focus = f"{row['lon']:.6f},{row['lat']:.6f}"
    if row.get("grid_code") and "grid.grid_page" in current_app.view_functions:
        return url_for("grid.grid_page", code=row["grid_code"], focus=focus)
    return url_for("pages.overview", focus=focus)


@bp.route("/search")
def search():
    q = request.args.get("q", "").strip()
    hits = run_search(db_session(), g.requester, q) if q else {}
    lang = current_lang()
    results = []
    for kind in KINDS:
        for row in hits.get(kind, []):
            row = dict(row)
            if kind == "key_sites":
                cats = vocab.labels(vocab.KEY_SITE_CATEGORIES, lang)
                row["detail"] = cats.get(row["category"], row["category"])
            elif kind == "facilities":
                cats = vocab.labels(vocab.FACILITY_CATEGORIES, lang)
                row["detail"] = cats.get(row["category"], row["category"])
            elif kind == "hazards":
                row["detail"] = vocab.label(vocab.HAZARD_STATUSES, row["status"], lang)
                row["name"] = vocab.label(vocab.HAZARD_CATEGORIES, row["category"], lang)
            elif kind == "buildings":
                row["detail"] = row.get("name") or ""
                row["name"] = row.get("address") or row["code"]
            elif kind == "grids":
                row["detail"] = row.get("leader") or ""
            results.append({"kind": kind, "url": _target(kind, row), **row})
    if len(results) == 1 and request.args.get("go", "1") == "1":
        return redirect(results[0]["url"])
    labels = {
        "grids": _("Grids"),
        "communities": _("Communities"),
        "buildings": _("Buildings"),
        "key_sites": _("Key sites"),
        "facilities": _("Facilities"),
        "hazards": _("Hazards"),
    }
    return render_template("nav/search.html", q=q, results=results, labels=labels)


# --- the user's settings --------------------------------------------------------------------
@bp.route("/settings", methods=["GET", "POST"])
def settings():
    user = g.user
    if request.method == "POST":
        form = request.form
        session = db_session()
        if form.get("basemap") is not None:
            choice = form["basemap"]
            if choice not in basemap_settings().available():
                raise InvalidInput(_("This basemap is not available on this installation."))
            user.basemap = choice
        if form.get("locale") in LANGUAGES:
            user.locale = form["locale"]
            from flask import session as web_session

            web_session["lang"] = form["locale"]
        if form.get("display_name") is not None:
            name = form["display_name"].strip()
            if not 1 <= len(name) <= 50:
                flash(_("The display name must have 1 to 50 characters."), "danger")
                return render_template("nav/settings.html"), 400
            user.display_name = name
        if form.get("new_password"):
            if authenticate(session, user.username, form.get("old_password", "")) is None:
                flash(_("The current password is wrong."), "danger")
                return render_template("nav/settings.html"), 400
            if len(form["new_password"]) < 8:
                flash(_("The new password must have at least 8 characters."), "danger")
                return render_template("nav/settings.html"), 400
            user.password_hash = hash_password(form["new_password"])
            from flask import session as web_session

            # a new password ends every other session of this user (this one stays)
            end_all(session, user.id, datetime.now(), keep=web_session.get("sid"))
        repo.audit(
            session,
            g.requester,
            "settings",
            user.username,
            {k: form.get(k) for k in ("basemap", "locale") if form.get(k)},
        )
        flash(_("Settings saved."), "success")
        back = form.get("next") or ""
        return redirect(
            back if back.startswith("/") and not back.startswith("//") else url_for("nav.settings")
        )
    return render_template("nav/settings.html")
