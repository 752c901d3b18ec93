"""The hazard workflow: the pure rules, then the repository on both backends (every step in
hazard_event, scope, audit, overdue and escalation)."""

from datetime import datetime, timedelta

import pytest
import shapely
import sqlalchemy as sa

from geodata.db import hazards as cases
from geodata.db.frames import to_ewkt
from geodata.db.models import AuditLog, Community, Grid, Hazard, HazardEvent, Street
from gridmap import hazards as rules
from gridmap.errors import InvalidInput, PermissionDenied
from gridmap.privacy import Requester

T0 = datetime(2026, 3, 2, 9, 0)


# --- the rules ------------------------------------------------------------------------------
def test_the_whole_path_from_report_to_close():
    state = rules.CaseState("reported")
    steps = [
        ("file", "community_staff", {}),
        (
            "assign",
            "community_staff",
            {"responsible": "物业 王经理", "deadline": T0 + timedelta(days=7)},
        ),
        ("handle", "grid_leader", {"note": "灭火器已更换"}),
        ("reinspect", "community_staff", {"note": "现场核查合格"}),
        ("close", "street_staff", {}),
    ]
    seen = []
    for action, role, kw in steps:
        step = rules.apply(state, action, role=role, username=role, at=T0, **kw)
        seen.append((step.from_status, step.to_status))
        state = rules.CaseState(
            step.to_status, handled_by="grid_leader" if action == "handle" else state.handled_by
        )
    assert seen == [
        ("reported", "filed"),
        ("filed", "assigned"),
        ("assigned", "handled"),
        ("handled", "reinspected"),
        ("reinspected", "closed"),
    ]
    assert step.closed_at == T0


def test_who_may_do_what():
    assert rules.allowed_actions(rules.CaseState("reported"), role="grid_leader", username="a") == [
        "comment"
    ]
    assert rules.allowed_actions(
        rules.CaseState("reported"), role="community_staff", username="a"
    ) == ["file", "dismiss", "comment"]
    assert rules.allowed_actions(rules.CaseState("assigned"), role="grid_leader", username="a") == [
        "handle",
        "comment",
    ]
    assert rules.allowed_actions(rules.CaseState("closed"), role="admin", username="a") == []
    assert rules.allowed_actions(rules.CaseState("handled"), role="viewer", username="a") == []
    with pytest.raises(PermissionDenied):
        rules.apply(rules.CaseState("reported"), "file", role="grid_leader", username="a", at=T0)
    with pytest.raises(PermissionDenied):
        rules.apply(
            rules.CaseState("handled"), "reinspect", role="planner", username="p", at=T0, note="ok"
        )


def test_the_handler_does_not_reinspect_their_own_work():
    handled = rules.CaseState("handled", handled_by="wang")
    assert "reinspect" not in rules.allowed_actions(handled, role="grid_leader", username="wang")
    assert "reinspect" in rules.allowed_actions(handled, role="grid_leader", username="li")
    assert "reinspect" in rules.allowed_actions(handled, role="admin", username="wang")
    with pytest.raises(PermissionDenied, match="someone other"):
        rules.apply(handled, "reinspect", role="community_staff", username="wang", at=T0, note="ok")


def test_wrong_status_and_missing_fields_are_refused():
    with pytest.raises(InvalidInput, match="cannot take the step"):
        rules.apply(rules.CaseState("reported"), "close", role="admin", username="a", at=T0)
    with pytest.raises(InvalidInput, match="Responsible"):
        rules.apply(
            rules.CaseState("filed"),
            "assign",
            role="admin",
            username="a",
            at=T0,
            deadline=T0 + timedelta(days=1),
        )
    with pytest.raises(InvalidInput, match="Deadline"):
        rules.apply(
            rules.CaseState("filed"), "assign", role="admin", username="a", at=T0, responsible="x"
        )
    with pytest.raises(InvalidInput, match="past"):
        rules.apply(
            rules.CaseState("filed"),
            "assign",
            role="admin",
            username="a",
            at=T0,
            responsible="x",
            deadline=T0 - timedelta(days=2),
        )
    with pytest.raises(InvalidInput, match="needs a note"):
        rules.apply(rules.CaseState("assigned"), "handle", role="grid_leader", username="a", at=T0)
    with pytest.raises(InvalidInput, match="unknown action"):
        rules.apply(rules.CaseState("assigned"), "report", role="admin", username="a", at=T0)


def test_a_failed_reinspection_goes_back_to_the_responsible_person():
    step = rules.apply(
        rules.CaseState("handled", handled_by="x"),
        "reinspect_fail",
        role="grid_leader",
        username="y",
        at=T0,
        note="仍有隐患",
    )
    assert (step.from_status, step.to_status) == ("handled", "assigned")


def test_overdue_and_escalation_levels():
    deadline = datetime(2026, 3, 10, 23, 59, 59)
    assert not rules.is_overdue("assigned", deadline, as_of=datetime(2026, 3, 10, 12))
    assert rules.days_overdue("assigned", deadline, as_of=datetime(2026, 3, 12)) == 1.0
    assert rules.escalation_level("assigned", deadline, as_of=datetime(2026, 3, 12)) == 1
    assert rules.escalation_level("assigned", deadline, as_of=datetime(2026, 3, 19)) == 2  # 8 days
    assert rules.escalation_level("assigned", deadline, as_of=datetime(2026, 4, 15)) == 3  # 35 days
    assert rules.escalation_level("closed", deadline, as_of=datetime(2026, 4, 15)) == 0
    # an unfiled report is due RESPONSE_DAYS after it was found
    assert rules.is_overdue("reported", None, as_of=T0 + timedelta(days=3, hours=1), found_at=T0)
    assert not rules.is_overdue("reported", None, as_of=T0 + timedelta(days=2), found_at=T0)
    assert rules.default_deadline("high", T0) == datetime(2026, 3, 5, 23, 59, 59)


# --- the repository ----------------------------------------------------------------------------
def _box(x0, y0, x1, y1):
    return to_ewkt(shapely.MultiPolygon([shapely.box(x0, y0, x1, y1)]))


@pytest.fixture
def two_grids(session):
    street = Street(code="110108001", name="测试街道", geom=_box(116.30, 39.97, 116.32, 39.99))
    community = Community(
        code="110108001001", name="测试社区", street=street, geom=_box(116.30, 39.97, 116.32, 39.99)
    )
    session.add_all([street, community])
    session.flush()
    west = Grid(
        code="110108001001001",
        name="西网格",
        community_id=community.id,
        geom=_box(116.30, 39.97, 116.31, 39.99),
    )
    east = Grid(
        code="110108001001002",
        name="东网格",
        community_id=community.id,
        geom=_box(116.31, 39.97, 116.32, 39.99),
    )
    session.add_all([west, east])
    session.flush()
    return {"west": west, "east": east, "community": community}


def _who(role, username, **areas):
    return Requester(username=username, role=role, **{k: frozenset(v) for k, v in areas.items()})


def test_report_act_and_history_on_both_backends(session, two_grids):
    leader = _who("grid_leader", "leader_w", grid_ids=[two_grids["west"].id])
    staff = _who("community_staff", "staff", community_ids=[two_grids["community"].id])
    other = _who("community_staff", "staff2", community_ids=[two_grids["community"].id])
    hazard = cases.report(
        session,
        leader,
        lon=116.305,
        lat=39.98,
        category="fire",
        severity="high",
        description="楼道堆放杂物",
        at=T0,
    )
    assert hazard.grid_id == two_grids["west"].id and hazard.status == "reported"
    assert hazard.code == "YH202603020001"
    cases.act(session, staff, hazard.code, "file", at=T0 + timedelta(hours=2))
    cases.act(
        session,
        staff,
        hazard.code,
        "assign",
        responsible="物业 王经理",
        deadline=datetime(2026, 3, 5, 23, 59, 59),
        at=T0 + timedelta(hours=3),
    )
    cases.act(session, leader, hazard.code, "handle", note="已清理", at=T0 + timedelta(days=1))
    with pytest.raises(PermissionDenied):  # the handler may not re-inspect
        cases.act(session, leader, hazard.code, "reinspect", note="ok", at=T0 + timedelta(days=2))
    cases.act(session, other, hazard.code, "reinspect", note="核查合格", at=T0 + timedelta(days=2))
    cases.act(session, staff, hazard.code, "close", at=T0 + timedelta(days=2, hours=1))
    steps = cases.history(session, staff, hazard.code)
    assert [(s["action"], s["from_status"], s["to_status"]) for s in steps] == [
        ("report", None, "reported"),
        ("file", "reported", "filed"),
        ("assign", "filed", "assigned"),
        ("handle", "assigned", "handled"),
        ("reinspect", "handled", "reinspected"),
        ("close", "reinspected", "closed"),
    ]
    assert [s["actor"] for s in steps] == [
        "leader_w",
        "staff",
        "staff",
        "leader_w",
        "staff2",
        "staff",
    ]
    assert "物业 王经理" in steps[2]["note"] and "2026-03-05" in steps[2]["note"]
    row = session.get(Hazard, hazard.id)
    assert row.status == "closed" and row.responsible == "物业 王经理"
    assert row.closed_at == T0 + timedelta(days=2, hours=1)
    audited = session.scalars(
        sa.select(AuditLog.action).where(AuditLog.target == hazard.code)
    ).all()
    assert sorted(audited) == sorted(
        [
            "hazard_report",
            "hazard_file",
            "hazard_assign",
            "hazard_handle",
            "hazard_reinspect",
            "hazard_close",
        ]
    )


def test_scope_keeps_leaders_in_their_own_grids(session, two_grids):
    leader_w = _who("grid_leader", "w", grid_ids=[two_grids["west"].id])
    leader_e = _who("grid_leader", "e", grid_ids=[two_grids["east"].id])
    with pytest.raises(PermissionDenied, match="outside your areas"):
        cases.report(
            session,
            leader_w,
            lon=116.315,
            lat=39.98,
            category="gas",
            severity="low",
            description="x",
            at=T0,
        )
    with pytest.raises(InvalidInput, match="no grid"):
        cases.report(
            session,
            leader_w,
            lon=116.40,
            lat=39.98,
            category="gas",
            severity="low",
            description="x",
            at=T0,
        )
    h = cases.report(
        session,
        leader_w,
        lon=116.305,
        lat=39.98,
        category="gas",
        severity="low",
        description="燃气管老化",
        at=T0,
    )
    with pytest.raises(PermissionDenied):
        cases.get(session, leader_e, h.code)
    before = session.scalar(sa.select(sa.func.count(HazardEvent.id)))
    with pytest.raises(PermissionDenied):
        cases.act(session, leader_e, h.code, "comment", note="x")
    assert session.scalar(sa.select(sa.func.count(HazardEvent.id))) == before
    assert len(cases.cases_frame(session, leader_e, as_of=T0)) == 0
    assert list(cases.cases_frame(session, leader_w, as_of=T0)["code"]) == [h.code]


def test_overdue_list_per_community_and_escalation_sweep(session, two_grids):
    admin = Requester.system("admin")
    late = cases.report(
        session,
        admin,
        lon=116.305,
        lat=39.98,
        category="fire",
        severity="high",
        description="a",
        at=T0,
    )
    cases.act(session, admin, late.code, "file", at=T0)
    cases.act(
        session,
        admin,
        late.code,
        "assign",
        responsible="x",
        deadline=datetime(2026, 3, 3, 23, 59, 59),
        at=T0,
    )
    fresh = cases.report(
        session,
        admin,
        lon=116.315,
        lat=39.98,
        category="gas",
        severity="low",
        description="b",
        at=T0 + timedelta(days=9),
    )
    as_of = datetime(2026, 3, 12, 10, 0)  # 8 days past the deadline; the fresh report is new
    frame = cases.cases_frame(session, admin, as_of=as_of)
    by_code = frame.set_index("code")
    assert bool(by_code.loc[late.code, "overdue"]) and by_code.loc[late.code, "days_overdue"] == 8
    assert by_code.loc[late.code, "escalation"] == 2
    assert not bool(by_code.loc[fresh.code, "overdue"])
    per = cases.overdue_by_community(frame)
    assert per.to_dict("records") == [
        {
            "community_code": "110108001001",
            "community_name": "测试社区",
            "open": 2,
            "overdue": 1,
            "max_days_overdue": 8.0,
        }
    ]
    done = cases.sweep_escalations(session, admin, as_of=as_of)
    assert done == [{"code": late.code, "level": 2, "target": "street", "days_overdue": 8.0}]
    assert cases.sweep_escalations(session, admin, as_of=as_of) == []  # recorded once
    steps = cases.history(session, admin, late.code)
    assert steps[-1]["action"] == "escalate" and steps[-1]["to_status"] == "assigned"


def test_cli_lists_overdue_cases_and_escalates_once(fresh_database):
    import json

    from geodata.db.engine import make_engine, session_factory
    from geodata.db.migrate import upgrade

    from conftest import run_gridmap

    with fresh_database("spatialite") as url:
        engine = make_engine(url)
        upgrade(engine)
        with session_factory(engine).begin() as s:
            street = Street(
                code="110108001", name="测试街道", geom=_box(116.30, 39.97, 116.32, 39.99)
            )
            community = Community(
                code="110108001001",
                name="测试社区",
                street=street,
                geom=_box(116.30, 39.97, 116.32, 39.99),
            )
            s.add_all([street, community])
            s.flush()
            s.add(
                Grid(
                    code="110108001001001",
                    name="网格",
                    community_id=community.id,
                    geom=_box(116.30, 39.97, 116.32, 39.99),
                )
            )
            s.flush()
            admin = Requester.system("admin")
            h = cases.report(
                s,
                admin,
                lon=116.31,
                lat=39.98,
                category="fire",
                severity="high",
                description="a",
                at=T0,
            )
            cases.act(s, admin, h.code, "file", at=T0)
            cases.act(
                s,
                admin,
                h.code,
                "assign",
                responsible="x",
                deadline=datetime(2026, 3, 3, 23, 59, 59),
                at=T0,
            )
        engine.dispose()
        listed = json.loads(
            run_gridmap(
                "hazards", "overdue", "--as-of", "2026-03-12T10:00", "--json", url=url
            ).stdout
        )
        assert [r["code"] for r in listed["overdue"]] == [h.code]
        assert listed["overdue"][0]["days_overdue"] == 8.0
        assert listed["per_community"][0]["overdue"] == 1
        first = json.loads(
            run_gridmap(
                "hazards", "escalate", "--as-of", "2026-03-12T10:00", "--json", url=url
            ).stdout
        )
        again = json.loads(
            run_gridmap(
                "hazards", "escalate", "--as-of", "2026-03-12T10:00", "--json", url=url
            ).stdout
        )
        assert [(e["code"], e["target"]) for e in first["escalated"]] == [(h.code, "street")]
        assert again["escalated"] == []
