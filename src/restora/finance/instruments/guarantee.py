"""Government guarantee fund plus commercial insurance: who bears a project's loss.

For each financed project, over one horizon (the loan life; probabilities are cumulative over
it):

1. insured perils (engineering accidents, natural disasters) strike with their probability;
   the insurer indemnifies the damage above the deductible up to the limit, and charges a
   premium of expected indemnity × (1 + loading) (``FIN-GUAR-PREMIUM``);
2. the loan defaults with its probability; the lender's gross loss is exposure × LGD, less the
   indemnity of any peril that struck (assigned to the lender as loss payee);
3. the guarantee fund pays its share of that net loss up to a per-loan cap
   (``FIN-GUAR-SHARE``), pro rata from what is left when claims exceed its capital
   (``FIN-GUAR-EXHAUST``); the lender bears the rest.

Monte Carlo draws defaults (independent, or correlated by a one-factor Gaussian copula) and
perils; the fund's leverage is guaranteed exposure over capital.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy import stats

from restora.finance.instruments._spec import InstrumentResult, Spec, quantity

NAME = "guarantee"


class Peril(Spec):
    """An insured peril and its cover, the same for every loan it applies to."""

    name: str
    kind: Literal["engineering_accident", "natural_disaster", "other"] = "other"
    probability: float = quantity("probability of the peril over the horizon", "1", ge=0, le=1)
    damage: float = quantity("damage when it strikes, per project", "currency", ge=0)
    deductible: float = quantity("deductible", "currency", ge=0, default=0.0)
    limit: float | None = quantity("indemnity limit", "currency", gt=0, default=None)
    loading: float = quantity("premium loading on expected indemnity", "1", ge=0)


class GuaranteedLoan(Spec):
    """A loan to one project."""

    name: str
    exposure: float = quantity("exposure at default", "currency", gt=0)
    pd: float = quantity("probability of default over the horizon", "1", ge=0, le=1)
    lgd: float = quantity("loss given default", "1", ge=0, le=1)


class GuaranteeSpec(Spec):
    """Inputs of a guarantee-fund and insurance arrangement."""

    loans: list[GuaranteedLoan] = Field(min_length=1)
    fund_capital: float = quantity("guarantee fund capital", "currency", gt=0)
    fund_share: float = quantity("fund's share of each default loss", "1", ge=0, le=1)
    fund_cap_per_loan: float | None = quantity(
        "most the fund pays on one loan", "currency", gt=0, default=None
    )
    perils: list[Peril] = Field(default_factory=list)
    correlation: float = quantity(
        "asset correlation of defaults (one factor)", "1", ge=0, lt=1, default=0.0
    )
    draws: int = quantity("Monte Carlo draws", "1", ge=100, le=10_000_000, default=100_000)
    seed: int = 1
    currency: str = "CNY"


def indemnity(peril: Peril) -> float:
    """Insurer's payment when the peril strikes [currency]: min(max(D − d, 0), limit)."""
    pay = max(peril.damage - peril.deductible, 0.0)
    return pay if peril.limit is None else min(pay, peril.limit)


def premium(peril: Peril) -> float:
    """Premium per project [currency].

    Notes
    -----
    Expected-value principle: :math:`\\pi = (1 + \\theta)\\, p \\min(\\max(D-d, 0), M)`.

    References
    ----------
    Kaas, R., Goovaerts, M., Dhaene, J., Denuit, M. (2008). *Modern Actuarial Risk Theory*,
    2nd ed., Springer, §5.2 (expected value premium principle).
    """
    return (1.0 + peril.loading) * peril.probability * indemnity(peril)


def exhaustion_binomial(n: int, pd: float, claim: float, capital: float) -> float:
    """P(fund exhausted) for ``n`` independent identical loans, each default claiming ``claim``.

    Parameters
    ----------
    n : int
        Number of loans.
    pd : float
        Probability of default of each [1].
    claim : float
        Fund's payment per default [currency].
    capital : float
        Fund capital [currency].

    Returns
    -------
    float
        :math:`P(K c \\ge F) = 1 - F_{Bin(n,p)}(\\lceil F/c \\rceil - 1)` [1].
    """
    k = int(np.ceil(capital / claim))
    return float(stats.binom.sf(k - 1, n, pd))


CHUNK_CELLS = 1 << 21  # draws x loans per block: bounds memory (~17 MB per float array)


def _defaults(spec: GuaranteeSpec, m: int, rng: np.random.Generator) -> np.ndarray:
    """(m, n) default indicators: independent, or one-factor Gaussian copula (Vasicek)."""
    n = len(spec.loans)
    pd = np.array([ln.pd for ln in spec.loans])
    if spec.correlation > 0:
        z = rng.standard_normal((m, 1))
        x = rng.standard_normal((m, n))
        x *= np.sqrt(1.0 - spec.correlation)
        x += np.sqrt(spec.correlation) * z
        return x < stats.norm.ppf(pd)
    return rng.random((m, n)) < pd


def _draw_block(
    spec: GuaranteeSpec, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """One block: defaults (m, n) bool, insurer payments (m, n) or None, net loss to the
    lender before the fund (m, n), fund claims per loan (m, n) [currency]."""
    n = len(spec.loans)
    ead = np.array([ln.exposure * ln.lgd for ln in spec.loans])
    default = _defaults(spec, m, rng)
    insurer: np.ndarray | None = None
    for p in spec.perils:
        paid = (rng.random((m, n)) < p.probability) * indemnity(p)
        insurer = paid if insurer is None else insurer + paid
    net = default * ead
    if insurer is not None:
        net = np.maximum(net - insurer, 0.0)
    claim = spec.fund_share * net
    if spec.fund_cap_per_loan is not None:
        np.minimum(claim, spec.fund_cap_per_loan, out=claim)
    return default, insurer, net, claim


def _scale(claims: np.ndarray, capital: float) -> np.ndarray:
    """Pro-rata factor of each draw's claims the fund can pay [1]."""
    out = np.ones_like(claims)
    over = claims > capital
    out[over] = capital / claims[over]
    return out


def simulate(
    spec: GuaranteeSpec, draws: int | None = None, rng: np.random.Generator | None = None
) -> dict[str, np.ndarray]:
    """Monte Carlo of losses by party for one block of draws, every array kept.

    Parameters
    ----------
    spec : GuaranteeSpec
    draws : int, optional
        Draws in this block (default ``spec.draws``).
    rng : numpy.random.Generator, optional
        Generator (default: seeded from ``spec.seed``).

    Returns
    -------
    dict
        ``default`` (bool), ``gross``, ``insurer``, ``fund``, ``lender`` of shape
        (draws, loans) [currency]; ``claims`` (draws,) [currency]; ``exhausted`` (draws,) bool.
    """
    rng = rng if rng is not None else np.random.default_rng(spec.seed)
    m = spec.draws if draws is None else draws
    default, insurer, net, claim = _draw_block(spec, m, rng)
    ead = np.array([ln.exposure * ln.lgd for ln in spec.loans])
    total = claim.sum(axis=1)
    fund = claim * _scale(total, spec.fund_capital)[:, None]
    return {
        "default": default,
        "gross": default * ead,
        "insurer": np.zeros_like(net) if insurer is None else insurer,
        "fund": fund,
        "lender": net - fund,
        "claims": total,
        "exhausted": total >= spec.fund_capital,
    }


def _accumulate(spec: GuaranteeSpec) -> dict[str, Any]:
    """Run the draws in blocks of at most ``CHUNK_CELLS`` cells; keep per-loan sums and the
    per-draw fund claims only."""
    rng = np.random.default_rng(spec.seed)
    n = len(spec.loans)
    ead = np.array([ln.exposure * ln.lgd for ln in spec.loans])
    block = max(1, CHUNK_CELLS // n)
    sums = {k: np.zeros(n) for k in ("gross", "insurer", "fund", "lender")}
    claims = np.empty(spec.draws)
    done = 0
    per_claim = spec.fund_share * ead
    if spec.fund_cap_per_loan is not None:
        per_claim = np.minimum(per_claim, spec.fund_cap_per_loan)
    while done < spec.draws:
        m = min(block, spec.draws - done)
        if not spec.perils:
            # no insurance: every loss is linear in the default indicators, so sums are
            # matrix-vector products on the (m, n) 0/1 matrix and no loss array is formed
            d = _defaults(spec, m, rng).astype(np.float64)
            total = d @ per_claim
            paid = (_scale(total, spec.fund_capital) @ d) * per_claim
            count = d.sum(axis=0)
            sums["gross"] += count * ead
            sums["fund"] += paid
            sums["lender"] += count * ead - paid
            claims[done : done + m] = total
            done += m
            continue
        default, insurer, net, claim = _draw_block(spec, m, rng)
        total = claim.sum(axis=1)
        fund = _scale(total, spec.fund_capital) @ claim  # per-loan sum of paid claims
        sums["gross"] += default.sum(axis=0) * ead
        if insurer is not None:
            sums["insurer"] += insurer.sum(axis=0)
        sums["fund"] += fund
        sums["lender"] += net.sum(axis=0) - fund
        claims[done : done + m] = total
        done += m
    return {
        "means": {k: v / spec.draws for k, v in sums.items()},
        "claims": claims,
        "exhausted": int((claims >= spec.fund_capital).sum()),
    }


def run(spec: GuaranteeSpec) -> InstrumentResult:
    """Loss allocation, premiums, fund leverage and the probability the fund is exhausted.

    Parameters
    ----------
    spec : GuaranteeSpec
        Loans (exposure [currency], PD [1], LGD [1]), fund capital [currency], share [1] and
        cap [currency], perils, correlation [1], draws and seed.

    Returns
    -------
    InstrumentResult
        ``schedule``: per loan, expected gross loss and expected payments by insurer, fund and
        lender, premium; ``summary``: leverage, P(exhausted) with its Monte Carlo standard
        error, expected and 99th-percentile fund claims, expected losses by party.

    Notes
    -----
    Leverage :math:`\\Lambda = \\sum_i \\min(g E_i, cap) / F`. The fund is exhausted in a draw
    when claims :math:`\\sum_i \\min(g L_i, cap) \\ge F`; its payments are then scaled by
    :math:`F / \\sum` claims.

    References
    ----------
    Vasicek, O. (2002). The distribution of loan portfolio value. *Risk* 15(12), 160-162
    (one-factor Gaussian default model).
    """
    acc = _accumulate(spec)
    means = acc["means"]
    exposure = np.array([ln.exposure for ln in spec.loans])
    guaranteed = spec.fund_share * exposure
    if spec.fund_cap_per_loan is not None:
        guaranteed = np.minimum(guaranteed, spec.fund_cap_per_loan)
    prem = float(sum(premium(p) for p in spec.perils))
    p_ex = acc["exhausted"] / spec.draws
    rows: list[dict[str, Any]] = []
    for i, ln in enumerate(spec.loans):
        rows.append(
            {
                "loan": ln.name,
                "exposure": ln.exposure,
                "guaranteed": float(guaranteed[i]),
                "expected_gross_loss": float(means["gross"][i]),
                "expected_insurer_paid": float(means["insurer"][i]),
                "expected_fund_paid": float(means["fund"][i]),
                "expected_lender_loss": float(means["lender"][i]),
                "premium": prem,
            }
        )
    flags = []
    if p_ex > 0:
        flags.append(f"FIN-GUAR-EXHAUST: fund exhausted in {p_ex:.2%} of draws")
    summary = {
        "currency": spec.currency,
        "fund_capital": spec.fund_capital,
        "guaranteed_exposure": float(guaranteed.sum()),
        "leverage": float(guaranteed.sum() / spec.fund_capital),
        "loan_leverage": float(exposure.sum() / spec.fund_capital),
        "p_exhausted": p_ex,
        "p_exhausted_se": float(np.sqrt(p_ex * (1 - p_ex) / spec.draws)),
        "expected_fund_claims": float(acc["claims"].mean()),
        "fund_claims_p99": float(np.quantile(acc["claims"], 0.99)),
        "expected_fund_paid": float(means["fund"].sum()),
        "expected_insurer_paid": float(means["insurer"].sum()),
        "expected_lender_loss": float(means["lender"].sum()),
        "total_premium": float(prem * len(spec.loans)),
        "premiums_by_peril": {p.name: premium(p) for p in spec.perils},
        "draws": spec.draws,
        "seed": spec.seed,
    }
    codes = ("FIN-GUAR-EXHAUST", "FIN-GUAR-PREMIUM", "FIN-GUAR-SHARE")
    return InstrumentResult(NAME, summary, rows, codes, tuple(flags))
