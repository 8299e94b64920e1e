"""The financing stage combines the project's instruments: sources and uses, waterfall, covenants.

A six-year project (2026 … 2032) through the revenue, cash-flow and financing stages, worked by
hand. Each of these tests fails on the stage as it was (instruments in isolation, the pledge
loan's CFADS floored at zero, no ``structure`` section).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from restora.appraisal.io import parse_project
from restora.appraisal.stages import cashflow, financing, revenue
from restora.appraisal.stages.cost import CostResult

LOAN = {
    "valuation_rate": 0.1,
    "ltv": 0.8,
    "requested": 1000.0,
    "interest_rate": 0.1,
    "tenor_years": 6,
    "grace_years": 1,
    "amortisation": "equal_principal",
    "min_dscr": 1.3,
    "dsra_months": 6,
}
BOND = {
    "principal": 500.0,
    "coupon_rate": 0.04,
    "term_years": 5,
    "tranches": [
        {
            "name": "soil",
            "share": 1.0,
            "indicator": "soil",
            "verification_year": 4,
            "tiers": [
                {"lower": None, "principal_fraction": 0.5},
                {"lower": 0.8, "principal_fraction": 1.0},
            ],
        }
    ],
    "outcomes": {"soil": {4: 0.6}},
}
SHARE = {
    "priority_rate": 0.1,
    "village_minimum": 30.0,
    "village_land_share": 0.25,
    "village_labour_share": 0.25,
}


def _run(**kw: Any) -> financing.FinancingResult:
    spec = parse_project(
        {
            "project_id": "P1",
            "name": "测试项目",
            "mines": ["M1"],
            "start_year": 2026,
            "horizon_years": 6,
            "discount_rate": 0.1,
            "hurdle_rate": 0.08,
            "opex_cny_per_yr": 100.0,
            "revenue_streams": [
                # 600 a year from 2028 to 2032
                {
                    "stream": "land_rights",
                    "name": "租金",
                    "mode": "lease",
                    "area_mu": 1,
                    "start_year": 2028,
                    "price": 600,
                    "lease_years": 5,
                },
                # 400 with probability 0.5 in 2027: 200 counted
                {
                    "stream": "subsidy",
                    "name": "补助",
                    "payments": [
                        {"year": 2027, "amount": 400, "kind": "subsidy", "probability": 0.5}
                    ],
                },
                # surplus rock sold in 2028: to the restoration account only
                {
                    "stream": "materials",
                    "name": "废石",
                    "mine_id": "M1",
                    "start_year": 2028,
                    "volume_m3": [100],
                    "price": 10,
                },
            ],
            "financing": [
                {"instrument": "pledge-loan", "inputs": LOAN},
                {"instrument": "performance-bond", "inputs": BOND},
                {"instrument": "benefit-sharing", "inputs": SHARE},
            ],
            **kw,
        },
        "<test>",
    )
    cost = CostResult(
        price_year=2024,
        deterministic_cny=1500.0,
        p50_cny=0.0,
        p90_cny=0.0,
        capex_nominal={2026: 1000.0, 2027: 500.0},
        capex_factors=np.ones(1),
        report={},
    )
    rev = revenue.run(spec)
    cf = cashflow.run(spec, cost, rev)
    return financing.run(spec, cost, rev, cf)


def test_the_stage_combines_the_instruments_by_hand():
    fin = _run()
    doc = fin.to_json()
    st = doc["structure"]
    assert st["status"] == "assessed"
    assert st["money"].startswith("nominal CNY")
    assert st["order_of_payment"] == [
        "cfads",
        "senior_debt",
        "dsra",
        "bonds",
        "benefit_sharing",
        "equity",
    ]
    # no phases in this cost result: construction ends with the last cost year, 2027
    assert st["construction"]["last_year"] == 2027
    su = st["sources_uses"]
    # cash-flow stage: opex 100 from the first year of the after-use's own income (2028, the
    # rent; the 2027 grant pays for works, it does not start operations); CFADS 2027 = 200 - 0,
    # of which the grant 200 is a source: no operating deficit.
    # period 0: works 1000; loan 1000 + bond 500 -> 500 carried
    # period 1: works 500 + IDC 100 + 20 + DSRA 0.5 * 300 = 770;
    #           500 carried + grant 200 = 700 -> equity 70
    assert [r["sponsor_equity_cny"] for r in su["by_year"]] == [0.0, 70.0]
    assert su["total_uses_cny"] == su["total_sources_cny"] == 1770.0
    assert su["balanced"]
    # the loan is tested against the structure's CFADS, never floored: 200 - 0 - 200 = 0 in 2027
    loan = doc["instruments"][0]
    assert loan["schedule"][0]["cfads"] == 0.0
    assert loan["schedule"][0]["dscr"] == pytest.approx(0.0)  # 0 / 100 of interest
    cov = st["covenants"][0]
    assert [r["dscr"] for r in cov["rows"]] == pytest.approx([r["dscr"] for r in loan["schedule"]])
    # the risk stage reads the loan's own schedule: 1 year of grace, then 200 a year (the stage
    # used to rebuild it as an annuity over tenor + grace years, past this horizon)
    assert fin.debt is not None
    assert fin.debt.repayment[0].tolist() == [0.0, 0.0, 200.0, 200.0, 200.0, 200.0, 200.0]
    assert fin.debt.service[0, 1:].tolist() == pytest.approx(
        [r["debt_service"] for r in loan["schedule"]]
    )
    assert fin.debt.maturity == 6
    assert cov["construction_years_below"] == [2027]
    # 2028: 500 - loan 300 = 200; DSRA 150 -> 140 releases 10: 210; coupon 20: 190 to share.
    # village 30, the sponsor's priority 0.1 * 70 = 7, residual 153 halved: 76.5 each
    r = st["waterfall"]["rows"][0]
    assert r["year"] == 2028
    assert r["distributable_cny"] == pytest.approx(190.0)
    assert r["village_dividend_cny"] == pytest.approx(76.5)
    assert r["distribution_to_equity_cny"] == pytest.approx(7.0 + 76.5)
    # the benefit-sharing instrument ran on that cash, with the sponsor's equity as capital
    share = doc["instruments"][2]
    assert share["instrument"] == "benefit-sharing"
    assert share["schedule"][0]["distributable_income"] == pytest.approx(190.0)
    assert share["schedule"][0]["priority_due"] == pytest.approx(7.0)
    assert len(share["schedule"]) == 5  # 2028 … 2032


def test_earmarked_proceeds_never_reach_investors():
    st = _run().to_json()["structure"]
    rock = next(s for s in st["streams"] if s["name"] == "废石")
    assert rock["to_cfads_cny"] == 0.0 and rock["earmarked_cny"] > 0
    row = st["waterfall"]["rows"][0]
    assert row["earmarked_cny"] == pytest.approx(rock["earmarked_cny"])
    # CFADS 2028 is the rent less opex only
    assert row["cfads_cny"] == pytest.approx(600.0 - 100.0)
    grant = next(s for s in st["streams"] if s["name"] == "补助")
    assert grant["to_sources_cny"] == 200.0 and grant["to_cfads_cny"] == 0.0


def test_every_year_conserves_cash():
    st = _run().to_json()["structure"]
    for r in st["waterfall"]["rows"]:
        assert r["conservation_residual_cny"] == pytest.approx(0.0, abs=1e-9)


def test_a_file_income_for_benefit_sharing_is_noted():
    fin = _run(
        financing=[
            {"instrument": "pledge-loan", "inputs": LOAN},
            {
                "instrument": "benefit-sharing",
                "inputs": {**SHARE, "company_capital": 50.0, "distributable_income": [10.0]},
            },
        ]
    )
    doc = fin.to_json()
    assert any(f.startswith("FIN-STRUCT-SHARE-INPUT") for f in doc["structure"]["flags"])
    assert doc["instruments"][1]["schedule"][0]["distributable_income"] == 10.0


def test_a_file_cfads_for_the_loan_is_noted():
    fin = _run(financing=[{"instrument": "pledge-loan", "inputs": {**LOAN, "cfads": [900.0] * 6}}])
    flags = fin.to_json()["structure"]["flags"]
    assert any(f.startswith("FIN-STRUCT-CFADS-INPUT: pledge-loan") for f in flags)


def test_special_bond_allocation_of_this_project():
    sb = {
        "projects": [
            {"name": "P1", "principal": 300.0},  # takes the project's CFADS
            {"name": "other", "principal": 700.0, "revenue": [100.0] * 5},
        ],
        "coupon_rate": 0.03,
        "term_years": 5,
        "threshold": 1.1,
    }
    doc = _run(financing=[{"instrument": "special-bond", "inputs": sb}]).to_json()
    st = doc["structure"]
    (ob,) = st["obligations"]
    assert ob["proceeds_cny"] == 300.0 and ob["tier"] == "bonds"
    cov = st["covenants"][0]
    assert cov["kind"] == "coverage" and cov["threshold"] == 1.1
    # life coverage = the instrument's coverage of project P1
    row = next(r for r in doc["instruments"][0]["schedule"] if r["project"] == "P1")
    assert cov["life_coverage"] == pytest.approx(row["coverage"])


DEMO = Path(__file__).resolve().parents[2] / "examples"


def test_demo_pledge_loan_breaches_in_construction_years_and_shows_it():
    from restora.appraisal.io import read_project
    from restora.appraisal.pipeline import run_appraisal
    from restora.cli.appraise import county_from_folder
    from restora.diagnosis.county import diagnose_county

    cty = county_from_folder(DEMO / "demo-county")
    spec, _ = read_project(DEMO / "demo-projects" / "QS-M10.yaml")
    res = run_appraisal(spec, cty.register, diagnose_county(cty.register, cty.context))
    st = res.financing.to_json()["structure"]
    (cov,) = st["covenants"]
    # grace years 2027-2028 fall in construction: interest paid from the sources, CFADS 0
    assert cov["construction_years_below"] == [2027, 2028]
    assert {2027, 2028} <= set(cov["years_below"])
    assert not cov["meets"]
    assert any(f.startswith("FIN-STRUCT-DSCR: pledge-loan") for f in st["flags"])
    su = st["sources_uses"]
    assert su["total_sources_cny"] == pytest.approx(su["total_uses_cny"], rel=1e-12)
    # construction uses = the cost stage's nominal cost of 2026-2028 + interest during it
    capex = sum(v for y, v in res.cost.capex_nominal.items() if y <= 2028)
    life = sum(u["total_cny"] for u in su["uses"] if u["item"] == "lifecycle_cost")
    assert life == pytest.approx(capex, rel=1e-12)
