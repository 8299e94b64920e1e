"""Guarantee fund + insurance: loss allocation, premiums, leverage and the probability the fund
is exhausted (Monte Carlo against a hand binomial calculation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from restora.finance.instruments.guarantee import (
    GuaranteeSpec,
    Peril,
    exhaustion_binomial,
    premium,
    run,
    simulate,
)


def _spec(**kw):
    base = {
        "loans": [{"name": f"L{i}", "exposure": 1000.0, "pd": 0.1, "lgd": 0.5} for i in range(10)],
        "fund_capital": 250.0,
        "fund_share": 0.2,
        "draws": 200_000,
        "seed": 7,
    }
    base.update(kw)
    return GuaranteeSpec(**base)


def test_exhaustion_probability_monte_carlo_vs_binomial_by_hand():
    # each default: loss 1000 * 0.5 = 500, fund claim 0.2 * 500 = 100. Capital 250 is
    # exhausted by 3 or more defaults of 10 with p = 0.1:
    # P(K >= 3) = 1 - [0.9^10 + 10 * 0.1 * 0.9^9 + 45 * 0.01 * 0.9^8]
    #           = 1 - (0.3486784401 + 0.3874204890 + 0.1937102445) = 0.0701908264
    hand = 1 - (0.9**10 + 10 * 0.1 * 0.9**9 + 45 * 0.01 * 0.9**8)
    assert hand == pytest.approx(0.0701908264, abs=1e-10)
    assert exhaustion_binomial(10, 0.1, 100.0, 250.0) == pytest.approx(hand, abs=1e-12)
    res = run(_spec())
    p, se = res.summary["p_exhausted"], res.summary["p_exhausted_se"]
    assert abs(p - hand) < 4 * se  # se ≈ sqrt(0.07 * 0.93 / 2e5) ≈ 5.7e-4
    assert res.summary["leverage"] == pytest.approx(10 * 0.2 * 1000 / 250)  # 8
    assert res.summary["loan_leverage"] == pytest.approx(40.0)
    # expected fund claims before the cap of capital: 10 * 0.1 * 100 = 100
    assert res.summary["expected_fund_claims"] == pytest.approx(100.0, rel=0.02)


def test_losses_are_conserved_between_insurer_fund_and_lender():
    peril = {
        "name": "slope failure",
        "kind": "engineering_accident",
        "probability": 0.2,
        "damage": 300.0,
        "deductible": 50.0,
        "limit": 200.0,
        "loading": 0.25,
    }
    spec = _spec(perils=[peril], fund_cap_per_loan=80.0, draws=20_000)
    sim = simulate(spec)
    # recovery from insurance is capped by the loss it offsets; what remains is split
    # between fund and lender exactly
    net = sim["fund"] + sim["lender"]
    gross = sim["gross"]
    assert np.all(net <= gross + 1e-9)
    assert np.all(sim["fund"] <= 80.0 + 1e-9)
    assert np.all(sim["fund"].sum(axis=1) <= spec.fund_capital + 1e-9)
    # where no peril struck a defaulted loan, fund + lender = gross
    no_peril = sim["insurer"] == 0
    assert np.allclose(net[no_peril], gross[no_peril])


def test_premium_from_expected_loss_and_loading():
    # indemnity min(max(300 - 50, 0), 200) = 200; premium (1 + 0.25) * 0.2 * 200 = 50
    p = Peril(
        name="flood",
        kind="natural_disaster",
        probability=0.2,
        damage=300.0,
        deductible=50.0,
        limit=200.0,
        loading=0.25,
    )
    assert premium(p) == pytest.approx(50.0)
    res = run(_spec(perils=[p.model_dump()], draws=20_000))
    assert res.summary["total_premium"] == pytest.approx(500.0)  # 10 loans
    # insurer's expected payout 10 * 0.2 * 200 = 400 = premiums / 1.25
    assert res.summary["expected_insurer_paid"] == pytest.approx(400.0, rel=0.03)


def test_fund_pays_pro_rata_when_exhausted():
    # two loans, both default for sure: claims 2 * 100 = 200 > capital 150 -> each gets 75
    spec = GuaranteeSpec(
        loans=[
            {"name": "a", "exposure": 1000, "pd": 1.0, "lgd": 0.5},
            {"name": "b", "exposure": 1000, "pd": 1.0, "lgd": 0.5},
        ],
        fund_capital=150.0,
        fund_share=0.2,
        draws=100,
    )
    res = run(spec)
    assert res.summary["p_exhausted"] == 1.0
    assert [r["expected_fund_paid"] for r in res.schedule] == pytest.approx([75.0, 75.0])
    assert [r["expected_lender_loss"] for r in res.schedule] == pytest.approx([425.0, 425.0])


def test_correlation_fattens_the_tail():
    # same PD, correlated defaults cluster: exhaustion (3+ defaults of 10) becomes likelier
    indep = run(_spec(draws=100_000)).summary["p_exhausted"]
    corr = run(_spec(draws=100_000, correlation=0.3)).summary["p_exhausted"]
    assert corr > indep
    # the marginal PD is unchanged: expected claims stay 100
    assert run(_spec(draws=100_000, correlation=0.3)).summary["expected_fund_claims"] == (
        pytest.approx(100.0, rel=0.05)
    )


def test_binomial_helper_edge():
    # capital below one claim: any default exhausts: 1 - 0.9^10
    assert exhaustion_binomial(10, 0.1, 100.0, 50.0) == pytest.approx(1 - 0.9**10)
    assert math.isclose(exhaustion_binomial(10, 0.0, 100.0, 50.0), 0.0)


def test_blocks_of_draws_give_the_same_estimate(monkeypatch):
    # 50 000 draws in blocks of 7 draws (70 cells / 10 loans): same binomial answer
    from restora.finance.instruments import guarantee

    monkeypatch.setattr(guarantee, "CHUNK_CELLS", 70)
    res = run(_spec(draws=50_000))
    hand = 0.0701908264
    assert abs(res.summary["p_exhausted"] - hand) < 4 * res.summary["p_exhausted_se"]
    assert res.summary["expected_fund_claims"] == pytest.approx(100.0, rel=0.03)
