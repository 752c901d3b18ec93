"""Response headers that make a page hard to abuse: a Content-Security-Policy whose only
inline scripts are the app's own (a fresh nonce per response), no MIME sniffing, no
framing, and no full URLs in the Referer.

Templates mark their scripts ``<script nonce="{{ csp_nonce() }}">``; the map header
folium renders gets the nonce in :func:`web.maps.render_map`. A ``<script>`` that
arrived any other way (a name carrying markup that escaped escaping) does not run.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, g

_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)", re.IGNORECASE)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_nonce(html: str) -> str:
    """The app's own generated markup (folium's header) with this response's nonce."""
    return _SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', html)


def tile_origins(urls) -> list[str]:
    """Origins of the configured basemap tile URLs for img-src (``t{s}.host`` -> ``*.host``)."""
    out = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
        if parts.scheme in ("http", "https") and host:
            out.append(f"{parts.scheme}://{host}")
    return sorted(set(out))


def policy(nonce: str, image_origins: list[str]) -> str:
    images = " ".join(["'self'", "data:", "blob:", *image_origins])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",  # folium and Leaflet position with style attributes
            f"img-src {images}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _headers(response):
        settings = current_app.config.get("BASEMAPS")
        origins = (
            tile_origins(
                [getattr(settings, a, None) for a in ("xyz_url", "tianditu_url", "amap_url")]
            )
            if settings
            else []
        )
        response.headers.setdefault("Content-Security-Policy", policy(csp_nonce(), origins))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
