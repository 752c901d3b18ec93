"""Households and residents of the synthetic street, vectorised: household templates,
members, surnames, tags, names, phones and ID numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap import vocab
from gridmap.demo.synth_common import (
    LOCAL_REGION,
    MIGRANT_REGIONS,
    REFERENCE_YEAR,
    SURNAME_WEIGHTS,
    SURNAMES,
    synth_id_numbers,
    synth_names,
    synth_phones,
    tag_lists,
)

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
    ("couple", "HS", 0.09, (45, 64), 0.08),  # children have moved out
    ("elderly_couple", "HS", 0.095, (61, 90), 0.02),  # empty nest
    ("family", "HSC", 0.13, (0, 17), 0.25),  # couple + minor child
    ("family_adult_child", "HSC", 0.125, (18, 34), 0.05),
    ("family_two", "HSCC", 0.06, (4, 22), 0.15),
    ("with_parent", "HSG", 0.03, (40, 58), 0.05),  # couple + an elderly parent
    ("three_gen", "HSCG", 0.06, (0, 16), 0.05),
    ("three_gen_5", "HSCCG", 0.04, (6, 22), 0.03),
    ("single_parent", "HC", 0.03, (3, 17), 0.2),
    ("grandparents", "GGC", 0.015, (3, 15), 0.0),  # raising a grandchild (留守)
)

_T = {t[0]: i for i, t in enumerate(_TEMPLATES)}


VACANT_SHARE = 0.05


LOW_INCOME_HOUSEHOLD_P = 0.016


def household_rows(buildings: pd.DataFrame) -> pd.DataFrame:
    """One row per dwelling: units x residential floors x doors per landing.

    Shops take the ground floor of mixed buildings. Room '0302' = floor 3, door 2.

    Parameters
    ----------
    buildings : pandas.DataFrame
        The buildings, with code, floors, units, per_floor and use.

    Returns
    -------
    pandas.DataFrame
        One row per dwelling: code, building_code, unit, floor, room.
    """
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
    return pd.DataFrame(
        {
            "code": bcode + "-" + pd.Series(unit).astype(str).to_numpy(object) + "-" + room,
            "building_code": bcode,
            "unit": unit_s,
            "floor": floor.astype(int),
            "room": room,
        }
    )


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
    head_male_p = np.select(
        [tmpl == _T["elderly_alone"], tmpl == _T["single_parent"], couple], [0.35, 0.2, 0.85], 0.5
    )
    head_male = rng.random(n_hh) < head_male_p
    male = rng.random(n) < np.where(role == "G", 0.42, 0.51)
    male[pos == 0] = head_male[hh][pos == 0]
    male[second] = ~head_male[hh][second]
    return {
        "hh": hh,
        "pos": pos,
        "role": role,
        "age": age,
        "male": male,
        "head_male": head_male,
        "couple": couple,
        "child": child,
        "elder": elder,
    }


def _surnames(mem: dict[str, np.ndarray], size: np.ndarray, rng) -> np.ndarray:
    """Surnames: drawn by frequency; children take the father's, the head's father the
    head's."""
    hh, n = mem["hh"], len(mem["hh"])
    pw = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()
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


def _resident_tags(mem: dict[str, np.ndarray], size, tmpl, rental, low_income, rng) -> np.ndarray:
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
    """Sizes and tags of ``n_households`` dwellings and their residents.

    Vectorised: a household template per dwelling -> members -> names, ID numbers, phones,
    tags.

    Parameters
    ----------
    n_households : int
        Number of dwellings.
    rng : numpy.random.Generator
        The demo's random generator.

    Returns
    -------
    tuple of pandas.DataFrame
        The households (size, tags) and the residents, with a 'household' row index column.
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
    names = synth_names(rng, np.where(male, "M", "F"), birth_year, _surnames(mem, size, rng))
    tags = _resident_tags(mem, size, tmpl, rental, low_income, rng)
    codes = [t.code for t in vocab.RESIDENT_TAGS]
    migrant = tags[:, codes.index("migrant")]
    region = np.full(len(hh), LOCAL_REGION, dtype=object)
    region[migrant] = np.array(MIGRANT_REGIONS, dtype=object)[
        rng.integers(0, len(MIGRANT_REGIONS), migrant.sum())
    ]
    residents = pd.DataFrame(
        {
            "household": hh,
            "name": names,
            "id_number": synth_id_numbers(rng, region, birth_year, male),
            # children: no phone. numpy's stubs reject None, which np.where takes as an object.
            "phone": np.where(age >= 14, synth_phones(rng, len(hh)), None),  # type: ignore[call-overload]
            "birth_year": birth_year.astype(int),
            "sex": np.where(male, "M", "F"),
            "tags": tag_lists(tags, codes),
        }
    )

    # household tags that follow from the members
    all_old = np.zeros(n_households, bool)
    all_old[hh] = pd.Series(age >= 60).groupby(hh).transform("all").to_numpy(bool)
    disabled = np.bincount(hh, weights=tags[:, codes.index("disabled")], minlength=n_households) > 0
    hmask = np.column_stack(
        [(size == 1) & all_old, (size >= 2) & all_old, low_income, disabled, rental, vacant]
    )
    households = pd.DataFrame(
        {"size": size.astype(int), "tags": tag_lists(hmask, [t.code for t in vocab.HOUSEHOLD_TAGS])}
    )
    return households, residents
