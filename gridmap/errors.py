"""Typed errors of the core. Each carries one message a user can act on.

They subclass built-ins so that callers who do not know gridmap still catch
them sensibly; the CLI and the web map them to a one-line message or a 4xx.
"""


class GridmapError(Exception):
    """Base of every error gridmap raises on purpose."""


class InvalidInput(GridmapError, ValueError):
    """The caller passed data gridmap cannot use; the message says which and why."""


class NotFound(GridmapError, LookupError):
    """A named thing (grid code, user, layer) does not exist."""


class PermissionDenied(GridmapError, PermissionError):
    """The requesting user's role or area does not allow this."""


class ConfigError(GridmapError, RuntimeError):
    """The installation is missing something (database, extension, setting)."""


class Conflict(GridmapError, ValueError):
    """The request was valid when made but the record moved on meanwhile (e.g. a hazard
    closed while a phone was offline): shown to the person, never silently dropped."""
