"""Location (spatial heterogeneity) adjustment of the value of restored land.

Restored mine land near towns, dense population, important ecological function areas and main
roads is worth more than remote land (Wang et al. 2026). The coefficient is a product of
bounded distance-decay terms and a population-density term, clipped to a band; its parameters
are reference data (``valuation/location/coefficients``). The unadjusted value is always
reported beside the adjusted one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from restora import refdata
from restora.errors import InputError, Problem
from restora.valuation.columns import numeric_column

TABLE = "valuation/location/coefficients"
DISTANCE_COLUMNS = {
    "town": "town_km",
    "ecological_function_area": "ecological_function_area_km",
    "main_road": "main_road_km",
}
DENSITY_COLUMN = "population_per_km2"


def distance_term(
    distance_km: np.ndarray | float, weight: float, decay_km: float, neutral_km: float
) -> np.ndarray:
    """One distance-decay factor [dimensionless]; 1 at the neutral distance.

    Parameters
    ----------
    distance_km : array-like
        Distance to the nearest town / ecological function area / main road [km]; 0 = inside.
    weight : float
        Strength of the factor [dimensionless].
    decay_km : float
        e-folding distance of the decay [km].
    neutral_km : float
        Distance at which the factor is 1 [km].

    Notes
    -----
    :math:`f(d) = 1 + w\\,(e^{-d/L} - e^{-d_0/L})`, between
    :math:`1 - w e^{-d_0/L}` (remote) and :math:`1 + w (1 - e^{-d_0/L})` (at the site).

    Examples
    --------
    >>> float(distance_term(10.0, 0.5, 5.0, 10.0))
    1.0
    """
    d = np.asarray(distance_km, float)
    return 1.0 + weight * (np.exp(-d / decay_km) - np.exp(-neutral_km / decay_km))


def density_term(
    population_per_km2: np.ndarray | float, reference_per_km2: float, exponent: float
) -> np.ndarray:
    """Population-density factor :math:`(\\rho/\\rho_0)^b` [dimensionless]; 1 at the reference.

    A density of 0 gives 0 before clipping, i.e. the lower bound of the coefficient.
    """
    return np.power(np.asarray(population_per_km2, float) / reference_per_km2, exponent)


def location_coefficient(
    distances_km: Mapping[str, np.ndarray | float],
    population_per_km2: np.ndarray | float | None,
    params: Mapping[str, Any],
) -> np.ndarray:
    """Location coefficient *k* [dimensionless], clipped to ``[k_min, k_max]``.

    Parameters
    ----------
    distances_km : mapping {factor: array-like}
        Distances [km] for the factors of ``params["factors"]`` (town,
        ecological_function_area, main_road); a missing factor is neutral (1).
    population_per_km2 : array-like or None
        Population density around the site [persons/km²]; None = neutral.
    params : mapping
        The ``valuation/location/coefficients`` data.

    Notes
    -----
    :math:`k = \\mathrm{clip}\\big(\\prod_f [1 + w_f(e^{-d_f/L_f} - e^{-d_{0,f}/L_f})]
    \\cdot (\\rho/\\rho_0)^b,\\ k_{min},\\ k_{max}\\big)`.
    """
    k: np.ndarray = np.asarray(1.0)
    for name, p in params["factors"].items():
        if name in distances_km and distances_km[name] is not None:
            k = k * distance_term(
                distances_km[name], float(p["weight"]), float(p["decay_km"]), float(p["neutral_km"])
            )
    if population_per_km2 is not None:
        pd_ = params["population_density"]
        k = k * density_term(
            population_per_km2, float(pd_["reference_persons_per_km2"]), float(pd_["exponent"])
        )
    return np.clip(k, float(params["k_min"]), float(params["k_max"]))


def adjust_table(
    frame: pd.DataFrame,
    *,
    file: str | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Adjust the ``value_cny_per_yr`` of each row by its location coefficient.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``value_cny_per_yr`` [CNY/yr] and any of ``town_km``,
        ``ecological_function_area_km``, ``main_road_km`` [km], ``population_per_km2``
        [persons/km²]; other columns (ids) are kept. Blank distances are neutral.

    Returns
    -------
    (table, provenance)
        The table with ``location_coefficient``, ``value_unadjusted_cny_per_yr`` and
        ``value_adjusted_cny_per_yr``; the provenance of the parameter table.
    """
    table = refdata.get(TABLE, on=on, region=region)
    if "value_cny_per_yr" not in frame.columns:
        raise InputError("missing column", file=file, field="value_cny_per_yr")
    problems: list[Problem] = []
    numeric: dict[str, np.ndarray] = {}
    for c in ["value_cny_per_yr", *DISTANCE_COLUMNS.values(), DENSITY_COLUMN]:
        if c not in frame.columns:
            continue
        vals, not_numbers = numeric_column(frame[c], c, file)
        problems.extend(not_numbers)
        if c != "value_cny_per_yr":
            for i in np.flatnonzero(vals < 0):
                problems.append(Problem(f"negative value {vals[i]}", file, int(i) + 1, c))
        numeric[c] = vals
    for i in np.flatnonzero(np.isnan(numeric["value_cny_per_yr"])):
        problems.append(Problem("value is required", file, int(i) + 1, "value_cny_per_yr"))
    if problems:
        raise InputError(problems=problems)
    params = table.data
    k = np.ones(len(frame))
    for name, col in DISTANCE_COLUMNS.items():
        if col in numeric:
            d = numeric[col]
            p = params["factors"][name]
            term = distance_term(
                np.nan_to_num(d), float(p["weight"]), float(p["decay_km"]), float(p["neutral_km"])
            )
            k = k * np.where(np.isnan(d), 1.0, term)
    if DENSITY_COLUMN in numeric:
        rho = numeric[DENSITY_COLUMN]
        pdp = params["population_density"]
        with np.errstate(divide="ignore"):
            term = density_term(
                np.nan_to_num(rho),
                float(pdp["reference_persons_per_km2"]),
                float(pdp["exponent"]),
            )
        k = k * np.where(np.isnan(rho), 1.0, term)
    k = np.clip(k, float(params["k_min"]), float(params["k_max"]))
    out = frame.copy()
    out["value_unadjusted_cny_per_yr"] = numeric["value_cny_per_yr"]
    out["location_coefficient"] = k
    out["value_adjusted_cny_per_yr"] = numeric["value_cny_per_yr"] * k
    return out, table.provenance()


class LocationInput(BaseModel):
    """Input spec of the location adjustment of one value (blank distances are neutral)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value_cny_per_yr: float = Field(description="unadjusted value [CNY/yr]")
    town_km: float | None = Field(None, ge=0, description="distance to the nearest town [km]")
    ecological_function_area_km: float | None = Field(
        None, ge=0, description="distance to an important ecological function area [km]"
    )
    main_road_km: float | None = Field(None, ge=0, description="distance to a main road [km]")
    population_per_km2: float | None = Field(
        None, ge=0, description="population density around the site [persons/km²]"
    )


def run(
    inputs: LocationInput, on: dt.date | str | None = None, region: str | None = None
) -> dict[str, Any]:
    """Location-adjusted value of one site, beside the unadjusted value.

    Returns
    -------
    dict
        ``method``, ``value_unadjusted_cny_per_yr``, ``location_coefficient``,
        ``value_adjusted_cny_per_yr`` and ``tables``.
    """
    table = refdata.get(TABLE, on=on, region=region)
    distances = {
        name: getattr(inputs, col)
        for name, col in DISTANCE_COLUMNS.items()
        if getattr(inputs, col) is not None
    }
    k = float(location_coefficient(distances, inputs.population_per_km2, table.data))
    return {
        "method": "location-coefficient",
        "value_unadjusted_cny_per_yr": inputs.value_cny_per_yr,
        "location_coefficient": k,
        "value_adjusted_cny_per_yr": inputs.value_cny_per_yr * k,
        "tables": [table.provenance()],
    }
