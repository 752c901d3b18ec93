"""Facilities, key sites, inspections, hazards and GPS patrol tracks of the synthetic
street: templates, placement and timing helpers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import shapely

from gridmap.demo.synth_common import STEMS, SURNAMES, largest, pick
from gridmap.demo.synth_layout import node_ids


# =====================================================================================
# 6. facilities, key sites, inspections, hazards
# =====================================================================================
def frontage_points(polys: np.ndarray, offset_m, rng) -> np.ndarray:
    """Random points ``offset_m`` inside the kerb line of each block.

    On the pavement side, outside any compound wall.

    Parameters
    ----------
    polys : numpy.ndarray
        Block polygons (local metres).
    offset_m : float
        Distance inside the kerb, in metres.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    numpy.ndarray
        One point per block.
    """
    rings = shapely.get_exterior_ring(
        np.array(
            [
                largest(p)
                for p in shapely.buffer(polys, -np.asarray(offset_m, float), join_style="mitre")
            ],
            dtype=object,
        )
    )
    return shapely.line_interpolate_point(
        rings, rng.uniform(0.02, 0.98, len(polys)), normalized=True
    )


def roadside_points(edges: np.ndarray, offset_m: float, inside, rng) -> np.ndarray:
    """Points beside road edges (mid-stretch), on the side that lies inside ``inside``.

    Parameters
    ----------
    edges : numpy.ndarray
        Road edges (local metres).
    offset_m : float
        Distance from the centre line, in metres.
    inside : shapely geometry
        The area the points must fall in.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    numpy.ndarray
        One point per edge.
    """
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
FACILITY_PLAN = {
    "junior_middle_school": (1, (900, 1500), ("北京市海淀区示例中学",)),
    "sports_large": (1, (2000, 4000), ("示例街道全民健身中心",)),
    "health_center": (1, (150, 300), ("示例街道社区卫生服务中心",)),
    "clinic": (2, (60, 150), ("学院路门诊部", "仁和中医门诊部")),
    "nursing_home": (2, (80, 200), ("颐和养老院", "康乐养老照料中心")),
    "cultural_center": (1, (300, 600), ("示例街道文化活动中心",)),
    "street_service_center": (1, (100, 300), ("示例街道政务服务中心",)),
    "police_station": (1, (50, 100), ("海淀分局示例派出所",)),
    "shopping": (2, (2000, 6000), ("华联商厦（学院路店）", "五道购物中心")),
    "bank": (
        4,
        (50, 150),
        (
            "中国工商银行（学院路支行）",
            "中国建设银行（成府路支行）",
            "中国银行（志新支行）",
            "北京银行（学知支行）",
        ),
    ),
    "post_office": (1, (30, 80), ("示例邮政支局",)),
    "metro_station": (1, (20000, 40000), ("双清路站",)),
    "primary_school": (2, (600, 1200), ("海淀区示例第一小学", "海淀区{s}小学")),
    "sports_medium": (2, (500, 1500), ("{s}体育公园", "{c}运动场")),
    "wet_market": (4, (300, 800), ("{s}菜市场", "物美生鲜超市（{s}店）", "{c}便民菜站")),
    "supermarket": (
        6,
        (100, 400),
        ("物美便民超市（{s}店）", "京客隆超市（{s}店）", "超市发（{s}店）"),
    ),
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
    "convenience_store": (
        8,
        (20, 60),
        ("便利蜂（{s}店）", "好邻居便利店（{s}店）", "7-ELEVEn（{s}店）", "快客便利店（{s}店）"),
    ),
    "recycling": (4, (5, 20), ("{s}再生资源回收点",)),
    "refuse": (6, (10, 40), ("{s}垃圾分类收集站",)),
    "toilet": (5, (6, 20), ("{s}公共厕所",)),
    "parking": (4, (60, 300), ("{s}停车场",)),
    "express": (5, (500, 2000), ("菜鸟驿站（{s}店）", "京东快递站（{s}店）", "丰巢驿站（{s}店）")),
    "hospital": (0, (0, 0), ()),  # a street office's plan has none of its own
}


# Facilities placed inside a non-residential building when one is available.
IN_BUILDING = {
    "junior_middle_school": "public",
    "primary_school": "public",
    "health_center": "office",
    "clinic": "office",
    "street_service_center": "office",
    "police_station": "office",
    "cultural_center": "commercial",
    "shopping": "commercial",
    "bank": "commercial",
    "post_office": "commercial",
}


# Deliberate gaps (what a planner should find): the communities that get these.
ONLY_IN_COMMUNITIES = {
    "wet_market": (0, 1, 3, 4),
    "health_station": (2,),
    "elderly_daycare": (0, 4),
    "nursery": (1, 5),
}


KEY_SITE_PLAN = {  # category: (count, placement, names)
    "small_venue": (
        40,
        "front",
        (
            "{s}理发店",
            "{s}美容美发",
            "{s}洗衣店",
            "{s}足疗店",
            "{s}奶茶店",
            "{s}咖啡馆",
            "{s}五金店",
            "{s}烟酒店",
        ),
    ),
    "restaurant": (
        30,
        "front",
        (
            "{n}家常菜馆",
            "{s}饺子馆",
            "兰州牛肉拉面（{s}店）",
            "沙县小吃（{s}店）",
            "{s}烤鸭店",
            "{n}记包子铺",
            "{s}川菜馆",
        ),
    ),
    "internet_cafe": (3, "front", ("{s}网吧", "网鱼网咖（{s}店）")),
    "entertainment": (5, "front", ("{s}KTV", "{s}台球厅", "{s}棋牌室")),
    "farmers_market": (3, "front", ("{s}农贸市场",)),
    "school": (
        4,
        "school",
        ("海淀区示例第一小学", "海淀区{s}小学", "北京市海淀区示例中学", "{s}职业学校"),
    ),
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
KEY_SITE_FROM_FACILITY = {
    "school": ("primary_school", "junior_middle_school"),
    "kindergarten": ("kindergarten",),
    "farmers_market": ("wet_market",),
    "nursing_home": ("nursing_home",),
}


INSPECTION_NOTES = {
    "ok": ("检查正常", "消防通道畅通，灭火器在有效期内", "证照齐全，台账规范"),
    "issue_found": (
        "灭火器过期，已要求限期更换",
        "占用消防通道，已责令整改",
        "燃气报警器故障，已通知维修",
        "从业人员健康证过期，已督促办理",
    ),
    "closed_site": ("场所已停业", "场所装修中，暂停营业"),
}


HAZARD_TEXT = {
    "fire": (
        "楼道堆放杂物，堵塞消防通道",
        "消防通道被车辆占用",
        "灭火器过期未更换",
        "电动自行车在楼道内停放充电",
    ),
    "gas": ("餐饮店燃气软管老化", "液化气钢瓶违规存放", "居民家中燃气报警器缺失"),
    "electrical": ("私拉电线“飞线”充电", "配电箱门损坏未上锁", "楼道照明线路老化"),
    "structural": ("外墙瓷砖空鼓，存在脱落风险", "阳台护栏锈蚀松动", "屋顶防水层破损渗漏"),
    "public_order": ("小区门禁损坏，外来人员随意进出", "围墙破损形成缺口", "监控探头损坏"),
    "traffic": ("路口违停车辆遮挡视线", "人行道井盖松动", "小区出入口缺少减速带"),
    "sanitation": ("垃圾桶满溢未及时清运", "楼道小广告乱贴", "下水道堵塞污水外溢"),
    "other": ("路灯不亮", "健身器材损坏", "树木倾斜有倒伏风险", "广告牌松动"),
}


HAZARD_STEPS = (
    ("reported", "report", "网格员巡查发现并上报"),
    ("filed", "file", "社区受理立案"),
    ("assigned", "assign", "派遣至责任单位"),
    ("handled", "handle", "责任单位已整改"),
    ("reinspected", "reinspect", "网格员现场核查，整改到位"),
    ("closed", "close", "结案归档"),
)


def fill(
    templates: tuple[str, ...], k: int, rng, used: set[str], community: str, cross: str = ""
) -> str:
    """A name from the k-th template not in ``used``.

    Templates hold '{s}' (stem), '{c}' (community), '{n}' (surname) and '{x}' (cross
    street). Other stems and templates are tried, then a branch number is added (分店/二部
    style).

    Parameters
    ----------
    templates : tuple of str
        The name templates.
    k : int
        Which template to start from.
    rng : numpy.random.Generator
        The demo's random generator.
    used : set of str
        Names already given (the new one is added).
    community : str
        The community's name, for '{c}'.
    cross : str
        The cross street's name, for '{x}'.

    Returns
    -------
    str
        The name.
    """
    for attempt in range(40):
        t = templates[(k + attempt // 8) % len(templates)]
        name = t.format(s=pick(rng, STEMS), c=community, n=pick(rng, SURNAMES[:20]), x=cross)
        if name not in used:
            break
    else:
        name = next(f"{name}（{i}）" for i in range(2, 99) if f"{name}（{i}）" not in used)
    used.add(name)
    return name


def inspection_history(interval_days: int, overdue: bool, rng) -> list[int]:
    """Whole days before DEMO_TODAY of a site's inspections over ~90 days, newest first.

    The newest is more than ``interval_days`` old (by at least two days) when the site is
    overdue and less than ``interval_days`` old otherwise.

    Parameters
    ----------
    interval_days : int
        The site's inspection interval in days.
    overdue : bool
        Whether the site is overdue.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    list of int
        Days before DEMO_TODAY.
    """
    last = (
        int(rng.integers(interval_days + 2, interval_days + 26))
        if overdue
        else int(rng.integers(1, max(interval_days, 2)))
    )
    days = [last]
    while True:
        nxt = days[-1] + max(1, round(interval_days * rng.uniform(0.8, 1.05)))
        if nxt > 92:
            break
        days.append(nxt)
    return days


def office_time(day: datetime, rng) -> datetime:
    """A time between 08:30 and 18:00 on the date of ``day`` (whole minutes).

    Parameters
    ----------
    day : datetime
        The date.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    datetime
        The time.
    """
    start = datetime(day.year, day.month, day.day, 8, 30)
    return start + timedelta(minutes=int(rng.integers(0, 570)))


def hazard_steps(status: str, severity: str, rng) -> tuple[float, float, list[float]]:
    """Timing of a case that has reached ``status``; every step is in the past.

    Parameters
    ----------
    status : str
        The status reached.
    severity : str
        ``low``, ``medium`` or ``high`` (sets the deadline).
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple
        (found days ago, deadline days after found, step offsets in days after found).
    """
    k = [s[0] for s in HAZARD_STEPS].index(status)
    lo_d, hi_d = {"high": (3, 7), "medium": (7, 15), "low": (15, 30)}[severity]
    deadline_d = int(rng.integers(lo_d, hi_d + 1))
    gaps = [
        0.0,
        rng.uniform(0.05, 1.5),
        rng.uniform(0.05, 1.0),
        rng.uniform(0.5, deadline_d * 1.1),
        rng.uniform(0.3, 3.0),
        rng.uniform(0.1, 2.0),
    ]
    offsets = list(np.cumsum(gaps[: k + 1]))
    lo = offsets[-1] + 0.1
    found_ago = rng.uniform(max(lo, 1.0), max(lo + 1.0, 45.0 if status != "closed" else 60.0))
    return float(min(found_ago, 60.0)), float(deadline_d), [float(o) for o in offsets]


# =====================================================================================
# 7. patrol tracks
# =====================================================================================
def walk_graph(coords: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """(start node, end node, number of nodes) of each polyline, joined at equal ends.

    Parameters
    ----------
    coords : list of numpy.ndarray
        The polylines' coordinates.

    Returns
    -------
    tuple of numpy.ndarray, numpy.ndarray and int
        Start node and end node of each polyline, and the number of nodes.
    """
    ends = np.vstack([[c[0] for c in coords], [c[-1] for c in coords]])
    ids, n = node_ids(ends)
    return ids[: len(coords)], ids[len(coords) :], n


def random_route(
    adj: dict[int, list[tuple[int, int, bool]]],
    start: int,
    target_m: float,
    lengths: list[float],
    weight: list[float],
    u: list[float],
) -> list[tuple[int, bool]]:
    """A walk along road edges from ``start`` until ``target_m`` is covered.

    At each node an edge is drawn by weight with the uniforms ``u`` (one per step),
    avoiding U-turns except at dead ends and damping edges already walked on this patrol.

    Parameters
    ----------
    adj : dict
        ``adj[node]`` lists (edge, other node, forwards).
    start : int
        The start node.
    target_m : float
        Distance to walk, in metres.
    lengths : list of float
        Length of each edge in metres.
    weight : list of float
        Weight of each edge in the draw.
    u : list of float
        Uniform draws in [0, 1), one per step.

    Returns
    -------
    list of tuple of int and bool
        The (edge, forwards) steps.
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


def reachable_adjacency(
    edges: np.ndarray, eu: np.ndarray, ev: np.ndarray, start: int
) -> dict[int, list[tuple[int, int, bool]]]:
    """Adjacency lists of the part of ``edges`` connected to node ``start``.

    Parameters
    ----------
    edges : numpy.ndarray
        Indices of the edges to use.
    eu, ev : numpy.ndarray
        Start and end node of every edge.
    start : int
        The node the part must contain.

    Returns
    -------
    dict
        Node -> list of (edge, other node, forwards).
    """
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
    """Coordinates of a route of (edge, forwards) steps, joints not repeated.

    Parameters
    ----------
    route : list of tuple of int and bool
        The (edge, forwards) steps.
    edge_coords : list of numpy.ndarray
        The coordinates of every edge.

    Returns
    -------
    numpy.ndarray
        The route's coordinates.
    """
    parts = [edge_coords[e] if fwd else edge_coords[e][::-1] for e, fwd in route]
    return np.concatenate([parts[0]] + [p[1:] for p in parts[1:]])


def gps_fixes(
    route_xy: np.ndarray, speed_kmh: float, fix_s: float, noise_m: float, rng
) -> tuple[np.ndarray, np.ndarray]:
    """Fixes along a route at walking speed, with Gaussian noise.

    Parameters
    ----------
    route_xy : numpy.ndarray
        The route's coordinates in metres.
    speed_kmh : float
        Walking speed in km/h.
    fix_s : float
        Seconds between fixes (jittered).
    noise_m : float
        Standard deviation of the noise, in metres.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of numpy.ndarray
        The fixes' xy and their seconds since the start.
    """
    seg = np.hypot(*np.diff(route_xy, axis=0).T)
    cum = np.r_[0.0, np.cumsum(seg)]
    speed = speed_kmh / 3.6
    n = max(2, int(np.ceil(cum[-1] / speed / fix_s)) + 1)
    times = np.r_[0.0, np.cumsum(fix_s * rng.uniform(0.7, 1.3, n - 1))]
    dist = np.minimum(times * speed, cum[-1])
    keep = np.r_[True, np.diff(dist) > 0] | (np.arange(n) < 2)
    times, dist = times[keep], dist[keep]
    xy = np.column_stack(
        [np.interp(dist, cum, route_xy[:, 0]), np.interp(dist, cum, route_xy[:, 1])]
    )
    return xy + rng.normal(0.0, noise_m, xy.shape), times.round(1)
