"""Repayment profiles of the debt instruments, as views of :func:`cashflow.loan_schedule`."""

from __future__ import annotations

from typing import Literal

import numpy as np

from restora.finance.cashflow import loan_schedule

Amortisation = Literal["annuity", "equal_principal", "bullet"]


def schedule(
    amount: float, rate: float, tenor: int, kind: Amortisation, grace: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interest, principal and outstanding balance of a loan drawn at time 0, per year.

    Parameters
    ----------
    amount : float
        Amount drawn at time 0 [currency].
    rate : float
        Interest rate [1/yr].
    tenor : int
        Years to final repayment, grace included [yr].
    kind : {"annuity", "equal_principal", "bullet"}
        Repayment profile after the grace years; a bullet repays everything in the last year.
    grace : int
        Interest-only years at the start [yr], ``0 <= grace < tenor``.

    Returns
    -------
    (interest, principal, outstanding) : tuple of numpy.ndarray
        Each (tenor,), year 1 first [currency]; ``outstanding`` after the year's repayment.

    Notes
    -----
    A bullet is a one-period loan after ``tenor - 1`` interest-only years; annuity and equal
    principal run over the ``tenor - grace`` repaying years (see
    :func:`restora.finance.cashflow.loan_schedule`).

    Examples
    --------
    >>> i, p, d = schedule(100.0, 0.1, 3, "bullet")
    >>> i.tolist(), p.tolist()
    ([10.0, 10.0, 10.0], [0.0, 0.0, 100.0])
    """
    if not 0 <= grace < tenor:
        raise ValueError("grace years must be fewer than the tenor")
    if kind == "bullet":
        s = loan_schedule(amount, rate, 1, tenor + 1, grace=tenor - 1)
    else:
        level: Literal["annuity", "level"] = "level" if kind == "equal_principal" else "annuity"
        s = loan_schedule(amount, rate, tenor - grace, tenor + 1, grace=grace, kind=level)
    return s.interest[0, 1:], s.repayment[0, 1:], s.outstanding[0, 1:]
