"""The layer registry: one table the importer, exporter, store, command line and pages read.

Adding a column is one edit of the registry: a registry without the facilities' capacity
keeps the 床位数 column in props and exports none; the same registry with one Field added
stores it, exports it under its short name and reads that export back.
"""

import zipfile

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import sqlalchemy as sa

from geodata.column_mapping import Mapping, map_columns
from geodata.db import models as m
from geodata.export import export_layer
from geodata.importer import ImportOptions, import_file
from geodata.readers import ReadOptions
from gridmap.layers import REGISTRY, SHAPEFILE_NAME_MAX, Field
from gridmap.notes import InputRejected
from gridmap.privacy import Requester

ADMIN = Requester.system("registry")
BEDS = Field("capacity", "int", "床位数", "beds", ("capacity", "床位数", "beds"), export="beds")


def test_the_shipped_registry_names_every_layer_and_short_export_names():
    assert REGISTRY.spec("key-sites").name == "key_sites"
    assert REGISTRY.spec(" Patrols ").name == "patrol_tracks"
    with pytest.raises(InputRejected, match="unknown layer 'parks'"):
        REGISTRY.spec("parks")
    assert REGISTRY.choices()[:3] == ["districts", "streets", "communities"]
    assert {"key-sites", "patrol-tracks"} <= set(REGISTRY.choices())
    assert all(len(f.short) <= SHAPEFILE_NAME_MAX for f in REGISTRY.fields.values())
    assert REGISTRY.export_names() == {
        "leader_phone": "leader_tel",
        "target_households": "target_hh",
        "inspection_interval_days": "interval",
        "description": "descr",
        "responsible": "responsib",
    }
    # every export name is a heading the importer reads back as the same field
    for name, short in REGISTRY.export_names().items():
        assert short in REGISTRY.field(name).names
    grids = REGISTRY["grids"]
    assert grids.allowed == {
        "code",
        "name",
        "kind",
        "leader",
        "leader_phone",
        "target_households",
        "community",
        "households",
    }
    assert "code" not in REGISTRY["residents"].allowed
    assert [p.table for p in (REGISTRY[s] for s in REGISTRY.map_layers)][:2] == [
        "district",
        "street",
    ]
    assert REGISTRY["roads"].geometry_type == "LineString"
    assert REGISTRY["grids"].title("zh") == "网格" and REGISTRY["grids"].title("en") == "Grids"


def test_one_field_added_to_a_registry_maps_without_other_edits():
    base = REGISTRY.without_field("facilities", "capacity")
    assert "capacity" not in base.fields
    plus = base.with_field("facilities", BEDS)
    columns = ["名称", "类别", "床位数"]
    mapped, props, _ = map_columns(
        columns, "facilities", base["facilities"].allowed, Mapping(), registry=base
    )
    assert mapped == {"名称": "name", "类别": "category"} and props == ["床位数"]
    mapped, props, _ = map_columns(
        columns, "facilities", plus["facilities"].allowed, Mapping(), registry=plus
    )
    assert mapped == {"名称": "name", "类别": "category", "床位数": "capacity"} and props == []


def _facilities_csv(tmp_path):
    path = tmp_path / "facilities.csv"
    pd.DataFrame(
        {
            "名称": ["社区卫生服务站", "养老院"],
            "类别": ["社区卫生服务站", "养老院"],
            "床位数": ["12张", "30"],
            "经度": [116.3075, 116.3102],
            "纬度": [39.9905, 39.9921],
        }
    ).to_csv(path, index=False)
    return path


def _stored(session):
    rows = session.execute(
        sa.select(m.Facility.name, m.Facility.capacity, m.Facility.props).order_by(m.Facility.name)
    ).all()
    return {r.name: (r.capacity, r.props) for r in rows}


def test_a_field_added_in_a_fixture_registry_is_imported_and_exported(session, tmp_path):
    base = REGISTRY.without_field("facilities", "capacity")
    plus = base.with_field("facilities", BEDS)
    src = _facilities_csv(tmp_path)
    options = ImportOptions(read=ReadOptions())

    report = import_file(session, src, "facilities", options, ADMIN, registry=base)
    assert report.ok and report.inserts == 2 and report.props_columns == ["床位数"]
    assert _stored(session) == {
        "养老院": (None, {"床位数": "30"}),
        "社区卫生服务站": (None, {"床位数": "12张"}),
    }
    out, n = export_layer(
        session, "facilities", "geojson", tmp_path / "base.geojson", ADMIN, registry=base
    )
    frame = gpd.read_file(out)
    assert n == 2 and "capacity" not in frame.columns and "beds" not in frame.columns

    # the one edit: the same registry with the field; the rows are updated by their codes
    report = import_file(session, src, "facilities", options, ADMIN, registry=plus)
    assert report.ok and report.updates == 2 and report.mapping["床位数"] == "capacity"
    assert _stored(session) == {"养老院": (30, None), "社区卫生服务站": (12, None)}
    out, n = export_layer(session, "facilities", "shp", tmp_path / "plus.zip", ADMIN, registry=plus)
    with zipfile.ZipFile(out) as zf:
        assert "facilities.dbf" in zf.namelist()
    frame = pyogrio.read_dataframe(f"/vsizip/{out}/facilities.shp")
    assert sorted(zip(frame["name"], frame["beds"], strict=True)) == [
        ("养老院", 30),
        ("社区卫生服务站", 12),
    ]
    # ... and the export reads back: the short name is one of the field's headings
    session.execute(sa.update(m.Facility).values(capacity=None))
    report = import_file(session, out, "facilities", options, ADMIN, registry=plus)
    assert report.ok and report.updates == 2 and report.mapping["beds"] == "capacity"
    assert _stored(session) == {"养老院": (30, None), "社区卫生服务站": (12, None)}
