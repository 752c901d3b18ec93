"""The working state every import step shares, declared once so each step module (a mixin of
:class:`geodata.importing.builder.Builder`) names what it reads and writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geodata.importing.spec import ImportOptions, ImportReport, Progress
from geodata.readers import SourceData
from gridmap.layers import LayerSpec, Registry
from gridmap.notes import note, problem
from gridmap.privacy import Requester


class BuilderState:
    """One import's attributes (set by ``Builder.__init__`` and the steps) and the report
    helpers every step uses."""

    session: Session
    spec: LayerSpec
    registry: Registry
    src: SourceData
    opts: ImportOptions
    requester: Requester
    report: ImportReport
    progress: Progress
    # The layer's mapped class, found by table name at run time: its columns differ per layer,
    # so they are looked up rather than checked.
    model: type[Any]
    frame: gpd.GeoDataFrame  # the mapped frame, once fields are mapped
    _listed: set[str]  # fields whose unknown values were already listed in a warning
    _taken_codes: set[str]  # codes already stored in the layer (matching)
    _building_codes: dict[int, str]  # building id -> code (people)

    def add(self, row: int | None, kind: str, severity: str, template: str, **params: Any) -> None:
        """Record a problem of one row (or of the whole file).

        Parameters
        ----------
        row : int or None
            The file's row number from 1; None for the whole file.
        kind : str
            What kind of problem ('unknown_building', 'bad_time' ...), for grouping.
        severity : str
            'error' (stops the import), 'warning' or 'info'.
        template : str
            The message, marked with ``N_``.
        **params
            The template's placeholder values.
        """
        self.report.problems.append(problem(row, kind, severity, template, **params))

    def warn(self, template: str, **params: Any) -> None:
        """Add a warning about the whole file to the report.

        Parameters
        ----------
        template : str
            The message, marked with ``N_``.
        **params
            The template's placeholder values.
        """
        self.report.warnings.append(note(template, **params))

    def say(self, template: str, **params: Any) -> None:
        """Add a note (what was done, not a problem) to the report.

        Parameters
        ----------
        template : str
            The message, marked with ``N_``.
        **params
            The template's placeholder values.
        """
        self.report.notes.append(note(template, **params))

    if TYPE_CHECKING:
        # Steps one mixin defines and another calls; the Builder combines them.
        def value(self, frame: pd.DataFrame, k: Any, name: str) -> Any: ...

        def column(self, frame: pd.DataFrame, name: str) -> pd.Series: ...

        def _field_value(self, frame: pd.DataFrame, k: Any, f: str, row: int) -> Any: ...

        def _bulk_field(self, frame: pd.DataFrame, f: str) -> np.ndarray: ...

        def _flag_duplicates(self, rows: list[dict]) -> None: ...

        def _track_times(self, rec: dict, frame: pd.DataFrame, k: Any) -> None: ...
