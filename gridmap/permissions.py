"""Who may write what: one table of role x layer x action, read by every write path.

An import (web page or command line) and any future editor ask :func:`may` before
touching a layer, and :func:`layers_writable` decides what the import form offers.
Area scope (which rows) is a separate question answered by ``geodata.db.scope``; this
table answers which layers and which actions.

Actions: ``create`` (a new row) and ``update`` (a row matched by code). Boundaries are
the street office's; facilities and roads serve the whole street, so they are street
staff's and administrators' alone. Fields that belong to a workflow (a hazard's status,
closure, assignment) are never written by an import once the record exists: they
change only through the workflow (``gridmap.hazards``).
"""

from __future__ import annotations

CREATE, UPDATE = "create", "update"
BOTH = frozenset({CREATE, UPDATE})

_STREET_LEVEL = ("districts", "streets", "communities", "grids", "roads", "facilities")
_COMMUNITY_LEVEL = ("compounds", "gates", "buildings")
_GRID_LEVEL = ("households", "residents", "key_sites", "patrol_tracks", "hazards")
ALL_LAYERS = _STREET_LEVEL + _COMMUNITY_LEVEL + _GRID_LEVEL

# role -> layer -> actions. A role or layer missing here may do nothing.
WRITE: dict[str, dict[str, frozenset[str]]] = {
    "admin": {layer: BOTH for layer in ALL_LAYERS},
    # a street office edits its own street's outline but neither adds streets nor districts
    "street_staff": {
        **{layer: BOTH for layer in ALL_LAYERS},
        "districts": frozenset(),
        "streets": frozenset({UPDATE}),
    },
    "community_staff": {layer: BOTH for layer in _COMMUNITY_LEVEL + _GRID_LEVEL},
    "grid_leader": {
        **{layer: BOTH for layer in ("households", "residents", "key_sites", "hazards")},
        "patrol_tracks": frozenset({CREATE}),
    },
    "planner": {},
    "viewer": {},
}

# Fields a workflow owns, per layer: set by an import only when the row is new.
WORKFLOW_FIELDS: dict[str, tuple[str, ...]] = {
    "hazards": ("status", "closed_at", "responsible", "deadline"),
}


def may(role: str, layer: str, action: str) -> bool:
    """Whether ``role`` may take ``action`` on ``layer``.

    Parameters
    ----------
    role : str
        A staff role (``admin``, ``grid_leader`` ...).
    layer : str
        A layer name (``buildings``, ``residents`` ...).
    action : str
        ``create`` (a new row) or ``update`` (a row matched by code).

    Returns
    -------
    bool
    """
    return action in WRITE.get(role, {}).get(layer, frozenset())


def may_write(role: str, layer: str) -> bool:
    """Whether ``role`` may do anything at all on ``layer`` (the import form offers only these).

    Parameters
    ----------
    role : str
        The user's role.
    layer : str
        The layer's name.

    Returns
    -------
    bool
        True when some action is allowed.
    """
    return bool(WRITE.get(role, {}).get(layer))


def layers_writable(role: str) -> list[str]:
    """The layers ``role`` may write at all, in :data:`ALL_LAYERS` order.

    Parameters
    ----------
    role : str
        A staff role.

    Returns
    -------
    list of str
    """
    return [layer for layer in ALL_LAYERS if may_write(role, layer)]


def table_rows() -> list[tuple[str, str, str]]:
    """The permission table as rows, for the README and tests.

    Returns
    -------
    list of tuple
        (role, layer, "create, update") rows.
    """
    return [
        (role, layer, ", ".join(sorted(WRITE[role].get(layer, frozenset()))) or "-")
        for role in WRITE
        for layer in ALL_LAYERS
    ]
