"""Turning a folium Map into the three parts a page template embeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import folium
from branca.element import Figure


@dataclass(frozen=True)
class MapParts:
    header: str  # <link>/<script> tags and CSS for <head>
    body: str  # the map <div>
    script: str  # the JavaScript that builds the map


def map_parts(m: folium.Map) -> MapParts:
    """Render ``m`` and split it so a page can place it inside its own layout."""
    figure = cast(Figure, m.get_root())  # folium puts every Map in a Figure
    for child in figure._children.values():
        child.render()
    return MapParts(
        header=figure.header.render(),
        body=figure.html.render(),
        script=figure.script.render(),
    )
