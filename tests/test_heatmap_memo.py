"""Heatmaps kept in the memo (both backends): computed once per question, data version and
viewer's scope; recomputed after a write; every view audited as before."""

import json
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from geodata.db import hazards as cases
from geodata.db import heatmaps, memo, repo
from geodata.db.models import PatrolTrack
from gridmap.privacy import Requester

from conftest import login


@pytest.fixture(autouse=True)
def empty_memo():
    # the rolled-back sessions of other tests reuse data-version numbers: start and end clean
    memo.clear()
    yield
    memo.clear()


def _computed() -> int:
    return memo.statistics()["computed"]


def _audits(session, action: str, username: str) -> list:
    return (
        session.execute(
            sa.text("select target from audit_log where action = :a and username = :u order by id"),
            {"a": action, "u": username},
        )
        .scalars()
        .all()
    )


def _a_grid(session) -> tuple[int, float, float]:
    """A demo grid's id and a point inside it (degrees)."""
    grid = repo.grids_frame(session).iloc[0]
    point = grid.geometry.representative_point()
    return int(grid["id"]), point.x, point.y


def test_second_request_is_answered_from_memory_and_audited(demo_session):
    admin = Requester.system("memo_admin")
    before = _computed()
    first = heatmaps.heatmap(demo_session, admin, layer="patrol")
    assert _computed() == before + 1
    kept = memo.statistics()["kept"]
    second = heatmaps.heatmap(demo_session, admin, layer="patrol")
    assert _computed() == before + 1 and memo.statistics()["kept"] == kept + 1
    assert second is first and first.total > 0
    rows = demo_session.execute(
        sa.text(
            "select target, detail from audit_log where action = 'view_patrol_tracks' "
            "and username = 'memo_admin' order by id"
        )
    ).all()
    assert len(rows) == 2  # one per view, the one from memory too
    details = [r[1] if isinstance(r[1], dict) else json.loads(r[1]) for r in rows]
    assert details[0] == details[1] and details[0]["purpose"] == "heatmap"


def test_a_write_makes_the_next_request_recompute(demo_session):
    admin = Requester.system("memo_admin")
    grid_id, lon, lat = _a_grid(demo_session)
    open_before = heatmaps.heatmap(demo_session, admin, layer="hazards")
    patrol_before = heatmaps.heatmap(demo_session, admin, layer="patrol")
    leader = Requester("memo_leader", "grid_leader", grid_ids=frozenset({grid_id}))
    cases.report(
        demo_session,
        leader,
        lon=lon,
        lat=lat,
        category="fire",
        severity="high",
        description="楼道堆放杂物",
    )
    start = datetime.now().replace(microsecond=0) - timedelta(days=1)
    demo_session.add(
        PatrolTrack(
            code="memo-track",
            patroller="memo",
            grid_id=grid_id,
            started_at=start,
            ended_at=start + timedelta(minutes=4),
            times=[0, 60, 120, 180, 240],
            geom="SRID=4326;LINESTRING("
            + ", ".join(f"{lon + i * 0.0002} {lat}" for i in range(5))
            + ")",
        )
    )
    demo_session.flush()
    computed = _computed()
    open_after = heatmaps.heatmap(demo_session, admin, layer="hazards")
    patrol_after = heatmaps.heatmap(demo_session, admin, layer="patrol")
    assert _computed() == computed + 2
    assert open_after.total == open_before.total + 1
    assert patrol_after.total > patrol_before.total


def test_a_grid_leader_never_shares_the_admins_entry(demo_session):
    grid_id, _lon, _lat = _a_grid(demo_session)
    leader = Requester("memo_leader", "grid_leader", grid_ids=frozenset({grid_id}))
    layer = "group:elderly_alone"
    demo_session.info["memo"] = False  # the computation itself, no memo
    try:
        alone = heatmaps.heatmap(demo_session, leader, layer=layer)
    finally:
        demo_session.info.pop("memo")
    admin = heatmaps.heatmap(demo_session, Requester.system("memo_admin"), layer=layer)
    computed = _computed()
    mine = heatmaps.heatmap(demo_session, leader, layer=layer)
    assert _computed() == computed + 1  # not the admin's entry
    assert mine.total == alone.total < admin.total
    assert mine.suppressed_cells == alone.suppressed_cells
    assert mine.cells.equals(alone.cells)
    # another leader of the same grid and rights shares the leader's entry, audited as theirs
    peer = Requester("memo_peer", "grid_leader", grid_ids=frozenset({grid_id}))
    assert heatmaps.heatmap(demo_session, peer, layer=layer) is mine
    assert _computed() == computed + 1
    assert _audits(demo_session, "aggregate_personal", "memo_peer") == [f"heatmap {layer}"]
    assert _audits(demo_session, "aggregate_personal", "memo_leader") == [f"heatmap {layer}"] * 2


def test_every_page_view_writes_its_audit_row(demo_app, demo_db):
    engine, password = demo_db[0], demo_db[1]
    client = demo_app.test_client()
    login(client, password)

    def views() -> int:
        with engine.connect() as c:
            return c.execute(
                sa.text(
                    "select count(*) from audit_log where action = 'view_patrol_tracks' "
                    "and username = 'admin'"
                )
            ).scalar_one()

    before, computed = views(), _computed()
    query = "?layer=patrol&weekly=1"
    for path in ("/heatmap", "/heatmap/layers/weeks", "/heatmap/layers/cells", "/heatmap"):
        assert client.get(path + query).status_code == 200
    assert _computed() == computed + 1
    assert views() == before + 4


def test_a_running_period_expires_like_the_other_entries(demo_session, monkeypatch):
    admin = Requester.system("memo_admin")
    running = heatmaps.heatmap(demo_session, admin, layer="incidents")
    assert running.period.end > datetime.now()  # the default period ends tonight
    computed = _computed()
    heatmaps.heatmap(demo_session, admin, layer="incidents")
    assert _computed() == computed
    monkeypatch.setattr(memo, "CACHE_SECONDS", 0)  # the entry's time is up
    again = heatmaps.heatmap(demo_session, admin, layer="incidents")
    assert _computed() == computed + 1 and again is not running
    assert again.total == running.total
