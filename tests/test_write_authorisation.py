"""Every write path asks one table (gridmap.permissions) and checks old and new places.

Grid leader A (grid g1) tries to take over or move grid g2's hazard, key site, building
and household, to close a case by import, to rename a street-wide facility and to add a
road; community and street staff try the same beyond their areas. Every attempt is
refused with a row-level message and the database keeps its values.
"""

from datetime import datetime

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from test_scope import world  # noqa: F401 - the shared hand-built hierarchy

from geodata.db import models as m
from geodata.db.frames import to_ewkt
from geodata.importer import ImportOptions, import_file
from geodata.readers import ReadOptions
from gridmap import permissions
from gridmap.errors import PermissionDenied
from gridmap.privacy import Requester

from conftest import row_count, run_gridmap


def imp(session, path, layer, requester):
    return import_file(session, path, layer, ImportOptions(read=ReadOptions()), requester)


def csv(tmp_path, stem, **cols):
    path = tmp_path / f"{stem}.csv"
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


def centre(session, grid_code):
    geom = session.scalar(sa.select(sa.func.ST_AsText(m.Grid.geom)).where(m.Grid.code == grid_code))
    p = shapely.from_wkt(geom).centroid
    return p.x, p.y


@pytest.fixture
def roles(session, world):  # noqa: F811
    g = world["grids"]
    a1, _a2, _b1 = world["communities"]
    street_a, street_b = world["streets"]
    street_a.geom = to_ewkt(shapely.MultiPolygon([shapely.box(115.99, 38.99, 116.035, 39.02)]))
    street_b.geom = to_ewkt(shapely.MultiPolygon([shapely.box(116.035, 38.99, 116.06, 39.02)]))
    x, y = centre(session, "g2")
    session.add(
        m.KeySite(
            code="ks-g2",
            name="乙网吧",
            category="internet_cafe",
            inspection_interval_days=14,
            grid_id=g["g2"].id,
            geom=f"SRID=4326;POINT({x} {y})",
        )
    )
    session.add(
        m.Facility(
            code="F-1",
            name="一幼儿园",
            category="kindergarten",
            geom="SRID=4326;POINT(116.001 39.001)",
        )
    )
    session.flush()
    return {
        "leader_a": Requester("leader_a", "grid_leader", grid_ids=frozenset({g["g1"].id})),
        "community_a1": Requester("ca1", "community_staff", community_ids=frozenset({a1.id})),
        "street_b": Requester("sb", "street_staff", street_ids=frozenset({street_b.id})),
        "street_a": Requester("sa", "street_staff", street_ids=frozenset({street_a.id})),
        "grids": g,
    }


def errors(report):
    return [(p.row, p.kind) for p in report.errors]


def test_the_table_gives_street_wide_layers_to_street_staff_and_admins_only():
    for layer in ("facilities", "roads", "grids", "communities"):
        writers = {r for r in permissions.WRITE if permissions.may_write(r, layer)}
        assert writers == {"admin", "street_staff"}, layer
    assert permissions.layers_writable("viewer") == permissions.layers_writable("planner") == []
    assert not permissions.may("grid_leader", "patrol_tracks", permissions.UPDATE)
    assert permissions.may("grid_leader", "hazards", permissions.UPDATE)


def test_leader_cannot_take_over_another_grids_hazard(session, roles, tmp_path):
    x, y = centre(session, "g1")
    path = csv(
        tmp_path,
        "hz",
        编码=["hz-g2"],
        网格=["g1"],
        经度=[x],
        纬度=[y],
        状态=["closed"],
        类别=["fire"],
    )
    report = imp(session, path, "hazards", roles["leader_a"])
    assert errors(report) == [(1, "out_of_scope"), (1, "workflow_field")]
    assert report.written == 0
    hz = session.scalar(sa.select(m.Hazard).where(m.Hazard.code == "hz-g2"))
    assert (hz.grid_id, hz.status, hz.closed_at) == (roles["grids"]["g2"].id, "reported", None)


def test_import_never_changes_workflow_fields_of_an_existing_case(session, roles, tmp_path):
    x, y = centre(session, "g1")
    closing = csv(
        tmp_path,
        "close",
        编码=["hz-g1"],
        网格=["g1"],
        经度=[x],
        纬度=[y],
        状态=["closed"],
        类别=["fire"],
    )
    report = imp(session, closing, "hazards", roles["leader_a"])
    assert errors(report) == [(1, "workflow_field")]
    assert "status" in report.errors[0].message and "hz-g1" in report.errors[0].message
    hz = session.scalar(sa.select(m.Hazard).where(m.Hazard.code == "hz-g1"))
    assert (hz.status, hz.closed_at, hz.responsible) == ("reported", None, None)
    # without the workflow columns the other fields update and the status stays
    described = csv(
        tmp_path,
        "desc",
        编码=["hz-g1"],
        网格=["g1"],
        经度=[x],
        纬度=[y],
        类别=["fire"],
        描述=["楼道堆物已拍照"],
    )
    report = imp(session, described, "hazards", roles["leader_a"])
    assert report.ok and report.updates == 1
    session.expire_all()
    hz = session.scalar(sa.select(m.Hazard).where(m.Hazard.code == "hz-g1"))
    assert (hz.status, hz.description) == ("reported", "楼道堆物已拍照")
    # the same status as stored is no change, so it passes
    same = csv(
        tmp_path,
        "same",
        编码=["hz-g1"],
        网格=["g1"],
        经度=[x],
        纬度=[y],
        状态=["reported"],
        类别=["fire"],
    )
    assert imp(session, same, "hazards", roles["leader_a"]).ok


def test_leader_cannot_move_a_key_site_from_another_grid(session, roles, tmp_path):
    x, y = centre(session, "g1")
    path = csv(
        tmp_path,
        "ks",
        场所编码=["ks-g2"],
        场所名称=["乙网吧"],
        类别=["网吧"],
        网格=["g1"],
        经度=[x],
        纬度=[y],
    )
    report = imp(session, path, "key_sites", roles["leader_a"])
    assert errors(report) == [(1, "out_of_scope")]
    site = session.scalar(sa.select(m.KeySite).where(m.KeySite.code == "ks-g2"))
    assert site.grid_id == roles["grids"]["g2"].id


def test_buildings_refused_to_leaders_and_kept_in_place_for_community_staff(
    session, roles, tmp_path
):
    x, y = centre(session, "g1")
    wkt = shapely.box(x, y, x + 0.0002, y + 0.0002).wkt
    path = csv(tmp_path, "b", 楼栋编码=["b-g3"], wkt=[wkt], 网格=["g1"])
    with pytest.raises(PermissionDenied, match="grid_leader"):
        imp(session, path, "buildings", roles["leader_a"])
    report = imp(session, path, "buildings", roles["community_a1"])  # b-g3 is community A2's
    assert errors(report) == [(1, "out_of_scope")]
    building = session.scalar(sa.select(m.Building).where(m.Building.code == "b-g3"))
    assert building.grid_id == roles["grids"]["g3"].id


def test_leader_cannot_move_a_household_from_another_grid(session, roles, tmp_path):
    path = csv(tmp_path, "hh", 户编码=["h-g2"], 楼栋编码=["b-g1"], 房号=["101"], 人数=[4])
    report = imp(session, path, "households", roles["leader_a"])
    assert errors(report) == [(1, "out_of_scope")]
    hh = session.scalar(sa.select(m.Household).where(m.Household.code == "h-g2"))
    building = session.get(m.Building, hh.building_id)
    assert building.code == "b-g2"


def test_facilities_and_roads_are_street_staffs_inside_their_street(session, roles, tmp_path):
    rename = csv(
        tmp_path,
        "f",
        设施编码=["F-1"],
        设施名称=["改名幼儿园"],
        类别=["kindergarten"],
        经度=[116.001],
        纬度=[39.001],
    )
    road = csv(
        tmp_path,
        "r",
        code=["R-new"],
        name=["新路"],
        wkt=["LINESTRING(116.005 39.001, 116.008 39.002)"],
    )
    for who in ("leader_a", "community_a1"):
        with pytest.raises(PermissionDenied, match="street-office staff"):
            imp(session, rename, "facilities", roles[who])
        with pytest.raises(PermissionDenied, match="street-office staff"):
            imp(session, road, "roads", roles[who])
    assert errors(imp(session, rename, "facilities", roles["street_b"])) == [(1, "out_of_scope")]
    assert errors(imp(session, road, "roads", roles["street_b"])) == [(1, "out_of_scope")]
    assert session.scalar(sa.select(m.Facility.name).where(m.Facility.code == "F-1")) == "一幼儿园"
    assert row_count(session, "road") == 0
    # inside their own street, street staff may
    assert imp(session, rename, "facilities", roles["street_a"]).written == 1
    assert imp(session, road, "roads", roles["street_a"]).written == 1


def test_cli_import_as_a_user_is_held_to_that_users_areas(backend, fresh_database, tmp_path):
    """`gridmap import ... --as USER`: the user's role and areas, refused rows, exit 1."""
    import json

    from geodata.db.engine import make_engine

    with fresh_database(backend) as url:
        run_gridmap("db", "upgrade", url=url)
        engine = make_engine(url)
        with engine.begin() as conn:
            from sqlalchemy.orm import Session

            s = Session(bind=conn)
            c = m.Community(
                code="C1",
                name="一社区",
                geom=to_ewkt(shapely.MultiPolygon([shapely.box(116, 39, 116.01, 39.01)])),
            )
            s.add(c)
            s.flush()
            for code, x in (("g1", 116.0), ("g2", 116.005)):
                s.add(
                    m.Grid(
                        code=code,
                        name=code,
                        community_id=c.id,
                        geom=to_ewkt(shapely.MultiPolygon([shapely.box(x, 39, x + 0.005, 39.01)])),
                    )
                )
            s.flush()
            g2 = s.scalar(sa.select(m.Grid.id).where(m.Grid.code == "g2"))
            s.add(
                m.Hazard(
                    code="hz-2",
                    category="fire",
                    severity="low",
                    status="reported",
                    found_at=datetime(2026, 11, 1),
                    grid_id=g2,
                    geom="SRID=4326;POINT(116.007 39.005)",
                )
            )
            s.flush()
        engine.dispose()
        run_gridmap(
            "user",
            "add",
            "leader_a",
            "--role",
            "grid_leader",
            "--grid",
            "g1",
            "--password",
            "leader-pass-1",
            url=url,
        )
        path = csv(
            tmp_path, "hz", 编码=["hz-2"], 网格=["g1"], 经度=[116.002], 纬度=[39.005], 类别=["fire"]
        )
        proc = run_gridmap(
            "import", "hazards", str(path), "--as", "leader_a", "--json", url=url, check=False
        )
        out = json.loads(proc.stdout)
        assert proc.returncode == 1 and out["written"] == 0
        assert [p["kind"] for p in out["problems"] if p["severity"] == "error"] == ["out_of_scope"]
        proc = run_gridmap("import", "roads", str(path), "--as", "leader_a", url=url, check=False)
        assert proc.returncode == 1 and "street-office staff" in proc.stderr
        proc = run_gridmap("import", "hazards", str(path), "--as", "nobody", url=url, check=False)
        assert proc.returncode == 1 and "no active user" in proc.stderr


def test_vertex_limits_per_feature_and_per_file(session, roles, tmp_path):
    from geodata.readers import Limits

    ring = shapely.Point(116.001, 39.001).buffer(0.0005, quad_segs=64)  # 257 vertices
    path = csv(
        tmp_path,
        "big",
        场所编码=["KS-1", "KS-2"],
        场所名称=["大", "小"],
        类别=["网吧", "网吧"],
        wkt=[ring.wkt, "POINT(116.001 39.001)"],
    )

    def run(**limits):
        options = ImportOptions(read=ReadOptions(limits=Limits(**limits)))
        return import_file(session, path, "key_sites", options, Requester.system())

    report = run(max_vertices_feature=100)
    assert errors(report) == [(1, "too_many_vertices")] and report.written == 0
    assert "257" in report.errors[0].message
    with pytest.raises(Exception, match="258 vertices"):
        run(max_vertices_file=200)
    assert row_count(session, "key_site") == 1  # the fixture's own site only
    assert run().written == 2  # within the default limits
