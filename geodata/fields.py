"""Column names -> gridmap fields, and cell values -> the values gridmap stores.

Files name their columns in Chinese or English, in full or abbreviated (名称, NAME,
mc, 网格名称 ...). The layer registry (``gridmap.layers``) lists the names we know; a user
mapping file (YAML or JSON) adds to them::

    fields:            # source column -> field (or "props" to keep, "ignore" to drop)
      qh: name
      区划代码: code
    values:            # per field: source value -> stored value
      category: {综合医院: clinic, 社区卫生服务中心: health_center}
    defaults:          # per field: the value when the file has none
      category: primary_school

A bare mapping ``{qh: name}`` is read as ``fields``. Unmapped columns are kept in the
row's JSON ``props``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gridmap import vocab
from gridmap.layers import REGISTRY, Registry
from gridmap.notes import N_, rejected

SPECIAL_TARGETS = ("props", "ignore")


def normalise_name(name: str) -> str:
    """Comparable form of a column name: NFKC (full-width -> half-width), lower case,
    spaces/underscores/hyphens/brackets removed."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s_\-()\[\]（）【】:：/\\.]", "", text)


@dataclass
class Mapping:
    """A user's mapping file: column -> field, value maps and defaults per field."""

    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, object]] = field(default_factory=dict)
    defaults: dict[str, object] = field(default_factory=dict)
    source: str | None = None


def load_mapping(
    path: str | Path | None, *, text: str | None = None, display: str | None = None
) -> Mapping:
    """Read a mapping file (YAML or JSON; JSON is YAML). None -> an empty mapping."""
    if path is None and text is None:
        return Mapping()
    display = display or (Path(path).name if path else "mapping")
    try:
        if text is not None:
            raw_text = text
        else:
            assert path is not None  # one of the two was given (checked above)
            raw_text = Path(path).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise rejected(
            N_("mapping file {file} cannot be read ({reason}); save it as UTF-8"),
            file=display,
            reason=str(exc),
        ) from exc
    try:
        data = (
            json.loads(raw_text) if raw_text.lstrip().startswith("{") else yaml.safe_load(raw_text)
        )
    except (ValueError, yaml.YAMLError) as exc:
        raise rejected(
            N_("mapping file {file} is not valid YAML or JSON ({reason})"),
            file=display,
            reason=str(exc).splitlines()[0],
        ) from exc
    if data is None:
        return Mapping(source=display)
    if not isinstance(data, dict):
        raise rejected(
            N_("mapping file {file} must be a mapping of column names to fields"), file=display
        )
    if not ({"fields", "values", "defaults"} & set(data)):
        data = {"fields": data}
    fields_ = data.get("fields") or {}
    values = data.get("values") or {}
    defaults = data.get("defaults") or {}
    if not all(isinstance(x, dict) for x in (fields_, values, defaults)):
        raise rejected(
            N_("mapping file {file}: fields, values and defaults must each be a mapping"),
            file=display,
        )
    return Mapping(
        fields={str(k): str(v) for k, v in fields_.items()},
        values={str(k): {str(a): b for a, b in (v or {}).items()} for k, v in values.items()},
        defaults={str(k): v for k, v in defaults.items()},
        source=display,
    )


def mapping_dict(mapping: Mapping) -> dict:
    """The mapping as the file holds it (empty sections left out)."""
    out: dict[str, dict] = {}
    if mapping.fields:
        out["fields"] = dict(mapping.fields)
    if mapping.values:
        out["values"] = {f: dict(v) for f, v in mapping.values.items() if v}
    if mapping.defaults:
        out["defaults"] = dict(mapping.defaults)
    return out


def dump_mapping(mapping: Mapping, *, layer: str) -> str:
    """A mapping file that :func:`load_mapping` reads back (and ``gridmap import --mapping``
    takes)."""
    head = (
        f"# gridmap import {layer} FILE --mapping THIS_FILE\n"
        "# fields: column -> field; values: field -> {value in the file: stored value or "
        "exclude}\n"
    )
    return head + yaml.safe_dump(mapping_dict(mapping), allow_unicode=True, sort_keys=False)


def with_choices(
    mapping: Mapping,
    *,
    values: dict[str, str | None] | None = None,
    columns: dict[str, str | None] | None = None,
    field_name: str = "category",
) -> Mapping:
    """A copy of ``mapping`` with a person's choices added: ``values`` maps a value of
    ``field_name`` to a stored value or 'exclude' (None removes the entry); ``columns`` maps a
    column to a field (None or 'props' removes the entry)."""
    fields_ = dict(mapping.fields)
    for col, target in (columns or {}).items():
        if target in (None, "", "props"):
            fields_.pop(col, None)
        else:
            fields_[col] = target
    per_field = dict(mapping.values.get(field_name, {}))
    for value, target in (values or {}).items():
        if target in (None, ""):
            per_field.pop(value, None)
        else:
            per_field[value] = target
    all_values = {**mapping.values, field_name: per_field}
    return Mapping(
        fields=fields_,
        values={k: v for k, v in all_values.items() if v},
        defaults=dict(mapping.defaults),
        source=mapping.source or "page",
    )


def map_columns(
    columns, layer: str, allowed: set[str], user: Mapping, *, registry: Registry = REGISTRY
) -> tuple[dict[str, str], list[str], list[tuple[str, str]]]:
    """Decide each column's field.

    Returns ``(mapping source->field, columns kept in props, [(column, field)] of columns
    that named a field already taken by an earlier column)``. User entries win, then the
    layer's own names, then the common dictionary. Fields not in ``allowed`` go to props.
    """
    user_norm = {normalise_name(k): v for k, v in user.fields.items()}
    for named in user.fields.values():
        if named not in allowed and named not in SPECIAL_TARGETS:
            raise rejected(
                N_(
                    "mapping file {file}: {field!r} is not a field of {layer}; fields are: {fields}"
                ),
                file=user.source or "mapping",
                field=named,
                layer=layer,
                fields=", ".join(sorted(allowed)),
            )
    own = registry.layers[layer].names if layer in registry else {}
    layer_names = {normalise_name(n): f for f, names in own.items() for n in names}
    common = {normalise_name(n): f for f, names in registry.headings().items() for n in names}
    mapping: dict[str, str] = {}
    props: list[str] = []
    clashes: list[tuple[str, str]] = []
    taken: set[str] = set()
    # Two passes: user and layer-specific names claim their fields before common ones.
    decided: dict[str, str | None] = {}
    for col in columns:
        key = normalise_name(col)
        if key in user_norm:
            decided[col] = user_norm[key]
        elif key in layer_names and layer_names[key] in allowed:
            decided[col] = layer_names[key]
    for col in columns:
        if col in decided:
            continue
        target = common.get(normalise_name(col))
        decided[col] = target if target in allowed else None
    strong = [
        c
        for c in columns
        if normalise_name(c) in user_norm
        or (normalise_name(c) in layer_names and layer_names[normalise_name(c)] in allowed)
    ]
    for col in strong + [c for c in columns if c not in strong]:
        target = decided[col]
        if target == "ignore":
            continue
        if target is None or target == "props":
            props.append(col)
        elif target in taken:
            clashes.append((col, target))
            props.append(col)
        else:
            mapping[col] = target
            taken.add(target)
    order = {c: i for i, c in enumerate(columns)}
    props.sort(key=order.__getitem__)
    return mapping, props, clashes


# --- values ----------------------------------------------------------------------------------
def is_missing(value) -> bool:
    """None, NaN or NaT: what pandas leaves in an empty cell."""
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def is_blank(value) -> bool:
    """Whether a cell is empty: missing (see :func:`gridmap.display.is_missing`) or a blank
    or null-like text (``nan``, ``None``, ``NULL`` ...).
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
    """'6', '6.0', '6层', 6.0 -> 6; None when there is no number."""
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
    """Dates as Chinese spreadsheets write them: 2024-05-01 08:00, 2024/5/1, 2024年5月1日,
    '2019/4/2 下午 03:17:42'. Time zones are converted to naive China Standard Time."""
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
    """``M`` or ``F`` from 男/女, M/F, male/female, 1/2; None for blank or unknown."""
    t = text(value)
    return None if t is None else _SEX.get(t.lower())


def vocab_code(value, terms) -> str | None:
    """A controlled-vocabulary code from its code, Chinese or English label (None: unknown).

    Amap POI types list a path, broadest first ('科教文化服务;学校;小学'): the most specific
    segment that names a term wins.
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
    """Tags from '独居,高血压' or a list; returns (codes, unknown labels)."""
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
    """GB 11643-1999 check character of an 18-character resident ID number."""
    s = str(value).strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17]


def json_safe(value):
    """A cell value as plain JSON (props): NaN -> None, numpy -> Python, times -> ISO text."""
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
    """An OSM highway value from what a file calls the road class (Chinese or OSM)."""
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
