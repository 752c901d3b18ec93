"""Column names -> gridmap fields.

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
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gridmap.layers import REGISTRY, Registry
from gridmap.notes import N_, rejected

SPECIAL_TARGETS = ("props", "ignore")


def normalise_name(name: str) -> str:
    """Comparable form of a column name.

    NFKC (full-width -> half-width), lower case, spaces/underscores/hyphens/brackets removed,
    so '楼栋 编码（ID）' and '楼栋编码(id)' match.

    Parameters
    ----------
    name : str
        A column name as a file writes it.

    Returns
    -------
    str
    """
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
    """Read a mapping file (YAML or JSON; JSON is YAML).

    Parameters
    ----------
    path : str or Path or None
        The mapping file; None (and no ``text``) gives an empty mapping.
    text : str, optional
        The file's content, when it was uploaded rather than saved.
    display : str, optional
        The name to show in errors (default: the file name).

    Returns
    -------
    Mapping
    """
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
    """The mapping as the file holds it (empty sections left out).

    Parameters
    ----------
    mapping : Mapping
        A mapping.

    Returns
    -------
    dict
    """
    out: dict[str, dict] = {}
    if mapping.fields:
        out["fields"] = dict(mapping.fields)
    if mapping.values:
        out["values"] = {f: dict(v) for f, v in mapping.values.items() if v}
    if mapping.defaults:
        out["defaults"] = dict(mapping.defaults)
    return out


def dump_mapping(mapping: Mapping, *, layer: str) -> str:
    """A mapping file that :func:`load_mapping` reads back.

    ``gridmap import --mapping`` takes it too.

    Parameters
    ----------
    mapping : Mapping
        A mapping.
    layer : str
        The layer the mapping is for, written into the file.

    Returns
    -------
    str
        The YAML text.
    """
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
    """A copy of ``mapping`` with a person's choices added.

    Parameters
    ----------
    mapping : Mapping
        The mapping so far.
    values : dict, optional
        A value of ``field_name`` -> a stored value or 'exclude' (None removes the entry).
    columns : dict, optional
        A column -> a field (None or 'props' removes the entry).
    field_name : str
        The field whose values ``values`` maps.

    Returns
    -------
    Mapping
    """
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

    User entries win, then the layer's own names, then the common dictionary. Fields not in
    ``allowed`` go to props.

    Parameters
    ----------
    columns : iterable of str
        The file's columns.
    layer : str
        The layer the file goes to.
    allowed : set of str
        The fields the layer stores.
    user : Mapping
        The person's mapping.
    registry : Registry
        The layers and their fields.

    Returns
    -------
    tuple
        (mapping source -> field, columns kept in props, [(column, field)] of columns that
        named a field already taken by an earlier column).
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
