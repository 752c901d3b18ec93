"""A database session for one command (one transaction, committed when the command succeeds)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def command_session():
    from geodata.db.engine import make_engine, session_factory

    engine = make_engine()
    try:
        with session_factory(engine).begin() as session:
            yield session
    finally:
        engine.dispose()
