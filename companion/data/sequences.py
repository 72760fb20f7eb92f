"""Offline time series for Chapter 6: monthly CO2 and yearly sunspots.

* :func:`load_co2_monthly` — atmospheric CO2 at Mauna Loa (ppm), weekly flask samples
  1958–2001 shipped with statsmodels (``statsmodels.datasets.co2``, public domain; Keeling
  and Whorf, Scripps Institution of Oceanography), averaged to months.
* :func:`load_sunspots` — yearly sunspot numbers 1700–2008 (``statsmodels.datasets.sunspots``,
  public domain).

Text for character-level models lives in :mod:`companion.data.text`. Nothing here downloads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Series:
    """A univariate time series: ``values`` float64 ``(n,)``, ``index`` its dates/years."""

    values: np.ndarray
    index: pd.Index
    name: str
    unit: str
    season: int  # the seasonal period in steps (12 for monthly data, 11 for sunspot years)
    description: str

    def __len__(self) -> int:
        return len(self.values)


def load_co2_monthly() -> Series:
    """Monthly mean CO2 (ppm), March 1958 – December 2001, 526 months.

    The weekly samples are averaged per calendar month; the few months with no sample are
    filled by linear interpolation in time (so the series has no gaps).
    """
    from statsmodels.datasets import co2

    weekly = co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate(method="time")
    return Series(
        values=monthly.to_numpy(dtype=np.float64),
        index=monthly.index,
        name="CO2 at Mauna Loa",
        unit="ppm",
        season=12,
        description="statsmodels co2 (Scripps/CDIAC flask samples, public domain), monthly means",
    )


def load_sunspots() -> Series:
    """Yearly mean sunspot numbers, 1700–2008 (309 years)."""
    from statsmodels.datasets import sunspots

    df = sunspots.load_pandas().data
    return Series(
        values=df["SUNACTIVITY"].to_numpy(dtype=np.float64),
        index=pd.Index(df["YEAR"].astype(int), name="year"),
        name="sunspot number",
        unit="count",
        season=11,
        description="statsmodels sunspots (public domain), yearly",
    )
