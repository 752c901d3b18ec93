"""Flask application factory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, jsonify, render_template

from geodata.db.engine import database_url, gridmap_home
from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFound, PermissionDenied


def _secret_key(home: Path) -> str:
    """GRIDMAP_SECRET_KEY, else a key generated once and kept in GRIDMAP_HOME."""
    if os.environ.get("GRIDMAP_SECRET_KEY"):
        return os.environ["GRIDMAP_SECRET_KEY"]
    path = home / ".gridmap_secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (tests pass DATABASE_URL, SECRET_KEY)."""
    app = Flask(__name__)
    config = dict(config or {})
    app.config.update(
        DATABASE_URL=config.pop("DATABASE_URL", None) or database_url(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # behind TLS: GRIDMAP_SECURE_COOKIES=1 sends the cookie over HTTPS only
        SESSION_COOKIE_SECURE=os.environ.get("GRIDMAP_SECURE_COOKIES") == "1",
        MAX_CONTENT_LENGTH=int(os.environ.get("GRIDMAP_MAX_UPLOAD_MB", "200")) * 1024 * 1024,
    )
    from gridmap.maps.standard import BasemapSettings

    app.config.update(BASEMAPS=BasemapSettings.from_env(os.environ),
                      MVT_THRESHOLD=int(os.environ.get("GRIDMAP_MVT_THRESHOLD", "3000")))
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(gridmap_home())

    from web import auth, db, i18n, logs, pages, params, security

    logs.init_app(app)  # first: its before_request starts the clock of every request
    params.init_app(app)  # before any blueprint's rules are built
    db.init_app(app)
    from gridmap.display import finalize, person, show  # no "nan"/"None" reaches a person

    app.jinja_env.finalize = finalize
    app.jinja_env.filters.update(show=show, person=person)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(pages.bp)
    from web.analysis import bp as analysis_bp  # patrol, risk and heatmap pages

    app.register_blueprint(analysis_bp)
    from web.reach import bp as reach_bp  # life-circle reachability (planner's page)

    app.register_blueprint(reach_bp)

    from web import admin, api, compress, grid, hazards, nav  # issue 6: layout, maps, workflow

    nav.init_app(app)
    compress.init_app(app)
    for blueprint in (api.bp, hazards.bp, grid.bp, admin.bp):
        app.register_blueprint(blueprint)
    from web.upload import bp as upload_bp  # file import and export pages

    app.register_blueprint(upload_bp)
    from web.ogc import bp as ogc_bp  # OGC API - Features and the OpenAPI document

    app.register_blueprint(ogc_bp)
    from web import tokens  # personal API tokens on the settings page

    tokens.init_app(app)
    from web.upload import recover_jobs  # a restart marks the dead process's jobs interrupted

    recover_jobs(app)
    from web.field import bp as field_bp  # the grid leader's phone app (PWA)

    app.register_blueprint(field_bp)
    from web.indicators import bp as indicators_bp  # 指标考核: indicators, print, Excel, API

    app.register_blueprint(indicators_bp)

    _register_errors(app)
    if os.environ.get("GRIDMAP_PROXY_FIX") == "1":  # behind one TLS-terminating proxy
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.get("/healthz")
    def healthz():
        from web.health import health

        report = health()
        return jsonify(report), 200 if report["status"] == "ok" else 503

    return app


def _register_errors(app: Flask) -> None:
    """Typed core errors become 4xx JSON for API calls; pages get the same text."""
    status = {Conflict: 409, InvalidInput: 400, PermissionDenied: 403, NotFound: 404}

    @app.errorhandler(GridmapError)
    def _gridmap_error(exc: GridmapError):
        code = next((c for t, c in status.items() if isinstance(exc, t)), 400)
        from web.auth import wants_json
        from web.i18n import error_text

        if not wants_json():
            return render_template("error.html", code=code, message=error_text(exc)), code
        return jsonify(error=type(exc).__name__, message=error_text(exc)), code
