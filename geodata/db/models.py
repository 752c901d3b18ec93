"""Database models: the system of record for the whole hierarchy.

SQLAlchemy 2 + GeoAlchemy2. Geometries are stored in EPSG:4326 (lon/lat,
WGS84/CGCS2000) with an explicit SRID and a spatial index; polygon layers are
always MULTIPOLYGON so that imports never have to guess. Times are naive local
time of the street office (China Standard Time has no DST). ``props`` keeps
attributes an import could not map to a field.

The same models run on PostGIS and SpatiaLite; Alembic migrations create them.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SRID = 4326


def geom(kind: str) -> Geometry:
    """A geometry column type in the storage SRID (EPSG:4326) with a spatial index.

    Parameters
    ----------
    kind : str
        ``POINT``, ``LINESTRING``, ``POLYGON``, ``MULTIPOLYGON`` ...

    Returns
    -------
    geoalchemy2.Geometry
    """
    return Geometry(geometry_type=kind, srid=SRID, spatial_index=True)


class Base(DeclarativeBase):
    # One naming convention so both backends get identical constraint names
    # and autogenerate has nothing to compare differently.
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Mapped[int]:
    return mapped_column(
        sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True
    )


def _props() -> Mapped[dict | None]:
    return mapped_column(sa.JSON, nullable=True)


# --- administrative hierarchy ------------------------------------------------
class District(Base):
    __tablename__ = "district"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=True)
    props: Mapped[dict | None] = _props()


class Street(Base):
    """街道/乡镇: a street office."""

    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    district_id: Mapped[int | None] = _fk("district.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=True)
    props: Mapped[dict | None] = _props()
    communities: Mapped[list[Community]] = relationship(back_populates="street")


class Community(Base):
    """社区/村."""

    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    street_id: Mapped[int | None] = _fk("street.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    props: Mapped[dict | None] = _props()
    street: Mapped[Street | None] = relationship(back_populates="communities")
    grids: Mapped[list[Grid]] = relationship(back_populates="community")


class Grid(Base):
    """网格: a community grid (household-based) or a 10,000 m2 unit grid (GB/T 30428.1)."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16), default="community")
    community_id: Mapped[int | None] = _fk("community.id", nullable=True, ondelete="SET NULL")
    leader: Mapped[str | None] = mapped_column(sa.String(50))
    leader_phone: Mapped[str | None] = mapped_column(sa.String(20))
    target_households: Mapped[int | None] = mapped_column(sa.Integer)
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    props: Mapped[dict | None] = _props()
    community: Mapped[Community | None] = relationship(back_populates="grids")


class Compound(Base):
    """小区/院落, usually gated: residents leave only through its gates."""

    __tablename__ = "compound"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    community_id: Mapped[int | None] = _fk("community.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    props: Mapped[dict | None] = _props()


class Gate(Base):
    """出入口 of a compound."""

    __tablename__ = "gate"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    compound_id: Mapped[int | None] = _fk("compound.id", nullable=True)
    name: Mapped[str | None] = mapped_column(sa.String(50))
    kind: Mapped[str] = mapped_column(sa.String(16), default="both")
    geom = mapped_column(geom("POINT"), nullable=False)
    props: Mapped[dict | None] = _props()


class Road(Base):
    """A street or path line: the walking network and patrol coverage are built on these."""

    __tablename__ = "road"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    highway: Mapped[str] = mapped_column(sa.String(32))
    foot: Mapped[str | None] = mapped_column(sa.String(16))
    access: Mapped[str | None] = mapped_column(sa.String(16))
    compound_id: Mapped[int | None] = _fk("compound.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("LINESTRING"), nullable=False)
    props: Mapped[dict | None] = _props()


class Building(Base):
    """楼栋. ``grid_id`` is the grid holding it: households inherit their grid from here."""

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(100))
    address: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    floors: Mapped[int | None] = mapped_column(sa.Integer)
    use: Mapped[str] = mapped_column(sa.String(16), default="residential")
    compound_id: Mapped[int | None] = _fk("compound.id", nullable=True, ondelete="SET NULL")
    grid_id: Mapped[int | None] = _fk("grid.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("MULTIPOLYGON"), nullable=False)
    entrance = mapped_column(
        Geometry(geometry_type="POINT", srid=SRID, spatial_index=False), nullable=True
    )
    props: Mapped[dict | None] = _props()


# --- people (sensitive) -------------------------------------------------------
class Household(Base):
    """户: one dwelling's household (一户一档)."""

    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    building_id: Mapped[int] = _fk("building.id")
    unit: Mapped[str | None] = mapped_column(sa.String(16))
    floor: Mapped[int | None] = mapped_column(sa.Integer)
    room: Mapped[str | None] = mapped_column(sa.String(16))
    size: Mapped[int] = mapped_column(sa.Integer, default=1)
    tags: Mapped[list | None] = mapped_column(sa.JSON)
    props: Mapped[dict | None] = _props()


class Resident(Base):
    """人: name, ID number and phone leave the repository masked unless allowed."""

    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = _fk("household.id")
    name: Mapped[str] = mapped_column(sa.String(50))
    id_number: Mapped[str | None] = mapped_column(sa.String(18), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    birth_year: Mapped[int | None] = mapped_column(sa.Integer)
    sex: Mapped[str | None] = mapped_column(sa.String(1))
    tags: Mapped[list | None] = mapped_column(sa.JSON)
    props: Mapped[dict | None] = _props()


# --- key sites, facilities -----------------------------------------------------
class KeySite(Base):
    """重点场所 with its inspection interval (from the category, editable per site)."""

    __tablename__ = "key_site"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(200))
    inspection_interval_days: Mapped[int] = mapped_column(sa.Integer)
    grid_id: Mapped[int | None] = _fk("grid.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("POINT"), nullable=False)
    props: Mapped[dict | None] = _props()


class Inspection(Base):
    __tablename__ = "inspection"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = _fk("key_site.id")
    inspected_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    inspector: Mapped[str | None] = mapped_column(sa.String(50))
    result: Mapped[str] = mapped_column(sa.String(16), default="ok")
    notes: Mapped[str | None] = mapped_column(sa.Text)
    photos: Mapped[list | None] = mapped_column(sa.JSON)


class Facility(Base):
    """Service facility of the life circles (GB 50180-2018 categories)."""

    __tablename__ = "facility"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    geom = mapped_column(geom("POINT"), nullable=False)
    props: Mapped[dict | None] = _props()


# --- patrols, hazards ---------------------------------------------------------
class PatrolTrack(Base):
    """One patrol: a line with one timestamp per vertex (seconds after ``started_at``)."""

    __tablename__ = "patrol_track"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    patroller: Mapped[str] = mapped_column(sa.String(50), index=True)
    grid_id: Mapped[int | None] = _fk("grid.id", nullable=True, ondelete="SET NULL")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(sa.DateTime)
    times: Mapped[list] = mapped_column(sa.JSON)
    geom = mapped_column(geom("LINESTRING"), nullable=False)
    props: Mapped[dict | None] = _props()


class Hazard(Base):
    """隐患/案件: found -> filed -> assigned -> handled -> re-inspected -> closed."""

    __tablename__ = "hazard"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    category: Mapped[str] = mapped_column(sa.String(32))
    severity: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    description: Mapped[str | None] = mapped_column(sa.Text)
    found_at: Mapped[datetime] = mapped_column(sa.DateTime)
    deadline: Mapped[datetime | None] = mapped_column(sa.DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    reporter: Mapped[str | None] = mapped_column(sa.String(50))
    responsible: Mapped[str | None] = mapped_column(sa.String(50))
    grid_id: Mapped[int | None] = _fk("grid.id", nullable=True, ondelete="SET NULL")
    geom = mapped_column(geom("POINT"), nullable=False)
    props: Mapped[dict | None] = _props()
    events: Mapped[list[HazardEvent]] = relationship(
        back_populates="hazard", order_by="HazardEvent.at", cascade="all, delete-orphan"
    )


class HazardEvent(Base):
    """One step in a hazard's history; every change of status writes one."""

    __tablename__ = "hazard_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = _fk("hazard.id")
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    actor: Mapped[str | None] = mapped_column(sa.String(50))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    hazard: Mapped[Hazard] = relationship(back_populates="events")


# --- staff, scope, audit --------------------------------------------------------
user_street = sa.Table(
    "user_street",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("street_id", sa.ForeignKey("street.id", ondelete="CASCADE"), primary_key=True),
)
user_community = sa.Table(
    "user_community",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("community_id", sa.ForeignKey("community.id", ondelete="CASCADE"), primary_key=True),
)
user_grid = sa.Table(
    "user_grid",
    Base.metadata,
    sa.Column("user_id", sa.ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("grid_id", sa.ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True),
)


class StaffUser(Base):
    """A person who logs in. Role from vocab.ROLES; areas below limit what they see."""

    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(50), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(50))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="zh")
    basemap: Mapped[str] = mapped_column(sa.String(16), default="none")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)
    streets: Mapped[list[Street]] = relationship(secondary=user_street)
    communities: Mapped[list[Community]] = relationship(secondary=user_community)
    grids: Mapped[list[Grid]] = relationship(secondary=user_grid)


class ApiToken(Base):
    """A personal API token: other systems (QGIS, GDAL, scripts) act as its user.

    Only a SHA-256 of the token is kept (tokens are 256 random bits, so a fast hash is
    enough); the token itself is shown once when it is made.
    """

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("staff_user.id")
    name: Mapped[str] = mapped_column(sa.String(50))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    user: Mapped[StaffUser] = relationship()


class AuditLog(Base):
    """Every view or export of personal data, and every change, leaves a row here."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now, index=True)
    username: Mapped[str | None] = mapped_column(sa.String(50), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    target: Mapped[str | None] = mapped_column(sa.String(200))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)


class StaffSession(Base):
    """A logged-in browser. The cookie carries a random token; this row (its SHA-256) ends
    at logout, on a password change, on an administrator's "log out everywhere", and by
    the idle and absolute timeouts."""

    __tablename__ = "staff_session"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = _fk("staff_user.id")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime)
    last_seen: Mapped[datetime] = mapped_column(sa.DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    address: Mapped[str | None] = mapped_column(sa.String(64))


class LoginFailure(Base):
    """A failed login, counted per account and per address for throttling."""

    __tablename__ = "login_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    username: Mapped[str] = mapped_column(sa.String(50), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(64), index=True)


ENTITY_TABLES = [
    "district", "street", "community", "grid", "compound", "gate", "road", "building",
    "household", "resident", "key_site", "inspection", "facility", "patrol_track",
    "hazard", "hazard_event", "staff_user", "audit_log",
]


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


ENTITY_TABLES += ["walk_network", "walk_edge", "reach_run", "reach_result"]


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


# --- the field app: queued submissions, household visits, photos ------------------------
class Submission(Base):
    """One thing sent from the field app (a report, an inspection, a visit, a patrol fix),
    under the id the phone gave it: a second delivery of the same id is answered from here
    and changes nothing. ``ref`` groups the fixes of one patrol."""

    __tablename__ = "submission"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    username: Mapped[str] = mapped_column(sa.String(50), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    ref: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    made_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)
    payload: Mapped[dict | None] = mapped_column(sa.JSON)
    result: Mapped[dict | None] = mapped_column(sa.JSON)


class HouseholdVisit(Base):
    """A visit to (or call with) a household the grid looks after (走访)."""

    __tablename__ = "household_visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = _fk("household.id")
    visited_at: Mapped[datetime] = mapped_column(sa.DateTime, index=True)
    visitor: Mapped[str | None] = mapped_column(sa.String(50))
    kind: Mapped[str] = mapped_column(sa.String(16), default="visit")
    notes: Mapped[str | None] = mapped_column(sa.Text)


class Photo(Base):
    """A photo kept as evidence: re-encoded JPEG under GRIDMAP_HOME (``path`` is relative to
    it), only the EXIF time and position kept, attached to a hazard, a hazard step or an
    inspection (``owner`` + ``owner_id``)."""

    __tablename__ = "photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    path: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    bytes: Mapped[int] = mapped_column(sa.Integer)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    taken_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    uploaded_by: Mapped[str | None] = mapped_column(sa.String(50))
    uploaded_at: Mapped[datetime] = mapped_column(sa.DateTime, default=datetime.now)


ENTITY_TABLES += ["submission", "household_visit", "photo"]


# --- indicator snapshots -----------------------------------------------------------
class IndicatorSnapshot(Base):
    """One indicator value of a closed period (指标考核 归档): what was reported upward.

    Closing a period stores every indicator at every level and area; the period then
    answers from these rows, and later corrections of the data are listed beside them.
    """

    __tablename__ = "indicator_snapshot"
    __table_args__ = (sa.UniqueConstraint("period_start", "period_end", "indicator", "level",
                                          "area", name="uq_indicator_snapshot_row"),)
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


ENTITY_TABLES += ["indicator_snapshot"]


# --- results of city-wide runs, per street office ------------------------------------------
class StreetResult(Base):
    """One row of a city-wide run (`gridmap run ... --all-streets`): a grid's (or a
    community's, a street's) figures of one analysis and period, written by the task that
    computed its street office. A rerun of the same street, analysis and period replaces them."""

    __tablename__ = "street_result"
    __table_args__ = (sa.Index("ix_street_result_run_key", "analysis", "period_start",
                               "period_end", "street_code"),)
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


ENTITY_TABLES += ["street_result"]


# --- data version ------------------------------------------------------------------
class DataVersion(Base):
    """A counter per family of tables, bumped by a database trigger on every write to them
    (migration 0008): computed figures are kept keyed by these counters, so a change from
    any process or tool is seen at the next request. Never cleared with the data."""

    __tablename__ = "data_version"
    family: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger)


def model_for(table: str) -> type[Base]:
    """The mapped class of ``table`` (a layer of ``gridmap.layers`` names its table)."""
    for mapper in Base.registry.mappers:
        if mapper.class_.__tablename__ == table:
            return mapper.class_
    raise KeyError(f"no model for table {table!r}")
