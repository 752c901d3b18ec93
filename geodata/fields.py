"""Cell values -> the values gridmap stores: numbers, dates, codes of the controlled
vocabularies, tags, road classes, and JSON-safe extras for a row's ``props``.

Which column holds which field is decided in ``geodata.column_mapping``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime

import numpy as np
import pandas as pd

# The column mapping lives in geodata.column_mapping; still importable from here.
from geodata.column_mapping import SPECIAL_TARGETS as SPECIAL_TARGETS
from geodata.column_mapping import Mapping as Mapping
from geodata.column_mapping import dump_mapping as dump_mapping
from geodata.column_mapping import load_mapping as load_mapping
from geodata.column_mapping import map_columns as map_columns
from geodata.column_mapping import mapping_dict as mapping_dict
from geodata.column_mapping import normalise_name as normalise_name
from geodata.column_mapping import with_choices as with_choices
from gridmap import vocab


def is_missing(value) -> bool:
    """None, NaN or NaT: what pandas leaves in an empty cell.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    bool
    """
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def is_blank(value) -> bool:
    """Whether a cell is empty.

    Missing (see :func:`gridmap.display.is_missing`) or a blank or null-like text (``nan``,
    ``None``, ``NULL`` ...).

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    bool
    """
    if is_missing(value):
        return True
    return isinstance(value, str) and value.strip() in ("", "nan", "NaN", "None", "NULL", "null")


def text(value, max_len: int | None = None) -> str | None:
    """A cell as trimmed, NFKC-normalised text.

    Parameters
    ----------
    value : object
        The cell; a whole float (310101.0 from a numeric column) becomes ``310101``.
    max_len : int or None
        Characters kept at most.

    Returns
    -------
    str or None
        None for a blank cell.
    """
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 310101.0 from a numeric column is the code 310101
    out = (
        unicodedata.normalize("NFKC", str(value)).strip() if isinstance(value, str) else str(value)
    )
    return out[:max_len] if max_len else out


_INT = re.compile(r"[-+]?\d+(?:\.\d+)?")


def integer(value) -> int | None:
    """'6', '6.0', '6层', 6.0 -> 6; None when there is no number.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    int or None
    """
    if is_blank(value):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(round(float(value)))
    m = _INT.search(unicodedata.normalize("NFKC", str(value)))
    return int(round(float(m.group()))) if m else None


_AMPM = re.compile(r"(上午|下午|AM|PM|am|pm)\s*")


def timestamp(value) -> datetime | None:
    """Dates as Chinese spreadsheets write them.

    2024-05-01 08:00, 2024/5/1, 2024年5月1日, '2019/4/2 下午 03:17:42'. Time zones are converted to
    naive China Standard Time.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    datetime or None
    """
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        ts = pd.Timestamp(value)
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    else:
        s = unicodedata.normalize("NFKC", str(value)).strip()
        s = re.sub(r"(\d+)年(\d+)月(\d+)日?", r"\1-\2-\3", s).replace("时", ":").replace("分", "")
        pm = None
        m = _AMPM.search(s)
        if m:
            pm = m.group(1).lower() in ("下午", "pm")
            s = _AMPM.sub("", s)
        ts = pd.to_datetime(s, errors="coerce")
        if ts is pd.NaT or pd.isna(ts):
            return None
        if pm is not None:
            if pm and ts.hour < 12:
                ts = ts + pd.Timedelta(hours=12)
            elif not pm and ts.hour == 12:
                ts = ts - pd.Timedelta(hours=12)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("Asia/Shanghai").tz_localize(None)
    return ts.to_pydatetime()


_SEX = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F", "2": "F"}


def sex(value) -> str | None:
    """``M`` or ``F`` from 男/女, M/F, male/female, 1/2; None for blank or unknown.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    str or None
    """
    t = text(value)
    return None if t is None else _SEX.get(t.lower())


def vocab_code(value, terms) -> str | None:
    """A controlled-vocabulary code from its code, Chinese or English label.

    Amap POI types list a path, broadest first ('科教文化服务;学校;小学'): the most specific
    segment that names a term wins.

    Parameters
    ----------
    value : object
        A cell value.
    terms : iterable of Term
        The vocabulary (each with code, zh and en).

    Returns
    -------
    str or None
        The code, None when unknown.
    """
    t = text(value)
    if t is None:
        return None
    for part in reversed([p.strip() for p in re.split(r"[;；|]", t) if p.strip()]):
        low = part.lower()
        for term in terms:
            if low in (term.code.lower(), term.en.lower()) or part == term.zh:
                return term.code
    return None


_TAG_SPLIT = re.compile(r"[,;，；、|/\s]+")


def tag_list(value, terms) -> tuple[list[str], list[str]]:
    """Tags from '独居,高血压' or a list.

    Parameters
    ----------
    value : object
        A cell value: text with separators, or a list.
    terms : iterable of Term
        The vocabulary of tags.

    Returns
    -------
    tuple of (list of str, list of str)
        The codes, and the labels that name no tag.
    """
    if is_blank(value):
        return [], []
    items = value if isinstance(value, list) else _TAG_SPLIT.split(str(value))
    codes: list[str] = []
    unknown: list[str] = []
    for item in items:
        if is_blank(item):
            continue
        code = vocab_code(item, terms)
        (codes if code else unknown).append(code or str(item).strip())
    return sorted(set(codes)), unknown


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_ok(value: str) -> bool:
    """GB 11643-1999 check character of an 18-character resident ID number.

    Parameters
    ----------
    value : str
        An ID number.

    Returns
    -------
    bool
        Whether the check character matches.
    """
    s = str(value).strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17]


def json_safe(value):
    """A cell value as plain JSON (props): NaN -> None, numpy -> Python, times -> ISO text.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
    """
    if is_blank(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value if isinstance(value, (str, int)) else str(value)


VOCABS: dict[str, tuple[vocab.Labelled, ...]] = {
    "key_sites.category": vocab.KEY_SITE_CATEGORIES,
    "facilities.category": vocab.FACILITY_CATEGORIES,
    "buildings.use": vocab.BUILDING_USES,
    "hazards.category": vocab.HAZARD_CATEGORIES,
    "hazards.severity": vocab.HAZARD_SEVERITIES,
    "hazards.status": vocab.HAZARD_STATUSES,
    "grids.kind": vocab.GRID_KINDS,
}
# Chinese road classes (CJJ 37 and common survey tables) -> OSM highway values, which the
# walking network's rules read.
ROAD_CLASSES = {
    "快速路": "motorway",
    "高速公路": "motorway",
    "主干路": "primary",
    "主干道": "primary",
    "次干路": "secondary",
    "次干道": "secondary",
    "支路": "tertiary",
    "街巷": "residential",
    "小区道路": "service",
    "内部道路": "service",
    "人行道": "footway",
    "步行道": "footway",
    "步行街": "pedestrian",
    "绿道": "path",
    "小路": "path",
    "台阶": "steps",
}


def road_class(value) -> str | None:
    """An OSM highway value from what a file calls the road class (Chinese or OSM).

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    str or None
    """
    t = text(value, 32)
    return None if t is None else ROAD_CLASSES.get(t, t.lower())


GATE_KINDS = {
    "pedestrian": "pedestrian",
    "人行": "pedestrian",
    "vehicle": "vehicle",
    "车行": "vehicle",
    "both": "both",
    "人车": "both",
    "人车混行": "both",
}
