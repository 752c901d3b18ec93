"""Key sites past their inspection interval."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd


def overdue_sites(sites: pd.DataFrame, *, as_of: datetime) -> pd.DataFrame:
    """Key sites past their inspection interval.

    Parameters
    ----------
    sites : pandas.DataFrame
        code, name, category, grid_code, inspection_interval_days and last_inspected
        (datetime or NaT when never inspected).
    as_of : datetime
        The moment overdue is judged at.

    Returns
    -------
    pandas.DataFrame
        Index-aligned: due_at, days_overdue (float; inf when never inspected) and overdue
        (bool).
    """
    last = pd.to_datetime(sites["last_inspected"])
    interval = pd.to_timedelta(sites["inspection_interval_days"].astype(float), unit="D")
    due = last + interval
    days = (pd.Timestamp(as_of) - due).dt.total_seconds() / 86400
    days = days.where(last.notna(), np.inf)
    out = pd.DataFrame(
        {"due_at": due, "days_overdue": days.round(1), "overdue": days > 0}, index=sites.index
    )
    return out
