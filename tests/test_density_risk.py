"""Kernel density in metres, cell aggregation, suppression, groups and the risk index."""

from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.analysis import density, groups, risk
from gridmap.errors import ConfigError, InvalidInput

CRS = "EPSG:32650"
X0, Y0 = 440000.0, 4428000.0
AS_OF = datetime(2025, 6, 30, 12, 0)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("bandwidth_m,cell_m", [(200, 50), (75, 50), (30, 50), (300, 20)])
def test_density_integrates_to_its_input_count(kernel, bandwidth_m, cell_m):
    rng = np.random.default_rng(4)
    x = X0 + rng.uniform(0, 1500, 2000)
    y = Y0 + rng.uniform(0, 900, 2000)
    w = rng.integers(1, 6, 2000)
    s = density.kde(x, y, w, bandwidth_m=bandwidth_m, cell_m=cell_m, crs=CRS, kernel=kernel)
    assert s.integral() == pytest.approx(w.sum(), rel=0.01)
    assert s.values.min() >= 0


def test_density_of_one_point_matches_the_kernel_formula():
    # One household at a cell centre: quartic density at distance d is
    # 3/(pi h^2) (1 - d^2/h^2)^2 per m2; at d=0 with h=100 m that is 9.549e-5 /m2 = 0.955 /ha.
    x, y = X0 + 25.0, Y0 + 25.0
    s = density.kde([x], [y], bandwidth_m=100, cell_m=10, crs=CRS)
    assert s.sample([x], [y])[0] == pytest.approx(3 / (np.pi * 100**2) * 1e4, rel=0.03)
    # Half-way out: (1 - 0.25)^2 = 0.5625 of the peak.
    assert s.sample([x + 50], [y])[0] == pytest.approx(0.5625 * 3 / (np.pi * 1e4) * 1e4, rel=0.05)
    assert s.sample([x + 105], [y])[0] == 0.0  # beyond the bandwidth, inside the grid
    assert s.integral() == pytest.approx(1.0, rel=1e-6)


def test_gaussian_density_agrees_with_an_exact_sum():
    rng = np.random.default_rng(9)
    x = X0 + rng.uniform(0, 800, 300)
    y = Y0 + rng.uniform(0, 800, 300)
    h = 120.0
    s = density.kde(x, y, bandwidth_m=h, cell_m=20, crs=CRS, kernel="gaussian")
    cx, cy = s.centers()
    gx, gy = np.meshgrid(cx, cy)
    d2 = (gx[..., None] - x) ** 2 + (gy[..., None] - y) ** 2
    exact = np.exp(-0.5 * d2 / h**2).sum(axis=-1) / (2 * np.pi * h**2) * 1e4
    inner = exact > exact.max() * 0.2
    assert np.abs(s.values[inner] - exact[inner]).max() / exact.max() < 0.02


def test_bad_parameters_are_refused():
    with pytest.raises(InvalidInput, match="bandwidth"):
        density.kde([X0], [Y0], bandwidth_m=0, cell_m=50, crs=CRS)
    with pytest.raises(InvalidInput, match="kernel"):
        density.kde([X0], [Y0], bandwidth_m=10, cell_m=50, crs=CRS, kernel="box")
    with pytest.raises(InvalidInput, match="no points"):
        density.kde([], [], bandwidth_m=10, cell_m=50, crs=CRS)


def test_suppression_hides_3_elderly_households_and_shows_5():
    # Cell A (0-100 m): one building with 3 elderly-alone households.
    # Cell B (100-200 m): two buildings with 2 and 3 = 5 households.
    x = np.array([X0 + 50, X0 + 120, X0 + 180])
    y = np.array([Y0 + 50, Y0 + 50, Y0 + 50])
    hh = np.array([3, 2, 3])
    cells = density.square_cells(x, y, hh, cell_m=100, crs=CRS)
    assert list(cells["value"]) == [3, 5]
    hide = density.suppressed(cells["value"], k=5)
    assert list(hide) == [True, False]
    assert list(density.suppress_points(x, y, hh, cell_m=100, k=5)) == [True, False, False]
    # The surface of what is shown integrates to the 5 shown households.
    keep = ~density.suppress_points(x, y, hh, cell_m=100, k=5)
    s = density.kde(x[keep], y[keep], hh[keep], bandwidth_m=100, cell_m=25, crs=CRS)
    assert s.integral() == pytest.approx(5, rel=0.01)


def test_square_and_h3_cells_sum_the_weights():
    rng = np.random.default_rng(1)
    pts = gpd.GeoSeries(
        shapely.points(X0 + rng.uniform(0, 500, 400), Y0 + rng.uniform(0, 500, 400)), crs=CRS
    )
    sq = density.square_cells(pts.x, pts.y, cell_m=100, crs=CRS)
    assert sq["value"].sum() == 400 and len(sq) == 25
    assert sq["per_ha"].iloc[0] == sq["value"].iloc[0]  # 100 m cells are 1 ha
    ll = pts.to_crs(4326)
    hx = density.h3_cells(ll.x, ll.y, resolution=9)
    assert hx["value"].sum() == 400
    assert shapely.contains(hx.union_all(), ll.union_all())


def test_group_counts_per_building():
    households = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "building_id": [10, 10, 11, 11],
            "tags": [["elderly_alone"], [], ["low_income"], None],
        }
    )
    residents = pd.DataFrame(
        {
            "household_id": [1, 2, 2, 3, 4, 4],
            "birth_year": [1940, 1990, 2015, 1950, 1985, 1930],
            "tags": [["living_alone"], [], [], ["disabled"], [], ["disabled"]],
        }
    )
    out = groups.group_counts(
        households, residents, ["elderly_alone", "elderly80", "disabled", "minors"], as_of_year=2025
    ).set_index("building_id")
    assert out.loc[10, "households"] == 2 and out.loc[11, "residents"] == 3
    assert (
        out.loc[10, "elderly_alone_households"] == 1
        and out.loc[11, "elderly_alone_households"] == 0
    )
    assert out.loc[10, "elderly80_residents"] == 1 and out.loc[11, "elderly80_residents"] == 1
    assert out.loc[11, "disabled_residents"] == 2 and out.loc[11, "disabled_households"] == 2
    assert out.loc[10, "minors_residents"] == 1
    with pytest.raises(InvalidInput, match="unknown group"):
        groups.group_counts(households, residents, ["aliens"], as_of_year=2025)


def _risk_case():
    b1 = shapely.box(X0, Y0, X0 + 20, Y0 + 20)
    b2 = shapely.box(X0 + 500, Y0, X0 + 520, Y0 + 20)
    buildings = gpd.GeoDataFrame(
        {"id": [1, 2], "grid_code": ["G1", "G2"]}, geometry=[b1, b2], crs=CRS
    )
    sites = gpd.GeoDataFrame(
        {
            "category": ["small_venue", "small_venue", "hazardous_chemicals"],
            "grid_code": ["G1", "G1", "G2"],
        },
        geometry=[
            shapely.Point(X0 + 60, Y0),
            shapely.Point(X0 + 90, Y0 + 10),
            shapely.Point(X0 + 300, Y0),
        ],
        crs=CRS,
    )
    hazards = gpd.GeoDataFrame(
        {
            "severity": ["high", "low"],
            "status": ["assigned", "closed"],
            "deadline": [datetime(2025, 6, 20, 12), datetime(2025, 6, 1)],
            "found_at": [datetime(2025, 6, 10), datetime(2025, 5, 20)],
            "grid_code": ["G1", "G1"],
        },
        geometry=[shapely.Point(X0 + 10, Y0 + 10), shapely.Point(X0 + 10, Y0 + 5)],
        crs=CRS,
    )
    group_rows = pd.DataFrame(
        {
            "building_id": [1],
            "elderly_alone_households": [2],
            "severe_mental_illness_residents": [1],
        }
    )
    return buildings, sites, hazards, group_rows


def _weights():
    """The defaults with round vulnerable weights for hand-working."""
    w = risk.load_weights()
    w["vulnerable"]["per_household"]["elderly_alone"] = 3
    w["vulnerable"]["per_resident"]["severe_mental_illness"] = 5
    return w


def test_building_risk_components_are_hand_worked_and_sum_to_the_score():
    buildings, sites, hazards, group_rows = _risk_case()
    w = _weights()
    r = risk.building_risk(
        buildings,
        sites=sites,
        hazards=hazards,
        groups=group_rows,
        passed=pd.Series([True, False], index=buildings.index),
        weights=w,
        as_of=AS_OF,
    )
    c = r.components
    # Building 1: 2 三小场所 within 100 m (40 m and 70 m away) x 2 = 4; one open high hazard
    # = 12, 10 days overdue x 0.5 = 5; 2 recent incidents (open + closed) x 1 = 2;
    # 2 elderly-alone households x 3 = 6; 1 severe mental illness x 5 = 5; patrolled: 0.
    assert c.loc[0, "key_sites.small_venue"] == 4
    assert c.loc[0, "hazards.open"] == 12 and c.loc[0, "hazards.overdue"] == 5
    assert c.loc[0, "incidents.recent"] == 2
    assert c.loc[0, "vulnerable.elderly_alone"] == 6
    assert c.loc[0, "vulnerable.severe_mental_illness"] == 5
    assert r.score.loc[0] == 34
    # Building 2: the chemicals site is 180 m away (outside 100 m); only the patrol factor.
    assert c.loc[1, "key_sites.hazardous_chemicals"] == 0
    assert r.score.loc[1] == w["patrol"]["building_not_passed"] == 2
    np.testing.assert_allclose(c.sum(axis=1), r.score)
    assert r.explain(0)[0] == {"component": "hazards.open", "count": 1.0, "points": 12.0}


def test_grid_risk_components_sum_to_the_score():
    buildings, sites, hazards, _ = _risk_case()
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2"]},
        geometry=[
            shapely.box(X0 - 10, Y0 - 10, X0 + 200, Y0 + 100),
            shapely.box(X0 + 200, Y0 - 10, X0 + 600, Y0 + 100),
        ],
        crs=CRS,
    )
    grid_groups = pd.DataFrame({"grid_code": ["G1", "G2"], "elderly_alone_households": [2, 7]})
    r = risk.grid_risk(
        grids,
        sites=sites,
        hazards=hazards,
        groups=grid_groups,
        street_pct=pd.Series({"G1": 90.0, "G2": 55.0}),
        overdue_sites=pd.Series({"G2": 1}),
        weights=_weights(),
        as_of=AS_OF,
    )
    c = r.components
    assert c.loc[1, "key_sites.hazardous_chemicals"] == 10
    assert c.loc[1, "patrol.shortfall"] == pytest.approx(25 * 0.2)
    assert c.loc[0, "patrol.shortfall"] == 0
    assert c.loc[1, "inspections.overdue"] == 2
    assert c.loc[1, "vulnerable.elderly_alone"] == 21
    np.testing.assert_allclose(c.sum(axis=1), r.score)
    assert r.score.loc[0] == 4 + 12 + 5 + 2 + 6


def test_user_weights_override_and_are_validated(tmp_path):
    good = tmp_path / "w.yaml"
    good.write_text(
        "key_sites:\n  per_site:\n    small_venue: 7\npatrol:\n  target_street_pct: 95\n"
    )
    w = risk.load_weights(good)
    assert w["key_sites"]["per_site"]["small_venue"] == 7
    assert w["key_sites"]["per_site"]["hazardous_chemicals"] == 10  # default kept
    assert w["patrol"]["target_street_pct"] == 95
    bad = tmp_path / "bad.yaml"
    bad.write_text("hazard:\n  per_open: {high: 3}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*'hazard'"):
        risk.load_weights(bad)
    neg = tmp_path / "neg.yaml"
    neg.write_text("hazards:\n  per_open: {high: -1}\n")
    with pytest.raises(ConfigError, match="hazards.per_open.high"):
        risk.load_weights(neg)
    cat = tmp_path / "cat.yaml"
    cat.write_text("key_sites:\n  per_site: {casino: 3}\n")
    with pytest.raises(ConfigError, match="casino"):
        risk.load_weights(cat)


def test_rate_per_100_households_compares_grids_of_different_sizes():
    score = pd.Series([50.0, 50.0, 12.0])
    rate = risk.per_100_households(score, pd.Series([200, 400, 0]))
    assert rate.iloc[0] == 25.0 and rate.iloc[1] == 12.5 and np.isnan(rate.iloc[2])
