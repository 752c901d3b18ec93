"""Indicators from figures: formulas evaluated per area, judged against their targets.

Pure functions. In: one row of figures per grid (counts, metres, square metres; every
figure adds up from grids to communities to the street) plus the figures that only exist
for a community (its area and how its grids tile it), and the :class:`IndicatorSet`. Out:
one row per (indicator, level, area) with the value, the target as text, pass/fail or the
star level, and the figures the formula used. A missing figure (the register lacks the
field) or an empty denominator gives no value: "no data", never zero.
"""

from __future__ import annotations

import ast
import operator
from typing import Any, cast

import numpy as np
import pandas as pd

from gridmap.errors import InvalidInput
from gridmap.messages import N_, fail

# The figures a formula may name: what each one counts (all add up across areas).
FIGURES: dict[str, str] = {
    "grids": "grids (1 per grid)",
    "households": "households registered in the area's buildings",
    "residents": "residents (sum of household sizes)",
    "households_all": "every household, with or without a grid (street level)",
    "households_in_grid": "households whose building lies in a grid",
    "residential_buildings": "residential and mixed-use buildings",
    "residential_buildings_with_households": "residential buildings with households on file",
    "residents_health_15min": "residents whose building is within 1000 m walk (15 min, "
    "GB 50180) of a community health centre or station",
    "residents_health_20min": "residents within 20 minutes (1333 m at 4 km/h) of a community "
    "health centre, station or clinic",
    "doctors": "doctors recorded on the health facilities in the area (no data when none is)",
    "street_m": "street length in the grid (a boundary street counts in each grid it borders)",
    "street_m_weeks": "street length x weeks of the period",
    "street_patrolled_m_weeks": "street length patrolled, summed over the weeks",
    "street_m_months": "street length x months of the period",
    "street_patrolled_m_months": "street length patrolled, summed over the months",
    "household_weeks": "households x weeks of the period",
    "households_patrolled_weeks": "households passed by a patrol, summed over the weeks",
    "household_months": "households x months of the period",
    "households_patrolled_months": "households passed by a patrol, summed over the months",
    "key_sites": "key sites",
    "key_sites_in_interval": "key sites whose last inspection before the period's end is "
    "within their interval",
    "hazards_found": "hazards found in the period",
    "hazards_assigned": "of those, assigned (responsible person and deadline) by the period's end",
    "hazards_due": "hazards whose deadline falls in the period",
    "hazards_closed_on_time": "of those, closed by their deadline",
    "hazards_closed": "hazards closed in the period",
    "hazards_reinspected": "of those, re-inspected before closing",
    "hazards_overdue": "hazards open at the period's end past their deadline",
    "grids_in_band": "grids whose households lie within params.households_band",
    "community_area_m2": "community area (community level and up)",
    "grid_cover_m2": "community area inside its grids",
    "grid_overlap_m2": "area covered by more than one grid of the community",
    "chronic_patients": "residents with hypertension or diabetes",
    "chronic_managed": "of those, under standardised management (register field)",
    "chronic_medicated": "of those, on regular medication (register field)",
    "chronic_controlled": "of those, with the condition under control (register field)",
    "residents_35": "residents aged 35 or more",
    "bp_checked_35": "of those, with a first blood-pressure check (register field)",
}
COMMUNITY_FIGURES = ("community_area_m2", "grid_cover_m2", "grid_overlap_m2")
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Load,
    ast.USub,
    ast.UAdd,
    *_OPS,
)


def _parse(formula: str, where: str) -> ast.Expression:
    try:
        tree = ast.parse(formula, mode="eval")
    except SyntaxError as exc:
        raise fail(
            InvalidInput,
            N_(
                "{where}: formula {formula!r} is not an expression "
                "(figures, numbers, + - * / and parentheses)"
            ),
            where=where,
            formula=formula,
        ) from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in FIGURES:
                raise fail(
                    InvalidInput,
                    N_("{where}: formula names unknown figure {name!r}; known: {known}"),
                    where=where,
                    name=node.id,
                    known=", ".join(FIGURES),
                )
        elif not isinstance(node, _ALLOWED):
            raise fail(
                InvalidInput,
                N_(
                    "{where}: formula {formula!r} may only use figures, numbers, "
                    "+ - * / and parentheses"
                ),
                where=where,
                formula=formula,
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise fail(
                InvalidInput,
                N_("{where}: formula {formula!r}: {value!r} is not a number"),
                where=where,
                formula=formula,
                value=node.value,
            )
    return tree


def check_formula(formula: str, *, where: str) -> None:
    """Refuse a formula that is not arithmetic over known figures.

    Parameters
    ----------
    formula : str
        E.g. ``residents / area_ha``.
    where : str
        The file and indicator named in the error.

    Raises
    ------
    InvalidInput
    """
    _parse(formula, where)


def formula_figures(formula: str) -> list[str]:
    """The figures a formula names, in order of appearance.

    Parameters
    ----------
    formula : str
        E.g. ``residents / area_ha``.

    Returns
    -------
    list of str
    """
    seen = dict.fromkeys(
        n.id for n in ast.walk(_parse(formula, "formula")) if isinstance(n, ast.Name)
    )
    return list(seen)


def evaluate_formula(formula: str, figures: pd.DataFrame) -> np.ndarray:
    """The formula on every row of ``figures``.

    Parameters
    ----------
    formula : str
        Arithmetic over figure names (see :func:`check_formula`).
    figures : pandas.DataFrame
        One row per area, one column per figure.

    Returns
    -------
    numpy.ndarray
        Float per row; NaN where a figure is missing or a denominator is zero.
    """

    def ev(node: ast.AST) -> np.ndarray:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            # _parse admits number constants only
            return np.full(len(figures), float(cast(float, node.value)))
        if isinstance(node, ast.Name):
            if node.id not in figures:
                return np.full(len(figures), np.nan)
            column: np.ndarray = pd.to_numeric(figures[node.id], errors="coerce").to_numpy(float)
            return column
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if not isinstance(node, ast.BinOp):  # _parse admits no other node
            raise fail(
                InvalidInput,
                N_("formula {formula!r}: unexpected {node}"),
                formula=formula,
                node=type(node).__name__,
            )
        a, b = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Div):
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)
        result: np.ndarray = _OPS[type(node.op)](a, b)
        return result

    return ev(_parse(formula, "formula"))


def roll_up(
    grid_figures: pd.DataFrame,
    community_figures: pd.DataFrame,
    street_extra: dict[str, Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Figures per level, indexed by area code.

    Communities and the street are the sums of their grids (a figure missing in every
    grid stays missing) plus their own figures.

    Parameters
    ----------
    grid_figures : pandas.DataFrame
        One row per grid with ``code``, ``community_code``, ``street_code`` and figures.
    community_figures : pandas.DataFrame
        ``code``, ``street_code`` and COMMUNITY_FIGURES (areas in square metres).
    street_extra : dict or None
        Street-only figures: figure name -> {street code: value}.

    Returns
    -------
    dict
        ``grid``, ``community`` and ``street`` -> figures indexed by area code.
    """
    cols = [c for c in grid_figures.columns if c in FIGURES]
    grid = grid_figures.set_index("code")
    comm = (
        grid_figures.groupby("community_code")[cols]
        .sum(min_count=1)
        .reindex(community_figures["code"])
    )
    own = community_figures.set_index("code")
    for c in COMMUNITY_FIGURES:
        if c in own:
            comm[c] = own[c]
    comm["street_code"] = own["street_code"]
    street = comm.groupby("street_code")[[c for c in comm.columns if c in FIGURES]].sum(min_count=1)
    for k, v in (street_extra or {}).items():
        street[k] = street.index.map(
            lambda code, v=v: v.get(code, np.nan) if isinstance(v, dict) else v
        )
    return {"grid": grid, "community": comm, "street": street}


def _judge(ind: Any, value: float | None) -> tuple[str, int | None]:
    """'pass' / 'fail' / 'no_data', and the star level (0 when below every star)."""
    if value is None or not np.isfinite(value):
        return "no_data", None
    t = ind.target
    if ind.stars:
        met = [k for k, v in sorted(ind.stars.items()) if value >= v - 1e-9]
        level = max(met) if met else 0
        return ("pass" if level else "fail"), level
    ok = True
    if "min" in t:
        ok &= value >= t["min"] - 1e-9
    if "max" in t:
        ok &= value <= t["max"] + 1e-9
    return ("pass" if ok else "fail"), None


ROW_COLUMNS = (
    "indicator",
    "name",
    "level",
    "area",
    "area_name",
    "value",
    "unit",
    "direction",
    "target",
    "threshold",
    "status",
    "stars",
    "formula",
    "figures",
    "source",
)


def _inputs(frame: pd.DataFrame, code: Any, used: list[str]) -> dict[str, float | None]:
    """The figures a formula used for one area, rounded to 0.01 (None: missing)."""
    inputs: dict[str, float | None] = {}
    for f in used:
        v = frame.at[code, f] if f in frame else np.nan
        v = float(v) if v is not None and pd.notna(v) else None
        inputs[f] = round(v, 2) if v is not None else None
    return inputs


def evaluate(
    indicators: Any,
    figures: dict[str, pd.DataFrame],
    *,
    names: dict[str, dict[str, str]],
    level: str | None = None,
    lang: str = "zh",
) -> pd.DataFrame:
    """Every enabled indicator judged on every area of its levels.

    Parameters
    ----------
    indicators : IndicatorSet
        The indicator table (:func:`gridmap.standards.indicators.load_indicators`).
    figures : dict
        Per level, the figures indexed by area code (:func:`roll_up`).
    names : dict
        Per level, area code -> display name.
    level : str or None
        ``grid``, ``community`` or ``street``; None for all.
    lang : str
        ``zh`` or ``en`` for indicator names.

    Returns
    -------
    pandas.DataFrame
        One row per (indicator, level, area): value (rounded to 0.01), status, stars and
        the figures the formula used.
    """
    rows = []
    for ind in indicators.enabled():
        for lv in ind.levels:
            if level is not None and lv != level:
                continue
            frame = figures[lv]
            values = evaluate_formula(ind.formula, frame)
            used = formula_figures(ind.formula)
            for code, value in zip(frame.index, values, strict=True):
                status, stars = _judge(ind, value)
                inputs = _inputs(frame, code, used)
                rows.append(
                    {
                        "indicator": ind.id,
                        "name": ind.name(lang),
                        "level": lv,
                        "area": str(code),
                        "area_name": names.get(lv, {}).get(code, str(code)),
                        "value": round(float(value), 2) if np.isfinite(value) else None,
                        "unit": ind.unit,
                        "direction": ind.direction,
                        "target": ind.target,
                        "threshold": ind.threshold_text(lang),
                        "status": status,
                        "stars": stars,
                        "formula": ind.formula,
                        "figures": inputs,
                        "source": ind.source,
                    }
                )
    return pd.DataFrame(rows, columns=list(ROW_COLUMNS))
