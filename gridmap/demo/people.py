"""Synthetic households and residents: a plausible Chinese urban population, all fake.

Everything is drawn from a ``numpy.random.Generator`` passed in by the caller, so a
seed gives the same people every time. Rates below are rough national/Beijing
orders of magnitude, chosen so that a demo shows every tag of ``vocab.RESIDENT_TAGS``
(about 20% of residents aged 60+, average household about 2.5 people); they are not
statistics of any real place.

Identity numbers follow GB 11643-1999 (6-digit region, 8-digit birth date, 3-digit
sequence whose last digit is odd for men, ISO 7064 MOD 11-2 check character) and
phone numbers use real mobile prefixes, so both *look* real: never mix this data
with real registers.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from gridmap import vocab

# --- names -------------------------------------------------------------------
# Common surnames with rough relative frequencies (the top few cover about 30%).
SURNAMES = {
    "王": 72,
    "李": 71,
    "张": 69,
    "刘": 55,
    "陈": 46,
    "杨": 31,
    "黄": 23,
    "赵": 22,
    "吴": 20,
    "周": 20,
    "徐": 15,
    "孙": 15,
    "马": 14,
    "朱": 13,
    "胡": 12,
    "郭": 12,
    "何": 11,
    "高": 11,
    "林": 10,
    "罗": 10,
    "郑": 9,
    "梁": 9,
    "谢": 7,
    "宋": 7,
    "唐": 7,
    "许": 6,
    "韩": 6,
    "冯": 6,
    "邓": 6,
    "曹": 6,
    "彭": 5,
    "曾": 5,
    "肖": 5,
    "田": 5,
    "董": 5,
    "袁": 4,
    "潘": 4,
    "于": 4,
    "蒋": 4,
    "蔡": 4,
    "余": 4,
    "杜": 4,
    "叶": 4,
    "程": 4,
    "苏": 3,
    "魏": 3,
    "吕": 3,
    "丁": 3,
    "任": 3,
    "沈": 3,
    "姚": 3,
    "卢": 3,
    "姜": 3,
    "崔": 3,
    "钟": 3,
    "谭": 3,
    "陆": 3,
    "汪": 2,
    "范": 2,
    "金": 2,
    "石": 2,
    "廖": 2,
    "贾": 2,
    "夏": 2,
    "付": 2,
    "方": 2,
    "白": 2,
    "邹": 2,
    "孟": 2,
    "熊": 2,
    "秦": 2,
    "邱": 2,
    "侯": 2,
    "郝": 2,
    "欧阳": 1,
    "司马": 1,
}
# Given-name characters by sex and by generation (born before 1970 / after).
GIVEN_CHARS = {
    ("M", "old"): "建国军华明强伟平志勇刚德福海林文庆东学忠保秀春荣永光",
    ("M", "new"): "浩宇轩然睿泽子涵博文杰鹏昊天一诺晨阳凯俊航宸铭皓嘉逸辰",
    ("F", "old"): "秀英兰桂芳玉珍凤霞华淑敏丽萍红梅琴素云莲翠荣燕春英",
    ("F", "new"): "欣怡梓涵诗雨佳琪思萱可馨晓彤雅婷静悦婉蕊心妍子琳梦瑶",
}
# Mobile prefixes of the three carriers (2020s).
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
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
    "166",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

# --- household structure -------------------------------------------------------
VACANT_SHARE = 0.06
RENTAL_SHARE = 0.18
# Occupied household size -> probability (mean about 2.5).
SIZE_P = {1: 0.24, 2: 0.31, 3: 0.26, 4: 0.12, 5: 0.07}
# Per size: (composition, probability). A composition lists age ranges [lo, hi] and
# the sex of each member ('M'/'F'/'*'); 'couple' members are one man and one woman.
# household size -> ((age band, sex) of each member, probability) options
COMPOSITIONS: dict[int, list[tuple[tuple[tuple[str, str], ...], float]]] = {
    1: [((("elder", "*"),), 0.30), ((("adult", "*"),), 0.70)],
    2: [
        ((("elder", "M"), ("elder", "F")), 0.26),
        ((("young", "M"), ("young", "F")), 0.40),
        ((("middle", "*"), ("youth", "*")), 0.30),
        ((("elder", "*"), ("child", "*")), 0.04),
    ],
    3: [
        ((("parent", "M"), ("parent", "F"), ("child", "*")), 0.80),
        ((("elder", "M"), ("elder", "F"), ("young", "*")), 0.20),
    ],
    4: [
        ((("parent", "M"), ("parent", "F"), ("child", "*"), ("child", "*")), 0.55),
        ((("parent", "M"), ("parent", "F"), ("child", "*"), ("elder", "*")), 0.45),
    ],
    5: [((("elder", "M"), ("elder", "F"), ("parent", "M"), ("parent", "F"), ("child", "*")), 1.0)],
}
AGE_RANGES = {
    "elder": (60, 88),
    "adult": (22, 59),
    "young": (24, 38),
    "middle": (40, 59),
    "youth": (12, 25),
    "parent": (30, 48),
    "child": (0, 17),
}
# Per-person probabilities of health and social tags (by age band where it matters).
TAG_P = {
    "disabled": (0.015, 0.05),  # (under 60, 60+)
    "hypertension": (0.10, 0.40),  # adults 35+ / 60+
    "diabetes": (0.04, 0.13),
    "severe_mental_illness": (0.004, 0.004),
    "key_person": (0.003, 0.0),
    "community_correction": (0.0015, 0.0),
}
LOW_INCOME_HOUSEHOLD_P = 0.015
EXTREME_POVERTY_P = 0.4  # of low-income elderly living alone (特困)
MIGRANT_P_RENTAL = 0.75  # rented homes are mostly migrants'
REGISTERED_ELSEWHERE_P = 0.08  # owner-occupiers registered at another address
PREGNANT_P = 0.03  # of women 22-40
AS_OF_YEAR = 2025


def id_number_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of an 18-digit resident ID ('0'-'9' or 'X').

    Parameters
    ----------
    first17 : str
        The first 17 digits.

    Returns
    -------
    str
        The check character.
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def is_valid_id_number(value: str) -> bool:
    """True for 18 characters with a plausible birth date and the right check character.

    Parameters
    ----------
    value : str
        The ID number.

    Returns
    -------
    bool
        Whether it is valid.
    """
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return value[17].upper() == id_number_check_digit(value[:17])


def make_id_number(region: str, birth: date, sequence: int, sex: str) -> str:
    """18-digit ID: region + birth date + 3-digit sequence (odd last digit for men) + check.

    Parameters
    ----------
    region : str
        6-digit region code.
    birth : date
        Date of birth.
    sequence : int
        The sequence number (its parity is set by ``sex``).
    sex : str
        ``M`` or ``F``.

    Returns
    -------
    str
        The ID number.
    """
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be 6 digits, got {region!r}")
    seq = sequence % 1000
    if (seq % 2 == 1) != (sex == "M"):
        seq = seq + 1 if seq < 999 else seq - 1
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + id_number_check_digit(body)


_SURNAME_LIST = list(SURNAMES)
_SURNAME_P = np.array(list(SURNAMES.values()), dtype=float) / sum(SURNAMES.values())


def synth_name(
    rng: np.random.Generator, sex: str, birth_year: int, surname: str | None = None
) -> str:
    """A Chinese name (surname + one or two given characters) fitting sex and generation.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random generator.
    sex : str
        ``M`` or ``F``.
    birth_year : int
        Year of birth.
    surname : str, optional
        The surname to use; drawn by frequency when None.

    Returns
    -------
    str
        The name.
    """
    surname = surname or _SURNAME_LIST[rng.choice(len(_SURNAME_LIST), p=_SURNAME_P)]
    chars = GIVEN_CHARS[(sex, "old" if birth_year < 1970 else "new")]
    n = 1 if rng.random() < 0.3 else 2
    return surname + "".join(chars[i] for i in rng.integers(0, len(chars), n))


def synth_phone(rng: np.random.Generator) -> str:
    """An 11-digit mobile number with a real carrier prefix (fake subscriber part).

    Parameters
    ----------
    rng : numpy.random.Generator
        The random generator.

    Returns
    -------
    str
        The number.
    """
    return MOBILE_PREFIXES[rng.integers(len(MOBILE_PREFIXES))] + f"{rng.integers(0, 10**8):08d}"


def dwelling_counts(area_m2, floors, residential, *, m2_per_dwelling: float = 90.0) -> np.ndarray:
    """Dwellings per building: footprint x floors / ``m2_per_dwelling`` (at least 1).

    Buildings that are not ``residential`` have none.

    Parameters
    ----------
    area_m2 : array-like of float
        Footprint of each building in square metres.
    floors : array-like of int
        Floors of each building.
    residential : array-like of bool
        Whether each building holds homes.
    m2_per_dwelling : float
        Floor area per dwelling in square metres.

    Returns
    -------
    numpy.ndarray
        Dwellings of each building.
    """
    gross = np.asarray(area_m2, dtype=float) * np.asarray(floors, dtype=float)
    n = np.maximum(1, np.round(gross / m2_per_dwelling)).astype(int)
    return np.where(np.asarray(residential, dtype=bool), n, 0)


def synth_households(
    buildings: pd.DataFrame, rng: np.random.Generator, *, dwellings=None, rooms_per_landing: int = 2
) -> pd.DataFrame:
    """One row per dwelling of every building with dwellings > 0.

    Dwellings fill floors bottom-up, two per landing per unit (单元), so rooms read 101,
    102, ... Sizes and the tags 'vacant'/'rental' are drawn here; the people-derived tags
    come from :func:`household_tags_from_residents`.

    Parameters
    ----------
    buildings : pandas.DataFrame
        The buildings, with ``code`` and ``floors``.
    rng : numpy.random.Generator
        The random generator.
    dwellings : array-like of int, optional
        Dwellings of each building (aligned with ``buildings``); defaults to its
        ``dwellings`` column.
    rooms_per_landing : int
        Dwellings per landing of a unit.

    Returns
    -------
    pandas.DataFrame
        One row per dwelling.
    """
    counts = np.asarray(buildings["dwellings"] if dwellings is None else dwellings, dtype=int)
    rows = []
    sizes, size_p = list(SIZE_P), np.array(list(SIZE_P.values()))
    for code, floors, n in zip(buildings["code"], buildings["floors"], counts, strict=True):
        if n <= 0:
            continue
        floors = max(1, int(floors or 1))
        per_floor = int(np.ceil(n / floors))
        for i in range(n):
            floor, j = i // per_floor + 1, i % per_floor
            unit = j // rooms_per_landing + 1
            room = f"{floor}{j % rooms_per_landing + 1:02d}"
            rows.append(
                {
                    "code": f"{code}-{unit}-{room}",
                    "building_code": code,
                    "unit": str(unit),
                    "floor": floor,
                    "room": room,
                }
            )
    frame = pd.DataFrame(rows, columns=["code", "building_code", "unit", "floor", "room"])
    n = len(frame)
    vacant = rng.random(n) < VACANT_SHARE
    rental = ~vacant & (rng.random(n) < RENTAL_SHARE)
    frame["size"] = np.where(vacant, 0, rng.choice(sizes, size=n, p=size_p / size_p.sum()))
    frame["tags"] = [
        (["vacant"] if v else []) + (["rental"] if r else [])
        for v, r in zip(vacant, rental, strict=True)
    ]
    return frame


def _members(rng: np.random.Generator, size: int) -> list[tuple[int, str]]:
    """(age, sex) of each member of an occupied household of ``size``."""
    options = COMPOSITIONS[min(size, 5)]
    comp = options[rng.choice(len(options), p=[p for _, p in options])][0]
    out = []
    for band, sex in comp:
        lo, hi = AGE_RANGES[band]
        out.append(
            (int(rng.integers(lo, hi + 1)), sex if sex != "*" else "MF"[int(rng.integers(2))])
        )
    return out


def _birth_date(rng: np.random.Generator, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=int(rng.integers(0, 365)))


def synth_residents(
    households: pd.DataFrame,
    rng: np.random.Generator,
    *,
    region: str = "110108",
    as_of_year: int = AS_OF_YEAR,
) -> pd.DataFrame:
    """Residents of every occupied household (``size`` people each), with vocab tags.

    Children share the father's (or first member's) surname; under-12s have no phone.

    Parameters
    ----------
    households : pandas.DataFrame
        The households, with code and size.
    rng : numpy.random.Generator
        The random generator.
    region : str
        6-digit region code of the residents' ID numbers.
    as_of_year : int
        The year ages are counted to.

    Returns
    -------
    pandas.DataFrame
        household_code, name, id_number, phone, birth_year, sex, tags.
    """
    rows = []
    for code, size, htags in zip(
        households["code"], households["size"], households["tags"], strict=True
    ):
        if size <= 0:
            continue
        members = _members(rng, int(size))
        family = _SURNAME_LIST[rng.choice(len(_SURNAME_LIST), p=_SURNAME_P)]
        low_income = rng.random() < LOW_INCOME_HOUSEHOLD_P
        migrant = "rental" in (htags or []) and rng.random() < MIGRANT_P_RENTAL
        elsewhere = not migrant and rng.random() < REGISTERED_ELSEWHERE_P
        all_elderly = all(age >= 60 for age, _ in members)
        parents_absent = all(age >= 60 or age < 18 for age, _ in members)
        for k, (age, sex) in enumerate(members):
            year = as_of_year - age
            born = _birth_date(rng, year)
            own_surname = sex == "M" or age < 18 or k == 0
            tags = _person_tags(
                rng,
                age,
                sex,
                size=len(members),
                all_elderly=all_elderly,
                parents_absent=parents_absent,
            )
            if low_income:
                tags.append("low_income")
                if len(members) == 1 and age >= 60 and rng.random() < EXTREME_POVERTY_P:
                    tags.append("extreme_poverty")
            if migrant:
                tags.append("migrant")
            elif elsewhere:
                tags.append("registered_elsewhere")
            rows.append(
                {
                    "household_code": code,
                    "name": synth_name(rng, sex, year, family if own_surname else None),
                    "id_number": make_id_number(region, born, int(rng.integers(0, 1000)), sex),
                    "phone": synth_phone(rng) if age >= 12 else None,
                    "birth_year": year,
                    "sex": sex,
                    "tags": [t for t in tags if t in vocab.RESIDENT_TAG_CODES],
                }
            )
    return pd.DataFrame(
        rows, columns=["household_code", "name", "id_number", "phone", "birth_year", "sex", "tags"]
    )


def _person_tags(
    rng: np.random.Generator,
    age: int,
    sex: str,
    *,
    size: int,
    all_elderly: bool,
    parents_absent: bool,
) -> list[str]:
    tags: list[str] = []
    old = age >= 60
    if size == 1 and old:
        tags.append("living_alone")
    if size >= 2 and all_elderly:
        tags.append("empty_nest")
    if age < 18 and parents_absent:
        tags.append("left_behind_child")
    for tag in ("disabled", "severe_mental_illness"):
        if rng.random() < TAG_P[tag][old]:
            tags.append(tag)
    if age >= 35:
        for tag in ("hypertension", "diabetes"):
            if rng.random() < TAG_P[tag][old]:
                tags.append(tag)
    if 18 <= age < 60:
        for tag in ("key_person", "community_correction"):
            if rng.random() < TAG_P[tag][0]:
                tags.append(tag)
    if sex == "F" and 22 <= age <= 40 and rng.random() < PREGNANT_P:
        tags.append("pregnant")
    return tags


def household_tags_from_residents(
    households: pd.DataFrame, residents: pd.DataFrame, *, as_of_year: int = AS_OF_YEAR
) -> pd.Series:
    """Household tags (vocab.HOUSEHOLD_TAGS): the drawn ones plus what the members imply.

    The implied ones are elderly_alone, empty_nest, low_income and disabled.

    Parameters
    ----------
    households : pandas.DataFrame
        The households, with code and tags.
    residents : pandas.DataFrame
        Their residents.
    as_of_year : int
        The year ages are counted to.

    Returns
    -------
    pandas.Series
        The tags of each household, aligned with ``households``.
    """
    by_household = residents.groupby("household_code", sort=False)
    derived: dict[str, list[str]] = {}
    for code, people in by_household:
        ages = as_of_year - people["birth_year"].to_numpy()
        person_tags = set().union(*people["tags"])
        tags = []
        if len(people) == 1 and ages[0] >= 60:
            tags.append("elderly_alone")
        if len(people) >= 2 and (ages >= 60).all():
            tags.append("empty_nest")
        tags += [t for t in ("low_income", "disabled") if t in person_tags]
        derived[code] = tags
    return pd.Series(
        [
            list(dict.fromkeys((t or []) + derived.get(c, [])))
            for c, t in zip(households["code"], households["tags"], strict=True)
        ],
        index=households.index,
        dtype=object,
    )


def synth_population(
    buildings: pd.DataFrame,
    rng: np.random.Generator,
    *,
    dwellings=None,
    region: str = "110108",
    as_of_year: int = AS_OF_YEAR,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households and residents of ``buildings`` in one call (City column layout).

    Parameters
    ----------
    buildings : pandas.DataFrame
        The buildings, with ``code`` and ``floors``.
    rng : numpy.random.Generator
        The random generator.
    dwellings : array-like of int, optional
        Dwellings of each building; defaults to its ``dwellings`` column.
    region : str
        6-digit region code of the residents' ID numbers.
    as_of_year : int
        The year ages are counted to.

    Returns
    -------
    tuple of pandas.DataFrame
        The households and the residents.
    """
    households = synth_households(buildings, rng, dwellings=dwellings)
    residents = synth_residents(households, rng, region=region, as_of_year=as_of_year)
    households["tags"] = household_tags_from_residents(households, residents, as_of_year=as_of_year)
    return households, residents
