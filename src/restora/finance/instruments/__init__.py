"""Financing instruments, one module each, every one a frozen input spec plus ``run``.

``INSTRUMENTS`` maps the CLI name to ``(Spec, run)``; :func:`run_instrument` validates a
mapping (from a YAML/JSON project file) and runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from restora.errors import InputError
from restora.finance.instruments import (
    benefit_sharing,
    guarantee,
    performance_bond,
    pledge_loan,
    ppp,
    special_bond,
)
from restora.finance.instruments._spec import InstrumentResult, Spec, parse

INSTRUMENTS: dict[str, tuple[type[Spec], Callable[[Any], InstrumentResult]]] = {
    performance_bond.NAME: (performance_bond.PerformanceBondSpec, performance_bond.run),
    pledge_loan.NAME: (pledge_loan.PledgeLoanSpec, pledge_loan.run),
    special_bond.NAME: (special_bond.SpecialBondSpec, special_bond.run),
    guarantee.NAME: (guarantee.GuaranteeSpec, guarantee.run),
    ppp.NAME: (ppp.PPPSpec, ppp.run),
    benefit_sharing.NAME: (benefit_sharing.BenefitSharingSpec, benefit_sharing.run),
}

__all__ = ["INSTRUMENTS", "InstrumentResult", "run_instrument"]


def run_instrument(
    name: str, inputs: Any, *, file: str | None = None, prefix: str = ""
) -> InstrumentResult:
    """Validate ``inputs`` against instrument ``name``'s spec and run it.

    ``prefix`` is where ``inputs`` sit in a larger document (``financing.0.inputs``): errors
    then name the full field path.

    Raises
    ------
    InputError
        Unknown instrument, or inputs that do not satisfy the spec (naming file and field).
    """
    if name not in INSTRUMENTS:
        raise InputError(
            f"unknown instrument {name!r} (one of {', '.join(INSTRUMENTS)})",
            file=file,
            field="instrument",
        )
    spec_cls, run = INSTRUMENTS[name]
    return run(parse(spec_cls, inputs, file=file, prefix=prefix))
