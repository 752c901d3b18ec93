"""指标考核: the indicators per street, community and grid; JSON, Excel and the A4 print view.

    GET /indicators?period=&level=         the page (a table per level)
    GET /indicators/print?period=          the A4 print view handed upward
    GET /indicators/download.xlsx?period=  the Excel workbook (audited)
    GET /api/indicators?level=&period=     JSON: the same rows as `gridmap indicators --json`

Every figure comes from geodata.db.indicators.indicator_report (all data; the viewer's
areas only choose rows), so the page, the download, the API and the command line agree.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, render_template, request

from geodata.db import repo
from geodata.db.indicators import indicator_report, resolve_period
from geodata.indicator_export import indicators_xlsx, status_text
from gridmap.display import show
from web.db import db_session

bp = Blueprint("indicators", __name__)
LEVELS = ("street", "community", "grid")


def _lang() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh")


def _report(*, corrections: bool = False) -> dict:
    level = request.args.get("level") or None
    return indicator_report(db_session(), g.requester,
                            period=resolve_period(request.args.get("period") or None),
                            level=level, lang=_lang(), corrections=corrections)


def _tables(report: dict) -> list[dict]:
    out = []
    for level in LEVELS:
        rows = [dict(r, shown=show(r["value"]), result=status_text(r))
                for r in report["indicators"] if r["level"] == level]
        if rows:
            out.append({"level": level, "rows": rows})
    return out


@bp.get("/api/indicators")
def api_indicators():
    return jsonify(_report(corrections=request.args.get("corrections") == "1"))


@bp.get("/indicators")
def indicators_page():
    report = _report(corrections=request.args.get("corrections") == "1")
    return render_template("indicators/index.html", report=report, tables=_tables(report),
                           args=request.args, street=repo.street_summary(db_session()))


@bp.get("/indicators/print")
def indicators_print():
    report = _report()
    return render_template("indicators/print.html", report=report, tables=_tables(report),
                           street=repo.street_summary(db_session()))


@bp.get("/indicators/download.xlsx")
def indicators_download():
    report = _report()
    repo.audit(db_session(), g.requester, "export_indicators", report["period"]["label"],
               {"rows": len(report["indicators"])})
    name = f"indicators-{report['period']['label'].replace('/', '_')}.xlsx"
    return Response(indicators_xlsx(report),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
