"""gzip for text, JSON and vector tiles (waitress does not compress).

Phones on a weak signal and the 2 MB budget of a large street both need it: GeoJSON and
MVT shrink 3-6x, Leaflet and Bootstrap about 4x. Static files are compressed once per
file version and kept in memory.
"""

from __future__ import annotations

import gzip

from flask import Flask, request

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/vnd.mapbox-vector-tile",
    "image/svg+xml",
)
MIN_BYTES = 1024
_static_cache: dict[tuple, bytes] = {}


def init_app(app: Flask) -> None:
    app.config.setdefault("SEND_FILE_MAX_AGE_DEFAULT", 3600)

    @app.after_request
    def _gzip(response):
        if (
            "gzip" not in request.headers.get("Accept-Encoding", "")
            or response.status_code != 200
            or "Content-Encoding" in response.headers
            or not (response.mimetype or "").startswith(COMPRESSIBLE)
        ):
            return response
        static = request.endpoint == "static"
        if response.direct_passthrough:
            if not static:
                return response
            response.direct_passthrough = False
        key = (request.path, response.headers.get("ETag"), response.headers.get("Last-Modified"))
        data = _static_cache.get(key) if static else None
        if data is None:
            raw = response.get_data()
            if len(raw) < MIN_BYTES:
                return response
            data = gzip.compress(raw, compresslevel=6)
            if static:
                _static_cache[key] = data
        original = response.response
        response.set_data(data)
        if hasattr(original, "close"):  # the static file's wrapper: release the file now
            original.close()
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Content-Length"] = str(len(data))
        response.vary.add("Accept-Encoding")
        return response
