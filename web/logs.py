"""Logging, configured once for the process: level from the settings (GRIDMAP_LOG_LEVEL,
default INFO), one access line per request (method, path, status, user, how authenticated,
milliseconds) on the ``gridmap.access`` logger, and unhandled errors with their traceback
(Flask logs them on the app's logger, which reaches the same handler)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping

from flask import Flask, g, request

from gridmap.errors import ConfigError

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_HANDLER_NAME = "gridmap"
access_log = logging.getLogger("gridmap.access")


def configure(env: Mapping[str, str]) -> None:
    """Install one stderr handler on the root logger at ``GRIDMAP_LOG_LEVEL`` of ``env`` (the
    app and ``gridmap serve`` take the level from their Settings: :func:`configure_level`)."""
    configure_level(env.get("GRIDMAP_LOG_LEVEL", "INFO"))


def configure_level(name: str) -> None:
    """Install one stderr handler on the root logger (again: only the level changes)."""
    name = name.upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):
        raise ConfigError(
            f"GRIDMAP_LOG_LEVEL={name} is not a level; use DEBUG, INFO, WARNING or ERROR"
        )
    root = logging.getLogger()
    if not any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    configure_level(app.config["SETTINGS"].log_level)

    @app.before_request
    def _started():
        g.started_s = time.perf_counter()

    @app.after_request
    def _access(response):
        who = g.get("requester")  # not g.user: its session may be closed by now
        ms = (time.perf_counter() - g.get("started_s", time.perf_counter())) * 1000
        path = request.full_path if request.query_string else request.path
        access_log.info(
            "%s %s %d user=%s auth=%s %.0fms",
            request.method,
            path,
            response.status_code,
            who.username if who is not None else "-",
            "token" if g.get("token_auth") else "session",
            ms,
        )
        return response
