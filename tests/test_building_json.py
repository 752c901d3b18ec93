"""Buildings written as GeoJSON by PostGIS (geodata.db.building_json) give what the general
path (GeoDataFrame -> shapely -> dict) gives: the same rows in the same order, counts,
suppression, properties and coordinates, for the OGC items and the map layer."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from geodata import ogc_api
from geodata.db import building_json, layers
from gridmap import ogc, vector
from gridmap.privacy import Requester

ADMIN = Requester(username="admin", role="admin")


def _boxes(session, n: int = 12) -> list[tuple[float, float, float, float]]:
    frame = layers.buildings_in(session, None)
    minx, miny, maxx, maxy = frame.total_bounds
    rng = random.Random(7)
    out = []
    for _ in range(n):
        x, y = rng.uniform(minx, maxx - 0.004), rng.uniform(miny, maxy - 0.003)
        out.append((x, y, x + 0.004, y + 0.003))
    return out


def _req(**args) -> ogc_api.OgcRequest:
    return ogc_api.OgcRequest(base="http://x/ogc", args={k: str(v) for k, v in args.items()})


def _coords(geometry: dict) -> np.ndarray:
    return shapely.get_coordinates(shape(geometry))


def test_ogc_buildings_page_matches_general_path(backend, demo_session):
    if backend != "postgis":  # SpatiaLite keeps the general path
        assert not building_json.usable(demo_session)
        assert (
            ogc_api.items_json(demo_session, ADMIN, _req(bbox="116,39,117,40"), "buildings") is None
        )
        return
    seen_suppressed = seen = 0
    for i, box in enumerate(_boxes(demo_session)):
        crs = ogc.EPSG4326 if i % 3 == 0 else ogc.CRS84
        args = {
            "bbox": ",".join(f"{v:.6f}" for v in box),
            "limit": 7 if i % 2 else 100,
            "offset": 5 if i % 4 == 1 else 0,
            "crs": crs,
        }
        text, headers = ogc_api.items_json(demo_session, ADMIN, _req(**args), "buildings")
        fast = json.loads(text)
        slow, slow_headers = ogc_api.items(
            demo_session, ADMIN, _req(**args), "buildings", as_of=lambda: None
        )
        assert headers == slow_headers
        assert fast["numberMatched"] == slow["numberMatched"]
        assert fast["numberReturned"] == slow["numberReturned"] == len(slow["features"])
        assert [link["href"] for link in fast["links"]] == [link["href"] for link in slow["links"]]
        for a, b in zip(fast["features"], slow["features"], strict=True):
            assert a["id"] == b["id"]
            assert a["properties"] == b["properties"]
            assert a["geometry"]["type"] == b["geometry"]["type"]
            assert np.abs(_coords(a["geometry"]) - _coords(b["geometry"])).max() < 1e-9
            seen += 1
            seen_suppressed += a["properties"]["households"] is None
    assert seen > 50 and seen_suppressed > 0  # the comparison covered suppressed counts too
    past_end = {"bbox": "116,39,117,40", "offset": 100000, "limit": 10}
    fast = json.loads(ogc_api.items_json(demo_session, ADMIN, _req(**past_end), "buildings")[0])
    assert fast["features"] == [] and fast["numberMatched"] == len(
        layers.buildings_in(demo_session, (116, 39, 117, 40))
    )


@pytest.mark.parametrize("zoom", [14, 17])
def test_map_buildings_match_general_path(backend, demo_session, zoom):
    if backend != "postgis":
        assert not building_json.usable(demo_session)
        return
    seen = 0
    for box in _boxes(demo_session, 6):
        fast = building_json.map_features(
            demo_session,
            box,
            tolerance_deg=vector.simplify_tolerance_deg(zoom),
            decimals=vector.coordinate_decimals(zoom),
            lang="en",
        )
        fast = [json.loads(f) for f in fast]
        frame, props = layers.layer_frame(
            demo_session, ADMIN, "buildings", box, as_of=None, lang="en"
        )
        slow = vector.feature_collection(frame, props, zoom=zoom)["features"]
        assert len(fast) == len(slow)
        step = 10.0 ** -vector.coordinate_decimals(zoom)
        for a, b in zip(fast, slow, strict=True):
            assert a["properties"] == b["properties"]
            ca, cb = _coords(a["geometry"]), _coords(b["geometry"])
            assert ca.shape == cb.shape
            assert np.abs(ca - cb).max() <= step * 1.01  # both round to the same decimals
            seen += 1
    assert seen > 20
