"""The field app's server side on the demo street, through Flask's client: a leader lands on
the app, deliveries are applied exactly once, photos keep only EXIF time and place, a
check-in must be near its site, patrol fixes become a patrol_track, a step on a closed case
is a conflict, phone reveals are audited and limited, errors are pages for browsers; and
the to-do list's pure parts. Both backends."""

import dataclasses
import io
import json
import re
import uuid
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image

from geodata.db.engine import session_factory
from geodata.db.models import (
    AuditLog,
    Building,
    Community,
    Grid,
    Hazard,
    Household,
    HouseholdVisit,
    Inspection,
    KeySite,
    PatrolTrack,
    Photo,
    Resident,
    Street,
    Submission,
)
from geodata.db.users import create_user
from gridmap import field, todo

from conftest import login

PASSWORD = "field-password-1"
JSON = "application/json"  # what the app's script sends
ACCEPT_CHROMIUM = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
    "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


@pytest.fixture(scope="module")
def place(demo_db):
    """A grid with key sites and vulnerable households, a leader of it, a leader of two
    grids and a planner (committed: the app has its own sessions)."""
    engine = demo_db[0]
    with session_factory(engine).begin() as s:
        code = s.scalar(
            sa.select(Grid.code)
            .join(KeySite, KeySite.grid_id == Grid.id)
            .order_by(Grid.code)
            .limit(1)
        )
        other = s.scalar(sa.select(Grid.code).where(Grid.code != code).order_by(Grid.code).limit(1))
        create_user(s, "f_leader", "grid_leader", password=PASSWORD, grid_codes=[code])
        create_user(s, "f_two", "grid_leader", password=PASSWORD, grid_codes=[code, other])
        create_user(s, "f_planner", "planner", password=PASSWORD)
        site = s.execute(
            sa.select(KeySite.code, sa.func.ST_X(KeySite.geom), sa.func.ST_Y(KeySite.geom))
            .join(Grid, KeySite.grid_id == Grid.id)
            .where(Grid.code == code)
            .order_by(KeySite.code)
            .limit(1)
        ).one()
        hh = s.execute(
            sa.select(Household.code, Household.id)
            .join(Building, Household.building_id == Building.id)
            .join(Grid, Building.grid_id == Grid.id)
            .join(Resident, Resident.household_id == Household.id)
            .where(Grid.code == code, Resident.phone.is_not(None))
            .order_by(Household.code)
            .limit(1)
        ).one()
        centre = s.execute(
            sa.select(
                sa.func.ST_X(sa.func.ST_PointOnSurface(Grid.geom)),
                sa.func.ST_Y(sa.func.ST_PointOnSurface(Grid.geom)),
            ).where(Grid.code == code)
        ).one()
    return {
        "grid": code,
        "other": other,
        "site": site[0],
        "site_xy": (site[1], site[2]),
        "household": hh[0],
        "household_id": hh[1],
        "centre": tuple(centre),
    }


@pytest.fixture
def photo_home(demo_app, tmp_path, monkeypatch):
    """The app's home (where photos are stored) moved to a temporary folder for one test."""
    settings = dataclasses.replace(demo_app.config["SETTINGS"], home=tmp_path)
    monkeypatch.setitem(demo_app.config, "SETTINGS", settings)
    return tmp_path


def _client(demo_app, username, password=PASSWORD):
    client = demo_app.test_client()
    assert login(client, password, username=username).status_code == 302
    return client


def _csrf(client):
    return client.get("/field/api/me").get_json()["csrf"]


def _read(demo_db, stmt):
    with session_factory(demo_db[0])() as s:
        return s.execute(stmt).all()


def _jpeg_with_exif(lon=116.31, lat=39.99, when="2026:11:19 09:30:00") -> bytes:
    """A camera-like JPEG: EXIF time, GPS, a camera model and an owner name."""
    image = Image.new("RGB", (2400, 1200), (180, 60, 40))
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"  # Model: must not survive
    exif[0x013B] = "张三"  # Artist: must not survive
    exif[0x0132] = when
    exif.get_ifd(0x8769)[0x9003] = when

    def dms(v):
        d = int(v)
        m = int((v - d) * 60)
        return (d, m, round(((v - d) * 60 - m) * 60, 4))

    exif.get_ifd(0x8825).update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _post(client, token, sub, photos=()):
    if photos:
        data = {
            "submission": json.dumps(sub),
            "photo": [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos)],
        }
        return client.post(
            "/field/api/submit",
            data=data,
            headers={"X-CSRF-Token": token, "Accept": JSON},
            content_type="multipart/form-data",
        )
    return client.post(
        "/field/api/submit", json=sub, headers={"X-CSRF-Token": token, "Accept": JSON}
    )


def test_leader_lands_on_the_field_app_and_it_is_installable(demo_app, place):
    client = demo_app.test_client()
    r = login(client, PASSWORD, username="f_leader")
    assert r.status_code == 302 and r.headers["Location"].endswith("/field/")
    page = client.get("/field/").get_data(as_text=True)
    assert 'rel="manifest"' in page and "/static/vendor/leaflet/1.9.3/leaflet.js" in page
    manifest = client.get("/field/manifest.webmanifest").get_json(force=True)
    assert manifest["start_url"] == "/field/" and manifest["display"] == "standalone"
    sw = client.get("/field/sw.js")
    assert sw.mimetype == "application/javascript"
    assert '"/field/"' in sw.get_data(as_text=True)
    me = client.get("/field/api/me").get_json()
    assert [g["code"] for g in me["grids"] if g["mine"]] == [place["grid"]]
    # the staff landing stays the overview
    planner = demo_app.test_client()
    assert login(planner, PASSWORD, username="f_planner").headers["Location"].endswith("/")
    assert planner.get("/field/").status_code == 403
    assert "<html" in planner.get("/field/", headers={"Accept": ACCEPT_CHROMIUM}).get_data(
        as_text=True
    )


def test_grid_bundle_lists_today_finitely_with_places(demo_app, place):
    client = _client(demo_app, "f_leader")
    b = client.get(f"/field/api/grid/{place['grid']}").get_json()
    assert b["grid"]["code"] == place["grid"]
    assert b["boundary"]["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert len(b["buildings"]["features"]) > 0 and len(b["roads"]["features"]) > 0
    kinds = [t["kind"] for t in b["todo"]]
    assert kinds.count("visit") <= field.default_rules()["visits"]["per_day"]
    streets = [t["text"] for t in b["todo"] if t["kind"] == "unpatrolled"]
    assert len(streets) == len(set(streets))  # one line per street
    assert all(t["at"] for t in b["todo"] if t["kind"] in ("inspection_overdue", "visit"))
    assert "NaN" not in json.dumps(b) and "None" not in json.dumps(b["todo"], ensure_ascii=False)


def test_same_submission_twice_is_stored_once_with_its_photo(demo_app, demo_db, place, photo_home):
    client = _client(demo_app, "f_leader")
    token = _csrf(client)
    lon, lat = place["centre"]
    sub = {
        "id": uuid.uuid4().hex,
        "kind": "hazard_report",
        "made_at": int(datetime.now().timestamp() * 1000) - 60_000,
        "payload": {
            "lon": lon,
            "lat": lat,
            "category": "fire",
            "severity": "high",
            "description": "楼道堆放杂物",
        },
    }
    first = _post(client, token, sub, [_jpeg_with_exif()])
    assert first.status_code == 201, first.get_data(as_text=True)
    second = _post(client, token, sub, [_jpeg_with_exif()])
    assert second.status_code == 200 and second.get_json()["duplicate"] is True
    code = first.get_json()["hazard"]
    assert second.get_json()["hazard"] == code
    hazards = _read(demo_db, sa.select(Hazard.id).where(Hazard.code == code))
    assert len(hazards) == 1
    photos = _read(
        demo_db, sa.select(Photo).where(Photo.owner == "hazard", Photo.owner_id == hazards[0][0])
    )
    assert len(photos) == 1
    photo = photos[0][0]
    assert photo.taken_at == datetime(2026, 11, 19, 9, 30)
    assert photo.lon == pytest.approx(116.31, abs=1e-5) and photo.lat == pytest.approx(
        39.99, abs=1e-5
    )
    with Image.open(photo_home / photo.path) as stored:
        assert max(stored.size) == field.default_rules()["photos"]["max_side_px"]
        assert dict(stored.getexif()) == {}  # nothing else of the EXIF is kept
    assert b"PhoneCam" not in (photo_home / photo.path).read_bytes()
    assert (
        len(_read(demo_db, sa.select(Submission.id).where(Submission.client_id == sub["id"]))) == 1
    )


def test_checkin_records_an_inspection_only_near_the_site(demo_app, demo_db, place):
    client = _client(demo_app, "f_leader")
    token = _csrf(client)
    x, y = place["site_xy"]
    far = _post(
        client,
        token,
        {
            "id": uuid.uuid4().hex,
            "kind": "inspection",
            "payload": {"site": place["site"], "lon": x + 0.0012, "lat": y, "accuracy": 8},
        },
    )
    expected = field.distance_m(x, y, x + 0.0012, y)
    assert 95 < expected < 110  # 0.0012 degrees of longitude at 40 N
    assert far.status_code == 400 and f"{expected:.0f}" in far.get_json()["message"]
    near = _post(
        client,
        token,
        {
            "id": uuid.uuid4().hex,
            "kind": "inspection",
            "payload": {
                "site": place["site"],
                "lon": x + 0.0002,
                "lat": y,
                "accuracy": 8,
                "result": "ok",
                "notes": "灭火器在位",
            },
        },
    )
    assert near.status_code == 201, near.get_data(as_text=True)
    d = near.get_json()["distance_m"]
    assert d == pytest.approx(field.distance_m(x, y, x + 0.0002, y), abs=0.2) and d < 50
    rows = _read(
        demo_db,
        sa.select(Inspection.inspector, Inspection.notes).where(
            Inspection.id == near.get_json()["inspection"]
        ),
    )
    assert rows == [("f_leader", "灭火器在位")]


def test_patrol_fixes_become_one_track_with_times_and_accuracy(demo_app, demo_db, place):
    client = _client(demo_app, "f_leader")
    token = _csrf(client)
    patrol = uuid.uuid4().hex
    lon, lat = place["centre"]
    t0 = int((datetime.now() - timedelta(minutes=5)).timestamp() * 1000)
    # sent out of order (as a resend after a lost answer may): the track is in time order
    for i in (0, 2, 1, 3):
        r = _post(
            client,
            token,
            {
                "id": f"{patrol}-{i}",
                "kind": "patrol_fix",
                "payload": {
                    "patrol": patrol,
                    "grid": place["grid"],
                    "t": t0 + i * 5000,
                    "lon": lon + i * 0.0001,
                    "lat": lat,
                    "accuracy": 5 + i,
                },
            },
        )
        assert r.status_code == 201, r.get_data(as_text=True)
    stop = _post(
        client,
        token,
        {"id": f"{patrol}-stop", "kind": "patrol_stop", "payload": {"patrol": patrol}},
    )
    assert stop.get_json()["fixes"] == 4
    track = _read(demo_db, sa.select(PatrolTrack).where(PatrolTrack.code == f"field-{patrol}"))
    assert len(track) == 1
    t = track[0][0]
    assert t.times == [0.0, 5.0, 10.0, 15.0] and t.props["accuracy"] == [5, 6, 7, 8]
    assert t.patroller == "f_leader"
    assert (t.ended_at - t.started_at).total_seconds() == 15


def test_a_step_on_a_case_closed_meanwhile_is_a_conflict(demo_app, demo_db, place):
    with session_factory(demo_db[0])() as s:
        code = s.scalar(
            sa.select(Hazard.code)
            .join(Grid, Hazard.grid_id == Grid.id)
            .where(Grid.code == place["grid"], Hazard.status == "closed")
            .limit(1)
        )
    if code is None:
        pytest.skip("no closed case in this grid of the demo")
    client = _client(demo_app, "f_leader")
    r = _post(
        client,
        _csrf(client),
        {
            "id": uuid.uuid4().hex,
            "kind": "hazard_act",
            "payload": {"code": code, "action": "handle", "note": "已处理"},
        },
    )
    assert r.status_code == 409 and code in r.get_json()["message"]


def test_reveal_a_phone_with_a_reason_audited_and_limited(demo_app, demo_db, place):
    client = _client(demo_app, "f_leader")
    token = _csrf(client)
    planner = _client(demo_app, "f_planner")
    refused = planner.post(
        "/field/api/reveal",
        json={"household": place["household"], "reason": "visit"},
        headers={"X-CSRF-Token": _token_page(planner)},
    )
    assert refused.status_code == 403
    bad = client.post(
        "/field/api/reveal",
        json={"household": place["household"], "reason": "x"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 400
    r = client.post(
        "/field/api/reveal",
        json={"household": place["household"], "reason": "call"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200
    phones = {p["phone"] for p in r.get_json()["people"]}
    truth = {
        p
        for (p,) in _read(
            demo_db,
            sa.select(Resident.phone).where(
                Resident.household_id == place["household_id"], Resident.phone.is_not(None)
            ),
        )
    }
    assert phones == truth and all("*" not in p for p in phones)
    left = r.get_json()["left_today"]
    for _ in range(left):
        assert (
            client.post(
                "/field/api/reveal",
                json={"household": place["household"], "reason": "visit"},
                headers={"X-CSRF-Token": token},
            ).status_code
            == 200
        )
    over = client.post(
        "/field/api/reveal",
        json={"household": place["household"], "reason": "visit"},
        headers={"X-CSRF-Token": token},
    )
    assert over.status_code == 403
    audits = _read(
        demo_db,
        sa.select(AuditLog.detail).where(
            AuditLog.username == "f_leader", AuditLog.action == "reveal_phone"
        ),
    )
    assert len(audits) == field.default_rules()["reveal"]["per_day"]
    assert {a[0]["reason"] for a in audits} == {"call", "visit"}


def _token_page(client):
    page = client.get("/settings").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_visit_is_recorded_once(demo_app, demo_db, place):
    client = _client(demo_app, "f_leader")
    token = _csrf(client)
    sub = {
        "id": uuid.uuid4().hex,
        "kind": "visit",
        "payload": {"household": place["household"], "kind": "visit", "notes": "身体好"},
    }
    assert _post(client, token, sub).status_code == 201
    assert _post(client, token, sub).status_code == 200
    rows = _read(
        demo_db,
        sa.select(HouseholdVisit.visitor).where(
            HouseholdVisit.household_id == place["household_id"]
        ),
    )
    assert rows == [("f_leader",)]


@pytest.mark.parametrize(
    "accept,page",
    [(ACCEPT_CHROMIUM, True), (None, True), ("*/*", True), ("application/json", False)],
)
def test_errors_are_pages_for_browsers(demo_app, place, accept, page):
    client = _client(demo_app, "f_leader")
    headers = {"Accept": accept} if accept else {}
    r = client.get(f"/grid/{place['other']}", headers=headers)
    assert r.status_code == 403
    if page:
        assert r.mimetype == "text/html" and 'id="error"' in r.get_data(as_text=True)
    else:
        assert r.get_json()["error"] == "PermissionDenied"
    api = client.get(f"/field/api/grid/{place['other']}", headers={"Accept": JSON})
    assert api.status_code == 403 and api.get_json()["error"] == "PermissionDenied"


# --- pure parts ---------------------------------------------------------------------------
def test_unpatrolled_segments_of_one_street_are_one_line():
    segs = pd.DataFrame(
        {
            "name": ["学院路", "学院路", None, "成府路", ""],
            "highway": ["tertiary", "tertiary", "service", "primary", "service"],
            "length_m": [120.0, 80.0, 30.0, 150.0, 20.0],
        }
    )
    streets = todo.unpatrolled_streets(segs)
    assert list(streets["name"].fillna("-")) == ["学院路", "成府路", "-"]
    assert list(streets["length_m"]) == [200.0, 150.0, 50.0]
    assert list(streets["segments"]) == [2, 1, 2]


def test_visits_due_spread_first_visits_and_follow_the_last_one():
    today = date(2026, 12, 3)  # a Thursday
    hh = pd.DataFrame(
        {
            "id": range(70),
            "code": [f"H{i:03d}" for i in range(70)],
            "tags": [["elderly_alone"]] * 70,
        }
    )
    due = field.visits_due(hh, last_visit={}, today=today, intervals={"elderly_alone": 7})
    offsets = [field._spread_offset(c, 7) for c in hh["code"]]
    # due by Thursday: those whose offset (Monday = 0) is at most 3
    assert len(due) == sum(o <= 3 for o in offsets) < 70
    visited = {0: datetime(2026, 11, 30, 10), 1: datetime(2026, 11, 20, 10)}
    hh2 = hh.iloc[:2]
    due2 = field.visits_due(hh2, last_visit=visited, today=today, intervals={"elderly_alone": 7})
    assert list(due2["id"]) == [1] and due2["days_overdue"].iloc[0] == 6
    items = todo.todo_items(
        sites=pd.DataFrame(columns=["code", "name", "overdue", "days_overdue"]),
        cases=pd.DataFrame(columns=["code", "category", "overdue", "days_overdue", "due_at"]),
        unpatrolled=pd.DataFrame(columns=["name", "highway", "length_m"]),
        visits=due.assign(address="x"),
        actionable={},
        visits_per_day=3,
    )
    assert [i.kind for i in items].count("visit") == 3
    assert items[-1].kind == "visits_more" and items[-1].days == len(due) - 3


def test_sensitive_tags_only_for_roles_that_need_them():
    tags = ["elderly_alone", "severe_mental_illness", "pregnant"]
    assert field.visible_tags(tags, "grid_leader") == tags
    assert field.visible_tags(tags, "street_staff") == ["elderly_alone"]
    assert field.visible_tags(tags, "grid_leader", printed=True) == ["elderly_alone"]
    assert field.visible_tags(tags, "grid_leader", printed=True, sensitive=True) == tags


def test_sensitive_tags_on_screen_for_the_leader_and_on_paper_only_when_asked(demo_app, demo_db):
    with session_factory(demo_db[0]).begin() as s:
        rows = s.execute(
            sa.select(Grid.code, Grid.community_id, Resident.tags)
            .join(Household, Resident.household_id == Household.id)
            .join(Building, Household.building_id == Building.id)
            .join(Grid, Building.grid_id == Grid.id)
        ).all()
        hit = next(
            ((c, cid) for c, cid, tags in rows if "severe_mental_illness" in (tags or [])), None
        )
        if hit is None:
            pytest.skip("no resident with a sensitive tag in the demo")
        street = s.scalar(sa.select(Grid.community_id).where(Grid.code == hit[0]))
        create_user(s, "f_sens_leader", "grid_leader", password=PASSWORD, grid_codes=[hit[0]])
        street_code = s.scalar(
            sa.select(Street.code)
            .join(Community, Community.street_id == Street.id)
            .where(Community.id == street)
        )
        create_user(
            s, "f_sens_street", "street_staff", password=PASSWORD, street_codes=[street_code]
        )
    label = "严重精神障碍"
    leader = _client(demo_app, "f_sens_leader")
    assert label in leader.get(f"/grid/{hit[0]}").get_data(as_text=True)
    assert label not in leader.get(f"/grid/{hit[0]}/report").get_data(as_text=True)
    assert label in leader.get(f"/grid/{hit[0]}/report?sensitive=1").get_data(as_text=True)
    staff = _client(demo_app, "f_sens_street")
    page = staff.get(f"/grid/{hit[0]}").get_data(as_text=True)
    assert label not in page and "print-report-sensitive" not in page


def test_photos_are_shown_on_the_case_only_to_those_who_see_it(demo_app, demo_db, place):
    client = _client(demo_app, "f_leader")
    lon, lat = place["centre"]
    sub = {
        "id": uuid.uuid4().hex,
        "kind": "hazard_report",
        "payload": {
            "lon": lon,
            "lat": lat,
            "category": "gas",
            "severity": "medium",
            "description": "燃气管道锈蚀",
        },
    }
    code = _post(client, _csrf(client), sub, [_jpeg_with_exif()]).get_json()["hazard"]
    page = client.get(f"/hazards/{code}").get_data(as_text=True)
    ids = re.findall(r'src="/field/api/photo/(\d+)"', page)
    assert len(ids) == 1
    r = client.get(f"/field/api/photo/{ids[0]}")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(r.data)) as img:
        assert img.format == "JPEG" and dict(img.getexif()) == {}
    with session_factory(demo_db[0]).begin() as s:
        create_user(s, "f_other", "grid_leader", password=PASSWORD, grid_codes=[place["other"]])
    other = _client(demo_app, "f_other")
    assert other.get(f"/field/api/photo/{ids[0]}").status_code == 403
