"""One database session per request, committed when the request succeeds."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from geodata.db.engine import make_engine, session_factory


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    engine = make_engine(
        app.config["DATABASE_URL"],
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    app.extensions["gridmap_engine"] = engine
    app.extensions["gridmap_sessions"] = session_factory(engine)

    @app.after_request
    def _commit(response):
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        return response

    @app.teardown_request
    def _close(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["gridmap_sessions"]()
    return g.db_session


def engine():
    return current_app.extensions["gridmap_engine"]
