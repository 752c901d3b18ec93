"""What OSM tags say: names, addresses and numbers, and which objects are entrances, points
of interest or areas worth keeping (pure functions of a tag dict)."""

from __future__ import annotations

import re

# Barrier values that are a way through a fence or wall (gate-like); `entrance=*` nodes count too.
GATE_BARRIERS = frozenset(
    {
        "gate",
        "lift_gate",
        "swing_gate",
        "sliding_gate",
        "entrance",
        "turnstile",
        "full-height_turnstile",
        "kissing_gate",
        "stile",
        "hampshire_gate",
        "bump_gate",
    }
)
# Any value of these keys makes a node or area a point of interest ...
POI_KEYS = (
    "amenity",
    "shop",
    "healthcare",
    "education",
    "leisure",
    "office",
    "tourism",
    "craft",
    "social_facility",
)
# ... and so do these key=value pairs (transport, and key-site objects such as hydrants).
POI_TAGS = frozenset(
    {
        ("railway", "station"),
        ("railway", "halt"),
        ("public_transport", "station"),
        ("public_transport", "platform"),
        ("highway", "bus_stop"),
        ("emergency", "fire_hydrant"),
        ("man_made", "surveillance"),
    }
)
# Street furniture that would only clutter the POI table.
POI_NOISE = frozenset(
    {
        ("amenity", "bench"),
        ("amenity", "waste_basket"),
        ("amenity", "parking_space"),
        ("amenity", "grit_bin"),
    }
)
AREA_KEYS = ("landuse", "amenity", "leisure", "boundary")
# Keys never copied into a `tags` dict: names are columns, the rest is editing metadata.
_NOISE_KEY = re.compile(
    r"^(name|name:.*|.*_name(:.*)?|payment:.*|brand:.*|wikidata|wikipedia|"
    r"source(:.*)?|note(:.*)?|fixme|FIXME|check_date(:.*)?|survey:date)$"
)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def osm_name(tags: dict[str, str]) -> str | None:
    """Display name, Chinese first: ``name`` (in China usually Chinese), then ``name:zh``.

    Parameters
    ----------
    tags : dict
        The object's OSM tags.

    Returns
    -------
    str or None
    """
    return tags.get("name") or tags.get("name:zh") or tags.get("name:zh-Hans") or None


def first_number(value: str | None) -> float | None:
    """First number in a tag value ('6', '6.5', '30 m', '12;14', '18层') or None.

    Parameters
    ----------
    value : str or None
        The tag value.

    Returns
    -------
    float or None
    """
    if not value:
        return None
    match = _NUMBER.search(value.replace(",", "."))
    return float(match.group()) if match else None


def chinese_address(tags: dict[str, str]) -> str | None:
    """An address in Chinese order (province city district street number), or None.

    ``addr:full`` wins; a purely numeric house number gets '号'; repeated parts
    (北京市 as both province and city) are written once.

    Parameters
    ----------
    tags : dict
        The object's OSM tags.

    Returns
    -------
    str or None
    """
    if tags.get("addr:full"):
        return tags["addr:full"]
    parts: list[str] = []
    for key in (
        "addr:province",
        "addr:city",
        "addr:district",
        "addr:subdistrict",
        "addr:street",
        "addr:place",
        "addr:housenumber",
    ):
        value = (tags.get(key) or "").strip()
        if not value or value in parts:
            continue
        if key == "addr:housenumber" and value.isdigit():
            value += "号"
        parts.append(value)
    if not any(k in tags for k in ("addr:street", "addr:place", "addr:housenumber")):
        return None  # province/city alone is no address
    return "".join(parts) or None


def key_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags minus names and editing metadata (kept in the ``tags`` column).

    Parameters
    ----------
    tags : dict
        The object's OSM tags.

    Returns
    -------
    dict
    """
    return {k: v for k, v in tags.items() if not _NOISE_KEY.match(k)}


def is_entrance(tags: dict[str, str]) -> bool:
    """Whether a node is a way into a compound or building (a gate or an entrance).

    Parameters
    ----------
    tags : dict
        The node's OSM tags.

    Returns
    -------
    bool
    """
    return tags.get("barrier") in GATE_BARRIERS or tags.get("entrance", "no") != "no"


def is_poi(tags: dict[str, str]) -> bool:
    """Whether an object is a point of interest worth keeping (not street furniture).

    Parameters
    ----------
    tags : dict
        The object's OSM tags.

    Returns
    -------
    bool
    """
    hit = any(k in tags for k in POI_KEYS) or any(kv in POI_TAGS for kv in tags.items())
    return hit and not any(kv in POI_NOISE for kv in tags.items())


def area_kind(tags: dict[str, str]) -> str | None:
    """'key=value' of the first AREA_KEYS tag, or None when the area is none of them.

    Parameters
    ----------
    tags : dict
        The area's OSM tags.

    Returns
    -------
    str or None
    """
    for key in AREA_KEYS:
        if key in tags:
            return f"{key}={tags[key]}"
    return None
