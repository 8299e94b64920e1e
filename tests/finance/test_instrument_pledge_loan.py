"""Pledge loan on carbon-sink / land-quota income rights: capacity, amortisation, covenants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.finance.instruments.pledge_loan import PledgeLoanSpec, rights_value, run


def _spec(**kw):
    base = {
        "rights": [{"name": "carbon", "kind": "carbon_sink", "revenue": [110.0, 121.0]}],
        "valuation_rate": 0.10,
        "ltv": 0.5,
        "interest_rate": 0.10,
        "tenor_years": 2,
        "min_dscr": 1.2,
    }
    base.update(kw)
    return PledgeLoanSpec(**base)


def test_capacity_is_value_times_haircut():
    # V0 = 110/1.1 + 121/1.21 = 100 + 100 = 200; capacity = 0.5 * 200 = 100
    res = run(_spec())
    assert res.summary["rights_value"] == pytest.approx(200.0)
    assert res.summary["capacity"] == pytest.approx(100.0)
    assert res.summary["amount"] == pytest.approx(100.0)


def test_annuity_schedule_and_dscr_by_hand():
    # 100 at 10 % over 2 years: annuity 100 * 0.1 / (1 - 1.1**-2) = 57.6190
    # year 1: interest 10, principal 47.619; year 2: interest 5.2381, principal 52.381
    res = run(_spec())
    rows = res.schedule
    assert rows[0]["debt_service"] == pytest.approx(57.6190476, rel=1e-6)
    assert rows[0]["interest"] == pytest.approx(10.0)
    assert rows[1]["interest"] == pytest.approx(5.2380952, rel=1e-6)
    # DSCR = 110 / 57.619 = 1.9091, 121 / 57.619 = 2.1000
    assert rows[0]["dscr"] == pytest.approx(110 / 57.6190476, rel=1e-6)
    assert rows[1]["dscr"] == pytest.approx(2.1, rel=1e-6)
    # LTV after year 1: 52.381 / (121/1.1 = 110) = 0.4762
    assert rows[0]["ltv"] == pytest.approx(52.3809524 / 110.0, rel=1e-6)
    assert res.summary["covenants_met"]


def test_dscr_covenant_breach_is_flagged():
    # CFADS 60 and 70 against 57.619 of service: DSCR 1.041 < 1.2 in year 1, 1.215 in year 2
    res = run(_spec(cfads=[60.0, 70.0]))
    assert res.summary["dscr_breach_years"] == [1]
    assert not res.summary["covenants_met"]
    assert any(f.startswith("FIN-PLEDGE-DSCR: year 1") for f in res.flags)


def test_ltv_covenant_breach_with_bullet():
    # bullet: 100 outstanding after year 1 against rights worth 110 -> LTV 0.909 > 0.6
    res = run(_spec(amortisation="bullet", max_ltv=0.6))
    assert res.schedule[0]["ltv"] == pytest.approx(100 / 110)
    assert res.summary["ltv_breach_years"] == [1]
    assert any(f.startswith("FIN-PLEDGE-LTV") for f in res.flags)


def test_request_above_capacity_is_cut_and_flagged():
    res = run(_spec(requested=150.0))
    assert res.summary["amount"] == pytest.approx(100.0)
    assert any(f.startswith("FIN-PLEDGE-CAPACITY") for f in res.flags)
    smaller = run(_spec(requested=40.0))
    assert smaller.summary["amount"] == 40.0


def test_grace_years_pay_interest_only():
    res = run(_spec(tenor_years=3, grace_years=1, rights=[{"name": "q", "revenue": [50, 80, 80]}]))
    assert res.schedule[0]["principal"] == 0.0
    assert res.schedule[0]["interest"] == pytest.approx(0.1 * res.summary["amount"])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 1e6), min_size=1, max_size=15),
    st.floats(0.0, 0.3),
    st.floats(0.001, 0.2),
)
def test_rights_value_falls_as_the_rate_rises(rev, r, dr):
    v_lo = rights_value(rev, r)
    v_hi = rights_value(rev, r + dr)
    assert v_hi[0] <= v_lo[0] + 1e-6
    assert v_lo[-1] == 0.0
