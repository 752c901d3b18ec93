"""gridmap.crs: GCJ-02/BD-09 against an independent oracle, Gauss-Kruger inference, datums."""

import math

import numpy as np
import pyproj
import pytest
import shapely

from gridmap import crs
from gridmap.notes import InputRejected

GEOD = pyproj.Geod(ellps="WGS84")


# --- an independent oracle: the published forward formulas, scalar, straight from the
# widely circulated reference implementation (not our vectorised code).
def _oracle_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _oracle_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def oracle_wgs_to_gcj(lon, lat):
    a, ee = 6378245.0, 0.00669342162296594323
    dlat = _oracle_lat(lon - 105.0, lat - 35.0)
    dlon = _oracle_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (a / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def oracle_gcj_to_bd(lon, lat):
    x_pi = math.pi * 3000.0 / 180.0
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * x_pi)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * x_pi)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def metres(lon1, lat1, lon2, lat2):
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# Points all over China: Beijing, Shanghai, Shenzhen, Urumqi, Harbin, Lhasa, Sanya, a grid.
CITIES = np.array(
    [
        [116.397, 39.909],
        [121.4737, 31.2304],
        [114.0579, 22.5431],
        [87.6168, 43.8256],
        [126.6424, 45.7569],
        [91.1172, 29.6469],
        [109.5119, 18.2528],
    ]
)
RNG = np.random.default_rng(3)
RANDOM = np.column_stack([RNG.uniform(75, 134, 500), RNG.uniform(18, 53, 500)])
POINTS = np.vstack([CITIES, RANDOM])


def test_forward_matches_the_oracle():
    gx, gy = crs.wgs84_to_gcj02(POINTS[:, 0], POINTS[:, 1])
    ox, oy = np.array([oracle_wgs_to_gcj(lo, la) for lo, la in POINTS]).T
    assert np.max(np.abs(gx - ox)) < 1e-12 and np.max(np.abs(gy - oy)) < 1e-12
    # the shift is a few hundred metres in Chinese cities
    shift = metres(CITIES[:, 0], CITIES[:, 1], gx[:7], gy[:7])
    assert np.all((shift > 100) & (shift < 800)), shift


def test_gcj02_inverse_within_half_a_metre_of_the_oracle():
    ox, oy = np.array([oracle_wgs_to_gcj(lo, la) for lo, la in POINTS]).T
    wx, wy = crs.gcj02_to_wgs84(ox, oy)
    err = metres(POINTS[:, 0], POINTS[:, 1], wx, wy)
    assert err.max() < 0.5
    assert err.max() < 0.001  # in fact well under a millimetre


def test_bd09_inverse_within_half_a_metre_of_the_oracle():
    bd = np.array([oracle_gcj_to_bd(*oracle_wgs_to_gcj(lo, la)) for lo, la in POINTS])
    wx, wy = crs.bd09_to_wgs84(bd[:, 0], bd[:, 1])
    assert metres(POINTS[:, 0], POINTS[:, 1], wx, wy).max() < 0.5
    # BD-09 is GCJ-02 plus about another kilometre-ish offset in Shanghai
    bx, by = crs.wgs84_to_bd09(121.4737, 31.2304)
    assert 700 < metres(121.4737, 31.2304, bx, by) < 1500


def test_outside_china_is_unchanged():
    gx, gy = crs.wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert list(gx) == [2.35, -74.0] and list(gy) == [48.85, 40.7]
    wx, wy = crs.gcj02_to_wgs84([2.35], [48.85])
    assert (wx[0], wy[0]) == (2.35, 48.85)


def test_geometries_are_converted_vertex_by_vertex():
    ring = [(121.47, 31.23), (121.48, 31.23), (121.48, 31.24), (121.47, 31.23)]
    gcj = [oracle_wgs_to_gcj(*p) for p in ring]
    out = crs.to_wgs84_geometries([shapely.Polygon(gcj)], "gcj02")[0]
    xy = shapely.get_coordinates(out)
    assert metres(np.array(ring)[:, 0], np.array(ring)[:, 1], xy[:, 0], xy[:, 1]).max() < 0.5


def test_utm_and_gauss_kruger_choices():
    assert crs.utm_epsg(116.4, 39.9) == 32650
    assert crs.utm_epsg(121.47, 31.23) == 32651
    assert crs.metric_crs((116.3, 39.9, 116.4, 40.0)).to_epsg() == 32650
    assert crs.gauss_kruger_epsg(120) == 4549 and crs.gauss_kruger_epsg(75) == 4534
    assert crs.gauss_kruger_epsg(135) == 4554
    with pytest.raises(InputRejected, match="central meridian 121"):
        crs.gauss_kruger_epsg(121)


def _gk(epsg, lon, lat):
    t = pyproj.Transformer.from_crs(4326, epsg, always_xy=True)
    return t.transform(lon, lat)


def test_eight_digit_eastings_give_the_zone():
    x, y = _gk(4528, [121.47, 121.30], [31.23, 31.10])  # zone 40 (CM 120E), prefixed
    assert 40_000_000 < min(x) < 41_000_000
    choice = crs.infer_crs(x, y)
    assert choice.crs.to_epsg() == 4528
    assert "zone prefix 40" in choice.reason.text and "EPSG:4528" in choice.reason.text
    assert any("CGCS2000" in w.text for w in choice.warnings)
    x, y = _gk(4517, [87.6], [43.8])  # zone 29 (CM 87E)
    assert crs.infer_crs(x, y).crs.to_epsg() == 4517
    x, y = _gk(4498, [116.4], [39.9])  # 6-degree zone 20 (CM 117E)
    assert crs.infer_crs(x, y).crs.to_epsg() == 4498


def test_six_digit_eastings_need_a_crs_or_a_central_meridian():
    x, y = _gk(4549, [121.47], [31.23])
    with pytest.raises(InputRejected) as err:
        crs.infer_crs(x, y)
    message = str(err.value)
    assert "six digits" in message and "--crs" in message and "EPSG:4534-4554" in message
    assert "EPSG:4549 for 120E" in message
    assert crs.infer_crs(x, y, central_meridian=120).crs.to_epsg() == 4549


def test_lonlat_swapped_and_nonsense():
    assert crs.infer_crs([121.4, 121.5], [31.2, 31.3]).crs.to_epsg() == 4326
    with pytest.raises(InputRejected, match="swapped"):
        crs.infer_crs([31.2, 31.3], [121.4, 121.5])
    with pytest.raises(InputRejected, match="neither"):
        crs.infer_crs([5000.0], [5000.0])
    with pytest.raises(InputRejected, match="zone prefix|different zone"):
        crs.infer_crs([40_500_000, 39_500_000], [3_400_000, 3_400_000])


def test_legacy_datums_warn():
    for epsg, name in ((2437, "Beijing 1954"), (2385, "Xi'an 1980"), (4214, "Beijing 1954")):
        warnings = crs.datum_warnings(pyproj.CRS.from_epsg(epsg))
        assert (
            len(warnings) == 1 and name in warnings[0].text and "tens of metres" in warnings[0].text
        )
    assert crs.datum_warnings(pyproj.CRS.from_epsg(4549)) == ()


def test_esri_gauss_kruger_prj_is_transverse_mercator():
    wkt = (
        'PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System'
        '_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],'
        'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],'
        'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
        'PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],'
        'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
    )
    choice = crs.describe_declared(pyproj.CRS.from_wkt(wkt), ".prj file", wkt)
    assert "Gauss_Kruger" in choice.reason.text
    assert choice.crs.coordinate_operation.method_name == "Transverse Mercator"
    x, y = _gk(4549, 121.0, 31.0)
    lon, lat = pyproj.Transformer.from_crs(choice.crs, 4326, always_xy=True).transform(x, y)
    assert metres(121.0, 31.0, lon, lat) < 0.01


def test_declared_geographic_with_projected_numbers_is_refused():
    choice = crs.describe_declared(pyproj.CRS.from_epsg(4326), ".prj file")
    with pytest.raises(InputRejected, match="CRS in the file is wrong"):
        crs.check_declared_fits(choice, [40_500_000.0], [3_400_000.0])


def test_gcj02_offset_check_flags_a_shifted_copy():
    ring = np.array([(121.40, 31.20), (121.50, 31.20), (121.50, 31.28), (121.40, 31.28)])
    ring = np.vstack([ring, ring[:1]])
    existing = shapely.Polygon(ring)
    gx, gy = crs.wgs84_to_gcj02(ring[:, 0], ring[:, 1])
    shifted = shapely.Polygon(np.column_stack([gx, gy]))
    check = crs.gcj02_offset_check([shifted], [existing])
    assert check.suspected and 300 <= check.shift_m <= 700
    assert check.median_if_gcj02_m < 1 and check.median_m > 100
    same = crs.gcj02_offset_check([existing], [existing])
    assert not same.suspected and same.median_m < 1
    far = shapely.Polygon(ring + [5, 0])
    assert crs.gcj02_offset_check([far], [existing]) is None
