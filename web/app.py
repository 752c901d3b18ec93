"""Flask application factory."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, jsonify, render_template, request

from geodata.settings import Settings
from gridmap.errors import (
    ConfigError,
    Conflict,
    GridmapError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from web.auth import wants_json
from web.i18n import error_text

log = logging.getLogger("gridmap.web")


def _secret_key(settings: Settings) -> str:
    """GRIDMAP_SECRET_KEY, else a key generated once and kept in GRIDMAP_HOME."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / ".gridmap_secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config: dict | None = None, settings: Settings | None = None) -> Flask:
    """Build the app from ``settings`` (default: read from the environment now).
    ``config`` overrides Flask settings (tests pass DATABASE_URL, SECRET_KEY)."""
    app = Flask(__name__)
    settings = settings or Settings.from_env()
    config = dict(config or {})
    app.config.update(
        SETTINGS=settings,
        DATABASE_URL=config.pop("DATABASE_URL", None) or settings.database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        BASEMAPS=settings.basemaps,
        MVT_THRESHOLD=settings.mvt_threshold,
    )
    app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(settings)

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

    from web import admin, api, compress, grid, hazards, nav  # layout, maps, hazard workflow

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
    from web.import_jobs import recover_jobs  # a restart marks the dead process's jobs interrupted

    recover_jobs(app)
    from web.field import bp as field_bp  # the grid leader's phone app (PWA)

    app.register_blueprint(field_bp)
    from web.indicators import bp as indicators_bp  # 指标考核: indicators, print, Excel, API

    app.register_blueprint(indicators_bp)

    _register_errors(app)
    if settings.proxy_fix:  # behind one TLS-terminating proxy
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.get("/healthz")
    def healthz():
        from web.health import health

        report = health()
        return jsonify(report), 200 if report["status"] == "ok" else 503

    return app


ERROR_STATUS = {
    Conflict: 409,
    InvalidInput: 400,
    PermissionDenied: 403,
    NotFound: 404,
    ConfigError: 500,
}


def error_status(exc: GridmapError) -> int:
    """The HTTP status of a typed error: what the person can fix is 4xx, what the
    installation lacks (a setting, an extension) is 500."""
    return next((c for t, c in ERROR_STATUS.items() if isinstance(exc, t)), 400)


def _register_errors(app: Flask) -> None:
    """Typed core errors become JSON for API calls; pages get the same translated text.
    The only place a refusal becomes an HTTP status (views raise, never abort)."""

    @app.errorhandler(GridmapError)
    def _gridmap_error(exc: GridmapError):
        code = error_status(exc)
        if code >= 500:  # the operator must see it: the person only learns that it failed
            log.error("configuration error on %s %s: %s", request.method, request.path, exc)
        if not wants_json():
            return render_template("error.html", code=code, message=error_text(exc)), code
        return jsonify(error=type(exc).__name__, message=error_text(exc)), code
