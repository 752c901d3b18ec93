"""A synthetic street office (示例街道, Haidian, Beijing): seeded, offline, all fake.

``build_synthetic_city(seed)`` returns a :class:`~gridmap.demo.city.City` whose
structure mimics a real street office closely enough to exercise every map and
report, while every name, person and number in it is invented.

Everything is laid out in a local metric frame (metres east/north of the anchor in
CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548) and converted to EPSG:4326 once,
at the end:

1. roads: bent arterials (their faces are the communities) and jittered branch roads,
   noded with ``union_all``, stub ends pruned; blocks are the faces of that network;
2. gated compounds inset from the kerb, internal lanes from a hub to gates that are
   vertices of the outline, one connector per gate to the nearest street: the only
   way into a compound, as in real 封闭小区;
3. buildings in south-facing rows inside compounds; households per unit x floor x
   door, so counts follow footprint x floors;
4. grids: contiguous groups of blocks sized by households inside each community, so
   grid and community edges are road centre lines;
5. residents (vectorised: household templates -> members -> tags, ID numbers with a
   valid GB 11643 check character), facilities with deliberate gaps, key sites with
   inspection histories, hazards through the case workflow, and four weeks of GPS
   patrol tracks that walk the road graph.

Conventions: every timestamp lies before 00:00 of ``DEMO_TODAY`` (the demo is
"viewed" that morning); ages are ``REFERENCE_YEAR - birth_year``; vacant dwellings
have size 0 and no residents; migrants' ID numbers carry their home county's region
code, everybody else's 110108; children under 14 have no phone; the district row holds
only this street office's outline (the rest of Haidian is not modelled). Hazard
history steps carry ``datetime`` values, like ``found_at``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from gridmap import ordering, vocab
from gridmap.demo.city import City, planned_target_households
from gridmap.units import metres_for

LABEL = "示例街道（合成数据） / Sample street office (synthetic data)"
ANCHOR_LONLAT = (116.33, 39.98)
METRIC_CRS = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger, central meridian 117E
DEMO_TODAY = date.today()  # the demo is generated relative to the day it is built
REFERENCE_YEAR = 2026
DISTRICT_CODE, DISTRICT_NAME = "110108", "海淀区"
STREET_CODE, STREET_NAME = "110108001", "示例街道"

_MIDNIGHT = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day)

# --- layout parameters (metres) ----------------------------------------------------
ARTERIAL_X_M = (-1250.0, -420.0, 430.0, 1250.0)   # north-south arterials, west -> east
ARTERIAL_Y_M = (-1050.0, 20.0, 1050.0)            # east-west arterials, south -> north
ARTERIAL_EXTENSION_M = 160.0  # arterials run on past the street edge
BRANCH_SPACING_M = 190.0      # typical distance between branch roads
BRANCH_OVERSHOOT_M = 30.0     # branch lines are drawn past their end road, then pruned
SETBACK_M = (8.0, 15.0)       # road centre line -> compound wall
WALL_CLEARANCE_M = 4.0        # compound wall -> building
LANE_CLEARANCE_M = 6.0        # internal lane centre line -> building
ROW_HEIGHT_M = 250.0          # row band for west->east, north->south sequence numbers
GRID_TARGET_HOUSEHOLDS = 540  # households the block grouping aims at per grid
OVERDUE_SITE_SHARE = 0.15    # key sites whose last inspection is older than the interval
PATROL_DAYS = 28              # patrol tracks cover the four weeks before DEMO_TODAY
BLOCK_MAX_HOUSEHOLDS = 450    # most blocks are thinned to this many homes

# --- names -------------------------------------------------------------------------
_NS_ARTERIALS = (("西土城路", "secondary"), ("学院路", "primary"),
                 ("花园北路", "secondary"), ("双清路", "secondary"))
_EW_ARTERIALS = (("知春路", "secondary"), ("学知路", "secondary"), ("成府路", "primary"))
_COMMUNITY_NAMES = ("学府社区", "枫林社区", "清源社区", "静淑苑社区", "成府社区", "荷清苑社区",
                    "志新社区", "展春园社区", "育新社区")
_STEMS = ("学清", "志新", "枫林", "荷清", "展春", "育新", "明光", "文慧", "静淑", "锦秋", "柳林",
          "紫薇", "华清", "知行", "松园", "竹溪", "兰亭", "翠微", "北林", "南沙", "清源", "石板",
          "双榆", "蓟门", "学知", "燕东", "塔院", "牡丹", "健德", "东升")
_ROAD_TAILS = ("路", "街", "胡同", "东路", "西路", "北街", "南街", "一街", "二街", "巷")
_COMPOUND_TAILS = ("小区", "苑", "园", "家园", "嘉园", "里", "公寓", "东里", "西里", "北里", "南里")
_INSTITUTE_COMPOUNDS = ("农科院宿舍", "地质大学家属院", "林业大学家属院", "钢铁研究院宿舍",
                        "航空学院家属院", "气象局宿舍", "邮电大学家属院", "医科院宿舍")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_SURNAME_WEIGHTS = np.array([72, 71, 69, 55, 46, 31, 23, 22, 20, 20, 15, 15, 14, 13, 12, 12, 11,
                             11, 10, 10, 9, 9, 7, 7, 7, 6, 6, 6, 6, 6, 5, 5, 5, 5, 5, 4, 4, 4,
                             4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3], dtype=float)
# Given-name characters by generation (born <1966, 1966-1995, later) and sex.
_GIVEN = {
    (0, "M"): "国建华明德志文荣福祥庆军强海成立平胜忠保学永光",
    (0, "F"): "秀英兰芳桂珍凤玉淑华琴云霞敏丽红梅萍素莲翠",
    (1, "M"): "伟强磊军勇杰涛明超刚辉鹏飞斌波宇浩凯健亮峰东鑫",
    (1, "F"): "芳娜敏静丽艳娟霞燕玲婷雪慧颖倩晶洁琳丹莉蕾",
    (2, "M"): "子轩浩宇睿泽昊天博文俊辰宸逸然皓铭航一嘉",
    (2, "F"): "梓涵欣怡佳悦萱诗雨琪思嘉可馨诺语桐彤妍瑶",
}
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159",
                   "180", "181", "182", "183", "184", "185", "186", "187", "188", "189")
LOCAL_REGION = DISTRICT_CODE
# County-level codes (GB/T 2260) of common places of origin of migrants to Beijing.
MIGRANT_REGIONS = ("130102", "130602", "410105", "370102", "340104", "510104", "230103",
                   "120101", "140105", "420106", "610113", "220102", "360102", "430102")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


# =====================================================================================
# small helpers
# =====================================================================================
def reading_order(x, y, row_height_m: float = ROW_HEIGHT_M) -> np.ndarray:
    """Reading order of ``gridmap.ordering`` with this street's row height by default."""
    return ordering.reading_order(x, y, row_height_m)


def _largest(geom):
    """Largest polygon part of ``geom`` (None when empty)."""
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[np.argmax(shapely.area(parts))] if len(parts) else None


def _multi(geom) -> MultiPolygon:
    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon([geom])


def _pick(rng, options):
    """Uniform choice from a sequence (keeps Python str, not numpy str)."""
    return options[int(rng.integers(len(options)))]


def _names(rng, sex: np.ndarray, birth_year: np.ndarray, surname: np.ndarray | None = None
           ) -> np.ndarray:
    """Chinese names: surname (given or drawn by frequency) + one or two characters from
    the pool of the person's generation and sex."""
    n = len(sex)
    if surname is None:
        surname = np.array(list(SURNAMES))[
            rng.choice(len(SURNAMES), n, p=_SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum())]
    era = np.where(birth_year < 1966, 0, np.where(birth_year <= 1995, 1, 2))
    first = np.empty(n, dtype=object)
    second = np.empty(n, dtype=object)
    u1, u2, two = rng.random(n), rng.random(n), rng.random(n) < 0.7
    for (e, s), pool in _GIVEN.items():
        m = (era == e) & (sex == s)
        chars = np.array(list(pool), dtype=object)
        first[m] = chars[(u1[m] * len(chars)).astype(int)]
        second[m] = chars[(u2[m] * len(chars)).astype(int)]
    second = np.where(two & (second != first), second, "")
    return np.asarray(surname, dtype=object) + first + second


def _phones(rng, n: int) -> np.ndarray:
    """11-digit mobile numbers with 13x/15x/18x prefixes."""
    prefix = np.array(MOBILE_PREFIXES, dtype=object)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    tail = pd.Series(rng.integers(0, 10**8, n)).astype(str).str.zfill(8).to_numpy(dtype=object)
    return prefix + tail


def _id_numbers(rng, region: np.ndarray, birth_year: np.ndarray, male: np.ndarray
                ) -> np.ndarray:
    """Unique 18-digit ID numbers: region + birth date (inside ``birth_year``) + sequence
    whose last digit is odd for men + MOD 11-2 check character."""
    n = len(region)
    year = birth_year.astype(int)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    day = (rng.random(n) * (365 + leap)).astype(int)
    born = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + day
    ymd = pd.Series(np.datetime_as_string(born, unit="D")).str.replace("-", "").to_numpy(object)
    ids = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        seq = rng.integers(0, 500, len(todo)) * 2 + male[todo].astype(int)
        body = (np.asarray(region[todo], dtype=object) + ymd[todo]
                + pd.Series(seq).astype(str).str.zfill(3).to_numpy(object))
        digits = np.frombuffer("".join(body).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
        ids[todo] = body + _ID_CHECK[(digits.astype(int) @ _ID_WEIGHTS) % 11].astype(object)
        dup = pd.Series(ids).duplicated(keep="first").to_numpy()
        todo = np.flatnonzero(dup)
    return ids


def _tag_lists(mask: np.ndarray, codes: list[str]) -> list[list[str]]:
    """Per-row tag lists from a boolean (rows x tags) matrix."""
    out: list[list[str]] = [[] for _ in range(mask.shape[0])]
    rows, cols = np.nonzero(mask)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        out[r].append(codes[c])
    return out


# =====================================================================================
# 1. road network and blocks
# =====================================================================================
def _bent_line(fixed_m: float, along_m: np.ndarray, north_south: bool, jitter_m: float,
               rng) -> LineString:
    """Polyline with vertices at ``along_m`` on one axis, jittered around ``fixed_m``."""
    other = fixed_m + rng.normal(0.0, jitter_m, len(along_m))
    xy = np.column_stack([other, along_m] if north_south else [along_m, other])
    return LineString(xy)


def _stations(v: np.ndarray, ext_m: float) -> np.ndarray:
    """Vertex positions along an arterial: the crossings, halfway points and its ends."""
    return np.sort(np.concatenate([[v[0] - ext_m], v, (v[:-1] + v[1:]) / 2, [v[-1] + ext_m]]))


def arterial_designs(rng) -> list[dict]:
    """Arterial roads (名称, highway) with gentle bends; their faces become communities."""
    xs, ys = np.array(ARTERIAL_X_M), np.array(ARTERIAL_Y_M)
    out = []
    for x, (name, hw) in zip(xs, _NS_ARTERIALS, strict=True):
        out.append({"name": name, "highway": hw, "arterial": True,
                    "geometry": _bent_line(x, _stations(ys, ARTERIAL_EXTENSION_M), True, 9.0, rng)})
    for y, (name, hw) in zip(ys, _EW_ARTERIALS, strict=True):
        out.append({"name": name, "highway": hw, "arterial": True,
                    "geometry": _bent_line(y, _stations(xs, ARTERIAL_EXTENSION_M), False, 9.0,
                                           rng)})
    return out


def _positions(lo: float, hi: float, spacing_m: float, rng) -> np.ndarray:
    """Roughly evenly spaced positions strictly between lo and hi (jittered)."""
    n = max(1, round((hi - lo) / spacing_m) - 1)
    step = (hi - lo) / (n + 1)
    return lo + step * (np.arange(1, n + 1) + rng.uniform(-0.15, 0.15, n))


def branch_designs(superblocks, rng) -> list[dict]:
    """Branch roads inside each arterial superblock: east-west lines across it and
    north-south lines, a quarter of which stop at an east-west branch (T junction).
    Lines overshoot their end road by BRANCH_OVERSHOOT_M; the stubs are pruned later."""
    taken = {n for n, _ in _NS_ARTERIALS + _EW_ARTERIALS}
    names = [s + t for s in _STEMS for t in _ROAD_TAILS if s[-1] != t[0] and s + t not in taken]
    order = rng.permutation(len(names))
    name_iter = iter(names[i] for i in order)
    out, over = [], BRANCH_OVERSHOOT_M
    for sb in superblocks:
        x0, y0, x1, y1 = sb.bounds
        xs = _positions(x0, x1, BRANCH_SPACING_M, rng)
        ys = _positions(y0, y1, BRANCH_SPACING_M, rng)
        for y in ys:
            along = np.concatenate([[x0 - over], xs, [x1 + over]])
            out.append({"name": next(name_iter), "arterial": False,
                        "highway": "tertiary" if rng.random() < 0.4 else "residential",
                        "geometry": _clip(_bent_line(y, along, False, 5.0, rng), sb)})
        for x in xs:
            lo, hi = y0 - over, y1 + over
            if len(ys) >= 2 and rng.random() < 0.25:
                k = int(rng.integers(len(ys)))
                lo, hi = (lo, ys[k] + over) if rng.random() < 0.5 else (ys[k] - over, hi)
            along = np.concatenate([[lo], ys[(ys > lo + over) & (ys < hi - over)], [hi]])
            out.append({"name": next(name_iter), "arterial": False,
                        "highway": "tertiary" if rng.random() < 0.3 else "residential",
                        "geometry": _clip(_bent_line(x, along, True, 5.0, rng), sb)})
    return out


def _clip(line, superblock, beyond_m: float = 2.0):
    """The part of a branch line inside its superblock, crossing the arterial by
    ``beyond_m`` (so it is noded there) but never reaching the next superblock's roads."""
    parts = shapely.get_parts(line.intersection(superblock.buffer(beyond_m)))
    return parts[np.argmax(shapely.length(parts))]


def _node_ids(xy: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer node id per coordinate row (coordinates equal to the millimetre share one)."""
    _, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1


def node_network(designs: list[dict]) -> pd.DataFrame:
    """Noded road edges (split at every crossing) with the attributes of their design
    line; branch stubs that end nowhere are pruned, arterial extensions are kept."""
    lines = np.array([d["geometry"] for d in designs], dtype=object)
    edges = shapely.get_parts(shapely.union_all(lines))
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    src = shapely.STRtree(lines).query_nearest(mids, all_matches=False)[1]
    keep = np.array([designs[i]["arterial"] for i in src])
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(edges, 0)),
                      shapely.get_coordinates(shapely.get_point(edges, -1))])
    ids, n_nodes = _node_ids(ends)
    u, v = ids[: len(edges)], ids[len(edges):]
    alive = np.ones(len(edges), bool)
    while True:
        deg = np.bincount(np.r_[u[alive], v[alive]], minlength=n_nodes)
        dangling = alive & ~keep & ((deg[u] == 1) | (deg[v] == 1))
        if not dangling.any():
            break
        alive &= ~dangling
    return pd.DataFrame({
        "geometry": edges[alive],
        "name": [designs[i]["name"] for i in src[alive]],
        "highway": [designs[i]["highway"] for i in src[alive]],
        "design": src[alive],
    })


def faces(lines) -> np.ndarray:
    """Polygons enclosed by noded lines (dangling lines are ignored)."""
    return shapely.get_parts(shapely.polygonize(np.asarray(lines, dtype=object)))


def merge_slivers(blocks: np.ndarray, min_area_m2: float = 2_000.0) -> np.ndarray:
    """Blocks with tiny faces (where two nearly aligned roads cross) merged into the
    neighbour they share the most road with; the merged edge becomes an inner stub."""
    blocks = list(blocks)
    while True:
        area = shapely.area(np.array(blocks, dtype=object))
        small = int(np.argmin(area))
        if area[small] >= min_area_m2 or len(blocks) < 2:
            return np.array(blocks, dtype=object)
        shared = shapely.length(shapely.intersection(
            shapely.boundary(np.array(blocks, dtype=object)), blocks[small].boundary))
        shared[small] = -1.0
        into = int(np.argmax(shared))
        blocks[into] = shapely.union_all([blocks[into], blocks[small]])
        del blocks[small]


def block_neighbours(blocks: np.ndarray, min_shared_m: float = 1.0) -> list[set[int]]:
    """Blocks sharing a stretch of road (not just a corner) with each block."""
    tree = shapely.STRtree(blocks)
    a, b = tree.query(blocks, predicate="intersects")
    m = a < b
    a, b = a[m], b[m]
    shared = shapely.length(shapely.intersection(shapely.boundary(blocks[a]),
                                                 shapely.boundary(blocks[b])))
    nbrs: list[set[int]] = [set() for _ in blocks]
    for i, j in zip(a[shared > min_shared_m].tolist(), b[shared > min_shared_m].tolist(),
                    strict=True):
        nbrs[i].add(j)
        nbrs[j].add(i)
    return nbrs


# =====================================================================================
# 2. compounds, gates, internal lanes
# =====================================================================================
_GATE_DIRS = ((1.0, 0.0, "东"), (0.0, -1.0, "南"), (-1.0, 0.0, "西"), (0.0, 1.0, "北"))
# Block plans: 0 public (no compound), 1 / 2 gated compounds, 3 open residential.
_BLOCK_PLAN_P = (0.12, 0.52, 0.30, 0.06)
_PUBLIC_KINDS = ("school", "school", "school", "park", "park", "office", "commercial")


def plan_blocks(blocks: np.ndarray, rng) -> tuple[np.ndarray, list[str | None]]:
    """Plan per block (0 public, 1/2 compounds, 3 open residential) and, for public
    blocks, what they hold (school, park, office, commercial)."""
    area = shapely.area(blocks)
    plan = rng.choice(4, size=len(blocks), p=_BLOCK_PLAN_P)
    plan[(plan == 2) & (area < 26_000)] = 1
    small = area < 9_000
    plan[small] = np.where(rng.random(small.sum()) < 0.5, 0, 1)
    # enough public blocks for the schools and parks a street office has
    while (plan == 0).sum() < len(_PUBLIC_KINDS):
        plan[rng.choice(np.flatnonzero(plan == 1))] = 0
    kinds: list[str | None] = [None] * len(blocks)
    for k, b in enumerate(rng.permutation(np.flatnonzero(plan == 0))):
        kinds[b] = (_PUBLIC_KINDS[k] if k < len(_PUBLIC_KINDS)
                    else ("office", "commercial", "park")[k % 3])
    return plan, kinds


def _split_block(poly, rng) -> list:
    """Two halves of a block, cut across its longer side near the middle."""
    x0, y0, x1, y1 = poly.bounds
    if x1 - x0 > y1 - y0:
        c = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * (x1 - x0)
        halves = [box(x0 - 1, y0 - 1, c, y1 + 1), box(c, y0 - 1, x1 + 1, y1 + 1)]
    else:
        c = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * (y1 - y0)
        halves = [box(x0 - 1, y0 - 1, x1 + 1, c), box(x0 - 1, c, x1 + 1, y1 + 1)]
    return [poly.intersection(h) for h in halves]


def compound_outlines(blocks, plan, rng) -> pd.DataFrame:
    """Compound walls: each planned block (or half block) inset by a 8-15 m setback."""
    rows = []
    for b in np.flatnonzero((plan == 1) | (plan == 2)):
        parts = _split_block(blocks[b], rng) if plan[b] == 2 else [blocks[b]]
        for part in parts:
            setback = float(rng.uniform(*SETBACK_M))
            inner = _largest(shapely.buffer(part, -setback, join_style="mitre"))
            if inner is not None and inner.area > 2_500:
                rows.append({"block": int(b), "setback_m": setback,
                             "geometry": shapely.normalize(inner)})
    return pd.DataFrame(rows)


def _ray_hit(poly, hub: np.ndarray, dx: float, dy: float):
    """First point where a ray from ``hub`` meets the outline, and its distance."""
    ray = LineString([hub, hub + np.array([dx, dy]) * 5_000.0])
    pts = shapely.get_coordinates(ray.intersection(poly.exterior))
    if len(pts) == 0:
        return None, 0.0
    d = np.hypot(*(pts - hub).T)
    return pts[np.argmin(d)], float(d.min())


def plan_lanes(compounds: pd.DataFrame, public_edges: np.ndarray, rng) -> tuple[list, list]:
    """Gates and internal lanes of each compound.

    Lanes run from a hub (the centroid) east/south/west/north to the wall. A lane end
    becomes a gate when the wall there faces a street (within setback + 4 m of a road);
    the other lanes stop 6 m short of the wall (internal dead ends). Returns
    (gates, lanes): gates carry the compound index, xy, name and kind; lanes carry
    coordinates, highway, access and foot.
    """
    tree = shapely.STRtree(public_edges)
    gates, lanes = [], []
    for ci, (poly, setback) in enumerate(zip(compounds["geometry"], compounds["setback_m"],
                                             strict=True)):
        c = poly.centroid
        hub = np.array(c.coords[0] if poly.contains(c) else poly.representative_point().coords[0])
        hits = [(_ray_hit(poly, hub, dx, dy), name) for dx, dy, name in _GATE_DIRS]
        ends = [(xy, d, name) for (xy, d), name in hits if xy is not None and d > 15.0]
        if not ends:
            continue
        dist = tree.query_nearest(shapely.points([e[0] for e in ends]), return_distance=True)[1]
        facing = [e for e, dd in zip(ends, dist, strict=True) if dd < setback + 4.0]
        n_gates = min(len(facing), int(rng.choice([1, 2, 3], p=[0.25, 0.5, 0.25])))
        chosen = [facing[i] for i in sorted(rng.choice(len(facing), n_gates, replace=False))]
        for k, (xy, _, name) in enumerate(chosen):
            kind = ("both" if k == 0 else
                    str(rng.choice(["pedestrian", "vehicle", "both"], p=[0.6, 0.15, 0.25])))
            gates.append({"compound": ci, "xy": xy, "name": name + "门", "kind": kind})
            lanes.append({"compound": ci, "coords": np.array([hub, xy]),
                          "highway": "footway" if kind == "pedestrian" else "service",
                          "access": None, "foot": None})
        for xy, d, _ in ends:
            if any(xy is g[0] for g in chosen) or rng.random() < 0.4:
                continue
            tip = hub + (xy - hub) * (d - 6.0) / d
            lanes.append({"compound": ci, "coords": np.array([hub, tip]), "highway": "footway",
                          "access": None, "foot": None})
        if rng.random() < 0.12:  # ramp to an underground garage: residents' cars only
            tip = hub + np.array([8.0, -8.0])  # diagonal: clear of the four lanes
            if poly.contains(Point(tip)):
                lanes.append({"compound": ci, "coords": np.array([hub, tip]), "highway": "service",
                              "access": "private", "foot": "no"})
    return gates, lanes


def insert_ring_vertices(ring_xy: np.ndarray, pts: list[np.ndarray]) -> tuple[np.ndarray, list]:
    """Ring coordinates with each point inserted into its nearest segment, so that gates
    are exact vertices of the wall. Returns the ring and the (possibly snapped) points."""
    a, b = ring_xy[:-1], ring_xy[1:]
    ab = b - a
    l2 = np.maximum((ab ** 2).sum(1), 1e-12)
    inserts, snapped = [], []
    for p in pts:
        t = np.clip(((p - a) * ab).sum(1) / l2, 0.0, 1.0)
        d = np.hypot(*(a + t[:, None] * ab - p).T)
        k = int(np.argmin(d))
        if t[k] < 1e-9 or t[k] > 1 - 1e-9:  # already a vertex
            snapped.append(a[k] if t[k] < 0.5 else b[k])
            continue
        inserts.append((k, float(t[k]), p))
        snapped.append(p)
    inserts.sort(key=lambda s: (s[0], s[1]))
    out, j = [], 0
    for k in range(len(a)):
        out.append(a[k])
        while j < len(inserts) and inserts[j][0] == k:
            out.append(inserts[j][2])
            j += 1
    out.append(a[0])
    return np.array(out), snapped


def split_edge(coords: np.ndarray, dists_m: list[float]) -> tuple[list[np.ndarray], list]:
    """Split a polyline at distances along it. Returns the pieces and the exact split
    point of each distance (an existing vertex within 1 m is used instead; the ends are
    never split)."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    points, cuts = [], {}  # position along the line -> (vertex or segment index, new point)
    for d in np.clip(np.asarray(dists_m, float), 0.0, cum[-1]).tolist():
        near = int(np.argmin(np.abs(cum - d)))
        if abs(cum[near] - d) < 1.0:
            points.append(coords[near])
            if 0 < near < len(coords) - 1:
                cuts[cum[near]] = (near, None)
            continue
        k = int(np.searchsorted(cum, d, side="right")) - 1
        cuts.setdefault(d, (k, coords[k] + (d - cum[k]) / seg[k] * (coords[k + 1] - coords[k])))
        points.append(cuts[d][1])
    pieces, current, vi = [], [coords[0]], 1
    for _, (k, p) in sorted(cuts.items()):
        current.extend(coords[vi: k + 1])
        vi = k + 1
        if p is not None:
            current.append(p)
        pieces.append(np.array(current))
        current = [coords[k] if p is None else p]
    current.extend(coords[vi:])
    pieces.append(np.array(current))
    return pieces, points


# =====================================================================================
# 3. buildings
# =====================================================================================
# Row layouts: depth/length/gaps in metres, floors, metres per stair unit, doors per landing.
_STYLES = {
    "old": {"depth": (10, 12), "length": (24, 48), "row_gap": (16, 22), "gap": (6, 12),
            "floors": (5, 6, 6, 6), "unit_m": 14, "per_floor": (2,), "keep": 0.8},
    "low": {"depth": (9, 11), "length": (14, 26), "row_gap": (10, 14), "gap": (6, 10),
            "floors": (2, 3, 3, 4), "unit_m": 14, "per_floor": (2,), "keep": 0.8},
    "mid": {"depth": (12, 14), "length": (30, 50), "row_gap": (26, 32), "gap": (10, 16),
            "floors": (9, 11, 11, 12), "unit_m": 20, "per_floor": (2,), "keep": 0.75},
    "tower": {"depth": (20, 26), "length": None, "row_gap": (28, 36), "gap": (18, 26),
              "floors": (18, 20, 24, 26, 28), "unit_m": 99, "per_floor": (4,), "keep": 0.7},
    "school": {"depth": (14, 18), "length": (40, 70), "row_gap": (20, 30), "gap": (12, 20),
               "floors": (3, 4, 5), "unit_m": 99, "per_floor": (0,), "keep": 0.7, "max": 6},
    "office": {"depth": (15, 22), "length": (30, 60), "row_gap": (18, 24), "gap": (12, 20),
               "floors": (5, 8, 12, 15), "unit_m": 99, "per_floor": (0,), "keep": 0.7, "max": 8},
    "commercial": {"depth": (20, 35), "length": (40, 80), "row_gap": (18, 24), "gap": (12, 20),
                   "floors": (2, 3, 4, 5), "unit_m": 99, "per_floor": (0,), "keep": 0.7,
                   "max": 6},
}
_COMPOUND_STYLES = ("old", "low", "mid", "tower", "mixed")
_COMPOUND_STYLE_P = (0.45, 0.25, 0.12, 0.06, 0.12)
_USE_BY_STYLE = {"school": "public", "office": "office", "commercial": "commercial"}


def row_layout(bounds, style: str, rng) -> np.ndarray:
    """Candidate building rectangles in east-west rows (slabs face south), north to
    south, as rows of (x0, y0, x1, y1, floors, units, doors_per_landing, old)."""
    minx, miny, maxx, maxy = bounds
    out = []
    y_top = maxy - WALL_CLEARANCE_M
    while True:
        name = rng.choice(["old", "tower"]) if style == "mixed" else style
        s = _STYLES[name]
        depth = float(rng.uniform(*s["depth"]))
        if y_top - depth < miny + WALL_CLEARANCE_M:
            break
        x = minx + WALL_CLEARANCE_M + float(rng.uniform(0, s["gap"][1]))
        floors_row = s["floors"][int(rng.integers(len(s["floors"])))]
        while x < maxx - WALL_CLEARANCE_M:
            length = depth if s["length"] is None else float(rng.uniform(*s["length"]))
            units = int(np.clip(round(length / s["unit_m"]), 1, 4))
            per = s["per_floor"][int(rng.integers(len(s["per_floor"])))]
            floors = floors_row if rng.random() < 0.8 else _pick(rng, s["floors"])
            out.append((x, y_top - depth, x + length, y_top, floors, units, per, name == "old"))
            x += length + float(rng.uniform(*s["gap"]))
        y_top -= depth + float(rng.uniform(*s["row_gap"]))
    return np.array(out, dtype=float).reshape(-1, 8)


def place_buildings(blocks, plan, public_kind, compounds: pd.DataFrame, lanes: list, rng
                    ) -> pd.DataFrame:
    """Buildings in compounds (rows clear of walls and lanes), in open residential blocks
    and in public blocks (schools, offices, commercial), plus small service buildings in
    compounds. Most blocks are thinned to BLOCK_MAX_HOUSEHOLDS so grids can be balanced.
    One row per building."""
    lane_zone = defaultdict(list)
    for lane in lanes:
        lane_zone[lane["compound"]].append(LineString(lane["coords"]))
    owners = []  # (area to fill, corridor, block, compound index or -1, style, keep p, max)
    for ci, (poly, b) in enumerate(zip(compounds["geometry"], compounds["block"], strict=True)):
        style = str(rng.choice(_COMPOUND_STYLES, p=_COMPOUND_STYLE_P))
        corridor = (shapely.buffer(shapely.union_all(lane_zone[ci]), LANE_CLEARANCE_M)
                    if lane_zone[ci] else Polygon())
        keep = _STYLES["old" if style == "mixed" else style]["keep"]
        owners.append((shapely.buffer(poly, -WALL_CLEARANCE_M, join_style="mitre"), corridor, b,
                       ci, style, keep, 999))
    for b in np.flatnonzero((plan == 0) | (plan == 3)):
        inner = _largest(shapely.buffer(blocks[b], -float(rng.uniform(*SETBACK_M)),
                                        join_style="mitre"))
        style = "old" if plan[b] == 3 else public_kind[b]
        if inner is None or style == "park":
            continue
        s = _STYLES[style]
        owners.append((inner, Polygon(), b, -1, style, s["keep"] if plan[b] == 0 else 0.6,
                       s.get("max", 999)))
    rows, owner_idx = [], []
    for k, (area, _, _, _, style, _, _) in enumerate(owners):
        cand = row_layout(area.bounds, style, rng)
        rows.append(cand)
        owner_idx.append(np.full(len(cand), k))
    cand = np.vstack(rows)
    own = np.concatenate(owner_idx)
    boxes = shapely.box(cand[:, 0], cand[:, 1], cand[:, 2], cand[:, 3])
    areas = np.array([o[0] for o in owners], dtype=object)
    corridors = np.array([o[1] for o in owners], dtype=object)
    fits = shapely.contains_properly(areas[own], boxes) & ~shapely.intersects(corridors[own], boxes)
    kept = fits & (rng.random(len(own)) < np.array([o[5] for o in owners])[own])
    # every compound keeps at least one building (no compound without buildings)
    first_fit = pd.Series(np.arange(len(own))[fits]).groupby(own[fits]).first()
    has = np.bincount(own[kept], minlength=len(owners)) > 0
    kept[first_fit[~has[first_fit.index]].to_numpy()] = True
    protected = np.zeros(len(own), bool)
    protected[pd.Series(np.flatnonzero(kept)).groupby(own[kept]).first().to_numpy()] = True
    # cap public blocks at a few buildings
    rank = pd.Series(kept.astype(int)).groupby(own).cumsum().to_numpy()
    kept &= rank <= np.array([o[6] for o in owners])[own]
    # thin most blocks to a grid-sized number of homes (random buildings go: green space)
    block_of = np.array([o[2] for o in owners])[own]
    homes = cand[:, 4] * cand[:, 5] * cand[:, 6]
    cap = np.where(rng.random(len(blocks)) < 0.85, BLOCK_MAX_HOUSEHOLDS, np.inf)
    sel = rng.permutation(np.flatnonzero(kept))
    sel = sel[np.argsort(block_of[sel], kind="stable")]
    cum = pd.Series(homes[sel]).groupby(block_of[sel]).cumsum().to_numpy()
    kept[sel[(cum > cap[block_of[sel]]) & ~protected[sel]]] = False
    sel = np.flatnonzero(kept)
    o = own[sel]
    style = np.array([owners[k][4] for k in o], dtype=object)
    main = pd.DataFrame({
        "geometry": boxes[sel],
        "floors": cand[sel, 4].astype(int),
        "units": cand[sel, 5].astype(int),
        "per_floor": cand[sel, 6].astype(int),
        "old": cand[sel, 7].astype(bool),
        "use": np.array([_USE_BY_STYLE.get(s, "residential") for s in style], dtype=object),
        "block": np.array([owners[k][2] for k in o]),
        "compound": np.array([owners[k][3] for k in o]),
    })
    in_comp = [k for k, ow in enumerate(owners) if ow[3] >= 0]
    aux = service_buildings(areas[in_comp], corridors[in_comp], boxes[sel], rng)
    aux_owner = [in_comp[k] for k in aux.pop("owner")]
    aux["block"] = np.array([owners[k][2] for k in aux_owner], dtype=int)
    aux["compound"] = np.array([owners[k][3] for k in aux_owner], dtype=int)
    return pd.concat([main, aux], ignore_index=True)


_SERVICE_USES = ("public", "public", "other")  # 物业/社区用房 (public), 配电室/车棚 (other)


def service_buildings(areas: np.ndarray, corridors: np.ndarray, existing: np.ndarray, rng
                      ) -> pd.DataFrame:
    """Small one- or two-storey service buildings (物业用房, 配电室, 自行车棚 ...) in free
    spots of each compound: random 8-16 x 6-9 m boxes that clear walls, lanes and other
    buildings by 3 m; up to three per compound."""
    n_try = 10
    owner = np.repeat(np.arange(len(areas)), n_try)
    bounds = shapely.bounds(areas)[owner]
    w, h = rng.uniform(8, 16, len(owner)), rng.uniform(6, 9, len(owner))
    x0 = bounds[:, 0] + rng.random(len(owner)) * np.maximum(bounds[:, 2] - bounds[:, 0] - w, 0)
    y0 = bounds[:, 1] + rng.random(len(owner)) * np.maximum(bounds[:, 3] - bounds[:, 1] - h, 0)
    boxes = shapely.box(x0, y0, x0 + w, y0 + h)
    ok = (shapely.contains_properly(areas[owner], boxes)
          & ~shapely.intersects(corridors[owner], boxes))
    hit = shapely.STRtree(existing).query(shapely.buffer(boxes, 3.0), predicate="intersects")[0]
    ok[hit] = False
    wanted = rng.choice([0, 1, 2, 3], len(areas), p=[0.2, 0.35, 0.3, 0.15])
    chosen: list[int] = []
    taken: dict[int, list] = defaultdict(list)
    for i in np.flatnonzero(ok).tolist():
        k = int(owner[i])
        if len(taken[k]) < wanted[k] and not any(boxes[i].distance(t) < 3.0 for t in taken[k]):
            taken[k].append(boxes[i])
            chosen.append(i)
    chosen_a = np.array(chosen, dtype=int)
    return pd.DataFrame({
        "geometry": boxes[chosen_a],
        "floors": rng.choice([1, 1, 2], len(chosen_a)),
        "units": 0, "per_floor": 0, "old": False,
        "use": np.array(_SERVICE_USES, dtype=object)[rng.integers(0, 3, len(chosen_a))],
        "owner": owner[chosen_a],
    })


def adjust_uses(buildings: pd.DataFrame, arterial_union, rng) -> pd.DataFrame:
    """Shops on the ground floor of some compound buildings by an arterial (商住, mixed)."""
    b = buildings.copy()
    inc = b["compound"].to_numpy() >= 0
    near_art = shapely.distance(b["geometry"].to_numpy(), arterial_union) < 30.0
    mixed = (inc & near_art & (b["floors"].to_numpy() >= 5) & (b["use"] == "residential")
             & (rng.random(len(b)) < 0.5))
    b.loc[mixed, "use"] = "mixed"
    return b


# =====================================================================================
# 4. grids from blocks
# =====================================================================================
def partition_blocks(members: list[int], weights: np.ndarray, centres: np.ndarray,
                     nbrs: list[set[int]], target: float) -> list[list[int]]:
    """Contiguous groups of blocks with about ``target`` weight (households) each.

    Seeds are taken in reading order (north-west first); a group grows by the unassigned
    neighbour nearest its seed until it holds its share of what is left. Groups split in
    pieces, and very light groups, are merged into their lightest neighbouring group.
    """
    total = float(weights[members].sum())
    k = max(1, round(total / target))
    order = [members[i] for i in reading_order(centres[members, 0], centres[members, 1], 150.0)]
    unassigned = set(members)
    label: dict[int, int] = {}
    for r in range(k):
        if not unassigned:
            break
        goal = sum(weights[b] for b in unassigned) / (k - r)
        seed = next(b for b in order if b in unassigned)
        group, s = [seed], float(weights[seed])
        unassigned.discard(seed)
        while s < goal * 0.92 and r < k - 1:
            frontier = {n for g in group for n in nbrs[g] if n in unassigned}
            if not frontier:
                break
            nb = min(frontier, key=lambda n: (np.hypot(*(centres[n] - centres[seed])), n))
            if s + weights[nb] > goal * 1.3 and s >= goal * 0.6:
                break
            group.append(nb)
            unassigned.discard(nb)
            s += float(weights[nb])
        if r == k - 1:
            group += sorted(unassigned)
            unassigned.clear()
        for g in group:
            label[g] = r
    for b in unassigned:  # leftovers join a neighbouring group below
        label[b] = k
    return _fix_groups(label, weights, nbrs, min_weight=0.3 * target)


def _components(blocks: list[int], nbrs: list[set[int]]) -> list[list[int]]:
    left, comps = set(blocks), []
    while left:
        stack = [min(left)]
        comp = []
        left.discard(stack[0])
        while stack:
            b = stack.pop()
            comp.append(b)
            for n in nbrs[b]:
                if n in left:
                    left.discard(n)
                    stack.append(n)
        comps.append(sorted(comp))
    return comps


def _fix_groups(label: dict[int, int], weights, nbrs, min_weight: float) -> list[list[int]]:
    """Make every group contiguous and not too light by merging pieces into neighbours."""
    for _ in range(100):
        groups = defaultdict(list)
        for b, g in label.items():
            groups[g].append(b)
        changed = False
        for g, blocks in sorted(groups.items()):
            comps = sorted(_components(blocks, nbrs), key=lambda c: -weights[c].sum())
            pieces = comps[1:] if len(comps) > 1 else (
                comps if weights[blocks].sum() < min_weight and len(groups) > 1 else [])
            for piece in pieces:
                adj = {label[n] for b in piece for n in nbrs[b] if n in label} - {g}
                if not adj:
                    continue
                into = min(adj, key=lambda a: (sum(weights[x] for x in groups[a]), a))
                for b in piece:
                    label[b] = into
                changed = True
            if changed:
                break
        if not changed:
            break
    groups = defaultdict(list)
    for b, g in label.items():
        groups[g].append(b)
    return [sorted(v) for _, v in sorted(groups.items())]


# =====================================================================================
# 5. people
# =====================================================================================
# key, roles (H head, S spouse, C child, G grandparent), weight, age range of the head
# (or of the eldest child when there is a C), share rented.
_TEMPLATES = (
    ("young_single", "H", 0.085, (22, 39), 0.55),
    ("single", "H", 0.04, (40, 59), 0.25),
    ("elderly_alone", "H", 0.07, (62, 94), 0.02),
    ("young_couple", "HS", 0.085, (24, 37), 0.45),
    ("couple", "HS", 0.09, (45, 64), 0.08),           # children have moved out
    ("elderly_couple", "HS", 0.095, (61, 90), 0.02),   # empty nest
    ("family", "HSC", 0.13, (0, 17), 0.25),           # couple + minor child
    ("family_adult_child", "HSC", 0.125, (18, 34), 0.05),
    ("family_two", "HSCC", 0.06, (4, 22), 0.15),
    ("with_parent", "HSG", 0.03, (40, 58), 0.05),     # couple + an elderly parent
    ("three_gen", "HSCG", 0.06, (0, 16), 0.05),
    ("three_gen_5", "HSCCG", 0.04, (6, 22), 0.03),
    ("single_parent", "HC", 0.03, (3, 17), 0.2),
    ("grandparents", "GGC", 0.015, (3, 15), 0.0),    # raising a grandchild (留守)
)
_T = {t[0]: i for i, t in enumerate(_TEMPLATES)}
VACANT_SHARE = 0.05
LOW_INCOME_HOUSEHOLD_P = 0.016


def household_rows(buildings: pd.DataFrame) -> pd.DataFrame:
    """One row per dwelling: units x residential floors x doors per landing; shops take
    the ground floor of mixed buildings. Room '0302' = floor 3, door 2."""
    res = buildings[buildings["use"].isin(["residential", "mixed"])]
    first = np.where(res["use"].to_numpy() == "mixed", 2, 1)
    floors = np.maximum(res["floors"].to_numpy() - (first - 1), 1)
    units, per = res["units"].to_numpy(), res["per_floor"].to_numpy()
    count = units * floors * per
    bi = np.repeat(np.arange(len(res)), count)
    ordinal = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    per_unit = (floors * per)[bi]
    unit = ordinal // per_unit + 1
    rem = ordinal % per_unit
    floor = rem // per[bi] + first[bi]
    door = rem % per[bi] + 1
    room = pd.Series(floor * 100 + door).astype(str).str.zfill(4).to_numpy(object)
    bcode = res["code"].to_numpy(object)[bi]
    unit_s = pd.Series(unit).astype(str).to_numpy(object) + "单元"
    return pd.DataFrame({"code": bcode + "-" + pd.Series(unit).astype(str).to_numpy(object)
                         + "-" + room,
                         "building_code": bcode, "unit": unit_s, "floor": floor.astype(int),
                         "room": room})


def _members(tmpl: np.ndarray, size: np.ndarray, rng) -> dict[str, np.ndarray]:
    """Members of households with templates ``tmpl`` and ``size`` people (0 = vacant):
    household index, position, role, age and sex of each, plus per-household flags."""
    roles_of = [t[1] for t in _TEMPLATES]
    n_hh = len(tmpl)
    hh = np.repeat(np.arange(n_hh), size)
    n = len(hh)
    pos = np.arange(n) - np.repeat(np.cumsum(size) - size, size)
    role_table = np.array([list(r.ljust(5)) for r in roles_of])
    role = role_table[tmpl[hh], pos]
    lo = np.array([t[3][0] for t in _TEMPLATES])[tmpl]
    hi = np.array([t[3][1] for t in _TEMPLATES])[tmpl]
    base_age = rng.integers(lo, hi + 1)  # the head's, or the eldest child's
    has_child = np.array(["C" in r for r in roles_of])[tmpl]
    grand_head = np.array([r[0] == "G" for r in roles_of])[tmpl]
    parent_gap = np.where(grand_head, rng.integers(50, 64, n_hh), rng.integers(24, 37, n_hh))
    head_age = np.where(has_child, base_age + parent_gap, base_age)

    age = head_age[hh].astype(float)
    second = (pos == 1) & np.isin(role, ["S", "G"])  # the head's partner
    age[second] += np.round(rng.normal(-2.0, 3.0, n))[second]
    child = role == "C"
    first_child = child & ((pos == 2) | ((pos == 1) & (role_table[tmpl[hh], 0] == "H")))
    age[child] = base_age[hh][child] - np.where(first_child, 0, rng.integers(2, 9, n))[child]
    elder = (role == "G") & (pos >= 2)  # the head's parent
    age[elder] = head_age[hh][elder] + rng.integers(24, 33, n)[elder]
    elderly_couple = (tmpl == _T["elderly_couple"])[hh]
    age[elderly_couple] = np.maximum(age[elderly_couple], 60)
    age = np.clip(age, 0, 100).astype(int)

    couple = np.array(["S" in r or r.startswith("GG") for r in roles_of])[tmpl]
    head_male_p = np.select([tmpl == _T["elderly_alone"], tmpl == _T["single_parent"], couple],
                            [0.35, 0.2, 0.85], 0.5)
    head_male = rng.random(n_hh) < head_male_p
    male = rng.random(n) < np.where(role == "G", 0.42, 0.51)
    male[pos == 0] = head_male[hh][pos == 0]
    male[second] = ~head_male[hh][second]
    return {"hh": hh, "pos": pos, "role": role, "age": age, "male": male,
            "head_male": head_male, "couple": couple, "child": child, "elder": elder}


def _surnames(mem: dict[str, np.ndarray], size: np.ndarray, rng) -> np.ndarray:
    """Surnames: drawn by frequency; children take the father's, the head's father the
    head's."""
    hh, n = mem["hh"], len(mem["hh"])
    pw = _SURNAME_WEIGHTS / _SURNAME_WEIGHTS.sum()
    own = np.array(list(SURNAMES), dtype=object)[rng.choice(len(SURNAMES), n, p=pw)]
    first = np.cumsum(size) - size
    head = own[first[hh]]
    partner = own[np.minimum(first + 1, max(n - 1, 0))[hh]]
    father = np.where(mem["head_male"][hh] | ~mem["couple"][hh], head, partner)
    out = own.copy()
    out[mem["child"]] = father[mem["child"]]
    grandfather = mem["elder"] & mem["male"]
    out[grandfather] = head[grandfather]
    return out


def _resident_tags(mem: dict[str, np.ndarray], size, tmpl, rental, low_income, rng
                   ) -> np.ndarray:
    """Boolean (residents x vocab.RESIDENT_TAGS) matrix. Rates are rough orders of
    magnitude for an old Beijing inner-suburb street, not statistics of a real place."""
    hh, age, male = mem["hh"], mem["age"], mem["male"]
    codes = [t.code for t in vocab.RESIDENT_TAGS]
    u = rng.random((len(hh), len(codes)))
    old, adult, minor = age >= 60, age >= 18, age < 18
    mid = (age >= 35) & ~old
    working = adult & (age < 70)
    all_old = pd.Series(old).groupby(hh).transform("all").to_numpy(bool)
    migrant = u[:, codes.index("migrant")] < np.where(rental[hh], 0.72, 0.035)
    rule = {
        "living_alone": old & (size[hh] == 1),
        "empty_nest": all_old & (size[hh] >= 2),
        "hypertension": np.select([old, mid], [0.25, 0.08], 0.0),
        "diabetes": np.select([old, mid], [0.10, 0.03], 0.0),
        "disabled": np.select([age >= 80, old, adult], [0.15, 0.09, 0.04], 0.01),
        "severe_mental_illness": np.where(adult, 0.005, 0.0),
        "low_income": low_income[hh],
        "extreme_poverty": np.where(old & (size[hh] == 1) & low_income[hh], 0.4, 0.0),
        "left_behind_child": np.where(minor & (tmpl[hh] == _T["grandparents"]), 0.7, 0.0),
        "key_person": np.where(working, np.where(male, 0.005, 0.001), 0.0),
        "community_correction": np.where(working, 0.0012, 0.0),
        "migrant": migrant,
        "registered_elsewhere": np.where(~migrant, 0.08, 0.0),
        "pregnant": np.where(~male & (age >= 20) & (age <= 40), 0.012, 0.0),
    }
    out = np.zeros(u.shape, bool)
    for j, code in enumerate(codes):
        r = rule[code]
        out[:, j] = r if r.dtype == bool else u[:, j] < r
    return out


def population(n_households: int, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sizes and tags of ``n_households`` dwellings and their residents, vectorised:
    a household template per dwelling -> members -> names, ID numbers, phones, tags.

    Returns (households: size, tags; residents with a 'household' row index column).
    """
    p = np.array([t[2] for t in _TEMPLATES])
    vacant = rng.random(n_households) < VACANT_SHARE
    tmpl = rng.choice(len(_TEMPLATES), n_households, p=p / p.sum())
    size = np.where(vacant, 0, np.array([len(t[1]) for t in _TEMPLATES])[tmpl])
    rental = ~vacant & (rng.random(n_households) < np.array([t[4] for t in _TEMPLATES])[tmpl])
    poor = np.isin(tmpl, [_T["elderly_alone"], _T["single_parent"]])  # 3x as often 低保
    low_income = ~vacant & (rng.random(n_households) < LOW_INCOME_HOUSEHOLD_P * (1 + 2 * poor))

    mem = _members(tmpl, size, rng)
    hh, age, male = mem["hh"], mem["age"], mem["male"]
    birth_year = REFERENCE_YEAR - age
    names = _names(rng, np.where(male, "M", "F"), birth_year, _surnames(mem, size, rng))
    tags = _resident_tags(mem, size, tmpl, rental, low_income, rng)
    codes = [t.code for t in vocab.RESIDENT_TAGS]
    migrant = tags[:, codes.index("migrant")]
    region = np.full(len(hh), LOCAL_REGION, dtype=object)
    region[migrant] = np.array(MIGRANT_REGIONS, dtype=object)[
        rng.integers(0, len(MIGRANT_REGIONS), migrant.sum())]
    residents = pd.DataFrame({
        "household": hh, "name": names,
        "id_number": _id_numbers(rng, region, birth_year, male),
        "phone": np.where(age >= 14, _phones(rng, len(hh)), None),  # children: no phone
        "birth_year": birth_year.astype(int), "sex": np.where(male, "M", "F"),
        "tags": _tag_lists(tags, codes)})

    # household tags that follow from the members
    all_old = np.zeros(n_households, bool)
    all_old[hh] = pd.Series(age >= 60).groupby(hh).transform("all").to_numpy(bool)
    disabled = np.bincount(hh, weights=tags[:, codes.index("disabled")],
                           minlength=n_households) > 0
    hmask = np.column_stack([(size == 1) & all_old, (size >= 2) & all_old,
                             low_income, disabled, rental, vacant])
    households = pd.DataFrame({"size": size.astype(int),
                               "tags": _tag_lists(hmask, [t.code for t in vocab.HOUSEHOLD_TAGS])})
    return households, residents


# =====================================================================================
# 6. facilities, key sites, inspections, hazards
# =====================================================================================
def frontage_points(polys: np.ndarray, offset_m, rng) -> np.ndarray:
    """Random points ``offset_m`` inside the kerb line of each block (pavement side,
    outside any compound wall)."""
    rings = shapely.get_exterior_ring(np.array(
        [_largest(p) for p in shapely.buffer(polys, -np.asarray(offset_m, float),
                                             join_style="mitre")], dtype=object))
    return shapely.line_interpolate_point(rings, rng.uniform(0.02, 0.98, len(polys)),
                                          normalized=True)


def _roadside_points(edges: np.ndarray, offset_m: float, inside, rng) -> np.ndarray:
    """Points beside road edges (mid-stretch), on the side that lies inside ``inside``."""
    t = rng.uniform(0.3, 0.7, len(edges))
    a = shapely.line_interpolate_point(edges, t, normalized=True)
    b = shapely.line_interpolate_point(edges, np.minimum(t + 0.02, 1.0), normalized=True)
    pa, pb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    tang = pb - pa
    normal = np.column_stack([-tang[:, 1], tang[:, 0]]) / np.hypot(*tang.T)[:, None]
    left = shapely.points(pa + normal * offset_m)
    right = shapely.points(pa - normal * offset_m)
    return np.where(shapely.contains(inside, left), left, right)


# category: (count, capacity range, names); '{c}' = community short name, '{s}' = stem
_FACILITY_PLAN = {
    "junior_middle_school": (1, (900, 1500), ("北京市海淀区示例中学",)),
    "sports_large": (1, (2000, 4000), ("示例街道全民健身中心",)),
    "health_center": (1, (150, 300), ("示例街道社区卫生服务中心",)),
    "clinic": (2, (60, 150), ("学院路门诊部", "仁和中医门诊部")),
    "nursing_home": (2, (80, 200), ("颐和养老院", "康乐养老照料中心")),
    "cultural_center": (1, (300, 600), ("示例街道文化活动中心",)),
    "street_service_center": (1, (100, 300), ("示例街道政务服务中心",)),
    "police_station": (1, (50, 100), ("海淀分局示例派出所",)),
    "shopping": (2, (2000, 6000), ("华联商厦（学院路店）", "五道购物中心")),
    "bank": (4, (50, 150), ("中国工商银行（学院路支行）", "中国建设银行（成府路支行）",
                            "中国银行（志新支行）", "北京银行（学知支行）")),
    "post_office": (1, (30, 80), ("示例邮政支局",)),
    "metro_station": (1, (20000, 40000), ("双清路站",)),
    "primary_school": (2, (600, 1200), ("海淀区示例第一小学", "海淀区{s}小学")),
    "sports_medium": (2, (500, 1500), ("{s}体育公园", "{c}运动场")),
    "wet_market": (4, (300, 800), ("{s}菜市场", "物美生鲜超市（{s}店）", "{c}便民菜站")),
    "supermarket": (6, (100, 400), ("物美便民超市（{s}店）", "京客隆超市（{s}店）", "超市发（{s}店）")),
    "bus_stop": (12, (20, 60), ("{x}口",)),
    "community_service_station": (6, (50, 150), ("{c}党群服务中心",)),
    "canteen": (3, (60, 150), ("{c}长者食堂", "{c}食堂")),
    "culture_station": (4, (40, 120), ("{c}文化活动站",)),
    "sports_small": (3, (100, 400), ("{s}小型运动场",)),
    "fitness": (6, (30, 100), ("{s}健身园", "{c}全民健身广场")),
    "kindergarten": (4, (150, 360), ("海淀区{s}幼儿园", "示例街道第一幼儿园")),
    "nursery": (2, (40, 90), ("{s}托育中心",)),
    "elderly_daycare": (2, (30, 60), ("{c}老年人日间照料中心",)),
    "health_station": (1, (20, 60), ("{c}卫生服务站",)),
    "convenience_store": (8, (20, 60), ("便利蜂（{s}店）", "好邻居便利店（{s}店）",
                                        "7-ELEVEn（{s}店）", "快客便利店（{s}店）")),
    "recycling": (4, (5, 20), ("{s}再生资源回收点",)),
    "refuse": (6, (10, 40), ("{s}垃圾分类收集站",)),
    "toilet": (5, (6, 20), ("{s}公共厕所",)),
    "parking": (4, (60, 300), ("{s}停车场",)),
    "express": (5, (500, 2000), ("菜鸟驿站（{s}店）", "京东快递站（{s}店）", "丰巢驿站（{s}店）")),
    "hospital": (0, (0, 0), ()),  # a street office's plan has none of its own
}
# Facilities placed inside a non-residential building when one is available.
_IN_BUILDING = {"junior_middle_school": "public", "primary_school": "public",
                "health_center": "office", "clinic": "office", "street_service_center": "office",
                "police_station": "office", "cultural_center": "commercial",
                "shopping": "commercial", "bank": "commercial", "post_office": "commercial"}
# Deliberate gaps (what a planner should find): the communities that get these.
_ONLY_IN_COMMUNITIES = {"wet_market": (0, 1, 3, 4), "health_station": (2,),
                        "elderly_daycare": (0, 4), "nursery": (1, 5)}

_KEY_SITE_PLAN = {  # category: (count, placement, names)
    "small_venue": (40, "front", ("{s}理发店", "{s}美容美发", "{s}洗衣店", "{s}足疗店", "{s}奶茶店",
                                  "{s}咖啡馆", "{s}五金店", "{s}烟酒店")),
    "restaurant": (30, "front", ("{n}家常菜馆", "{s}饺子馆", "兰州牛肉拉面（{s}店）",
                                 "沙县小吃（{s}店）", "{s}烤鸭店", "{n}记包子铺", "{s}川菜馆")),
    "internet_cafe": (3, "front", ("{s}网吧", "网鱼网咖（{s}店）")),
    "entertainment": (5, "front", ("{s}KTV", "{s}台球厅", "{s}棋牌室")),
    "farmers_market": (3, "front", ("{s}农贸市场",)),
    "school": (4, "school", ("海淀区示例第一小学", "海淀区{s}小学", "北京市海淀区示例中学",
                             "{s}职业学校")),
    "kindergarten": (5, "front", ("海淀区{s}幼儿园",)),
    "construction_site": (3, "park", ("{s}项目施工工地", "{s}老旧小区改造工地")),
    "hazardous_chemicals": (2, "arterial", ("中国石化加油站（{s}站）", "中国石油加油站（{s}站）")),
    "major_hazard": (2, "compound", ("{s}燃气调压站", "{s}锅炉房")),
    "old_building": (20, "old", ()),
    "fire_hydrant": (45, "front", ("{s}消防栓",)),
    "fire_station": (6, "compound", ("{c}微型消防站",)),
    "cctv": (35, "front", ("{s}视频监控点",)),
    "nursing_home": (3, "front", ("{s}养老驿站", "{s}养老照料中心")),
}
# Key sites that are the same places as facilities of these categories.
_KEY_SITE_FROM_FACILITY = {"school": ("primary_school", "junior_middle_school"),
                           "kindergarten": ("kindergarten",), "farmers_market": ("wet_market",),
                           "nursing_home": ("nursing_home",)}
_INSPECTION_NOTES = {
    "ok": ("检查正常", "消防通道畅通，灭火器在有效期内", "证照齐全，台账规范"),
    "issue_found": ("灭火器过期，已要求限期更换", "占用消防通道，已责令整改",
                    "燃气报警器故障，已通知维修", "从业人员健康证过期，已督促办理"),
    "closed_site": ("场所已停业", "场所装修中，暂停营业"),
}
_HAZARD_TEXT = {
    "fire": ("楼道堆放杂物，堵塞消防通道", "消防通道被车辆占用", "灭火器过期未更换",
             "电动自行车在楼道内停放充电"),
    "gas": ("餐饮店燃气软管老化", "液化气钢瓶违规存放", "居民家中燃气报警器缺失"),
    "electrical": ("私拉电线“飞线”充电", "配电箱门损坏未上锁", "楼道照明线路老化"),
    "structural": ("外墙瓷砖空鼓，存在脱落风险", "阳台护栏锈蚀松动", "屋顶防水层破损渗漏"),
    "public_order": ("小区门禁损坏，外来人员随意进出", "围墙破损形成缺口", "监控探头损坏"),
    "traffic": ("路口违停车辆遮挡视线", "人行道井盖松动", "小区出入口缺少减速带"),
    "sanitation": ("垃圾桶满溢未及时清运", "楼道小广告乱贴", "下水道堵塞污水外溢"),
    "other": ("路灯不亮", "健身器材损坏", "树木倾斜有倒伏风险", "广告牌松动"),
}
_HAZARD_STEPS = (("reported", "report", "网格员巡查发现并上报"),
                 ("filed", "file", "社区受理立案"),
                 ("assigned", "assign", "派遣至责任单位"),
                 ("handled", "handle", "责任单位已整改"),
                 ("reinspected", "reinspect", "网格员现场核查，整改到位"),
                 ("closed", "close", "结案归档"))


def _fill(templates: tuple[str, ...], k: int, rng, used: set[str], community: str,
          cross: str = "") -> str:
    """A name from the k-th template ('{s}' stem, '{c}' community, '{n}' surname, '{x}'
    cross street) not in ``used``: other stems and templates are tried, then a branch
    number is added (分店/二部 style)."""
    for attempt in range(40):
        t = templates[(k + attempt // 8) % len(templates)]
        name = t.format(s=_pick(rng, _STEMS), c=community, n=_pick(rng, SURNAMES[:20]), x=cross)
        if name not in used:
            break
    else:
        name = next(f"{name}（{i}）" for i in range(2, 99) if f"{name}（{i}）" not in used)
    used.add(name)
    return name


def inspection_history(interval_days: int, overdue: bool, rng) -> list[int]:
    """Whole days before DEMO_TODAY of a site's inspections over ~90 days, newest first.
    The newest is more than ``interval_days`` old (by at least two days) when the site is
    overdue and less than ``interval_days`` old otherwise."""
    last = (int(rng.integers(interval_days + 2, interval_days + 26)) if overdue
            else int(rng.integers(1, max(interval_days, 2))))
    days = [last]
    while True:
        nxt = days[-1] + max(1, round(interval_days * rng.uniform(0.8, 1.05)))
        if nxt > 92:
            break
        days.append(nxt)
    return days


def _office_time(day: datetime, rng) -> datetime:
    """A time between 08:30 and 18:00 on the date of ``day`` (whole minutes)."""
    start = datetime(day.year, day.month, day.day, 8, 30)
    return start + timedelta(minutes=int(rng.integers(0, 570)))


def hazard_steps(status: str, severity: str, rng) -> tuple[float, float, list[float]]:
    """(found days ago, deadline days after found, step offsets in days after found) for a
    case that has reached ``status``; every step is in the past."""
    k = [s[0] for s in _HAZARD_STEPS].index(status)
    lo_d, hi_d = {"high": (3, 7), "medium": (7, 15), "low": (15, 30)}[severity]
    deadline_d = int(rng.integers(lo_d, hi_d + 1))
    gaps = [0.0, rng.uniform(0.05, 1.5), rng.uniform(0.05, 1.0),
            rng.uniform(0.5, deadline_d * 1.1), rng.uniform(0.3, 3.0), rng.uniform(0.1, 2.0)]
    offsets = list(np.cumsum(gaps[: k + 1]))
    lo = offsets[-1] + 0.1
    found_ago = rng.uniform(max(lo, 1.0), max(lo + 1.0, 45.0 if status != "closed" else 60.0))
    return float(min(found_ago, 60.0)), float(deadline_d), [float(o) for o in offsets]


# =====================================================================================
# 7. patrol tracks
# =====================================================================================
def walk_graph(coords: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """(start node, end node, number of nodes) of each polyline, joined at equal ends."""
    ends = np.vstack([[c[0] for c in coords], [c[-1] for c in coords]])
    ids, n = _node_ids(ends)
    return ids[: len(coords)], ids[len(coords):], n


def random_route(adj: dict[int, list[tuple[int, int, bool]]], start: int, target_m: float,
                 lengths: list[float], weight: list[float], u: list[float]
                 ) -> list[tuple[int, bool]]:
    """A walk along road edges from ``start`` until ``target_m`` is covered.

    ``adj[node]`` lists (edge, other node, forwards). At each node an edge is drawn by
    weight with the uniforms ``u`` (one per step), avoiding U-turns except at dead ends
    and damping edges already walked on this patrol. Returns (edge, forwards) steps.
    """
    route: list[tuple[int, bool]] = []
    node, came, total = start, -1, 0.0
    walked: dict[int, int] = {}
    for r in u:
        options = adj.get(node)
        if not options or total >= target_m:
            break
        if len(options) > 1:
            options = [o for o in options if o[0] != came] or options
        ws = [weight[e] / (1.0 + 3.0 * walked.get(e, 0)) for e, _, _ in options]
        x, acc = r * sum(ws), 0.0
        for (e, other, fwd), w in zip(options, ws, strict=True):  # noqa: B007
            acc += w
            if acc >= x:
                break
        route.append((e, fwd))
        walked[e] = walked.get(e, 0) + 1
        total += lengths[e]
        came, node = e, other
    return route


def reachable_adjacency(edges: np.ndarray, eu: np.ndarray, ev: np.ndarray, start: int
                        ) -> dict[int, list[tuple[int, int, bool]]]:
    """Adjacency lists (edge, other node, forwards) of the part of ``edges`` connected
    to node ``start``."""
    full: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)
    for e in edges.tolist():
        full[int(eu[e])].append((e, int(ev[e]), True))
        full[int(ev[e])].append((e, int(eu[e]), False))
    seen, stack = {start}, [start]
    while stack:
        for _, other, _ in full.get(stack.pop(), []):
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return {n: full[n] for n in sorted(seen) if n in full}


def route_coords(route: list[tuple[int, bool]], edge_coords: list[np.ndarray]) -> np.ndarray:
    """Coordinates of a route of (edge, forwards) steps, joints not repeated."""
    parts = [edge_coords[e] if fwd else edge_coords[e][::-1] for e, fwd in route]
    return np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])


def gps_fixes(route_xy: np.ndarray, speed_kmh: float, fix_s: float, noise_m: float, rng
              ) -> tuple[np.ndarray, np.ndarray]:
    """Fixes along a route at walking speed: one every ~``fix_s`` s (jittered), with
    Gaussian noise of ``noise_m``. Returns (xy, seconds since start)."""
    seg = np.hypot(*np.diff(route_xy, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    speed = speed_kmh / 3.6
    n = max(2, int(np.ceil(cum[-1] / speed / fix_s)) + 1)
    times = np.r_[0.0, np.cumsum(fix_s * rng.uniform(0.7, 1.3, n - 1))]
    dist = np.minimum(times * speed, cum[-1])
    keep = np.r_[True, np.diff(dist) > 0] | (np.arange(n) < 2)
    times, dist = times[keep], dist[keep]
    xy = np.column_stack([np.interp(dist, cum, route_xy[:, 0]),
                          np.interp(dist, cum, route_xy[:, 1])])
    return xy + rng.normal(0.0, noise_m, xy.shape), np.round(times, 1)


# =====================================================================================
# the builder: stages sharing one layout record
# =====================================================================================
@dataclass
class _Street:
    """Everything the stages compute, in local metres (internal to this module)."""
    designs: list = field(default_factory=list)
    net: pd.DataFrame | None = None
    is_arterial: np.ndarray | None = None
    superblocks: np.ndarray | None = None
    blocks: np.ndarray | None = None
    block_comm: np.ndarray | None = None
    nbrs: list = field(default_factory=list)
    street_poly: object = None
    plan: np.ndarray | None = None
    public_kind: list = field(default_factory=list)
    compounds: pd.DataFrame | None = None
    gates: list = field(default_factory=list)
    lanes: list = field(default_factory=list)
    bld: pd.DataFrame | None = None
    road_rows: list = field(default_factory=list)
    comm_codes: list = field(default_factory=list)
    comm_names: list = field(default_factory=list)
    comm_polys: np.ndarray | None = None
    grid_blocks: list = field(default_factory=list)
    grid_comm: np.ndarray | None = None
    grid_polys: np.ndarray | None = None
    grid_code: np.ndarray | None = None
    grid_name: np.ndarray | None = None
    block_grid: np.ndarray | None = None
    target_households: np.ndarray | None = None
    leaders: np.ndarray | None = None
    leader_phone: np.ndarray | None = None
    patrollers: list = field(default_factory=list)
    staff: np.ndarray | None = None
    comp_code: np.ndarray | None = None
    comp_name: list = field(default_factory=list)
    comp_addr: list = field(default_factory=list)


def _street_network(st: _Street, rng) -> None:
    """Arterials -> superblocks (communities); branch roads -> noded network -> blocks."""
    arterials = arterial_designs(rng)
    superblocks = faces(shapely.get_parts(shapely.union_all([a["geometry"] for a in arterials])))
    xy = shapely.get_coordinates(shapely.centroid(superblocks))
    st.superblocks = superblocks[reading_order(xy[:, 0], xy[:, 1], 500.0)]
    st.designs = arterials + branch_designs(st.superblocks, rng)
    st.net = node_network(st.designs)
    blocks = merge_slivers(faces(st.net["geometry"].to_numpy()))
    xy = shapely.get_coordinates(shapely.centroid(blocks))
    st.blocks = blocks[reading_order(xy[:, 0], xy[:, 1], 100.0)]
    a, b = shapely.STRtree(st.superblocks).query(shapely.point_on_surface(st.blocks),
                                                 predicate="within")
    st.block_comm = np.full(len(st.blocks), -1)
    st.block_comm[a] = b
    st.nbrs = block_neighbours(st.blocks)
    st.street_poly = shapely.union_all(st.blocks)
    st.is_arterial = np.array([st.designs[d]["arterial"] for d in st.net["design"]])


def _remap_compounds(st: _Street, keep: np.ndarray) -> None:
    """Keep only the compounds in ``keep`` (sorted indices), renumbering references."""
    remap = np.full(len(st.compounds), -1)
    remap[keep] = np.arange(len(keep))
    st.compounds = st.compounds.iloc[keep].reset_index(drop=True)
    c = st.bld["compound"].to_numpy()
    st.bld["compound"] = np.where(c >= 0, remap[np.maximum(c, 0)], -1)
    st.gates = [dict(g, compound=int(remap[g["compound"]])) for g in st.gates
                if remap[g["compound"]] >= 0]
    st.lanes = [dict(x, compound=int(remap[x["compound"]])) for x in st.lanes
                if remap[x["compound"]] >= 0]


def _compounds_and_buildings(st: _Street, rng) -> None:
    """Compounds, their lanes and gates, and all buildings. Compounds left without a
    building or without a gate are dropped (their buildings become open housing)."""
    st.plan, st.public_kind = plan_blocks(st.blocks, rng)
    st.compounds = compound_outlines(st.blocks, st.plan, rng)
    st.gates, st.lanes = plan_lanes(st.compounds, st.net["geometry"].to_numpy(), rng)
    arterial_union = shapely.union_all(st.net["geometry"].to_numpy()[st.is_arterial])
    st.bld = place_buildings(st.blocks, st.plan, st.public_kind, st.compounds, st.lanes, rng)
    st.bld = adjust_uses(st.bld, arterial_union, rng)
    with_bld = set(st.bld["compound"][st.bld["compound"] >= 0].tolist())
    gated = {g["compound"] for g in st.gates}
    keep = np.array(sorted(with_bld & gated), dtype=int)
    if len(keep) < len(st.compounds):
        _remap_compounds(st, keep)
    # gates become exact vertices of the walls; their lanes end on those vertices
    walls = []
    for ci, poly in enumerate(st.compounds["geometry"]):
        mine = [g for g in st.gates if g["compound"] == ci]
        ring, snapped = insert_ring_vertices(shapely.get_coordinates(poly.exterior),
                                             [g["xy"] for g in mine])
        for g, xy in zip(mine, snapped, strict=True):
            for lane in st.lanes:
                if lane["compound"] == ci and np.abs(lane["coords"][1] - g["xy"]).max() < 1e-6:
                    lane["coords"] = np.array([lane["coords"][0], xy])
            g["xy"] = xy
        walls.append(Polygon(ring))
    st.compounds["geometry"] = walls


def _walk_network(st: _Street) -> None:
    """Road rows: street edges split where gate connectors meet them, the connectors
    (gate -> street) and the compounds' internal lanes, all sharing end points."""
    edges = st.net["geometry"].to_numpy()
    gate_pts = shapely.points(np.array([g["xy"] for g in st.gates]))
    nearest = shapely.STRtree(edges).query_nearest(gate_pts, all_matches=False)[1]
    along = shapely.line_locate_point(edges[nearest], gate_pts)
    cuts = defaultdict(list)
    for gi, (e, d) in enumerate(zip(nearest.tolist(), along.tolist(), strict=True)):
        cuts[e].append((d, gi))
    rows, connector_end = [], {}
    for e, row in enumerate(st.net.itertuples(index=False)):
        coords = shapely.get_coordinates(row.geometry)
        pieces = [coords]
        if e in cuts:
            pieces, pts = split_edge(coords, [d for d, _ in cuts[e]])
            for (_, gi), p in zip(cuts[e], pts, strict=True):
                connector_end[gi] = p
        rows += [{"coords": c, "name": row.name, "highway": row.highway, "foot": None,
                  "access": None, "compound": -1} for c in pieces]
    for gi, g in enumerate(st.gates):
        c = np.array([g["xy"], connector_end[gi]])
        if np.hypot(*(c[1] - c[0])) > 0.01:
            rows.append({"coords": c, "name": None, "compound": -1, "foot": None, "access": None,
                         "highway": "footway" if g["kind"] == "pedestrian" else "service"})
    rows += [{"coords": x["coords"], "name": None, "compound": x["compound"],
              "highway": x["highway"], "foot": x["foot"], "access": x["access"]}
             for x in st.lanes]
    st.road_rows = rows


def _grids(st: _Street, rng) -> None:
    """Grids = groups of blocks by households inside each community; codes and names in
    reading order; leaders, patrollers and office staff."""
    b = st.bld
    homes = np.where(b["use"].isin(["residential", "mixed"]),
                     b["units"] * np.maximum(b["floors"] - (b["use"] == "mixed"), 1)
                     * b["per_floor"], 0)
    block_hh = np.bincount(b["block"], weights=homes, minlength=len(st.blocks))
    centres = shapely.get_coordinates(shapely.centroid(st.blocks))
    n_comm = len(st.superblocks)
    st.comm_codes = [f"{STREET_CODE}{c + 1:03d}" for c in range(n_comm)]
    st.comm_names = list(_COMMUNITY_NAMES[:n_comm])
    groups, comm, codes, names = [], [], [], []
    for c in range(n_comm):
        mine = partition_blocks(np.flatnonzero(st.block_comm == c).tolist(), block_hh, centres,
                                st.nbrs, GRID_TARGET_HOUSEHOLDS)
        polys = np.array([shapely.union_all(st.blocks[g]) for g in mine], dtype=object)
        xy = shapely.get_coordinates(shapely.centroid(polys))
        for seq, k in enumerate(reading_order(xy[:, 0], xy[:, 1]), start=1):
            groups.append(mine[k])
            comm.append(c)
            codes.append(f"{st.comm_codes[c]}{seq:03d}")
            names.append(f"{st.comm_names[c]}第{seq}网格")
    st.grid_blocks, st.grid_comm = groups, np.array(comm)
    st.grid_code, st.grid_name = np.array(codes, dtype=object), np.array(names, dtype=object)
    st.grid_polys = np.array([shapely.union_all(st.blocks[g]) for g in groups], dtype=object)
    st.comm_polys = np.array([shapely.union_all(st.grid_polys[st.grid_comm == c])
                              for c in range(n_comm)], dtype=object)
    st.block_grid = np.empty(len(st.blocks), int)
    for k, g in enumerate(groups):
        st.block_grid[g] = k
    n = len(groups)
    grid_hh = np.array([block_hh[g].sum() for g in groups])
    st.target_households = planned_target_households(grid_hh)
    st.leaders = _names(rng, np.where(rng.random(n) < 0.65, "F", "M"), rng.integers(1968, 1998, n))
    st.leader_phone = _phones(rng, n)
    helpers = _names(rng, np.where(rng.random(2 * n) < 0.5, "M", "F"),
                     rng.integers(1960, 2000, 2 * n))
    n_help = rng.integers(1, 3, n)
    st.patrollers = [[st.leaders[k], *helpers[2 * k: 2 * k + n_help[k]]] for k in range(n)]
    n_staff = 2 * n_comm + 1  # two per community office, one at the street office
    st.staff = _names(rng, np.where(rng.random(n_staff) < 0.6, "F", "M"),
                      rng.integers(1970, 2000, n_staff))


def _addresser(st: _Street):
    """Function: points -> (road names, house numbers; odd on the left, even on the right)."""
    lines = np.array([d["geometry"] for d in st.designs], dtype=object)
    tree = shapely.STRtree(lines)

    def address(points) -> tuple[list[str], np.ndarray]:
        near = tree.query_nearest(points, all_matches=False)[1]
        pos = shapely.line_locate_point(lines[near], points)
        a = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], pos))
        b = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], pos + 1.0))
        p = shapely.get_coordinates(points)
        left = (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[:, 0] - a[:, 0])
        number = 2 * (pos // 40).astype(int) + np.where(left > 0, 1, 2)
        return [st.designs[i]["name"] for i in near], number

    return address


def _codes_and_addresses(st: _Street, rng) -> None:
    """Compound codes (community code + 'C' + seq), names, addresses ('...路12号院'), and
    building codes (grid code + 'B' + seq), names and addresses ('...号院3号楼')."""
    address = _addresser(st)
    comp_comm = st.block_comm[st.compounds["block"].to_numpy()]
    st.compounds["community"] = comp_comm
    st.comp_code = np.empty(len(st.compounds), dtype=object)
    cxy = shapely.get_coordinates(shapely.centroid(st.compounds["geometry"].to_numpy()))
    for c in range(len(st.comm_codes)):
        mine = np.flatnonzero(comp_comm == c)
        for seq, k in enumerate(mine[reading_order(cxy[mine, 0], cxy[mine, 1], 150.0)], start=1):
            st.comp_code[k] = f"{st.comm_codes[c]}C{seq:03d}"
    pool = [s + t for s in _STEMS for t in _COMPOUND_TAILS if s[-1] != t[0]]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    institutes = list(_INSTITUTE_COMPOUNDS)
    st.comp_name = [institutes.pop(0) if institutes and rng.random() < 0.06 else pool.pop()
                    for _ in range(len(st.compounds))]
    roads, numbers = address(shapely.points(cxy))
    used: set[tuple[str, int]] = set()
    st.comp_addr = []
    for r, num in zip(roads, numbers.tolist(), strict=True):
        while (r, num) in used:
            num += 2
        used.add((r, num))
        st.comp_addr.append(f"{STREET_NAME}{r}{num}号院")

    b = st.bld
    b["grid"] = st.block_grid[b["block"].to_numpy()]
    bxy = shapely.get_coordinates(shapely.centroid(b["geometry"].to_numpy()))
    b = b.iloc[np.lexsort((bxy[:, 0], -np.round(bxy[:, 1]), b["grid"].to_numpy()))]
    b = b.reset_index(drop=True)
    seq = pd.Series(b.groupby("grid").cumcount() + 1).astype(str).str.zfill(3).to_numpy(object)
    b["code"] = st.grid_code[b["grid"].to_numpy()] + "B" + seq
    in_comp = b["compound"].to_numpy() >= 0
    number_in = b.groupby("compound").cumcount().to_numpy() + 1
    roads, numbers = address(shapely.centroid(b["geometry"].to_numpy()))
    service_names = {"public": ("物业用房", "社区用房", "综合楼"), "other": ("配电室", "自行车棚"),
                     "office": ("办公楼", "科研楼", "综合办公楼"),
                     "commercial": ("商业楼", "综合商业楼", "商务楼")}
    names, addrs = [], []
    for i, (use, ci) in enumerate(zip(b["use"], b["compound"], strict=True)):
        if in_comp[i]:
            label_ = (f"{number_in[i]}号楼" if use in ("residential", "mixed")
                      else _pick(rng, service_names[use]))
            names.append(label_)
            addrs.append(f"{st.comp_addr[ci]}{number_in[i]}号楼")
        else:
            own = f"{roads[i]}{numbers[i]}号"
            names.append(_pick(rng, service_names[use]) if use in service_names else f"{own}楼")
            addrs.append(f"{STREET_NAME}{own}")
    b["name"], b["address"] = names, addrs
    b["compound_code"] = np.where(in_comp, st.comp_code[np.maximum(b["compound"], 0)], None)
    b["grid_code"] = st.grid_code[b["grid"].to_numpy()]
    st.bld = b


def _facilities(st: _Street, rng) -> tuple[pd.DataFrame, list]:
    """Service facilities of every GB 50180 category, with deliberate gaps."""
    comm_blocks = [np.flatnonzero(st.block_comm == c) for c in range(len(st.comm_codes))]
    b = st.bld
    non_res = b[(b["compound"] < 0) & ~b["use"].isin(["residential", "mixed"])]
    used_blocks: set[int] = set()
    edges = st.net["geometry"].to_numpy()
    street_m = shapely.buffer(st.street_poly, 1.0)
    art = np.flatnonzero(st.is_arterial & shapely.covered_by(edges, street_m))
    lines = np.array([d["geometry"] for d in st.designs], dtype=object)
    line_tree = shapely.STRtree(lines)
    rows, geoms, used = [], [], set()
    for cat in vocab.FACILITY_CATEGORIES:
        count, cap, names = _FACILITY_PLAN[cat.code]
        comms = _ONLY_IN_COMMUNITIES.get(cat.code, tuple(range(len(st.comm_codes))))
        for k in range(count):
            c = (comms[k % len(comms)] if cat.code != "community_service_station" else k)
            c %= len(st.comm_codes)
            pt = frontage_points(st.blocks[[int(rng.choice(comm_blocks[c]))]],
                                 rng.uniform(4.0, 7.0), rng)[0]
            cross = ""
            if cat.code in _IN_BUILDING:  # inside a building of the right kind, one per block
                cands = non_res[(non_res["use"] == _IN_BUILDING[cat.code])
                                & ~non_res["block"].isin(used_blocks)]
                if len(cands):
                    row = cands.iloc[int(rng.integers(len(cands)))]
                    pt = shapely.centroid(row["geometry"])
                    used_blocks.add(int(row["block"]))
            elif cat.code == "bus_stop":  # beside an arterial, named after the cross street
                e = int(rng.choice(art))
                pt = _roadside_points(edges[[e]], 8.0, st.street_poly, rng)[0]
                near = line_tree.query(shapely.buffer(pt, 250.0))
                near = [i for i in near if st.designs[i]["name"] != st.net["name"].iat[e]]
                cross = (st.designs[near[int(np.argmin(shapely.distance(lines[near], pt)))]]["name"]
                         if near else st.net["name"].iat[e])
            elif cat.code == "metro_station":  # only one, just outside the east edge
                pt = Point(ARTERIAL_X_M[-1] + 30.0, ARTERIAL_Y_M[1] + 40.0)
            rows.append({"name": _fill(names, k, rng, used, st.comm_names[c], cross),
                         "category": cat.code, "capacity": int(rng.integers(cap[0], cap[1] + 1))})
            geoms.append(pt)
    fac = pd.DataFrame(rows)
    fac.insert(0, "code", [f"{STREET_CODE}F{i + 1:03d}" for i in range(len(fac))])
    return fac, geoms


def _key_sites(st: _Street, fac: pd.DataFrame, fac_geoms: list, rng) -> tuple[pd.DataFrame, list]:
    """Key sites of every category; schools, kindergartens, markets and nursing homes
    are the matching facilities, old buildings are real 1980s slabs."""
    address = _addresser(st)
    comm_blocks = [np.flatnonzero(st.block_comm == c) for c in range(len(st.comm_codes))]
    old_b = st.bld[st.bld["old"] & st.bld["use"].eq("residential")]
    old_b = old_b.iloc[rng.permutation(len(old_b))]  # distinct 1980s slabs, random order
    edges = st.net["geometry"].to_numpy()
    art = np.flatnonzero(st.is_arterial
                         & shapely.covered_by(edges, shapely.buffer(st.street_poly, 1.0)))
    parks = [i for i, kd in enumerate(st.public_kind) if kd == "park"]
    rows, geoms, used = [], [], set(fac["name"])
    for cat in vocab.KEY_SITE_CATEGORIES:
        count, where, names = _KEY_SITE_PLAN[cat.code]
        same = fac.index[fac["category"].isin(_KEY_SITE_FROM_FACILITY.get(cat.code, ()))].tolist()
        for k in range(count):
            c = int(rng.integers(len(st.comm_codes)))
            addr = None
            if k < len(same):
                name, pt = fac["name"].iat[same[k]], fac_geoms[same[k]]
            elif where == "old" and k < len(old_b):
                row = old_b.iloc[k]
                pt, addr = shapely.centroid(row["geometry"]), row["address"]
                name = f"{row['address']}（老旧房屋）"
            else:
                name = _fill(names, k, rng, used, st.comm_names[c])
                if where == "park" and parks:
                    park = st.blocks[parks[k % len(parks)]]
                    pt = shapely.point_on_surface(shapely.buffer(park, -20.0))
                elif where == "compound":
                    ci = int(rng.integers(len(st.compounds)))
                    g = next(g for g in st.gates if g["compound"] == ci)
                    hub = st.lanes[[x["compound"] for x in st.lanes].index(ci)]["coords"][0]
                    inward = hub - g["xy"]  # 10 m inside the gate, towards the hub
                    pt = Point(g["xy"] + inward * min(10.0 / np.hypot(*inward), 0.5))
                elif where == "arterial":
                    e = int(rng.choice(art))
                    pt = _roadside_points(edges[[e]], 7.0, st.street_poly, rng)[0]
                else:
                    pt = frontage_points(st.blocks[[int(rng.choice(comm_blocks[c]))]],
                                         rng.uniform(4.0, 7.0), rng)[0]
            if addr is None:
                road, num = address(np.array([pt]))
                addr = f"{STREET_NAME}{road[0]}{num[0]}号"
            rows.append({"name": name, "category": cat.code, "address": addr,
                         "inspection_interval_days": vocab.INSPECTION_INTERVAL_DAYS[cat.code]})
            geoms.append(pt)
    ks = pd.DataFrame(rows)
    pts = np.array(geoms, dtype=object)
    tree = shapely.STRtree(st.grid_polys)
    owner = np.full(len(ks), -1)
    a, g = tree.query(pts, predicate="within")
    owner[a] = g
    if (owner < 0).any():
        owner[owner < 0] = tree.query_nearest(pts[owner < 0], all_matches=False)[1]
    ks.insert(0, "code", [f"{STREET_CODE}K{i + 1:04d}" for i in range(len(ks))])
    ks.insert(4, "grid_code", st.grid_code[owner])
    ks["grid"] = owner
    return ks, geoms


def _inspections(st: _Street, ks: pd.DataFrame, rng) -> pd.DataFrame:
    """Inspection history over ~90 days per key site; ~15% of sites are overdue."""
    overdue = rng.random(len(ks)) < OVERDUE_SITE_SHARE
    rows = []
    for i, (code, interval, g) in enumerate(zip(ks["code"], ks["inspection_interval_days"],
                                                ks["grid"], strict=True)):
        for days in inspection_history(int(interval), bool(overdue[i]), rng):
            at = _MIDNIGHT - timedelta(days=days) + timedelta(
                hours=int(rng.integers(9, 17)), minutes=int(rng.integers(0, 60)))
            result = str(rng.choice(["ok", "issue_found", "closed_site"], p=[0.84, 0.13, 0.03]))
            rows.append({"site_code": code, "inspected_at": at, "inspector": st.leaders[g],
                         "result": result, "notes": _pick(rng, _INSPECTION_NOTES[result])})
    out = pd.DataFrame(rows).sort_values(["site_code", "inspected_at"], ignore_index=True)
    out["inspected_at"] = pd.to_datetime(out["inspected_at"])
    return out


def _hazards(st: _Street, rng) -> tuple[pd.DataFrame, list]:
    """Hazard cases across the workflow with a consistent step history."""
    n = int(rng.integers(100, 131))
    statuses = [s[0] for s in _HAZARD_STEPS]
    status = rng.choice(statuses, n, p=[0.07, 0.08, 0.15, 0.12, 0.08, 0.5])
    cats = rng.choice([t.code for t in vocab.HAZARD_CATEGORIES], n,
                      p=[0.25, 0.1, 0.15, 0.1, 0.1, 0.1, 0.15, 0.05])
    sev = rng.choice(["low", "medium", "high"], n, p=[0.6, 0.3, 0.1])
    where = rng.integers(0, len(st.bld), n)
    residents = _names(rng, np.where(rng.random(n) < 0.5, "F", "M"), rng.integers(1950, 1995, n))
    owners = _names(rng, np.where(rng.random(n) < 0.3, "F", "M"), rng.integers(1965, 1990, n))
    rows, geoms = [], []
    for i in range(n):
        b = st.bld.iloc[int(where[i])]
        g, c = int(b["grid"]), int(st.grid_comm[int(b["grid"])])
        found_ago, deadline_d, offsets = hazard_steps(str(status[i]), str(sev[i]), rng)
        found = _office_time(_MIDNIGHT - timedelta(days=found_ago), rng)
        reporter = st.leaders[g] if rng.random() < 0.75 else f"{residents[i]}（居民）"
        responsible = str(owners[i])
        actors = {"report": reporter, "file": st.staff[2 * c], "assign": st.staff[-1],
                  "handle": responsible, "reinspect": st.leaders[g], "close": st.staff[2 * c + 1]}
        history, prev, at = [], None, found
        for (to, action, note), off in zip(_HAZARD_STEPS, offsets, strict=False):
            if action == "assign":
                note = f"责任人：{responsible}，限{deadline_d:.0f}天内整改"
            if prev is not None:  # on a working day after the previous step, never today
                day = min(found + timedelta(days=off), _MIDNIGHT - timedelta(days=1))
                at = max(_office_time(day, rng), at + timedelta(minutes=10))
            history.append({"at": at, "actor": str(actors[action]), "action": action,
                            "from_status": prev, "to_status": to, "note": note})
            prev = to
        pt = shapely.centroid(b["geometry"])
        if cats[i] == "traffic":  # on the street beside the building's block
            pt = frontage_points(st.blocks[[int(b["block"])]], 5.0, rng)[0]
        rows.append({
            "category": str(cats[i]), "severity": str(sev[i]), "status": str(status[i]),
            "description": f"{b['address']}：{_pick(rng, _HAZARD_TEXT[str(cats[i])])}",
            "found_at": found, "deadline": found + timedelta(days=deadline_d),
            "closed_at": history[-1]["at"] if status[i] == "closed" else None,
            "reporter": reporter, "responsible": responsible if len(history) >= 3 else None,
            "grid_code": st.grid_code[g], "history": history})
        geoms.append(pt)
    order = np.argsort([r["found_at"] for r in rows], kind="stable")
    rows, geoms = [rows[i] for i in order], [geoms[i] for i in order]
    hz = pd.DataFrame(rows)
    hz.insert(0, "code", [f"YH{r['found_at']:%Y%m%d}{i + 1:03d}" for i, r in enumerate(rows)])
    for col in ("found_at", "deadline", "closed_at"):
        hz[col] = pd.to_datetime(hz[col])
    return hz, geoms


def _patrols(st: _Street, rng) -> tuple[pd.DataFrame, np.ndarray]:
    """Four weeks of patrols per grid along the walking network (see ``random_route``)."""
    coords = [r["coords"] for r in st.road_rows]
    walkable = np.array([r["foot"] != "no" for r in st.road_rows])
    internal = np.array([r["compound"] >= 0 for r in st.road_rows])
    street = np.array([r["name"] is not None for r in st.road_rows])  # named public streets
    eu, ev, n_nodes = walk_graph(coords)
    lengths = np.array([np.hypot(*np.diff(c, axis=0).T).sum() for c in coords])
    lengths_l = lengths.tolist()
    lines = np.array([LineString(c) for c in coords], dtype=object)
    gi, ei = shapely.STRtree(lines).query(shapely.buffer(st.grid_polys, 40.0), predicate="contains")
    node_xy = np.zeros((n_nodes, 2))
    node_xy[eu] = [c[0] for c in coords]
    node_xy[ev] = [c[-1] for c in coords]
    days = [_MIDNIGHT - timedelta(days=d) for d in range(PATROL_DAYS, 0, -1)]
    rows, xys = [], []
    for g in range(len(st.grid_polys)):
        es = ei[gi == g]
        es = es[walkable[es]]
        # each grid skips a different share of its streets, so coverage differs
        skip = street[es] & (rng.random(len(es)) < rng.uniform(0.0, 0.5))
        centre = shapely.get_coordinates(shapely.centroid(st.grid_polys[g]))[0]
        ends = np.r_[eu[es[street[es]]], ev[es[street[es]]]]
        home = int(ends[np.argmin(np.hypot(*(node_xy[ends] - centre).T))])
        adj = reachable_adjacency(es[~skip], eu, ev, home)
        if sum(map(len, adj.values())) / 2 < 0.5 * len(es):  # skipping cut the grid apart
            adj = reachable_adjacency(es, eu, ev, home)
        nodes = np.array(sorted(adj))
        weight = np.ones(len(coords))
        night_weight = np.where(internal, weight * 4.0, weight)  # night: inside compounds
        street_m = float(sum(lengths_l[e] for opts in adj.values() for e, _, _ in opts)) / 2
        for day in days:
            for _ in range(int(rng.choice(4, p=[0.1, 0.45, 0.35, 0.1]))):
                night = rng.random() < 0.15
                speed_kmh = float(rng.uniform(3.5, 5.0))
                minutes = float(rng.uniform(25, 60) if night else rng.uniform(35, 85))
                target_m = min(float(metres_for(minutes, speed_kmh)), 2.5 * street_m)
                start = home if rng.random() < 0.6 else int(rng.choice(nodes))
                route = random_route(adj, start, target_m, lengths_l,
                                     (night_weight if night else weight).tolist(),
                                     rng.random(3000).tolist())
                if not route:
                    continue
                xy, times = gps_fixes(route_coords(route, coords), speed_kmh,
                                      float(rng.uniform(10, 30)), float(rng.uniform(3, 8)), rng)
                if len(xy) > 40 and rng.random() < 0.03:  # a wrong fix or few, 200-500 m off
                    j = int(rng.integers(5, len(xy) - 10))
                    ang = rng.uniform(0, 2 * np.pi)
                    xy[j: j + int(rng.integers(1, 5))] += (rng.uniform(200, 500)
                                                          * np.array([np.cos(ang), np.sin(ang)]))
                if len(xy) > 60 and rng.random() < 0.04:  # signal lost for a while
                    j = int(rng.integers(10, len(xy) - 40))
                    keep = np.r_[0:j, j + int(rng.integers(8, 25)):len(xy)]
                    xy, times = xy[keep], times[keep]
                hour = rng.uniform(19.0, 22.0) if night else rng.uniform(8.0, 16.5)
                started = (day + timedelta(hours=float(hour))).replace(second=0, microsecond=0)
                who = st.patrollers[g][0 if rng.random() < 0.6
                                       else int(rng.integers(len(st.patrollers[g])))]
                rows.append({"code": f"PT{started:%Y%m%d}{len(rows) + 1:05d}", "patroller": who,
                             "grid_code": st.grid_code[g], "started_at": started,
                             "ended_at": started + timedelta(seconds=float(times[-1])),
                             "times": times.tolist()})
                xys.append(xy)
    geoms = shapely.linestrings(np.vstack(xys),
                                indices=np.repeat(np.arange(len(xys)), [len(x) for x in xys]))
    tracks = pd.DataFrame(rows)
    for col in ("started_at", "ended_at"):
        tracks[col] = pd.to_datetime(tracks[col])
    return tracks, geoms


def _frame(data: dict, geoms, origin: np.ndarray) -> gpd.GeoDataFrame:
    """GeoDataFrame in EPSG:4326 from local-metre geometries."""
    g = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: xy + origin)
    return gpd.GeoDataFrame(data, geometry=g, crs=METRIC_CRS).to_crs("EPSG:4326")


def build_synthetic_city(seed: int = 7) -> City:
    """A complete synthetic street office (see the module docstring): pure, offline and
    deterministic for a given ``seed``; every frame in EPSG:4326."""
    rng = np.random.default_rng(seed)
    st = _Street()
    _street_network(st, rng)
    _compounds_and_buildings(st, rng)
    _walk_network(st)
    _grids(st, rng)
    _codes_and_addresses(st, rng)

    hh = household_rows(st.bld)
    hh_part, res = population(len(hh), rng)
    hh["size"] = hh_part["size"].to_numpy()
    hh["tags"] = hh_part["tags"].to_numpy()
    res.insert(0, "household_code", hh["code"].to_numpy()[res.pop("household").to_numpy()])

    fac, fac_geoms = _facilities(st, rng)
    ks, ks_geoms = _key_sites(st, fac, fac_geoms, rng)
    inspections = _inspections(st, ks, rng)
    hz, hz_geoms = _hazards(st, rng)
    tracks, track_geoms = _patrols(st, rng)

    origin = np.array(Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
                      .transform(*ANCHOR_LONLAT))
    comp_code = st.comp_code
    rr = st.road_rows
    gate_seq = defaultdict(int)
    gate_codes = []
    for g in st.gates:
        gate_seq[g["compound"]] += 1
        gate_codes.append(f"{comp_code[g['compound']]}G{gate_seq[g['compound']]}")
    whole = _multi(shapely.union_all(st.comm_polys))
    b = st.bld
    return City(
        label=LABEL,
        anchor=ANCHOR_LONLAT,
        districts=_frame({"code": [DISTRICT_CODE], "name": [DISTRICT_NAME]}, [whole], origin),
        streets=_frame({"code": [STREET_CODE], "name": [STREET_NAME],
                        "district_code": [DISTRICT_CODE]}, [whole], origin),
        communities=_frame({"code": st.comm_codes, "name": st.comm_names,
                            "street_code": STREET_CODE},
                           [_multi(p) for p in st.comm_polys], origin),
        grids=_frame({"code": st.grid_code, "name": st.grid_name,
                      "community_code": np.array(st.comm_codes, dtype=object)[st.grid_comm],
                      "kind": "community", "leader": st.leaders, "leader_phone": st.leader_phone,
                      "target_households": st.target_households},
                     [_multi(p) for p in st.grid_polys], origin),
        compounds=_frame({"code": comp_code, "name": st.comp_name,
                          "community_code": np.array(st.comm_codes, dtype=object)[
                              st.compounds["community"].to_numpy()]},
                         [_multi(p) for p in st.compounds["geometry"]], origin),
        gates=_frame({"code": gate_codes,
                      "compound_code": [comp_code[g["compound"]] for g in st.gates],
                      "name": [g["name"] for g in st.gates], "kind": [g["kind"] for g in st.gates]},
                     [Point(g["xy"]) for g in st.gates], origin),
        roads=_frame({"code": [f"{STREET_CODE}R{i + 1:05d}" for i in range(len(rr))],
                      "name": [r["name"] for r in rr], "highway": [r["highway"] for r in rr],
                      "foot": [r["foot"] for r in rr], "access": [r["access"] for r in rr],
                      "compound_code": [comp_code[r["compound"]] if r["compound"] >= 0 else None
                                        for r in rr]},
                     [LineString(r["coords"]) for r in rr], origin),
        buildings=_frame({c: b[c].to_numpy() for c in ("code", "name", "address", "floors", "use",
                                                        "compound_code", "grid_code")},
                         b["geometry"].to_numpy(), origin),
        households=hh[["code", "building_code", "unit", "floor", "room", "size", "tags"]],
        residents=res,
        facilities=_frame({c: fac[c].to_numpy() for c in ("code", "name", "category", "capacity")},
                          fac_geoms, origin),
        key_sites=_frame({c: ks[c].to_numpy() for c in ("code", "name", "category", "address",
                                                         "grid_code", "inspection_interval_days")},
                         ks_geoms, origin),
        inspections=inspections,
        hazards=_frame({c: hz[c].to_numpy() for c in hz.columns}, hz_geoms, origin),
        patrol_tracks=_frame({c: tracks[c].to_numpy() for c in tracks.columns}, track_geoms,
                             origin),
    )
