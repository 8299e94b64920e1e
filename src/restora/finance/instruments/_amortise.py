"""Loan amortisation schedules shared by the debt instruments."""

from __future__ import annotations

from typing import Literal

import numpy as np

Amortisation = Literal["annuity", "equal_principal", "bullet"]


def schedule(
    amount: float, rate: float, tenor: int, kind: Amortisation, grace: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interest, principal and outstanding balance of a level-rate loan, per year.

    Parameters
    ----------
    amount : float
        Amount drawn at time 0 [currency].
    rate : float
        Interest rate [1/yr].
    tenor : int
        Years to final repayment [yr].
    kind : {"annuity", "equal_principal", "bullet"}
        Repayment profile after the grace years.
    grace : int
        Interest-only years at the start [yr], ``0 <= grace < tenor``.

    Returns
    -------
    (interest, principal, outstanding) : tuple of numpy.ndarray
        Each (tenor,), year 1 first [currency]; ``outstanding`` after the year's repayment.

    Notes
    -----
    Annuity over the :math:`m = n - g` repaying years:
    :math:`A = D\\,i / (1 - (1+i)^{-m})` (:math:`A = D/m` when :math:`i = 0`).
    """
    if not 0 <= grace < tenor:
        raise ValueError("grace years must be fewer than the tenor")
    interest = np.zeros(tenor)
    principal = np.zeros(tenor)
    outstanding = np.zeros(tenor)
    bal = float(amount)
    m = tenor - grace
    if kind == "annuity":
        pay = amount / m if rate == 0 else amount * rate / (1.0 - (1.0 + rate) ** -m)
    for t in range(tenor):
        interest[t] = bal * rate
        if t < grace:
            p = 0.0
        elif kind == "bullet":
            p = bal if t == tenor - 1 else 0.0
        elif kind == "equal_principal":
            p = amount / m
        else:
            p = pay - interest[t]
        p = bal if t == tenor - 1 else min(p, bal)
        principal[t] = p
        bal -= p
        outstanding[t] = bal
    return interest, principal, outstanding
