"""Tables of what the system computes, not what people record: walking networks, reach
runs and their results, background jobs, indicator snapshots, results of city-wide runs and
the data version counters. Named through :mod:`geodata.db.models` like every table.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from geodata.db.model_base import Base, _fk, geom


# --- walking network and reachability runs -------------------------------------------
class WalkNetwork(Base):
    """A walking network built from the road, gate and compound tables, kept for reuse.

    ``fingerprint`` summarises the source tables when it was built; a different one means
    the roads changed and the network is rebuilt. ``crs`` is the metric CRS lengths are in.
    """

    __tablename__ = "walk_network"
    id: Mapped[int] = mapped_column(primary_key=True)
    built_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)
    source: Mapped[str] = mapped_column(sa.String(200))
    crs: Mapped[str] = mapped_column(sa.String(32))
    fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    node_count: Mapped[int] = mapped_column(sa.Integer)
    edge_count: Mapped[int] = mapped_column(sa.Integer)
    params: Mapped[dict | None] = mapped_column(sa.JSON)
    warnings: Mapped[list | None] = mapped_column(sa.JSON)


class WalkNode(Base):
    """A node of a stored network; ``seq`` is its index in the graph. Gates name theirs."""

    __tablename__ = "walk_node"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = _fk("walk_network.id")
    seq: Mapped[int] = mapped_column(sa.Integer)
    gate_code: Mapped[str | None] = mapped_column(sa.String(48))
    compound_id: Mapped[int | None] = _fk("compound.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("POINT"), nullable=False)


class WalkEdge(Base):
    """An edge of a stored network: nodes ``u``/``v`` (node seq), length along ``geom`` in
    metres, the road it came from, and the compound it is an internal path of (if any)."""

    __tablename__ = "walk_edge"
    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = _fk("walk_network.id")
    seq: Mapped[int] = mapped_column(sa.Integer)
    u: Mapped[int] = mapped_column(sa.Integer)
    v: Mapped[int] = mapped_column(sa.Integer)
    length_m: Mapped[float] = mapped_column(sa.Float)
    highway: Mapped[str | None] = mapped_column(sa.String(32))
    road_id: Mapped[int | None] = _fk("road.id", nullable=True, ondelete="SET NULL")
    compound_id: Mapped[int | None] = _fk("compound.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("LINESTRING"), nullable=False)


class ReachRun(Base):
    """One reachability computation with its parameters (speed, cutoff, method, rules)."""

    __tablename__ = "reach_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now, index=True)
    created_by: Mapped[str | None] = mapped_column(sa.String(50))
    method: Mapped[str] = mapped_column(sa.String(16))
    speed_kmh: Mapped[float] = mapped_column(sa.Float)
    max_distance_m: Mapped[float | None] = mapped_column(sa.Float)
    detour_factor: Mapped[float | None] = mapped_column(sa.Float)
    network_id: Mapped[int | None] = _fk("walk_network.id", nullable=True, ondelete="SET NULL")
    categories: Mapped[list] = mapped_column(sa.JSON)
    params: Mapped[dict | None] = mapped_column(sa.JSON)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)


class ReachResult(Base):
    """Per building and category: distance to the nearest facility (NULL beyond the cutoff),
    minutes at the run's speed, that facility, and how the building joined the network."""

    __tablename__ = "reach_result"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = _fk("reach_run.id")
    building_id: Mapped[int] = _fk("building.id")
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    distance_m: Mapped[float | None] = mapped_column(sa.Float)
    minutes: Mapped[float | None] = mapped_column(sa.Float)
    facility_id: Mapped[int | None] = _fk("facility.id", nullable=True, ondelete="SET NULL")
    snap: Mapped[str] = mapped_column(sa.String(16))


class Job(Base):
    """A long run (an import check or write) as a row, so that any server process can show
    it and a restart can say it was interrupted. ``state``: checking | ready | writing |
    done | failed | interrupted; ``result`` is the report when there is one."""

    __tablename__ = "job"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    owner: Mapped[str] = mapped_column(sa.String(50), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    layer: Mapped[str | None] = mapped_column(sa.String(40))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    stage: Mapped[str | None] = mapped_column(sa.String(20))
    done: Mapped[int] = mapped_column(sa.Integer, default=0)
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str] = mapped_column(sa.String(100))
    pid: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)


# --- indicator snapshots -----------------------------------------------------------
class IndicatorSnapshot(Base):
    """One indicator value of a closed period (指标考核 归档): what was reported upward.

    Closing a period stores every indicator at every level and area; the period then
    answers from these rows, and later corrections of the data are listed beside them.
    """

    __tablename__ = "indicator_snapshot"
    __table_args__ = (
        sa.UniqueConstraint(
            "period_start",
            "period_end",
            "indicator",
            "level",
            "area",
            name="uq_indicator_snapshot_row",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    period_end: Mapped[datetime] = mapped_column(sa.DateTime)
    indicator: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(16))
    area: Mapped[str] = mapped_column(sa.String(40))
    value: Mapped[float | None] = mapped_column(sa.Float)
    status: Mapped[str] = mapped_column(sa.String(16))
    row: Mapped[dict] = mapped_column(sa.JSON)  # the whole reported row (name, target, figures...)
    closed_at: Mapped[datetime] = mapped_column(sa.DateTime)
    closed_by: Mapped[str | None] = mapped_column(sa.String(50))


# --- results of city-wide runs, per street office ------------------------------------------
class StreetResult(Base):
    """One row of a city-wide run (`gridmap run ... --all-streets`): a grid's (or a
    community's, a street's) figures of one analysis and period, written by the task that
    computed its street office. A rerun of the same street, analysis and period replaces them."""

    __tablename__ = "street_result"
    __table_args__ = (
        sa.Index(
            "ix_street_result_run_key", "analysis", "period_start", "period_end", "street_code"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(sa.String(32), index=True)  # the job row of the run
    analysis: Mapped[str] = mapped_column(sa.String(20))
    period_start: Mapped[datetime] = mapped_column(sa.DateTime)
    period_end: Mapped[datetime] = mapped_column(sa.DateTime)
    street_code: Mapped[str] = mapped_column(sa.String(20))
    level: Mapped[str] = mapped_column(sa.String(16))
    area: Mapped[str] = mapped_column(sa.String(64))
    values: Mapped[dict] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(sa.DateTime)


# --- data version ------------------------------------------------------------------
class DataVersion(Base):
    """A counter per family of tables, bumped by a database trigger on every write to them
    (migration 0008): computed figures are kept keyed by these counters, so a change from
    any process or tool is seen at the next request. Never cleared with the data."""

    __tablename__ = "data_version"
    family: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)
