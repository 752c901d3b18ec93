"""What every gridmap map has: the user's basemap, a legend, scale bar, fullscreen, a measure
tool and the layer control -- added by one call, :func:`finish_map`, after a page's builder
has drawn its layers::

    m = base_map(bounds)                 # gridmap.maps.overview
    ...                                  # the page's layers, colormaps (legends)
    finish_map(m, basemap="tianditu", settings=settings.basemaps, _=_)  # the installation's

Basemaps (chosen per user, vocabulary :data:`BASEMAPS`):

* ``none``: no tiles at all, the only choice that never touches another host; the default
  because government intranets often reach no tile server;
* ``xyz``: an OSM-style ``{z}/{x}/{y}`` tile server, URL configured (an intranet mirror);
* ``tianditu``: 天地图 vector tiles plus the annotation layer, CGCS2000 = WGS84 to a few
  centimetres, needs a ``tk`` key from the configuration;
* ``amap``: 高德 tiles, which are drawn in GCJ-02. Every overlay of the map is then shifted to
  GCJ-02 *for display only* (:func:`shift_to_gcj02`) so that it lines up with the tiles;
  stored data stays WGS84, and coordinates clicked on such a map are shifted back by the
  server (``gridmap.crs.gcj02_to_wgs84``).

Pure: no Flask, no environment. Settings come in as a :class:`BasemapSettings` (the app's
``Settings.basemaps``, read from the environment once); strings arrive through the ``_``
callable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

import folium
from branca.element import Element, Figure, MacroElement
from folium.plugins import Fullscreen, TimeSliderChoropleth, TimestampedGeoJson
from jinja2 import Template

from gridmap.maps.amap_shift import shift_geojson, shift_nested, shift_positions

Gettext = Callable[[str], str]

BASEMAPS = ("none", "xyz", "tianditu", "amap")
#: Basemaps whose tiles are drawn in GCJ-02: overlays are shifted for display.
GCJ02_BASEMAPS = frozenset({"amap"})

TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
    "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
)
AMAP_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)


def _identity(s: str) -> str:
    return s


@dataclass(frozen=True)
class BasemapSettings:
    """Where the tiles of each basemap come from (the deployment's configuration).

    ``xyz_url`` (GRIDMAP_XYZ_URL) enables the XYZ basemap; ``tianditu_key``
    (GRIDMAP_TIANDITU_KEY) enables Tianditu; Amap is on unless GRIDMAP_AMAP_URL is set to
    an empty string (an intranet proxy of the Amap tiles may be given there).
    """

    xyz_url: str | None = None
    xyz_attribution: str = "© OpenStreetMap contributors"
    xyz_subdomains: str = "abc"
    tianditu_key: str | None = None
    tianditu_url: str = TIANDITU_URL
    amap_url: str | None = AMAP_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> BasemapSettings:
        """Basemap settings from ``GRIDMAP_XYZ_URL``, ``GRIDMAP_TIANDITU_KEY``, ``GRIDMAP_AMAP_URL`` ...

        Parameters
        ----------
        env : mapping
            The environment variables (``Settings.from_env`` passes its own); unset or empty
            values keep the defaults.

        Returns
        -------
        BasemapSettings
        """
        amap = env.get("GRIDMAP_AMAP_URL", AMAP_URL)
        return cls(
            xyz_url=env.get("GRIDMAP_XYZ_URL") or None,
            xyz_attribution=env.get("GRIDMAP_XYZ_ATTRIBUTION") or cls.xyz_attribution,
            xyz_subdomains=env.get("GRIDMAP_XYZ_SUBDOMAINS") or cls.xyz_subdomains,
            tianditu_key=env.get("GRIDMAP_TIANDITU_KEY") or None,
            tianditu_url=env.get("GRIDMAP_TIANDITU_URL") or TIANDITU_URL,
            amap_url=amap or None,
        )

    def available(self) -> tuple[str, ...]:
        """The basemaps this installation can show, in :data:`BASEMAPS` order.

        Returns
        -------
        tuple of str
            The basemap codes.
        """
        ok = {
            "none": True,
            "xyz": bool(self.xyz_url),
            "tianditu": bool(self.tianditu_key),
            "amap": bool(self.amap_url),
        }
        return tuple(b for b in BASEMAPS if ok[b])

    def resolve(self, choice: str | None) -> str:
        """The user's choice when this installation offers it, else ``none``.

        Parameters
        ----------
        choice : str or None
            The basemap asked for.

        Returns
        -------
        str
            A basemap code this installation can show.
        """
        return choice if choice in self.available() else "none"

    def tianditu(self, layer: str) -> str:
        """URL template of a Tianditu layer.

        Parameters
        ----------
        layer : str
            ``vec`` (vector) or ``cva`` (Chinese annotation).

        Returns
        -------
        str
            The tile URL template, with this installation's key.
        """
        return self.tianditu_url.replace("{layer}", layer).replace("{key}", self.tianditu_key or "")


def basemap_label(code: str, _: Gettext = _identity) -> str:
    """Display name of a basemap code (``none``, ``xyz``, ``tianditu``, ``amap``).

    Parameters
    ----------
    code : str
        The basemap code; an unknown code is returned as is.
    _ : callable
        Translation of the names.

    Returns
    -------
    str
    """
    return {
        "none": _("No basemap"),
        "xyz": _("Street map (XYZ tiles)"),
        "tianditu": _("Tianditu"),
        "amap": _("Amap (GCJ-02)"),
    }.get(code, code)


def display_crs(basemap: str) -> str:
    """``gcj02`` when overlays must be shifted for ``basemap``, else ``wgs84``.

    Parameters
    ----------
    basemap : str
        The basemap code.

    Returns
    -------
    str
        The display coordinate system.
    """
    return "gcj02" if basemap in GCJ02_BASEMAPS else "wgs84"


# --- tile layers --------------------------------------------------------------------------
def basemap_layers(
    basemap: str, settings: BasemapSettings, *, _: Gettext = _identity
) -> list[folium.map.Layer]:
    """The base layers for the layer control: "no basemap" plus the chosen basemap (shown).

    Only basemaps of the chosen one's datum are offered side by side: switching between
    WGS84 and GCJ-02 tiles needs the overlays redrawn, which the page's basemap selector does.

    Parameters
    ----------
    basemap : str
        The chosen basemap code.
    settings : BasemapSettings
        What this installation offers (tile URLs and keys).
    _ : callable
        Translation of the fixed texts.

    Returns
    -------
    list of folium.map.Layer
        The base layers.
    """
    basemap = settings.resolve(basemap)
    blank = folium.FeatureGroup(
        name=basemap_label("none", _), overlay=True, control=True, show=basemap == "none"
    )
    blank.overlay = False  # a base layer: the radio button that hides every tile layer
    layers: list[folium.map.Layer] = [blank]
    family = [
        b for b in settings.available() if b != "none" and display_crs(b) == display_crs(basemap)
    ]
    for code in family:
        show = code == basemap
        if code == "xyz":
            layers.append(
                folium.TileLayer(
                    tiles=settings.xyz_url,
                    attr=settings.xyz_attribution,
                    name=basemap_label(code, _),
                    subdomains=settings.xyz_subdomains,
                    max_zoom=20,
                    max_native_zoom=18,
                    overlay=False,
                    show=show,
                )
            )
        elif code == "tianditu":
            group = folium.FeatureGroup(name=basemap_label(code, _), show=show)
            group.overlay = False
            for layer in ("vec", "cva"):  # vector map + its annotation (place names)
                folium.TileLayer(
                    tiles=settings.tianditu(layer),
                    attr="© 天地图 Tianditu",
                    subdomains="01234567",
                    max_zoom=20,
                    max_native_zoom=18,
                    overlay=True,
                    control=False,
                ).add_to(group)
            layers.append(group)
        elif code == "amap":
            layers.append(
                folium.TileLayer(
                    tiles=settings.amap_url,
                    attr="© 高德 AutoNavi (GCJ-02)",
                    name=basemap_label(code, _),
                    subdomains="1234",
                    max_zoom=20,
                    max_native_zoom=18,
                    overlay=False,
                    show=show,
                )
            )
    return layers


# --- GCJ-02 display shift ----------------------------------------------------------------
def shift_to_gcj02(m: folium.Map) -> int:
    """Shift every overlay of ``m`` from WGS84 to GCJ-02 for display on Amap tiles.

    Handles what gridmap's builders use: GeoJson data, markers and circles, polylines and
    polygons, image overlays, TimeSliderChoropleth and TimestampedGeoJson, heat maps, the
    map's centre and its fit-bounds, and gridmap's own dynamic layers (told to ask the server
    for GCJ-02). Calling it twice does nothing the second time.

    Parameters
    ----------
    m : folium.Map
        The map, changed in place.

    Returns
    -------
    int
        The number of elements shifted.
    """
    if getattr(m, "_gridmap_display", "wgs84") == "gcj02":
        return 0
    n = 0
    for el in _walk(m):
        if isinstance(el, GridmapLayer):
            el.display = "gcj02"
            spec = getattr(el, "spec", None)
            if isinstance(spec, dict) and spec.get("bbox"):
                # the box a layer asks for is in the display's coordinates, like the view's
                # (unshifted, the server reads a box ~500 m off and drops the edge)
                (x0, y0), (x1, y1) = shift_positions(
                    [spec["bbox"][:2], spec["bbox"][2:]], lonlat=True
                )
                spec["bbox"] = [x0, y0, x1, y1]
        elif isinstance(el, TimeSliderChoropleth | TimestampedGeoJson):
            # both keep their data as JSON text once built
            el.data = json.dumps(shift_geojson(json.loads(cast(str, el.data))))
        elif isinstance(el, folium.GeoJson) and isinstance(getattr(el, "data", None), dict):
            el.data = shift_geojson(el.data)
        elif isinstance(el, folium.raster_layers.ImageOverlay):
            el.bounds = shift_nested(el.bounds, lonlat=False)
        elif type(el).__name__ == "HeatMap" and hasattr(el, "data"):
            el.data = [shift_positions(p[:2], lonlat=False) + list(p[2:]) for p in el.data]
        elif isinstance(el, folium.map.FitBounds):
            el.bounds = shift_nested(el.bounds, lonlat=False)
        elif getattr(el, "locations", None) is not None:
            el.locations = shift_nested(el.locations, lonlat=False)
        elif isinstance(el, folium.Map):
            if el.location is not None:
                el.location = shift_positions(el.location, lonlat=False)
            continue
        elif getattr(el, "location", None) is not None:
            el.location = shift_positions(el.location, lonlat=False)
        else:
            continue
        n += 1
    _mark(m, "_gridmap_display", "gcj02")
    return n


def _mark(m: folium.Map, name: str, value: object) -> None:
    """Note ``value`` on the map itself (read back with getattr), so a second call knows."""
    vars(m)[name] = value


def _walk(element: Element) -> Iterator[Any]:
    """``element`` and every element below it (of any folium class)."""
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


# --- the gridmap runtime (measure control, legends, dynamic layers) ----------------------
def runtime_js() -> str:
    """gridmap's own map JavaScript (``gridmap/maps/runtime.js``), inlined once per page.

    Returns
    -------
    str
        The script's source.
    """
    return resources.files("gridmap.maps").joinpath("runtime.js").read_text(encoding="utf-8")


class Runtime(MacroElement):
    """Puts gridmap's runtime script (and its translated strings) into the page header once."""

    _template = Template("")

    def __init__(self, strings: dict[str, str]) -> None:
        super().__init__()
        self._name = "GridmapRuntime"
        self.strings = strings

    # branca declares Element.render -> str, yet its MacroElement.render returns None
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add the runtime script and its strings to the page header (once per page).

        Parameters
        ----------
        **kwargs
            Passed on by branca's rendering (unused).
        """
        figure = cast(Figure, self.get_root())  # added to a Map, which sits in a Figure
        if "gridmap_runtime" not in figure.header._children:
            figure.header.add_child(
                Element(
                    "<script>window.GM_STRINGS = "
                    + json.dumps(self.strings, ensure_ascii=False)
                    + ";\n"
                    + runtime_js()
                    + "</script>"
                ),
                name="gridmap_runtime",
            )
        super().render(**kwargs)


class GridmapLayer:
    """Mixin of gridmap's elements that talk to the runtime; ``display`` is the CRS the
    server should send coordinates in (set to ``gcj02`` by :func:`shift_to_gcj02`)."""

    display = "wgs84"


class MeasureControl(GridmapLayer, MacroElement):
    """Measure a distance (click points, double-click to finish) or an area."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        new GM.MeasureControl({position: 'topleft'}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridmapMeasure"


class Legend(GridmapLayer, MacroElement):
    """A categorical legend: ``items`` are (colour, label, shape) with shape one of
    ``box``, ``line``, ``dot``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        new GM.Legend({position: 'bottomright', title: {{ this.title|tojson }},
                       items: {{ this.items|tojson }}}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self, title: str, items: Iterable[tuple[str, str, str]]) -> None:
        super().__init__()
        self._name = "GridmapLegend"
        self.title = title
        self.items = [list(i) for i in items]


class ScaleBar(GridmapLayer, MacroElement):
    """A metric scale bar (m / km)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, maxWidth: 150}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridmapScale"


class ReadySignal(GridmapLayer, MacroElement):
    """Marks the map ready (``window.gmReady``, event ``gridmap:ready``) once its dynamic
    layers have drawn their first data; browser tests and the benchmark wait for it."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        GM.mapCreated({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridmapReady"


def _strings(_: Gettext) -> dict[str, str]:
    return {
        "measure": _("Measure distance or area"),
        "distance": _("Distance"),
        "area": _("Area"),
        "finish": _("Finish"),
        "clear": _("Clear"),
        "measure_hint": _("Click on the map to add points; double-click to finish."),
        "loading": _("Loading…"),
        "load_failed": _("Could not load the layer."),
        "zoom_in_for": _("Zoom in to see buildings"),
        "zoom_in": _("Zoom in"),
        "zoom_out": _("Zoom out"),
    }


# folium.Map links Bootstrap, jQuery, Font Awesome and Awesome Markers on every page; gridmap's
# pages use none of them unless a marker icon or an HTML popup is on the map.
_ICON_ASSETS = {
    "awesome_markers",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}
_UNUSED_ASSETS = {"bootstrap", "bootstrap_css"}


def trim_assets(m: folium.Map) -> list[str]:
    """Drop the map's default scripts and styles nothing on it uses.

    A phone downloads and parses less: Bootstrap alone is 250 kB.

    Parameters
    ----------
    m : folium.Map
        The map, changed in place.

    Returns
    -------
    list of str
        The names of the assets dropped.
    """
    elements = list(_walk(m))
    drop = set(_UNUSED_ASSETS)
    if not any(isinstance(e, folium.Icon) or type(e).__name__ == "BeautifyIcon" for e in elements):
        drop |= _ICON_ASSETS
    if not any(isinstance(e, folium.Popup) for e in elements):
        drop.add("jquery")
    m.default_js = [(n, u) for n, u in m.default_js if n not in drop]
    m.default_css = [(n, u) for n, u in m.default_css if n not in drop]
    return sorted(drop)


def finish_map(
    m: folium.Map,
    *,
    basemap: str = "none",
    settings: BasemapSettings | None = None,
    _: Gettext = _identity,
    legends: Iterable[Legend] = (),
    fullscreen: bool = True,
    measure: bool = True,
) -> folium.Map:
    """Give ``m`` the standard set of basemaps and controls.

    That is: basemap layers, GCJ-02 shift on Amap, scale bar, fullscreen, measure tool, the
    given legends and exactly one layer control (last, so that it lists every layer). Safe to
    call on any builder's map, also one that already added a LayerControl of its own; calling
    it twice changes nothing more.

    Parameters
    ----------
    m : folium.Map
        The map, changed in place.
    basemap : str
        The chosen basemap code.
    settings : BasemapSettings, optional
        What this installation offers; the default settings when None.
    _ : callable
        Translation of the fixed texts.
    legends : iterable of Legend
        Legends added to the map.
    fullscreen : bool
        Add the fullscreen button.
    measure : bool
        Add the measuring tool.

    Returns
    -------
    folium.Map
        ``m`` itself.
    """
    if getattr(m, "_gridmap_finished", False):
        return m
    settings = settings or BasemapSettings()
    basemap = settings.resolve(basemap)
    # our own metric-only scale bar instead of Leaflet's metric + imperial default
    m.control_scale = False
    m.options.pop("control_scale", None)
    ScaleBar().add_to(m)
    if display_crs(basemap) == "gcj02":
        shift_to_gcj02(m)
    Runtime(_strings(_)).add_to(m)
    for layer in basemap_layers(basemap, settings, _=_):
        layer.add_to(m)
    if fullscreen:
        Fullscreen(
            position="topleft", title=_("Full screen"), title_cancel=_("Exit full screen")
        ).add_to(m)
    if measure:
        MeasureControl().add_to(m)
    for legend in legends:
        legend.add_to(m)
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    ReadySignal().add_to(m)
    trim_assets(m)
    _mark(m, "_gridmap_finished", True)
    _mark(m, "_gridmap_basemap", basemap)
    return m
