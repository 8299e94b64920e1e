"""A loan beside contingent payments, over more scenarios than one block.

Found when the appraisal first ran the stream-scoped engine: the guarantee's cover reused the
name of the Bernoulli draws, so the second block of scenarios read a wrong-shaped array and
``simulate`` failed ("paid must have one row per scenario ...").
"""

from __future__ import annotations

import numpy as np

from restora.finance.cashflow import loan_schedule, project_flows
from restora.finance.risk import ContingentFlow, simulate


def test_loan_and_contingent_payment_over_several_blocks():
    revenue = {"sales": np.array([0.0, 50.0, 50.0, 50.0]), "grant": np.array([0.0, 40.0, 0, 0])}
    base = project_flows(revenue["sales"] + revenue["grant"], 0.0, [100.0, 0, 0, 0])
    grant = ContingentFlow("grant 1", "grant", 1, 50.0, 0.8)  # carried at 0.8 × 50 = 40
    debt = loan_schedule(60.0, 0.05, 3, 4)
    res = simulate(
        base, [], rate=0.06, hurdle=0.08, n=30, seed=3, debt=debt, revenue_streams=revenue,
        contingent=[grant], block=7,
    )  # fmt: skip
    assert res.npv.shape == (30,) and np.all(np.isfinite(res.npv))
    paid = res.paid[:, 0]
    # NPV per scenario by hand: -100 + (50 + 50·paid)/1.06 + 50/1.06² + 50/1.06³
    expect = -100 + (50 + 50 * paid) / 1.06 + 50 / 1.06**2 + 50 / 1.06**3
    np.testing.assert_allclose(res.npv, expect, rtol=1e-12)
    assert np.all(np.isfinite(res.min_dscr))
