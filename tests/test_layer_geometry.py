"""Fitting features to a layer's geometry kind, in the core (no database, no files)."""

import numpy as np
import pytest
import shapely

from gridmap.layer_geometry import fit_to_layer
from gridmap.notes import InputRejected

TAKERS = {"polygon": ["grids"], "point": ["facilities", "gates"], "line": ["roads"]}


def fit(geoms, kind, **kw):
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return fit_to_layer(
        arr, np.arange(1, len(geoms) + 1), kind, layer="things", file="f.shp", takers=TAKERS, **kw
    )


def said(fitted):
    return [(p.row, p.kind, p.severity) for p in fitted.problems]


def test_polygons_are_repaired_made_multi_and_empties_dropped():
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])  # self-crossing: two triangles
    out = fit(
        [
            bowtie,
            shapely.Polygon(),
            shapely.Polygon([(0, 0), (1, 0), (2, 0)]),
            shapely.box(0, 0, 1, 1),
        ],
        "polygon",
    )
    assert out.keep.tolist() == [True, False, False, True]
    assert said(out) == [
        (1, "repaired", "info"),
        (2, "dropped", "warning"),
        (3, "repaired", "info"),
        (3, "dropped", "warning"),
    ]
    assert out.geometries[0].geom_type == "MultiPolygon"
    assert out.geometries[0].area == pytest.approx(2.0)  # two triangles of 1 m² each
    assert out.geometries[3].equals(shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]))


def test_points_take_the_first_part_or_a_polygon_s_representative_point():
    square = shapely.box(0, 0, 2, 2)
    out = fit([shapely.MultiPoint([(1, 1), (5, 5)]), square, shapely.Point(3, 4, 9)], "point")
    assert said(out) == [(1, "multipart", "warning"), (2, "converted", "info")]
    assert out.geometries[0].equals(shapely.Point(1, 1))
    assert square.contains(out.geometries[1])
    assert not out.geometries[2].has_z  # 2D


def test_lines_merge_touching_pieces_and_keep_the_longest_of_separate_ones():
    touching = shapely.MultiLineString([[(0, 0), (1, 0)], [(1, 0), (3, 0)]])
    apart = shapely.MultiLineString([[(0, 0), (1, 0)], [(5, 0), (9, 0)]])
    out = fit([touching, apart, shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)])], "line")
    assert out.geometries[0].length == pytest.approx(3.0) and out.keep[0]
    assert out.geometries[1].length == pytest.approx(4.0)
    # a point among lines: the file mixes kinds, so the point is skipped with a warning
    assert said(out) == [(2, "multipart", "warning"), (3, "wrong_geometry", "warning")]
    assert out.keep.tolist() == [True, True, False, True]


def test_a_file_without_one_feature_of_the_kind_is_refused_naming_the_takers():
    with pytest.raises(InputRejected) as exc:
        fit([shapely.Point(0, 0), shapely.Point(1, 1)], "line")
    assert str(exc.value) == (
        "f.shp holds 2 points, but things need lines: nothing was read. "
        "A file of points goes to facilities, gates"
    )


def test_rows_already_refused_are_not_told_again_that_they_are_empty():
    out = fit([None, None], "point", rows_with_errors={1})
    assert said(out) == [(2, "dropped", "warning")] and not out.keep.any()
