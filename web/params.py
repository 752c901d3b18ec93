"""Numbers in URLs are checked before any view sees them.

``<int:...>`` path segments (ids, tile coordinates) go through :class:`BoundedInt`: a
number beyond what the database's integer columns hold is a 400 with a message, not an
overflow deep in a query. Query parameters are parsed by the typed parsers next to the
analyses (``gridmap.vector.parse_zoom``, ``gridmap.analysis.patrol.parse_period``), whose
:class:`~gridmap.errors.InvalidInput` the app answers with a 400.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL integer; SQLite's is wider


class BoundedInt(IntegerConverter):
    """``<int:...>`` limited to 0..2**31-1; outside: 400 naming the value."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise BadRequest(description=f"{value[:30]} is out of range (at most {MAX_ID})")
        return number


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
