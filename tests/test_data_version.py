"""The data-version counters the figures cache is keyed by: bumped in the writing
transaction by database triggers, seen by every other connection (another server process),
and never by writes that change no figure (the audit log, sessions)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import memo
from geodata.db.engine import make_engine
from geodata.db.migrate import upgrade


def _versions(engine) -> dict[str, int]:
    with Session(engine) as s:
        return dict(memo.data_fingerprint(s))


def test_writes_bump_their_family_for_every_connection(backend, fresh_database):
    with fresh_database(backend) as url:
        writer, reader = make_engine(url), make_engine(url)  # two processes' pools
        try:
            upgrade(writer)
            start = _versions(reader)
            assert set(start) == {"areas", "places", "people", "events", "database"}
            assert [start[f] for f in ("areas", "places", "people", "events")] == [0, 0, 0, 0]
            with writer.begin() as c:
                c.execute(sa.text("INSERT INTO district (code, name) VALUES ('D1', 'x')"))
                c.execute(
                    sa.text(
                        "INSERT INTO audit_log (at, username, action) "
                        "VALUES (CURRENT_TIMESTAMP, 'a', 'view')"
                    )
                )
            after_insert = _versions(reader)
            assert after_insert["areas"] > start["areas"]
            assert {f: after_insert[f] for f in ("places", "people", "events", "database")} == {
                f: start[f] for f in ("places", "people", "events", "database")
            }
            with writer.begin() as c:  # an edit in place (no count or id changes)
                c.execute(sa.text("UPDATE district SET name = 'y' WHERE code = 'D1'"))
            after_update = _versions(reader)
            assert after_update["areas"] > after_insert["areas"]
            with writer.connect() as c, c.begin() as t:  # a write rolled back bumps nothing
                c.execute(sa.text("DELETE FROM district"))
                t.rollback()
            assert _versions(reader) == after_update

            # the cache: the same question is answered from memory until a write elsewhere
            calls = []

            def compute():
                calls.append(1)
                with Session(reader) as s:
                    return s.execute(sa.text("SELECT name FROM district")).scalar()

            with Session(reader) as s:
                assert memo.cached(s, ("test-dv",), compute) == "y"
                assert memo.cached(s, ("test-dv",), compute) == "y"
            assert len(calls) == 1
            with writer.begin() as c:
                c.execute(sa.text("UPDATE district SET name = 'z' WHERE code = 'D1'"))
            with Session(reader) as s:
                assert memo.cached(s, ("test-dv",), compute) == "z"
            assert len(calls) == 2
        finally:
            writer.dispose()
            reader.dispose()


def test_two_databases_at_one_address_are_told_apart(backend, fresh_database):
    with fresh_database(backend) as url_a, fresh_database(backend) as url_b:
        a, b = make_engine(url_a), make_engine(url_b)
        try:
            upgrade(a)
            upgrade(b)
            assert _versions(a)["database"] != _versions(b)["database"]
        finally:
            a.dispose()
            b.dispose()
