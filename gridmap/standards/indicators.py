"""Assessment indicators as cited data: load the shipped table, merge a deployment's file.

``indicators.yaml`` lists each indicator with its id, Chinese and English name, a formula
over gridmap's figures (names of :data:`gridmap.analysis.indicators.FIGURES`), unit, the
levels it is reported at (grid, community, street), direction, target and source clause.
A user's YAML file of the same shape overrides fields of a shipped indicator with the same
id (``enabled: false`` drops it) and adds new ones, exactly like the reach rules
(:mod:`gridmap.standards.rules`). Errors name the file, the indicator and the field.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail
from gridmap.standards.rules import read_table

SHIPPED = "indicators.yaml"
LEVELS = ("grid", "community", "street")
DIRECTIONS = ("higher", "lower", "band")
_FIELDS = {
    "id",
    "name_zh",
    "name_en",
    "formula",
    "unit",
    "level",
    "direction",
    "target",
    "source",
    "enabled",
    "note",
}


@dataclass(frozen=True)
class Indicator:
    id: str
    name_zh: str
    name_en: str
    formula: str
    unit: str
    levels: tuple[str, ...]
    direction: str
    target: dict[str, Any]
    source: str
    enabled: bool = True
    note: str | None = None
    origin: str = ""

    def name(self, lang: str = "zh") -> str:
        """The indicator's name in a language.

        Parameters
        ----------
        lang : str
            ``zh`` or ``en``.

        Returns
        -------
        str
        """
        return self.name_zh if lang == "zh" else self.name_en

    @property
    def stars(self) -> dict[int, float] | None:
        """Star levels and the value each needs ({1: v1, 2: v2, 3: v3}), or None."""
        return self.target.get("stars")

    def threshold_text(self, lang: str = "zh") -> str:
        """The target as people read it: '≥ 90 %', '300–500 户', '3★ ≥ 75 / 4★ ≥ 77.5 / 5★ ≥ 80 %'.

        Parameters
        ----------
        lang : str
            ``zh`` or ``en`` (the unit is written as the table gives it).

        Returns
        -------
        str
        """
        unit = f" {self.unit}" if self.unit else ""
        t = self.target
        if self.stars:
            return " / ".join(f"{k}★ ≥ {v:g}" for k, v in sorted(self.stars.items())) + unit
        if "min" in t and "max" in t:
            return f"{t['min']:g}–{t['max']:g}{unit}"
        if "min" in t:
            return f"≥ {t['min']:g}{unit}"
        return f"≤ {t['max']:g}{unit}"


@dataclass(frozen=True)
class IndicatorSet:
    indicators: tuple[Indicator, ...]
    params: dict[str, Any]
    sources: tuple[str, ...] = field(default_factory=tuple)

    def enabled(self, level: str | None = None) -> list[Indicator]:
        """The enabled indicators, those of one level when given.

        Parameters
        ----------
        level : str or None
            ``grid``, ``community`` or ``street``; None for every level.

        Returns
        -------
        list of Indicator
        """
        return [i for i in self.indicators if i.enabled and (level is None or level in i.levels)]

    def get(self, indicator_id: str) -> Indicator:
        """The indicator with an id.

        Parameters
        ----------
        indicator_id : str

        Returns
        -------
        Indicator

        Raises
        ------
        InvalidInput
            When no indicator has that id.
        """
        for i in self.indicators:
            if i.id == indicator_id:
                return i
        raise fail(
            InvalidInput,
            N_("no indicator {id!r}; `gridmap indicators --list` names them"),
            id=indicator_id,
        )

    @property
    def households_band(self) -> tuple[float, float]:
        """The (low, high) households per grid the standard asks for (default 300-500)."""
        lo, hi = self.params.get("households_band", (300, 500))
        return float(lo), float(hi)


def _fail(where: str, what: str) -> InvalidInput:
    return InvalidInput(f"{where}: {what}")


def _number(value: Any, where: str, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise _fail(where, f"{what} must be a number (got {value!r})") from exc
    if not math.isfinite(out):
        raise _fail(where, f"{what} must be a finite number")
    return out


def _target(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not raw:
        raise _fail(
            where,
            "target must be a mapping: {min: X}, {max: X}, {min: X, max: Y} "
            "or {stars: {3: A, 4: B, 5: C}}",
        )
    bad = set(raw) - {"min", "max", "stars"}
    if bad:
        raise _fail(
            where,
            f"target: unknown key(s) {', '.join(sorted(map(str, bad)))}; use min, max or stars",
        )
    out: dict[str, Any] = {}
    if "stars" in raw:
        stars = raw["stars"]
        if not isinstance(stars, dict) or not stars:
            raise _fail(
                where, "target.stars must map star levels to thresholds, e.g. {3: 75, 5: 80}"
            )
        out["stars"] = {int(k): _number(v, where, f"target.stars.{k}") for k, v in stars.items()}
        return out
    for key in ("min", "max"):
        if key in raw:
            out[key] = _number(raw[key], where, f"target.{key}")
    if "min" in out and "max" in out and out["min"] > out["max"]:
        raise _fail(where, f"target.min {out['min']:g} is above target.max {out['max']:g}")
    return out


def _indicator(raw: dict[str, Any], *, where: str, base: Indicator | None = None) -> Indicator:
    from gridmap.analysis.indicators import check_formula  # the figures it may name

    if not isinstance(raw, dict) or not raw.get("id"):
        raise _fail(where, "every indicator needs an 'id'")
    iid = str(raw["id"])
    here = f"{where}, indicator {iid}"
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _fail(
            here,
            f"unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_FIELDS))}",
        )
    if base is None:
        for need in ("name_zh", "name_en", "formula", "level", "direction", "target", "source"):
            if raw.get(need) in (None, "", []):
                raise _fail(
                    here,
                    f"'{need}' is missing (every indicator says what it measures, "
                    "how, where, against what and why)",
                )
    changes = {k: v for k, v in raw.items() if k != "id"}
    if "level" in changes:
        levels = changes.pop("level")
        levels = [levels] if isinstance(levels, str) else list(levels or [])
        bad = [lv for lv in levels if lv not in LEVELS]
        if bad or not levels:
            raise _fail(here, f"level must be one or more of {', '.join(LEVELS)} (got {levels})")
        changes["levels"] = tuple(levels)
    if "direction" in changes and changes["direction"] not in DIRECTIONS:
        raise _fail(here, f"direction must be one of {', '.join(DIRECTIONS)}")
    if "target" in changes:
        changes["target"] = _target(changes["target"], here)
    if "formula" in changes:
        changes["formula"] = str(changes["formula"])
        check_formula(changes["formula"], where=here)
    for key in ("name_zh", "name_en", "unit", "source", "note"):
        if key in changes and changes[key] is not None:
            changes[key] = str(changes[key])
    if "enabled" in changes:
        changes["enabled"] = bool(changes["enabled"])
    if base is None:
        base = Indicator(
            id=iid,
            name_zh="",
            name_en="",
            formula="",
            unit="",
            levels=(),
            direction="higher",
            target={},
            source="",
            origin=where,
        )
    return replace(base, **changes)


def _read(text: str, where: str) -> dict[str, Any]:
    doc = read_table(text, where, "indicators")
    if not isinstance(doc.get("params") or {}, dict):
        raise _fail(where, "'params' must be a mapping")
    return doc


@functools.cache
def _shipped() -> dict[str, Any]:
    """The shipped table, read once per process (every street office's task asks for it)."""
    return _read(resources.files("gridmap.standards").joinpath(SHIPPED).read_text("utf-8"), SHIPPED)


def load_indicators(override: str | Path | None = None) -> IndicatorSet:
    """The shipped indicators, merged with the deployment's file when given.

    Parameters
    ----------
    override : str, Path or None
        A YAML file of indicators replacing shipped ones by id or adding new ones.

    Returns
    -------
    IndicatorSet
    """
    doc = copy.deepcopy(_shipped())
    items = [_indicator(raw, where=SHIPPED) for raw in doc["indicators"]]
    params = dict(doc.get("params") or {})
    sources = [SHIPPED]
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise fail(InvalidInput, N_("{path}: indicators file not found"), path=str(path))
        user = _read(path.read_text("utf-8"), path.name)
        sources.append(str(path))
        params.update(user.get("params") or {})
        index = {i.id: k for k, i in enumerate(items)}
        for raw in user["indicators"]:
            iid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            if iid in index:
                items[index[iid]] = _indicator(raw, where=path.name, base=items[index[iid]])
            else:
                item = _indicator(raw, where=path.name)
                index[item.id] = len(items)
                items.append(item)
    band = params.get("households_band", (300, 500))
    if not (isinstance(band, list | tuple) and len(band) == 2):
        raise fail(
            InvalidInput,
            N_("{source}: params.households_band must be [MIN, MAX]"),
            source=sources[-1],
        )
    ids = [i.id for i in items]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise fail(InvalidInput, N_("duplicate indicator ids: {ids}"), ids=", ".join(dup))
    return IndicatorSet(tuple(items), params, tuple(sources))
