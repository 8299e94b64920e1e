"""Equivalent-factor ESV: input validation, options, register helper, CLI contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from restora.cli import app
from restora.errors import InputError
from restora.valuation import esv

TYPES = esv.FactorTable.load().types
SERVICES = esv.FactorTable.load().services
runner = CliRunner()


def test_unknown_type_negative_and_non_number_name_the_key():
    with pytest.raises(InputError) as exc:
        esv.parse_input({"areas_hm2": {"forest": 1, "water": -2, "paddy": "ten"}}, file="a.json")
    msg = str(exc.value)
    assert 'a.json, column "areas_hm2.forest": unknown ecosystem type' in msg
    assert '"areas_hm2.water": negative area -2' in msg
    assert "\"areas_hm2.paddy\": 'ten' is not a number" in msg


def test_missing_areas_and_bad_ratio_are_input_errors():
    with pytest.raises(InputError, match="missing 'areas_hm2'"):
        esv.parse_input({"equivalent_value_cny_per_hm2": 1})
    with pytest.raises(InputError, match=r"regional_ratios\.rain"):
        esv.parse_input({"areas_hm2": {"water": 1}, "regional_ratios": {"rain": 1.0}})
    with pytest.raises(InputError, match="equivalent_value_cny_per_hm2"):
        esv.parse_input({"areas_hm2": {"water": 1}, "equivalent_value_cny_per_hm2": -5})


def test_user_equivalent_value_scales_linearly():
    # 1 hm² of broadleaf: row sum 0.29+0.66+0.34+2.17+6.50+1.93+4.74+2.65+0.20+2.41+1.06 = 22.95
    # at E = 1000 CNY/hm²/yr → 22 950 CNY/yr
    r = esv.run(
        esv.parse_input({"areas_hm2": {"broadleaf": 1}, "equivalent_value_cny_per_hm2": 1000})
    )
    assert r.total_cny_per_yr == pytest.approx(22_950.0)
    assert r.equivalent_value_source == "user"


def test_grain_method_standard_equivalent():
    # Σ m·p·q = 100×2.4×6000 + 50×2.2×6500 + 50×2.8×7000 = 1 440 000 + 715 000 + 980 000
    #         = 3 135 000; / M (200 hm²) = 15 675 CNY/hm²; × 1/7 = 2239.2857 CNY/hm²/yr
    doc = {
        "areas_hm2": {"dry_land": 1},
        "price_year": 2023,
        "grain": [
            {
                "crop": "wheat",
                "sown_area_hm2": 100,
                "price_cny_per_kg": 2.4,
                "yield_kg_per_hm2": 6000,
            },
            {
                "crop": "maize",
                "sown_area_hm2": 50,
                "price_cny_per_kg": 2.2,
                "yield_kg_per_hm2": 6500,
            },
            {
                "crop": "rice",
                "sown_area_hm2": 50,
                "price_cny_per_kg": 2.8,
                "yield_kg_per_hm2": 7000,
            },
        ],
    }
    r = esv.run(esv.parse_input(doc))
    assert r.equivalent_value_cny_per_hm2 == pytest.approx(15_675 / 7)
    # dry land row sum 4.01 equivalents
    assert r.total_cny_per_yr == pytest.approx(4.01 * 15_675 / 7)
    assert r.price_year == 2023 and r.equivalent_value_source == "grain"
    assert "valuation/xie2015/grain_method" in [t["name"] for t in r.tables]


def test_regional_adjustment_by_driver():
    # dry land 1 hm², E = 1000, NPP ratio 1.2, precipitation 0.8, soil conservation 1.5:
    # NPP services 0.85+0.40+0.67+0.36+0.10+0.12+0.13+0.06 = 2.69 × 1.2 = 3.228
    # precipitation (water supply, hydrological) 0.02+0.27 = 0.29 × 0.8 = 0.232
    # soil conservation 1.03 × 1.5 = 1.545; total 5.005 × 1000 = 5005 CNY/yr
    doc = {
        "areas_hm2": {"dry_land": 1},
        "equivalent_value_cny_per_hm2": 1000,
        "regional_ratios": {"npp": 1.2, "precipitation": 0.8, "soil_conservation": 1.5},
    }
    r = esv.run(esv.parse_input(doc))
    assert r.total_cny_per_yr == pytest.approx(5005.0)
    assert r.by_service["soil_conservation"] == pytest.approx(1545.0)


def test_price_year_conversion_through_cpi():
    # 2022 → 2024: CPI 2023 100.2, 2024 100.2 → factor 1.002² = 1.004004
    doc = {
        "areas_hm2": {"bare_land": 10},
        "equivalent_value_cny_per_hm2": 1000,
        "price_year": 2022,
        "target_price_year": 2024,
    }
    r = esv.run(esv.parse_input(doc))
    # bare land row sum 0.20 × 10 hm² × 1000 × 1.004004 = 2008.008
    assert r.total_cny_per_yr == pytest.approx(2008.008)
    assert r.price_year == 2024
    assert "prices/cn-cpi" in [t["name"] for t in r.tables]


def test_default_value_has_no_price_year_so_conversion_needs_one():
    # version xie2015 (in force before 2026-12-07) states no price year: no silent conversion
    with pytest.raises(InputError, match="price_year"):
        esv.run(
            esv.parse_input({"areas_hm2": {"water": 1}, "target_price_year": 2024}), "2026-01-01"
        )


def test_default_value_is_read_as_2010_prices_and_converts_by_the_cpi():
    """Version xie2015-2010: Xie et al. (2015) value China's ecosystems of 2010, so the standard
    equivalent is CNY of 2010; conversion to 2023 is the CPI chain 2011…2023."""
    r = esv.run(
        esv.parse_input({"areas_hm2": {"water": 1}, "target_price_year": 2023}), "2026-12-07"
    )
    chain = 1.0
    for i in (105.4, 102.6, 102.6, 102.0, 101.4, 102.0, 101.6, 102.1, 102.9, 102.5, 100.9,
              102.0, 100.2):  # fmt: skip
        chain *= i / 100  # NBS CPI, previous year = 100, 2011 … 2023 → 1.32066
    # water row sum 125.61 standard equivalents × 3406.50 CNY × chain
    assert r.total_cny_per_yr == pytest.approx(125.61 * 3406.50 * chain)
    assert r.price_year == 2023


def test_array_core_broadcasts_over_zones():
    table = esv.FactorTable.load()
    areas = np.zeros((3, len(TYPES)))
    areas[0, TYPES.index("water")] = 1.0
    areas[2, TYPES.index("desert")] = 2.0
    out = esv.esv_by_type_service(areas, table.factors, np.array([1.0, 1.0, 10.0]))
    assert out.shape == (3, 14, 11)
    # water row sum 125.61; desert 1.10 × 2 hm² × E 10 = 22.0
    assert out[0].sum() == pytest.approx(125.61)
    assert out[1].sum() == 0.0
    assert out[2].sum() == pytest.approx(22.0)


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=14, max_size=14),
    b=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=14, max_size=14),
)
def test_esv_is_additive_over_areas(a, b):
    factors = esv.FactorTable.load().factors
    va = esv.esv_by_type_service(np.array(a), factors, 3406.5).sum()
    vb = esv.esv_by_type_service(np.array(b), factors, 3406.5).sum()
    vab = esv.esv_by_type_service(np.array(a) + np.array(b), factors, 3406.5).sum()
    assert vab == pytest.approx(va + vb, rel=1e-9, abs=1e-6)


def test_before_after_of_register_sites():
    sites = pd.DataFrame(
        {
            "site_id": ["p1", "s1", "s2", "y1", "t1"],
            "kind": [
                "open_pit",
                "subsidence_area",
                "subsidence_area",
                "industrial_yard",
                "tailings_pond",
            ],
            "water": [False, True, False, None, True],
            "area_hm2": [2.0, 3.0, 4.0, 1.0, 5.0],
        }
    )
    out = esv.esv_before_after(
        sites, {"p1": "broadleaf", "s2": "paddy", "y1": None, "t1": "shrub_grass"}
    )
    assert out["type_before"].tolist() == ["bare_land", "water", "dry_land", None, "bare_land"]
    assert out["type_after"].tolist() == ["broadleaf", "water", "paddy", None, "shrub_grass"]
    assert out["after_planned"].tolist() == [True, False, True, True, True]
    e = 3406.5
    # p1: bare land 0.20 × 2 × E = 1362.6 → broadleaf 22.95 × 2 × E = 156 358.35
    assert out.loc[0, "esv_before_cny_per_yr"] == pytest.approx(0.20 * 2 * e)
    assert out.loc[0, "esv_after_cny_per_yr"] == pytest.approx(22.95 * 2 * e)
    # s1 water-filled subsidence is water (125.61) and is not re-planned: unchanged
    assert out.loc[1, "esv_change_cny_per_yr"] == 0.0
    assert out.loc[1, "esv_before_cny_per_yr"] == pytest.approx(125.61 * 3 * e)
    # s2 dry subsidence → dry land 4.01; paddy 3.89
    assert out.loc[2, "esv_change_cny_per_yr"] == pytest.approx((3.89 - 4.01) * 4 * e)
    # industrial yard: built-up, no value either side
    assert out.loc[3, "esv_before_cny_per_yr"] == 0.0
    # shrub-grass row sum 0.38+0.56+0.31+1.97+5.21+1.72+3.82+2.40+0.18+2.18+0.96 = 19.69
    assert out.loc[4, "esv_after_cny_per_yr"] == pytest.approx(19.69 * 5 * e)
    assert out.attrs["method"] == "xie2015"
    assert {t["name"] for t in out.attrs["tables"]} >= {
        "valuation/xie2015/equivalent_factors",
        "valuation/landcover/ecosystem_types",
    }


def test_leave_as_is_keeps_current_cover():
    """Issue 11 item 4: leave_as_is was GB/T 21010 0404 → shrub_grass (19.69 equivalents/hm²),
    so an unrestored Cd-contaminated dump earned ~100× its bare-land ESV. Fails on the old table
    and code (no ``cover_after``; the table said "0404")."""
    from restora import refdata

    assert refdata.get(esv.AFTER_USE_TABLE).data["leave_as_is"] == esv.KEEP_CURRENT
    # QS-M28-S2 of the demo register: a waste-rock dump of 11.29 hm², bare land; a
    # water-filled pit and a dry subsidence area left as is keep water and dry land.
    sites = pd.DataFrame(
        {
            "site_id": ["QS-M28-S2", "P", "D", "F"],
            "kind": ["waste_rock_dump", "open_pit", "subsidence_area", "waste_rock_dump"],
            "water": [False, True, False, False],
            "area_hm2": [11.29, 2.0, 3.0, 1.0],
        }
    )
    cover, tables = esv.cover_after(
        {"QS-M28-S2": "leave_as_is", "P": "leave_as_is", "D": "leave_as_is", "F": "forest"}
    )
    assert cover == {
        "QS-M28-S2": esv.KEEP_CURRENT,
        "P": esv.KEEP_CURRENT,
        "D": esv.KEEP_CURRENT,
        "F": "mixed_forest",
    }
    assert tables[0]["name"] == esv.AFTER_USE_TABLE
    # callers that map the table's codes one by one get the same pass-through
    from restora.valuation.landcover import LandCoverMapping

    assert LandCoverMapping.load().type_of("gbt21010", "current") == esv.KEEP_CURRENT
    out = esv.esv_before_after(sites, cover)
    assert out["type_after"].tolist() == ["bare_land", "water", "dry_land", "mixed_forest"]
    assert out["type_after"].iloc[:3].tolist() == out["type_before"].iloc[:3].tolist()
    assert out["after_planned"].tolist() == [True, True, True, True]
    e = 3406.5
    # QS-M28-S2: 11.29 hm² × 0.20 × 3406.5 = 7691.877 CNY/yr before and after (the old mapping
    # gave 11.29 × 19.69 × 3406.5 = 757 265.29 after)
    assert out.loc[0, "esv_before_cny_per_yr"] == pytest.approx(7691.877)
    assert out.loc[0, "esv_after_cny_per_yr"] == pytest.approx(11.29 * 0.20 * e)
    assert out["esv_change_cny_per_yr"].iloc[:3].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(InputError, match="site X: after-use 'orchard'"):
        esv.cover_after({"X": "orchard"})


def test_before_after_rejects_unknown_site_and_type():
    sites = pd.DataFrame({"site_id": ["a"], "kind": ["open_pit"], "area_hm2": [1.0]})
    with pytest.raises(InputError, match="unknown site"):
        esv.esv_before_after(sites, {"zz": "water"})
    with pytest.raises(InputError, match=r"unknown ecosystem type\(s\) \['forest'\]"):
        esv.esv_before_after(sites, {"a": "forest"})
    bad = pd.DataFrame({"site_id": ["a"], "kind": ["open_pit"], "area_hm2": [-1.0]})
    with pytest.raises(InputError, match="row 1"):
        esv.esv_before_after(bad, {})


def test_cli_contract(tmp_path):
    f = tmp_path / "areas.json"
    f.write_text(
        json.dumps(
            {
                "areas_hm2": {"dry_land": 10, "paddy": 0, "coniferous": 5, "water": 3},
                "equivalent_value_cny_per_hm2": 3406.5,
            }
        ),
        encoding="utf-8",
    )
    res = runner.invoke(app, ["value", "esv", str(f), "--method", "xie2015", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["by_type"]) == set(TYPES) and len(data["by_type"]) == 14
    assert set(data["by_service"]) == set(SERVICES) and len(data["by_service"]) == 11
    assert set(data["by_type_service"]["water"]) == set(SERVICES)
    # 504.58 equivalents (see the reference test) × 3406.5
    assert data["total_cny_per_yr"] == pytest.approx(504.58 * 3406.5)
    assert data["method"] == "xie2015" and data["tables"]


@pytest.mark.parametrize(
    "doc, key",
    [
        ({"areas_hm2": {"forest": 1}}, "areas_hm2.forest"),
        ({"areas_hm2": {"water": -1}}, "areas_hm2.water"),
        ({"areas_hm2": {"water": "3"}}, "areas_hm2.water"),
    ],
)
def test_cli_bad_input_exits_2_naming_the_key(tmp_path, doc, key):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    res = runner.invoke(app, ["value", "esv", str(f), "--format", "json"])
    assert res.exit_code == 2
    assert key in res.output


def test_cli_sites(tmp_path):
    (tmp_path / "sites.csv").write_text(
        "site_id,kind,water,area_hm2\np1,open_pit,false,2\ns1,subsidence_area,true,3\n",
        encoding="utf-8",
    )
    (tmp_path / "after.json").write_text('{"p1": "broadleaf"}', encoding="utf-8")
    res = runner.invoke(
        app,
        [
            "value",
            "sites",
            str(tmp_path / "sites.csv"),
            "--after",
            str(tmp_path / "after.json"),
            "-f",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    e = 3406.5
    assert data["total_before_cny_per_yr"] == pytest.approx((0.20 * 2 + 125.61 * 3) * e)
    assert data["total_after_cny_per_yr"] == pytest.approx((22.95 * 2 + 125.61 * 3) * e)
