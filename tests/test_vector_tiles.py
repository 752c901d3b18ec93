"""Lean map data: GeoJSON by bbox and zoom, and building vector tiles that decode to the same
features on PostGIS (ST_AsMVT) and SpatiaLite (gridmap.vector), checked with an independent
decoder (mapbox-vector-tile) and an independent projection (pyproj EPSG:3857)."""

import math

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geodata.db import layers
from geodata.db.engine import make_engine, session_factory
from geodata.db.frames import to_ewkt
from geodata.db.migrate import upgrade
from geodata.db.models import Building, Household
from gridmap import mvt, mvt_decode, vector
from gridmap.crs import wgs84_to_gcj02

Z = 17
LON0, LAT0 = 116.3300, 39.9800


def _tile_of(lon, lat, z):
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _buildings():
    """Nine 20 x 12 m footprints around (LON0, LAT0), one with a courtyard (hole)."""
    out = []
    dlon, dlat = 20 / 85000, 12 / 111000
    for i in range(3):
        for j in range(3):
            x0, y0 = LON0 + i * 0.0004, LAT0 + j * 0.00025
            poly = shapely.box(x0, y0, x0 + dlon, y0 + dlat)
            if i == j == 1:
                poly = poly.difference(
                    shapely.box(x0 + dlon / 3, y0 + dlat / 3, x0 + 2 * dlon / 3, y0 + 2 * dlat / 3)
                )
            out.append(poly)
    return out


def _expected_tile_geoms(polys, z, x, y, *, display="wgs84"):
    """Independent: pyproj to Web Mercator, then tile pixels (y down), extent 4096."""
    merc = Transformer.from_crs(4326, 3857, always_xy=True)
    size = 2 * 20037508.342789244 / 2**z
    minx, maxy = -20037508.342789244 + x * size, 20037508.342789244 - y * size

    def fwd(xy):
        lon, lat = xy[:, 0], xy[:, 1]
        if display == "gcj02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        mx, my = merc.transform(lon, lat)
        return np.column_stack(
            [(np.asarray(mx) - minx) / size * 4096, (maxy - np.asarray(my)) / size * 4096]
        )

    return [shapely.transform(p, fwd) for p in polys]


# --- the encoder against an independent decoder ----------------------------------------------
def test_encoder_round_trips_through_mapbox_vector_tile():
    poly = shapely.Polygon(
        [(10, 10), (100, 10), (100, 80), (10, 80)], [[(30, 30), (60, 30), (60, 50), (30, 50)]]
    )
    multi = shapely.MultiPolygon([shapely.box(200, 200, 250, 260), shapely.box(300, 300, 320, 330)])
    line = shapely.LineString([(0, 0), (50, 5), (90, 40)])
    point = shapely.Point(4000, 17)
    layer = mvt.encode_layer(
        "t",
        [poly, multi, line, point, shapely.Polygon()],
        [{"n": 1, "s": "楼"}, {"f": 2.5}, {"b": True}, {"neg": -7}, {}],
        ids=[11, 12, 13, 14, 15],
    )
    data = mvt.encode_mvt([layer])
    theirs = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["t"]
    assert theirs["extent"] == 4096
    feats = {f["id"]: f for f in theirs["features"]}
    assert sorted(feats) == [11, 12, 13, 14]  # the empty geometry is left out
    assert feats[11]["properties"] == {"n": 1, "s": "楼"}
    assert feats[12]["properties"] == {"f": 2.5}
    assert feats[13]["properties"] == {"b": True}
    assert feats[14]["properties"] == {"neg": -7}
    got = shapely.geometry.shape(feats[11]["geometry"])
    assert got.equals(poly) and len(got.interiors) == 1
    assert shapely.geometry.shape(feats[12]["geometry"]).equals(multi)
    assert shapely.geometry.shape(feats[13]["geometry"]).equals(line)
    assert shapely.geometry.shape(feats[14]["geometry"]).equals(point)
    # our own decoder reads the same
    ours = {f["id"]: f for f in mvt_decode.decode_mvt(data)["t"]["features"]}
    assert ours[11]["geometry"].equals(poly) and ours[12]["geometry"].equals(multi)


def test_exterior_rings_are_clockwise_on_screen():
    ccw = shapely.Polygon([(0, 0), (0, 50), (50, 50), (50, 0)])  # any input orientation
    data = mvt.encode_mvt([mvt.encode_layer("t", [ccw, ccw.reverse()], [{}, {}])])
    for f in mvt_decode.decode_mvt(data)["t"]["features"]:
        ring = np.asarray(f["geometry"].exterior.coords)
        x, y = ring[:, 0], ring[:, 1]
        assert np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0  # positive area in y-down space


def test_tile_math_against_pyproj():
    x, y = _tile_of(LON0, LAT0, Z)
    minx, miny, maxx, maxy = vector.tile_bounds_3857(Z, x, y)
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    mx, my = to_merc.transform(LON0, LAT0)
    assert minx <= mx <= maxx and miny <= my <= maxy
    lon0, lat0, lon1, lat1 = vector.tile_bbox_4326(Z, x, y)
    back = Transformer.from_crs(3857, 4326, always_xy=True)
    assert (lon0, lat0) == pytest.approx(back.transform(minx, miny), abs=1e-9)
    with pytest.raises(ValueError, match="no tile"):
        vector.check_tile(3, 8, 0)


# --- GeoJSON for a zoom ------------------------------------------------------------------
def test_feature_collection_keeps_only_what_the_map_needs():
    wiggly = shapely.Polygon(
        [(116.33 + 0.0001 * i, 39.98 + (0.00002 if i % 2 else 0)) for i in range(50)]
        + [(116.335, 39.99), (116.33, 39.99)]
    )
    frame = gpd.GeoDataFrame(
        {"name": ["甲"], "secret": ["x"], "n": [np.int64(3)]}, geometry=[wiggly], crs=4326
    )
    fc = vector.feature_collection(frame, ["name", "n"], zoom=14)
    feat = fc["features"][0]
    assert feat["properties"] == {"name": "甲", "n": 3}
    coords = np.asarray(feat["geometry"]["coordinates"][0])
    assert len(coords) < 10  # 2 m zig-zags vanish at zoom 14 (a pixel is 10 m), stay at 20
    assert vector.coordinate_decimals(14) == 6
    assert np.all(np.round(coords, 6) == coords)
    fine = vector.feature_collection(frame, ["name"], zoom=20)
    assert vector.coordinate_decimals(20) == 7
    assert len(fine["features"][0]["geometry"]["coordinates"][0]) > len(coords)


def test_feature_collection_shifts_to_gcj02_for_amap():
    frame = gpd.GeoDataFrame({"k": [1]}, geometry=[shapely.Point(LON0, LAT0)], crs=4326)
    shifted = vector.feature_collection(frame, ["k"], zoom=18, display="gcj02")
    lon, lat = wgs84_to_gcj02(LON0, LAT0)
    assert list(shifted["features"][0]["geometry"]["coordinates"]) == [
        round(float(lon), 7),
        round(float(lat), 7),
    ]
    # the shift is a few hundred metres, as GCJ-02 is
    assert 100 < abs(float(lon) - LON0) * 85000 + abs(float(lat) - LAT0) * 111000 < 1000


# --- both backends -----------------------------------------------------------------------------
def _write_buildings(session):
    ids = []
    for i, poly in enumerate(_buildings()):
        b = Building(
            code=f"B{i}",
            address=f"测试路{i}号",
            use="residential",
            geom=to_ewkt(shapely.MultiPolygon([poly])),
        )
        session.add(b)
        session.flush()
        ids.append(b.id)
        for k in range(i):
            session.add(Household(code=f"B{i}H{k}", building_id=b.id, size=2))
    session.flush()
    return ids


@pytest.mark.parametrize("display", ["wgs84", "gcj02"])
def test_building_tile_matches_the_independent_projection(session, display):
    ids = _write_buildings(session)
    lon, lat = (LON0, LAT0) if display == "wgs84" else tuple(map(float, wgs84_to_gcj02(LON0, LAT0)))
    x, y = _tile_of(lon + 0.0005, lat + 0.0002, Z)
    data = layers.building_tile(session, Z, x, y, display=display)
    feats = mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})["buildings"][
        "features"
    ]
    expected = dict(
        zip(ids, _expected_tile_geoms(_buildings(), Z, x, y, display=display), strict=True)
    )
    inside = {
        i for i, g in expected.items() if g.intersects(shapely.box(-64, -64, 4096 + 64, 4096 + 64))
    }
    assert {f["id"] for f in feats} == inside and len(inside) == 9
    for f in feats:
        assert f["properties"] == {"households": ids.index(f["id"]), "use": "residential"}
        got = shapely.geometry.shape(f["geometry"])
        want = shapely.clip_by_rect(expected[f["id"]], -64, -64, 4096 + 64, 4096 + 64)
        # whole tile units; the PostGIS GCJ-02 path is an affine fit: within 2 units (~2.4 m)
        assert shapely.hausdorff_distance(got, want) <= (1.0 if display == "wgs84" else 2.0)
    # the courtyard survives as a hole
    courtyard = next(f for f in feats if f["id"] == ids[4])
    assert len(shapely.geometry.shape(courtyard["geometry"]).interiors) == 1


def test_postgis_and_spatialite_tiles_decode_to_the_same_features(fresh_database):
    decoded = {}
    glon, glat = (float(v) for v in wgs84_to_gcj02(LON0, LAT0))
    tiles = {
        "wgs84": _tile_of(LON0 + 0.0005, LAT0 + 0.0002, 16),
        "gcj02": _tile_of(glon + 0.0005, glat + 0.0002, 16),
    }
    for kind in ("spatialite", "postgis"):
        with fresh_database(kind) as url:
            engine = make_engine(url)
            try:
                upgrade(engine)
                with session_factory(engine)() as s:
                    _write_buildings(s)
                    s.commit()
                    decoded[kind] = {
                        disp: {
                            f["id"]: f
                            for f in mvt_decode.decode_mvt(
                                layers.building_tile(s, 16, *tiles[disp], display=disp)
                            )["buildings"]["features"]
                        }
                        for disp in ("wgs84", "gcj02")
                    }
            finally:
                engine.dispose()
    for disp in ("wgs84", "gcj02"):
        a, b = decoded["spatialite"][disp], decoded["postgis"][disp]
        assert set(a) == set(b) and len(a) == 9
        for fid in a:
            assert a[fid]["properties"] == b[fid]["properties"]
            assert shapely.hausdorff_distance(a[fid]["geometry"], b[fid]["geometry"]) <= 1.5


def test_buildings_by_bbox_use_the_spatial_index_on_both_backends(session):
    from geodata.db import repo

    ids = _write_buildings(session)
    # the first column of footprints only (they are 0.0004 degrees apart)
    west = (LON0 - 0.0001, LAT0 - 0.0001, LON0 + 0.0002, LAT0 + 0.001)
    assert sorted(layers.buildings_in(session, west)["id"]) == ids[:3]
    assert sorted(repo.buildings_frame(session, bbox=west)["id"]) == ids[:3]
    assert layers.building_count(session, west) == 3
    assert layers.building_count(session, (0.0, 0.0, 1.0, 1.0)) == 0
