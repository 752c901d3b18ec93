"""Reachability rules as cited data: load, merge a user's file, judge areas against them.

The shipped tables (``RULE_FILES``) are GB 50180-2018, TD/T 1062-2021, 完整居住社区建设标准
(试行) and local targets. Every rule names its clause. A user's YAML file (same shape:
``rules:`` a list of mappings with ``id``) overrides fields of shipped rules with the same id
(``enabled: false`` switches one off) and adds new ones; ``standard``/``defaults`` at its
top apply to the rules it adds.

A rule covers a resident when the nearest facility of any of its ``categories`` lies within
its distance along the walking network; an area passes when the covered share of its
residents (or households, ``weight``) is at least ``min_share``. Rules are judged on
distance; minutes at the run's walking speed are shown beside. A rule given in
``max_minutes`` takes its distance from that speed.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from gridmap import vocab
from gridmap.errors import GridmapError, InvalidInput
from gridmap.messages import N_, fail
from gridmap.units import metres_for, minutes_for

RULE_FILES = (
    "gb50180_2018.yaml",
    "tdt1062_2021.yaml",
    "complete_community_2020.yaml",
    "local_targets.yaml",
)
WEIGHTS = ("residents", "households")
_FIELDS = {
    "id",
    "standard",
    "clause",
    "title_zh",
    "title_en",
    "categories",
    "max_distance_m",
    "max_minutes",
    "min_share",
    "weight",
    "level",
    "basis",
    "tier",
    "enabled",
    "note",
}


@dataclass(frozen=True)
class Rule:
    id: str
    standard: str
    clause: str
    title_zh: str
    title_en: str
    categories: tuple[str, ...]
    max_distance_m: float | None = None
    max_minutes: float | None = None
    min_share: float = 1.0
    weight: str = "residents"
    level: int | None = None
    basis: str | None = None
    tier: str | None = None
    enabled: bool = True
    note: str | None = None
    source: str = ""

    def threshold_m(self, speed_kmh: float) -> float:
        """The network distance the rule is judged on (minutes x speed for minute rules).

        Parameters
        ----------
        speed_kmh : float
            Walking speed in km/h.

        Returns
        -------
        float
            Metres.
        """
        if self.max_distance_m is not None:
            return float(self.max_distance_m)
        if self.max_minutes is None:  # the loader refuses such rules; a hand-made one may not
            raise fail(
                InvalidInput, N_("rule {rule}: give max_distance_m or max_minutes"), rule=self.id
            )
        return float(metres_for(float(self.max_minutes), speed_kmh))

    def title(self, lang: str = "zh") -> str:
        """The rule's title for people.

        Parameters
        ----------
        lang : str
            "zh" or "en".

        Returns
        -------
        str
            The title.
        """
        return self.title_zh if lang == "zh" else self.title_en


@dataclass(frozen=True)
class RuleSet:
    """Rules in file order plus the GB 50180-2018 level table (minutes -> distance)."""

    rules: tuple[Rule, ...]
    levels: tuple[dict[str, Any], ...]
    sources: tuple[str, ...]

    def enabled(self) -> list[Rule]:
        """The enabled rules, in file order.

        Returns
        -------
        list of Rule
            The rules.
        """
        return [r for r in self.rules if r.enabled]

    def get(self, rule_id: str) -> Rule:
        """The rule ``rule_id``.

        Parameters
        ----------
        rule_id : str
            The rule's id.

        Returns
        -------
        Rule
            The rule.

        Raises
        ------
        InvalidInput
            When no rule has that id.
        """
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise fail(
            InvalidInput,
            N_("no rule {rule_id!r}; see `gridmap standards` for the ids"),
            rule_id=rule_id,
        )

    def categories(self) -> list[str]:
        """Every category some enabled rule needs, in first-use order.

        Returns
        -------
        list of str
            The category codes.
        """
        seen: dict[str, None] = {}
        for r in self.enabled():
            seen.update(dict.fromkeys(r.categories))
        return list(seen)

    def level_distance_m(self, minutes: int) -> float | None:
        """The walking distance of a life-circle level.

        Parameters
        ----------
        minutes : int
            The level: 5, 10 or 15 minutes.

        Returns
        -------
        float or None
            Metres (GB 50180-2018 table), None when the rules give no such level.
        """
        for lv in self.levels:
            if int(lv["minutes"]) == int(minutes):
                return float(lv["distance_m"])
        return None

    def rules_for(self, category: str) -> list[Rule]:
        """The enabled rules that judge facility ``category``.

        Parameters
        ----------
        category : str
            A facility category.

        Returns
        -------
        list of Rule
            The rules.
        """
        return [r for r in self.enabled() if category in r.categories]


def _fail(where: str, template: str, **params: Any) -> GridmapError:
    """A refusal of the rules file ``where``; ``template`` starts with ``{where}: ``."""
    return fail(InvalidInput, template, where=where, **params)


def _rule(
    raw: dict[str, Any],
    *,
    defaults: dict[str, Any],
    standard: str | None,
    where: str,
    base: Rule | None = None,
) -> Rule:
    """A rule read from a file (``where``), or the changes a user's file makes to ``base``."""
    if not isinstance(raw, dict) or not raw.get("id"):
        raise _fail(where, N_("{where}: every rule needs an 'id'"))
    rid = str(raw["id"])
    unknown = set(raw) - _FIELDS
    if unknown:
        raise _fail(
            where,
            N_("{where}: rule {rule}: unknown field(s) {fields}; allowed: {allowed}"),
            rule=rid,
            fields=", ".join(sorted(unknown)),
            allowed=", ".join(sorted(_FIELDS)),
        )
    data = {**defaults, **raw} if base is None else dict(raw)
    if base is None:
        data.setdefault("standard", standard)
        _check_complete(data, rid, where)
    rule = (
        base
        if base is not None
        else Rule(
            id=rid,
            standard=str(data["standard"]),
            clause="",
            title_zh="",
            title_en="",
            categories=(),
            source=where,
        )
    )
    changes = {k: v for k, v in data.items() if k in _FIELDS and k != "id"}
    if "categories" in changes:
        changes["categories"] = _categories(changes["categories"], rid, where)
    _clean_numbers(changes, rid, where)
    if "weight" in changes and changes["weight"] not in WEIGHTS:
        raise _fail(
            where,
            N_("{where}: rule {rule}: weight must be one of {weights}"),
            rule=rid,
            weights=", ".join(WEIGHTS),
        )
    if "enabled" in changes:
        changes["enabled"] = bool(changes["enabled"])
    for key in ("standard", "clause", "title_zh", "title_en", "basis", "tier", "note"):
        if key in changes and changes[key] is not None:
            changes[key] = str(changes[key])
    if "level" in changes and changes["level"] is not None:
        changes["level"] = int(changes["level"])
    return replace(rule, **changes)


def _check_complete(data: dict[str, Any], rid: str, where: str) -> None:
    """Refuse a new rule that does not cite its clause, say what it checks or give a limit."""
    for need in ("clause", "title_zh", "title_en", "categories"):
        if not data.get(need):
            raise _fail(
                where,
                N_(
                    "{where}: rule {rule}: '{need}' is missing (every rule cites its clause and "
                    "says what it checks)"
                ),
                rule=rid,
                need=need,
            )
    if data.get("max_distance_m") is None and data.get("max_minutes") is None:
        raise _fail(where, N_("{where}: rule {rule}: give max_distance_m or max_minutes"), rule=rid)


def _categories(cats: Any, rid: str, where: str) -> tuple[str, ...]:
    """A rule's facility categories (one code or a list), each a known code."""
    cats = [cats] if isinstance(cats, str) else list(cats or [])
    bad = [c for c in cats if c not in vocab.FACILITY_CODES]
    if bad:
        raise _fail(
            where,
            N_(
                "{where}: rule {rule}: unknown facility category {codes}; use codes from "
                "gridmap.vocab.FACILITY_CATEGORIES (e.g. {examples} ...)"
            )
            if len(bad) == 1
            else N_(
                "{where}: rule {rule}: unknown facility categories {codes}; use codes from "
                "gridmap.vocab.FACILITY_CATEGORIES (e.g. {examples} ...)"
            ),
            rule=rid,
            codes=", ".join(map(str, bad)),
            examples=", ".join(sorted(vocab.FACILITY_CODES)[:4]),
        )
    return tuple(cats)


def _clean_numbers(changes: dict[str, Any], rid: str, where: str) -> None:
    """Distances, minutes and shares as non-negative floats (in place); a rule given in
    metres drops its minutes and the other way round."""
    for key in ("max_distance_m", "max_minutes", "min_share"):
        if key in changes and changes[key] is not None:
            try:
                changes[key] = float(changes[key])
            except (TypeError, ValueError) as exc:
                raise _fail(
                    where, N_("{where}: rule {rule}: {key} must be a number"), rule=rid, key=key
                ) from exc
            if not math.isfinite(changes[key]) or changes[key] < 0:
                raise _fail(
                    where,
                    N_("{where}: rule {rule}: {key} must be a non-negative number"),
                    rule=rid,
                    key=key,
                )
    if "max_distance_m" in changes and changes["max_distance_m"] is not None:
        changes.setdefault("max_minutes", None)
    elif changes.get("max_minutes") is not None:
        changes["max_distance_m"] = None
    if "min_share" in changes and changes["min_share"] > 1:
        raise _fail(
            where,
            N_(
                "{where}: rule {rule}: min_share is a share between 0 and 1 (got {value}; "
                "write 0.9 for 90%)"
            ),
            rule=rid,
            value=changes["min_share"],
        )


def read_table(text: str, where: str, key: str = "rules") -> dict[str, Any]:
    """A YAML table of cited entries: a mapping whose ``key`` is a list (rules, indicators).

    Parameters
    ----------
    text : str
        The YAML text.
    where : str
        The file's name, for messages.
    key : str
        The name of the list.

    Returns
    -------
    dict
        The mapping, with an empty list under ``key`` when it had none.
    """
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise _fail(
            where, N_("{where}: not valid YAML ({reason})"), reason=str(exc).splitlines()[0]
        ) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get(key, []), list):
        raise _fail(where, N_("{where}: expected a mapping with a '{key}:' list"), key=key)
    doc.setdefault(key, [])
    return doc


_read = read_table


@functools.cache
def _shipped_table(name: str) -> dict[str, Any]:
    """A shipped rules file, parsed once per process (every street office's task loads the
    rules); callers get a deep copy."""
    return _read(resources.files("gridmap.standards").joinpath(name).read_text("utf-8"), name)


def load_rules(override: str | Path | None = None) -> RuleSet:
    """The shipped rules, merged with the user's rules file when given.

    Parameters
    ----------
    override : str or Path, optional
        The user's rules file.

    Returns
    -------
    RuleSet
        The rules, the level table and the files read.
    """
    rules: list[Rule] = []
    levels: list[dict[str, Any]] = []
    sources: list[str] = []
    for name in RULE_FILES:
        doc = copy.deepcopy(_shipped_table(name))
        sources.append(name)
        levels += doc.get("levels", [])
        for raw in doc["rules"]:
            rules.append(
                _rule(
                    raw,
                    defaults=doc.get("defaults") or {},
                    standard=doc.get("standard"),
                    where=name,
                )
            )
    if override is not None:
        path = Path(override)
        if not path.is_file():
            raise fail(InvalidInput, N_("{path}: rules file not found"), path=path)
        doc = _read(path.read_text("utf-8"), path.name)
        sources.append(str(path))
        index = {r.id: k for k, r in enumerate(rules)}
        for raw in doc["rules"]:
            rid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            if rid in index:
                rules[index[rid]] = _rule(
                    raw, defaults={}, standard=None, where=path.name, base=rules[index[rid]]
                )
            else:
                rule = _rule(
                    raw,
                    defaults=doc.get("defaults") or {},
                    standard=doc.get("standard") or "用户规则",
                    where=path.name,
                )
                index[rule.id] = len(rules)
                rules.append(rule)
    ids = [r.id for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise fail(InvalidInput, N_("duplicate rule ids: {ids}"), ids=", ".join(dup))
    return RuleSet(tuple(rules), tuple(levels), tuple(sources))


def evaluate(
    rules: RuleSet | list[Rule],
    distances: pd.DataFrame,
    weights: pd.DataFrame,
    areas: dict[str, pd.Series],
    *,
    speed_kmh: float,
    names: dict[str, dict[str, str]] | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """Pass/fail of every enabled rule in every area.

    Parameters
    ----------
    rules : RuleSet or list of Rule
        The rules (disabled ones are skipped).
    distances : pandas.DataFrame
        Aligned with the origins: '<category>_m' columns in metres (NaN beyond the cutoff or
        unreachable); a category without a column counts as absent (nobody covered).
    weights : pandas.DataFrame
        Aligned: 'residents', 'households'.
    areas : dict of str to pandas.Series
        Level ('grid', 'community', 'street', ...) -> area code per origin.
    speed_kmh : float
        Walking speed in km/h (for minute rules and the minutes shown).
    names : dict, optional
        Level -> {code: display name}.
    lang : str
        Language of the titles, "zh" or "en".

    Returns
    -------
    pandas.DataFrame
        One row per (rule, level, area): rule, standard, clause, title, categories,
        threshold_m, minutes, min_share, weight, total, covered, share, passed, computed.
    """
    chosen = rules.enabled() if isinstance(rules, RuleSet) else [r for r in rules if r.enabled]
    rows = []
    idx = distances.index
    for rule in chosen:
        limit = rule.threshold_m(speed_kmh)
        cols = [f"{c}_m" for c in rule.categories if f"{c}_m" in distances]
        if cols:
            best = distances[cols].min(axis=1, skipna=True).to_numpy(float)
        else:
            best = np.full(len(idx), np.nan)
        ok = best <= limit
        w = weights[rule.weight].reindex(idx).fillna(0).to_numpy(float)
        for level, codes in areas.items():
            code = codes.reindex(idx).fillna("").astype(str).to_numpy()
            keys, inv = np.unique(code, return_inverse=True)
            total = np.bincount(inv, weights=w, minlength=len(keys))
            cov = np.bincount(inv, weights=w * ok, minlength=len(keys))
            for k, key in enumerate(keys):
                share = cov[k] / total[k] if total[k] > 0 else np.nan
                rows.append(
                    {
                        "rule": rule.id,
                        "standard": rule.standard,
                        "clause": rule.clause,
                        "title": rule.title(lang),
                        "categories": ",".join(rule.categories),
                        "level": level,
                        "area": key,
                        "area_name": (names or {}).get(level, {}).get(key, key),
                        "threshold_m": limit,
                        "minutes": float(minutes_for(limit, speed_kmh)),
                        "min_share": rule.min_share,
                        "weight": rule.weight,
                        "total": int(round(total[k])),
                        "covered": int(round(cov[k])),
                        "share": share,
                        "passed": bool(share >= rule.min_share) if total[k] > 0 else None,
                        "computed": bool(cols),
                    }
                )
    return pd.DataFrame(rows)
