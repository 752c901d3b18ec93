"""`gridmap reach` (file and database mode), `gridmap suggest`, `gridmap network`,
`gridmap standards` on real files and on the demo database of both backends."""

import json

import geopandas as gpd
import pandas as pd
import pytest
import sqlalchemy as sa
from shapely import LineString, Point

from conftest import run_gridmap

UTM = "EPSG:32650"


@pytest.fixture
def small_files(tmp_path):
    """A 2 km street in UTM 50N (Beijing), two schools and a clinic, three homes."""
    x0, y0 = 440000.0, 4428000.0
    streets = gpd.GeoDataFrame(
        {"highway": ["residential", "footway"]},
        geometry=[
            LineString([(x0, y0), (x0 + 2000, y0)]),
            LineString([(x0 + 1000, y0), (x0 + 1000, y0 + 300)]),
        ],
        crs=UTM,
    ).to_crs("EPSG:4326")
    fac = gpd.GeoDataFrame(
        {"kind": ["school", "school", "clinic"], "code": ["S1", "S2", "C1"]},
        geometry=[Point(x0, y0 + 10), Point(x0 + 2000, y0 - 10), Point(x0 + 1000, y0 + 300)],
        crs=UTM,
    ).to_crs("EPSG:4326")
    homes = gpd.GeoDataFrame(
        {"building_no": ["B-1", "B-2", "B-3"], "floors": [6, 6, 18]},
        geometry=[Point(x0 + 300, y0 - 20), Point(x0 + 1500, y0 + 5), Point(x0 + 5000, y0)],
        crs=UTM,
    ).to_crs("EPSG:4326")
    paths = {}
    for name, frame in (("streets", streets), ("facilities", fac), ("homes", homes)):
        paths[name] = tmp_path / f"{name}.geojson"
        frame.to_file(paths[name], driver="GeoJSON")
    return paths


def test_file_mode_csv_has_one_row_per_origin_with_its_id_and_category_columns(
    small_files, tmp_path
):
    out = tmp_path / "reach.csv"
    proc = run_gridmap(
        "reach",
        "--network",
        str(small_files["streets"]),
        "--facilities",
        str(small_files["facilities"]),
        "--origins",
        str(small_files["homes"]),
        "--category-field",
        "kind",
        "--origin-id-field",
        "building_no",
        "--facility-id-field",
        "code",
        "--speed-kmh",
        "5",
        "--max-minutes",
        "15",
        "--out",
        str(out),
        url="sqlite:///unused.sqlite",
    )
    assert "wrote" in proc.stdout
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"building_no": str})
    assert list(table.columns) == [
        "building_no",
        "lon",
        "lat",
        "speed_kmh",
        "method",
        "snap",
        "leg_m",
        "clinic_m",
        "clinic_min",
        "clinic_id",
        "school_m",
        "school_min",
        "school_id",
    ]
    assert table["building_no"].tolist() == ["B-1", "B-2", "B-3"]
    assert (table["speed_kmh"] == 5).all() and (table["method"] == "network").all()
    # B-1: leg 20, 300 m west to S1's foot, S1's leg 10 -> 330 m; clinic: 20 + 700 + 300 = 1020.
    b1 = table.iloc[0]
    assert b1["school_m"] == pytest.approx(330, abs=0.02)
    assert b1["school_id"] == "S1"
    assert b1["school_min"] == pytest.approx(330 / (5000 / 60), abs=0.01)
    assert b1["clinic_m"] == pytest.approx(1020, abs=0.02)
    # B-2: school S2 = 5 + 500 + 10 = 515; clinic = 5 + 500 + 300 = 805.
    assert table.iloc[1]["school_m"] == pytest.approx(515, abs=0.02)
    assert table.iloc[1]["clinic_id"] == "C1"
    # B-3 is 3 km from the street: off-network, empty results.
    b3 = table.iloc[2]
    assert b3["snap"] == "off_network"
    assert pd.isna(b3["school_m"]) and pd.isna(b3["school_id"]) and pd.isna(b3["clinic_min"])


def test_file_mode_cutoff_empties_far_results_and_writes_geodata(small_files, tmp_path):
    for suffix in (".geojson", ".gpkg"):
        out = tmp_path / f"reach{suffix}"
        proc = run_gridmap(
            "reach",
            "--network",
            str(small_files["streets"]),
            "--facilities",
            str(small_files["facilities"]),
            "--origins",
            str(small_files["homes"]),
            "--category-field",
            "kind",
            "--max-minutes",
            "13",
            "--out",
            str(out),
            "--json",
            url="sqlite:///unused.sqlite",
        )
        info = json.loads(proc.stdout)
        assert info["max_distance_m"] == pytest.approx(866.67, abs=0.01)  # 13 min at 4 km/h
        assert info["off_network_origins"] == 1
        frame = gpd.read_file(out)
        assert frame.crs.to_epsg() == 4326 and len(frame) == 3
        # No id column recognised among the homes' columns: the row number from 1.
        assert frame["origin_id"].tolist() == [1, 2, 3]
        assert frame["clinic_m"].isna().tolist() == [True, False, True]  # 1020 > 866.7 > 805
        assert frame["school_id"].tolist()[:2] == ["S1", "S2"]  # the facilities' code column


def test_file_mode_reads_a_chinese_csv_of_facilities(small_files, tmp_path):
    fac = gpd.read_file(small_files["facilities"])
    csv = tmp_path / "设施.csv"
    pd.DataFrame(
        {
            "名称": ["一小", "二小", "卫生站"],
            "类别": fac["kind"],
            "编号": fac["code"],
            "经度": fac.geometry.x,
            "纬度": fac.geometry.y,
        }
    ).to_csv(csv, index=False, encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    run_gridmap(
        "reach",
        "--network",
        str(small_files["streets"]),
        "--facilities",
        str(csv),
        "--category-field",
        "类别",
        "--facility-id-field",
        "编号",
        "--origins",
        str(small_files["homes"]),
        "--out",
        str(out),
        url="sqlite:///unused.sqlite",
    )
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["school_id"].tolist()[:2] == ["S1", "S2"]
    assert table["school_m"].iloc[0] == pytest.approx(330, abs=0.05)


def test_file_mode_on_the_beijing_osm_file(shared_data, tmp_path):
    osm = shared_data / "osm" / "beijing_haidian_cau_map.osm"
    out = tmp_path / "beijing.csv"
    proc = run_gridmap(
        "reach",
        "--network",
        str(osm),
        "--facilities",
        str(osm),
        "--origins",
        str(osm),
        "--category",
        "health_center",
        "--category",
        "primary_school",
        "--out",
        str(out),
        "--json",
        url="sqlite:///unused.sqlite",
    )
    info = json.loads(proc.stdout)
    assert info["categories"] == ["health_center", "primary_school"]
    assert info["network"]["edges"] > 600
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == info["origins"] >= 250
    assert table["osm_id"].str.match(r"^[wr]\d+$").all()
    assert table["health_center_id"].dropna().str.match(r"^[nwr]\d+$").all()
    within = (table["health_center_m"] <= 1000).sum()
    assert within == info["origins_within"]["health_center"]["15 min"]
    assert 50 < within < len(table)


def test_file_mode_errors_are_one_line(small_files, tmp_path):
    proc = run_gridmap(
        "reach",
        "--network",
        str(small_files["streets"]),
        "--facilities",
        str(small_files["facilities"]),
        "--origins",
        str(small_files["homes"]),
        url="sqlite:///unused.sqlite",
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: file mode needs --out as well"
    proc = run_gridmap(
        "reach",
        "--network",
        str(small_files["streets"]),
        "--facilities",
        str(small_files["facilities"]),
        "--origins",
        str(small_files["homes"]),
        "--out",
        str(tmp_path / "x.csv"),
        url="sqlite:///unused.sqlite",
        check=False,
    )
    assert proc.returncode == 1
    assert "no column 'category'" in proc.stderr and "--category-field" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_database_mode_on_the_demo(demo_db):
    engine = demo_db[0]
    url = engine.url.render_as_string(hide_password=False)
    proc = run_gridmap(
        "reach",
        "--category",
        "health_center",
        "--category",
        "bus_stop",
        "--category",
        "kindergarten",
        "--json",
        url=url,
    )
    first = json.loads(proc.stdout)
    assert first["method"] == "network" and first["speed_kmh"] == 4.0
    assert first["network"]["nodes"] > 500
    assert [t["distance_m"] for t in first["thresholds"]] == [300, 500, 1000]
    with engine.connect() as c:
        run = c.execute(
            sa.text(
                "SELECT id, method, speed_kmh, max_distance_m, categories "
                "FROM reach_run WHERE id = :r"
            ),
            {"r": first["run_id"]},
        ).one()
        buildings = c.execute(sa.text("SELECT COUNT(*) FROM building")).scalar_one()
        rows = c.execute(
            sa.text("SELECT COUNT(*) FROM reach_result WHERE run_id = :r"), {"r": run.id}
        ).scalar_one()
        too_far = c.execute(
            sa.text("SELECT COUNT(*) FROM reach_result WHERE run_id = :r AND distance_m > :m"),
            {"r": run.id, "m": run.max_distance_m},
        ).scalar_one()
        total = c.execute(sa.text("SELECT SUM(size) FROM household")).scalar_one()
        # An independent count: residents of buildings the stored results put within 500 m.
        covered = c.execute(
            sa.text(
                "SELECT COALESCE(SUM(h.size), 0) FROM reach_result r "
                "JOIN household h ON h.building_id = r.building_id "
                "WHERE r.run_id = :r AND r.category = 'kindergarten' AND r.distance_m <= 500"
            ),
            {"r": run.id},
        ).scalar_one()
        minutes_ok = c.execute(
            sa.text(
                "SELECT COUNT(*) FROM reach_result WHERE run_id = :r AND distance_m IS NOT NULL "
                "AND ABS(minutes - distance_m / (4000.0 / 60)) > 0.001"
            ),
            {"r": run.id},
        ).scalar_one()
    assert run.method == "network" and run.speed_kmh == 4.0
    assert rows == buildings * 3
    assert too_far == 0 and minutes_ok == 0
    k10 = first["coverage"]["kindergarten"]["10 min"]
    assert k10["residents"] == total
    assert k10["covered"] == covered
    assert 0 < covered < total
    rules = {r["rule"] for r in first["rules"]}
    assert {"gb50180.kindergarten", "gb50180.health_center", "gb50180.bus_stop"} <= rules
    # The stored network is reused; the numbers are the same.
    again = json.loads(run_gridmap("reach", "--category", "kindergarten", "--json", url=url).stdout)
    assert again["network"]["reused"] is True
    assert again["coverage"]["kindergarten"] == first["coverage"]["kindergarten"]
    info = json.loads(run_gridmap("network", "info", "--json", url=url).stdout)
    assert info["id"] == first["network"]["id"] and info["edges"] == first["network"]["edges"]


def test_suggest_on_the_demo(demo_db):
    url = demo_db[0].url.render_as_string(hide_password=False)
    out = json.loads(
        run_gridmap("suggest", "--category", "kindergarten", "--k", "3", "--json", url=url).stdout
    )
    assert out["distance_m"] == 300 and out["minutes"] == pytest.approx(4.5)
    picks = out["picks"]
    assert 1 <= len(picks) <= 3
    added = [p["residents_added"] for p in picks]
    assert added == sorted(added, reverse=True) and added[0] > 0
    for a, b in zip(picks, picks[1:], strict=False):
        assert b["residents_covered_before"] == a["residents_covered_after"]
    assert picks[-1]["share_after"] > picks[0]["share_before"]
    bad = run_gridmap("suggest", "--category", "spaceport", url=url, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: unknown facility category")


def test_standards_command_lists_cited_rules(tmp_path):
    rules = json.loads(run_gridmap("standards", "--json", url="sqlite:///unused.sqlite").stdout)
    ids = {r["id"]: r for r in rules["rules"]}
    assert ids["gb50180.primary_school"]["max_distance_m"] == 500
    assert "local.health_20min_county" not in ids  # disabled by default
    text = run_gridmap("standards", url="sqlite:///unused.sqlite").stdout
    assert "GB 50180-2018 附录C 表C.0.1" in text


def test_database_estimate_is_labelled_everywhere(demo_db, tmp_path):
    engine = demo_db[0]
    url = engine.url.render_as_string(hide_password=False)
    out = json.loads(
        run_gridmap(
            "reach",
            "--method",
            "estimate",
            "--detour-factor",
            "1.25",
            "--category",
            "kindergarten",
            "--json",
            "--export",
            str(tmp_path),
            url=url,
        ).stdout
    )
    assert out["method"] == "estimate" and out["network"] is None
    assert out["label"].startswith("ESTIMATE: straight line x 1.25")
    assert any("ESTIMATE" in w for w in out["warnings"])
    text = run_gridmap(
        "reach", "--method", "estimate", "--category", "kindergarten", url=url
    ).stdout
    assert text.splitlines()[0].startswith("ESTIMATE")
    with engine.connect() as c:
        run = c.execute(
            sa.text("SELECT method, detour_factor FROM reach_run WHERE id = :r"),
            {"r": out["run_id"]},
        ).one()
        snaps = {
            s
            for (s,) in c.execute(
                sa.text("SELECT DISTINCT snap FROM reach_result WHERE run_id = :r"),
                {"r": out["run_id"]},
            )
        }
    assert (run.method, run.detour_factor, snaps) == ("estimate", 1.25, {"estimate"})
    iso = gpd.read_file(tmp_path / "isochrones.gpkg")
    assert set(iso["method"]) == {"estimate"} and iso["estimate"].all()
