"""Functional-value GEP accounting (gross ecosystem product), after China's GEP specification.

Each indicator has a physical quantity, a unit price (reference data, with its price year) and a
value = quantity × price. Indicators implemented (category in brackets):

- carbon fixation and oxygen release from NPP, or carbon fixation from a stock change
  [regulating];
- water conservation by water balance [regulating];
- soil retention by RUSLE, valued by avoided sediment deposition and nutrient loss [regulating];
- air purification (SO2, NOx, dust) [regulating];
- flood regulation of lakes, reservoirs and marshes [regulating];
- recreation by visitors × spending or the travel-cost sum [cultural];
- material products as quantities × market prices [material].

The pure functions work on numpy arrays (zones, pixels); :class:`ZoneInput` is the frozen input
spec (units and ranges) of one zone, and :func:`run_zones` accounts a per-zone table.

References
----------
NDRC & NBS, 生态产品总值核算规范（试行）, 发改基础〔2022〕481号. Terrestrial GEP technical
guideline, MEE Environmental Planning Institute and CAS Research Center for Eco-Environmental
Sciences. Ouyang Z.Y. et al. 2013, Acta Ecologica Sinica 33(21): 6747-6761 (GEP concept).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import annotated_types
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from restora import refdata, units
from restora.errors import InputError, Problem
from restora.units import M2_PER_HM2
from restora.valuation.co2 import co2_per_carbon
from restora.valuation.columns import numeric_column
from restora.valuation.prices import PriceIndex

STOICHIOMETRY_TABLE = "valuation/gep/stoichiometry"
PRICES_TABLE = "valuation/gep/unit_prices"
SOIL_TABLE = "valuation/gep/soil_retention"
FLOOD_TABLE = "valuation/gep/flood_regulation"
M_PER_MM = 1e-3
M2_PER_KM2 = 1e6


# --------------------------------------------------------------------------- pure functions


def carbon_fixation_from_npp(
    npp_t_dm_per_hm2: np.ndarray | float, area_hm2: np.ndarray | float, co2_per_dry_matter: float
) -> np.ndarray:
    """CO2 fixed by vegetation [t CO2/yr].

    Parameters
    ----------
    npp_t_dm_per_hm2 : array-like
        Net primary production [t dry matter/hm²/yr].
    area_hm2 : array-like
        Area [hm²].
    co2_per_dry_matter : float
        CO2 fixed per dry matter [t/t] (``valuation/gep/stoichiometry``: 1.63).

    Notes
    -----
    :math:`Q_{CO_2} = 1.63 \\cdot NPP \\cdot A` (photosynthesis stoichiometry).

    Examples
    --------
    >>> round(float(carbon_fixation_from_npp(10.0, 2.0, 1.63)), 6)
    32.6
    """
    return np.asarray(npp_t_dm_per_hm2, float) * np.asarray(area_hm2, float) * co2_per_dry_matter


def oxygen_release_from_npp(
    npp_t_dm_per_hm2: np.ndarray | float, area_hm2: np.ndarray | float, o2_per_dry_matter: float
) -> np.ndarray:
    """O2 released by vegetation [t O2/yr].

    Parameters
    ----------
    npp_t_dm_per_hm2 : array-like
        Net primary production [t dry matter/hm²/yr].
    area_hm2 : array-like
        Area [hm²].
    o2_per_dry_matter : float
        O2 released per dry matter [t/t] (``valuation/gep/stoichiometry``: 1.19).

    Notes
    -----
    :math:`Q_{O_2} = 1.19 \\cdot NPP \\cdot A`.
    """
    return np.asarray(npp_t_dm_per_hm2, float) * np.asarray(area_hm2, float) * o2_per_dry_matter


def carbon_fixation_from_stock_change(
    carbon_stock_change_t_c: np.ndarray | float, years: float, co2_per_carbon: float
) -> np.ndarray:
    """Mean annual CO2 fixed from a change of carbon stock [t CO2/yr].

    Parameters
    ----------
    carbon_stock_change_t_c : array-like
        Stock at the end minus stock at the start [t C].
    years : float
        Length of the period [yr].
    co2_per_carbon : float
        Mass ratio CO2/C [t/t] (44/12).

    Notes
    -----
    :math:`Q_{CO_2} = \\frac{44}{12} \\cdot \\Delta C / T`.
    """
    if years <= 0:
        raise InputError("the period must be positive", field="years")
    return np.asarray(carbon_stock_change_t_c, float) * co2_per_carbon / years


def water_conservation(
    precipitation_mm: np.ndarray | float,
    runoff_mm: np.ndarray | float,
    evapotranspiration_mm: np.ndarray | float,
    area_hm2: np.ndarray | float,
) -> np.ndarray:
    """Water conserved by the water balance [m³/yr].

    Parameters
    ----------
    precipitation_mm, runoff_mm, evapotranspiration_mm : array-like
        Annual precipitation P, storm runoff R and evapotranspiration ET [mm/yr].
    area_hm2 : array-like
        Area [hm²].

    Notes
    -----
    :math:`Q_w = \\sum_i (P_i - R_i - ET_i) \\cdot A_i`; 1 mm over 1 hm² is 10 m³. A negative
    balance is kept (the zone consumes water), as the formula defines it.

    Examples
    --------
    >>> float(water_conservation(800.0, 200.0, 450.0, 3.0))
    4500.0
    """
    depth_m = (
        np.asarray(precipitation_mm, float)
        - np.asarray(runoff_mm, float)
        - np.asarray(evapotranspiration_mm, float)
    ) * M_PER_MM
    return depth_m * np.asarray(area_hm2, float) * M2_PER_HM2


def soil_retention(
    r: np.ndarray | float,
    k: np.ndarray | float,
    ls: np.ndarray | float,
    c: np.ndarray | float,
    p: np.ndarray | float,
    area_hm2: np.ndarray | float,
) -> np.ndarray:
    """Soil retained by vegetation and practices, RUSLE [t/yr].

    Parameters
    ----------
    r : array-like
        Rainfall erosivity [MJ·mm/(hm²·h·yr)].
    k : array-like
        Soil erodibility [t·hm²·h/(hm²·MJ·mm)].
    ls : array-like
        Slope length and steepness factor [dimensionless].
    c, p : array-like
        Cover-management and support-practice factors [dimensionless, 0-1].
    area_hm2 : array-like
        Area [hm²].

    Notes
    -----
    :math:`A_c = A_p - A = R K LS - R K LS C P = R K LS (1 - C P)` [t/hm²/yr], times area.

    References
    ----------
    Renard K.G. et al. 1997, USDA Agriculture Handbook 703 (RUSLE); NDRC & NBS 2022 GEP
    specification, soil retention.

    Examples
    --------
    >>> float(soil_retention(300.0, 0.02, 2.0, 0.1, 1.0, 5.0))
    54.0
    """
    potential = np.asarray(r, float) * np.asarray(k, float) * np.asarray(ls, float)
    return (
        potential
        * (1.0 - np.asarray(c, float) * np.asarray(p, float))
        * np.asarray(area_hm2, float)
    )


def soil_retention_value(
    retained_t: np.ndarray | float,
    bulk_density_t_per_m3: np.ndarray | float,
    nitrogen_fraction: np.ndarray | float,
    phosphorus_fraction: np.ndarray | float,
    sediment_deposition_share: float,
    dredging_cny_per_m3: float,
    nitrogen_cny_per_t: float,
    phosphorus_cny_per_t: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Value of soil retention: avoided sediment deposition and avoided nutrient loss [CNY/yr].

    Parameters
    ----------
    retained_t : array-like
        Soil retained A_c [t/yr].
    bulk_density_t_per_m3 : array-like
        Soil bulk density ρ [t/m³].
    nitrogen_fraction, phosphorus_fraction : array-like
        N and P contents of the soil [mass fraction, t/t].
    sediment_deposition_share : float
        λ, share of eroded soil deposited in reservoirs, rivers and lakes [dimensionless].
    dredging_cny_per_m3 : float
        Dredging cost [CNY/m³].
    nitrogen_cny_per_t, phosphorus_cny_per_t : float
        Removal costs of N and P [CNY/t].

    Returns
    -------
    (sediment value, nutrient value) : tuple of numpy.ndarray [CNY/yr]

    Notes
    -----
    :math:`V_{sd} = \\lambda A_c / \\rho \\cdot c_{dredge}`;
    :math:`V_{dpl} = A_c (N \\cdot c_N + P \\cdot c_P)`.
    """
    ac = np.asarray(retained_t, float)
    sediment = sediment_deposition_share * ac / np.asarray(bulk_density_t_per_m3, float)
    nutrients = ac * (
        np.asarray(nitrogen_fraction, float) * nitrogen_cny_per_t
        + np.asarray(phosphorus_fraction, float) * phosphorus_cny_per_t
    )
    return sediment * dredging_cny_per_m3, nutrients


def air_purification(
    area_hm2: np.ndarray | float, absorption_t_per_hm2: np.ndarray | float
) -> np.ndarray:
    """Pollutant absorbed or retained by vegetation [t/yr].

    Parameters
    ----------
    area_hm2 : array-like
        Area [hm²].
    absorption_t_per_hm2 : array-like
        Purification capacity for one pollutant (SO2, NOx or dust) [t/hm²/yr].

    Notes
    -----
    :math:`Q_{ap} = \\sum_i Q_i \\cdot A`; value = :math:`Q_{ap} \\times` treatment cost.
    """
    return np.asarray(area_hm2, float) * np.asarray(absorption_t_per_hm2, float)


def lake_flood_storage(
    lake_area_km2: np.ndarray | float,
    t: np.ndarray | float,
    ln_a: float,
    b: float,
    storage_unit_m3: float,
) -> np.ndarray:
    """Flood storage of lakes from the area regression [m³].

    Parameters
    ----------
    lake_area_km2 : array-like
        Lake surface area A [km²].
    t : array-like
        The regression's multiplier T [dimensionless].
    ln_a, b : float
        Regression coefficients (``valuation/gep/flood_regulation``: 6.636, 0.678).
    storage_unit_m3 : float
        The unit of the regression's C [m³] (10^4 m³).

    Notes
    -----
    :math:`C = e^{6.636} \\cdot A^{0.678} \\cdot T`.
    """
    area = np.asarray(lake_area_km2, float)
    return np.exp(ln_a) * np.power(area, b) * np.asarray(t, float) * storage_unit_m3


def reservoir_flood_storage(total_storage_m3: np.ndarray | float, share: float) -> np.ndarray:
    """Flood storage of reservoirs [m³]: ``share`` (0.35) × total storage [m³]."""
    return np.asarray(total_storage_m3, float) * share


def marsh_flood_storage(area_hm2: np.ndarray | float, depth_m: np.ndarray | float) -> np.ndarray:
    """Flood storage of marshes [m³]: area [hm²] × storage depth [m]."""
    return np.asarray(area_hm2, float) * M2_PER_HM2 * np.asarray(depth_m, float)


def recreation_value(
    visitors_per_yr: np.ndarray | float, spend_cny_per_visitor: np.ndarray | float
) -> np.ndarray:
    """Recreation value by visitors × spending, or by the travel-cost sum [CNY/yr].

    Parameters
    ----------
    visitors_per_yr : array-like
        Visits per year [visits/yr].
    spend_cny_per_visitor : array-like
        Spending per visit, or for the travel-cost form the travel cost per visit
        (transport + time cost + on-site expenses) [CNY/visit].

    Notes
    -----
    :math:`V_r = \\sum_j N_j \\cdot c_j` over visitor groups (origin zones) *j*.
    """
    return np.asarray(visitors_per_yr, float) * np.asarray(spend_cny_per_visitor, float)


# --------------------------------------------------------------------------- the zone spec


def _f(
    description: str,
    unit: str,
    ge: float | None = 0.0,
    le: float | None = None,
) -> Any:
    return Field(None, ge=ge, le=le, description=description, json_schema_extra={"unit": unit})


class ZoneInput(BaseModel):
    """Inputs of GEP accounting for one zone; an indicator runs when all its inputs are given.

    Every field carries its unit (``json_schema_extra["unit"]``) and range.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    zone_id: str = Field(description="zone identifier")
    area_hm2: float = Field(ge=0, description="zone area", json_schema_extra={"unit": "hm2"})
    npp_t_dm_per_hm2: float | None = _f("net primary production", "t/hm2/yr", 0, 100)
    carbon_stock_change_t_c: float | None = _f(
        "carbon stock change over the period", "t C", None, None
    )
    stock_change_years: float | None = _f("length of the stock-change period", "yr", 0, 200)
    precipitation_mm: float | None = _f("annual precipitation P", "mm/yr", 0, 20000)
    runoff_mm: float | None = _f("annual storm runoff R", "mm/yr", 0, 20000)
    evapotranspiration_mm: float | None = _f("annual evapotranspiration ET", "mm/yr", 0, 5000)
    rusle_r: float | None = _f("rainfall erosivity R", "MJ*mm/(hm2*h*yr)", 0, 100000)
    rusle_k: float | None = _f("soil erodibility K", "t*hm2*h/(hm2*MJ*mm)", 0, 1)
    rusle_ls: float | None = _f("slope length-steepness LS", "dimensionless", 0, 200)
    rusle_c: float | None = _f("cover-management C", "dimensionless", 0, 1)
    rusle_p: float | None = _f("support practice P", "dimensionless", 0, 1)
    bulk_density_t_per_m3: float | None = _f("soil bulk density", "t/m**3", 0.5, 2.5)
    soil_n_fraction: float | None = _f("soil total N content", "t/t", 0, 0.1)
    soil_p_fraction: float | None = _f("soil total P content", "t/t", 0, 0.1)
    so2_t_per_hm2: float | None = _f("SO2 purification capacity", "t/hm2/yr", 0, 10)
    nox_t_per_hm2: float | None = _f("NOx purification capacity", "t/hm2/yr", 0, 10)
    dust_t_per_hm2: float | None = _f("dust retention capacity", "t/hm2/yr", 0, 1000)
    lake_area_km2: float | None = _f("lake surface area", "km2", 0, 10000)
    lake_t: float | None = _f("lake regression multiplier T", "dimensionless", 0, 100)
    reservoir_storage_m3: float | None = _f("reservoir total storage", "m**3", 0, 1e12)
    marsh_area_hm2: float | None = _f("marsh area", "hm2", 0, 1e7)
    marsh_depth_m: float | None = _f("marsh flood storage depth", "m", 0, 20)
    visitors_per_yr: float | None = _f("visits per year", "visits/yr", 0, 1e9)
    spend_cny_per_visitor: float | None = _f(
        "spending or travel cost per visit", "CNY/visit", 0, 1e6
    )
    material_value_cny: float | None = _f(
        "material products: Σ quantity × market price, at the price year", "CNY/yr", 0, None
    )


NUMERIC_FIELDS = tuple(n for n in ZoneInput.model_fields if n != "zone_id")


def field_units() -> dict[str, str]:
    """Unit of each :class:`ZoneInput` field (for docs, CLI help and API schemas)."""
    return units.field_units(ZoneInput)


def _bounds(name: str) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in ZoneInput.model_fields[name].metadata:
        if isinstance(m, annotated_types.Ge):
            lo = float(m.ge)  # type: ignore[arg-type]
        elif isinstance(m, annotated_types.Le):
            hi = float(m.le)  # type: ignore[arg-type]
    return lo, hi


def validate_zones(frame: pd.DataFrame, file: str | None = None) -> pd.DataFrame:
    """Check a zone table against :class:`ZoneInput` (vectorised); numeric columns as float.

    Raises
    ------
    InputError
        Unknown columns, missing ``zone_id``/``area_hm2``, non-numbers, values out of range;
        every problem names the file, the 1-based row and the column.
    """
    problems: list[Problem] = []
    unknown = [c for c in frame.columns if c not in ZoneInput.model_fields]
    for c in unknown:
        problems.append(Problem("unknown column (see `restora value gep --help`)", file, None, c))
    for c in ("zone_id", "area_hm2"):
        if c not in frame.columns:
            problems.append(Problem("required column is missing", file, None, c))
    if problems:
        raise InputError(problems=problems)
    out = pd.DataFrame({"zone_id": frame["zone_id"].astype(str)})
    for c in NUMERIC_FIELDS:
        if c not in frame.columns:
            out[c] = np.nan
            continue
        vals, not_numbers = numeric_column(frame[c], c, file)
        problems.extend(not_numbers)
        lo, hi = _bounds(c)
        with np.errstate(invalid="ignore"):
            bad = np.zeros(len(vals), dtype=bool)
            if lo is not None:
                bad |= vals < lo
            if hi is not None:
                bad |= vals > hi
        for i in np.flatnonzero(bad):
            problems.append(
                Problem(
                    f"{vals[i]} is outside [{lo}, {hi}] {field_units().get(c, '')}",
                    file,
                    int(i) + 1,
                    c,
                )
            )
        out[c] = vals
    for i in np.flatnonzero(np.isnan(out["area_hm2"].to_numpy())):
        problems.append(Problem("area is required", file, int(i) + 1, "area_hm2"))
    if problems:
        raise InputError(problems=problems)
    return out


# --------------------------------------------------------------------------- accounting


@dataclass(frozen=True)
class GepResult:
    """Per-zone indicator rows and totals, with the tables and price year used."""

    rows: pd.DataFrame
    price_year: int | None
    tables: list[dict[str, Any]]
    method: str = "gep-functional-value"

    def totals(self) -> dict[str, Any]:
        r = self.rows
        return {
            "total_cny_per_yr": float(r["value_cny_per_yr"].sum()),
            "by_category": {
                k: float(v) for k, v in r.groupby("category")["value_cny_per_yr"].sum().items()
            },
            "by_indicator": {
                k: float(v) for k, v in r.groupby("indicator")["value_cny_per_yr"].sum().items()
            },
            "by_zone": {
                k: float(v) for k, v in r.groupby("zone_id")["value_cny_per_yr"].sum().items()
            },
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``restora value gep``."""
        return {
            "method": self.method,
            "price_year": self.price_year,
            **self.totals(),
            "rows": self.rows.to_dict("records"),
            "tables": self.tables,
        }


def _prices(
    on: dt.date | str | None, region: str | None
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    t = refdata.get(PRICES_TABLE, on=on, region=region)
    return {row["item"]: row for row in t.frame().to_dict("records")}, t.provenance()


def run_zones(
    zones: pd.DataFrame,
    *,
    target_price_year: int | None = None,
    input_price_year: int | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
    index: PriceIndex | None = None,
    file: str | None = None,
) -> GepResult:
    """Account GEP for a table of zones (columns of :class:`ZoneInput`).

    Parameters
    ----------
    zones : pandas.DataFrame
        One row per zone; an indicator is computed for the zones where all its inputs are
        present (not NaN).
    target_price_year : int, optional
        Convert every value to CNY of this year (CPI table, or ``index``); by default values
        stay at the unit prices' year.
    input_price_year : int, optional
        Price year of the money inputs ``spend_cny_per_visitor`` and ``material_value_cny``
        (required to convert them to ``target_price_year``).

    Returns
    -------
    GepResult
        Long table ``zone_id, category, indicator, quantity, quantity_unit, unit_price,
        price_unit, price_year, value_cny_per_yr``.
    """
    z = validate_zones(zones, file)
    prices, price_prov = _prices(on, region)
    stoich_t = refdata.get(STOICHIOMETRY_TABLE, on=on, region=region)
    soil_t = refdata.get(SOIL_TABLE, on=on, region=region)
    flood_t = refdata.get(FLOOD_TABLE, on=on, region=region)
    st, so, fl = stoich_t.data, soil_t.data, flood_t.data
    co2_per_c, co2_prov = co2_per_carbon(on=on, region=region)
    tables = [
        price_prov,
        stoich_t.provenance(),
        co2_prov,
        soil_t.provenance(),
        flood_t.provenance(),
    ]
    parts: list[pd.DataFrame] = []

    def has(*cols: str) -> np.ndarray:
        return np.logical_and.reduce([~np.isnan(z[c].to_numpy()) for c in cols])

    def add(
        mask: np.ndarray,
        category: str,
        indicator: str,
        quantity: np.ndarray,
        q_unit: str,
        value: np.ndarray,
        unit_price: float | None,
        price_unit: str,
        price_year: int | None,
    ) -> None:
        if not mask.any():
            return
        q = np.broadcast_to(quantity, mask.shape)[mask]
        v = np.broadcast_to(value, mask.shape)[mask]
        parts.append(
            pd.DataFrame(
                {
                    "zone_id": z["zone_id"].to_numpy()[mask],
                    "category": category,
                    "indicator": indicator,
                    "quantity": q,
                    "quantity_unit": q_unit,
                    "unit_price": unit_price,
                    "price_unit": price_unit,
                    "price_year": price_year,
                    "value_cny_per_yr": v,
                }
            )
        )

    def add_priced(
        mask: np.ndarray,
        category: str,
        indicator: str,
        quantity: np.ndarray,
        q_unit: str,
        price_row: Mapping[str, Any],
    ) -> None:
        # valued at a reference unit price: value = quantity × price
        unit_price = float(price_row["price"])
        add(
            mask,
            category,
            indicator,
            quantity,
            q_unit,
            quantity * unit_price,
            unit_price,
            str(price_row["unit"]),
            int(price_row["price_year"]),
        )

    area = z["area_hm2"].to_numpy()
    col = {c: z[c].to_numpy() for c in NUMERIC_FIELDS}
    # Carbon fixation: the afforestation cost is per t C; per t CO2 it is price × 12/44.
    pc = prices["carbon_afforestation"]
    co2_price = float(pc["price"]) / co2_per_c
    m_npp = has("npp_t_dm_per_hm2")
    co2 = carbon_fixation_from_npp(col["npp_t_dm_per_hm2"], area, float(st["co2_per_dry_matter"]))
    add(
        m_npp,
        "regulating",
        "carbon_fixation",
        co2,
        "t CO2/yr",
        co2 * co2_price,
        co2_price,
        "CNY/t CO2",
        int(pc["price_year"]),
    )
    m_stock = has("carbon_stock_change_t_c", "stock_change_years") & ~m_npp
    if m_stock.any():
        years = np.where(m_stock, col["stock_change_years"], 1.0)
        if (years[m_stock] <= 0).any():
            raise InputError(
                "stock_change_years must be positive", file=file, field="stock_change_years"
            )
        co2s = np.asarray(col["carbon_stock_change_t_c"], float) * co2_per_c / years
        add(
            m_stock,
            "regulating",
            "carbon_fixation",
            co2s,
            "t CO2/yr",
            co2s * co2_price,
            co2_price,
            "CNY/t CO2",
            int(pc["price_year"]),
        )
    po = prices["oxygen_industrial"]
    o2 = oxygen_release_from_npp(col["npp_t_dm_per_hm2"], area, float(st["o2_per_dry_matter"]))
    add_priced(m_npp, "regulating", "oxygen_release", o2, "t O2/yr", po)
    pr = prices["reservoir_storage"]
    m_w = has("precipitation_mm", "runoff_mm", "evapotranspiration_mm")
    qw = water_conservation(
        col["precipitation_mm"], col["runoff_mm"], col["evapotranspiration_mm"], area
    )
    add_priced(m_w, "regulating", "water_conservation", qw, "m3/yr", pr)
    m_s = has("rusle_r", "rusle_k", "rusle_ls", "rusle_c", "rusle_p")
    ac = soil_retention(
        col["rusle_r"], col["rusle_k"], col["rusle_ls"], col["rusle_c"], col["rusle_p"], area
    )
    pd_, pn, pp = prices["dredging"], prices["nitrogen_removal"], prices["phosphorus_removal"]
    m_sv = m_s & has("bulk_density_t_per_m3", "soil_n_fraction", "soil_p_fraction")
    # Retained soil without the inputs to value it: reported as a quantity, value null.
    add(
        m_s & ~m_sv,
        "regulating",
        "soil_retention",
        ac,
        "t/yr",
        np.full_like(ac, np.nan),
        None,
        "not valued: needs bulk_density_t_per_m3, soil_n_fraction, soil_p_fraction",
        None,
    )
    sed_v, nut_v = soil_retention_value(
        ac,
        col["bulk_density_t_per_m3"],
        col["soil_n_fraction"],
        col["soil_p_fraction"],
        float(so["sediment_deposition_share"]),
        float(pd_["price"]),
        float(pn["price"]),
        float(pp["price"]),
    )
    sed_q = float(so["sediment_deposition_share"]) * ac / col["bulk_density_t_per_m3"]
    add(
        m_sv,
        "regulating",
        "soil_retention_sediment",
        sed_q,
        "m3/yr",
        sed_v,
        float(pd_["price"]),
        str(pd_["unit"]),
        int(pd_["price_year"]),
    )
    nut_q = ac * (col["soil_n_fraction"] + col["soil_p_fraction"])
    add(
        m_sv,
        "regulating",
        "soil_retention_nutrients",
        nut_q,
        "t N+P/yr",
        nut_v,
        None,
        "CNY/t N and P (nitrogen_removal, phosphorus_removal)",
        int(pn["price_year"]),
    )
    for pollutant, item in (
        ("so2", "so2_treatment"),
        ("nox", "nox_treatment"),
        ("dust", "dust_removal"),
    ):
        c = f"{pollutant}_t_per_hm2"
        q = air_purification(area, col[c])
        pi = prices[item]
        add_priced(has(c), "regulating", f"air_purification_{pollutant}", q, "t/yr", pi)
    lake = lake_flood_storage(
        col["lake_area_km2"],
        col["lake_t"],
        float(fl["lake_ln_a"]),
        float(fl["lake_b"]),
        float(fl["lake_storage_unit_m3"]),
    )
    res = reservoir_flood_storage(
        col["reservoir_storage_m3"], float(fl["reservoir_share_of_total_storage"])
    )
    marsh = marsh_flood_storage(col["marsh_area_hm2"], col["marsh_depth_m"])
    m_l, m_r, m_m = (
        has("lake_area_km2", "lake_t"),
        has("reservoir_storage_m3"),
        has("marsh_area_hm2", "marsh_depth_m"),
    )
    flood = np.where(m_l, lake, 0.0) + np.where(m_r, res, 0.0) + np.where(m_m, marsh, 0.0)
    add_priced(m_l | m_r | m_m, "regulating", "flood_regulation", flood, "m3", pr)
    m_v = has("visitors_per_yr", "spend_cny_per_visitor")
    rv = recreation_value(col["visitors_per_yr"], col["spend_cny_per_visitor"])
    add(
        m_v,
        "cultural",
        "recreation",
        col["visitors_per_yr"],
        "visits/yr",
        rv,
        None,
        "CNY/visit (input)",
        input_price_year,
    )
    m_mat = has("material_value_cny")
    add(
        m_mat,
        "material",
        "material_products",
        col["material_value_cny"],
        "CNY/yr",
        col["material_value_cny"],
        None,
        "market prices (input)",
        input_price_year,
    )
    rows = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            columns=[
                "zone_id",
                "category",
                "indicator",
                "quantity",
                "quantity_unit",
                "unit_price",
                "price_unit",
                "price_year",
                "value_cny_per_yr",
            ]
        )
    )
    if target_price_year is not None and len(rows):
        idx = index or PriceIndex.load()
        years = rows["price_year"]
        unpriced = years.isna() & rows["value_cny_per_yr"].fillna(0).ne(0)
        if unpriced.any():
            missing = sorted(set(rows.loc[unpriced, "indicator"]))
            raise InputError(
                f"no price year for {missing}; give input_price_year for money inputs",
                file=file,
                field="input_price_year",
            )
        factors = {int(y): idx.factor(int(y), target_price_year) for y in set(years.dropna())}
        f = years.map(lambda y: 1.0 if pd.isna(y) else factors[int(y)]).astype(float)
        rows["value_cny_per_yr"] = rows["value_cny_per_yr"] * f
        rows["unit_price"] = rows["unit_price"].astype(float) * f
        rows["value_price_year"] = target_price_year
        tables.append(dict(idx.provenance or {"name": idx.name}))
    else:
        rows["value_price_year"] = rows["price_year"]
    valued = rows[rows["value_cny_per_yr"].fillna(0).ne(0)] if len(rows) else rows
    years_out = set(valued["value_price_year"]) if len(valued) else set()
    # One price year for the result only when every valued row has the same known one.
    price_year = target_price_year
    if price_year is None and len(years_out) == 1:
        only = years_out.pop()
        price_year = None if only is None or pd.isna(only) else int(only)
    return GepResult(rows=rows, price_year=price_year, tables=tables)


def zone_from_mapping(doc: Mapping[str, Any]) -> ZoneInput:
    """One zone from a mapping, validated by the spec (for API use)."""
    return ZoneInput.model_validate(dict(doc))


def run(
    inputs: ZoneInput,
    *,
    target_price_year: int | None = None,
    input_price_year: int | None = None,
    on: dt.date | str | None = None,
    region: str | None = None,
) -> GepResult:
    """Account GEP for one zone given as the frozen spec (see :func:`run_zones`)."""
    frame = pd.DataFrame([inputs.model_dump()])
    frame = frame.dropna(axis=1, how="all")
    return run_zones(
        frame,
        target_price_year=target_price_year,
        input_price_year=input_price_year,
        on=on,
        region=region,
    )
