"""restora.matching.library on hand-made documents and pairs: the figures a listing reads from an
appraisal document (and the reasons of those it lacks), and the market's eligibility rules on
top of restora.matching.eligibility.check."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from restora.matching.library import as_project, check_pair, figures

DOC: dict[str, Any] = {
    "on": "2026-06-01",
    "project": {"note": "demo data, entirely fictional.", "fictional": True},
    "stages": {
        "cost": {"total_p50_cny": 2.0e7, "total_p90_cny": 2.5e7, "price_year": 2023},
        "revenue": {
            "total_unrestricted_cny": 4.0e7,
            "streams": [
                {"name": "carbon", "kind": "carbon", "total_revenue": 1.0e7},
                {"name": "lease", "kind": "land_rights", "total_revenue": 3.0e7},
            ],
        },
        "cashflow": {"status": "assessed", "npv_cny": 5.0e6, "irr": 0.081},
        "risk": {
            "summary": {
                "npv": {"p10": -1.0e6, "p50": 4.0e6, "p90": 9.0e6},
                "irr": {"p10": 0.03, "p50": 0.08, "p90": 0.12},
                "p_npv_negative": 0.14,
                "p_irr_below_hurdle": 0.4,
                "p_dscr_below_1": 0.2,
                "lender": {"expected_loss": 1.2e5},
            }
        },
        "financing": {
            "instruments": [{"summary": {"min_dscr": 0.9}}],
            "structure": {"covenants": [{"min_dscr": 1.45}, {"min_dscr": 1.25}]},
        },
        "modes": {
            "mines": [
                {"primary_mode": "resource_utilization"},
                {"primary_mode": "property_rights"},
            ],
            "figures": {
                "hazard_points_total": 4,
                "hazard_points_eliminated": 3,
                "jobs_by_year": [10, 35, 20],
            },
        },
        "value": {
            "esv": {"change_cny_per_yr": 8.0e5},
            "gep": {"before_cny_per_yr": 1.0e6, "after_cny_per_yr": 3.5e6},
        },
    },
}


def test_figures_are_read_from_the_document():
    f = figures(DOC)
    # 2.5e7 / 2.0e7 - 1 = 0.25
    assert f["p90_overrun"] == pytest.approx(0.25)
    assert f["min_dscr"] == 1.25  # the covenants' lowest, not the instruments' summaries
    assert f["irr"] == 0.081 and f["npv_p10_cny"] == -1.0e6 and f["irr_p90"] == 0.12
    assert f["mode"] == "resource_utilization"
    assert f["modes"] == ["property_rights", "resource_utilization"]
    assert f["gep_gain_cny_per_yr"] == pytest.approx(2.5e6)
    assert f["jobs"] == 35 and f["hazards_eliminated"] == 3
    assert [s["total_cny"] for s in f["revenue_streams"]] == [1.0e7, 3.0e7]
    assert f["lender_expected_loss_cny"] == 1.2e5 and f["fictional"] is True
    assert f["missing"] == {}


def test_missing_figures_are_none_with_their_reason():
    doc = copy.deepcopy(DOC)
    doc["stages"]["cashflow"]["irr"] = None
    del doc["stages"]["financing"]["structure"]
    del doc["stages"]["value"]["gep"]
    del doc["stages"]["modes"]["figures"]["jobs_by_year"]
    f = figures(doc)
    assert f["irr"] is None and f["missing"]["irr"] == "the cash flows have no unique IRR"
    assert f["min_dscr"] == 0.9  # no covenants: the instruments' summaries
    assert f["gep_gain_cny_per_yr"] is None and "GEP" in f["missing"]["gep_gain_cny_per_yr"]
    assert f["jobs"] is None and "jobs_by_year" in f["missing"]["jobs"]
    empty = figures({"stages": {}})
    assert empty["cost_p50_cny"] is None and empty["p90_overrun"] is None
    assert empty["min_dscr"] is None and "DSCR" in empty["missing"]["min_dscr"]
    assert (
        figures({"stages": {"cost": {"total_p50_cny": 0, "total_p90_cny": 1}}})["p90_overrun"]
        is None
    )  # no overrun of a zero cost


def _listing(**kw: Any) -> dict[str, Any]:
    base = {
        "id": 7,
        "amount_cny": 1.2e7,
        "instrument": "pledge_loan",
        "tenor_years": 10.0,
        "stage": "preparation",
        "collateral": ["land_use_rights"],
        "region_code": "430599",
        "mineral": "coal",
        "mode": "resource_utilization",
        "figures": figures(DOC),
    }
    return {**base, **kw}


def _product(requirements: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    base = {
        "id": 3,
        "instrument": "pledge_loan",
        "capacity_cny": 2e8,
        "ticket_min_cny": 5e6,
        "ticket_max_cny": 5e7,
        "tenor_min_years": 3.0,
        "tenor_max_years": 15.0,
        "requirements": requirements or {},
    }
    return {**base, **kw}


def test_an_eligible_pair_and_region_coverage():
    v = check_pair(_listing(), _product({"regions": ["430000"], "min_dscr": 1.2}))
    assert v["eligible"] and v["failures"] == []
    assert as_project(_listing(), ["430000"]).region == "430000"
    v = check_pair(_listing(), _product({"regions": ["440000"]}))
    assert [f["code"] for f in v["failures"]] == ["MATCH-REGION"]


def test_the_market_rules_in_words():
    v = check_pair(
        _listing(instrument="equity", tenor_years=20.0), _product({"stages": ["operation"]})
    )
    codes = [f["code"] for f in v["failures"]]
    assert codes == ["MARKET-INSTRUMENT", "MARKET-TENOR", "MARKET-STAGE"]
    tenor = v["failures"][1]
    assert tenor["message"] == "tenor 20 years above the product's 15"
    assert tenor["smallest_change"] == {"parameter": "tenor_years", "from": 20.0, "to": 15.0}
    assert "股权投资" in v["failures"][0]["message_zh"]


def test_a_requirement_on_a_figure_the_appraisal_lacks_fails_and_is_said():
    lacking = _listing(figures=figures({"stages": {"cost": DOC["stages"]["cost"]}}))
    v = check_pair(lacking, _product({"min_dscr": 1.2}))
    assert not v["eligible"]
    [f] = v["failures"]
    assert f["code"] == "MARKET-NOT-ASSESSED" and "no min_dscr" in f["message"]
    # without the requirement the missing DSCR is not a reason
    assert check_pair(lacking, _product())["eligible"]


def test_the_eligibility_rules_of_the_matching_package_apply():
    v = check_pair(
        _listing(), _product({"min_dscr": 1.3, "min_irr": 0.09, "collateral_any": ["quota_rights"]})
    )
    codes = {f["code"] for f in v["failures"]}
    assert codes == {"MATCH-DSCR", "MATCH-IRR", "MATCH-COLLATERAL"}
    dscr = next(f for f in v["failures"] if f["code"] == "MATCH-DSCR")
    assert dscr["message"] == "DSCR 1.25 below the product's 1.30"
    small = check_pair(_listing(amount_cny=1e6), _product())
    assert [f["code"] for f in small["failures"]] == ["MATCH-TICKET"]
