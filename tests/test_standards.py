"""Reachability rules as cited data: the shipped tables, a user's override file, judging."""

import pandas as pd
import pytest

from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.standards.rules import evaluate, load_rules


def test_shipped_rules_cite_their_clauses_and_use_known_categories():
    rules = load_rules()
    assert len(rules.rules) >= 50
    standards = {r.standard for r in rules.rules}
    assert {"GB 50180-2018", "TD/T 1062-2021", "完整居住社区建设标准（试行）"} <= standards
    for r in rules.rules:
        assert r.clause and r.title_zh and r.title_en, r.id
        assert set(r.categories) <= vocab.FACILITY_CODES, r.id
        assert r.max_distance_m is not None or r.max_minutes is not None
        assert 0 <= r.min_share <= 1
    gb = {r.id: r for r in rules.rules if r.standard == "GB 50180-2018"}
    assert gb["gb50180.primary_school"].max_distance_m == 500
    assert "表C.0.1" in gb["gb50180.primary_school"].clause
    assert gb["gb50180.kindergarten"].max_distance_m == 300
    assert gb["gb50180.junior_middle_school"].max_distance_m == 1000
    assert gb["gb50180.metro_station"].max_distance_m == 800
    # Life-circle levels of Table 4.0.1, distances judged on.
    assert [rules.level_distance_m(m) for m in (5, 10, 15)] == [300, 500, 1000]
    local = rules.get("local.health_15min_city")
    assert local.min_share == 0.9 and set(local.categories) == {"health_center", "health_station"}
    county = rules.get("local.health_20min_county")
    assert county.enabled is False and county.max_minutes == 20
    assert county.threshold_m(4.0) == pytest.approx(1333.33, abs=0.01)


def test_override_file_changes_disables_and_adds_rules(tmp_path):
    path = tmp_path / "my_rules.yaml"
    path.write_text(
        """
standard: 海淀区规划目标
rules:
  - id: local.health_15min_city
    min_share: 0.95
  - id: gb50180.bus_stop
    enabled: false
  - id: local.health_20min_county
    enabled: true
  - id: haidian.wet_market_10min
    categories: [wet_market, supermarket]
    max_distance_m: 600
    min_share: 0.8
    clause: 海淀区菜市场专项规划 第3.2条
    title_zh: 10分钟内有菜市场或超市
    title_en: Wet market or supermarket within 600 m
""",
        encoding="utf-8",
    )
    rules = load_rules(path)
    assert rules.get("local.health_15min_city").min_share == 0.95
    assert rules.get("local.health_15min_city").clause.startswith("地方目标")  # kept
    assert rules.get("gb50180.bus_stop").enabled is False
    assert rules.get("local.health_20min_county").enabled is True
    new = rules.get("haidian.wet_market_10min")
    assert new.standard == "海淀区规划目标" and new.max_distance_m == 600
    assert str(path) in rules.sources
    assert "gb50180.bus_stop" not in {r.id for r in rules.enabled()}


@pytest.mark.parametrize(
    "body, message",
    [
        ("rules:\n  - id: x.y\n    categories: [wet_market]\n    max_distance_m: 500\n", "clause"),
        (
            "rules:\n  - id: gb50180.kindergarten\n    categories: [kindergarden]\n",
            "unknown facility category kindergarden",
        ),
        ("rules:\n  - id: gb50180.kindergarten\n    min_share: 90\n", "write 0.9 for 90%"),
        ("rules:\n  - id: gb50180.kindergarten\n    radius: 300\n", "unknown field"),
        ("rules: [oops", "not valid YAML"),
    ],
)
def test_bad_override_files_name_the_file_and_the_rule(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message) as err:
        load_rules(path)
    assert "bad.yaml" in str(err.value)


def test_missing_override_file():
    with pytest.raises(InvalidInput, match="rules file not found"):
        load_rules("/nonexistent/rules.yaml")


def test_evaluate_judges_each_area_on_distance_with_minutes_beside():
    rules = load_rules()
    dist = pd.DataFrame(
        {
            "health_center_m": [100.0, 900.0, 1200.0, float("nan")],
            "health_station_m": [2000.0, 1500.0, 950.0, float("nan")],
        },
        index=[11, 12, 13, 14],
    )
    weights = pd.DataFrame(
        {"residents": [10, 30, 40, 20], "households": [4, 10, 15, 8]}, index=[11, 12, 13, 14]
    )
    areas = {"community": pd.Series(["C1", "C1", "C2", "C2"], index=dist.index)}
    out = evaluate([rules.get("local.health_15min_city")], dist, weights, areas, speed_kmh=4.0)
    c1 = out[out.area == "C1"].iloc[0]
    c2 = out[out.area == "C2"].iloc[0]
    assert (c1.covered, c1.total, c1.passed) == (40, 40, True)
    assert (c2.covered, c2.total, c2.passed) == (40, 60, False)
    assert c2.share == pytest.approx(40 / 60)
    assert c1.threshold_m == 1000 and c1.minutes == pytest.approx(15.0)
    assert c1.clause.startswith("地方目标")
