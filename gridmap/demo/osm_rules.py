"""The tables and sizes the OSM demo builder works by, and the pure helpers that read
OSM tags (building use and floors, facility categories, Chinese names)."""

from __future__ import annotations

import math
import re

from gridmap.walkable import private, walkable

CRS = "EPSG:4326"


# Roads that bound street blocks: the public street grid (no links, service roads or paths).
BLOCK_HIGHWAYS = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "road",
    }
)


# --- sizes (local defaults) ----------------------------------------------------
MIN_BLOCK_M2 = 2_000.0  # smaller faces are slivers (medians, ramps) ...


MIN_BLOCK_WIDTH_M = 12.0  # ... and so are faces thinner than this (2 x area / perimeter)


GRID_HOUSEHOLDS = (300, 500)  # aim of a grid (domain: 300-500 households per grid member)


COMMUNITY_HOUSEHOLDS = 2_000  # aim of a community; at least two communities are made


M2_PER_DWELLING = 90.0


GATE_SNAP_M = 5.0


FRAME_MARGIN_M = 30.0  # study frame = buildings' bounding box plus this margin


WALK_SPEED_KMH = 4.32  # 1.2 m/s: a patroller's pace


# --- buildings -----------------------------------------------------------------
# building=* -> vocab.BUILDING_USES; 'yes' and unknown values are decided by tags/landuse.
BUILDING_USE = {
    **dict.fromkeys(
        (
            "apartments",
            "residential",
            "house",
            "detached",
            "semidetached_house",
            "terrace",
            "dormitory",
            "bungalow",
            "villa",
        ),
        "residential",
    ),
    **dict.fromkeys(
        ("commercial", "retail", "supermarket", "kiosk", "hotel", "mall"), "commercial"
    ),
    "office": "office",
    **dict.fromkeys(
        (
            "school",
            "university",
            "college",
            "kindergarten",
            "hospital",
            "public",
            "civic",
            "government",
            "train_station",
            "transportation",
            "sports_hall",
            "library",
            "fire_station",
            "temple",
            "church",
        ),
        "public",
    ),
    **dict.fromkeys(("industrial", "warehouse", "factory", "manufacture", "service"), "industrial"),
    "mixed_use": "mixed",
}


# Other tags on a building=yes footprint that say what it is used for.
USE_FROM_TAGS = {
    "shop": "commercial",
    "office": "office",
    "amenity": "public",
    "tourism": "commercial",
    "healthcare": "public",
}


# landuse=* (or institution ground) a building=yes stands in.
USE_FROM_LANDUSE = {
    "landuse=residential": "residential",
    "landuse=commercial": "commercial",
    "landuse=retail": "commercial",
    "landuse=industrial": "industrial",
    **dict.fromkeys(
        (
            "amenity=university",
            "amenity=college",
            "amenity=school",
            "amenity=kindergarten",
            "amenity=hospital",
            "amenity=research_institute",
        ),
        "public",
    ),
}


# Floors when OSM has neither building:levels nor height: by building=* value, then by use.
FLOORS_BY_BUILDING = {
    "house": 2,
    "detached": 2,
    "villa": 3,
    "bungalow": 1,
    "apartments": 12,
    "residential": 6,
    "dormitory": 6,
    "retail": 2,
    "kiosk": 1,
    "garage": 1,
    "warehouse": 1,
    "kindergarten": 3,
    "school": 4,
    "university": 5,
    "hospital": 6,
    "office": 8,
    "transportation": 2,
    "train_station": 2,
}


FLOORS_BY_USE = {
    "residential": 6,
    "mixed": 6,
    "commercial": 3,
    "office": 6,
    "public": 4,
    "industrial": 2,
    "other": 3,
}


# One household per detached house, not area / 90 m2.
SINGLE_DWELLING = frozenset({"house", "detached", "villa", "bungalow"})


# --- compounds -----------------------------------------------------------------
# Areas that become compounds (gated 小区 and institution grounds), with a fallback name.
COMPOUND_KINDS = {
    "landuse=residential": "住宅小区",
    "amenity=school": "学校",
    "amenity=kindergarten": "幼儿园",
    "amenity=hospital": "医院",
    "amenity=university": "高校",
    "amenity=research_institute": "科研院所",
}


MIN_COMPOUND_PIECE_M2 = 300.0


PEDESTRIAN_GATES = frozenset({"turnstile", "full-height_turnstile", "kissing_gate", "stile"})


# --- POI tag tables ------------------------------------------------------------
# A rule is (key, value) -> outcome; value '*' matches any value and ';'-lists match
# item by item. Rules are tried in order; the first that gives a category wins.
# An outcome is a category code, None (explicitly not one: stop), or a dict from a
# substring of the Chinese name to the outcome, '' being the default when no substring
# matches (without '' the search goes on with the next rule).
_HEALTH_BY_NAME = {
    "社区卫生服务中心": "health_center",
    "卫生服务中心": "health_center",
    "社区卫生服务站": "health_station",
    "卫生服务站": "health_station",
    "卫生院": "health_center",
    "": "clinic",
}


_ELDERLY_BY_NAME = {
    "日间照料": "elderly_daycare",
    "养老驿站": "elderly_daycare",
    "养老": "nursing_home",
    "敬老": "nursing_home",
    "福利院": "nursing_home",
}


_SERVICE_BY_NAME = {
    "街道办": "street_service_center",
    "街道": "street_service_center",
    "党群服务": "community_service_station",
    "社区服务": "community_service_station",
    "居委会": "community_service_station",
    "文化": "culture_station",
}


FACILITY_RULES: dict[tuple[str, str], str | dict | None] = {
    ("amenity", "hospital"): _HEALTH_BY_NAME,
    ("amenity", "clinic"): _HEALTH_BY_NAME,
    ("amenity", "doctors"): _HEALTH_BY_NAME,
    ("healthcare", "centre"): _HEALTH_BY_NAME,
    ("healthcare", "hospital"): _HEALTH_BY_NAME,
    ("healthcare", "clinic"): _HEALTH_BY_NAME,
    ("healthcare", "doctor"): _HEALTH_BY_NAME,
    ("amenity", "school"): {
        "小学": "primary_school",
        "初中": "junior_middle_school",
        "中学": "junior_middle_school",
        "九年一贯": "primary_school",
    },
    ("amenity", "kindergarten"): {"托儿所": "nursery", "托育": "nursery", "": "kindergarten"},
    ("amenity", "childcare"): "nursery",
    ("amenity", "marketplace"): "wet_market",
    ("shop", "greengrocer"): "wet_market",
    ("shop", "supermarket"): {"生鲜": "wet_market", "": "supermarket"},
    ("shop", "convenience"): "convenience_store",
    ("shop", "mall"): "shopping",
    ("shop", "department_store"): "shopping",
    ("highway", "bus_stop"): "bus_stop",
    ("station", "subway"): "metro_station",
    ("railway", "station"): {"地铁": "metro_station"},
    ("amenity", "police"): "police_station",
    ("amenity", "bank"): "bank",
    ("amenity", "post_office"): "post_office",
    ("amenity", "parcel_locker"): "express",
    ("shop", "courier"): "express",
    ("leisure", "stadium"): "sports_large",
    ("leisure", "sports_centre"): {
        "健身器材": "fitness",
        "健身苑": "fitness",
        "健身园": "fitness",
        "": "sports_medium",
    },
    ("leisure", "pitch"): "sports_small",
    ("leisure", "fitness_station"): "fitness",
    ("amenity", "toilets"): "toilet",
    ("amenity", "parking"): "parking",
    ("amenity", "bicycle_parking"): "parking",
    ("amenity", "recycling"): "recycling",
    ("amenity", "waste_disposal"): "refuse",
    ("amenity", "waste_transfer_station"): "refuse",
    ("amenity", "nursing_home"): "nursing_home",
    ("social_facility", "nursing_home"): "nursing_home",
    ("social_facility", "assisted_living"): "nursing_home",
    ("social_facility", "*"): _ELDERLY_BY_NAME,
    ("amenity", "social_facility"): _ELDERLY_BY_NAME,
    ("amenity", "community_centre"): {**_SERVICE_BY_NAME, "": "community_service_station"},
    ("amenity", "social_centre"): {**_SERVICE_BY_NAME, "": "culture_station"},
    ("amenity", "townhall"): _SERVICE_BY_NAME,
    ("office", "government"): _SERVICE_BY_NAME,
    ("amenity", "arts_centre"): "cultural_center",
    ("amenity", "canteen"): "canteen",
    ("amenity", "restaurant"): {
        "社区食堂": "canteen",
        "老年餐桌": "canteen",
        "长者食堂": "canteen",
    },
}


KEY_SITE_RULES: dict[tuple[str, str], str | dict | None] = {
    ("amenity", "restaurant"): "restaurant",
    ("amenity", "fast_food"): "restaurant",
    ("amenity", "food_court"): "restaurant",
    ("amenity", "cafe"): "small_venue",
    ("amenity", "bar"): "small_venue",
    ("amenity", "pub"): "small_venue",
    ("amenity", "internet_cafe"): "internet_cafe",
    ("amenity", "nightclub"): "entertainment",
    ("amenity", "karaoke_box"): "entertainment",
    ("amenity", "cinema"): "entertainment",
    ("amenity", "theatre"): "entertainment",
    ("amenity", "casino"): "entertainment",
    ("leisure", "amusement_arcade"): "entertainment",
    ("amenity", "marketplace"): "farmers_market",
    ("amenity", "school"): "school",
    ("amenity", "kindergarten"): "kindergarten",
    ("amenity", "childcare"): "kindergarten",
    ("amenity", "fuel"): "hazardous_chemicals",  # filling stations: 危化品经营场所
    ("landuse", "construction"): "construction_site",
    ("building", "construction"): "construction_site",
    ("emergency", "fire_hydrant"): "fire_hydrant",
    ("amenity", "fire_station"): "fire_station",
    ("man_made", "surveillance"): "cctv",
    ("amenity", "nursing_home"): "nursing_home",
    ("social_facility", "nursing_home"): "nursing_home",
    ("social_facility", "*"): {"养老": "nursing_home", "敬老": "nursing_home"},
    # 三小场所: small shops, salons, small hotels; large stores are not.
    ("shop", "supermarket"): None,
    ("shop", "mall"): None,
    ("shop", "department_store"): None,
    ("shop", "*"): "small_venue",
    ("tourism", "guest_house"): "small_venue",
    ("tourism", "hostel"): "small_venue",
    ("tourism", "motel"): "small_venue",
}


HAZARD_TEMPLATES = {
    "fire": ("楼道堆放杂物，堵塞消防通道", "消防通道被车辆占用", "灭火器过期未更换"),
    "gas": ("餐饮店燃气软管老化", "居民家中燃气报警器缺失"),
    "electrical": ("电动自行车楼道内充电", "私拉电线“飞线”充电", "配电箱门损坏未上锁"),
    "structural": ("外墙瓷砖空鼓，存在脱落风险", "屋顶防水层破损渗漏"),
    "public_order": ("小区门禁损坏，外来人员随意进出", "围墙破损形成缺口"),
    "traffic": ("路口违停车辆遮挡视线", "人行道井盖松动"),
    "sanitation": ("垃圾桶满溢未及时清运", "楼道小广告乱贴"),
    "other": ("路灯不亮", "健身器材损坏"),
}


_CJK = re.compile(r"[\u4e00-\u9fff]")


_NUMERALS = "零一二三四五六七八九十"


def tag_text(value, max_len: int | None = None) -> str | None:
    """A tag value as str, None for None/NaN/empty.

    Parameters
    ----------
    value : object
        The tag value.
    max_len : int, optional
        Longest text kept (the database column width).

    Returns
    -------
    str or None
        The text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = str(value).strip()[:max_len]
    return value or None


def chinese_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 21 -> 二十一 (for names; up to 99).

    Parameters
    ----------
    n : int
        The number.

    Returns
    -------
    str
        The numeral.
    """
    if n <= 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    return (_NUMERALS[tens] if tens > 1 else "") + "十" + (_NUMERALS[ones] if ones else "")


def is_walkable(highway: str | None, foot: str | None, access: str | None) -> bool:
    """Whether anyone may walk along an OSM way (``gridmap.walkable``).

    Private roads count: they are kept and flagged, and walked only inside a compound.

    Parameters
    ----------
    highway, foot, access : str or None
        The way's tags.

    Returns
    -------
    bool
        True when the way is walkable.
    """
    return bool(walkable([highway], [foot], [access], in_compound=True)[0])


def road_access(foot: str | None, access: str | None) -> str | None:
    """City ``access`` column: 'private' when the public may not use the way, else None.

    Parameters
    ----------
    foot, access : str or None
        The way's tags.

    Returns
    -------
    str or None
        ``private`` or None.
    """
    return "private" if private([foot], [access])[0] else None


def match_rules(tags: dict, name: str | None, rules: dict) -> str | None:
    """Category from a rule table (see FACILITY_RULES for the format), or None.

    Parameters
    ----------
    tags : dict
        The feature's OSM tags.
    name : str or None
        Its name (some rules match names).
    rules : dict
        The rule table.

    Returns
    -------
    str or None
        The category code.
    """
    name = name or ""
    for (key, value), outcome in rules.items():
        have = tag_text(tags.get(key))
        if have is None or (value != "*" and value not in have.split(";")):
            continue
        if isinstance(outcome, dict):
            hit = next((c for sub, c in outcome.items() if sub and sub in name), "")
            if hit == "" and "" not in outcome:
                continue
            return hit if hit != "" else outcome[""]
        return outcome
    return None


def building_use(building: str | None, tags: dict, landuse_kind: str | None) -> str:
    """vocab.BUILDING_USES code from building=*, other tags, then the surrounding landuse.

    Parameters
    ----------
    building : str or None
        The building=* value.
    tags : dict
        The building's other tags.
    landuse_kind : str or None
        Kind of the landuse area around it.

    Returns
    -------
    str
        The use code.
    """
    building = tag_text(building) or "yes"
    if building in BUILDING_USE:
        return BUILDING_USE[building]
    for key, use in USE_FROM_TAGS.items():
        if tag_text(tags.get(key)):
            return use
    return USE_FROM_LANDUSE.get(landuse_kind or "", "other")


def building_floors(levels, height, building: str | None, use: str) -> int:
    """Floors from building:levels, else height / 3 m, else a default by type.

    Parameters
    ----------
    levels : object
        The building:levels tag.
    height : object
        The height tag, in metres.
    building : str or None
        The building=* value.
    use : str
        The building's use code.

    Returns
    -------
    int
        Floors (at least 1).
    """
    for value, per_floor in ((levels, 1.0), (height, 3.0)):
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and value > 0:
            return max(1, round(float(value) / per_floor))
    return FLOORS_BY_BUILDING.get(tag_text(building) or "", FLOORS_BY_USE.get(use, 3))


def chinese_name(name: str | None, category_zh: str) -> str:
    """The real name when it has Chinese characters; else the category added to it.

    Parameters
    ----------
    name : str or None
        The OSM name.
    category_zh : str
        The category's Chinese name.

    Returns
    -------
    str
        The name shown.
    """
    name = tag_text(name)
    if name is None:
        return f"{category_zh}（OSM未命名）"
    return name if _CJK.search(name) else f"{name}（{category_zh}）"


def osm_code(osm_type: str, osm_id) -> str:
    """The code of an OSM feature in the city: ``osm-`` + type letter + id.

    Parameters
    ----------
    osm_type : str
        ``node``, ``way`` or ``relation``.
    osm_id : int
        The OSM id.

    Returns
    -------
    str
        The code.
    """
    return f"osm-{str(osm_type)[0]}{int(osm_id)}"
