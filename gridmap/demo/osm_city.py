"""A demo street office built from real OpenStreetMap features plus synthetic people.

``city_from_osm`` takes the GeoDataFrames that ``geodata.osm.read_osm`` produces (it
does not import geodata: pass the frames) and returns the same ``City`` structure as
the synthetic demo:

* roads: walkable OSM ways, split at junctions (shared OSM nodes);
* street blocks: faces of the street network (no footways/service roads), slivers
  merged into their neighbour, blocks with too many homes cut in two (recursively);
* grids: adjacent blocks grown into groups of ~300-500 synthesized households;
  communities: adjacent grids grown to ~2,000 households (at least two); one street
  and one district around them (grid ``target_households`` = its households to the nearest 50 within 300-500,
  leaders synthetic); codes as GB/T 30428.1-style 15 digits
  (6 district + 3 street + 3 community + 3 grid), numbered west->east in rows north->south;
* buildings: OSM footprints whose centroid falls in a grid, floors from
  building:levels / height / a default by type; use from building=* and the landuse;
* households and residents: synthetic (``gridmap.demo.people``), ~90 m2 per dwelling;
* facilities and key sites: OSM POIs through the tag tables below, real names kept;
* compounds: landuse=residential and gated institution grounds, clipped to grids,
  with OSM gates (or an inferred one where a road meets the outline);
* a few synthetic hazards, inspections and patrol tracks.

All geometry work happens in a local UTM CRS; every output frame is EPSG:4326.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import split as split_geometry

from gridmap import vocab
from gridmap.crs import metric_crs
from gridmap.demo import people
from gridmap.demo.city import City, planned_target_households
from gridmap.errors import InvalidInput
from gridmap.ordering import reading_order, reading_sequence
from gridmap.units import minutes_for
from gridmap.walkable import FOOT_YES, internal_highway, private, walkable

logger = logging.getLogger(__name__)

CRS = "EPSG:4326"

# Roads that bound street blocks: the public street grid (no links, service roads or paths).
BLOCK_HIGHWAYS = frozenset({"motorway", "trunk", "primary", "secondary", "tertiary",
                            "unclassified", "residential", "living_street", "road"})

# --- sizes (local defaults) ----------------------------------------------------
MIN_BLOCK_M2 = 2_000.0        # smaller faces are slivers (medians, ramps) ...
MIN_BLOCK_WIDTH_M = 12.0      # ... and so are faces thinner than this (2 x area / perimeter)
GRID_HOUSEHOLDS = (300, 500)  # aim of a grid (domain: 300-500 households per grid member)
COMMUNITY_HOUSEHOLDS = 2_000  # aim of a community; at least two communities are made
M2_PER_DWELLING = 90.0
GATE_SNAP_M = 5.0
FRAME_MARGIN_M = 30.0         # study frame = buildings' bounding box plus this margin
WALK_SPEED_KMH = 4.32        # 1.2 m/s: a patroller's pace

# --- buildings -----------------------------------------------------------------
# building=* -> vocab.BUILDING_USES; 'yes' and unknown values are decided by tags/landuse.
BUILDING_USE = {
    **dict.fromkeys(("apartments", "residential", "house", "detached", "semidetached_house",
                     "terrace", "dormitory", "bungalow", "villa"), "residential"),
    **dict.fromkeys(("commercial", "retail", "supermarket", "kiosk", "hotel", "mall"),
                    "commercial"),
    "office": "office",
    **dict.fromkeys(("school", "university", "college", "kindergarten", "hospital", "public",
                     "civic", "government", "train_station", "transportation", "sports_hall",
                     "library", "fire_station", "temple", "church"), "public"),
    **dict.fromkeys(("industrial", "warehouse", "factory", "manufacture", "service"),
                    "industrial"),
    "mixed_use": "mixed",
}
# Other tags on a building=yes footprint that say what it is used for.
USE_FROM_TAGS = {"shop": "commercial", "office": "office", "amenity": "public",
                 "tourism": "commercial", "healthcare": "public"}
# landuse=* (or institution ground) a building=yes stands in.
USE_FROM_LANDUSE = {"landuse=residential": "residential", "landuse=commercial": "commercial",
                    "landuse=retail": "commercial", "landuse=industrial": "industrial",
                    **dict.fromkeys(("amenity=university", "amenity=college", "amenity=school",
                                     "amenity=kindergarten", "amenity=hospital",
                                     "amenity=research_institute"), "public")}
# Floors when OSM has neither building:levels nor height: by building=* value, then by use.
FLOORS_BY_BUILDING = {"house": 2, "detached": 2, "villa": 3, "bungalow": 1, "apartments": 12,
                      "residential": 6, "dormitory": 6, "retail": 2, "kiosk": 1, "garage": 1,
                      "warehouse": 1, "kindergarten": 3, "school": 4, "university": 5,
                      "hospital": 6, "office": 8, "transportation": 2, "train_station": 2}
FLOORS_BY_USE = {"residential": 6, "mixed": 6, "commercial": 3, "office": 6, "public": 4,
                 "industrial": 2, "other": 3}
# One household per detached house, not area / 90 m2.
SINGLE_DWELLING = frozenset({"house", "detached", "villa", "bungalow"})

# --- compounds -----------------------------------------------------------------
# Areas that become compounds (gated 小区 and institution grounds), with a fallback name.
COMPOUND_KINDS = {
    "landuse=residential": "住宅小区", "amenity=school": "学校", "amenity=kindergarten": "幼儿园",
    "amenity=hospital": "医院", "amenity=university": "高校",
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
_HEALTH_BY_NAME = {"社区卫生服务中心": "health_center", "卫生服务中心": "health_center",
                   "社区卫生服务站": "health_station", "卫生服务站": "health_station",
                   "卫生院": "health_center", "": "clinic"}
_ELDERLY_BY_NAME = {"日间照料": "elderly_daycare", "养老驿站": "elderly_daycare",
                    "养老": "nursing_home", "敬老": "nursing_home", "福利院": "nursing_home"}
_SERVICE_BY_NAME = {"街道办": "street_service_center", "街道": "street_service_center",
                    "党群服务": "community_service_station", "社区服务": "community_service_station",
                    "居委会": "community_service_station", "文化": "culture_station"}
FACILITY_RULES: dict[tuple[str, str], str | dict | None] = {
    ("amenity", "hospital"): _HEALTH_BY_NAME,
    ("amenity", "clinic"): _HEALTH_BY_NAME,
    ("amenity", "doctors"): _HEALTH_BY_NAME,
    ("healthcare", "centre"): _HEALTH_BY_NAME,
    ("healthcare", "hospital"): _HEALTH_BY_NAME,
    ("healthcare", "clinic"): _HEALTH_BY_NAME,
    ("healthcare", "doctor"): _HEALTH_BY_NAME,
    ("amenity", "school"): {"小学": "primary_school", "初中": "junior_middle_school",
                            "中学": "junior_middle_school", "九年一贯": "primary_school"},
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
    ("leisure", "sports_centre"): {"健身器材": "fitness", "健身苑": "fitness", "健身园": "fitness",
                                   "": "sports_medium"},
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
    ("amenity", "restaurant"): {"社区食堂": "canteen", "老年餐桌": "canteen", "长者食堂": "canteen"},
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
    ("amenity", "fuel"): "hazardous_chemicals",   # filling stations: 危化品经营场所
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


# --- small pure helpers ----------------------------------------------------------

def _text(value, max_len: int | None = None) -> str | None:
    """A tag value as str (cut to ``max_len``, the database column width), None for
    None/NaN/empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    value = str(value).strip()[:max_len]
    return value or None


def chinese_numeral(n: int) -> str:
    """1 -> 一, 10 -> 十, 12 -> 十二, 21 -> 二十一 (for names; up to 99)."""
    if n <= 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    return (_NUMERALS[tens] if tens > 1 else "") + "十" + (_NUMERALS[ones] if ones else "")


def is_walkable(highway: str | None, foot: str | None, access: str | None) -> bool:
    """Whether anyone may walk along an OSM way (``gridmap.walkable``; private roads count:
    they are kept and flagged, and walked only inside a compound)."""
    return bool(walkable([highway], [foot], [access], in_compound=True)[0])


def road_access(foot: str | None, access: str | None) -> str | None:
    """City ``access`` column: 'private' when the public may not use the way, else None."""
    return "private" if private([foot], [access])[0] else None


def match_rules(tags: dict, name: str | None, rules: dict) -> str | None:
    """Category from a rule table (see FACILITY_RULES for the format), or None."""
    name = name or ""
    for (key, value), outcome in rules.items():
        have = _text(tags.get(key))
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
    """vocab.BUILDING_USES code from building=*, other tags, then the surrounding landuse."""
    building = _text(building) or "yes"
    if building in BUILDING_USE:
        return BUILDING_USE[building]
    for key, use in USE_FROM_TAGS.items():
        if _text(tags.get(key)):
            return use
    return USE_FROM_LANDUSE.get(landuse_kind or "", "other")


def building_floors(levels, height, building: str | None, use: str) -> int:
    """Floors from building:levels, else height / 3 m, else a default by type."""
    for value, per_floor in ((levels, 1.0), (height, 3.0)):
        if value is not None and not (isinstance(value, float) and math.isnan(value)) and value > 0:
            return max(1, round(float(value) / per_floor))
    return FLOORS_BY_BUILDING.get(_text(building) or "", FLOORS_BY_USE.get(use, 3))


def chinese_name(name: str | None, category_zh: str) -> str:
    """The real name when it has Chinese characters; else the category added to it."""
    name = _text(name)
    if name is None:
        return f"{category_zh}（OSM未命名）"
    return name if _CJK.search(name) else f"{name}（{category_zh}）"


def _osm_code(osm_type: str, osm_id) -> str:
    return f"osm-{str(osm_type)[0]}{int(osm_id)}"


# --- geometry steps (metric CRS) -------------------------------------------------

def shared_boundaries(polys, tolerance_m: float = 0.05) -> list[dict[int, float]]:
    """Neighbours of each polygon with the length of boundary they share (>= 1 m)."""
    polys = np.asarray(polys, dtype=object)
    nbrs: list[dict[int, float]] = [{} for _ in range(len(polys))]
    if len(polys) < 2:
        return nbrs
    i, j = shapely.STRtree(polys).query(polys, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    bnd = shapely.boundary(polys)
    shared = shapely.length(shapely.intersection(bnd[i], shapely.buffer(bnd[j], tolerance_m,
                                                                        quad_segs=1)))
    for a, b, s in zip(i, j, shared, strict=True):
        if s >= 1.0:
            nbrs[a][b] = nbrs[b][a] = float(s)
    return nbrs


def street_blocks(lines, frame) -> np.ndarray:
    """Faces of the street network inside ``frame`` (a polygon): together they tile it."""
    clipped = shapely.intersection(np.asarray(lines, dtype=object), frame)
    clipped = clipped[~shapely.is_empty(clipped)]
    noded = shapely.union_all(np.append(clipped, shapely.boundary(frame)))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return faces[shapely.area(faces) > 1.0]


def merge_slivers(blocks, min_area_m2: float = MIN_BLOCK_M2,
                  min_width_m: float = MIN_BLOCK_WIDTH_M) -> np.ndarray:
    """Merge each sliver (small or thin face) into the neighbour it shares most edge with."""
    blocks = np.asarray(blocks, dtype=object)
    area = shapely.area(blocks)
    width = 2 * area / np.maximum(shapely.length(blocks), 1e-9)
    sliver = (area < min_area_m2) | (width < min_width_m)
    nbrs = shared_boundaries(blocks)
    parent = list(range(len(blocks)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for s in np.argsort(area):
        if not sliver[s] or not nbrs[s]:
            continue
        best = max(nbrs[s], key=lambda c: (not sliver[c], nbrs[s][c], -c))
        parent[root(s)] = root(best)
        sliver[s] = False  # absorbed: later slivers may attach to it as part of its group
    groups: dict[int, list[int]] = defaultdict(list)
    for k in range(len(blocks)):
        groups[root(k)].append(k)
    merged = [blocks[m[0]] if len(m) == 1 else shapely.union_all(blocks[m])
              for m in groups.values()]
    return shapely.get_parts(np.asarray(merged, dtype=object))


def split_heavy_block(poly, xy: np.ndarray, weights: np.ndarray, max_weight: float) -> list:
    """Cut ``poly`` with straight lines until every piece holds <= ``max_weight`` (homes of the
    buildings at ``xy``); cuts run between buildings, across the longer side."""
    if weights.sum() <= max_weight or (weights > 0).sum() < 2:
        return [poly]
    minx, miny, maxx, maxy = poly.bounds
    for axis in ((0, 1) if maxx - minx >= maxy - miny else (1, 0)):
        heavy = weights > 0
        coord = xy[heavy, axis]
        order = np.argsort(coord, kind="stable")
        cum = np.cumsum(weights[heavy][order])
        k = int(np.searchsorted(cum, cum[-1] / 2))
        k = min(max(k, 0), len(order) - 2)
        a, b = coord[order[k]], coord[order[k + 1]]
        if b - a < 1e-6:
            continue
        cut = (a + b) / 2
        line = (shapely.LineString([(cut, miny - 1), (cut, maxy + 1)]) if axis == 0
                else shapely.LineString([(minx - 1, cut), (maxx + 1, cut)]))
        pieces = shapely.get_parts(split_geometry(poly, line))
        if len(pieces) < 2:
            continue
        out = []
        for piece in pieces:
            inside = shapely.contains_xy(piece, xy[:, 0], xy[:, 1])
            out += split_heavy_block(piece, xy[inside], weights[inside], max_weight)
        return out
    return [poly]


def grow_regions(weights, nbrs: list[dict[int, float]], order, centers, *, low: float,
                 high: float, min_keep: float) -> np.ndarray:
    """Partition a graph of polygons into connected regions of total weight in [low, high].

    Seeds are taken in ``order``; a region takes its nearest unassigned neighbour that
    still fits until it reaches ``low``. Regions lighter than ``min_keep`` then merge
    into their lightest neighbouring region. Returns a region label per polygon.
    """
    weights = np.asarray(weights, dtype=float)
    centers = np.asarray(centers, dtype=float)
    label = np.full(len(weights), -1)
    n_regions = 0
    for seed in order:
        if label[seed] >= 0:
            continue
        label[seed] = n_regions
        total = weights[seed]
        frontier = {c for c in nbrs[seed] if label[c] < 0}
        while total < low and frontier:
            fits = [c for c in frontier if total + weights[c] <= high]
            if not fits:
                break
            d = ((centers[fits] - centers[seed]) ** 2).sum(axis=1)
            c = fits[int(np.argmin(d))]
            label[c] = n_regions
            total += weights[c]
            frontier.discard(c)
            frontier.update(x for x in nbrs[c] if label[x] < 0)
        n_regions += 1
    return merge_light_regions(label, weights, nbrs, min_keep)


def merge_light_regions(label: np.ndarray, weights, nbrs, min_keep: float) -> np.ndarray:
    """Merge regions lighter than ``min_keep`` into their lightest neighbour; relabel 0..n-1."""
    label = label.copy()
    while True:
        totals = defaultdict(float)
        for k, r in enumerate(label):
            totals[r] += weights[k]
        light = sorted((t, r) for r, t in totals.items() if t < min_keep)
        merged = False
        for _t, r in light:
            around = {label[c] for k in np.flatnonzero(label == r) for c in nbrs[k]} - {r}
            if around:
                target = min(around, key=lambda q: (totals[q], q))
                label[label == r] = target
                merged = True
                break
        if not merged:
            break
    _, label = np.unique(label, return_inverse=True)
    return label


def split_in_two(label: np.ndarray, nbrs, order, weights) -> np.ndarray:
    """Fallback when everything ended up in one region: a breadth-first half and the rest."""
    if label.max() > 0 or len(label) < 2:
        return label
    start, half, seen, queue = order[0], np.sum(weights) / 2, [], []
    queue.append(start)
    visited = {start}
    total = 0.0
    while queue and (total < half or not seen):
        k = queue.pop(0)
        seen.append(k)
        total += weights[k]
        for c in sorted(nbrs[k]):
            if c not in visited:
                visited.add(c)
                queue.append(c)
    out = np.ones(len(label), dtype=int)
    out[seen] = 0
    if out.min() == out.max():  # a single polygon of all weight: split by order instead
        out[order[len(order) // 2:]] = 1
        out[order[: len(order) // 2]] = 0
    return out


# --- the builder --------------------------------------------------------------------

class _Notes:
    """Collects warnings for the caller; details go to the log at INFO, summaries at WARNING."""

    def __init__(self, sink: list[str] | None) -> None:
        self.sink = sink if sink is not None else []

    def __call__(self, message: str, level: int = logging.WARNING) -> None:
        logger.log(level, message)
        self.sink.append(message)


def _column(values) -> pd.Series | list:
    """Text columns stay ``object`` with None (pandas would otherwise turn None into NaN)."""
    values = list(values) if not np.isscalar(values) else values
    if isinstance(values, list) and any(isinstance(v, str) for v in values):
        return pd.Series(values, dtype=object)
    return values


def _gdf(data: dict, geoms, crs) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({k: _column(v) for k, v in data.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs=crs), crs=crs)


def _to_wgs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(CRS)


def _roads(ways: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """Walkable ways split at junctions (nodes shared with another walkable way), metric."""
    columns = ["code", "name", "highway", "foot", "access", "compound_code"]
    ways = ways.reset_index(drop=True)
    walk = walkable(ways["highway"].to_numpy(object),
                    ways["foot"].to_numpy(object) if "foot" in ways else None,
                    ways["access"].to_numpy(object) if "access" in ways else None,
                    in_compound=True)
    ways = ways[walk].reset_index(drop=True)
    if ways.empty:
        return _gdf({c: [] for c in columns}, [], crs)
    node_lists = list(ways["nodes"]) if "nodes" in ways else [None] * len(ways)
    uses = Counter(n for nodes in node_lists if nodes is not None for n in nodes)
    metric = ways.geometry.to_crs(crs)
    rows, geoms = [], []
    for k, row in ways.iterrows():
        coords = shapely.get_coordinates(metric.iloc[k])
        nodes = node_lists[k]
        cuts = [0, len(coords) - 1]
        if nodes is not None and len(nodes) == len(coords):
            cuts = [0] + [i for i in range(1, len(nodes) - 1) if uses[nodes[i]] > 1] + cuts[1:]
        pieces = [coords[a:b + 1] for a, b in zip(cuts[:-1], cuts[1:], strict=True)
                  if b > a]
        base = f"osm-w{int(row['osm_id'])}"
        for p, piece in enumerate(pieces, start=1):
            rows.append({
                "code": base if len(pieces) == 1 else f"{base}-{p}",
                "name": _text(row.get("name"), 100), "highway": _text(row["highway"], 32),
                "foot": "yes" if _text(row.get("foot")) in FOOT_YES else
                        ("no" if _text(row.get("foot")) == "no" else None),
                "access": road_access(row.get("foot"), row.get("access")),
                "compound_code": None,
            })
            geoms.append(shapely.LineString(piece))
    return _gdf({c: [r[c] for r in rows] for c in columns}, geoms, crs)


def street_lines(ways_m: gpd.GeoDataFrame, areas_m: gpd.GeoDataFrame) -> np.ndarray:
    """Lines that bound street blocks: BLOCK_HIGHWAYS ways, except those lying (>= 90% of
    their length) inside a compound area, so that a gated compound stays one block."""
    lines = np.asarray(ways_m.geometry[ways_m["highway"].isin(BLOCK_HIGHWAYS)].values,
                       dtype=object)
    grounds = np.asarray(areas_m.geometry[areas_m["kind"].isin(COMPOUND_KINDS)].values,
                         dtype=object)
    if len(lines) == 0 or len(grounds) == 0:
        return lines
    li, gi = shapely.STRtree(grounds).query(lines, predicate="intersects")
    inside = np.zeros(len(lines))
    np.maximum.at(inside, li, shapely.length(shapely.intersection(lines[li], grounds[gi])))
    return lines[inside < 0.9 * shapely.length(lines)]


def _frame_polygon(buildings_m: gpd.GeoSeries, ways_m: gpd.GeoSeries):
    geoms = buildings_m if len(buildings_m) else ways_m
    minx, miny, maxx, maxy = geoms.total_bounds
    return shapely.box(minx, miny, maxx, maxy).buffer(FRAME_MARGIN_M, join_style="mitre")


def _landuse_at(points: np.ndarray, areas_m: gpd.GeoDataFrame) -> list[str | None]:
    """Kind of the smallest area (landuse or institution ground) holding each point."""
    kinds = [None] * len(points)
    relevant = areas_m[areas_m["kind"].isin(USE_FROM_LANDUSE)]
    if relevant.empty or len(points) == 0:
        return kinds
    geoms = np.asarray(relevant.geometry.values, dtype=object)
    pi, ai = shapely.STRtree(geoms).query(points, predicate="intersects")
    best: dict[int, tuple[float, str]] = {}
    areas = shapely.area(geoms)
    for p, a in zip(pi, ai, strict=True):
        if p not in best or areas[a] < best[p][0]:
            best[p] = (areas[a], relevant["kind"].iloc[a])
    for p, (_area, kind) in best.items():
        kinds[p] = kind
    return kinds


def _prepare_buildings(buildings: gpd.GeoDataFrame, areas_m: gpd.GeoDataFrame, crs):
    """Metric buildings with code, use, floors, dwellings and centroid columns."""
    b = buildings.to_crs(crs).reset_index(drop=True)
    cent = shapely.centroid(np.asarray(b.geometry.values, dtype=object))
    kinds = _landuse_at(cent, areas_m)
    tags = [t if isinstance(t, dict) else {} for t in b.get("tags", [None] * len(b))]
    b["use"] = [building_use(bt, t, k) for bt, t, k in zip(b["building"], tags, kinds,
                                                         strict=True)]
    b["floors"] = [building_floors(lv, h, bt, u) for lv, h, bt, u in
                   zip(b.get("levels", [None] * len(b)), b.get("height", [None] * len(b)),
                       b["building"], b["use"], strict=True)]
    residential = b["use"].isin(["residential", "mixed"]).to_numpy()
    res_floors = np.where(b["use"] == "mixed", np.maximum(b["floors"] - 1, 1), b["floors"])
    dwell = people.dwelling_counts(b.geometry.area, res_floors, residential,
                                   m2_per_dwelling=M2_PER_DWELLING)
    single = b["building"].isin(SINGLE_DWELLING).to_numpy() & residential
    b["dwellings"] = np.where(single, 1, dwell)
    b["code"] = [_osm_code(t, i) for t, i in zip(b["osm_type"], b["osm_id"], strict=True)]
    b["cx"], b["cy"] = shapely.get_x(cent), shapely.get_y(cent)
    return b


def _grids_from_blocks(blocks, b: gpd.GeoDataFrame, notes: _Notes):
    """Split heavy blocks, then grow grids; returns (grid polygons, households per grid)."""
    xy = b[["cx", "cy"]].to_numpy()
    weights = b["dwellings"].to_numpy(dtype=float)
    pieces = []
    tree_idx = shapely.STRtree(blocks).query(shapely.points(xy), predicate="intersects")
    owner = np.full(len(xy), -1)
    owner[tree_idx[0][::-1]] = tree_idx[1][::-1]  # first block wins on a shared edge
    for k, block in enumerate(blocks):
        mine = owner == k
        pieces += split_heavy_block(block, xy[mine], weights[mine], GRID_HOUSEHOLDS[1])
    pieces = shapely.get_parts(np.asarray(pieces, dtype=object))
    if len(pieces) == 1:  # one block only: halve it so that two communities can exist
        c = pieces[0].centroid
        pieces = shapely.get_parts(split_geometry(
            pieces[0], shapely.LineString([(c.x, pieces[0].bounds[1] - 1),
                                           (c.x, pieces[0].bounds[3] + 1)])))
    inside = shapely.STRtree(pieces).query(shapely.points(xy), predicate="intersects")
    owner = np.full(len(xy), -1)
    owner[inside[0][::-1]] = inside[1][::-1]
    piece_w = np.bincount(owner[owner >= 0], weights=weights[owner >= 0], minlength=len(pieces))
    nbrs = shared_boundaries(pieces)
    cent = shapely.centroid(pieces)
    centers = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    order = reading_order(centers[:, 0], centers[:, 1],
                          float(np.sqrt(np.median(shapely.area(pieces)))))
    low, high = GRID_HOUSEHOLDS
    label = grow_regions(piece_w, nbrs, order, centers, low=low, high=high, min_keep=low / 2)
    label = split_in_two(label, nbrs, order, piece_w)
    grids = [shapely.union_all(pieces[label == r]) for r in range(label.max() + 1)]
    totals = np.bincount(label, weights=piece_w)
    over = int((totals > 1.5 * high).sum())
    if over:
        notes(f"{over} grids hold more than {1.5 * high:.0f} households (blocks could not be "
              "split further between buildings)")
    return np.asarray(grids, dtype=object), totals


def _communities(grids, households) -> np.ndarray:
    """Community label per grid: adjacent grids grown to ~COMMUNITY_HOUSEHOLDS, at least 2."""
    nbrs = shared_boundaries(grids)
    cent = shapely.centroid(grids)
    centers = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    order = reading_order(centers[:, 0], centers[:, 1],
                          float(np.sqrt(np.median(shapely.area(grids)))))
    total = float(np.sum(households))
    k = max(2, round(total / COMMUNITY_HOUSEHOLDS))
    k = min(k, len(grids))
    target = total / k if k else total
    label = grow_regions(households, nbrs, order, centers, low=0.85 * target,
                         high=1.3 * target, min_keep=0.45 * target)
    return split_in_two(label, nbrs, order, households)


def _sequence(geoms) -> np.ndarray:
    """Sequence number (1-based) of each polygon in reading order."""
    cent = shapely.centroid(np.asarray(geoms, dtype=object))
    return reading_sequence(shapely.get_x(cent), shapely.get_y(cent),
                            float(np.sqrt(np.median(shapely.area(geoms)))))


def _assign(points, polys) -> np.ndarray:
    """Index of the polygon holding each point (first on shared edges), -1 outside."""
    owner = np.full(len(points), -1)
    if len(points) == 0 or len(polys) == 0:
        return owner
    pi, gi = shapely.STRtree(np.asarray(polys, dtype=object)).query(points,
                                                                      predicate="intersects")
    owner[pi[::-1]] = gi[::-1]
    return owner


def _compounds(areas_m, grids_m: gpd.GeoDataFrame, notes: _Notes):
    """Compound pieces: candidate areas, smallest first (nested ones keep their own ground),
    clipped to each grid."""
    cand = areas_m[areas_m["kind"].isin(COMPOUND_KINDS)].copy()
    columns = ["code", "name", "community_code", "grid_code", "outline"]
    if cand.empty:
        return _gdf({c: [] for c in columns}, [], grids_m.crs)
    cand["area_m2"] = cand.geometry.area
    cand = cand.sort_values(["area_m2", "osm_id"]).reset_index(drop=True)
    grid_geoms = np.asarray(grids_m.geometry.values, dtype=object)
    tree = shapely.STRtree(grid_geoms)
    cand_geoms = np.asarray(cand.geometry.values, dtype=object)
    cand_tree = shapely.STRtree(cand_geoms)
    placed = np.zeros(len(cand), dtype=bool)
    rows, geoms = [], []
    for i, area in cand.iterrows():
        geom = area["geometry"]
        inner = [k for k in cand_tree.query(geom, predicate="intersects") if placed[k]]
        if inner:  # smaller compounds placed before keep their ground
            geom = geom.difference(shapely.union_all(cand_geoms[inner]))
        hits = tree.query(geom, predicate="intersects")
        parts = []
        for g in sorted(hits):
            piece = shapely.intersection(geom, grid_geoms[g])
            piece_area = piece.area
            if piece_area >= max(MIN_COMPOUND_PIECE_M2, 0.05 * area.area_m2):
                parts.append((g, piece))
        if not parts:
            continue
        base = _osm_code(area.osm_type, area.osm_id)
        label = _text(area.get("name"), 90) or f"{COMPOUND_KINDS[area.kind]}（OSM未命名）"
        for p, (g, piece) in enumerate(parts, start=1):
            polys = [q for q in shapely.get_parts(piece) if q.geom_type == "Polygon"]
            if not polys:
                continue
            multi = shapely.MultiPolygon(polys)
            # The piece's share of the real fence: not the grid cut, not nested compounds.
            fence = shapely.intersection(multi.boundary, area["geometry"].boundary.buffer(0.5))
            rows.append({
                "code": base if len(parts) == 1 else f"{base}-{p}",
                "name": label if len(parts) == 1 else f"{label}（{chinese_numeral(p)}区）",
                "community_code": grids_m["community_code"].iloc[g],
                "grid_code": grids_m["code"].iloc[g],
                "outline": multi.boundary if fence.is_empty else fence,
            })
            geoms.append(multi)
            placed[i] = True
    out = _gdf({c: [r[c] for r in rows] for c in columns}, geoms, grids_m.crs)
    return out.sort_values("code").reset_index(drop=True)


def _direction(dx: float, dy: float) -> str:
    """Compass word (北, 东北, ...) of a vector, for gate names."""
    words = ("东", "东北", "北", "西北", "西", "西南", "南", "东南")
    return words[int(round(math.degrees(math.atan2(dy, dx)) / 45.0)) % 8]


def _gates(compounds_m, entrances_m, roads_m, block_roads_m, notes: _Notes):
    """OSM entrances within GATE_SNAP_M of a compound's outline; an inferred gate where a
    road meets the outline for compounds without any."""
    rows, geoms, inferred_count = [], [], 0
    ent_geoms = np.asarray(entrances_m.geometry.values, dtype=object) if len(entrances_m) else \
        np.array([], dtype=object)
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    streets = shapely.union_all(np.asarray(block_roads_m, dtype=object))
    for _, comp in compounds_m.iterrows():
        poly, outline = comp["geometry"], comp["outline"]
        centre = poly.representative_point()
        found = []
        if len(ent_geoms):
            near = np.flatnonzero((shapely.distance(ent_geoms, poly) <= GATE_SNAP_M)
                                  & (shapely.distance(ent_geoms, outline) <= GATE_SNAP_M))
            found = [(ent_geoms[k], entrances_m.iloc[k]) for k in near]
        inferred = False
        if not found:
            point, how = _inferred_gate(outline, road_geoms, roads_m, streets)
            if point is None:
                notes(f"compound {comp['code']} ({comp['name']}): no OSM entrance and no road "
                      "near its outline; no gate placed")
                continue
            notes(f"compound {comp['code']} ({comp['name']}): no OSM entrance within "
                  f"{GATE_SNAP_M:.0f} m of its outline; placed an inferred gate {how}",
                  logging.INFO)
            found, inferred = [(point, None)], True
            inferred_count += 1
        used: Counter[str] = Counter()
        for n, (geom, ent) in enumerate(found, start=1):
            word = _direction(geom.x - centre.x, geom.y - centre.y)
            used[word] += 1
            name = _text(ent["name"]) if ent is not None else None
            if name is None:
                name = f"{word}门" if used[word] == 1 else f"{word}{chinese_numeral(used[word])}门"
                name += "（推定）" if inferred else ""
            rows.append({"code": f"{comp['code']}-g{n}", "compound_code": comp["code"],
                         "name": name[:50], "kind": _gate_kind(ent)})
            geoms.append(geom)
    if inferred_count:
        logger.warning("%d of %d compounds have no OSM entrance within %.0f m of their outline: "
                       "placed inferred gates (named …（推定）)", inferred_count,
                       len(compounds_m), GATE_SNAP_M)
    columns = ["code", "compound_code", "name", "kind"]
    return _gdf({c: [r[c] for r in rows] for c in columns}, geoms, compounds_m.crs)


def _gate_kind(ent) -> str:
    if ent is None:
        return "both"
    kind, foot = _text(ent.get("kind")), _text(ent.get("foot"))
    if foot == "no":
        return "vehicle"
    if (kind in PEDESTRIAN_GATES or _text(ent.get("access")) == "foot"
            or _text(ent.get("motor_vehicle")) == "no"):
        return "pedestrian"
    return "both"


def _inferred_gate(outline, road_geoms, roads_m, streets):
    """Where a walkable road crosses the outline (the crossing nearest a public street),
    else the outline point nearest any road. Returns (point, description)."""
    if len(road_geoms) == 0:
        return None, ""
    hits = shapely.STRtree(road_geoms).query(outline, predicate="intersects")
    best = None
    for k in hits:
        for pt in shapely.get_parts(shapely.intersection(road_geoms[k], outline)):
            if pt.geom_type != "Point":
                pt = shapely.Point(shapely.get_coordinates(pt)[0])
            d = 0.0 if streets.is_empty else float(shapely.distance(pt, streets))
            if best is None or d < best[0]:
                best = (d, pt, k)
    if best is not None:
        road = roads_m.iloc[best[2]]
        return best[1], f"where {_text(road['name']) or road['highway']} ({road['code']}) meets it"
    k = int(np.argmin(shapely.distance(road_geoms, outline)))
    pt = shapely.shortest_line(outline, road_geoms[k]).coords[0]
    return shapely.Point(pt), f"on the outline nearest to road {roads_m['code'].iloc[k]}"


def _internal_roads(roads_m, compounds_m) -> list[str | None]:
    """Compound code of roads lying (>= 90% of their length) inside one compound."""
    out: list[str | None] = [None] * len(roads_m)
    if compounds_m.empty or roads_m.empty:
        return out
    comp_geoms = np.asarray(compounds_m.geometry.values, dtype=object)
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    ri, ci = shapely.STRtree(comp_geoms).query(road_geoms, predicate="intersects")
    inside = shapely.length(shapely.intersection(road_geoms[ri], comp_geoms[ci]))
    share = inside / np.maximum(shapely.length(road_geoms[ri]), 1e-9)
    internal = internal_highway(roads_m["highway"].to_numpy(object))
    for r, c, s in zip(ri, ci, share, strict=True):
        if s >= 0.9 and internal[r]:
            out[r] = compounds_m["code"].iloc[c]
    return out


def _facilities(pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """POIs that are life-circle facilities (FACILITY_RULES), real names kept."""
    zh = {c.code: c.zh for c in vocab.FACILITY_CATEGORIES}
    rows, geoms = [], []
    for _, poi in pois.iterrows():
        tags = poi["tags"] if isinstance(poi.get("tags"), dict) else {}
        category = match_rules(tags, _text(poi["name"]), FACILITY_RULES)
        if category not in zh:
            continue
        rows.append({"code": _osm_code(poi["osm_type"], poi["osm_id"]),
                     "name": chinese_name(poi["name"], zh[category])[:100],
                     "category": category, "capacity": _capacity(tags)})
        geoms.append(poi.geometry)
    columns = ["code", "name", "category", "capacity"]
    frame = _gdf({c: [r[c] for r in rows] for c in columns}, geoms, CRS)
    frame["capacity"] = frame["capacity"].astype(object)
    return frame.drop_duplicates("code").reset_index(drop=True)


def _capacity(tags: dict) -> int | None:
    for key in ("capacity", "beds", "capacity:persons"):
        value = _text(tags.get(key))
        if value and value.isdigit():
            return int(value)
    return None


def _key_sites(candidates: gpd.GeoDataFrame, grids_m: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    """POIs (and construction areas) that are key sites, inside the grids."""
    zh = {c.code: c.zh for c in vocab.KEY_SITE_CATEGORIES}
    rows, geoms = [], []
    for _, poi in candidates.iterrows():
        tags = poi["tags"] if isinstance(poi.get("tags"), dict) else {}
        category = match_rules(tags, _text(poi["name"]), KEY_SITE_RULES)
        if category not in zh:
            continue
        rows.append({"code": _osm_code(poi["osm_type"], poi["osm_id"]),
                     "name": chinese_name(poi["name"], zh[category])[:100],
                     "category": category, "address": _text(poi.get("address"), 200),
                     "inspection_interval_days": vocab.INSPECTION_INTERVAL_DAYS[category]})
        geoms.append(poi.geometry)
    columns = ["code", "name", "category", "address", "inspection_interval_days"]
    sites = _gdf({c: [r[c] for r in rows] for c in columns}, geoms, CRS).to_crs(crs)
    sites = sites.drop_duplicates("code").reset_index(drop=True)
    owner = _assign(np.asarray(sites.geometry.values, dtype=object),
                    np.asarray(grids_m.geometry.values, dtype=object))
    sites["grid_code"] = [grids_m["code"].iloc[g] if g >= 0 else None for g in owner]
    return sites[owner >= 0].reset_index(drop=True)


def _inspections(sites, leaders: dict[str, str], rng, as_of: datetime) -> pd.DataFrame:
    """1-3 past inspections per key site; about a third of the sites are overdue."""
    notes_by_result = {"ok": "检查正常", "issue_found": "发现问题，已责令整改",
                       "closed_site": "场所已关闭"}
    rows = []
    for _, site in sites.iterrows():
        every = int(site["inspection_interval_days"])
        last = as_of - timedelta(days=float(rng.uniform(0, every * 1.5)))
        for k in range(int(rng.integers(1, 4))):
            result = str(rng.choice(["ok", "issue_found", "closed_site"], p=[0.85, 0.12, 0.03]))
            at = (last - timedelta(days=every * k)).replace(second=0, microsecond=0)
            rows.append({"site_code": site["code"], "inspected_at": at,
                         "inspector": leaders.get(site["grid_code"]), "result": result,
                         "notes": notes_by_result[result]})
    return pd.DataFrame(rows, columns=["site_code", "inspected_at", "inspector", "result",
                                       "notes"])


def _hazards(buildings_m, grids_m, leaders, rng, as_of: datetime, crs) -> gpd.GeoDataFrame:
    """A few hazards at buildings, spread over the workflow (some overdue, some closed)."""
    columns = ["code", "category", "severity", "status", "description", "found_at", "deadline",
               "closed_at", "reporter", "responsible", "grid_code", "history"]
    n = min(12, max(3, len(grids_m) // 2))
    rows, geoms = [], []
    statuses = [t.code for t in vocab.HAZARD_STATUSES]
    actions = {"filed": "file", "assigned": "assign", "handled": "handle",
               "reinspected": "reinspect", "closed": "close"}
    days_for = {"low": 15, "medium": 7, "high": 3}
    candidates = buildings_m.index.to_numpy()
    if len(candidates) == 0:
        return _gdf({c: [] for c in columns}, [], CRS)
    for k, b in enumerate(rng.choice(candidates, size=min(n, len(candidates)), replace=False)):
        building = buildings_m.loc[b]
        category = str(rng.choice(list(HAZARD_TEMPLATES)))
        severity = str(rng.choice(["low", "medium", "high"], p=[0.6, 0.3, 0.1]))
        status = statuses[int(rng.integers(0, len(statuses)))]
        found = (as_of - timedelta(days=float(rng.uniform(1, 45)))).replace(second=0,
                                                                             microsecond=0)
        reporter = leaders.get(building["grid_code"])
        responsible = people.synth_name(rng, "M" if rng.random() < 0.5 else "F", 1980)
        history = [{"at": found, "actor": reporter, "action": "report", "from_status": None,
                    "to_status": "reported", "note": "网格员巡查发现"}]
        at, deadline, closed_at = found, None, None
        for prev, nxt in zip(statuses, statuses[1:], strict=False):
            if statuses.index(status) < statuses.index(nxt):
                break
            at = min(at + timedelta(hours=float(rng.uniform(4, 72))), as_of)
            if nxt == "assigned":
                deadline = found + timedelta(days=days_for[severity])
            if nxt == "closed":
                closed_at = at
            history.append({"at": at, "actor": responsible if nxt == "handled" else reporter,
                            "action": actions[nxt], "from_status": prev, "to_status": nxt,
                            "note": None})
        rows.append({
            "code": f"HZ-OSM-{k + 1:03d}", "category": category, "severity": severity,
            "status": status,
            "description": str(rng.choice(HAZARD_TEMPLATES[category])) +
                           (f"（{building['name']}）" if _text(building["name"]) else ""),
            "found_at": found, "deadline": deadline, "closed_at": closed_at,
            "reporter": reporter, "responsible": responsible if deadline else None,
            "grid_code": building["grid_code"], "history": history,
        })
        geoms.append(building.geometry.representative_point())
    return _gdf({c: [r[c] for r in rows] for c in columns}, geoms, crs).to_crs(CRS)


def _patrol_tracks(grids_m, roads_m, leaders, rng, as_of: datetime) -> gpd.GeoDataFrame:
    """One recent walk per grid: its longest stretch of connected road (else its edge)."""
    columns = ["code", "patroller", "grid_code", "started_at", "ended_at", "times"]
    rows, geoms = [], []
    road_geoms = np.asarray(roads_m.geometry.values, dtype=object)
    tree = shapely.STRtree(road_geoms) if len(road_geoms) else None
    for _, grid in grids_m.iterrows():
        line = None
        if tree is not None:
            hits = tree.query(grid["geometry"], predicate="intersects")
            clipped = shapely.get_parts(shapely.intersection(road_geoms[hits], grid["geometry"]))
            lines = [p for p in clipped if p.geom_type == "LineString" and p.length > 0]
            merged = shapely.line_merge(shapely.MultiLineString(lines)) if lines else None
            parts = list(shapely.get_parts(merged)) if merged is not None else []
            if parts:
                line = max(parts, key=lambda p: p.length)
        if line is None or line.length < 100:
            inner = grid["geometry"].buffer(-10)
            if inner.is_empty:
                continue
            line = max(shapely.get_parts(inner), key=lambda p: p.area).exterior
        coords = shapely.get_coordinates(line)
        step = np.r_[0, np.hypot(*np.diff(coords, axis=0).T)]
        times = list(np.round(minutes_for(np.cumsum(step), WALK_SPEED_KMH) * 60.0
                              * rng.uniform(1.0, 1.3), 1))
        start = (as_of - timedelta(days=int(rng.integers(0, 7)))).replace(
            hour=int(rng.choice([9, 15, 20])), minute=int(rng.integers(0, 60)), second=0,
            microsecond=0)
        rows.append({"code": f"PT-{grid['code']}-001", "patroller": leaders[grid["code"]],
                     "grid_code": grid["code"], "started_at": start,
                     "ended_at": start + timedelta(seconds=float(times[-1])),
                     "times": [float(t) for t in times]})
        geoms.append(shapely.LineString(coords))
    return _gdf({c: [r[c] for r in rows] for c in columns}, geoms, grids_m.crs).to_crs(CRS)


def city_from_osm(ways: gpd.GeoDataFrame, entrances: gpd.GeoDataFrame,
                  buildings: gpd.GeoDataFrame, pois: gpd.GeoDataFrame,
                  areas: gpd.GeoDataFrame, *, seed: int = 7, place_name: str = "OSM 示例",
                  district_code: str = "110108", district_name: str = "海淀区",
                  street_seq: str = "001", street_name: str = "示例街道",
                  as_of: datetime = datetime(2025, 6, 30, 17, 0),
                  warnings_out: list[str] | None = None) -> City:
    """Build a ``City`` from the frames of ``geodata.osm.read_osm`` (EPSG:4326).

    Deterministic for a given ``seed``. Problems that do not stop the build (a compound
    without an OSM gate, an oversized grid) are logged and appended to ``warnings_out``.
    Raises ``InvalidInput`` when there are no buildings or no street network to use.
    """
    notes = _Notes(warnings_out)
    if len(district_code) != 6 or not district_code.isdigit() or len(street_seq) != 3:
        raise InvalidInput(f"district code must be 6 digits and street sequence 3 "
                           f"(got {district_code!r}, {street_seq!r})")
    if buildings is None or buildings.empty:
        raise InvalidInput("the OSM data holds no buildings: cannot place households")
    if ways is None or ways.empty:
        raise InvalidInput("the OSM data holds no highways: cannot form street blocks")
    rng = np.random.default_rng(seed)
    crs = metric_crs(buildings)
    areas_m = areas.to_crs(crs) if len(areas) else gpd.GeoDataFrame(
        {"kind": [], "osm_type": [], "osm_id": [], "name": []}, geometry=[], crs=crs)

    # Streets, blocks, grids, communities.
    roads_m = _roads(ways, crs)
    ways_m = ways.to_crs(crs)
    b = _prepare_buildings(buildings, areas_m, crs)
    frame = _frame_polygon(b.geometry, ways_m.geometry)
    streets = street_lines(ways_m, areas_m)
    blocks = merge_slivers(street_blocks(streets, frame))
    grid_polys, grid_households = _grids_from_blocks(blocks, b, notes)
    comm_label = _communities(grid_polys, grid_households)

    street_code = district_code + street_seq
    comm_polys = [shapely.union_all(grid_polys[comm_label == c])
                  for c in range(comm_label.max() + 1)]
    comm_seq = _sequence(comm_polys)
    comm_codes = [f"{street_code}{s:03d}" for s in comm_seq]
    street_short = street_name.removesuffix("街道")
    comm_names = [f"{street_short}第{chinese_numeral(int(s))}社区" for s in comm_seq]
    grid_codes = [""] * len(grid_polys)
    grid_names = [""] * len(grid_polys)
    for c in range(len(comm_polys)):
        members = np.flatnonzero(comm_label == c)
        for k, s in zip(members, _sequence(grid_polys[members]), strict=True):
            grid_codes[k] = f"{comm_codes[c]}{s:03d}"
            grid_names[k] = f"{comm_names[c]}第{s}网格"
    leaders = {code: people.synth_name(rng, "F" if rng.random() < 0.6 else "M", 1985)
               for code in sorted(grid_codes)}
    grids_m = _gdf({
        "code": grid_codes, "name": grid_names,
        "community_code": [comm_codes[c] for c in comm_label], "kind": "community",
        "leader": [leaders[c] for c in grid_codes],
        "leader_phone": [people.synth_phone(rng) for _ in grid_codes],
        "target_households": planned_target_households(grid_households),
    }, grid_polys, crs).sort_values("code").reset_index(drop=True)
    communities_m = _gdf({"code": comm_codes, "name": comm_names,
                          "street_code": street_code}, comm_polys, crs)
    communities_m = communities_m.sort_values("code").reset_index(drop=True)
    whole = shapely.union_all(np.asarray(comm_polys, dtype=object))
    streets_m = _gdf({"code": [street_code], "name": [street_name],
                      "district_code": [district_code]}, [whole], crs)
    districts_m = _gdf({"code": [district_code], "name": [district_name]}, [whole], crs)

    # Buildings in grids (centroid test), compounds and gates.
    owner = _assign(shapely.points(b[["cx", "cy"]].to_numpy()),
                    np.asarray(grids_m.geometry.values, dtype=object))
    b = b[owner >= 0].copy()
    b["grid_code"] = grids_m["code"].to_numpy()[owner[owner >= 0]]
    compounds_m = _compounds(areas_m, grids_m, notes)
    comp_owner = _assign(shapely.points(b[["cx", "cy"]].to_numpy()),
                         np.asarray(compounds_m.geometry.values, dtype=object))
    b["compound_code"] = [compounds_m["code"].iloc[c] if c >= 0 else None for c in comp_owner]
    roads_m["compound_code"] = _internal_roads(roads_m, compounds_m)
    entrances_m = entrances.to_crs(crs) if len(entrances) else entrances
    gates_m = _gates(compounds_m, entrances_m, roads_m, streets, notes)
    b["name"] = pd.Series([_text(v, 100) for v in b["name"]], index=b.index, dtype=object)
    b["address"] = pd.Series([_text(v, 200) for v in b["address"]], index=b.index, dtype=object)
    buildings_m = b.sort_values("code").reset_index(drop=True)

    # People.
    households, residents = people.synth_population(
        buildings_m[buildings_m["dwellings"] > 0], rng, region=district_code,
        as_of_year=as_of.year)

    # Facilities, key sites and the grid workers' records.
    facilities = _facilities(pois)
    parts = [f for f in (pois.reindex(columns=["osm_type", "osm_id", "name", "address", "tags",
                                               "geometry"]),
                         _area_points(areas, ["landuse=construction"])) if len(f)]
    site_candidates = (gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                                        crs=CRS) if parts else _area_points(None, []))
    key_sites_m = _key_sites(site_candidates, grids_m, crs)
    inspections = _inspections(key_sites_m, leaders, rng, as_of)
    hazards = _hazards(buildings_m, grids_m, leaders, rng, as_of, crs)
    tracks = _patrol_tracks(grids_m, roads_m, leaders, rng, as_of)

    label = (f"OSM 实景示例（{place_name}，住户为合成数据） / "
             f"OSM demo ({place_name}, synthetic households)")
    anchor_pt = gpd.GeoSeries([whole.centroid], crs=crs).to_crs(CRS).iloc[0]
    return City(
        label=label,
        anchor=(round(anchor_pt.x, 6), round(anchor_pt.y, 6)),
        districts=_to_wgs(districts_m),
        streets=_to_wgs(streets_m),
        communities=_to_wgs(communities_m),
        grids=_to_wgs(grids_m),
        compounds=_to_wgs(compounds_m.drop(columns=["grid_code", "outline"])),
        gates=_to_wgs(gates_m),
        roads=_to_wgs(roads_m),
        buildings=_to_wgs(buildings_m[["code", "name", "address", "floors", "use",
                                       "compound_code", "grid_code", "geometry"]]),
        households=households.reset_index(drop=True),
        residents=residents,
        facilities=facilities,
        key_sites=_to_wgs(key_sites_m[["code", "name", "category", "address", "grid_code",
                                       "inspection_interval_days", "geometry"]]),
        inspections=inspections,
        hazards=hazards,
        patrol_tracks=tracks,
    )


def _area_points(areas: gpd.GeoDataFrame, kinds: list[str]) -> gpd.GeoDataFrame:
    """Areas of the given kinds as POI-like rows (point inside, tags, no address)."""
    columns = ["osm_type", "osm_id", "name", "address", "tags", "geometry"]
    if areas is None or areas.empty:
        return gpd.GeoDataFrame({c: [] for c in columns[:-1]}, geometry=[], crs=CRS)
    chosen = areas[areas["kind"].isin(kinds)]
    return gpd.GeoDataFrame({
        "osm_type": chosen["osm_type"].to_numpy(), "osm_id": chosen["osm_id"].to_numpy(),
        "name": chosen["name"].to_numpy(), "address": [None] * len(chosen),
        "tags": chosen["tags"].to_numpy(),
    }, geometry=list(shapely.point_on_surface(np.asarray(chosen.geometry.values, dtype=object))),
        crs=CRS)
