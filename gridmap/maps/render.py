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
    """Render ``m`` and split it so a page can place it inside its own layout.

    Parameters
    ----------
    m : folium.Map
        The finished map.

    Returns
    -------
    MapParts
        The tags for ``<head>``, the map's ``<div>`` and the script that builds it.
    """
    figure = cast(Figure, m.get_root())  # folium puts every Map in a Figure
    for child in figure._children.values():
        child.render()
    return MapParts(
        header=figure.header.render(),
        body=figure.html.render(),
        script=figure.script.render(),
    )
