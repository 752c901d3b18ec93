"""Offline maps: every asset a folium page loads is vendored under web/static/vendor/."""

from __future__ import annotations

import re
from pathlib import Path

import branca.colormap
import folium
import folium.plugins as plugins
import pytest
from branca.element import Figure, JavascriptLink
from folium.elements import JSCSSMixin

from gridmap.maps.offline import (
    ASSET_MAP,
    UnvendoredAssetError,
    external_urls,
    localize_assets,
    vendored_paths,
)

VENDOR = Path(__file__).resolve().parents[1] / "web" / "static" / "vendor"
STATIC_URL = "/static"

_LOCAL_REF = re.compile(r"""(?:src|href)=["']/static/vendor/([^"'?#]+)["']""")
_TAG_LOAD = re.compile(r"""<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+)["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]+)\3""")

LAT, LON = 30.5728, 104.0668  # Chengdu


def _point(lat: float, lon: float, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def _square(fid: str, lat: float, lon: float, d: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": f"网格 {fid}", "start": "2024-01-01", "end": "2024-02-01"},
    }


def build_full_map() -> folium.Map:
    """A map with folium's defaults and every plugin gridmap pages may use."""
    m = folium.Map(location=[LAT, LON], zoom_start=13)  # default OSM tiles on purpose

    grids = {
        "type": "FeatureCollection",
        "features": [_square(str(i), LAT, LON + i * 0.01) for i in range(3)],
    }
    points = [[LAT + i * 0.001, LON + i * 0.001] for i in range(10)]

    # Markers: plain, awesome-markers (fa + glyphicon, rotated), BeautifyIcon.
    folium.Marker([LAT, LON], popup="居委会").add_to(m)
    folium.Marker([LAT, LON + 0.002], icon=folium.Icon(icon="info-sign", angle=45)).add_to(m)
    folium.Marker([LAT, LON + 0.004], icon=folium.Icon(icon="home", prefix="fa")).add_to(m)
    folium.Marker(
        [LAT, LON + 0.006],
        icon=plugins.BeautifyIcon(icon="flag", border_color="#b3334f", text_color="#b3334f"),
    ).add_to(m)

    cluster = plugins.MarkerCluster(name="事件").add_to(m)
    for p in points:
        folium.Marker(p).add_to(cluster)
    plugins.FastMarkerCluster(points, name="fast").add_to(m)

    grid_layer = folium.GeoJson(grids, name="网格").add_to(m)
    plugins.Search(layer=grid_layer, search_label="name", placeholder="搜索网格").add_to(m)

    plugins.HeatMap(points, name="热力图").add_to(m)
    plugins.HeatMapWithTime([points[:5], points[5:]], name="heat by day").add_to(m)

    styledict = {str(i): {"1704067200": {"color": "#ff0000", "opacity": 0.6}} for i in range(3)}
    plugins.TimeSliderChoropleth(grids, styledict=styledict, name="choropleth").add_to(m)

    timed = {
        "type": "FeatureCollection",
        "features": [
            _point(LAT, LON, times=["2024-01-01T00:00:00"], popup="a"),
            _point(LAT + 0.01, LON, times=["2024-01-02T00:00:00"], popup="b"),
        ],
    }
    plugins.TimestampedGeoJson(timed, period="P1D").add_to(m)

    timeline = plugins.Timeline(grids, name="timeline").add_to(m)
    plugins.TimelineSlider().add_timelines(timeline).add_to(m)

    parent = folium.FeatureGroup(name="社区", control=False).add_to(m)
    sub_a = plugins.FeatureGroupSubGroup(parent, name="A 区").add_to(m)
    sub_b = plugins.FeatureGroupSubGroup(parent, name="B 区").add_to(m)
    folium.Marker([LAT + 0.003, LON]).add_to(sub_a)
    folium.Marker([LAT + 0.004, LON]).add_to(sub_b)

    fg1 = folium.FeatureGroup(name="楼栋").add_to(m)
    fg2 = folium.FeatureGroup(name="商户").add_to(m)
    plugins.GroupedLayerControl({"图层": [fg1, fg2]}, exclusive_groups=False).add_to(m)

    plugins.VectorGridProtobuf("/tiles/{z}/{x}/{y}.pbf", "vector grid").add_to(m)
    plugins.Realtime("/api/events.geojson", interval=10000).add_to(m)
    topo = {
        "type": "Topology",
        "objects": {"grids": {"type": "GeometryCollection", "geometries": []}},
        "arcs": [],
    }
    folium.TopoJson(topo, "objects.grids", name="topo").add_to(m)

    plugins.Fullscreen().add_to(m)
    plugins.MeasureControl().add_to(m)
    plugins.MiniMap().add_to(m)
    plugins.Draw(export=False).add_to(m)
    plugins.LocateControl().add_to(m)
    plugins.MousePosition().add_to(m)
    plugins.TreeLayerControl(overlay_tree={"label": "图层", "children": []}).add_to(m)

    legend = branca.colormap.LinearColormap(
        ["#ffffcc", "#fd8d3c", "#800026"], vmin=0, vmax=100, caption="事件密度"
    )
    legend.add_to(m)
    folium.LayerControl().add_to(m)
    return m


@pytest.fixture(scope="module")
def rendered() -> str:
    m = build_full_map()
    localize_assets(m, STATIC_URL)
    return m.get_root().render()


def test_no_external_script_or_link_loads(rendered: str) -> None:
    assert external_urls(rendered) == []
    loads = _TAG_LOAD.findall(rendered)
    assert loads, "expected <script src> / <link href> tags"
    external = [u for u in loads if not u.startswith("/static/vendor/")]
    assert external == []


def test_every_referenced_vendor_file_exists(rendered: str) -> None:
    refs = sorted(set(_LOCAL_REF.findall(rendered)))
    missing = [r for r in refs if not (VENDOR / r).is_file() or (VENDOR / r).stat().st_size == 0]
    assert missing == []
    # the map defaults and a few plugins really are in the page
    for path in (
        "leaflet/1.9.3/leaflet.js",
        "leaflet/1.9.3/leaflet.css",
        "bootstrap/5.2.2/css/bootstrap.min.css",
        "bootstrap3-glyphicons/3.4.1/css/bootstrap-glyphicons.css",
        "fontawesome-free/6.2.0/css/all.min.css",
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
        "leaflet.awesome.rotate/leaflet.awesome.rotate.css",
        "leaflet.markercluster/1.1.0/leaflet.markercluster.js",
        "leaflet-draw/1.0.2/leaflet.draw.js",
        "d3/3.5.5/d3.min.js",  # added by the colormap at render time
        "d3/4.13.0/d3.min.js",
        "leaflet.vectorgrid/1.3.0/Leaflet.VectorGrid.bundled.min.js",
    ):
        assert path in refs, path


def test_jquery_is_linked_once(rendered: str) -> None:
    # folium.Map and TimestampedGeoJson link jQuery 3.7.1 from two CDNs
    assert rendered.count("/static/vendor/jquery/3.7.1/jquery.min.js") == 1


def test_every_asset_map_target_exists() -> None:
    missing = [p for p in vendored_paths() if not (VENDOR / p).is_file()]
    assert missing == []
    assert all(not p.startswith("/") and ".." not in p for p in ASSET_MAP.values())


def _vendored_css() -> list[Path]:
    return sorted(VENDOR.rglob("*.css"))


@pytest.mark.parametrize("css", _vendored_css(), ids=lambda p: str(p.relative_to(VENDOR)))
def test_css_urls_resolve(css: Path) -> None:
    text = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8"), flags=re.S)
    problems = []
    for match in _CSS_URL.finditer(text):
        url = (match.group(2) or match.group(4) or "").strip()
        if not url or url.startswith(("data:", "#")):
            continue  # inline data, or IE's url(#default#VML)
        if re.match(r"^([a-z][a-z0-9+.-]*:)?//", url, re.I):
            problems.append(f"external: {url}")
            continue
        target = (css.parent / re.split(r"[?#]", url)[0]).resolve()
        if not target.is_file() or VENDOR not in target.parents:
            problems.append(f"missing: {url}")
    assert problems == []


def test_every_vendored_package_keeps_its_licence() -> None:
    def has_licence(d: Path) -> bool:
        return any("LICEN" in f.name.upper() for f in d.iterdir() if f.is_file())

    for pkg in sorted(p for p in VENDOR.iterdir() if p.is_dir()):
        if pkg.name == "leaflet.awesome.rotate":
            continue  # generated by vendor.sh, see its header comment
        # vendor/<package>/<version>/..., or vendor/<package>/... for folium's own files
        dirs = [pkg] if has_licence(pkg) else [v for v in pkg.iterdir() if v.is_dir()]
        assert dirs, pkg
        for d in dirs:
            assert has_licence(d), d


def test_classes_are_not_mutated() -> None:
    before_js, before_css = list(folium.Map.default_js), list(folium.Map.default_css)
    m = folium.Map()
    localize_assets(m, STATIC_URL)
    assert folium.Map.default_js == before_js
    assert folium.Map.default_css == before_css
    assert all(url.startswith("/static/vendor/") for _, url in m.default_js)
    assert external_urls(folium.Map().get_root().render()) != []  # a fresh map still uses CDNs


def test_localize_is_idempotent_and_accepts_figure() -> None:
    fig = Figure()
    m = folium.Map().add_to(fig)
    localize_assets(fig, "/static/")
    localize_assets(m, "/static")
    html = fig.render()
    assert external_urls(html) == []
    assert "/static/vendor/leaflet/1.9.3/leaflet.js" in html
    assert "/static//vendor" not in html


class Unvendored(JSCSSMixin):
    default_js = [("mystery", "https://cdn.example.org/mystery@1.0/mystery.min.js")]


def test_unknown_cdn_url_raises_naming_url_and_class() -> None:
    m = folium.Map()
    Unvendored().add_to(m)
    with pytest.raises(
        ValueError, match=r"Unvendored.*cdn\.example\.org/mystery@1\.0/mystery\.min\.js"
    ):
        localize_assets(m, STATIC_URL)
    with pytest.raises(UnvendoredAssetError) as info:
        localize_assets(m, STATIC_URL)
    assert info.value.url == "https://cdn.example.org/mystery@1.0/mystery.min.js"


def test_geocoder_is_not_vendored() -> None:
    m = folium.Map()
    plugins.Geocoder().add_to(m)
    with pytest.raises(ValueError, match="Geocoder"):
        localize_assets(m, STATIC_URL)


def test_element_added_after_localize_is_still_guarded() -> None:
    m = folium.Map()
    localize_assets(m, STATIC_URL)
    plugins.Fullscreen().add_to(m)  # known: rewritten when the page renders
    html = m.get_root().render()
    assert "/static/vendor/leaflet.fullscreen/3.0.0/Control.FullScreen.js" in html
    assert external_urls(html) == []

    Unvendored().add_to(m)  # unknown: the render fails instead of going online
    with pytest.raises(ValueError, match="cdn.example.org"):
        m.get_root().render()


def test_raw_link_in_header_is_rewritten_or_refused() -> None:
    m = folium.Map()
    fig = m.get_root()
    fig.header.add_child(
        JavascriptLink("https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"), name="d3"
    )
    localize_assets(m, STATIC_URL)
    assert "/static/vendor/d3/3.5.5/d3.min.js" in fig.render()
    fig.header.add_child(JavascriptLink("//cdn.example.org/x.js"), name="x")
    with pytest.raises(ValueError, match="cdn.example.org/x.js"):
        fig.render()


def test_external_urls_helper() -> None:
    html = """
    <html><head>
      <script src="https://cdn.example.org/a.js"></script>
      <link rel="stylesheet" href="//cdn.example.org/b.css"/>
      <link rel="stylesheet" href="/static/vendor/ok.css"/>
      <style>.x { background: url('https://img.example.org/c.png') } .y { background: url(data:image/png;base64,AAAA) }</style>
    </head><body>
      <img src="http://img.example.org/d.png" srcset="/local.png 1x, https://img.example.org/e.png 2x">
      <div style="background-image:url(https://img.example.org/f.png)"></div>
      <a href="https://www.openstreetmap.org/copyright">OSM</a>
      <script>
        L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png",
          {attribution: '<a href="https://openstreetmap.org">OSM</a>'});
        var s = '<script src="https://inside.js.string/x.js">';
      </script>
    </body></html>
    """
    assert external_urls(html) == [
        "https://cdn.example.org/a.js",
        "//cdn.example.org/b.css",
        "https://img.example.org/c.png",
        "http://img.example.org/d.png",
        "https://img.example.org/e.png",
        "https://img.example.org/f.png",
    ]
    assert "https://www.openstreetmap.org/copyright" in external_urls(html, include_anchors=True)


def test_rendered_page_keeps_tiles_and_attribution_in_js(rendered: str) -> None:
    # Documented choice: tile URL templates and attribution links are JS data,
    # configured per deployment, and not counted as asset loads.
    assert "tile.openstreetmap.org" in rendered
    assert external_urls(rendered) == []
