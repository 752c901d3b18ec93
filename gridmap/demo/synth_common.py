"""Constants, name tables and small helpers of the synthetic street office
(:mod:`gridmap.demo.synth`)."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon

from gridmap import ordering

LABEL = "示例街道（合成数据） / Sample street office (synthetic data)"


ANCHOR_LONLAT = (116.33, 39.98)


METRIC_CRS = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger, central meridian 117E


DEMO_TODAY = date.today()  # the demo is generated relative to the day it is built


REFERENCE_YEAR = 2026


DISTRICT_CODE, DISTRICT_NAME = "110108", "海淀区"


STREET_CODE, STREET_NAME = "110108001", "示例街道"


MIDNIGHT = datetime(DEMO_TODAY.year, DEMO_TODAY.month, DEMO_TODAY.day)


# --- layout parameters (metres) ----------------------------------------------------
ARTERIAL_X_M = (-1250.0, -420.0, 430.0, 1250.0)  # north-south arterials, west -> east


ARTERIAL_Y_M = (-1050.0, 20.0, 1050.0)  # east-west arterials, south -> north


ARTERIAL_EXTENSION_M = 160.0  # arterials run on past the street edge


BRANCH_SPACING_M = 190.0  # typical distance between branch roads


BRANCH_OVERSHOOT_M = 30.0  # branch lines are drawn past their end road, then pruned


SETBACK_M = (8.0, 15.0)  # road centre line -> compound wall


WALL_CLEARANCE_M = 4.0  # compound wall -> building


LANE_CLEARANCE_M = 6.0  # internal lane centre line -> building


ROW_HEIGHT_M = 250.0  # row band for west->east, north->south sequence numbers


GRID_TARGET_HOUSEHOLDS = 540  # households the block grouping aims at per grid


OVERDUE_SITE_SHARE = 0.15  # key sites whose last inspection is older than the interval


PATROL_DAYS = 28  # patrol tracks cover the four weeks before DEMO_TODAY


BLOCK_MAX_HOUSEHOLDS = 450  # most blocks are thinned to this many homes


# --- names -------------------------------------------------------------------------
NS_ARTERIALS = (
    ("西土城路", "secondary"),
    ("学院路", "primary"),
    ("花园北路", "secondary"),
    ("双清路", "secondary"),
)


EW_ARTERIALS = (("知春路", "secondary"), ("学知路", "secondary"), ("成府路", "primary"))


COMMUNITY_NAMES = (
    "学府社区",
    "枫林社区",
    "清源社区",
    "静淑苑社区",
    "成府社区",
    "荷清苑社区",
    "志新社区",
    "展春园社区",
    "育新社区",
)


STEMS = (
    "学清",
    "志新",
    "枫林",
    "荷清",
    "展春",
    "育新",
    "明光",
    "文慧",
    "静淑",
    "锦秋",
    "柳林",
    "紫薇",
    "华清",
    "知行",
    "松园",
    "竹溪",
    "兰亭",
    "翠微",
    "北林",
    "南沙",
    "清源",
    "石板",
    "双榆",
    "蓟门",
    "学知",
    "燕东",
    "塔院",
    "牡丹",
    "健德",
    "东升",
)


ROAD_TAILS = ("路", "街", "胡同", "东路", "西路", "北街", "南街", "一街", "二街", "巷")


COMPOUND_TAILS = ("小区", "苑", "园", "家园", "嘉园", "里", "公寓", "东里", "西里", "北里", "南里")


INSTITUTE_COMPOUNDS = (
    "农科院宿舍",
    "地质大学家属院",
    "林业大学家属院",
    "钢铁研究院宿舍",
    "航空学院家属院",
    "气象局宿舍",
    "邮电大学家属院",
    "医科院宿舍",
)


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"


SURNAME_WEIGHTS = np.array(
    [
        72,
        71,
        69,
        55,
        46,
        31,
        23,
        22,
        20,
        20,
        15,
        15,
        14,
        13,
        12,
        12,
        11,
        11,
        10,
        10,
        9,
        9,
        7,
        7,
        7,
        6,
        6,
        6,
        6,
        6,
        5,
        5,
        5,
        5,
        5,
        4,
        4,
        4,
        4,
        4,
        4,
        4,
        4,
        4,
        3,
        3,
        3,
        3,
        3,
        3,
    ],
    dtype=float,
)


# Given-name characters by generation (born <1966, 1966-1995, later) and sex.
_GIVEN = {
    (0, "M"): "国建华明德志文荣福祥庆军强海成立平胜忠保学永光",
    (0, "F"): "秀英兰芳桂珍凤玉淑华琴云霞敏丽红梅萍素莲翠",
    (1, "M"): "伟强磊军勇杰涛明超刚辉鹏飞斌波宇浩凯健亮峰东鑫",
    (1, "F"): "芳娜敏静丽艳娟霞燕玲婷雪慧颖倩晶洁琳丹莉蕾",
    (2, "M"): "子轩浩宇睿泽昊天博文俊辰宸逸然皓铭航一嘉",
    (2, "F"): "梓涵欣怡佳悦萱诗雨琪思嘉可馨诺语桐彤妍瑶",
}


MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
)


LOCAL_REGION = DISTRICT_CODE


# County-level codes (GB/T 2260) of common places of origin of migrants to Beijing.
MIGRANT_REGIONS = (
    "130102",
    "130602",
    "410105",
    "370102",
    "340104",
    "510104",
    "230103",
    "120101",
    "140105",
    "420106",
    "610113",
    "220102",
    "360102",
    "430102",
)


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


_ID_CHECK = np.array(list("10X98765432"))


# =====================================================================================
# small helpers
# =====================================================================================
def reading_order(x, y, row_height_m: float = ROW_HEIGHT_M) -> np.ndarray:
    """The order grid, community and compound sequence numbers run in.

    The reading order of ``gridmap.ordering``, with this street's row height by default.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates in metres.
    row_height_m : float
        Height of a row in metres.

    Returns
    -------
    numpy.ndarray
        Indices in reading order.
    """
    return ordering.reading_order(x, y, row_height_m)


def sweep_order(x, y, band_m: float) -> np.ndarray:
    """The order the builder takes blocks in while it lays out and groups them.

    West to east inside fixed bands of ``band_m`` from the northernmost point. It shapes the
    generated street (numbers nothing a person reads), so it stays as the demo was designed
    with.

    Parameters
    ----------
    x, y : numpy.ndarray
        Coordinates in metres.
    band_m : float
        Height of a band in metres.

    Returns
    -------
    numpy.ndarray
        Indices in sweep order.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    return np.lexsort((x, np.floor((y.max() - y) / band_m)))


def largest(geom):
    """Largest polygon part of ``geom`` (None when empty).

    Parameters
    ----------
    geom : shapely geometry
        A polygon or multipolygon.

    Returns
    -------
    shapely.Polygon or None
        Its largest part.
    """
    parts = shapely.get_parts(geom)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[np.argmax(shapely.area(parts))] if len(parts) else None


def multi(geom) -> MultiPolygon:
    """``geom`` as a MultiPolygon, as every area frame of the demo holds them.

    Parameters
    ----------
    geom : shapely geometry
        A polygon or multipolygon.

    Returns
    -------
    shapely.MultiPolygon
        The same area.
    """
    return geom if geom.geom_type == "MultiPolygon" else MultiPolygon([geom])


def pick(rng, options):
    """Uniform choice from a sequence (keeps Python str, not numpy str).

    Parameters
    ----------
    rng : numpy.random.Generator
        The demo's random generator.
    options : sequence
        What to choose from.

    Returns
    -------
    object
        One of ``options``.
    """
    return options[int(rng.integers(len(options)))]


def synth_names(
    rng, sex: np.ndarray, birth_year: np.ndarray, surname: np.ndarray | None = None
) -> np.ndarray:
    """Chinese names drawn for people of the given sex and generation.

    Surname (given or drawn by frequency) + one or two characters from the pool of the
    person's generation and sex.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demo's random generator.
    sex : numpy.ndarray
        ``M`` or ``F`` per person.
    birth_year : numpy.ndarray
        Year of birth per person.
    surname : numpy.ndarray, optional
        Surnames to keep (a family's); drawn when None.

    Returns
    -------
    numpy.ndarray
        The names.
    """
    n = len(sex)
    if surname is None:
        surname = np.array(list(SURNAMES))[
            rng.choice(len(SURNAMES), n, p=SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum())
        ]
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


def synth_phones(rng, n: int) -> np.ndarray:
    """11-digit mobile numbers with 13x/15x/18x prefixes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demo's random generator.
    n : int
        How many.

    Returns
    -------
    numpy.ndarray
        The numbers, as strings.
    """
    prefix = np.array(MOBILE_PREFIXES, dtype=object)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    tail = pd.Series(rng.integers(0, 10**8, n)).astype(str).str.zfill(8).to_numpy(dtype=object)
    return prefix + tail


def synth_id_numbers(
    rng, region: np.ndarray, birth_year: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Unique 18-digit ID numbers (GB 11643).

    Region + birth date (inside ``birth_year``) + sequence whose last digit is odd for men
    + MOD 11-2 check character.

    Parameters
    ----------
    rng : numpy.random.Generator
        The demo's random generator.
    region : numpy.ndarray
        6-digit region code per person.
    birth_year : numpy.ndarray
        Year of birth per person.
    male : numpy.ndarray
        True for men.

    Returns
    -------
    numpy.ndarray
        The ID numbers, as strings.
    """
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
        body = (
            np.asarray(region[todo], dtype=object)
            + ymd[todo]
            + pd.Series(seq).astype(str).str.zfill(3).to_numpy(object)
        )
        digits = np.frombuffer("".join(body).encode("ascii"), dtype=np.uint8).reshape(-1, 17) - 48
        ids[todo] = body + _ID_CHECK[(digits.astype(int) @ _ID_WEIGHTS) % 11].astype(object)
        dup = pd.Series(ids).duplicated(keep="first").to_numpy()
        todo = np.flatnonzero(dup)
    return ids


def tag_lists(mask: np.ndarray, codes: list[str]) -> list[list[str]]:
    """Per-row tag lists from a boolean (rows x tags) matrix.

    Parameters
    ----------
    mask : numpy.ndarray
        Boolean matrix, one column per tag.
    codes : list of str
        The tag of each column.

    Returns
    -------
    list of list of str
        The tags of each row.
    """
    out: list[list[str]] = [[] for _ in range(mask.shape[0])]
    rows, cols = np.nonzero(mask)
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        out[r].append(codes[c])
    return out
