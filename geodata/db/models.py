"""Database models: the system of record for the whole hierarchy.

SQLAlchemy 2 + GeoAlchemy2. Geometries are stored in EPSG:4326 (lon/lat,
WGS84/CGCS2000) with an explicit SRID and a spatial index; polygon layers are
always MULTIPOLYGON so that imports never have to guess. Times are naive local
time of the street office (China Standard Time has no DST). ``props`` keeps
attributes an import could not map to a field.

The same models run on PostGIS and SpatiaLite; Alembic migrations create them. The base
(``Base``, ``geom``) is in :mod:`geodata.db.model_base`, the tables of computed results in
:mod:`geodata.db.computed_models`; every one is named here too.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import Mapped, mapped_column, relationship

# Re-exported: callers name every table and helper through ``models``.
from geodata.db.computed_models import DataVersion as DataVersion
from geodata.db.computed_models import IndicatorSnapshot as IndicatorSnapshot
from geodata.db.computed_models import Job as Job
from geodata.db.computed_models import ReachResult as ReachResult
from geodata.db.computed_models import ReachRun as ReachRun
from geodata.db.computed_models import StreetResult as StreetResult
from geodata.db.computed_models import WalkEdge as WalkEdge
from geodata.db.computed_models import WalkNetwork as WalkNetwork
from geodata.db.computed_models import WalkNode as WalkNode
from geodata.db.model_base import SRID as SRID
from geodata.db.model_base import Base as Base
from geodata.db.model_base import _fk, _props
from geodata.db.model_base import geom as geom


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
    "district",
    "street",
    "community",
    "grid",
    "compound",
    "gate",
    "road",
    "building",
    "household",
    "resident",
    "key_site",
    "inspection",
    "facility",
    "patrol_track",
    "hazard",
    "hazard_event",
    "staff_user",
    "audit_log",
]


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


ENTITY_TABLES += ["walk_network", "walk_edge", "reach_run", "reach_result"]  # computed_models
ENTITY_TABLES += ["submission", "household_visit", "photo"]
ENTITY_TABLES += ["indicator_snapshot", "street_result"]  # computed_models


def model_for(table: str) -> type[Base]:
    """The mapped class of ``table`` (a layer of ``gridmap.layers`` names its table).

    Parameters
    ----------
    table : str
        The table's name.

    Returns
    -------
    type
        The model class.
    """
    for mapper in Base.registry.mappers:
        if mapper.class_.__tablename__ == table:
            return mapper.class_
    raise KeyError(f"no model for table {table!r}")
