"""The value stage on the demo's QS-M28: cover left as is, establishment ramps, price years.

Each test failed on the stage before issue 11 (item 4: an unrestored waste dump earned shrub-grass
value and full value came in year 1; item 10: ESV of an unstated price year sat beside costs of
2023 without a word).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.appraisal.io import parse_project, read_county
from restora.appraisal.pipeline import run_appraisal
from restora.diagnosis.county import diagnose_county

ROOT = Path(__file__).resolve().parents[2]
COUNTY = ROOT / "examples" / "demo-county"
ON = "2026-12-07"


@pytest.fixture(scope="module")
def m28() -> Any:
    county = read_county(
        [COUNTY / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        COUNTY / "context.gpkg",
    )
    diag = diagnose_county(county.register, county.context, on=ON)
    spec = parse_project(
        {
            "project_id": "T-M28",
            "name": "QS-M28 value stage test",
            "mines": ["QS-M28"],
            "start_year": 2026,
            "hazard_cost_cny_per_yr": 900000,
            "pollution_cost_cny_per_yr": 1200000,
            "risk": {"draws": 200, "seed": 1},
        },
        "<test>",
    )
    return run_appraisal(spec, county.register, diag, on=ON)


def test_sites_left_as_is_keep_their_cover_and_value(m28):
    ps = m28.value.per_site.set_index("site_id")
    assert (ps["area_basis"] == "geometry").all()  # polygons: measured, not declared areas
    left = ps[ps["after_use"] == "leave_as_is"]
    assert len(left) >= 1  # the waste-rock dump and the open pit of QS-M28
    assert (left["type_after"] == left["type_before"]).all()
    np.testing.assert_allclose(left["esv_after_cny_per_yr"], left["esv_before_cny_per_yr"])


def test_value_comes_along_the_establishment_ramp_not_in_year_one(m28):
    v = m28.value
    first_end = min(v.works_end.values())
    before, after = v.esv_before_cny_per_yr, v.esv_after_cny_per_yr
    path = dict(zip(v.years.tolist(), v.esv_by_year.tolist(), strict=True))
    # until the first works finish nothing has changed
    assert all(path[y] == pytest.approx(before) for y in v.years if y <= first_end)
    # never above the mature value, never falling, and still short of it five years on
    assert np.all(np.diff(v.esv_by_year) >= -1e-9) and np.all(v.esv_by_year <= after + 1e-6)
    assert path[max(v.works_end.values()) + 5] < before + 0.9 * (after - before)
    # the value-stage curve is net loss while the hazards and pollution are untreated
    years = v.stages["years"]
    assert years[0]["stage_code"] == "STAGE-NET-LOSS"


def test_value_and_cost_share_one_price_year_by_the_cpi(m28):
    v, c = m28.value, m28.cost
    assert v.price_year == c.price_year == 2023 and v.source_price_year == 2010
    chain = np.prod(
        np.array([105.4, 102.6, 102.6, 102.0, 101.4, 102.0, 101.6, 102.1, 102.9, 102.5,
                  100.9, 102.0, 100.2]) / 100
    )  # fmt: skip  # NBS CPI 2011 … 2023 (previous year = 100)
    assert v.cpi_factor == pytest.approx(chain)
    doc = v.to_json()
    assert doc["price_basis"]["price_year"] == 2023
    assert doc["esv"]["before_cny_per_yr"] == pytest.approx(
        doc["esv"]["before_source_prices_cny_per_yr"] * chain
    )


def test_development_follows_the_operations_ramp_year_by_year():
    """Operations from 2031 with a one-year ramp earn 50 % then 100 % of the mature income
    (revenue.operations.ramp: share (k + 1)/(m + 1)); the stage curve credited the full income
    one year early before (development_years = m instead of m + 1)."""
    county = read_county(
        [COUNTY / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        COUNTY / "context.gpkg",
    )
    diag = diagnose_county(county.register, county.context, on=ON)
    spec = parse_project(
        {
            "project_id": "T-M28-OPS",
            "name": "QS-M28 with operations",
            "mines": ["QS-M28"],
            "start_year": 2026,
            "revenue_streams": [
                {"stream": "operations", "name": "ops", "after_use": "forestry",
                 "start_year": 2031, "years": 10, "mature_income": 1_000_000, "ramp_years": 1}
            ],
            "risk": {"draws": 200, "seed": 1},
        },
        "<test>",
    )  # fmt: skip
    v = run_appraisal(spec, county.register, diag, on=ON).value
    assert max(v.works_end.values()) < 2031
    esv = dict(zip(v.years.tolist(), v.esv_by_year.tolist(), strict=True))
    years = {r["year"]: r["value_cny_per_yr"] for r in v.stages["years"]}
    assert years[2030] == pytest.approx(esv[2030])
    # mature in 2032: 1 000 000 of 2032 at 2023 prices (costing escalation 1.8 %/yr)
    real = 1_000_000 / 1.018 ** (2032 - 2023)
    assert v.stages["development_income"]["real_cny_per_yr"] == pytest.approx(real)
    assert years[2031] == pytest.approx(esv[2031] + 0.5 * real)  # share 1/2
    assert years[2032] == pytest.approx(esv[2032] + real)  # mature


def test_gep_states_the_price_year_of_each_indicator_and_its_cpi_factor():
    """GEP unit prices of 2010 (valuation/gep/unit_prices) brought to 2023 prices: the section
    names each indicator's source year and the CPI factor, as ESV's price_basis does."""
    from restora.appraisal.io import read_project
    from restora.appraisal.stages.value import _gep

    spec, _ = read_project(ROOT / "examples" / "demo-projects" / "QS-M28.yaml")
    g, _ = _gep(spec, 2023, ON, None)
    basis = g.to_json()["price_basis"]
    assert basis["price_year"] == 2023 and basis["basis"] == "real"
    assert basis["source_price_years"]["carbon_fixation"] == 2010
    chain = np.prod(
        np.array([105.4, 102.6, 102.6, 102.0, 101.4, 102.0, 101.6, 102.1, 102.9, 102.5,
                  100.9, 102.0, 100.2]) / 100
    )  # fmt: skip
    assert basis["cpi_factors"]["2010"] == pytest.approx(chain)
