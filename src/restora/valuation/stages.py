"""Before / after values of a project and the four value stages of mine ecological products.

A project's annual value passes from the damaged state (ESV of the damaged land minus the annual
cost of its hazards and pollution, so it may be negative), through basic restoration, to
development. The basic-restoration path is either an explicit per-year series (the ESV of each
year along the establishment ramps, :mod:`restora.valuation.establishment`, less the damage
costs until the works finish: :func:`basic_path`), the establishment ramp of one after-use, or
(legacy) a linear ramp over ``restoration_years``. Each year is classified into a stage (Wang et al. 2026): net loss → zero → capture →
multiplication, with thresholds from ``valuation/stages/thresholds``:

- ``v = V / (A · E)`` is the net value in standard equivalents per hm² per year;
- STAGE-NET-LOSS: ``v < -z``; STAGE-ZERO: ``-z <= v <= z``;
- STAGE-CAPTURE: ``v > z`` and ``V < m · V_ref``; STAGE-MULTIPLICATION: ``v > z`` and
  ``V >= m · V_ref``, with ``V_ref`` the value after basic restoration, floored at ``z · A · E``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from restora import refdata
from restora.errors import InputError
from restora.valuation.establishment import RampTable

THRESHOLDS_TABLE = "valuation/stages/thresholds"
EQUIVALENT_TABLE = "valuation/xie2015/standard_equivalent"
STAGES = ("net_loss", "zero", "capture", "multiplication")
STAGE_CODES = {
    "net_loss": "STAGE-NET-LOSS",
    "zero": "STAGE-ZERO",
    "capture": "STAGE-CAPTURE",
    "multiplication": "STAGE-MULTIPLICATION",
}


def damaged_value(
    esv_damaged_cny_per_yr: float | np.ndarray,
    hazard_cost_cny_per_yr: float | np.ndarray = 0.0,
    pollution_cost_cny_per_yr: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Net annual value of the damaged state [CNY/yr]; negative when costs exceed the ESV.

    Parameters
    ----------
    esv_damaged_cny_per_yr : array-like
        ESV of the damaged land cover [CNY/yr].
    hazard_cost_cny_per_yr : array-like
        Expected annual cost of geohazards (from the diagnosis) [CNY/yr].
    pollution_cost_cny_per_yr : array-like
        Annual cost of pollution (damage or control) [CNY/yr].

    Notes
    -----
    :math:`V_0 = ESV_0 - C_{hazard} - C_{pollution}`.

    Examples
    --------
    >>> float(damaged_value(1000.0, 5000.0, 2000.0))
    -6000.0
    """
    return (
        np.asarray(esv_damaged_cny_per_yr, float)
        - np.asarray(hazard_cost_cny_per_yr, float)
        - np.asarray(pollution_cost_cny_per_yr, float)
    )


def _ramp(t: np.ndarray, start: int, years: int, v_from: float, v_to: float) -> np.ndarray:
    if years <= 0:
        return np.where(t >= start, v_to, v_from)
    frac = np.clip((t - start + 1) / years, 0.0, 1.0)
    return v_from + (v_to - v_from) * frac


def value_trajectory(
    horizon_years: int,
    damaged_cny_per_yr: float,
    basic_cny_per_yr: float,
    developed_cny_per_yr: float,
    restoration_start: int,
    restoration_years: int,
    development_start: int,
    development_years: int,
    *,
    basic_path_cny_per_yr: np.ndarray | list[float] | None = None,
) -> np.ndarray:
    """Net value of each project year [CNY/yr], year 0 … horizon-1.

    Parameters
    ----------
    horizon_years : int
        Number of years [yr].
    damaged_cny_per_yr, basic_cny_per_yr, developed_cny_per_yr : float
        Value of the damaged state, after basic restoration (mature), after development
        [CNY/yr].
    restoration_start, development_start : int
        Project year in which restoration / development works begin [yr offset].
    restoration_years, development_years : int
        Years until the works deliver their full value [yr]; 0 = at once.
    basic_path_cny_per_yr : array-like, shape (horizon_years,), optional
        Value of each year along basic restoration [CNY/yr] (:func:`basic_path` of the
        ramped ESV). Given, it replaces the linear restoration ramp (and
        ``damaged_cny_per_yr``, ``restoration_start``, ``restoration_years`` are not used).

    Notes
    -----
    Basic restoration: the given path, else the linear ramp
    :math:`V_0 + (V_b - V_0) \\min(1, (t - t_r + 1)/n_r)`. Development then adds
    :math:`(V_d - V_b) \\min(1, (t - t_d + 1)/n_d)` from :math:`t_d`.

    Examples
    --------
    >>> value_trajectory(5, -10.0, 10.0, 30.0, 1, 2, 3, 1).tolist()
    [-10.0, 0.0, 10.0, 30.0, 30.0]
    >>> value_trajectory(5, -10.0, 10.0, 30.0, 1, 2, 3, 1,
    ...                  basic_path_cny_per_yr=[-10.0, -10.0, 2.0, 6.0, 8.0]).tolist()
    [-10.0, -10.0, 2.0, 26.0, 28.0]
    """
    t = np.arange(horizon_years, dtype=float)
    if basic_path_cny_per_yr is None:
        v = _ramp(t, restoration_start, restoration_years, damaged_cny_per_yr, basic_cny_per_yr)
    else:
        v = np.asarray(basic_path_cny_per_yr, dtype=float)
        if v.shape != t.shape:
            raise InputError(
                f"basic path has {v.size} values for a {horizon_years}-year horizon",
                field="value_basic_path_cny_per_yr",
            )
    dev = _ramp(
        t, development_start, development_years, 0.0, developed_cny_per_yr - basic_cny_per_yr
    )
    return v + np.where(t >= development_start, dev, 0.0)


def basic_path(
    esv_cny_per_yr: np.ndarray | list[float],
    hazard_cost_cny_per_yr: float = 0.0,
    pollution_cost_cny_per_yr: float = 0.0,
    works_end: int = -1,
) -> np.ndarray:
    """Net value of each project year along basic restoration [CNY/yr].

    Parameters
    ----------
    esv_cny_per_yr : array-like, shape (horizon_years,)
        ESV of the project in each project year [CNY/yr], e.g.
        ``establishment.esv_series(...).sum(axis=1)`` (damaged value until the works finish,
        then ramping to the mature after value).
    hazard_cost_cny_per_yr, pollution_cost_cny_per_yr : float
        Annual cost of the hazards and pollution of the damaged state [CNY/yr].
    works_end : int
        Project year (0 = start year) in which the last establishing works finish; the costs
        stop after it (the site is made safe) [yr offset].

    Notes
    -----
    :math:`V_t = ESV_t - (C_{hazard} + C_{pollution}) \\cdot [t \\le t_w]`.

    Examples
    --------
    >>> basic_path([100.0, 100.0, 600.0, 900.0], 1000.0, 0.0, works_end=1).tolist()
    [-900.0, -900.0, 600.0, 900.0]
    """
    e = np.asarray(esv_cny_per_yr, dtype=float)
    t = np.arange(e.size)
    costs = float(hazard_cost_cny_per_yr) + float(pollution_cost_cny_per_yr)
    return np.asarray(e - np.where(t <= works_end, costs, 0.0), dtype=float)


def classify_stages(
    value_cny_per_yr: np.ndarray,
    area_hm2: float,
    equivalent_value_cny_per_hm2: float,
    reference_value_cny_per_yr: float,
    zero_band: float,
    multiplication_ratio: float,
) -> np.ndarray:
    """Value stage of each year (``net_loss``, ``zero``, ``capture``, ``multiplication``).

    Parameters
    ----------
    value_cny_per_yr : array-like
        Net value of each year [CNY/yr].
    area_hm2 : float
        Project area [hm²].
    equivalent_value_cny_per_hm2 : float
        Value of one standard equivalent [CNY/hm²/yr].
    reference_value_cny_per_yr : float
        Value after basic restoration [CNY/yr].
    zero_band : float
        Half-width of the zero stage [standard equivalents/hm²/yr].
    multiplication_ratio : float
        Multiple of the reference value that marks multiplication [dimensionless].

    Notes
    -----
    See the module docstring; thresholds are in ``valuation/stages/thresholds``.

    Examples
    --------
    >>> classify_stages(np.array([-100.0, 0.0, 60.0, 250.0]), 1.0, 100.0, 100.0, 0.5, 2.0).tolist()
    ['net_loss', 'zero', 'capture', 'multiplication']
    """
    if area_hm2 <= 0 or equivalent_value_cny_per_hm2 <= 0:
        raise InputError("area and equivalent value must be positive", field="area_hm2")
    v = np.asarray(value_cny_per_yr, float)
    band = zero_band * area_hm2 * equivalent_value_cny_per_hm2  # [CNY/yr]
    ref = max(reference_value_cny_per_yr, band)
    return np.select(
        [v < -band, v <= band, v < multiplication_ratio * ref],
        ["net_loss", "zero", "capture"],
        default="multiplication",
    )


class StagesInput(BaseModel):
    """Input spec of a project's value stages (money in CNY/yr at ``price_year``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    area_hm2: float = Field(gt=0, description="project area [hm²]")
    esv_damaged_cny_per_yr: float = Field(ge=0, description="ESV of the damaged state [CNY/yr]")
    hazard_cost_cny_per_yr: float = Field(0.0, ge=0, description="annual hazard cost [CNY/yr]")
    pollution_cost_cny_per_yr: float = Field(
        0.0, ge=0, description="annual pollution cost [CNY/yr]"
    )
    value_basic_cny_per_yr: float = Field(description="value after basic restoration [CNY/yr]")
    value_developed_cny_per_yr: float = Field(description="value after development [CNY/yr]")
    horizon_years: int = Field(20, ge=1, le=200, description="[yr]")
    start_year: int = Field(2026, ge=1950, le=2200, description="calendar year of project year 0")
    restoration_start: int = Field(1, ge=0, description="project year restoration starts [yr]")
    restoration_years: int = Field(2, ge=0, le=100, description="ramp to full value [yr]")
    development_start: int = Field(4, ge=0, description="project year development starts [yr]")
    development_years: int = Field(3, ge=0, le=100, description="ramp to full value [yr]")
    equivalent_value_cny_per_hm2: float | None = Field(
        None, gt=0, description="[CNY/hm²/yr] value of one standard equivalent; default Xie 2015"
    )
    price_year: int | None = Field(None, description="price year of the money inputs")
    value_basic_path_cny_per_yr: list[float] | None = Field(
        None,
        description="value of each project year along basic restoration [CNY/yr] (e.g. ramped "
        "ESV less damage costs until the works finish); replaces the linear ramp",
    )
    restoration_after_use: str | None = Field(
        None,
        description="after-use whose establishment ramp (valuation/establishment/ramps) takes "
        "the ESV from the damaged value to value_basic after the works, which finish in "
        "project year restoration_start + restoration_years - 1; replaces the linear ramp",
    )

    @model_validator(mode="after")
    def _order(self) -> StagesInput:
        if self.development_start < self.restoration_start + self.restoration_years:
            raise ValueError("development_start must not precede the end of basic restoration")
        if self.value_basic_path_cny_per_yr is not None:
            if self.restoration_after_use is not None:
                raise ValueError(
                    "give value_basic_path_cny_per_yr or restoration_after_use, not both"
                )
            if len(self.value_basic_path_cny_per_yr) != self.horizon_years:
                raise ValueError(
                    f"value_basic_path_cny_per_yr has {len(self.value_basic_path_cny_per_yr)} "
                    f"values; horizon_years is {self.horizon_years}"
                )
        return self

    @property
    def works_end(self) -> int:
        """Project year in which the restoration works finish [yr offset]."""
        return self.restoration_start + self.restoration_years - 1


@dataclass(frozen=True)
class StagesResult:
    """Per-year values and stages, with the thresholds and tables used."""

    years: pd.DataFrame
    damaged_cny_per_yr: float
    basic_cny_per_yr: float
    developed_cny_per_yr: float
    zero_band_cny_per_yr: float
    multiplication_threshold_cny_per_yr: float
    price_year: int | None
    tables: list[dict[str, Any]]
    method: str = "value-stages"
    restoration_path: str = "linear"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "restoration_path": self.restoration_path,
            "price_year": self.price_year,
            "damaged_cny_per_yr": self.damaged_cny_per_yr,
            "basic_cny_per_yr": self.basic_cny_per_yr,
            "developed_cny_per_yr": self.developed_cny_per_yr,
            "zero_band_cny_per_yr": self.zero_band_cny_per_yr,
            "multiplication_threshold_cny_per_yr": self.multiplication_threshold_cny_per_yr,
            "rule_codes": sorted(set(self.years["stage_code"])),
            "years": self.years.to_dict("records"),
            "tables": self.tables,
        }


def run(
    inputs: StagesInput, on: dt.date | str | None = None, region: str | None = None
) -> StagesResult:
    """Values per year and their stages for one project (see the module docstring)."""
    thr = refdata.get(THRESHOLDS_TABLE, on=on, region=region)
    tables = [thr.provenance()]
    e = inputs.equivalent_value_cny_per_hm2
    if e is None:
        et = refdata.get(EQUIVALENT_TABLE, on=on, region=region)
        e = float(et.data["value_cny_per_hm2"])
        tables.append(et.provenance())
    v0 = float(
        damaged_value(
            inputs.esv_damaged_cny_per_yr,
            inputs.hazard_cost_cny_per_yr,
            inputs.pollution_cost_cny_per_yr,
        )
    )
    path: np.ndarray | None = None
    restoration_path = "linear"
    if inputs.value_basic_path_cny_per_yr is not None:
        path = np.asarray(inputs.value_basic_path_cny_per_yr, dtype=float)
        restoration_path = "series"
    elif inputs.restoration_after_use is not None:
        ramps = RampTable.load(on, region)
        if inputs.restoration_after_use not in ramps.ramps:
            raise InputError(
                f"no establishment ramp for after-use {inputs.restoration_after_use!r}; use one "
                f"of {', '.join(ramps.ramps)}",
                field="restoration_after_use",
            )
        f = ramps.fraction(
            inputs.restoration_after_use, np.arange(inputs.horizon_years) - inputs.works_end
        )
        esv_t = (
            inputs.esv_damaged_cny_per_yr
            + (inputs.value_basic_cny_per_yr - inputs.esv_damaged_cny_per_yr) * f
        )
        path = basic_path(
            esv_t,
            inputs.hazard_cost_cny_per_yr,
            inputs.pollution_cost_cny_per_yr,
            inputs.works_end,
        )
        restoration_path = f"ramp:{inputs.restoration_after_use}"
        tables.append(ramps.provenance)
    values = value_trajectory(
        inputs.horizon_years,
        v0,
        inputs.value_basic_cny_per_yr,
        inputs.value_developed_cny_per_yr,
        inputs.restoration_start,
        inputs.restoration_years,
        inputs.development_start,
        inputs.development_years,
        basic_path_cny_per_yr=path,
    )
    z = float(thr.data["zero_band_equivalents_per_hm2"])
    m = float(thr.data["multiplication_ratio"])
    stages = classify_stages(values, inputs.area_hm2, e, inputs.value_basic_cny_per_yr, z, m)
    band = z * inputs.area_hm2 * e
    frame = pd.DataFrame(
        {
            "project_year": np.arange(inputs.horizon_years),
            "year": inputs.start_year + np.arange(inputs.horizon_years),
            "value_cny_per_yr": values,
            "stage": stages,
            "stage_code": [STAGE_CODES[s] for s in stages],
        }
    )
    return StagesResult(
        years=frame,
        damaged_cny_per_yr=v0,
        basic_cny_per_yr=inputs.value_basic_cny_per_yr,
        developed_cny_per_yr=inputs.value_developed_cny_per_yr,
        zero_band_cny_per_yr=band,
        multiplication_threshold_cny_per_yr=m * max(inputs.value_basic_cny_per_yr, band),
        price_year=inputs.price_year,
        tables=tables,
        restoration_path=restoration_path,
    )
