"""Fitting a file's features to a layer's geometry kind (polygon, point or line).

Geometry is made 2D; invalid polygons are repaired; multi-part points and lines give one
part (with a warning); polygons given for points give their representative point; empty,
zero-area and zero-length features are dropped. Every change is a report line for its row.
Real exports mix kinds (address and entrance points in a building file): features of
another kind are skipped with a warning when the file holds the right kind too; when it
holds none, the layer or the file is wrong and the whole file is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.notes import N_, InputRejected, Note, Problem, note, problem, rejected

# shapely type ids a layer kind takes (points also take polygons: their representative point)
FITTING_TYPES = {"polygon": (3, 6, 7), "point": (0, 4, 3, 6), "line": (1, 5)}
KIND_OF_TYPE = {0: "point", 4: "point", 1: "line", 5: "line", 2: "line", 3: "polygon", 6: "polygon"}
KIND_WORDS = {
    "point": N_("points"),
    "line": N_("lines"),
    "polygon": N_("polygons"),
    "other": N_("geometry collections"),
}


@dataclass
class Fitted:
    """The fitted geometries, which features stay, and what was said about each row."""

    geometries: np.ndarray
    keep: np.ndarray
    problems: list[Problem] = field(default_factory=list)


def fit_to_layer(
    geometries: np.ndarray,
    rows: np.ndarray,
    kind: str,
    *,
    layer: str,
    file: str,
    takers: dict[str, list[str]],
    rows_with_errors: Collection[int] = (),
) -> Fitted:
    """Fit every feature to the layer's geometry kind.

    Parameters
    ----------
    geometries : numpy.ndarray
        Shapely geometries (None for a missing one).
    rows : numpy.ndarray
        The file's row number of each feature.
    kind : str
        "polygon", "point" or "line".
    layer : str
        The layer's label (a translatable word).
    file : str
        The file's name, for the refusal.
    takers : dict of str to list of str
        Geometry kind -> labels of the layers that take it, for the refusal.
    rows_with_errors : collection of int
        Rows already refused; their empty geometry is not said again.

    Returns
    -------
    Fitted
        The fitted geometries, which features stay, and the problems said.

    Raises
    ------
    InputRejected
        When the file holds no feature of ``kind`` at all.
    """
    geoms = shapely.force_2d(geometries)
    keep = np.ones(len(geoms), dtype=bool)
    types = shapely.get_type_id(geoms)
    fits = np.isin(types, FITTING_TYPES[kind])
    if not fits.any() and (types >= 0).any():
        raise wrong_file(types[types >= 0], kind, layer=layer, file=file, takers=takers)
    out = Fitted(geoms, keep)
    mixed = bool(fits.any() and (~fits & (types >= 0)).any())
    for i, g in enumerate(geoms):
        row = int(rows[i])
        if g is None or g.is_empty:
            if row not in rows_with_errors:
                out.problems.append(
                    problem(row, "dropped", "warning", N_("empty geometry; feature dropped"))
                )
            keep[i] = False
            continue
        fitted = fit_one(g, kind, row, out.problems, layer=layer, mixed=mixed)
        if fitted is None:
            keep[i] = False
        else:
            geoms[i] = fitted
    return out


def wrong_file(
    types: np.ndarray, kind: str, *, layer: str, file: str, takers: dict[str, list[str]]
) -> InputRejected:
    """One refusal for a file with no feature of the layer's kind: what it holds and which
    layers would take it.

    Parameters
    ----------
    types : numpy.ndarray
        Shapely type ids of the file's features.
    kind : str
        The layer's geometry kind.
    layer : str
        The layer's label.
    file : str
        The file's name.
    takers : dict of str to list of str
        Geometry kind -> labels of the layers that take it.

    Returns
    -------
    InputRejected
        The refusal to raise.
    """
    kinds = pd.Series([KIND_OF_TYPE.get(int(t), "other") for t in types]).value_counts()
    held = kinds.index[0]
    labels = takers.get(held, [])
    listing = Note(
        ", ".join(f"{{l{i}}}" for i in range(len(labels))),
        {f"l{i}": note(label) for i, label in enumerate(labels)},
    )
    return rejected(
        N_(
            "{file} holds {n:,} {what}, but {layer} need {need}: nothing was "
            "read. A file of {what} goes to {takers}"
        ),
        file=file,
        n=int(kinds.iloc[0]),
        what=note(KIND_WORDS[held]),
        layer=note(layer),
        need=note(KIND_WORDS[kind]),
        takers=listing if labels else note(N_("no layer")),
    )


def _wrong_kind(
    said: list[Problem], row: int, gtype: str, message: str, *, layer: str, mixed: bool
) -> None:
    if mixed:
        said.append(
            problem(
                row,
                "wrong_geometry",
                "warning",
                N_("{what}; skipped (the file mixes kinds of features)"),
                what=note(message, gtype=gtype, layer=note(layer)),
            )
        )
    else:
        said.append(
            problem(row, "wrong_geometry", "error", message, gtype=gtype, layer=note(layer))
        )


def fit_one(
    g: BaseGeometry, kind: str, row: int, said: list[Problem], *, layer: str, mixed: bool
) -> BaseGeometry | None:
    """One geometry fitted to a kind; what was done is appended to ``said``.

    Parameters
    ----------
    g : shapely geometry
        The feature's geometry.
    kind : str
        "polygon", "point" or "line".
    row : int
        The file's row number.
    said : list of Problem
        Where the notes go.
    layer : str
        The layer's label.
    mixed : bool
        Whether the file mixes geometry kinds.

    Returns
    -------
    shapely geometry or None
        The fitted geometry; None when it is dropped.
    """
    fit = _FITS.get(kind)
    return g if fit is None else fit(g, row, said, layer=layer, mixed=mixed)


def _polygon(
    g: BaseGeometry, row: int, said: list[Problem], *, layer: str, mixed: bool
) -> BaseGeometry | None:
    gtype = g.geom_type
    if gtype not in ("Polygon", "MultiPolygon", "GeometryCollection"):
        _wrong_kind(
            said, row, gtype, N_("a {gtype}, but {layer} need polygons"), layer=layer, mixed=mixed
        )
        return None
    if not g.is_valid:
        why = shapely.is_valid_reason(g)
        g = shapely.make_valid(g)
        said.append(
            problem(
                row,
                "repaired",
                "info",
                N_("invalid polygon ({why}); repaired with make_valid"),
                why=why,
            )
        )
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in shapely.get_parts(p)]
    polys = [p for p in polys if p.area > 0]
    if not polys:
        said.append(problem(row, "dropped", "warning", N_("zero area; feature dropped")))
        return None
    return shapely.MultiPolygon(polys)


def _point(
    g: BaseGeometry, row: int, said: list[Problem], *, layer: str, mixed: bool
) -> BaseGeometry | None:
    gtype = g.geom_type
    if gtype == "Point":
        return g
    if gtype == "MultiPoint":
        parts = shapely.get_parts(g)
        if len(parts) > 1:
            said.append(
                problem(
                    row,
                    "multipart",
                    "warning",
                    N_("{n} points in one feature; the first is used"),
                    n=len(parts),
                )
            )
        return parts[0]
    if gtype in ("Polygon", "MultiPolygon"):
        said.append(
            problem(row, "converted", "info", N_("a polygon; its representative point is used"))
        )
        return g.representative_point()
    _wrong_kind(
        said, row, gtype, N_("a {gtype}, but {layer} need points"), layer=layer, mixed=mixed
    )
    return None


def _line(
    g: BaseGeometry, row: int, said: list[Problem], *, layer: str, mixed: bool
) -> BaseGeometry | None:
    gtype = g.geom_type
    if gtype == "MultiLineString":
        merged = shapely.line_merge(g)
        if merged.geom_type == "MultiLineString":
            parts = sorted(shapely.get_parts(merged), key=lambda p: -p.length)
            said.append(
                problem(
                    row,
                    "multipart",
                    "warning",
                    N_("{n} separate pieces; the longest is used"),
                    n=len(parts),
                )
            )
            merged = parts[0]
        g, gtype = merged, merged.geom_type
    if gtype != "LineString":
        _wrong_kind(
            said, row, gtype, N_("a {gtype}, but {layer} need lines"), layer=layer, mixed=mixed
        )
        return None
    if g.length == 0:
        said.append(problem(row, "dropped", "warning", N_("zero length; feature dropped")))
        return None
    return g


_FITS = {"polygon": _polygon, "point": _point, "line": _line}
