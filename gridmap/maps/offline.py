"""Make folium pages load every JS/CSS asset from our own server, never a CDN.

gridmap runs on government intranets with no internet access. folium and branca
link Leaflet, Bootstrap, Font Awesome and every plugin from public CDNs
(jsDelivr, cdnjs, unpkg, code.jquery.com, ...). The files are vendored under
``web/static/vendor/`` (see the README there) and :func:`localize_assets`
rewrites the links of one element tree to point at them::

    m = folium.Map(...)
    ...                                   # add layers, plugins, legends
    localize_assets(m, url_for("static", filename=""))
    html = m.get_root().render()

What it does, on instances only (folium's and branca's classes are untouched):

* every element's ``default_js`` / ``default_css`` list (folium.Map, each
  plugin) gets a new list with each CDN URL replaced by
  ``static_url + "/vendor/" + ASSET_MAP[url]``;
* :class:`branca.element.JavascriptLink` / ``CssLink`` already in the tree get
  their ``url`` rewritten the same way;
* each :class:`~branca.element.Figure` gets two guards, because some elements
  add links while rendering instead of through ``default_js`` (branca's
  colormaps add d3 that way), and elements may be added after this call: the
  Figure's header rewrites any link it holds just before it is rendered (and
  drops a second link to the same file, e.g. jQuery linked by two plugins), and
  the Figure's ``render()`` checks the finished page with
  :func:`external_urls`.

A URL that is not in :data:`ASSET_MAP` and is external (``http://``,
``https://`` or protocol-relative ``//``) raises :class:`UnvendoredAssetError`
(a :class:`ValueError`) naming the URL and the element class, at localize time
where the element is known, at the latest at render time: a new plugin cannot
silently make the page reach the internet. Relative and same-host links
(``/static/...``) are left alone.

Out of scope, and deliberately so: URLs that the page's *JavaScript* uses --
tile layer URL templates, WMS endpoints, GeoJSON/vector-tile fetch URLs, icon
image URLs passed as options. They are data, configured per deployment (the
intranet tile server) and not assets of folium; :func:`external_urls` does not
look inside ``<script>`` bodies for that reason. Attribution strings such as
``<a href="https://openstreetmap.org/copyright">`` also live inside those JS
strings and are text (a link a person may click), not a load. Likewise an
``<a href>`` in the page markup is navigation, not a load, and is not reported
unless asked for.

This module imports no Flask: the caller passes the static URL prefix.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from branca.element import CssLink, Element, Figure, JavascriptLink, Link

__all__ = [
    "ASSET_MAP",
    "UnvendoredAssetError",
    "external_urls",
    "localize_assets",
    "vendored_paths",
]

_JSD = "https://cdn.jsdelivr.net"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"
_UNPKG = "https://unpkg.com"

#: CDN URL as folium 0.20 / branca 0.8 write it -> path under web/static/vendor/.
#: Where the CDN file itself is not on npm the closest npm file is used; the
#: README in web/static/vendor/ says which and why.
ASSET_MAP: dict[str, str] = {
    # --- folium.Map defaults (folium.folium._default_js / _default_css) ---
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/1.9.3/leaflet.js",
    f"{_JSD}/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/3.7.1/jquery.min.js",
    f"{_JSD}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
        "bootstrap/5.2.2/js/bootstrap.bundle.min.js"
    ),
    f"{_JSD}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": (
        "bootstrap/5.2.2/css/bootstrap.min.css"
    ),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
        "bootstrap3-glyphicons/3.4.1/css/bootstrap-glyphicons.css"
    ),
    f"{_JSD}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
        "fontawesome-free/6.2.0/css/all.min.css"
    ),
    f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js"
    ),
    f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css"
    ),
    f"{_JSD}/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": (
        "leaflet.awesome.rotate/leaflet.awesome.rotate.css"
    ),
    # --- plugins.MarkerCluster, plugins.FastMarkerCluster ---
    f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        "leaflet.markercluster/1.1.0/leaflet.markercluster.js"
    ),
    f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css": (
        "leaflet.markercluster/1.1.0/MarkerCluster.css"
    ),
    f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        "leaflet.markercluster/1.1.0/MarkerCluster.Default.css"
    ),
    # --- plugins.Fullscreen ---
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
        "leaflet.fullscreen/3.0.0/Control.FullScreen.js"
    ),
    f"{_JSD}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
        "leaflet.fullscreen/3.0.0/Control.FullScreen.css"
    ),
    # --- plugins.MeasureControl ---
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.js": (
        "leaflet-measure/2.1.7/leaflet-measure.min.js"
    ),
    f"{_JSD}/gh/ljagis/leaflet-measure@2.1.7/dist/leaflet-measure.min.css": (
        "leaflet-measure/2.1.7/leaflet-measure.css"
    ),
    # --- plugins.MiniMap ---
    f"{_CDNJS}/leaflet-minimap/3.6.1/Control.MiniMap.js": (
        "leaflet-minimap/3.6.1/Control.MiniMap.js"
    ),
    f"{_CDNJS}/leaflet-minimap/3.6.1/Control.MiniMap.css": (
        "leaflet-minimap/3.6.1/Control.MiniMap.css"
    ),
    # --- plugins.Draw ---
    f"{_CDNJS}/leaflet.draw/1.0.2/leaflet.draw.js": "leaflet-draw/1.0.2/leaflet.draw.js",
    f"{_CDNJS}/leaflet.draw/1.0.2/leaflet.draw.css": "leaflet-draw/1.0.2/leaflet.draw.css",
    # --- plugins.LocateControl ---
    f"{_CDNJS}/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.js": (
        "leaflet.locatecontrol/0.66.2/L.Control.Locate.min.js"
    ),
    f"{_CDNJS}/leaflet-locatecontrol/0.66.2/L.Control.Locate.min.css": (
        "leaflet.locatecontrol/0.66.2/L.Control.Locate.min.css"
    ),
    # --- plugins.MousePosition ---
    f"{_JSD}/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.js": (
        "leaflet-mouse-position/1.2.0/L.Control.MousePosition.js"
    ),
    f"{_JSD}/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.css": (
        "leaflet-mouse-position/1.2.0/L.Control.MousePosition.css"
    ),
    # --- plugins.Search ---
    f"{_JSD}/npm/leaflet-search@2.9.7/dist/leaflet-search.min.js": (
        "leaflet-search/2.9.7/dist/leaflet-search.min.js"
    ),
    f"{_JSD}/npm/leaflet-search@2.9.7/dist/leaflet-search.min.css": (
        "leaflet-search/2.9.7/dist/leaflet-search.min.css"
    ),
    # --- plugins.HeatMap, plugins.HeatMapWithTime (builds folium hosts itself) ---
    f"{_JSD}/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js": (
        "folium-templates/leaflet_heat.min.js"
    ),
    f"{_JSD}/gh/python-visualization/folium/folium/templates/pa7_hm.min.js": (
        "folium-templates/pa7_hm.min.js"
    ),
    f"{_JSD}/gh/python-visualization/folium/folium/templates/pa7_leaflet_hm.min.js": (
        "folium-templates/pa7_leaflet_hm.min.js"
    ),
    # --- plugins.TimeSliderChoropleth, Timeline, TimestampedGeoJson ---
    "https://d3js.org/d3.v4.min.js": "d3/4.13.0/d3.min.js",
    f"{_CDNJS}/moment.js/2.18.1/moment.min.js": "moment/2.18.1/moment.min.js",
    # --- plugins.TimestampedGeoJson, TimestampedWmsTileLayers, HeatMapWithTime ---
    f"{_CDNJS}/jquery/3.7.1/jquery.min.js": "jquery/3.7.1/jquery.min.js",
    f"{_CDNJS}/jqueryui/1.10.2/jquery-ui.min.js": "jquery-ui/1.13.3/jquery-ui.min.js",
    f"{_JSD}/npm/iso8601-js-period@0.2.1/iso8601.min.js": "iso8601-js-period/0.2.1/iso8601.js",
    f"{_JSD}/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.min.js": (
        "leaflet-timedimension/1.1.1/leaflet.timedimension.min.js"
    ),
    f"{_JSD}/npm/leaflet-timedimension@1.1.1/dist/leaflet.timedimension.control.css": (
        "leaflet-timedimension/1.1.1/leaflet.timedimension.control.css"
    ),
    f"{_CDNJS}/highlight.js/8.4/styles/default.min.css": "highlight.js/8.4.0/styles/default.css",
    # --- plugins.FeatureGroupSubGroup ---
    f"{_UNPKG}/leaflet.featuregroup.subgroup@1.0.2/dist/leaflet.featuregroup.subgroup.js": (
        "leaflet.featuregroup.subgroup/1.0.2/leaflet.featuregroup.subgroup.js"
    ),
    # --- plugins.GroupedLayerControl ---
    f"{_CDNJS}/leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.js": (
        "leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.js"
    ),
    f"{_CDNJS}/leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.css": (
        "leaflet-groupedlayercontrol/0.6.1/leaflet.groupedlayercontrol.min.css"
    ),
    # --- plugins.BeautifyIcon ---
    f"{_JSD}/gh/marslan390/BeautifyMarker/leaflet-beautify-marker-icon.min.js": (
        "beautifymarker/1.0.9/leaflet-beautify-marker-icon.js"
    ),
    f"{_JSD}/gh/marslan390/BeautifyMarker/leaflet-beautify-marker-icon.min.css": (
        "beautifymarker/1.0.9/leaflet-beautify-marker-icon.css"
    ),
    # --- plugins.VectorGridProtobuf ---
    f"{_UNPKG}/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js": (
        "leaflet.vectorgrid/1.3.0/Leaflet.VectorGrid.bundled.min.js"
    ),
    # --- branca.colormap.ColorMap legends (added in ColorMap.render), Vega ---
    f"{_CDNJS}/d3/3.5.5/d3.min.js": "d3/3.5.5/d3.min.js",
    # --- plugins.TreeLayerControl ---
    f"{_JSD}/npm/leaflet.control.layers.tree@1.1.0/L.Control.Layers.Tree.min.js": (
        "leaflet.control.layers.tree/1.1.0/L.Control.Layers.Tree.js"
    ),
    f"{_JSD}/npm/leaflet.control.layers.tree@1.1.0/L.Control.Layers.Tree.min.css": (
        "leaflet.control.layers.tree/1.1.0/L.Control.Layers.Tree.css"
    ),
    # --- features.TopoJson ---
    f"{_CDNJS}/topojson/1.6.9/topojson.min.js": "topojson/1.6.9/topojson.min.js",
    # --- plugins.Realtime ---
    f"{_CDNJS}/leaflet-realtime/2.2.0/leaflet-realtime.js": (
        "leaflet-realtime/2.2.0/leaflet-realtime.min.js"
    ),
    # --- plugins.Timeline, plugins.TimelineSlider ---
    f"{_JSD}/npm/leaflet.timeline@1.6.0/dist/leaflet.timeline.min.js": (
        "leaflet.timeline/1.6.0/leaflet.timeline.js"
    ),
}

_EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//")
_GUARD_ATTR = "_gridmap_offline_static_url"


class UnvendoredAssetError(ValueError):
    """An element links a CDN file that is not vendored under web/static/vendor/."""

    def __init__(self, url: str, where: str) -> None:
        self.url = url
        self.where = where
        super().__init__(
            f"{where} links {url!r}, which is not vendored: copy the file under "
            "web/static/vendor/ and add the URL to gridmap.maps.offline.ASSET_MAP "
            "(or do not use this element on an offline page)"
        )


def _is_external(url: str) -> bool:
    return bool(_EXTERNAL.match(url)) and not url.lstrip().lower().startswith("data:")


def _lookup(url: str) -> str | None:
    """Vendored path for a CDN URL; tolerates http:// and protocol-relative forms."""
    if url in ASSET_MAP:
        return ASSET_MAP[url]
    stripped = url.strip()
    for prefix in ("https:", "http:", ""):
        if stripped.startswith(prefix + "//"):
            return ASSET_MAP.get("https:" + stripped[len(prefix) :])
    return None


def _localize_url(url: str, prefix: str, where: str) -> str:
    if url.startswith(prefix):
        return url
    path = _lookup(url)
    if path is not None:
        return prefix + path
    if _is_external(url):
        raise UnvendoredAssetError(url, where)
    return url  # relative or same-host: the app serves it itself


def _element_label(element: Element) -> str:
    cls = type(element)
    return f"{cls.__module__}.{cls.__qualname__}"


# Elements that add external links outside default_js/default_css (in their
# render() or in their template markup): URLs they will emit, checked eagerly
# so the error names the element rather than the Figure header.
def _render_time_links() -> list[tuple[type, tuple[str, ...]]]:
    from branca.colormap import ColorMap
    from folium.features import VegaLite
    from folium.plugins import ScrollZoomToggler

    return [
        (ColorMap, (f"{_CDNJS}/d3/3.5.5/d3.min.js",)),
        (VegaLite, ("https://cdn.jsdelivr.net/npm//vega@5",)),
        (ScrollZoomToggler, (f"{_CDNJS}/ionicons/2.0.1/png/512/arrow-move.png",)),
    ]


def _walk(element: Element, seen: set[int]) -> Iterator[Element]:
    """Yield element and everything below it, Figure/Div sections included."""
    if id(element) in seen:
        return
    seen.add(id(element))
    yield element
    for section in ("header", "html", "script"):
        part = element.__dict__.get(section)
        if isinstance(part, Element):
            yield from _walk(part, seen)
    for child in list(element._children.values()):
        yield from _walk(child, seen)


def _localize_links(header: Element, prefix: str) -> None:
    """Rewrite the Link children of a Figure header; drop repeated links to one file."""
    seen_urls: set[str] = set()
    for name, child in list(header._children.items()):
        if not isinstance(child, Link):
            continue
        kind = "script" if isinstance(child, JavascriptLink) else "stylesheet"
        child.url = _localize_url(
            child.url, prefix, f"Figure header {kind} link {name!r} ({type(child).__name__})"
        )
        if isinstance(child, JavascriptLink | CssLink):
            if child.url in seen_urls:
                del header._children[name]
            seen_urls.add(child.url)


def _header_render(self: Element, **kwargs: Any) -> str:
    _localize_links(self, getattr(self, _GUARD_ATTR))
    return type(self).render(self, **kwargs)


def _figure_render(self: Figure, **kwargs: Any) -> str:
    html = type(self).render(self, **kwargs)
    left = external_urls(html)
    if left:
        raise UnvendoredAssetError(left[0], f"rendered page of {_element_label(self)}")
    return html


def _guard_figure(figure: Figure, prefix: str) -> None:
    header = figure.header
    setattr(header, _GUARD_ATTR, prefix)
    header.render = types.MethodType(_header_render, header)  # type: ignore[method-assign]
    if type(figure).render is Figure.render:  # not Div, whose render() returns nothing
        figure.render = types.MethodType(_figure_render, figure)  # type: ignore[method-assign]


def localize_assets(figure_or_map: Element, static_url: str) -> None:
    """Point every JS/CSS link of a folium/branca tree at the vendored copies.

    The whole tree is walked: the Figure, the Map, every layer, plugin, control and
    colormap below it, and any Figure nested in an IFrame. Only instances are changed;
    calling it again (e.g. after adding more layers) is safe.

    Parameters
    ----------
    figure_or_map : branca.element.Element
        A :class:`folium.Map` (its root Figure is used) or a
        :class:`branca.element.Figure`.
    static_url : str
        The URL prefix the app serves ``web/static/`` under, e.g. ``"/static"`` or Flask's
        ``url_for("static", filename="")``; links become ``static_url + "/vendor/" + path``.

    Raises
    ------
    UnvendoredAssetError
        A ``ValueError`` naming the URL and the element class, for any external URL that
        is not in :data:`ASSET_MAP`.
    """
    if not isinstance(figure_or_map, Element):
        raise TypeError(f"expected a folium/branca Element, got {type(figure_or_map).__name__}")
    prefix = static_url.rstrip("/") + "/vendor/"
    root = figure_or_map.get_root()
    render_time_links = _render_time_links()

    for element in _walk(root, set()):
        where = _element_label(element)
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            # A new list on the instance: the class attribute stays untouched.
            setattr(
                element,
                attr,
                [(name, _localize_url(url, prefix, where)) for name, url in links],
            )
        if isinstance(element, Link):
            element.url = _localize_url(element.url, prefix, where)
        for cls, urls in render_time_links:
            if isinstance(element, cls):
                for url in urls:
                    _localize_url(url, prefix, where)
        if isinstance(element, Figure) and element is not root:
            _guard_figure(element, prefix)  # e.g. a Figure inside an IFrame popup
    if isinstance(root, Figure):
        _guard_figure(root, prefix)


def vendored_paths() -> list[str]:
    """Every path under web/static/vendor/ that :data:`ASSET_MAP` points to.

    Returns
    -------
    list of str
        The paths, sorted, each once.
    """
    return sorted(set(ASSET_MAP.values()))


# --- finding what a rendered page would still load from outside ---------------

_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
# attributes whose URL the browser fetches by itself
_LOAD_ATTRS = {"src", "href", "data", "poster", "background", "action", "formaction"}
_NAVIGATION_TAGS = {"a", "area"}


class _LoadFinder(HTMLParser):
    def __init__(self, include_anchors: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.include_anchors = include_anchors
        self.found: list[str] = []
        self._in_style = False

    def _add(self, url: str | None) -> None:
        if url and _is_external(url):
            self.found.append(url.strip())

    def _add_css(self, css: str) -> None:
        for m in _CSS_URL.finditer(css):
            self._add(m.group(2) or m.group(4))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in _LOAD_ATTRS:
                if name == "href" and tag in _NAVIGATION_TAGS and not self.include_anchors:
                    continue
                self._add(value)
            elif name == "srcset":
                for candidate in value.split(","):
                    self._add(candidate.strip().split(" ")[0])
            elif name == "style":
                self._add_css(value)
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        # <script> bodies also arrive here; only <style> bodies are looked at.
        if self._in_style:
            self._add_css(data)


def external_urls(html: str, *, include_anchors: bool = False) -> list[str]:
    """External URLs the page's markup makes the browser load, in order, unique.

    Looks at ``src``/``href``/``data``/``srcset``/``poster`` attributes of the HTML
    markup, ``url(...)`` and ``@import`` in ``<style>`` blocks and ``style`` attributes.
    External means ``http(s)://`` or protocol-relative ``//``; ``data:`` URIs and relative
    or same-host paths are not.

    Not looked at: the bodies of ``<script>`` elements (tile URL templates and attribution
    ``<a href>`` strings live there; they are JavaScript data, see the module docstring).

    Parameters
    ----------
    html : str
        The page.
    include_anchors : bool
        Also count the ``href`` of ``<a>``/``<area>`` (navigation a person starts, not a
        load).

    Returns
    -------
    list of str
        The external URLs.
    """
    finder = _LoadFinder(include_anchors)
    finder.feed(html)
    finder.close()
    return list(dict.fromkeys(finder.found))
