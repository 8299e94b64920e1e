"""Location coefficient: hand calculation, bounds, monotonicity, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora import refdata
from restora.cli import app
from restora.errors import InputError
from restora.valuation import location

P = refdata.get("valuation/location/coefficients").data
runner = CliRunner()


def test_hand_worked_near_town():
    # town 1 km:  1 + 0.5 × (e^-0.2 − e^-2)   = 1 + 0.5 × (0.818731 − 0.135335) = 1.341698
    # road 0.5 km: 1 + 0.2 × (e^-0.25 − e^-2.5) = 1 + 0.2 × (0.778801 − 0.082085) = 1.139343
    # density 800/km²: (800/150)^0.1 = 1.182222
    # k = 1.341698 × 1.139343 × 1.182222 = 1.807212 (inside [0.6, 2.0])
    k = location.location_coefficient({"town": 1.0, "main_road": 0.5}, 800.0, P)
    assert k == pytest.approx(1.807212, rel=1e-6)


def test_neutral_and_clipped():
    assert location.location_coefficient({"town": 10.0}, 150.0, P) == pytest.approx(1.0)
    # inside an ecological function area, at a town and a road, dense: clipped to k_max 2.0
    k = location.location_coefficient(
        {"town": 0.0, "main_road": 0.0, "ecological_function_area": 0.0}, 5000.0, P
    )
    assert k == 2.0
    # empty land far from everything: clipped to k_min 0.6
    assert location.location_coefficient({"town": 200.0, "main_road": 100.0}, 0.0, P) == 0.6


@settings(deadline=None)
@given(
    d1=st.floats(0, 500),
    d2=st.floats(0, 500),
    rho=st.floats(0, 1e4),
)
def test_nearer_is_never_worth_less(d1, d2, rho):
    near, far = sorted((d1, d2))
    k_near = location.location_coefficient({"town": near}, rho, P)
    k_far = location.location_coefficient({"town": far}, rho, P)
    assert k_near >= k_far - 1e-12
    assert P["k_min"] <= k_near <= P["k_max"]


def test_table_keeps_unadjusted_beside_adjusted():
    frame = pd.DataFrame(
        {"site": ["a", "b"], "value_cny_per_yr": [1000.0, 1000.0], "town_km": [1.0, None],
         "main_road_km": [0.5, None], "population_per_km2": [800.0, None]}
    )  # fmt: skip
    out, prov = location.adjust_table(frame)
    assert out["value_unadjusted_cny_per_yr"].tolist() == [1000.0, 1000.0]
    assert out["value_adjusted_cny_per_yr"].iloc[0] == pytest.approx(1807.212, rel=1e-6)
    assert out["location_coefficient"].iloc[1] == 1.0
    assert prov["name"] == "valuation/location/coefficients"


def test_bad_rows_are_named():
    frame = pd.DataFrame({"value_cny_per_yr": ["1", "x"], "town_km": ["-1", "2"]})
    with pytest.raises(InputError) as exc:
        location.adjust_table(frame, file="loc.csv")
    assert 'loc.csv, row 2, column "value_cny_per_yr"' in str(exc.value)
    assert 'loc.csv, row 1, column "town_km": negative' in str(exc.value)


def test_cli(tmp_path):
    f = tmp_path / "loc.csv"
    f.write_text("site,value_cny_per_yr,town_km\na,1000,10\n", encoding="utf-8")
    res = runner.invoke(app, ["value", "location", str(f), "-f", "json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["rows"][0]
    assert row["location_coefficient"] == pytest.approx(1.0)
    assert np.isclose(row["value_adjusted_cny_per_yr"], row["value_unadjusted_cny_per_yr"])


def test_single_site_spec_matches_the_table_path():
    r = location.run(
        location.LocationInput(
            value_cny_per_yr=1000.0, town_km=1.0, main_road_km=0.5, population_per_km2=800.0
        )
    )
    assert r["location_coefficient"] == pytest.approx(1.807212, rel=1e-6)
    assert r["value_unadjusted_cny_per_yr"] == 1000.0
    assert r["value_adjusted_cny_per_yr"] == pytest.approx(1807.212, rel=1e-6)
    with pytest.raises(ValueError):
        location.LocationInput(value_cny_per_yr=1.0, town_km=-1.0)
