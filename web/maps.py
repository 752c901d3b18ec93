"""Every map page goes through here: the user's basemap, the standard controls, assets from
our own server, and the three parts a template embeds.

    m = some_builder(..., _=_)            # a pure builder from gridmap.maps
    return render_template("x.html", map=render_map(m))
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from flask_babel import gettext as _

from geodata.db.layers import display_bbox_to_storage
from gridmap import vector
from gridmap.crs import gcj02_to_wgs84
from gridmap.maps.offline import localize_assets
from gridmap.maps.render import MapParts, map_parts
from gridmap.maps.standard import BasemapSettings, Legend, display_crs, finish_map
from web.security import add_nonce


def basemap_settings() -> BasemapSettings:
    return current_app.config["BASEMAPS"]


def user_basemap() -> str:
    """The logged-in user's basemap if this installation offers it, else ``none``."""
    user = g.get("user")
    return basemap_settings().resolve(user.basemap if user is not None else None)


def current_display() -> str:
    """``gcj02`` when the user's basemap needs overlays shifted, else ``wgs84``."""
    return display_crs(user_basemap())


def requested_display() -> str:
    """The coordinates a fetch asks for (``display=gcj02``, else ``wgs84``)."""
    return "gcj02" if request.args.get("display") == "gcj02" else "wgs84"


def static_root() -> str:
    return url_for("static", filename="").rstrip("/")


def render_map(m, *, legends: list[Legend] | tuple = ()) -> MapParts:
    """Finish ``m`` (basemap, legend, scale, fullscreen, measure, layer control), point its
    assets at /static/vendor and split it for a template."""
    finish_map(m, basemap=user_basemap(), settings=basemap_settings(), _=_, legends=legends)
    localize_assets(m, static_root())
    parts = map_parts(m)
    # folium's own header and body scripts are the app's: they run under this page's nonce
    return MapParts(header=add_nonce(parts.header), body=add_nonce(parts.body), script=parts.script)


def point_from_display(lon: float, lat: float, display: str | None) -> tuple[float, float]:
    """A point clicked on a map back in storage coordinates (WGS84)."""
    if (display or request.form.get("display")) == "gcj02":
        x, y = gcj02_to_wgs84(lon, lat)
        return float(x), float(y)
    return lon, lat


def layer_response(frame, props):
    """A page's map layer (``frame`` in EPSG:4326, the ``props`` it sends) as GeoJSON: the
    features in the request's bbox (in the display's coordinates), simplified for its zoom,
    shifted for the display."""
    display = requested_display()
    if request.args.get("bbox"):
        x0, y0, x1, y1 = display_bbox_to_storage(vector.parse_bbox(request.args["bbox"]), display)
        frame = frame.cx[x0:x1, y0:y1]
    body = vector.feature_collection(
        frame, props, zoom=vector.parse_zoom(request.args.get("zoom")), display=display
    )
    for feature in body["features"]:  # an empty value is left out (popups skip it anyway)
        feature["properties"] = {k: v for k, v in feature["properties"].items() if v is not None}
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, max-age=30"
    return response
