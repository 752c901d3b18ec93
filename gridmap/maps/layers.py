"""Map layers that the browser loads from gridmap's endpoints instead of embedding them.

A page with 50,000 buildings cannot embed them all (the plain folium way writes every
coordinate into the HTML). These folium layers carry only a URL and a style spec:

* :class:`DynamicGeoJson` asks ``url?bbox=..&zoom=..&display=..`` whenever the view leaves
  what it has, and the server answers with simplified, rounded GeoJSON holding only the
  properties the style, tooltip and popup need;
* :class:`VectorTiles` draws Mapbox vector tiles (``url`` with ``{z}/{x}/{y}``) on canvas
  with gridmap's runtime; a click fetches the feature's details from ``popup_url``;
* :class:`PointPicker` lets a click on the map fill two form inputs (report a hazard).

Styles are JSON specs the runtime evaluates per feature, e.g.
``{"fillColor": {"property": "households", "stops": [[0, "#ffffcc"], [400, "#bd0026"]]}}``
or ``{"color": {"property": "status", "map": {...}, "default": "#888"}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from branca.element import MacroElement
from folium.map import Layer
from jinja2 import Template

from gridmap.maps.standard import GridmapLayer


def ramp(values: Sequence[float], colors: Sequence[str]) -> list[list[Any]]:
    """Evenly spaced colour stops from 0 to max(values) (at least 1).

    Parameters
    ----------
    values : sequence of float
        The values the scale must cover (NaN is ignored).
    colors : sequence of str
        The colours, lowest first.

    Returns
    -------
    list of list
        [value, colour] stops for a style's ``stops``.
    """
    vmax = max([1.0, *[float(v) for v in values if v == v]])
    n = len(colors)
    return [[round(vmax * i / (n - 1), 3), c] for i, c in enumerate(colors)]


def popup_spec(
    fields: Sequence[str], labels: Sequence[str], *, link: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Popup of a dynamic layer: a table of ``fields`` labelled ``labels``.

    Parameters
    ----------
    fields : sequence of str
        The properties shown.
    labels : sequence of str
        Their labels, in the same order.
    link : dict, optional
        ``{"field": f, "href": "/grid/__ID__", "label": "Open"}``: a link below the table,
        ``__ID__`` replaced by the field's value.

    Returns
    -------
    dict
        The popup spec the runtime reads.
    """
    spec: dict[str, Any] = {"fields": list(fields), "labels": list(labels)}
    if link:
        spec["link"] = link
    return spec


@dataclass(frozen=True)
class LayerFetch:
    """How the browser fetches a dynamic layer.

    ``params`` go with every request; ``bbox`` (minx, miny, maxx, maxy in EPSG:4326) is
    the box asked for; ``once=True`` (small layers such as grids) fetches ``bbox`` once
    and again only after the zoom changed by three levels (coarser or finer
    simplification), otherwise the layer refetches when the view leaves what was fetched
    (half a screen of margin); below ``min_zoom`` nothing is fetched.
    """

    params: dict[str, Any] | None = None
    bbox: Sequence[float] | None = None
    once: bool = False
    min_zoom: int | None = None


class DynamicGeoJson(GridmapLayer, Layer):
    """A GeoJSON layer fetched from ``url`` by bbox and zoom (see :class:`LayerFetch`),
    an overlay listed in the layer control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = GM.geojsonLayer({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(
        self,
        url: str,
        *,
        name: str,
        style: dict[str, Any],
        fetch: LayerFetch = LayerFetch(),
        popup: dict[str, Any] | None = None,
        tooltip: str | None = None,
        label: str | None = None,
        point_style: dict[str, Any] | None = None,
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DynamicGeoJson"
        self.url = url
        self.spec = {
            "url": url,
            "style": style,
            "popup": popup,
            "tooltip": tooltip,
            "label": label,
            "pointStyle": point_style,
            "params": fetch.params or {},
            "bbox": list(fetch.bbox) if fetch.bbox is not None else None,
            "once": fetch.once,
            "minZoom": fetch.min_zoom,
        }

    @property
    def options(self) -> dict[str, Any]:
        """What the runtime needs to load the layer: its spec and the display CRS."""
        return {**self.spec, "display": self.display}


class VectorTiles(GridmapLayer, Layer):
    """Mapbox vector tiles from ``url`` (``.../{z}/{x}/{y}.mvt``), layer ``layer_name``
    inside the tiles, decoded and drawn on canvas by gridmap's runtime (one canvas path per
    colour, not one Leaflet object per feature); a click finds the feature in its tile and
    shows its details from ``popup_url``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = GM.vectorLayer({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(
        self,
        url: str,
        *,
        name: str,
        layer_name: str,
        style: dict[str, Any],
        popup_url: str | None = None,
        popup: dict[str, Any] | None = None,
        min_zoom: int | None = None,
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VectorTiles"
        self.spec = {
            "url": url,
            "layerName": layer_name,
            "style": style,
            "popupUrl": popup_url,
            "popup": popup,
            "minZoom": min_zoom,
        }

    @property
    def options(self) -> dict[str, Any]:
        """What the runtime needs to load the tiles: their spec and the display CRS."""
        return {**self.spec, "display": self.display}


class PointPicker(GridmapLayer, MacroElement):
    """A click on the map drops a draggable marker and writes its latitude and longitude
    into the inputs with ids ``lat_input`` and ``lon_input`` (in the display CRS, which the
    page's form sends along as ``display``)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        window.gmPicker = GM.pickPoint({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}""")

    def __init__(self, lat_input: str = "lat", lon_input: str = "lon"):
        super().__init__()
        self._name = "PointPicker"
        self.lat_input = lat_input
        self.lon_input = lon_input

    @property
    def options(self) -> dict[str, Any]:
        """Ids of the form's latitude and longitude inputs and the display CRS."""
        return {"latInput": self.lat_input, "lonInput": self.lon_input, "display": self.display}
