"""The hazard (隐患整改) workflow as a pure state machine.

found/reported -> filed (立案) -> assigned with a responsible person and a deadline (派遣)
-> handled (处置) -> re-inspected (核查) -> closed (结案); a failed re-inspection sends the
case back to the responsible person; a report that is no hazard (or a duplicate) may be
dismissed before it is assigned; overdue cases escalate (community -> street -> district).
Every step becomes one ``hazard_event`` row (the repository writes it).

Who may do what (local practice, editable here): grid leaders and staff report and record
handling; community and street staff (and admins) file, assign, close and dismiss;
re-inspection is done by someone other than the person who recorded the handling
(separation of duties), except by an administrator. Planners and viewers only read.

Numbers marked (local) are editable defaults, not law.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import pandas as pd

from gridmap.errors import InvalidInput, PermissionDenied
from gridmap.messages import N_, fail
from gridmap.vocab import (
    HAZARD_CATEGORY_CODES,
    HAZARD_OPEN_STATUSES,
    HAZARD_SEVERITY_CODES,
    HAZARD_STATUS_CODES,
)

STAFF = frozenset({"community_staff", "street_staff", "admin"})
FIELD = frozenset({"grid_leader"}) | STAFF

#: Days from assignment to the deadline by severity (local default).
DEFAULT_DEADLINE_DAYS = {"high": 3, "medium": 7, "low": 15}
#: A report must be filed and assigned within this many days (local default).
RESPONSE_DAYS = 3
#: Escalation: days past the deadline at which a case goes to each level (local default).
ESCALATION_DAYS = ((0, "community"), (7, "street"), (30, "district"))


class Transition(NamedTuple):
    action: str
    sources: frozenset[str]  # statuses it may start from (empty: a new case)
    target: str | None  # status afterwards (None: unchanged)
    roles: frozenset[str]
    needs_note: bool = False
    needs_assignment: bool = False  # responsible person and deadline


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("report", frozenset(), "reported", FIELD),
        Transition("file", frozenset({"reported"}), "filed", STAFF),
        Transition(
            "assign", frozenset({"filed", "assigned"}), "assigned", STAFF, needs_assignment=True
        ),
        Transition("handle", frozenset({"assigned"}), "handled", FIELD, needs_note=True),
        Transition("reinspect", frozenset({"handled"}), "reinspected", FIELD, needs_note=True),
        Transition("reinspect_fail", frozenset({"handled"}), "assigned", FIELD, needs_note=True),
        Transition("close", frozenset({"reinspected"}), "closed", STAFF),
        Transition("dismiss", frozenset({"reported", "filed"}), "closed", STAFF, needs_note=True),
        Transition("comment", frozenset(HAZARD_OPEN_STATUSES), None, FIELD, needs_note=True),
    )
}
#: The order actions are offered in on a case page.
ACTION_ORDER = (
    "file",
    "assign",
    "handle",
    "reinspect",
    "reinspect_fail",
    "close",
    "dismiss",
    "comment",
)
#: Written by the escalation sweep, never chosen by a person.
SYSTEM_ACTIONS = ("escalate",)


@dataclass(frozen=True)
class CaseState:
    """What the rules need to know about one case."""

    status: str
    handled_by: str | None = None  # who recorded the last handling (for re-inspection)


def validate_new(category: str, severity: str, description: str | None) -> None:
    """Refuse a new hazard report with an unknown category or severity or no description.

    Parameters
    ----------
    category, severity : str
        Codes of :data:`gridmap.vocab.HAZARD_CATEGORIES` and ``HAZARD_SEVERITIES``.
    description : str or None
        What the reporter saw; required.

    Raises
    ------
    InvalidInput
        Naming the field that is wrong.
    """
    if category not in HAZARD_CATEGORY_CODES:
        raise fail(
            InvalidInput,
            N_("unknown hazard category {category}; choose one of {choices}"),
            category=category,
            choices=", ".join(sorted(HAZARD_CATEGORY_CODES)),
        )
    if severity not in HAZARD_SEVERITY_CODES:
        raise fail(
            InvalidInput,
            N_("unknown severity {severity}; choose one of {choices}"),
            severity=severity,
            choices=", ".join(sorted(HAZARD_SEVERITY_CODES)),
        )
    if not (description or "").strip():
        raise fail(InvalidInput, N_("Description: say what the hazard is and where exactly."))


def allowed_actions(state: CaseState, *, role: str, username: str) -> list[str]:
    """Actions this user may take on a case now, in :data:`ACTION_ORDER`.

    Parameters
    ----------
    state : CaseState
        The case's status and who handled it last.
    role : str
        The user's role.
    username : str
        The user's name (separation of duties).

    Returns
    -------
    list of str
        The actions.
    """
    return [a for a in ACTION_ORDER if _refusal(TRANSITIONS[a], state, role, username) is None]


def _refusal(
    t: Transition, state: CaseState, role: str, username: str
) -> tuple[type, str, dict[str, Any]] | None:
    """Why ``t`` is not allowed: (error type, message template, parameters), or None."""
    if state.status not in t.sources:
        return (
            InvalidInput,
            N_("A case in status {status} cannot take the step {action}."),
            {"status": state.status, "action": t.action},
        )
    if role not in t.roles:
        return (
            PermissionDenied,
            N_("Your role ({role}) may not take the step {action}."),
            {"role": role, "action": t.action},
        )
    if (
        t.action in ("reinspect", "reinspect_fail")
        and role != "admin"
        and state.handled_by
        and state.handled_by == username
    ):
        return (
            PermissionDenied,
            N_(
                "The re-inspection must be done by someone other than "
                "the person who recorded the handling."
            ),
            {},
        )
    return None


@dataclass(frozen=True)
class Step:
    """The result of applying an action: the new status (unchanged for a comment) and what
    the repository writes to the case and its history."""

    action: str
    from_status: str | None
    to_status: str
    responsible: str | None = None
    deadline: datetime | None = None
    closed_at: datetime | None = None
    note: str | None = None


def apply(
    state: CaseState,
    action: str,
    *,
    role: str,
    username: str,
    at: datetime,
    note: str | None = None,
    responsible: str | None = None,
    deadline: datetime | None = None,
) -> Step:
    """Check ``action`` against the rules and return the step to record.

    Refuses (PermissionDenied, InvalidInput) what the role or the case's status forbids.

    Parameters
    ----------
    state : CaseState
        The case's status and who handled it last.
    action : str
        The action asked for.
    role, username : str
        The user's role and name (separation of duties).
    at : datetime
        When the action is taken.
    note : str, optional
        The user's note (required by some actions).
    responsible : str, optional
        Who is to handle the case (required when assigning).
    deadline : datetime, optional
        The date by which it must be fixed (required when assigning).

    Returns
    -------
    Step
        The new status and what to write.
    """
    t = TRANSITIONS.get(action)
    if t is None or action == "report":
        raise fail(
            InvalidInput,
            N_("unknown action {action}; choose one of {choices}"),
            action=action,
            choices=", ".join(ACTION_ORDER),
        )
    if state.status not in HAZARD_STATUS_CODES:
        raise fail(InvalidInput, N_("the case has an unknown status {status}"), status=state.status)
    refusal = _refusal(t, state, role, username)
    if refusal is not None:
        cls, template, params = refusal
        raise fail(cls, template, **params)
    note = (note or "").strip() or None
    if t.needs_note and not note:
        raise fail(InvalidInput, N_("Note: this step needs a note saying what was done or found."))
    if t.needs_assignment:
        responsible = (responsible or "").strip() or None
        if not responsible:
            raise fail(
                InvalidInput, N_("Responsible: name the person or unit responsible for the fix.")
            )
        if deadline is None:
            raise fail(InvalidInput, N_("Deadline: give the date by which it must be fixed."))
        if deadline < at.replace(hour=0, minute=0, second=0, microsecond=0):
            raise fail(
                InvalidInput,
                N_("The deadline {date} lies in the past."),
                date=f"{deadline:%Y-%m-%d}",
            )
    else:
        responsible = deadline = None
    to_status = t.target or state.status
    return Step(
        action=action,
        from_status=state.status,
        to_status=to_status,
        responsible=responsible,
        deadline=deadline,
        closed_at=at if to_status == "closed" else None,
        note=note,
    )


def default_deadline(severity: str, at: datetime) -> datetime:
    """End of the day ``DEFAULT_DEADLINE_DAYS[severity]`` days after ``at``.

    Parameters
    ----------
    severity : str
        The hazard's severity.
    at : datetime
        When it was assigned.

    Returns
    -------
    datetime
        The deadline.
    """
    day = (at + timedelta(days=DEFAULT_DEADLINE_DAYS.get(severity, 7))).date()
    return datetime.combine(day, datetime.max.time()).replace(microsecond=0)


def due_at(status: str, found_at: Any, deadline: Any) -> datetime | None:
    """When the case must be moved on: its deadline once assigned, else ``RESPONSE_DAYS`` after it
    was found (a report must not sit unfiled).

    Parameters
    ----------
    status : str
        The case's status.
    found_at : datetime
        When it was found.
    deadline : datetime or None
        Its deadline.

    Returns
    -------
    datetime or None
        The moment; None for closed cases.
    """
    if status not in HAZARD_OPEN_STATUSES:
        return None
    if deadline is not None and not pd.isna(deadline):
        due: datetime = pd.Timestamp(deadline).to_pydatetime()
        return due
    if found_at is not None and not pd.isna(found_at) and status in ("reported", "filed"):
        found: datetime = pd.Timestamp(found_at).to_pydatetime()
        return found + timedelta(days=RESPONSE_DAYS)
    return None


def is_overdue(status: str, deadline: Any, *, as_of: datetime, found_at: Any = None) -> bool:
    """Whether an open case is past its due time (see :func:`due_at`).

    Parameters
    ----------
    status : str
        The case status; closed cases are never overdue.
    deadline, found_at : datetime-like or None
        The assigned deadline and when the hazard was found.
    as_of : datetime
        The moment judged (local time).

    Returns
    -------
    bool
    """
    due = due_at(status, found_at, deadline)
    return due is not None and due < as_of


def days_overdue(status: str, deadline: Any, *, as_of: datetime, found_at: Any = None) -> float:
    """Whole days past due (0 when not overdue).

    Parameters
    ----------
    status : str
        The case's status.
    deadline : datetime or None
        Its deadline.
    as_of : datetime
        The moment asked about.
    found_at : datetime, optional
        When it was found (counts before a deadline is set).

    Returns
    -------
    float
        Days.
    """
    due = due_at(status, found_at, deadline)
    if due is None or due >= as_of:
        return 0.0
    return float((as_of - due).days)


def escalation_level(status: str, deadline: Any, *, as_of: datetime, found_at: Any = None) -> int:
    """How far up an overdue case is escalated.

    Parameters
    ----------
    status : str
        The case's status.
    deadline : datetime or None
        Its deadline.
    as_of : datetime
        The moment asked about.
    found_at : datetime, optional
        When it was found (counts before a deadline is set).

    Returns
    -------
    int
        0 = not overdue; 1, 2, 3 = escalated to community, street, district.
    """
    if not is_overdue(status, deadline, as_of=as_of, found_at=found_at):
        return 0
    late = days_overdue(status, deadline, as_of=as_of, found_at=found_at)
    return sum(1 for days, _level in ESCALATION_DAYS if late >= days)


def escalation_target(level: int) -> str | None:
    """Who an escalation level goes to.

    Parameters
    ----------
    level : int
        0 (not escalated) to 3.

    Returns
    -------
    str or None
        ``community``, ``street`` or ``district``; None for level 0.
    """
    return ESCALATION_DAYS[level - 1][1] if level > 0 else None
