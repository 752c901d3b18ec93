"""`gridmap backup` then `gridmap restore` into an empty database: the same rows, the same
hazard history, the photos back in GRIDMAP_HOME."""

from __future__ import annotations

import json

import sqlalchemy as sa

from conftest import run_gridmap


def _history(url: str) -> list[tuple]:
    from geodata.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return [
                tuple(str(v) for v in r)
                for r in c.execute(
                    sa.text(
                        "SELECT h.code, e.at, e.actor, e.action, e.from_status, e.to_status, e.note "
                        "FROM hazard_event e JOIN hazard h ON h.id = e.hazard_id "
                        "ORDER BY h.code, e.at, e.id"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_backup_then_restore_gives_the_same_stats_and_hazard_history(
    demo_db, backend, fresh_database, tmp_path, monkeypatch
):
    source = demo_db[0].url.render_as_string(hide_password=False)
    home = tmp_path / "home"
    (home / "photos" / "2026").mkdir(parents=True)
    (home / "photos" / "2026" / "a.jpg").write_bytes(b"\xff\xd8photo")
    monkeypatch.setenv("GRIDMAP_HOME", str(home))
    archive = tmp_path / "gridmap.backup"
    run_gridmap("backup", str(archive), url=source)
    before = json.loads(run_gridmap("stats", "--json", url=source).stdout)
    with fresh_database(backend) as target:
        monkeypatch.setenv("GRIDMAP_HOME", str(tmp_path / "restored"))
        out = run_gridmap("restore", str(archive), url=target)
        assert "restored" in out.stdout
        after = json.loads(run_gridmap("stats", "--json", url=target).stdout)
        assert after == before and after["hazard_event"] > 0
        assert _history(target) == _history(source)
        again = run_gridmap("restore", str(archive), url=target, check=False)
        assert again.returncode == 1 and "not empty" in again.stderr
    assert (tmp_path / "restored" / "photos" / "2026" / "a.jpg").read_bytes() == b"\xff\xd8photo"
