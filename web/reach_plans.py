"""The planner's question and its answer: the request read from the form or from a stored
run, and the last few runs' results kept for the downloads and the print view that follow a
page."""

from __future__ import annotations

import threading
from collections import OrderedDict

import geopandas as gpd
from flask import current_app, request
from flask_babel import gettext as _

from geodata.db.models import ReachRun
from geodata.planning import LEVELS, CategoryPlan, PlanRequest, own_level, plan_category
from gridmap import vocab
from gridmap.errors import InvalidInput, NotFound
from web.db import db_session
from web.i18n import current_lang

SPEEDS = (3.0, 3.6, 4.0, 4.5, 5.0)
DEFAULT_CATEGORY = "health_center"


def view_labels() -> dict[str, str]:
    return {"radius": _("Service radius"), "network": _("On foot"), "compare": _("Compare")}


def reason_labels() -> dict[str, str]:
    return {
        "off_network": _("Off the walking network"),
        "gate": _("The compound's gates are on the far side"),
        "barrier": _("A barrier without a crossing (river, railway, expressway)"),
        "detour": _("Detour more than twice the straight line"),
        "longer_route": _("The walking route is longer"),
    }


def _arg_choice(name: str, allowed, default, cast):
    raw = request.values.get(name)
    if raw in (None, ""):
        return default
    try:
        value = cast(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name, value=raw)) from exc
    if value not in allowed:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field=name, value=raw))
    return value


def stored_request(session, run_id: int) -> PlanRequest:
    """The request a page run was computed for."""
    run = session.get(ReachRun, run_id)
    plan = (run.params or {}).get("plan") if run is not None else None
    if plan is None:
        raise NotFound(
            _(
                "No planner run %(id)s (runs from the command line cannot be re-opened here).",
                id=run_id,
            )
        )
    plan["candidate_points"] = tuple(tuple(p) for p in plan.get("candidate_points") or ())
    return PlanRequest(**plan)


def request_from_form(present: set[str]) -> PlanRequest:
    """The question the form (or query) asks; ``present``: the categories with facilities."""
    category = request.values.get("category") or (
        DEFAULT_CATEGORY
        if DEFAULT_CATEGORY in present
        else next(
            (c.code for c in vocab.FACILITY_CATEGORIES if c.code in present), DEFAULT_CATEGORY
        )
    )
    if category not in vocab.FACILITY_CODES:
        raise InvalidInput(_("Unknown facility category %(c)s", c=category))
    return PlanRequest(
        category=category,
        view=_arg_choice("view", tuple(view_labels()), "network", str),
        minutes=_arg_choice("minutes", LEVELS, own_level(category), int),
        speed_kmh=_arg_choice("speed", SPEEDS, 4.0, float),
        k=_arg_choice("k", range(0, 6), 3, int),
        candidates=_arg_choice("candidates", ("gaps", "public"), "gaps", str),
    )


def run_id_arg() -> int | None:
    """The page run named by ``?run=`` (None: none named)."""
    raw = request.values.get("run")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidInput(_("%(field)s: unknown value %(value)s", field="run", value=raw)) from exc


class RecentPlans:
    """The last few page runs' results, by run id and language, so that the downloads and
    the print view that follow a page give that run's figures at once. A run's results do
    not change; one that has left (or another server process) is computed again from its
    stored request."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        # (run id, language) -> (plan, files rendered from it: the PNG takes seconds)
        self._plans: OrderedDict[tuple[int, str], tuple[CategoryPlan, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, run_id: int, lang: str, plan: CategoryPlan) -> None:
        with self._lock:
            self._plans[(run_id, lang)] = (plan, {})
            self._plans.move_to_end((run_id, lang))
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def get(self, run_id: int, lang: str) -> CategoryPlan | None:
        with self._lock:
            entry = self._plans.get((run_id, lang))
            return entry[0] if entry else None

    def file(self, run_id: int, lang: str, name: str, make) -> bytes:
        """The file ``name`` of a run, made once by ``make()`` while the run is here."""
        with self._lock:
            entry = self._plans.get((run_id, lang))
            if entry is not None and name in entry[1]:
                return entry[1][name]
        data = make()
        with self._lock:
            entry = self._plans.get((run_id, lang))
            if entry is not None:
                entry[1][name] = data
        return data


def recent_plans() -> RecentPlans:
    """This app's recent plans (run ids belong to its database)."""
    return current_app.extensions.setdefault("gridmap_recent_plans", RecentPlans())


def plan_of_run(session, run_id: int, lang: str) -> CategoryPlan:
    """A stored page run's results: kept from the page, else computed again (not stored)."""
    plan = recent_plans().get(run_id, lang)
    if plan is None:
        plan = plan_category(session, stored_request(session, run_id), store=False, lang=lang)
        recent_plans().put(run_id, lang, plan)
    return plan


def plan_for_download() -> tuple[CategoryPlan, int]:
    """The results of the run a download or the print view names, and its id."""
    run_id = run_id_arg()
    if run_id is None:
        raise InvalidInput(_("Say which run to download (run=<id>, from the planner page)."))
    return plan_of_run(db_session(), run_id, current_lang()), run_id


def buildings_frame(plan: CategoryPlan) -> gpd.GeoDataFrame:
    """The buildings as the map shows them: state, distance and walking time."""
    b = plan.buildings
    return b[["address", "residents", "households", "state", "geometry"]].assign(
        distance_m=plan.main.reach.distance(plan.request.category).round(0),
        minutes=b["walk_min"].round(1),
        facility_name=b["facility_name"],
    )


def method_text(plan: CategoryPlan, lang: str) -> str:
    """How the reach was measured, in words."""
    if plan.request.view == "compare":
        return _("Service radius (circles) beside %(walk)s", walk=plan.walk.label(lang))
    return plan.main.label(lang)
