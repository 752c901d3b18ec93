"""Resident groups (personal groups) and their counts per building.

A group is a resident tag (``disabled``, ``severe_mental_illness`` ...), a household
tag (``elderly_alone``, ``low_income`` ...) or an age group derived from birth year
(``elderly60``, ``elderly65``, ``elderly80``, ``minors``). Counts of any group are
personal data in aggregate: views must suppress small counts (see ``density``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap import vocab
from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

AGE_GROUPS = {
    "elderly60": (60, None, "60岁以上老人", "Aged 60+"),
    "elderly65": (65, None, "65岁以上老人", "Aged 65+"),
    "elderly80": (80, None, "80岁以上老人", "Aged 80+"),
    "minors": (None, 17, "未成年人", "Minors (under 18)"),
}


def group_codes() -> list[str]:
    """Every group a heatmap or risk factor may name (age groups, household and resident tags).

    Returns
    -------
    list of str
        The group codes.
    """
    seen: dict[str, None] = {}
    for code in [
        *AGE_GROUPS,
        *(t.code for t in vocab.HOUSEHOLD_TAGS),
        *(t.code for t in vocab.RESIDENT_TAGS),
    ]:
        seen.setdefault(code, None)
    return list(seen)


def group_label(code: str, lang: str = "zh") -> str:
    """Display name of a resident group.

    Parameters
    ----------
    code : str
        An age group (``elderly60`` ...), household tag or resident tag code.
    lang : str
        ``zh`` or ``en``.

    Returns
    -------
    str
        The label; the code itself when it is unknown.
    """
    if code in AGE_GROUPS:
        _, _, zh, en = AGE_GROUPS[code]
        return zh if lang == "zh" else en
    if code in vocab.HOUSEHOLD_TAG_CODES:
        return vocab.label(vocab.HOUSEHOLD_TAGS, code, lang)
    return vocab.label(vocab.RESIDENT_TAGS, code, lang)


def check_group(code: str) -> str:
    """Refuse an unknown group code.

    Parameters
    ----------
    code : str
        One of :func:`group_codes`.

    Returns
    -------
    str
        ``code`` unchanged.

    Raises
    ------
    InvalidInput
        Listing the known groups.
    """
    if code not in group_codes():
        raise fail(
            InvalidInput,
            N_("unknown group {code!r}; choose one of: {choices}"),
            code=code,
            choices=", ".join(group_codes()),
        )
    return code


def _has_tag(tags: pd.Series, tag: str) -> np.ndarray:
    return np.fromiter((tag in (t or []) for t in tags), dtype=bool, count=len(tags))


def group_counts(
    households: pd.DataFrame, residents: pd.DataFrame, groups: list[str], *, as_of_year: int
) -> pd.DataFrame:
    """Households and residents of each group per building.

    Parameters
    ----------
    households : pandas.DataFrame
        id, building_id, tags.
    residents : pandas.DataFrame
        household_id, birth_year, tags.
    groups : list of str
        Group codes (see :func:`group_codes`).
    as_of_year : int
        The year ages are counted at.

    Returns
    -------
    pandas.DataFrame
        One row per building_id with ``<group>_households`` (households with at least one
        member in the group, or carrying the household tag) and ``<group>_residents`` for every
        group, plus ``households`` and ``residents``.
    """
    for g in groups:
        check_group(g)
    hh = households[["id", "building_id", "tags"]].reset_index(drop=True)
    res = residents[["household_id", "birth_year", "tags"]].reset_index(drop=True)
    out = pd.DataFrame(index=pd.Index(np.unique(hh["building_id"].to_numpy()), name="building_id"))
    out["households"] = hh.groupby("building_id").size()
    building_of = pd.Series(hh["building_id"].to_numpy(), index=hh["id"].to_numpy())
    res_building = building_of.reindex(res["household_id"].to_numpy()).to_numpy()
    out["residents"] = pd.Series(1, index=res_building).groupby(level=0).sum()
    age = as_of_year - res["birth_year"].astype(float).to_numpy()
    for g in groups:
        if g in AGE_GROUPS:
            lo, hi, *_ = AGE_GROUPS[g]
            member = np.ones(len(res), dtype=bool)
            if lo is not None:
                member &= age >= lo
            if hi is not None:
                member &= age <= hi
        elif g in vocab.RESIDENT_TAG_CODES:
            member = _has_tag(res["tags"], g)
        else:
            member = np.zeros(len(res), dtype=bool)
        hh_member = np.zeros(len(hh), dtype=bool)
        if g in vocab.HOUSEHOLD_TAG_CODES:
            hh_member |= _has_tag(hh["tags"], g)
        hh_ids = pd.unique(res["household_id"].to_numpy()[member])
        hh_member |= np.isin(hh["id"].to_numpy(), hh_ids)
        out[f"{g}_households"] = (
            pd.Series(hh_member.astype(int), index=hh["building_id"].to_numpy())
            .groupby(level=0)
            .sum()
        )
        if g in vocab.HOUSEHOLD_TAG_CODES and g not in vocab.RESIDENT_TAG_CODES:
            # A household tag: count the members of those households.
            in_hh = np.isin(res["household_id"].to_numpy(), hh["id"].to_numpy()[hh_member])
            member = in_hh
        out[f"{g}_residents"] = (
            pd.Series(member.astype(int), index=res_building).groupby(level=0).sum()
        )
    return out.fillna(0).astype(int).reset_index()
