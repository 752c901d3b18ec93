"""The declarative base of every table, and the column helpers the model modules share.

Geometries are stored in EPSG:4326 with an explicit SRID and a spatial index; one naming
convention gives both backends identical constraint names.
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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
    return mapped_column(sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


def _props() -> Mapped[dict | None]:
    return mapped_column(sa.JSON, nullable=True)
