"""One JSON encoding of analysis values, for the command line and the stored run results."""

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import shapely

from gridmap.json_values import json_value


def test_missing_values_of_every_kind_are_null():
    for missing in (None, float("nan"), np.nan, np.float32("nan"), float("inf"), -np.inf):
        assert json_value(missing) is None
    for missing in (pd.NaT, pd.NA, np.datetime64("NaT")):
        assert json_value(missing) is None


def test_numpy_scalars_become_python_numbers_and_floats_round_on_request():
    assert json_value(np.int64(7)) == 7 and type(json_value(np.int64(7))) is int
    assert json_value(np.bool_(True)) is True
    assert json_value(np.float32(0.5)) == 0.5 and type(json_value(np.float32(0.5))) is float
    assert json_value(2 / 3, digits=4) == 0.6667
    assert json_value(np.float64(2 / 3), digits=4) == 0.6667
    assert json_value(True) is True and json_value(3) == 3 and json_value("三") == "三"


def test_dates_are_iso_text():
    assert json_value(date(2025, 6, 1)) == "2025-06-01"
    assert json_value(datetime(2025, 6, 1, 8, 30)) == "2025-06-01T08:30:00"
    assert json_value(pd.Timestamp("2025-06-01 08:30")) == "2025-06-01T08:30:00"
    assert json_value(np.datetime64("2025-06-01T08:30")) == "2025-06-01T08:30:00"


def test_containers_geometries_and_other_objects():
    value = {1: [np.int64(1), np.nan, (pd.NaT, "a")], "s": {np.float64(1.5)}}
    assert json_value(value) == {"1": [1, None, [None, "a"]], "s": [1.5]}
    assert json_value(np.array([1.0, np.nan])) == [1.0, None]
    assert json_value(shapely.Point(1, 2)) == "POINT (1 2)"
    assert json_value(pd.Timedelta(hours=1)) == str(pd.Timedelta(hours=1))


def test_a_frame_row_of_mixed_columns_dumps_as_strict_json():
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "share": [0.5, np.nan],
            "when": pd.to_datetime(["2025-06-01", None]),
            "name": ["a", None],
        }
    )
    rows = [{k: json_value(v) for k, v in r.items()} for r in frame.to_dict("records")]
    text = json.dumps(rows, allow_nan=False)
    assert json.loads(text) == [
        {"n": 1, "share": 0.5, "when": "2025-06-01T00:00:00", "name": "a"},
        {"n": 2, "share": None, "when": None, "name": None},
    ]
