"""finish_map: the per-user basemap, the standard controls, the lean assets, and the GCJ-02
display shift of every kind of overlay, checked point by point against gridmap.crs."""

import json

import folium
import numpy as np
import pytest
from folium.plugins import HeatMap, TimestampedGeoJson

from gridmap.crs import wgs84_to_gcj02
from gridmap.maps.layers import DynamicGeoJson, PointPicker, VectorTiles
from gridmap.maps.offline import external_urls, localize_assets
from gridmap.maps.overview import base_map
from gridmap.maps.render import map_parts
from gridmap.maps.standard import (
    AMAP_URL,
    BasemapSettings,
    Legend,
    finish_map,
    shift_to_gcj02,
)

LON, LAT = 116.3300, 39.9800
GLON, GLAT = (float(v) for v in wgs84_to_gcj02(LON, LAT))


def _every_overlay():
    m = base_map((LON - 0.01, LAT - 0.01, LON + 0.01, LAT + 0.01))
    folium.GeoJson(
        {
            "type": "Feature",
            "properties": {},
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[[[LON, LAT], [LON + 0.001, LAT], [LON, LAT + 0.001], [LON, LAT]]]],
            },
        }
    ).add_to(m)
    folium.Marker([LAT, LON]).add_to(m)
    folium.CircleMarker([LAT, LON]).add_to(m)
    folium.PolyLine([[LAT, LON], [LAT + 0.001, LON + 0.001]]).add_to(m)
    folium.raster_layers.ImageOverlay(
        np.zeros((2, 2, 4), np.uint8), bounds=[[LAT, LON], [LAT + 0.01, LON + 0.01]]
    ).add_to(m)
    HeatMap([[LAT, LON, 1.0]]).add_to(m)
    TimestampedGeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"times": ["2026-01-01"]},
                    "geometry": {"type": "Point", "coordinates": [LON, LAT]},
                }
            ],
        }
    ).add_to(m)
    DynamicGeoJson("/api/layers/grids", name="g", style={}).add_to(m)
    VectorTiles("/t/{z}/{x}/{y}.mvt", name="b", layer_name="buildings", style={}).add_to(m)
    PointPicker().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def test_every_overlay_is_shifted_to_gcj02_once():
    m = _every_overlay()
    finish_map(m, basemap="amap", settings=BasemapSettings())
    kids = list(m._children.values())
    geo = next(k for k in kids if type(k) is folium.GeoJson)

    def first_point():
        feature = geo.data["features"][0] if "features" in geo.data else geo.data
        return feature["geometry"]["coordinates"][0][0][0]

    first = first_point()
    assert first == pytest.approx([GLON, GLAT], abs=1e-12)
    for cls in (folium.Marker, folium.CircleMarker):
        el = next(k for k in kids if type(k) is cls)
        assert list(el.location) == pytest.approx([GLAT, GLON], abs=1e-12)
    line = next(k for k in kids if isinstance(k, folium.PolyLine))
    assert line.locations[0] == pytest.approx([GLAT, GLON], abs=1e-12)
    img = next(k for k in kids if isinstance(k, folium.raster_layers.ImageOverlay))
    assert img.bounds[0] == pytest.approx([GLAT, GLON], abs=1e-12)
    heat = next(k for k in kids if isinstance(k, HeatMap))
    assert heat.data[0][:2] == pytest.approx([GLAT, GLON], abs=1e-12) and heat.data[0][2] == 1.0
    ts = next(k for k in kids if isinstance(k, TimestampedGeoJson))
    assert json.loads(ts.data)["features"][0]["geometry"]["coordinates"] == pytest.approx(
        [GLON, GLAT], abs=1e-12
    )
    for cls in (DynamicGeoJson, VectorTiles, PointPicker):
        assert next(k for k in kids if isinstance(k, cls)).options["display"] == "gcj02"
    assert shift_to_gcj02(m) == 0  # a second call shifts nothing
    assert finish_map(m, basemap="amap") is m
    assert first == first_point()


def test_no_basemap_means_no_tiles_and_the_standard_controls():
    m = _every_overlay()
    finish_map(
        m, basemap="none", settings=BasemapSettings(), legends=[Legend("L", [("#f00", "a", "dot")])]
    )
    localize_assets(m, "/static")
    parts = map_parts(m)
    page = parts.header + parts.body + parts.script
    assert "L.tileLayer(" not in page
    assert page.count("L.control.layers(") == 1
    assert "L.control.scale({imperial: false" in page and "L.control.fullscreen(" in page
    assert "new GM.MeasureControl(" in page and "new GM.Legend(" in page
    assert "bootstrap" not in parts.header and "fontawesome" not in parts.header
    assert "GM.mapCreated(" in page and "window.GM_STRINGS" in parts.header
    assert external_urls(page) == []
    # the WGS84 geometry is untouched
    assert f"[{LON}, {LAT}]" in page


def test_basemap_choices_and_their_urls():
    settings = BasemapSettings.from_env(
        {"GRIDMAP_XYZ_URL": "http://t.intra/{z}/{x}/{y}.png", "GRIDMAP_TIANDITU_KEY": "KEY1"}
    )
    assert settings.available() == ("none", "xyz", "tianditu", "amap")
    assert BasemapSettings.from_env({"GRIDMAP_AMAP_URL": ""}).available() == ("none",)
    assert settings.resolve("tianditu") == "tianditu"
    assert BasemapSettings().resolve("tianditu") == "none"  # no key: not offered
    assert settings.tianditu("vec").startswith("https://t{s}.tianditu.gov.cn/vec_w/wmts?")
    assert "LAYER=cva" in settings.tianditu("cva") and settings.tianditu("cva").endswith("tk=KEY1")

    def page(basemap):
        m = base_map((LON, LAT, LON + 0.01, LAT + 0.01))
        finish_map(m, basemap=basemap, settings=settings)
        return map_parts(m).script

    tdt = page("tianditu")
    amap_prefix = AMAP_URL.split("&")[0]  # the script writes & as \u0026
    assert "tk=KEY1" in tdt and "http://t.intra/{z}/{x}/{y}.png" in tdt and amap_prefix not in tdt
    amap = page("amap")
    assert amap_prefix in amap and "tianditu" not in amap and "t.intra" not in amap
