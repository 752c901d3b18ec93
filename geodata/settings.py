"""The installation's settings, read once from the ``GRIDMAP_*`` environment and passed in.

The web app keeps its :class:`Settings` in ``app.config["SETTINGS"]``; the command line
reads one per process (:func:`gridmap_cli.common.settings`). A value that does not parse
raises :class:`~gridmap.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from geodata.db.engine import database_url, gridmap_home
from geodata.db.sessions import SessionRules
from geodata.readers.source import Limits
from gridmap.errors import ConfigError
from gridmap.maps.standard import BasemapSettings
from gridmap.messages import N_, fail

MB = 1024 * 1024


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    try:
        return int(text)
    except ValueError as exc:
        raise fail(
            ConfigError, N_("{name}={text} is not a whole number"), name=name, text=text
        ) from exc


def _path(env: Mapping[str, str], name: str) -> Path | None:
    text = env.get(name)
    return Path(text) if text else None


@dataclass(frozen=True)
class Settings:
    home: Path  # GRIDMAP_HOME: the SpatiaLite file, secret key, photos
    database_url: str  # GRIDMAP_DATABASE_URL, normalised to the shipped drivers
    secret_key: str | None  # GRIDMAP_SECRET_KEY; None: generated once under home
    secure_cookies: bool  # GRIDMAP_SECURE_COOKIES=1: the cookie over HTTPS only
    proxy_fix: bool  # GRIDMAP_PROXY_FIX=1: behind one TLS-terminating proxy
    max_upload_mb: int  # GRIDMAP_MAX_UPLOAD_MB: largest accepted upload
    mvt_threshold: int  # GRIDMAP_MVT_THRESHOLD: buildings above which tiles are used
    db_pool_size: int  # GRIDMAP_DB_POOL_SIZE (PostGIS)
    db_max_overflow: int  # GRIDMAP_DB_MAX_OVERFLOW (PostGIS)
    log_level: str  # GRIDMAP_LOG_LEVEL
    session_rules: SessionRules  # GRIDMAP_SESSION_IDLE_MIN, _MAX_HOURS, LOGIN_MAX_FAILURES
    basemaps: BasemapSettings  # GRIDMAP_TIANDITU_KEY, GRIDMAP_XYZ_URL, ...
    dask_scheduler: str | None = None  # GRIDMAP_DASK_SCHEDULER: tcp://host:8786, else local
    risk_weights: Path | None = None  # GRIDMAP_RISK_WEIGHTS: YAML over the shipped weights
    field_rules: Path | None = None  # GRIDMAP_FIELD_RULES: YAML over the shipped field rules
    max_vertices_feature: int = Limits.max_vertices_feature  # GRIDMAP_MAX_VERTICES_FEATURE
    max_vertices_file: int = Limits.max_vertices_file  # GRIDMAP_MAX_VERTICES_FILE

    @property
    def max_upload_bytes(self) -> int:
        """The largest accepted upload in bytes."""
        return self.max_upload_mb * MB

    def read_limits(self, max_bytes: int | None = None) -> Limits:
        """The safety caps of one import, with this installation's vertex caps.

        Parameters
        ----------
        max_bytes : int, optional
            Largest accepted file in bytes (default: the largest upload).

        Returns
        -------
        Limits
        """
        return Limits(
            max_bytes=self.max_upload_bytes if max_bytes is None else max_bytes,
            max_vertices_feature=self.max_vertices_feature,
            max_vertices_file=self.max_vertices_file,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """The settings of ``env``, every value checked once, here.

        Parameters
        ----------
        env : mapping
            The environment variables (default: the process's).

        Returns
        -------
        Settings

        Raises
        ------
        ConfigError
            Naming the variable whose value does not parse.
        """
        try:
            rules = SessionRules.from_env(env)
        except ValueError as exc:
            raise fail(
                ConfigError,
                N_(
                    "GRIDMAP_SESSION_IDLE_MIN, GRIDMAP_SESSION_MAX_HOURS and "
                    "GRIDMAP_LOGIN_MAX_FAILURES must be numbers ({error})"
                ),
                error=str(exc),
            ) from exc
        return cls(
            home=gridmap_home(env),
            database_url=database_url(env),
            secret_key=env.get("GRIDMAP_SECRET_KEY") or None,
            secure_cookies=env.get("GRIDMAP_SECURE_COOKIES") == "1",
            proxy_fix=env.get("GRIDMAP_PROXY_FIX") == "1",
            max_upload_mb=_int(env, "GRIDMAP_MAX_UPLOAD_MB", 200),
            mvt_threshold=_int(env, "GRIDMAP_MVT_THRESHOLD", 3000),
            db_pool_size=_int(env, "GRIDMAP_DB_POOL_SIZE", 5),
            db_max_overflow=_int(env, "GRIDMAP_DB_MAX_OVERFLOW", 10),
            log_level=env.get("GRIDMAP_LOG_LEVEL", "INFO"),
            session_rules=rules,
            basemaps=BasemapSettings.from_env(env),
            dask_scheduler=(env.get("GRIDMAP_DASK_SCHEDULER") or "").strip() or None,
            risk_weights=_path(env, "GRIDMAP_RISK_WEIGHTS"),
            field_rules=_path(env, "GRIDMAP_FIELD_RULES"),
            max_vertices_feature=_int(
                env, "GRIDMAP_MAX_VERTICES_FEATURE", Limits.max_vertices_feature
            ),
            max_vertices_file=_int(env, "GRIDMAP_MAX_VERTICES_FILE", Limits.max_vertices_file),
        )
