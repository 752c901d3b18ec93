"""Area scope and masking, on a small hand-built hierarchy in both backends."""

from datetime import datetime

import pytest
import shapely
import sqlalchemy as sa

from geodata.db import people, repo
from geodata.db.frames import to_ewkt
from geodata.db.models import (
    AuditLog,
    Building,
    Community,
    Grid,
    Hazard,
    Household,
    PatrolTrack,
    Resident,
    Street,
)
from geodata.db.users import authenticate, create_user, requester_for
from gridmap.errors import InvalidInput, NotFound, PermissionDenied
from gridmap.privacy import Requester


def square(x0, y0, d=0.001):
    return to_ewkt(shapely.MultiPolygon([shapely.box(x0, y0, x0 + d, y0 + d)]))


@pytest.fixture
def world(session):
    """Two streets; street A has communities A1 (grids g1, g2) and A2 (grid g3); street B grid g4."""
    sa_, sb = Street(code="S-A", name="甲街道"), Street(code="S-B", name="乙街道")
    session.add_all([sa_, sb])
    session.flush()
    a1 = Community(code="C-A1", name="一社区", street_id=sa_.id, geom=square(116.0, 39.0, 0.01))
    a2 = Community(code="C-A2", name="二社区", street_id=sa_.id, geom=square(116.02, 39.0, 0.01))
    b1 = Community(code="C-B1", name="三社区", street_id=sb.id, geom=square(116.04, 39.0, 0.01))
    session.add_all([a1, a2, b1])
    session.flush()
    grids = {}
    for code, comm, x in [
        ("g1", a1, 116.0),
        ("g2", a1, 116.005),
        ("g3", a2, 116.02),
        ("g4", b1, 116.04),
    ]:
        grids[code] = Grid(code=code, name=code, community_id=comm.id, geom=square(x, 39.0, 0.004))
    session.add_all(grids.values())
    session.flush()
    for code, grid in grids.items():
        b = Building(
            code=f"b-{code}",
            grid_id=grid.id,
            geom=square(float(grid.id) / 1000 + 116, 39.001, 0.0002),
        )
        session.add(b)
        session.flush()
        h = Household(code=f"h-{code}", building_id=b.id, size=1)
        session.add(h)
        session.flush()
        session.add(
            Resident(
                household_id=h.id,
                name="张三丰",
                phone="13812345678",
                id_number="11010819800101123X",
                birth_year=1980,
                sex="M",
            )
        )
        session.add(
            Hazard(
                code=f"hz-{code}",
                category="fire",
                severity="low",
                status="reported",
                found_at=datetime(2026, 11, 1),
                grid_id=grid.id,
                geom="SRID=4326;POINT(116.001 39.001)",
            )
        )
        session.add(
            PatrolTrack(
                code=f"t-{code}",
                patroller="p",
                grid_id=grid.id,
                started_at=datetime(2026, 11, 1, 8),
                ended_at=datetime(2026, 11, 1, 9),
                times=[0, 60],
                geom="SRID=4326;LINESTRING(116 39, 116.001 39.001)",
            )
        )
    session.flush()
    return {"streets": (sa_, sb), "communities": (a1, a2, b1), "grids": grids}


def codes(rows, key="code"):
    return sorted(r[key] for r in rows)


def test_each_role_sees_exactly_its_areas(session, world):
    g = world["grids"]
    a1, a2, b1 = world["communities"]
    leader = Requester("leader", "grid_leader", grid_ids=frozenset({g["g2"].id}))
    community = Requester("c", "community_staff", community_ids=frozenset({a1.id}))
    street = Requester("s", "street_staff", street_ids=frozenset({world["streets"][0].id}))
    nobody = Requester("v", "viewer")
    admin = Requester.system()
    assert codes(people.households(session, leader)) == ["h-g2"]
    assert codes(people.households(session, community)) == ["h-g1", "h-g2"]
    assert codes(people.households(session, street)) == ["h-g1", "h-g2", "h-g3"]
    assert codes(people.households(session, admin)) == ["h-g1", "h-g2", "h-g3", "h-g4"]
    assert people.households(session, nobody) == []
    assert codes(repo.hazards_frame(session, community).to_dict("records")) == ["hz-g1", "hz-g2"]
    assert codes(repo.patrol_tracks_frame(session, leader).to_dict("records")) == ["t-g2"]
    assert len(people.residents(session, street)) == 3
    assert len(people.residents(session, leader, grid_code="g1")) == 0  # outside: filter wins


def test_residents_masked_unless_revealed_by_an_allowed_role(session, world):
    leader = Requester("leader", "grid_leader", grid_ids=frozenset({world["grids"]["g1"].id}))
    [masked] = people.residents(session, leader)
    assert masked["name"] == "张**"
    assert masked["phone"] == "138****5678"
    assert masked["id_number"] == "110108********123X"
    [full] = people.residents(session, leader, reveal=True)
    assert full["name"] == "张三丰" and full["phone"] == "13812345678"
    with pytest.raises(PermissionDenied):
        people.residents(session, Requester("p", "planner"), reveal=True)
    actions = session.scalars(sa.select(AuditLog.action).where(AuditLog.username == "leader")).all()
    assert actions == ["view_residents", "reveal_residents"]


def test_users_hash_passwords_and_carry_their_areas(session, world):
    user, password = create_user(session, "li", "grid_leader", grid_codes=["g3"])
    assert password and user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert authenticate(session, "li", password) is user
    assert authenticate(session, "li", "wrong-password") is None
    assert authenticate(session, "nobody", password) is None
    req = requester_for(user)
    assert req.grid_ids == {world["grids"]["g3"].id}
    assert codes(people.households(session, req)) == ["h-g3"]
    with pytest.raises(NotFound, match="g99"):
        create_user(session, "wang", "grid_leader", grid_codes=["g99"])
    with pytest.raises(InvalidInput, match="role"):
        create_user(session, "wang", "mayor")
