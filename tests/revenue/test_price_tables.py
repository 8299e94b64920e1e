"""The market-price tables hold the figures of the reference files exactly, with their sources,
and indicative figures are flagged (ICAP, MEE and market summaries for carbon; press reports and
local rules for land quotas; each table names its source)."""

from __future__ import annotations

from restora import refdata


def test_cea_prices_and_dates():
    v2024 = refdata.get("revenue/prices/cea", on="2025-06-01")
    assert v2024.data["price"] == 95.96 and v2024.data["year_end_close"] == 97.49
    assert v2024.data["indicative"] is False
    assert ("ICAP" in v2024.source and "MEE" in v2024.source) or "Ministry" in v2024.source
    v2025 = refdata.get("revenue/prices/cea", on="2026-06-01")
    assert v2025.data["price"] == 62.36 and v2025.data["indicative"] is True
    assert v2025.unit == "CNY/tCO2e"


def test_ccer_average_and_range_flagged_indicative():
    t = refdata.get("revenue/prices/ccer", on="2026-06-01")
    assert (t.data["price"], t.data["low"], t.data["high"]) == (70.76, 60, 80)
    assert t.data["indicative"] is True


def test_land_ticket_and_farmland_quota():
    t = refdata.get("revenue/prices/land-ticket", on="2025-01-01", region="500101")
    assert t.region == "500000" and t.data["price"] == 200_000 and t.data["indicative"]
    f = refdata.get("revenue/prices/farmland-quota", on="2016-06-01", region="330902")
    assert (f.data["paddy"], f.data["dry_land"], f.data["standard_farmland"]) == (
        350_000,
        200_000,
        70_000,
    )


def test_eib_terms():
    dc = refdata.get("finance/instruments/dc-water-eib", on="2020-01-01").data
    assert (dc["principal"], dc["coupon_rate"], dc["term_years"]) == (25_000_000, 0.0343, 5)
    assert [t["lower"] for t in dc["tiers"]] == [None, 18.6, 41.3]
    assert [t["outcome_payment"] for t in dc["tiers"]] == [-3_300_000, 0, 3_300_000]
    at = refdata.get("finance/instruments/atlanta-eib", on="2020-01-01").data
    assert (at["principal"], at["term_years"], at["outcome_year"]) == (14_020_000, 10, 6)
    assert at["tiers"][1]["lower"] == 6.52 and at["tiers"][1]["outcome_payment"] == 1_000_000


def test_special_bond_national_floor():
    t = refdata.get("finance/instruments/special-bond-coverage", on="2026-01-01")
    assert t.data["threshold"] == 1.0
    assert t.data["practice_thresholds"] == [1.1, 1.2, 1.3] and t.data["practice_indicative"]
