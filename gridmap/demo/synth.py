"""A synthetic street office (示例街道, Haidian, Beijing): seeded, offline, all fake.

``build_synthetic_city(seed)`` returns a :class:`~gridmap.demo.city.City` whose
structure mimics a real street office closely enough to exercise every map and
report, while every name, person and number in it is invented.

Everything is laid out in a local metric frame (metres east/north of the anchor in
CGCS2000 / 3-degree Gauss-Kruger CM 117E, EPSG:4548) and converted to EPSG:4326 once,
at the end:

1. roads: bent arterials (their faces are the communities) and jittered branch roads,
   noded with ``union_all``, stub ends pruned; blocks are the faces of that network;
2. gated compounds inset from the kerb, internal lanes from a hub to gates that are
   vertices of the outline, one connector per gate to the nearest street: the only
   way into a compound, as in real 封闭小区;
3. buildings in south-facing rows inside compounds; households per unit x floor x
   door, so counts follow footprint x floors;
4. grids: contiguous groups of blocks sized by households inside each community, so
   grid and community edges are road centre lines;
5. residents (vectorised: household templates -> members -> tags, ID numbers with a
   valid GB 11643 check character), facilities with deliberate gaps, key sites with
   inspection histories, hazards through the case workflow, and four weeks of GPS
   patrol tracks that walk the road graph.

Conventions: every timestamp lies before 00:00 of ``DEMO_TODAY`` (the demo is
"viewed" that morning); ages are ``REFERENCE_YEAR - birth_year``; vacant dwellings
have size 0 and no residents; migrants' ID numbers carry their home county's region
code, everybody else's 110108; children under 14 have no phone; the district row holds
only this street office's outline (the rest of Haidian is not modelled). Hazard
history steps carry ``datetime`` values, like ``found_at``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point

from gridmap.demo.city import City
from gridmap.demo.synth_activity import (
    facility_rows,
    hazard_rows,
    inspection_rows,
    key_site_rows,
    patrol_rows,
    wgs_frame,
)
from gridmap.demo.synth_common import (
    ANCHOR_LONLAT,
    DEMO_TODAY,
    DISTRICT_CODE,
    DISTRICT_NAME,
    LABEL,
    METRIC_CRS,
    REFERENCE_YEAR,
    STREET_CODE,
    STREET_NAME,
    multi,
    reading_order,
)
from gridmap.demo.synth_people import household_rows, population
from gridmap.demo.synth_places import (
    Street,
    codes_and_addresses,
    group_grids,
    lay_compounds_and_buildings,
    lay_street_network,
    lay_walk_network,
)

# Re-exported: the street's fixed facts and its reading order, as callers and tests read them.
__all__ = [
    "DEMO_TODAY",
    "DISTRICT_CODE",
    "METRIC_CRS",
    "REFERENCE_YEAR",
    "STREET_CODE",
    "build_synthetic_city",
    "reading_order",
]


def build_synthetic_city(seed: int = 7) -> City:
    """A complete synthetic street office (see the module docstring).

    Pure, offline and deterministic for a given ``seed``; every frame in EPSG:4326.

    Parameters
    ----------
    seed : int
        Seed of the random generator every draw comes from.

    Returns
    -------
    City
        The street office's frames.
    """
    rng = np.random.default_rng(seed)
    st = Street()
    lay_street_network(st, rng)
    lay_compounds_and_buildings(st, rng)
    lay_walk_network(st)
    group_grids(st, rng)
    codes_and_addresses(st, rng)

    hh = household_rows(st.bld)
    hh_part, res = population(len(hh), rng)
    hh["size"] = hh_part["size"].to_numpy()
    hh["tags"] = hh_part["tags"].to_numpy()
    res.insert(0, "household_code", hh["code"].to_numpy()[res.pop("household").to_numpy()])

    fac, fac_geoms = facility_rows(st, rng)
    ks, ks_geoms = key_site_rows(st, fac, fac_geoms, rng)
    inspections = inspection_rows(st, ks, rng)
    hz, hz_geoms = hazard_rows(st, rng)
    tracks, track_geoms = patrol_rows(st, rng)

    origin = np.array(
        Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True).transform(*ANCHOR_LONLAT)
    )
    b = st.bld
    return City(
        label=LABEL,
        anchor=ANCHOR_LONLAT,
        **_area_frames(st, origin),
        **_compound_frames(st, origin),
        buildings=wgs_frame(
            {
                c: b[c].to_numpy()
                for c in ("code", "name", "address", "floors", "use", "compound_code", "grid_code")
            },
            b["geometry"].to_numpy(),
            origin,
        ),
        households=hh[["code", "building_code", "unit", "floor", "room", "size", "tags"]],
        residents=res,
        facilities=wgs_frame(
            {c: fac[c].to_numpy() for c in ("code", "name", "category", "capacity")},
            fac_geoms,
            origin,
        ),
        key_sites=wgs_frame(
            {
                c: ks[c].to_numpy()
                for c in (
                    "code",
                    "name",
                    "category",
                    "address",
                    "grid_code",
                    "inspection_interval_days",
                )
            },
            ks_geoms,
            origin,
        ),
        inspections=inspections,
        hazards=wgs_frame({c: hz[c].to_numpy() for c in hz.columns}, hz_geoms, origin),
        patrol_tracks=wgs_frame(
            {c: tracks[c].to_numpy() for c in tracks.columns}, track_geoms, origin
        ),
    )


def _area_frames(st: Street, origin) -> dict:
    """The district, street, community and grid frames (EPSG:4326) by ``City`` field."""
    whole = multi(shapely.union_all(st.comm_polys))
    return {
        "districts": wgs_frame({"code": [DISTRICT_CODE], "name": [DISTRICT_NAME]}, [whole], origin),
        "streets": wgs_frame(
            {"code": [STREET_CODE], "name": [STREET_NAME], "district_code": [DISTRICT_CODE]},
            [whole],
            origin,
        ),
        "communities": wgs_frame(
            {"code": st.comm_codes, "name": st.comm_names, "street_code": STREET_CODE},
            [multi(p) for p in st.comm_polys],
            origin,
        ),
        "grids": wgs_frame(
            {
                "code": st.grid_code,
                "name": st.grid_name,
                "community_code": np.array(st.comm_codes, dtype=object)[st.grid_comm],
                "kind": "community",
                "leader": st.leaders,
                "leader_phone": st.leader_phone,
                "target_households": st.target_households,
            },
            [multi(p) for p in st.grid_polys],
            origin,
        ),
    }


def _compound_frames(st: Street, origin) -> dict:
    """The compound, gate and road frames (EPSG:4326) by ``City`` field."""
    comp_code = st.comp_code
    rr = st.road_rows
    gate_seq: defaultdict[int, int] = defaultdict(int)
    gate_codes = []
    for g in st.gates:
        gate_seq[g["compound"]] += 1
        gate_codes.append(f"{comp_code[g['compound']]}G{gate_seq[g['compound']]}")
    return {
        "compounds": wgs_frame(
            {
                "code": comp_code,
                "name": st.comp_name,
                "community_code": np.array(st.comm_codes, dtype=object)[
                    st.compounds["community"].to_numpy()
                ],
            },
            [multi(p) for p in st.compounds["geometry"]],
            origin,
        ),
        "gates": wgs_frame(
            {
                "code": gate_codes,
                "compound_code": [comp_code[g["compound"]] for g in st.gates],
                "name": [g["name"] for g in st.gates],
                "kind": [g["kind"] for g in st.gates],
            },
            [Point(g["xy"]) for g in st.gates],
            origin,
        ),
        "roads": wgs_frame(
            {
                "code": [f"{STREET_CODE}R{i + 1:05d}" for i in range(len(rr))],
                "name": [r["name"] for r in rr],
                "highway": [r["highway"] for r in rr],
                "foot": [r["foot"] for r in rr],
                "access": [r["access"] for r in rr],
                "compound_code": [
                    comp_code[r["compound"]] if r["compound"] >= 0 else None for r in rr
                ],
            },
            [LineString(r["coords"]) for r in rr],
            origin,
        ),
    }
