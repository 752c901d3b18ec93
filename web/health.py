"""/healthz: is the database reachable, spatial, and at the latest schema?"""

from __future__ import annotations

import sqlalchemy as sa

from geodata.db.migrate import current_revision, head_revision
from web.db import engine


def health() -> dict:
    eng = engine()
    report = {"status": "ok", "database": {"backend": eng.dialect.name}}
    try:
        with eng.connect() as conn:
            version_sql = (
                "SELECT spatialite_version()"
                if eng.dialect.name == "sqlite"
                else "SELECT postgis_lib_version()"
            )
            report["database"]["spatial"] = conn.execute(sa.text(version_sql)).scalar_one()
        current, head = current_revision(eng), head_revision(eng)
        report["database"].update(revision=current, head=head, status="ok")
        if current != head:
            report["status"] = "degraded"
            report["database"]["status"] = "schema not at head: run `gridmap db upgrade`"
    except Exception as exc:  # health must report, not raise
        report["status"] = "error"
        report["database"].update(status="unreachable", error=str(exc).splitlines()[0])
    return report
