"""My grid: the page a grid leader opens every morning, and its printable A4 report."""

from __future__ import annotations

import math
from datetime import datetime

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from geodata.db import mygrid, repo
from gridmap import field, vocab
from gridmap.maps.grid import grid_map, grid_svg, svg_scale_m_per_mm
from web.db import db_session
from web.i18n import current_lang
from web.maps import render_map
from web.pages import _focus

bp = Blueprint("grid", __name__, url_prefix="/grid")


@bp.route("/")
def my_grid():
    """A user with one grid goes straight to it; others choose from their grids."""
    session = db_session()
    grids = repo.visible_grids_frame(session, g.requester)
    mine = [gr.code for gr in g.user.grids]
    if len(mine) == 1:
        return redirect(url_for("grid.grid_page", code=mine[0]))
    return render_template(
        "grid/choose.html", grids=grids.drop(columns="geometry").to_dict("records")
    )


def _labels(lang: str) -> dict:
    def terms(ts):
        return vocab.labels(ts, lang)

    return {
        "hh_tags": terms(vocab.HOUSEHOLD_TAGS),
        "res_tags": terms(vocab.RESIDENT_TAGS),
        "sites": vocab.labels(vocab.KEY_SITE_CATEGORIES, lang),
        "status": terms(vocab.HAZARD_STATUSES),
        "category": terms(vocab.HAZARD_CATEGORIES),
        "severity": terms(vocab.HAZARD_SEVERITIES),
        "uses": terms(vocab.BUILDING_USES),
        "actions": {
            "file": _("file"),
            "assign": _("assign"),
            "handle": _("record handling"),
            "reinspect": _("re-inspect"),
            "reinspect_fail": _("re-inspect"),
            "close": _("close"),
            "dismiss": _("dismiss"),
        },
    }


def field_rules() -> dict:
    """The installation's field rules: its own file (GRIDMAP_FIELD_RULES) over the packaged."""
    return mygrid.field_rules(current_app.config["SETTINGS"].field_rules)


def todo_text(item, labels: dict) -> str:
    """One to-do line in the user's language."""
    if item.kind == "hazard_overdue":
        return _(
            "Hazard %(code)s (%(cat)s) is %(n)s days overdue",
            code=item.code,
            cat=labels["category"].get(item.name, item.name),
            n=f"{item.days:.0f}",
        )
    if item.kind == "hazard_action":
        acts = "、".join(dict.fromkeys(labels["actions"].get(a, a) for a in item.detail.split(",")))
        return _("Hazard %(code)s waits for you: %(acts)s", code=item.code, acts=acts)
    if item.kind == "hazard_due_soon":
        return _("Hazard %(code)s is due within %(n)s days", code=item.code, n=f"{item.days:.1f}")
    if item.kind == "inspection_overdue":
        if math.isinf(item.days):
            return _("Inspect %(site)s: never inspected", site=item.name)
        return _("Inspect %(site)s: %(n)s days overdue", site=item.name, n=f"{item.days:.0f}")
    if item.kind == "unpatrolled":
        return _(
            "Patrol %(street)s (%(m)s m not patrolled this week)",
            street=item.name,
            m=f"{item.days:.0f}",
        )
    if item.kind == "unpatrolled_more":
        return _("%(n)s more streets not patrolled this week", n=f"{item.days:.0f}")
    if item.kind == "visit":
        where = item.name or item.code
        if item.days:
            return _("Visit %(where)s (%(n)s days overdue)", where=where, n=f"{item.days:.0f}")
        return _("Visit %(where)s (due today)", where=where)
    if item.kind == "visits_more":
        return _("%(n)s more households due for a visit", n=f"{item.days:.0f}")
    return item.kind


def _households(view, *, printed: bool = False, sensitive: bool = False) -> list[dict]:
    """The vulnerable households with only the tags this role may see (on paper, sensitive
    tags only when asked for)."""
    rows = view.households.to_dict("records")
    for r in rows:
        for key in ("tags", "resident_tags"):
            r[key] = field.visible_tags(
                r[key], g.requester.role, printed=printed, sensitive=sensitive
            )
    return rows


def _context(
    code: str, *, with_patrol: bool = True, printed: bool = False, sensitive: bool = False
) -> dict:
    session = db_session()
    view = mygrid.grid_view(
        session, g.requester, code, with_patrol=with_patrol, rules=field_rules()
    )
    lang = current_lang()
    labels = _labels(lang)
    return {
        "view": view,
        "grid": view.grid,
        "labels": labels,
        "todo": [
            {"kind": i.kind, "priority": i.priority, "code": i.code, "text": todo_text(i, labels)}
            for i in view.todo
        ],
        "buildings": view.buildings.drop(columns="geometry").to_dict("records"),
        "households": _households(view, printed=printed, sensitive=sensitive),
        "sites": view.sites.drop(columns="geometry").to_dict("records"),
        "cases": view.cases.drop(columns="geometry").to_dict("records"),
        "unpatrolled": view.unpatrolled.drop(columns="geometry").head(10).to_dict("records"),
        "coverage": view.coverage,
        "period": view.period,
        "as_of": view.as_of,
        "street": repo.street_summary(session),
        "lang": lang,
        "sensitive_roles": field.SENSITIVE_TAG_ROLES,
    }


@bp.route("/<code>")
def grid_page(code: str):
    ctx = _context(code)
    view = ctx["view"]
    m, legends = grid_map(
        view.boundary,
        view.buildings,
        view.sites,
        view.cases,
        view.patrolled,
        view.unpatrolled,
        lang=ctx["lang"],
        focus=_focus(request.args.get("focus")),
        hazard_url=url_for("hazards.detail", code="__ID__"),
        _=_,
    )
    return render_template("grid/page.html", map=render_map(m, legends=legends), **ctx)


@bp.route("/<code>/report")
def report(code: str):
    """The A4 grid report: print it from the browser (print CSS), or save it as PDF there."""
    sensitive = request.args.get("sensitive") == "1"
    ctx = _context(code, printed=True, sensitive=sensitive)
    view = ctx["view"]
    svg = grid_svg(
        view.boundary,
        view.buildings,
        view.sites,
        view.cases,
        view.patrolled,
        view.unpatrolled,
        north=_("N"),
    )
    repo.audit(
        db_session(),
        g.requester,
        "grid_report",
        code,
        {"households": len(view.households), "sensitive_tags": sensitive},
    )
    return render_template(
        "grid/report.html",
        svg=svg,
        printed_at=datetime.now(),
        m_per_mm=svg_scale_m_per_mm(view.boundary),
        **ctx,
    )
