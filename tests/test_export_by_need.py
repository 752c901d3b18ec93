"""Exports by need: each role gets what its work needs (gridmap.privacy's export rules)."""

import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa
from test_export import ADMIN, street_office  # noqa: F401 - the hand-built street office

from geodata.db import models as m
from geodata.db.search import search
from geodata.export import export_layer
from gridmap import privacy
from gridmap.privacy import Requester


def _read(session, layer, requester, tmp_path, **kw):
    path, n = export_layer(
        session, layer, "geojson", tmp_path / f"{layer}.geojson", requester, **kw
    )
    return pyogrio.read_dataframe(path), n


@pytest.fixture
def office(street_office):  # noqa: F811
    session = street_office
    session.execute(sa.update(m.Hazard).values(reporter="陈小明"))
    g1, g2 = session.scalars(sa.select(m.Grid.id).order_by(m.Grid.code)).all()
    community = session.scalar(sa.select(m.Community.id))
    session.execute(sa.update(m.PatrolTrack).values(grid_id=g1))
    session.execute(sa.update(m.Hazard).values(grid_id=g1))
    session.execute(sa.update(m.KeySite).values(grid_id=g1))
    return session, {
        "planner": Requester("p", "planner"),
        "viewer": Requester("v", "viewer"),
        "leader2": Requester("l2", "grid_leader", grid_ids=frozenset({g2})),
        "leader1": Requester("l1", "grid_leader", grid_ids=frozenset({g1})),
        "staff": Requester("c", "community_staff", community_ids=frozenset({community})),
    }


def test_planners_and_viewers_get_counts_never_people(office, tmp_path):
    session, who = office
    for layer in ("households", "residents"):
        frame, n = _read(session, layer, who["planner"], tmp_path)
        assert n == 2 and set(frame.columns) == {"building", layer, "suppressed", "geometry"}
        # B1 holds 2 households, B2 1: both below the threshold of 5, so suppressed
        assert frame["suppressed"].all() and frame[layer].isna().all()
    frame, n = _read(session, "patrol_tracks", who["planner"], tmp_path)
    assert n == 1 and set(frame.columns) == {"grid", "tracks", "suppressed", "geometry"}
    assert list(frame["grid"]) == ["110108001001001"] and frame["tracks"].isna().all()
    # a viewer with no area gets nothing at all
    for layer in ("households", "residents", "patrol_tracks", "key_sites", "hazards"):
        assert _read(session, layer, who["viewer"], tmp_path)[1] == 0, layer


def test_counts_of_five_and_more_are_shown(office, tmp_path):
    session, who = office
    b1 = session.scalar(sa.select(m.Building.id).where(m.Building.code == "B1"))
    session.add_all([m.Household(code=f"B1-9-{i}", building_id=b1, size=1) for i in range(4)])
    session.flush()
    frame, _n = _read(session, "households", who["planner"], tmp_path)
    shown = dict(zip(frame["building"], frame["households"], strict=True))
    assert shown["B1"] == 6 and pd.isna(shown["B2"])


def test_age_band_not_birth_year_beside_a_masked_id(office, tmp_path):
    session, who = office
    frame, n = _read(session, "residents", who["staff"], tmp_path)
    assert n == 2 and "birth_year" not in frame.columns
    year = pd.Timestamp.now().year
    assert set(frame["age_band"]) == {privacy.age_band(1980, year), privacy.age_band(1990, year)}
    assert privacy.age_band(1980, 2026) == "40-49" and privacy.age_band(None, 2026) is None
    revealed, _n = _read(session, "residents", who["staff"], tmp_path, reveal=True)
    assert set(revealed["birth_year"]) == {1980, 1990}


def test_leader_phones_and_reporters_only_to_managing_staff(office, tmp_path):
    session, who = office
    full, _n = _read(session, "grids", who["staff"], tmp_path)
    assert "13800001111" in set(full["leader_phone"])
    for role in ("viewer", "planner", "leader1"):
        grids, _n = _read(session, "grids", who[role], tmp_path)
        assert "13800001111" not in set(grids["leader_phone"]) and "138****1111" in set(
            grids["leader_phone"]
        ), role
    hazards, _n = _read(session, "hazards", who["leader1"], tmp_path)
    assert list(hazards["reporter"]) == ["陈**"]
    hazards, _n = _read(session, "hazards", who["staff"], tmp_path)
    assert list(hazards["reporter"]) == ["陈小明"]


def test_key_sites_export_and_search_use_the_maps_scope(office, tmp_path):
    session, who = office
    inside, outside = who["leader1"], who["leader2"]  # the site lies in grid 1
    assert _read(session, "key_sites", inside, tmp_path)[1] == 1
    assert _read(session, "key_sites", outside, tmp_path)[1] == 0
    assert _read(session, "key_sites", who["viewer"], tmp_path)[1] == 0
    assert [r["name"] for r in search(session, inside, "网吧").get("key_sites", [])] == ["某网吧"]
    assert search(session, outside, "网吧").get("key_sites") is None
    assert search(session, who["viewer"], "网吧").get("key_sites") is None


def test_spreadsheet_formulas_are_neutralised():
    frame = pd.DataFrame(
        {
            "name": ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "学院路", "-12.5", None],
            "n": [1, 2, 3, 4, 5, 6, 7],
        }
    )
    out = privacy.neutralise_frame(frame)
    assert list(out["name"][:5]) == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(A1)", "学院路"]
    assert out["name"][5] == "-12.5" and pd.isna(out["name"][6])
    assert list(out["n"]) == list(frame["n"])
