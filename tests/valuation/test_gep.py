"""GEP functional-value accounting against hand calculations with the guideline's formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora import refdata
from restora.cli import app
from restora.errors import InputError
from restora.valuation import gep

runner = CliRunner()


def test_stoichiometric_coefficients_are_reference_data():
    data = refdata.get("valuation/gep/stoichiometry").data
    assert (data["co2_per_dry_matter"], data["o2_per_dry_matter"]) == (1.63, 1.19)
    from restora.valuation.co2 import co2_per_carbon

    assert co2_per_carbon()[0] == pytest.approx(44 / 12)


def test_npp_to_co2_and_o2():
    # NPP 5 t/hm²/yr over 10 hm²: CO2 = 1.63 × 50 = 81.5 t; O2 = 1.19 × 50 = 59.5 t
    assert gep.carbon_fixation_from_npp(5.0, 10.0, 1.63) == pytest.approx(81.5)
    assert gep.oxygen_release_from_npp(5.0, 10.0, 1.19) == pytest.approx(59.5)
    # stock change +30 t C over 5 yr: 30 × 44/12 / 5 = 22 t CO2/yr
    assert gep.carbon_fixation_from_stock_change(30.0, 5.0, 44 / 12) == pytest.approx(22.0)


def test_water_balance():
    # (1200 − 300 − 600) mm = 300 mm = 0.3 m over 4 hm² (40 000 m²) = 12 000 m³
    assert gep.water_conservation(1200, 300, 600, 4.0) == pytest.approx(12_000.0)
    # a deficit is kept: (400 − 50 − 450) = −100 mm over 1 hm² = −1000 m³
    assert gep.water_conservation(400, 50, 450, 1.0) == pytest.approx(-1000.0)


def test_rusle_soil_retention_and_value():
    # R 300, K 0.02, LS 2: A_p = 12 t/hm²; C 0.1, P 1: A = 1.2; A_c = 10.8 t/hm² × 10 hm² = 108 t
    ac = gep.soil_retention(300, 0.02, 2.0, 0.1, 1.0, 10.0)
    assert ac == pytest.approx(108.0)
    # sediment: 0.24 × 108 / 1.3 = 19.938 m³ × 15.58 = 310.64 CNY
    # nutrients: 108 × (0.001 × 875 + 0.0005 × 2800) = 108 × 2.275 = 245.70 CNY
    sed, nut = gep.soil_retention_value(ac, 1.3, 0.001, 0.0005, 0.24, 15.58, 875, 2800)
    assert sed == pytest.approx(0.24 * 108 / 1.3 * 15.58)
    assert nut == pytest.approx(245.70)


def test_lake_regression_reservoir_and_marsh():
    # C = e^6.636 × A^0.678 × T; A = 2 km², T = 2:
    # e^6.636 = 762.05; 2^0.678 = 1.59995; C = 762.05 × 1.59995 × 2 = 2438.5 (10^4 m³)
    c = gep.lake_flood_storage(2.0, 2.0, 6.636, 0.678, 1e4)
    assert c == pytest.approx(2438.5e4, rel=1e-4)
    assert c == pytest.approx(math.exp(6.636) * 2**0.678 * 2 * 1e4)
    # reservoir: 0.35 × 1 000 000 m³; marsh: 5 hm² × 0.5 m = 25 000 m³
    assert gep.reservoir_flood_storage(1e6, 0.35) == pytest.approx(350_000.0)
    assert gep.marsh_flood_storage(5.0, 0.5) == pytest.approx(25_000.0)


def test_recreation_and_air():
    assert gep.recreation_value(np.array([1000, 200]), np.array([50, 300])).sum() == 110_000
    assert gep.air_purification(10.0, 0.1) == pytest.approx(1.0)


ZONE = {
    "zone_id": "z1",
    "area_hm2": 10,
    "npp_t_dm_per_hm2": 5,
    "precipitation_mm": 800,
    "runoff_mm": 200,
    "evapotranspiration_mm": 450,
    "rusle_r": 300,
    "rusle_k": 0.02,
    "rusle_ls": 2,
    "rusle_c": 0.1,
    "rusle_p": 1,
    "bulk_density_t_per_m3": 1.3,
    "soil_n_fraction": 0.001,
    "soil_p_fraction": 0.0005,
    "so2_t_per_hm2": 0.1,
    "reservoir_storage_m3": 100_000,
    "visitors_per_yr": 1000,
    "spend_cny_per_visitor": 50,
}


def test_run_zones_hand_worked():
    r = gep.run_zones(pd.DataFrame([ZONE]), input_price_year=2010)
    v = dict(zip(r.rows["indicator"], r.rows["value_cny_per_yr"], strict=True))
    # carbon: 81.5 t CO2 × (380 CNY/t C × 12/44 = 103.636 CNY/t CO2) = 8446.36
    assert v["carbon_fixation"] == pytest.approx(81.5 * 380 * 12 / 44)
    # oxygen: 59.5 t × 727 = 43 256.5
    assert v["oxygen_release"] == pytest.approx(43_256.5)
    # water: (800 − 200 − 450) mm = 0.15 m × 100 000 m² = 15 000 m³ × 7.06 = 105 900
    assert v["water_conservation"] == pytest.approx(105_900.0)
    assert v["soil_retention_sediment"] == pytest.approx(0.24 * 108 / 1.3 * 15.58)
    assert v["soil_retention_nutrients"] == pytest.approx(245.70)
    assert v["air_purification_so2"] == pytest.approx(1200.0)
    # flood: 0.35 × 100 000 m³ = 35 000 m³ × 7.06 = 247 100
    assert v["flood_regulation"] == pytest.approx(247_100.0)
    assert v["recreation"] == pytest.approx(50_000.0)
    assert r.price_year == 2010
    tot = r.totals()
    assert tot["total_cny_per_yr"] == pytest.approx(sum(v.values()))
    assert tot["by_category"]["cultural"] == pytest.approx(50_000.0)
    names = {t["name"] for t in r.tables}
    assert {"valuation/gep/unit_prices", "valuation/gep/stoichiometry"} <= names
    assert set(r.rows["price_year"].dropna()) == {2010}


def test_target_price_year_converts_every_row():
    # 2010 → 2015 CPI chain 1.1475549
    r = gep.run_zones(pd.DataFrame([ZONE]), target_price_year=2015, input_price_year=2015)
    v = dict(zip(r.rows["indicator"], r.rows["value_cny_per_yr"], strict=True))
    assert v["oxygen_release"] == pytest.approx(43_256.5 * 1.1475549, rel=1e-6)
    assert v["recreation"] == pytest.approx(50_000.0)  # already in 2015 CNY
    assert r.price_year == 2015
    with pytest.raises(InputError, match="input_price_year"):
        gep.run_zones(pd.DataFrame([ZONE]), target_price_year=2015)


def test_indicator_skipped_without_inputs_and_unvalued_soil():
    z = {"zone_id": "z", "area_hm2": 1, "rusle_r": 100, "rusle_k": 0.01, "rusle_ls": 1,
         "rusle_c": 0.5, "rusle_p": 1}  # fmt: skip
    r = gep.run_zones(pd.DataFrame([z]))
    assert r.rows["indicator"].tolist() == ["soil_retention"]
    # 100 × 0.01 × 1 × (1 − 0.5) × 1 hm² = 0.5 t, not valued (no bulk density)
    assert r.rows["quantity"].iloc[0] == pytest.approx(0.5)
    assert math.isnan(r.rows["value_cny_per_yr"].iloc[0])


def test_validation_names_row_and_column():
    frame = pd.DataFrame(
        [
            {"zone_id": "a", "area_hm2": "1", "rusle_c": "1.5"},
            {"zone_id": "b", "area_hm2": "x"},
        ]
    )
    with pytest.raises(InputError) as exc:
        gep.run_zones(frame, file="zones.csv")
    msg = str(exc.value)
    assert 'zones.csv, row 1, column "rusle_c"' in msg
    assert "zones.csv, row 2, column \"area_hm2\": 'x' is not a number" in msg
    with pytest.raises(InputError, match="unknown column"):
        gep.run_zones(pd.DataFrame([{"zone_id": "a", "area_hm2": 1, "npp": 3}]))


def test_every_spec_field_has_a_unit():
    units = gep.field_units()
    assert set(units) == set(gep.ZoneInput.model_fields) - {"zone_id"}


@settings(deadline=None)
@given(
    npp=st.floats(0, 50),
    area=st.floats(0, 1e5),
    c=st.floats(0, 1),
    p=st.floats(0, 1),
)
def test_invariants(npp, area, c, p):
    # O2/CO2 ratio is fixed by stoichiometry; retention never negative and never above potential
    co2 = gep.carbon_fixation_from_npp(npp, area, 1.63)
    o2 = gep.oxygen_release_from_npp(npp, area, 1.19)
    assert o2 == pytest.approx(co2 * 1.19 / 1.63, abs=1e-9)
    ac = gep.soil_retention(200.0, 0.03, 1.5, c, p, area)
    assert -1e-9 <= ac <= 200.0 * 0.03 * 1.5 * area + 1e-9


def test_cli_csv_and_json(tmp_path):
    f = tmp_path / "zones.csv"
    pd.DataFrame([ZONE]).to_csv(f, index=False)
    res = runner.invoke(app, ["value", "gep", str(f), "--input-price-year", "2010", "-f", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["by_indicator"]["water_conservation"] == pytest.approx(105_900.0)
    assert data["price_year"] == 2010 and data["tables"]
    j = tmp_path / "zones.json"
    j.write_text(json.dumps({"zones": [{"zone_id": "a", "area_hm2": -1}]}), encoding="utf-8")
    res = runner.invoke(app, ["value", "gep", str(j), "-f", "json"])
    assert res.exit_code == 2 and "area_hm2" in res.output


def test_single_zone_spec_equals_table_run():
    one = gep.run(gep.ZoneInput(**ZONE), input_price_year=2010)
    table = gep.run_zones(pd.DataFrame([ZONE]), input_price_year=2010)
    assert one.totals()["total_cny_per_yr"] == pytest.approx(table.totals()["total_cny_per_yr"])
    with pytest.raises(ValueError):
        gep.ZoneInput(zone_id="a", area_hm2=1, rusle_c=2.0)
