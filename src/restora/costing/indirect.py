"""Indirect costs as tiered percentages of the direct cost (SRCE structure).

A tier set (``refdata/tables/costing/indirect/<name>.yaml``) is an ordered list of lines.
Each line is either a flat ``amount`` or a ``rate`` (or ``bands`` of rates) times a ``base``:
the total direct cost (``direct``) or an earlier line's amount (e.g. government indirect is
21 % of contract administration). With ``method: band`` the rate of the band the base falls
into applies to the whole base (as SRCE does: "8 % of direct cost up to USD 1 M, 6 % up to
25 M, 4 % above"); ``method: marginal`` applies each band's rate to the slice of the base
inside the band, like tax brackets. ``rounding`` rounds each line half-up (1 = whole units),
as filed estimates do.

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
    """An ordered set of indirect-cost lines with the banding method and rounding."""

    name: str
    method: str
    rounding: float | None
    lines: tuple[TierLine, ...]
    provenance: dict[str, Any]


def parse_tiers(data: dict[str, Any], name: str, provenance: dict[str, Any]) -> TierSet:
    """Build a :class:`TierSet` from a table's data, checking its structure."""
    method = str(data.get("method", "band"))
    if method not in ("band", "marginal"):
        raise InputError(f"method must be band or marginal, not {method!r}", file=name)
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


def line_rate(line: TierLine, base: np.ndarray, method: str) -> np.ndarray:
    """Effective rate [1] of a line for a base amount (array)."""
    if line.rate is not None:
        return np.full_like(base, line.rate, dtype=float)
    up = np.asarray(line.upper)
    rates = np.asarray(line.rates)
    if method == "band":
        # "up to X" includes X: the rate of the first band whose upper bound is >= base,
        # written as r_0 + sum_j (r_{j+1} - r_j)·[base > u_j] (fast for a few bands)
        dt_ = base.dtype if base.dtype.kind == "f" else np.dtype(float)
        rate = np.full(base.shape, rates[0], dtype=dt_)
        for j in range(len(up) - 1):
            step = rates[j + 1] - rates[j]
            if step:
                rate += (base > up[j]) * dt_.type(step)
        return rate
    lower = np.concatenate(([0.0], up[:-1]))
    width = up - lower
    inside = np.clip(base[..., None] - lower, 0.0, width)
    amount = (inside * rates).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, amount / np.where(base > 0, base, 1.0), rates[0])


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
    Band method: :math:`I_k = r_k(B_k)\\,B_k`, with :math:`r_k(B)` the rate of the band
    containing the base :math:`B_k` (direct cost or an earlier line). Marginal method:
    :math:`I_k = \\sum_j r_{kj}\\,\\max(0, \\min(B_k, u_j) - u_{j-1})`.

    References
    ----------
    Nevada Division of Environmental Protection, Standardized Reclamation Cost Estimator.
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
            elif tiers.method == "marginal":
                val = line_rate(ln, base, "marginal") * base
            else:
                val = line_rate(ln, base, "band").astype(d.dtype, copy=False) * base
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
