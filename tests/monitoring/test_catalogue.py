"""The indicator catalogue: rows are complete and consistent, levels follow the thresholds, and
the soil defaults are the GB 15618-2018 values held in the soil tables (an independent copy)."""

from __future__ import annotations

import pytest

from restora import refdata
from restora.errors import InputError
from restora.monitoring import catalogue

REQUIRED_GROUPS = {"soil", "surface_water", "groundwater", "geotechnical", "vegetation", "air"}


def test_catalogue_covers_the_issue_and_rows_are_consistent():
    inds = catalogue.indicators()
    codes = [i.code for i in inds]
    assert len(codes) == len(set(codes))
    assert {i.group for i in inds} == REQUIRED_GROUPS
    for code in ("soil_cd", "soil_ph", "sw_ph", "sw_do", "sw_cod", "sw_nh3n", "sw_tp",
                 "gw_nh3n", "slope_displacement", "crack_width", "settlement",
                 "vegetation_cover", "plant_survival", "pm10", "tsp"):  # fmt: skip
        assert code in codes
    for i in inds:
        assert i.valid_min < i.valid_max, i.code
        assert i.interval_s > 0, i.code
        assert i.threshold_basis, i.code
        if i.warning is not None and i.alarm is not None:
            # the alarm is never milder than the warning
            assert (i.alarm <= i.warning) if i.direction == "below" else (i.alarm >= i.warning)
        if i.direction == "outside":
            assert i.alarm_low is not None and i.warning_low is not None
            assert i.alarm_low <= i.warning_low < i.warning <= i.alarm  # type: ignore[operator]
        for level in (i.warning, i.alarm, i.warning_low, i.alarm_low):
            if level is not None:
                assert i.valid_min <= level <= i.valid_max, i.code


def test_levels_against_the_standards():
    # GB 3838-2002 Table 1: DO class III >= 5, class V >= 2 mg/L (lower is worse)
    do = catalogue.indicator("sw_do")
    assert [do.level(v) for v in (7.0, 5.0, 4.9, 2.0, 1.9)] == [
        "ok", "ok", "warning", "warning", "alarm"]  # fmt: skip
    # GB/T 14848-2017: NH3-N class III <= 0.50, class IV <= 1.50 mg/L
    nh3 = catalogue.indicator("gw_nh3n")
    assert [nh3.level(v) for v in (0.5, 0.51, 1.5, 1.51)] == ["ok", "warning", "warning", "alarm"]
    # groundwater pH: class III 6.5-8.5, class IV 5.5-9.0
    ph = catalogue.indicator("gw_ph")
    assert [ph.level(v) for v in (7.0, 6.4, 8.6, 5.4, 9.1)] == [
        "ok", "warning", "warning", "alarm", "alarm"]  # fmt: skip
    # Cu in surface water has one level (class III = class V = 1.0): above it is an alarm
    assert catalogue.indicator("sw_cu").level(1.2) == "alarm"
    assert catalogue.indicator("soil_cu").level(1e5) == "warning"  # no alarm level for Cu


def test_valid_range():
    cover = catalogue.indicator("vegetation_cover")
    assert cover.is_valid(0.0) and cover.is_valid(1.0)
    assert not cover.is_valid(1.01) and not cover.is_valid(float("nan"))


def test_soil_defaults_are_the_gb15618_tables():
    screening = refdata.get("soil/gb15618-2018/screening").frame()
    intervention = refdata.get("soil/gb15618-2018/intervention").frame()
    for metal in ("Cd", "Hg", "As", "Pb", "Cr", "Cu", "Ni", "Zn"):
        ind = catalogue.indicator(f"soil_{metal.lower()}")
        rows = screening[(screening.pollutant == metal) & screening.land.isin(["other", "all"])]
        assert ind.warning == float(rows["ph_6.5_7.5"].iloc[0]), metal
        iv = intervention[intervention.pollutant == metal]
        expected = float(iv["ph_6.5_7.5"].iloc[0]) if len(iv) else None
        assert ind.alarm == expected, metal


def test_unknown_indicator_names_it():
    with pytest.raises(InputError, match="unknown indicator 'soil_xx'"):
        catalogue.indicator("soil_xx")


def test_as_dict_round_trip():
    d = catalogue.indicator("pm10").as_dict()
    assert d["unit"] == "µg/m³" and d["warning"] == 150 and d["alarm"] == 250
    assert catalogue.provenance()["name"] == "monitoring/indicators"
