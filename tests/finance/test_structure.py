"""The combined financing structure worked by hand: sources and uses, waterfall, covenants.

One pledge loan, one performance bond and a benefit-sharing agreement over six years (periods
0 … 6 = 2026 … 2032), every figure below computed by hand in the comments (OpenFisca style).

The project (nominal CNY):

    period            0      1      2     3     4     5     6
    works cost     1000    500      .     .     .     .     .   (survey 100 + closure 900; basic 500)
    aftercare         .      .     50    50     .     .     .   (maintenance)
    operations        .      .    600   600   600   600   600
    grant             .    200      .     .     .     .     .   (400 with probability 0.5)
    opex              .      .    100   100   100   100   100
    CFADS (stage)     0    200    500   500   500   500   500   revenue − opex
    CFADS (structure) 0      0    450   450   500   500   500   − grant (construction), − aftercare

Construction ends in period 1 (the last works cost). The loan (1000 at 10 %, 6 years, 1 year
of grace, equal principal, DSCR floor 1.3, a 6-month reserve) and the bond (500 at 4 %, 5
years, one tranche verified in year 4: value 0.6 < 0.8 repays half) are raised in period 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.finance.instruments import run_instrument
from restora.finance.sources_uses import Grant, sources_and_uses
from restora.finance.structure import build, structure_cfads
from restora.finance.waterfall import (
    Obligation,
    SharingTerms,
    cascade,
    from_performance_bond,
    from_pledge_loan,
)

YEARS = np.arange(2026, 2033)
N = YEARS.size
REVENUE = np.array([0, 200, 600, 600, 600, 600, 600], dtype=float)  # operations + grant
OPEX = np.array([0, 0, 100, 100, 100, 100, 100], dtype=float)
LIFECYCLE = {
    "survey_design": [100.0, 0, 0, 0, 0, 0, 0],
    "closure_hazard": [900.0, 0, 0, 0, 0, 0, 0],
    "basic_restoration": [0, 500.0, 0, 0, 0, 0, 0],
    "maintenance": [0, 0, 50.0, 50.0, 0, 0, 0],
}
GRANT = Grant(
    "修复补助",
    1,
    200.0,
    ({"amount_cny": 400.0, "probability": 0.5, "expected_cny": 200.0, "kind": "subsidy"},),
)
CFADS = np.array([0, 0, 450, 450, 500, 500, 500], dtype=float)
LOAN = {
    "rights": [{"name": "经营收入", "revenue": [0, 600, 600, 600, 600, 600]}],
    "valuation_rate": 0.1,
    "ltv": 0.8,
    "requested": 1000.0,
    "interest_rate": 0.1,
    "tenor_years": 6,
    "grace_years": 1,
    "amortisation": "equal_principal",
    "cfads": CFADS[1:].tolist(),
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
SHARING = SharingTerms(
    village_minimum=30.0,
    company_capital=None,  # the sponsor's construction equity
    priority_rate=0.1,
    cumulative_priority=True,
    land_share=0.25,
    labour_share=0.25,
)


def _structure():
    loan = run_instrument("pledge-loan", LOAN)
    bond = run_instrument("performance-bond", BOND)
    obligations = [from_pledge_loan(loan, LOAN, N), from_performance_bond(bond, N)]
    s = build(
        YEARS,
        revenue=REVENUE,
        opex=OPEX,
        lifecycle=LIFECYCLE,
        end=1,
        grants=[GRANT],
        earmarked=np.zeros(N),
        obligations=obligations,
        sharing=SHARING,
    )
    return s, loan, bond


def test_cfads_of_the_structure():
    # construction: 200 - 200 (grant) = 0; after: 500 - 50 (maintenance) = 450, then 500
    total = np.sum(list(LIFECYCLE.values()), axis=0)
    cf = structure_cfads(REVENUE - OPEX, [0, 200, 0, 0, 0, 0, 0], total, 1)
    assert cf.tolist() == CFADS.tolist()


def test_sources_equal_uses_by_hand():
    s, _, _ = _structure()
    su = s.sources_uses
    # period 0: uses 100 + 900 = 1000; loan 1000 + bond 500 arrive: equity 0, 500 carried
    # period 1: uses 500 works + IDC 100 (loan) + 20 (bond) + DSRA 0.5 * (100 + 200) = 150
    #           = 770; cash 500 + grant 200 = 700: equity 70, nothing left at completion
    assert su.equity.tolist() == [0.0, 70.0]
    assert su.opening_cash.tolist() == [0.0, 500.0]
    assert su.cash_at_completion == 0.0
    # uses 1000 + 500 + 100 + 20 + 150 = 1770 = sources 1000 + 500 + 200 + 70, exactly
    assert su.total("use") == su.total("source") == 1770.0
    doc = su.to_json()
    assert doc["balanced"]
    assert doc["sponsor_equity_cny"] == 70.0
    items = {
        (u["item"], u.get("phase") or u.get("obligation")): u["total_cny"] for u in doc["uses"]
    }
    assert items[("lifecycle_cost", "survey_design")] == 100.0
    assert items[("interest_during_construction", "pledge-loan")] == 100.0
    assert items[("interest_during_construction", "performance-bond")] == 20.0
    assert items[("dsra_funding", None)] == 150.0
    assert ("lifecycle_cost", "maintenance") not in items  # aftercare: paid from CFADS
    # the grant (400 at p = 0.5) counts 200; without it period 1 lacks 200 more: equity 270
    (risk,) = s.grant_risk()
    assert (risk["year"], risk["expected_cny"], risk["equity_if_not_paid_cny"]) == (2027, 200, 200)
    grant = next(x for x in doc["sources"] if x["item"] == "grant")
    assert grant["contingent"][0]["probability"] == 0.5
    assert grant["total_cny"] == 200.0
    # each year: opening + sources = uses + carried
    for r in doc["by_year"]:
        assert r["opening_cash_cny"] + r["sources_cny"] == r["uses_cny"] + r["carried_cash_cny"]


def test_waterfall_by_hand():
    s, _, _ = _structure()
    rows = {r["year"]: r for r in s.to_json()["waterfall"]["rows"]}
    assert sorted(rows) == [2028, 2029, 2030, 2031, 2032]
    r = rows[2028]
    # 450: loan 100 + 200 = 300 -> 150; DSRA 150 -> target 0.5 * 280 = 140 releases 10 -> 160;
    # coupon 20 -> 140 to share: village 30, priority 0.1 * 70 = 7, residual 103 split
    # 0.25 + 0.25 to the village (51.5) and 51.5 to the sponsor
    assert r["senior_paid_cny"] == pytest.approx(300.0)
    assert r["dsra_release_cny"] == pytest.approx(10.0)
    assert r["dsra_balance_cny"] == pytest.approx(140.0)
    assert r["bonds_paid_cny"] == pytest.approx(20.0)
    assert r["distributable_cny"] == pytest.approx(140.0)
    assert r["village_guaranteed_cny"] == 30.0
    assert r["village_dividend_cny"] == pytest.approx(51.5)
    assert r["sponsor_priority_return_cny"] == pytest.approx(7.0)
    assert r["distribution_to_equity_cny"] == pytest.approx(58.5)
    r = rows[2030]
    # 500: loan 60 + 200 = 260 -> 240; DSRA 130 -> 120 releases 10 -> 250; bond coupon 20 and
    # principal 250 (half of 500; the other half forfeited) = 270 due: 250 paid, 20 unpaid.
    # Nothing to share: the sponsor tops up the village's 30; the priority return 7 waits.
    assert r["bonds_due_cny"] == pytest.approx(270.0)
    assert r["bonds_paid_cny"] == pytest.approx(250.0)
    assert r["arrears_end_cny"] == pytest.approx(20.0)
    assert r["sponsor_injection_to_cure_cny"] == pytest.approx(20.0)
    assert r["sponsor_village_topup_cny"] == pytest.approx(30.0)
    assert r["distribution_to_equity_cny"] == 0.0
    r = rows[2031]
    # 500: loan 40 + 200 -> 260; DSRA releases 10 -> 270; bond arrears 20 -> 250; village 30,
    # priority 7 + 7 arrears = 14, residual 206: village 103, sponsor 103 -> equity 117
    assert r["bonds_paid_cny"] == pytest.approx(20.0)
    assert r["arrears_end_cny"] == pytest.approx(0.0)
    assert r["distribution_to_equity_cny"] == pytest.approx(117.0)
    r = rows[2032]
    # 500: loan 20 + 200 -> 280; the DSRA's 110 released (no debt service next year) -> 390;
    # village 30, priority 7, residual 353: 176.5 each -> equity 183.5
    assert r["dsra_release_cny"] == pytest.approx(110.0)
    assert r["dsra_balance_cny"] == 0.0
    assert r["distribution_to_equity_cny"] == pytest.approx(183.5)
    eq = s.to_json()["equity"]
    # paid in: 70 at construction + 30 village top-up; out: 58.5 + 68.5 + 0 + 117 + 183.5
    assert eq["construction_cny"] == 70.0
    assert eq["village_topups_cny"] == pytest.approx(30.0)
    assert eq["distributions_cny"] == pytest.approx(427.5)
    assert eq["injection_to_cure_cny"] == pytest.approx(20.0)


def test_every_yuan_allocated_once_each_year():
    s, _, _ = _structure()
    for r in s.to_json()["waterfall"]["rows"]:
        inflow = (
            r["cfads_cny"]
            + r["cash_from_construction_cny"]
            + r["sponsor_injection_operating_cny"]
            + r["dsra_draw_cny"]
            + r["dsra_release_cny"]
            + r["investor_payments_cny"]
            + r["sponsor_village_topup_cny"]
        )
        outflow = (
            r["senior_paid_cny"]
            + r["dsra_topup_cny"]
            + r["bonds_paid_cny"]
            + r["village_guaranteed_cny"]
            + r["village_dividend_cny"]
            + r["distribution_to_equity_cny"]
        )
        assert inflow == pytest.approx(outflow, abs=1e-9)
        assert r["conservation_residual_cny"] == pytest.approx(0.0, abs=1e-9)
        assert r["distribution_to_equity_cny"] >= 0.0


def test_bond_investors_paid_by_year():
    s, _, bond = _structure()
    doc = next(
        b
        for b in s.to_json()["waterfall"]["by_obligation"]
        if b["instrument"] == "performance-bond"
    )
    paid = [r["interest_paid_cny"] + r["principal_paid_cny"] for r in doc["rows"]]
    # 2027 coupon from the sources; 2028-2029 coupons; 2030 20 + 230; 2031 the 20 in arrears
    assert paid == pytest.approx([20.0, 20.0, 20.0, 250.0, 20.0])
    assert [r["paid_from"] for r in doc["rows"]] == ["sources"] + ["cfads"] * 4
    assert doc["rows"][3]["principal_forfeited_cny"] == 250.0
    # investors get what the instrument promises, one year late for 20
    assert doc["total_paid_cny"] == pytest.approx(bond.summary["total_to_investors"])
    assert doc["unpaid_at_end_cny"] == pytest.approx(0.0)


def test_dscr_table_is_the_loan_instruments_own():
    s, loan, _ = _structure()
    cov = next(c for c in s.to_json()["covenants"] if c["instrument"] == "pledge-loan")
    # CFADS 0, 450, 450, 500, 500, 500 over debt service 100, 300, 280, 260, 240, 220
    expected = [0.0, 1.5, 450 / 280, 500 / 260, 500 / 240, 500 / 220]
    assert [r["dscr"] for r in cov["rows"]] == pytest.approx(expected)
    assert [r["dscr"] for r in cov["rows"]] == pytest.approx([r["dscr"] for r in loan.schedule])
    assert [r["debt_service_cny"] for r in cov["rows"]] == pytest.approx(
        [r["debt_service"] for r in loan.schedule]
    )
    # 2027 is a construction year: its interest is paid from the sources, and the breach shows
    assert cov["years_below"] == [2027] == [y + 2026 for y in loan.summary["dscr_breach_years"]]
    assert cov["construction_years_below"] == [2027]
    assert cov["rows"][0]["phase"] == "construction"
    assert not cov["meets"]
    assert cov["min_dscr"] == 0.0 and cov["min_dscr_year"] == 2027
    assert cov["average_dscr"] == pytest.approx(sum(expected) / 6)
    assert cov["min_dscr_operation"] == pytest.approx(1.5)
    # LLCR_0 = (450/1.1^2 + 450/1.1^3 + 500/1.1^4 + 500/1.1^5 + 500/1.1^6) / 1000
    #        = (371.9008 + 338.0917 + 341.5067 + 310.4607 + 282.2370) / 1000 = 1.644197
    llcr = sum(c / 1.1**t for t, c in enumerate([0, 0, 450, 450, 500, 500, 500])) / 1000
    assert cov["llcr_at_drawdown"] == pytest.approx(llcr)
    assert llcr == pytest.approx(1.644197, rel=1e-6)
    assert any(
        f.startswith("FIN-STRUCT-DSCR: pledge-loan DSCR below 1.3 in [2027]") for f in s.flags()
    )


def test_village_paid_as_the_benefit_sharing_instrument_computes():
    s, _, _ = _structure()
    w = s.to_json()["waterfall"]["rows"]
    income = [r["distributable_cny"] for r in w]
    assert income == pytest.approx([140.0, 160.0, 0.0, 250.0, 390.0])
    res = run_instrument(
        "benefit-sharing",
        {
            "distributable_income": income,
            "company_capital": 70.0,
            "priority_rate": 0.1,
            "village_minimum": 30.0,
            "village_land_share": 0.25,
            "village_labour_share": 0.25,
        },
    )
    village = [r["village_guaranteed_cny"] + r["village_dividend_cny"] for r in w]
    assert village == pytest.approx([r["village_total"] for r in res.schedule])
    sponsor = [r["distribution_to_equity_cny"] - r["sponsor_village_topup_cny"] for r in w]
    assert sponsor == pytest.approx([r["company_total"] for r in res.schedule])


def test_shortfall_leaves_arrears_and_draws_the_reserve_never_negative_equity():
    # one senior loan of 100 repaid 50 + 50 (no interest), reserve 12 months; CFADS 20 then 90
    o = Obligation(
        name="loan",
        instrument="pledge-loan",
        rank=1,
        term=2,
        proceeds=np.array([100.0, 0, 0]),
        interest=np.zeros(3),
        principal=np.array([0, 50.0, 50.0]),
        outcome=np.zeros(3),
        fees=np.zeros(3),
        forfeited=np.zeros(3),
        reserve_months=12,
    )
    # period 1: 20 paid from cash, 30 drawn from the reserve of 50 (its target 50 = next year's
    # service): reserve left 20, nothing to top it up; period 2: 50 due, 90 cash: paid; the
    # reserve (20) is released: 40 + 20 = 60 to equity
    c = cascade([0.0, 20.0, 90.0], 1, [o], reserve_opening=50.0)
    assert c.reserve_draw.tolist() == [0.0, 30.0, 0.0]
    assert c.arrears_total.tolist() == [0.0, 0.0, 0.0]
    assert c.to_equity.tolist() == [0.0, 0.0, 60.0]
    # without a reserve: 30 unpaid in period 1, paid in period 2 (80 due): 10 to equity
    c = cascade([0.0, 20.0, 90.0], 1, [o])
    assert c.arrears_total.tolist() == [0.0, 30.0, 0.0]
    assert c.injection_to_cure.tolist() == [0.0, 30.0, 0.0]
    assert c.to_equity.tolist() == [0.0, 0.0, 10.0]
    # a negative CFADS is an operating deficit the sponsor pays; nothing is distributed, and
    # 50 + 50 due against 90 leaves 10 unpaid at the end
    c = cascade([0.0, -15.0, 90.0], 1, [o])
    assert c.injection_operating.tolist() == [0.0, 15.0, 0.0]
    assert c.arrears_total.tolist() == [0.0, 50.0, 10.0]
    assert np.all(c.to_equity >= 0)


@settings(max_examples=60, deadline=None)
@given(
    cf=st.lists(st.floats(-200, 800, allow_nan=False), min_size=7, max_size=7),
    months=st.sampled_from([0.0, 6.0, 12.0]),
    minimum=st.floats(0, 100),
)
def test_conservation_holds_for_any_cash_flow(cf, months, minimum):
    loan = run_instrument("pledge-loan", {**LOAN, "cfads": cf[1:], "dsra_months": months})
    bond = run_instrument("performance-bond", BOND)
    obligations = [
        from_pledge_loan(loan, {**LOAN, "dsra_months": months}, N),
        from_performance_bond(bond, N),
    ]
    sharing = SharingTerms(minimum, 50.0, 0.08, True, 0.2, 0.1)
    c = cascade(np.asarray(cf), 2, obligations, cash_from_construction=5.0, sharing=sharing)
    assert np.allclose(c.inflows, c.outflows, atol=1e-7)
    assert np.all(c.to_equity >= -1e-12)
    # what is paid to each obligation never exceeds what it is owed in total
    for o in obligations:
        paid = sum(c.paid[o.name][k].sum() for k in ("interest", "principal", "outcome"))
        owed = float(o.debt_service[2:].sum())
        assert paid <= owed + 1e-7
        assert paid + sum(
            c.arrears[o.name][k][-1] for k in ("interest", "principal", "outcome")
        ) == pytest.approx(owed)


def test_sources_uses_balance_with_surplus_and_deficits():
    # a loan larger than the works: the surplus is carried and left at completion (a use), so
    # sources = uses; an operating deficit of 5 in period 1 is a use
    su = sources_and_uses(
        [2026, 2027, 2028],
        1,
        {"pollution": [30.0, 20.0, 0.0]},
        [0.0, -5.0, 0.0],
        [],
        [
            from_pledge_loan(
                run_instrument("pledge-loan", {**LOAN, "requested": 80.0}), LOAN, 3
            ).funding()
        ],
    )
    # period 0: 80 in, 30 out -> 50 carried; period 1: 20 + 5 deficit + interest 8 = 33 -> 17 left
    assert su.equity.tolist() == [0.0, 0.0]
    assert su.cash_at_completion == pytest.approx(17.0)
    assert su.total("source") == pytest.approx(su.total("use"))


def test_fees_are_uses_at_drawdown():
    # a 1 % arrangement fee on 1000 and 2 % issuance costs on 500 are paid in period 0:
    # uses 1000 + 10 + 10 = 1020, carried 480; period 1 needs 770 - 480 - 200 = 90 of equity
    loan_in = {**LOAN, "arrangement_fee_rate": 0.01}
    loan = run_instrument("pledge-loan", loan_in)
    bond = run_instrument("performance-bond", {**BOND, "issuance_cost_rate": 0.02})
    obligations = [
        from_pledge_loan(loan, loan_in, N),
        from_performance_bond(bond, N, issuance_cost_rate=0.02),
    ]
    s = build(
        YEARS,
        revenue=REVENUE,
        opex=OPEX,
        lifecycle=LIFECYCLE,
        end=1,
        grants=[GRANT],
        earmarked=np.zeros(N),
        obligations=obligations,
    )
    fees = [u for u in s.to_json()["sources_uses"]["uses"] if u["item"] == "fees"]
    assert [f["by_year_cny"] for f in fees] == [[10.0, 0.0], [10.0, 0.0]]
    assert s.sources_uses.equity.tolist() == [0.0, 90.0]
