"""The walking network in the database: built from roads, gates and compounds, stored, reused.

``ensure_network(session)`` returns the stored network when the road, gate and compound
tables are unchanged since it was built (a fingerprint of their rows and geometries) and the
build options are the same; otherwise it builds a new one with ``gridmap.network`` and stores
it (nodes and edges with geometry in EPSG:4326, lengths in metres), replacing the old one.
Everything happens in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pyproj
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from geodata.db import models as m
from geodata.db.frames import STORAGE_CRS, read_frame
from gridmap import lines as L
from gridmap.crs import metric_crs
from gridmap.network import (
    BUILDER_VERSION,
    DEFAULT_GATE_LINK_M,
    DEFAULT_GATE_TOLERANCE_M,
    DEFAULT_SNAP_TOLERANCE_M,
    CompoundInputs,
    Network,
    Tolerances,
    build_network,
    vertical_layer,
)

CHUNK = 5000
SOURCE_DB = "road/gate/compound tables"


@dataclass(frozen=True)
class NetworkOptions:
    noding: str = "intersections"
    gate_tolerance_m: float = DEFAULT_GATE_TOLERANCE_M
    gate_link_m: float = DEFAULT_GATE_LINK_M
    snap_tolerance_m: float = DEFAULT_SNAP_TOLERANCE_M

    def as_dict(self) -> dict:
        """The options as stored beside the network (distances in metres).

        Returns
        -------
        dict
        """
        return {
            "noding": self.noding,
            "gate_tolerance_m": self.gate_tolerance_m,
            "gate_link_m": self.gate_link_m,
            "snap_tolerance_m": self.snap_tolerance_m,
        }


@dataclass(frozen=True)
class StoredNetwork:
    network: Network
    network_id: int | None  # None: built for one street office's run, not stored
    built: bool  # True when this call built it, False when it was reused
    built_at: datetime
    compound_ids: np.ndarray  # database id of each network compound (aligned with codes)


def _source_frames(session: Session):
    roads = read_frame(
        session,
        sa.select(
            m.Road.id,
            m.Road.code,
            m.Road.highway,
            m.Road.foot,
            m.Road.access,
            m.Compound.code.label("compound_code"),
            m.Road.props,
            m.Road.geom,
        )
        .outerjoin(m.Compound, m.Road.compound_id == m.Compound.id)
        .order_by(m.Road.id),
    )
    # Bridges and tunnels come in as kept attributes (OSM layer/bridge/tunnel columns).
    roads["layer"] = [
        vertical_layer(*(p.get(k) for k in ("layer", "bridge", "tunnel")))
        if isinstance(p, dict)
        else 0
        for p in roads["props"]
    ]
    roads = roads.drop(columns="props")
    compounds = read_frame(
        session, sa.select(m.Compound.id, m.Compound.code, m.Compound.geom).order_by(m.Compound.id)
    )
    gates = read_frame(
        session,
        sa.select(
            m.Gate.id,
            m.Gate.code,
            m.Compound.code.label("compound_code"),
            m.Gate.geom,
        )
        .outerjoin(m.Compound, m.Gate.compound_id == m.Compound.id)
        .order_by(m.Gate.id),
    )
    return roads, compounds, gates


def fingerprint(roads, compounds, gates, options: NetworkOptions) -> str:
    """A hash of every source row (attributes and geometry) and the build options.

    A stored network is reused while its fingerprint matches, rebuilt when the roads change.

    Parameters
    ----------
    roads, compounds, gates : GeoDataFrame
        The source frames as the database holds them (EPSG:4326).
    options : NetworkOptions
        The build options.

    Returns
    -------
    str
    """
    h = hashlib.sha256(
        json.dumps({**options.as_dict(), "builder": BUILDER_VERSION}, sort_keys=True).encode()
    )
    for frame, cols in (
        (roads, ["id", "code", "highway", "foot", "access", "compound_code", "layer"]),
        (compounds, ["id", "code"]),
        (gates, ["id", "code", "compound_code"]),
    ):
        h.update(str(len(frame)).encode())
        h.update(frame[cols].astype(str).to_csv(index=False).encode())
        for wkb in shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object)):
            h.update(wkb)
    return h.hexdigest()


def metric_crs_for(frame: gpd.GeoDataFrame) -> str:
    """The local UTM zone of ``frame`` (EPSG:4326), as 'EPSG:xxxxx'.

    Parameters
    ----------
    frame : GeoDataFrame
        Features in EPSG:4326.

    Returns
    -------
    str
    """
    return str(metric_crs(frame))


def build_from_frames(roads, compounds, gates, options: NetworkOptions) -> Network:
    """A Network from the road/compound/gate frames (EPSG:4326) as the database holds them.

    Parameters
    ----------
    roads, compounds, gates : GeoDataFrame
        The source frames (EPSG:4326).
    options : NetworkOptions
        Noding and the gate and snap tolerances (metres).

    Returns
    -------
    Network
        In the roads' local UTM zone.
    """
    crs = metric_crs_for(roads)
    roads_m = roads.to_crs(crs)
    return build_network(
        np.asarray(roads_m.geometry.values, dtype=object),
        crs=crs,
        highway=roads["highway"].to_numpy(object),
        foot=roads["foot"].to_numpy(object),
        access=roads["access"].to_numpy(object),
        layer=roads["layer"].to_numpy(object),
        noding=options.noding,
        compounds=CompoundInputs(
            line_compound=roads["compound_code"].to_numpy(object),
            compound_codes=compounds["code"].to_numpy(object),
            compound_geoms=np.asarray(compounds.to_crs(crs).geometry.values, dtype=object),
            gate_points=np.asarray(gates.to_crs(crs).geometry.values, dtype=object),
            gate_compound=gates["compound_code"].to_numpy(object),
            gate_codes=gates["code"].to_numpy(object),
        ),
        tolerances=Tolerances(
            gate_tolerance_m=options.gate_tolerance_m,
            gate_link_m=options.gate_link_m,
            snap_tolerance_m=options.snap_tolerance_m,
        ),
    )


def _to_storage(xy: np.ndarray, crs: str) -> np.ndarray:
    t = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _from_storage(xy: np.ndarray, crs: str) -> np.ndarray:
    t = pyproj.Transformer.from_crs(STORAGE_CRS, crs, always_xy=True)
    x, y = t.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def store_network(
    session: Session,
    net: Network,
    *,
    fp: str,
    options: NetworkOptions,
    road_ids: np.ndarray,
    compound_ids: np.ndarray,
    source: str = SOURCE_DB,
) -> int:
    """Insert ``net``, replacing every stored network.

    Parameters
    ----------
    session : Session
        The database session (committed by the caller).
    net : Network
        The network built from the database's roads.
    fp : str
        Its sources' fingerprint.
    options : NetworkOptions
        The options it was built with.
    road_ids, compound_ids : numpy.ndarray
        Database ids of the roads and compounds, in the order the network indexes them.
    source : str
        What the network was built from.

    Returns
    -------
    int
        The new network's id.
    """
    session.execute(sa.delete(m.WalkNetwork))
    gated_ids = [int(i) for i in compound_ids[net.compound_gated]]
    row = m.WalkNetwork(
        built_at=datetime.now(),
        source=source,
        crs=net.crs,
        fingerprint=fp,
        node_count=net.n_nodes,
        edge_count=net.n_edges,
        params={**options.as_dict(), "gated_compound_ids": gated_ids},
        warnings=list(net.warnings),
    )
    session.add(row)
    session.flush()
    node_ll = _to_storage(net.node_xy, net.crs)
    gate_of = dict(zip(net.gate_node.tolist(), range(len(net.gate_node)), strict=True))
    node_wkt = shapely.to_wkt(shapely.points(node_ll), rounding_precision=-1, trim=True)
    nodes = []
    for seq in range(net.n_nodes):
        g = gate_of.get(seq)
        nodes.append(
            {
                "network_id": row.id,
                "seq": seq,
                "geom": f"SRID=4326;{node_wkt[seq]}",
                "gate_code": None if g is None else str(net.gate_code[g]),
                "compound_id": None if g is None else int(compound_ids[net.gate_compound[g]]),
            }
        )
    for start in range(0, len(nodes), CHUNK):
        session.execute(sa.insert(m.WalkNode), nodes[start : start + CHUNK])
    _store_edges(session, net, row.id, road_ids=road_ids, compound_ids=compound_ids)
    return row.id


def _store_edges(
    session: Session,
    net: Network,
    network_id: int,
    *,
    road_ids: np.ndarray,
    compound_ids: np.ndarray,
) -> None:
    """Insert the network's edges (EPSG:4326) with the road and compound each comes from."""
    edge_ll = _to_storage(net.geom_xy, net.crs)
    edge_wkt = shapely.to_wkt(
        L.to_geoms(edge_ll, net.geom_offsets), rounding_precision=-1, trim=True
    )
    edges = [
        {
            "network_id": network_id,
            "seq": k,
            "u": int(net.edge_u[k]),
            "v": int(net.edge_v[k]),
            "length_m": float(net.edge_length_m[k]),
            "highway": None if net.edge_highway[k] is None else str(net.edge_highway[k])[:32],
            "road_id": int(road_ids[net.edge_source[k]]) if net.edge_source[k] >= 0 else None,
            "compound_id": int(compound_ids[net.edge_compound[k]])
            if net.edge_compound[k] >= 0
            else None,
            "geom": f"SRID=4326;{edge_wkt[k]}",
        }
        for k in range(net.n_edges)
    ]
    for start in range(0, len(edges), CHUNK):
        session.execute(sa.insert(m.WalkEdge), edges[start : start + CHUNK])


def load_network(session: Session, row: m.WalkNetwork, compounds: gpd.GeoDataFrame) -> Network:
    """The stored network ``row`` as a Network in its metric CRS.

    Parameters
    ----------
    session : Session
        The database session.
    row : WalkNetwork
        The stored network.
    compounds : GeoDataFrame
        The compounds (EPSG:4326), in the order the network indexes them.

    Returns
    -------
    Network
    """
    crs = row.crs
    nodes = read_frame(
        session,
        sa.select(m.WalkNode.seq, m.WalkNode.gate_code, m.WalkNode.compound_id, m.WalkNode.geom)
        .where(m.WalkNode.network_id == row.id)
        .order_by(m.WalkNode.seq),
    )
    edges = read_frame(
        session,
        sa.select(
            m.WalkEdge.seq,
            m.WalkEdge.u,
            m.WalkEdge.v,
            m.WalkEdge.length_m,
            m.WalkEdge.highway,
            m.WalkEdge.road_id,
            m.WalkEdge.compound_id,
            m.WalkEdge.geom,
        )
        .where(m.WalkEdge.network_id == row.id)
        .order_by(m.WalkEdge.seq),
    )
    node_xy = _from_storage(
        shapely.get_coordinates(np.asarray(nodes.geometry.values, dtype=object)), crs
    )
    xy, offsets = L.from_geoms(np.asarray(edges.geometry.values, dtype=object))
    xy = _from_storage(xy, crs)
    comp_ids = compounds["id"].to_numpy()
    comp_index = {int(i): k for k, i in enumerate(comp_ids)}
    gated_ids = set((row.params or {}).get("gated_compound_ids", []))
    gate_rows = nodes[nodes["gate_code"].notna()]

    def index_of(ids) -> np.ndarray:
        return np.array(
            [comp_index.get(int(i), -1) if i is not None and i == i else -1 for i in ids],
            dtype=np.int64,
        )

    return Network(
        crs=crs,
        node_xy=node_xy,
        edge_u=edges["u"].to_numpy(np.int64),
        edge_v=edges["v"].to_numpy(np.int64),
        edge_length_m=edges["length_m"].to_numpy(float),
        edge_compound=index_of(edges["compound_id"]),
        edge_highway=edges["highway"].to_numpy(object),
        # Loaded networks name the source road by its database id.
        edge_source=edges["road_id"].fillna(-1).to_numpy(np.int64),
        geom_offsets=offsets,
        geom_xy=xy,
        compound_code=compounds["code"].to_numpy(object),
        compound_geom=np.asarray(compounds.to_crs(crs).geometry.values, dtype=object),
        compound_gated=np.array([int(i) in gated_ids for i in comp_ids], dtype=bool),
        gate_node=gate_rows["seq"].to_numpy(np.int64),
        gate_compound=index_of(gate_rows["compound_id"]),
        gate_code=gate_rows["gate_code"].to_numpy(object),
        warnings=tuple(row.warnings or ()),
    )


def ensure_network(
    session: Session, *, options: NetworkOptions | None = None, rebuild: bool = False
) -> StoredNetwork | None:
    """The stored network if still current, else a freshly built and stored one.

    Parameters
    ----------
    session : Session
        The database session.
    options : NetworkOptions, optional
        The build options (default: the standard ones).
    rebuild : bool
        Build anew even when the stored network is current.

    Returns
    -------
    StoredNetwork or None
        None when the database holds no roads (callers fall back to the estimate).
    """
    options = options or NetworkOptions()
    roads, compounds, gates = _source_frames(session)
    if roads.empty:
        return None
    fp = fingerprint(roads, compounds, gates, options)
    row = session.scalars(sa.select(m.WalkNetwork).order_by(m.WalkNetwork.id.desc())).first()
    comp_ids = compounds["id"].to_numpy()
    if session.info.get("street_view"):  # one street office's roads: never replace the city's
        return StoredNetwork(
            build_from_frames(roads, compounds, gates, options),
            None,
            True,
            datetime.now(),
            comp_ids,
        )
    if row is not None and row.fingerprint == fp and not rebuild:
        return StoredNetwork(
            load_network(session, row, compounds), row.id, False, row.built_at, comp_ids
        )
    net = build_from_frames(roads, compounds, gates, options)
    network_id = store_network(
        session, net, fp=fp, options=options, road_ids=roads["id"].to_numpy(), compound_ids=comp_ids
    )
    # The stored form is what later runs will load: use it now too, so that a run on a
    # fresh network and a run on the reused one give identical numbers.
    stored = session.get_one(m.WalkNetwork, network_id)
    return StoredNetwork(
        load_network(session, stored, compounds), network_id, True, stored.built_at, comp_ids
    )


def network_info(session: Session) -> dict | None:
    """What the stored network is (for `gridmap network info` and the planner page).

    Parameters
    ----------
    session : Session
        The database session.

    Returns
    -------
    dict or None
        Id, build time, source, CRS, node and edge counts, options and warnings; None when
        no network is stored.
    """
    row = session.scalars(sa.select(m.WalkNetwork).order_by(m.WalkNetwork.id.desc())).first()
    if row is None:
        return None
    return {
        "id": row.id,
        "built_at": row.built_at.isoformat(timespec="seconds"),
        "source": row.source,
        "crs": row.crs,
        "nodes": row.node_count,
        "edges": row.edge_count,
        "params": row.params,
        "warnings": row.warnings or [],
    }
