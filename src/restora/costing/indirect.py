"""Indirect costs as tiered percentages of the direct cost (SRCE structure, marginal brackets).

A tier set (``refdata/tables/costing/indirect/<name>.yaml``) is an ordered list of lines.
Each line is either a flat ``amount`` or a ``rate`` (or ``bands`` of rates) times a ``base``:
the total direct cost (``direct``) or an earlier line's amount (e.g. government indirect is
21 % of contract administration). Bands are **marginal brackets**, like income-tax brackets:
each band's rate applies to the slice of the base inside the band ("8 % of the first USD 1 M,
6 % of the next 24 M, 4 % above"). SRCE itself looks up one rate by the band the whole direct
cost falls in and applies it to all of it; that step makes the total *fall* just above a band
limit (8 % × 1,000,000 = 80,000 > 6 % × 1,000,001 = 60,000.06), so a bigger job would cost
less. Marginal brackets keep every line continuous and non-decreasing in the direct cost, and
agree with SRCE exactly below the first band limit (docs/costing.md). A table that asks for
``method: band`` is refused. ``rounding`` rounds each line half-up (1 = whole units), as filed
estimates do; rounding half-up is non-decreasing too, so the total stays monotone.

All functions are vectorised over draws: ``direct`` may be a scalar or an array.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from restora import refdata
from restora.errors import InputError


@dataclass(frozen=True)
class TierLine:
    """One indirect-cost line."""

    code: str
    name: str
    phase: str
    base: str | None
    rate: float | None
    upper: tuple[float, ...]
    rates: tuple[float, ...]
    amount: float | None


@dataclass(frozen=True)
class TierSet:
    """An ordered set of indirect-cost lines with the banding method (marginal) and rounding."""

    name: str
    method: str
    rounding: float | None
    lines: tuple[TierLine, ...]
    provenance: dict[str, Any]


def parse_tiers(data: dict[str, Any], name: str, provenance: dict[str, Any]) -> TierSet:
    """Build a :class:`TierSet` from a table's data, checking its structure.

    Bands must ascend and end open; rates must be non-negative (with the marginal method this
    keeps the total non-decreasing in the direct cost). ``method`` may be omitted; only
    ``marginal`` is accepted.
    """
    method = str(data.get("method", "marginal"))
    if method == "band":
        raise InputError(
            "method 'band' (one rate for the whole base) makes the total fall just above a "
            "band limit; use method: marginal (each rate on the slice inside its band)",
            file=name,
        )
    if method != "marginal":
        raise InputError(f"method must be marginal, not {method!r}", file=name)
    lines: list[TierLine] = []
    known = {"direct"}
    for i, ln in enumerate(data.get("lines", []), start=1):
        code = str(ln.get("code", ""))
        if not code:
            raise InputError("each line needs a code", file=name, row=i, field="code")
        base = ln.get("base")
        if ln.get("amount") is None and base not in known:
            raise InputError(
                f"base {base!r} is neither 'direct' nor an earlier line",
                file=name,
                row=i,
                field="base",
            )
        bands = ln.get("bands") or []
        upper = tuple(np.inf if b.get("up_to") is None else float(b["up_to"]) for b in bands)
        if bands and (list(upper) != sorted(upper) or upper[-1] != np.inf):
            raise InputError("bands must ascend and end open (up_to: null)", file=name, row=i)
        rates = [float(b["rate"]) for b in bands]
        if ln.get("rate") is not None:
            rates.append(float(ln["rate"]))
        if any(r < 0 for r in rates):
            raise InputError("rates must not be negative", file=name, row=i, field="rate")
        lines.append(
            TierLine(
                code=code,
                name=str(ln.get("name", code)),
                phase=str(ln.get("phase", "management")),
                base=None if ln.get("amount") is not None else str(base),
                rate=None if ln.get("rate") is None else float(ln["rate"]),
                upper=upper,
                rates=tuple(float(b["rate"]) for b in bands),
                amount=None if ln.get("amount") is None else float(ln["amount"]),
            )
        )
        known.add(code)
    r = data.get("rounding")
    return TierSet(name, method, None if r is None else float(r), tuple(lines), provenance)


def load_tiers(
    name: str = "cn-default", on: dt.date | str | None = None, region: str | None = None
) -> TierSet:
    """The tier set ``costing/indirect/<name>`` in force."""
    t = refdata.get(f"costing/indirect/{name}", on=on, region=region)
    return parse_tiers(t.data, t.name, t.provenance())


def _round(x: np.ndarray, step: float | None) -> np.ndarray:
    """Round half up to ``step``, in place (``x`` is a fresh array)."""
    if not step:
        return x
    if step != 1.0:
        x /= step
    x += 0.5
    np.floor(x, out=x)
    if step != 1.0:
        x *= step
    return x


def bracket_amount(line: TierLine, base: np.ndarray) -> np.ndarray:
    """Amount [currency] of a banded line: each band's rate on the slice of ``base`` inside it.

    Notes
    -----
    .. math:: I = \\sum_j r_j \\max(0, \\min(B, u_j) - u_{j-1}),\\quad u_{-1} = 0

    written as r_0 B + Σ_j (r_{j+1} − r_j) max(0, B − u_j): one pass per band limit, no
    (draws × bands) temporary.

    Examples
    --------
    >>> ln = TierLine("edc", "", "", "direct", None, (1e6, 25e6, np.inf), (0.08, 0.06, 0.04), None)
    >>> float(bracket_amount(ln, np.array(2e6)))  # 0.08 × 1 M + 0.06 × 1 M
    140000.0
    """
    b = base if base.dtype.kind == "f" else base.astype(float)
    amount = b * line.rates[0]
    for limit, below, above in zip(line.upper[:-1], line.rates[:-1], line.rates[1:], strict=True):
        if above != below:
            amount = amount + (above - below) * np.maximum(b - limit, 0.0)
    return np.asarray(amount)


def line_rate(line: TierLine, base: np.ndarray, method: str = "marginal") -> np.ndarray:
    """Effective (average) rate [1] of a line for a base amount (array): amount / base.

    ``method`` is kept for callers that pass the tier set's; only ``marginal`` exists.
    """
    if line.rate is not None:
        return np.full_like(base, line.rate, dtype=float)
    amount = bracket_amount(line, np.asarray(base, dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, amount / np.where(base > 0, base, 1.0), line.rates[0])


def apply_tiers(direct: Any, tiers: TierSet) -> dict[str, np.ndarray]:
    """Indirect cost of each line for the given direct cost(s).

    Parameters
    ----------
    direct : float or array
        Total direct cost [currency of the tier set].
    tiers : TierSet

    Returns
    -------
    dict
        Line code → amount [currency], same shape as ``direct``, in the tier set's order.

    Notes
    -----
    Marginal brackets: :math:`I_k = \\sum_j r_{kj}\\,\\max(0, \\min(B_k, u_j) - u_{j-1})`
    with :math:`B_k` the line's base (direct cost or an earlier line), each line rounded
    half-up to ``rounding``. With non-negative rates every :math:`I_k` is continuous (before
    rounding) and non-decreasing in the direct cost D, and so is the total
    :math:`T = D + \\sum_k I_k`.

    References
    ----------
    Nevada Division of Environmental Protection, Bureau of Mining Regulation and Reclamation,
    Standardized Reclamation Cost Estimator (SRCE) v1.4.1, Cost Summary sheet (band rates);
    applied here as marginal brackets (docs/costing.md).
    """
    d = np.asarray(direct)
    if d.dtype.kind != "f":
        d = d.astype(float)
    out: dict[str, np.ndarray] = {}
    for ln in tiers.lines:
        if ln.amount is not None:
            val = np.full_like(d, ln.amount)
        else:
            base = d if ln.base == "direct" else out[str(ln.base)]
            if ln.rate is not None:
                val = base * np.asarray(ln.rate, dtype=d.dtype)
            else:
                val = bracket_amount(ln, base).astype(d.dtype, copy=False)
        out[ln.code] = np.asarray(_round(np.asarray(val), tiers.rounding))
    return out


def indirect_table(direct: float, tiers: TierSet) -> list[dict[str, Any]]:
    """Line-by-line indirect costs for one direct cost: code, name, phase, base, rate, amount."""
    amounts = apply_tiers(direct, tiers)
    rows = []
    for ln in tiers.lines:
        if ln.amount is not None:
            base_amt, rate = None, None
        else:
            base_amt = direct if ln.base == "direct" else float(amounts[str(ln.base)])
            rate = float(line_rate(ln, np.asarray(base_amt, dtype=float), tiers.method))
        rows.append(
            {
                "code": ln.code,
                "name": ln.name,
                "phase": ln.phase,
                "base": ln.base,
                "base_amount": base_amt,
                "rate": rate,
                "amount": float(amounts[ln.code]),
            }
        )
    return rows
