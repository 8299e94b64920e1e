"""Benefit-sharing agreement (利益共享协议): the waterfall of a year's distributable income.

Order of payment each year (agreed before the project starts):

1. the village collective's guaranteed minimum (保底收益); if the year's income falls short,
   the restoring company tops it up from its own funds (``FIN-SHARE-GUARANTEE``);
2. the company's priority return on its invested capital, with unpaid amounts carried forward
   as arrears (cumulative preferred return, ``FIN-SHARE-PRIORITY``);
3. the residual as dividends: the village collective by its land and labour shares, the company
   the rest (``FIN-SHARE-DIVIDEND``).

The government takes no dividend: its take is the taxes paid and the ecological benefit, shown
beside the waterfall (``FIN-SHARE-GOVERNMENT``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field, model_validator

from restora.finance.instruments._spec import InstrumentResult, Spec, quantity

NAME = "benefit-sharing"


class BenefitSharingSpec(Spec):
    """Inputs of a benefit-sharing agreement."""

    distributable_income: list[float] = quantity(
        "income after operating costs and taxes, per year", "currency/yr"
    )
    company_capital: float = quantity("capital the company invested", "currency", ge=0)
    priority_rate: float = quantity("company's priority return on capital", "1/yr", ge=0, le=1)
    cumulative_priority: bool = Field(True, description="unpaid priority return carried forward")
    village_minimum: float = quantity(
        "village collective's guaranteed minimum", "currency/yr", ge=0
    )
    village_land_share: float = quantity(
        "village's share of dividends for its land", "1", ge=0, le=1
    )
    village_labour_share: float = quantity(
        "village's share of dividends for its labour", "1", ge=0, le=1
    )
    taxes: list[float] = quantity(
        "taxes paid to the government per year (one value: every year)",
        "currency/yr",
        default=[0.0],
    )
    ecological_benefit: list[float] = quantity(
        "ecological benefit accruing to the public per year (one value: every year)",
        "currency/yr",
        default=[0.0],
    )
    currency: str = "CNY"

    @model_validator(mode="after")
    def _shares(self) -> BenefitSharingSpec:
        if self.village_land_share + self.village_labour_share > 1.0 + 1e-12:
            raise ValueError("the village's land and labour shares exceed 1")
        if not self.distributable_income:
            raise ValueError("distributable_income needs at least one year")
        for name in ("taxes", "ecological_benefit"):
            if len(getattr(self, name)) not in (1, len(self.distributable_income)):
                raise ValueError(f"{name} must have 1 value or one per year")
        return self


def waterfall_year(
    income: float,
    *,
    minimum: float,
    priority_due: float,
    land_share: float,
    labour_share: float,
) -> dict[str, float]:
    """Split one year's distributable income.

    Parameters
    ----------
    income : float
        Distributable income [currency].
    minimum : float
        Village guaranteed minimum [currency].
    priority_due : float
        Company priority return due this year, arrears included [currency].
    land_share, labour_share : float
        Village's dividend shares [1].

    Returns
    -------
    dict
        ``village_minimum``, ``company_topup`` (paid by the company when income < minimum),
        ``priority_paid``, ``priority_unpaid``, ``residual``, ``village_land_dividend``,
        ``village_labour_dividend``, ``company_dividend``, ``village_total``,
        ``company_total`` [currency].

    Notes
    -----
    :math:`m = \\min(Y, G)`, top-up :math:`G - m`; priority
    :math:`p = \\min(Y - m, P_{due})`; residual :math:`R = Y - m - p`; village dividends
    :math:`(s_{land} + s_{labour}) R`; company :math:`p + (1 - s_{land} - s_{labour}) R - (G - m)`.
    Income below zero is a loss borne by the company.

    Examples
    --------
    >>> w = waterfall_year(100.0, minimum=20, priority_due=30, land_share=0.2, labour_share=0.1)
    >>> w["village_total"], w["company_total"]  # 20 + 0.3*50 = 35; 30 + 0.7*50 = 65
    (35.0, 65.0)
    """
    y = float(income)
    from_income = min(max(y, 0.0), minimum)
    topup = minimum - from_income
    after = max(y, 0.0) - from_income
    priority_paid = min(after, priority_due)
    residual = after - priority_paid
    land = land_share * residual
    labour = labour_share * residual
    company_div = residual - land - labour
    loss = min(y, 0.0)
    return {
        "village_minimum": float(minimum),
        "company_topup": topup,
        "priority_paid": priority_paid,
        "priority_unpaid": priority_due - priority_paid,
        "residual": residual,
        "village_land_dividend": land,
        "village_labour_dividend": labour,
        "company_dividend": company_div,
        "village_total": minimum + land + labour,
        "company_total": priority_paid + company_div - topup + loss,
    }


def run(spec: BenefitSharingSpec) -> InstrumentResult:
    """The waterfall year by year, with arrears of the priority return carried forward.

    Parameters
    ----------
    spec : BenefitSharingSpec
        Distributable income [currency/yr], company capital [currency] and priority rate
        [1/yr], village minimum [currency/yr] and shares [1], taxes and ecological benefit
        [currency/yr].

    Returns
    -------
    InstrumentResult
        ``schedule``: one row per year (see :func:`waterfall_year`) plus the government's taxes
        and ecological benefit; ``summary``: totals per party and the arrears at the end.

    Notes
    -----
    Priority due in year :math:`t`: :math:`K r + A_{t-1}`, arrears
    :math:`A_t = K r + A_{t-1} - p_t` when cumulative, else :math:`A_t = 0`. Each year,
    village + company totals = distributable income (the top-up moves money between them).
    """
    n = len(spec.distributable_income)
    taxes = np.broadcast_to(np.asarray(spec.taxes, dtype=float), (n,))
    eco = np.broadcast_to(np.asarray(spec.ecological_benefit, dtype=float), (n,))
    arrears = 0.0
    rows: list[dict[str, Any]] = []
    for t, y in enumerate(spec.distributable_income):
        due = spec.company_capital * spec.priority_rate + arrears
        w = waterfall_year(
            y,
            minimum=spec.village_minimum,
            priority_due=due,
            land_share=spec.village_land_share,
            labour_share=spec.village_labour_share,
        )
        arrears = w["priority_unpaid"] if spec.cumulative_priority else 0.0
        rows.append(
            {
                "year": t + 1,
                "distributable_income": float(y),
                "priority_due": due,
                **w,
                "government_taxes": float(taxes[t]),
                "government_ecological_benefit": float(eco[t]),
            }
        )
    flags = []
    topups = [r["year"] for r in rows if r["company_topup"] > 0]
    if topups:
        flags.append(f"FIN-SHARE-GUARANTEE: company tops up the village minimum in years {topups}")
    if arrears > 0:
        flags.append(f"FIN-SHARE-PRIORITY: {arrears:,.2f} of priority return unpaid at the end")
    summary = {
        "currency": spec.currency,
        "village_total": sum(r["village_total"] for r in rows),
        "company_total": sum(r["company_total"] for r in rows),
        "government_taxes": float(taxes.sum()),
        "government_ecological_benefit": float(eco.sum()),
        "government_dividends": 0.0,
        "priority_arrears_end": arrears,
        "company_topups": sum(r["company_topup"] for r in rows),
    }
    codes = (
        "FIN-SHARE-DIVIDEND",
        "FIN-SHARE-GOVERNMENT",
        "FIN-SHARE-GUARANTEE",
        "FIN-SHARE-PRIORITY",
    )
    return InstrumentResult(NAME, summary, rows, codes, tuple(flags))
