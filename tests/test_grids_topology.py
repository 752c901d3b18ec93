"""gridmap.analysis.grids on hand-made grids whose areas are worked out by hand."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.analysis import grids as ga

UTM = "EPSG:32650"  # Beijing; the hand-made squares are drawn in metres here
X0, Y0 = 440_000.0, 4_420_000.0


def box(x, y, w, h):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def frame(geoms, index=None, **cols):
    return gpd.GeoDataFrame(cols, geometry=geoms, crs=UTM, index=index).to_crs("EPSG:4326")


def test_overlaps_have_their_area_in_square_metres():
    # A 200x200 square and a neighbour shifted 150 m east: they overlap 50 x 200 = 10,000 m2;
    # a third square only touches the first along an edge: no overlap.
    g = frame(
        [box(0, 0, 200, 200), box(150, 0, 200, 200), box(0, 200, 200, 200)], index=["a", "b", "c"]
    )
    over = ga.grid_overlaps(g)
    assert list(zip(over["left"], over["right"], strict=True)) == [("a", "b")]
    assert over["area_m2"].iloc[0] == pytest.approx(10_000, rel=1e-3)


def test_gaps_crossings_and_outside_against_the_community():
    community = frame([box(0, 0, 400, 200), box(1000, 1000, 100, 100)], index=[10, 20])
    # Two grids cover 400x200 except a 50x200 strip (10,000 m2); the second crosses the
    # boundary by 100 x 20 = 2,000 m2; the third is wholly outside its community 20.
    grids = frame(
        [box(0, 0, 200, 200), box(250, 0, 150, 220), box(0, 500, 100, 100)],
        index=["g1", "g2", "g3"],
    )
    owner = pd.Series([10, 10, 20], index=grids.index)
    fit = ga.community_fit(grids, community, owner)
    assert list(fit["status"]) == ["inside", "crosses", "outside"]
    assert fit.at["g2", "outside_m2"] == pytest.approx(150 * 20, rel=1e-3)
    gaps = ga.community_gaps(grids, community, owner)
    assert gaps.at[10, "gap_m2"] == pytest.approx(50 * 200, rel=1e-3)
    assert gaps.at[10, "parts"] == 1
    assert gaps.at[20, "gap_m2"] == pytest.approx(100 * 100, rel=1e-3)  # g3 covers nothing
    unknown = ga.community_fit(grids, community, pd.Series([None, 99, 10], index=grids.index))
    assert list(unknown["status"][:2]) == ["no_community", "no_community"]


def test_assign_by_location_takes_the_largest_share():
    areas = frame([box(0, 0, 100, 100), box(100, 0, 100, 100)], index=["w", "e"])
    things = frame(
        [
            box(20, 20, 10, 10),
            box(90, 0, 60, 10),
            shapely.Point(X0 + 150, Y0 + 50),
            shapely.Point(X0 + 999, Y0 + 999),
        ]
    )
    assert list(ga.assign_by_location(things.geometry, areas.geometry)) == ["w", "e", "e", None]


def test_duplicated_values():
    s = pd.Series(["1", "2", "1", None, None, " "])
    assert list(ga.duplicated_values(s)) == [True, False, True, False, False, False]


def test_household_load_against_default_and_own_targets():
    load = ga.household_load(
        pd.Series([250, 300, 500, 501, 90]), targets=pd.Series([None, None, None, None, 100])
    )
    assert list(load["status"]) == ["under", "ok", "ok", "over", "ok"]
    assert (load.at[4, "low"], load.at[4, "high"]) == (75, 125)
    narrow = ga.household_load(pd.Series([350]), target_min=400, target_max=450)
    assert narrow.at[0, "status"] == "under"


def test_sequence_runs_west_to_east_then_north_to_south():
    # Two rows of three 100x100 grids, shuffled; row 1 (north) first, west to east.
    cells = {
        "sw": box(0, 0, 100, 100),
        "sm": box(100, 0, 100, 100),
        "se": box(200, 0, 100, 100),
        "nw": box(0, 100, 100, 100),
        "nm": box(100, 100, 100, 100),
        "ne": box(200, 100, 100, 100),
    }
    order = ["se", "nw", "sm", "ne", "sw", "nm"]
    g = frame([cells[k] for k in order], index=order)
    seq = ga.sequence_numbers(g.geometry, pd.Series("c", index=g.index))
    assert seq.to_dict() == {"nw": 1, "nm": 2, "ne": 3, "sw": 4, "sm": 5, "se": 6}


def test_codes_15_and_20_digits_and_validation():
    assert ga.make_grid_code("110108001002", 7) == "110108001002007"
    assert (
        ga.make_grid_code("110108001002", 7, scheme="20", service_code="100000")
        == "10000011010800100207"
    )
    with pytest.raises(ValueError, match="12 digits"):
        ga.make_grid_code("1101", 1)
    with pytest.raises(ValueError, match="service-object"):
        ga.make_grid_code("110108001002", 1, scheme="20")
    assert ga.validate_grid_code("110108001002007") is None
    assert ga.validate_grid_code("10000011010800100207") is None
    assert ga.validate_grid_code("110108001002007", community_code="110108001002") is None
    assert "community" in ga.validate_grid_code("110108001003007", community_code="110108001002")
    assert "province" in ga.validate_grid_code("990108001002007")
    assert "zero" in ga.validate_grid_code("110108001002000")
    assert "digits" in ga.validate_grid_code("G-1")
    assert "16 digits" in ga.validate_grid_code("1101080010020070", scheme="15")


def test_generate_codes_in_reading_order_skipping_taken_codes():
    g = frame(
        [box(100, 0, 100, 100), box(0, 0, 100, 100), box(0, 500, 100, 100)],
        index=["east", "west", "other"],
    )
    cc = pd.Series(["110108001002", "110108001002", "1101"], index=g.index)
    out = ga.generate_grid_codes(g, cc, taken={"110108001002001"})
    assert out.at["west", "code"] == "110108001002002"  # 001 is taken
    assert out.at["east", "code"] == "110108001002003"
    assert out.at["other", "code"] is None and "12 digits" in out.at["other", "reason"]


def test_rebalance_keeps_to_the_community():
    # Four 100x100 grids in a row: a (1000 households) and b (100) in community A,
    # c (100) and d (150) in community B. a has too many for b to take (room 400 < 500
    # excess): split in two of 500. b then takes 200 from a. d merges with c (250), not
    # with b next door: b is in another community.
    g = frame(
        [box(0, 0, 100, 100), box(100, 0, 100, 100), box(200, 0, 100, 100), box(300, 0, 100, 100)],
        index=list("abcd"),
    )
    load = ga.household_load(pd.Series([1000, 100, 100, 150], index=g.index))
    out = ga.rebalance_suggestions(g, load, pd.Series(["A", "A", "B", "B"], index=g.index))
    by = out.set_index("grid")
    assert by.at["a", "action"] == "split" and by.at["a", "parts"] == 2
    assert by.at["a", "households"] == 500 and by.at["a", "axis"] == "north-south"
    assert by.at["b", "action"] == "take" and by.at["b", "partner"] == "a"
    assert by.at["b", "households"] == 200
    assert by.at["d", "action"] == "merge" and by.at["d", "partner"] == "c"
    assert by.at["d", "households"] == 250
    assert "c" not in by.index  # paired with d already
    # an over-loaded grid next to one with room moves its excess instead
    load2 = ga.household_load(pd.Series([560, 350], index=["x", "y"]))
    g2 = frame([box(0, 0, 100, 100), box(100, 0, 100, 100)], index=["x", "y"])
    out2 = ga.rebalance_suggestions(g2, load2, pd.Series(["A", "A"], index=g2.index))
    assert out2.iloc[0].tolist()[:2] == ["x", "move"] and out2.iloc[0]["households"] == 60
