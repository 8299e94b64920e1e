"""Cash-flow metrics: NPV, IRR (all of them), MIRR, XNPV/XIRR, payback, DSCR and LLCR.

Every function is vectorised over scenarios: a flow array has shape ``(T,)`` for one flow or
``(N, T)`` for ``N`` scenarios, ``flows[..., t]`` falling at the end of period ``t`` (period 0 is
"now", undiscounted). Results for one flow are Python floats; for many, arrays of shape ``(N,)``.
"No value" (no IRR, several IRRs, never paid back) is ``nan`` in arrays and ``None`` in the JSON
contract of the CLI.

IRR. All IRRs of a flow are the real roots ``x > 0`` of :math:`P(x) = \\sum_t c_t x^t` with
``x = 1/(1+r)``. Descartes' rule of signs: a flow with one sign change has exactly one positive
root, found by a vectorised, bracketed Newton iteration; a flow with no sign change has none; a
flow with several sign changes may have several, all found as eigenvalues of the companion
matrix (batched over scenarios), checked and polished on the polynomial. :func:`irr` returns the
IRR only when it is unique; :func:`irr_all` lists every one; :func:`irr_detail` and
:func:`xirr_detail` also say, per flow, whether the count was decided (``status``): where the NPV
curve has an extremum within float64 rounding of zero (a double root, two roots closer than
about :math:`10^{-6}` in :math:`\\ln(1+r)`, or none), the status is ``undetermined``, never an
empty list read as "no IRR".
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DAYS_PER_YEAR = 365.0  # actual/365 day count (Excel XNPV/XIRR convention), not a market figure
_CHUNK = 32_768  # scenarios per block: keeps the Newton working set in cache
# Newton stops once its step in ln(1+r) is below this; the root is simple (one sign change), so
# the returned iterate is one more step on, accurate to about K * 1e-16 (quadratic convergence).
_STEP_TOL = 1e-8
# An extremum of the NPV curve whose value is within this share of the sum of the absolute
# terms there cannot be told from zero in float64 (rounding of a K-term sum is about K * 2e-16;
# this leaves a margin of 50 for K = 100): the flow may have a double root there, two roots
# closer than about 1e-6 in ln(1+r), or none. A numerical tolerance, not a coefficient.
_UNDECIDED_REL = 1e-12

NONE, UNIQUE, MULTIPLE, UNDETERMINED = "none", "unique", "multiple", "undetermined"
IRR_STATUSES = (NONE, UNIQUE, MULTIPLE, UNDETERMINED)


@dataclass(frozen=True)
class IRRResult:
    """IRRs of a batch of flows.

    Attributes
    ----------
    irr : numpy.ndarray
        (N,) the IRR [1/period] where exactly one exists, else ``nan``.
    n_irr : numpy.ndarray
        (N,) int, how many distinct IRRs the flow has.
    sign_changes : numpy.ndarray
        (N,) int, sign changes of the flow (zeros skipped).
    all : tuple of tuple of float
        Every IRR of each flow, ascending [1/period]; for an ``undetermined`` flow, the
        candidate rate at the extremum that could not be told from zero.
    status : tuple of str
        Per flow: ``none`` (no IRR: no sign change, or the NPV curve stays away from zero),
        ``unique``, ``multiple`` or ``undetermined`` (an extremum of the NPV curve lies within
        float64 rounding of zero: a double root, two roots too close to separate, or none;
        ``irr`` is then ``nan``).
    """

    irr: np.ndarray
    n_irr: np.ndarray
    sign_changes: np.ndarray
    all: tuple[tuple[float, ...], ...]
    status: tuple[str, ...] = ()


def _status(n_irr: np.ndarray, undecided: np.ndarray) -> tuple[str, ...]:
    """Status of each flow from its IRR count and the undecided flags."""
    return tuple(
        UNDETERMINED if u else (NONE if k == 0 else UNIQUE if k == 1 else MULTIPLE)
        for k, u in zip(n_irr.tolist(), undecided.tolist(), strict=True)
    )


def _as_flows(flows: Any) -> tuple[np.ndarray, bool]:
    c = np.asarray(flows, dtype=np.float64)
    if c.ndim not in (1, 2):
        raise ValueError("flows must have shape (T,) or (N, T)")
    if c.shape[-1] == 0:
        raise ValueError("flows must hold at least one period")
    if not np.all(np.isfinite(c)):
        raise ValueError("flows must be finite numbers")
    return np.atleast_2d(c), c.ndim == 1


def _out(x: np.ndarray, single: bool) -> Any:
    return float(x[0]) if single else x


def _periodic_rate(rate: Any, periods_per_year: int) -> np.ndarray:
    r = np.asarray(rate, dtype=np.float64)
    if np.any(r <= -1.0):
        raise ValueError("rates must be greater than -1")
    return r if periods_per_year == 1 else np.expm1(np.log1p(r) / periods_per_year)


def _annual_rate(r: Any, periods_per_year: int) -> Any:
    """The annual rate compounding to the periodic rate ``r``: the inverse of _periodic_rate."""
    return r if periods_per_year == 1 else np.expm1(periods_per_year * np.log1p(r))


def npv(rate: Any, flows: Any, *, periods_per_year: int = 1) -> Any:
    """Net present value of flows at the end of each period.

    Parameters
    ----------
    rate : float or array_like
        Discount rate [1/yr] (annual, effective); an array of shape (N,) gives one rate per
        scenario.
    flows : array_like
        (T,) or (N, T) cash flows [CNY]; ``flows[..., 0]`` is now, undiscounted.
    periods_per_year : int
        Periods per year of ``flows`` [1/yr] (1 annual, 12 monthly).

    Returns
    -------
    float or numpy.ndarray
        NPV [CNY], one per scenario.

    Notes
    -----
    .. math:: NPV = \\sum_{t=0}^{T-1} c_t (1+i)^{-t}, \\qquad i = (1+r)^{1/m} - 1.

    References
    ----------
    Brealey, R., Myers, S., Allen, F. (2020). Principles of Corporate Finance, 13th ed.,
    McGraw-Hill, ch. 2. Same convention as ``numpy_financial.npv``.

    Examples
    --------
    >>> round(npv(0.1, [-100, 60, 60]), 6)  # -100 + 60/1.1 + 60/1.21
    4.132231
    """
    c, single = _as_flows(flows)
    i = _periodic_rate(rate, periods_per_year)
    t = np.arange(c.shape[1])
    if i.ndim == 0:
        v = np.exp(-t * np.log1p(i))
        return _out(c @ v, single)
    i = np.broadcast_to(i, (c.shape[0],))
    v = np.exp(-np.outer(np.log1p(i), t))
    return _out(np.einsum("nt,nt->n", c, v), single)


def sign_changes(flows: Any) -> Any:
    """Number of sign changes of each flow, zeros skipped (Descartes' rule of signs).

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY].

    Returns
    -------
    int or numpy.ndarray
        Sign changes [1]; an upper bound on the number of IRRs (and of the same parity).

    Examples
    --------
    >>> int(sign_changes([-100, 0, 50, -10, 80]))
    3
    """
    c, single = _as_flows(flows)
    n = _sign_changes_t(np.ascontiguousarray(c.T))
    return int(n[0]) if single else n


def _transpose(c: np.ndarray) -> np.ndarray:
    """C-contiguous transpose of ``c`` (N, T), copied in cache-sized pieces."""
    out = np.empty((c.shape[1], c.shape[0]))
    for a in range(0, c.shape[0], 512):
        out[:, a : a + 512] = c[a : a + 512].T
    return out


def _sign_changes_t(ct: np.ndarray) -> np.ndarray:
    """Sign changes of each column of ``ct`` (T, N), zeros skipped."""
    pos = ct > 0
    n = np.count_nonzero(pos[1:] != pos[:-1], axis=0)
    zero = ct == 0
    with_zero = np.flatnonzero(zero.any(axis=0))
    if with_zero.size:  # skip zeros: carry the last non-zero sign forward
        s = np.sign(ct[:, with_zero])
        idx = np.where(s != 0, np.arange(ct.shape[0])[:, None], 0)
        np.maximum.accumulate(idx, axis=0, out=idx)
        filled = np.take_along_axis(s, idx, axis=0)
        n[with_zero] = np.count_nonzero(filled[1:] * filled[:-1] < 0, axis=0)
    return n


def _first_last_nonzero(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    nz = c != 0
    first = np.argmax(nz, axis=1)
    last = c.shape[1] - 1 - np.argmax(nz[:, ::-1], axis=1)
    return first, last


def _horner(ct: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(x) and P'(x) for coefficient columns ``ct`` (T, A) at points ``x`` (A,)."""
    p = ct[-1].copy()
    dp = np.zeros_like(x)
    for k in range(ct.shape[0] - 2, -1, -1):
        dp *= x
        dp += p
        p *= x
        p += ct[k]
    return p, dp


def _unique_root(c: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
    """The positive root x of P for flows with exactly one sign change (rows of ``c``)."""
    m = c.shape[0]
    out = np.empty(m)
    for b0 in range(0, m, _CHUNK):
        b1 = min(b0 + _CHUNK, m)
        out[b0:b1] = _unique_root_t(_transpose(c[b0:b1]), tol, max_iter)
    return out


def _unique_root_t(
    ct: np.ndarray,
    tol: float,
    max_iter: int,
    *,
    lo_in: np.ndarray | None = None,
    hi_in: np.ndarray | None = None,
    rising: bool = True,
) -> np.ndarray:
    """As :func:`_unique_root` for coefficient columns ``ct`` (T, m); ``ct`` is overwritten.

    With ``lo_in``/``hi_in``: the root that P has in that bracket, where it crosses zero once,
    upwards (``rising``: the first non-zero coefficient's sign is that of P left of the root)
    or downwards.
    """
    n_t, m = ct.shape
    res = np.full(m, np.nan)
    if m == 0:
        return res
    # Normalise: largest |c_t| = 1, first non-zero coefficient negative, so P < 0 left of the
    # root and P > 0 right of it (P / x^k is increasing on x > 0 for one sign change).
    cols = np.arange(m)
    nz = ct != 0
    first = np.zeros(m, dtype=np.intp)
    last = np.full(m, n_t - 1, dtype=np.intp)
    zeros = np.flatnonzero(~nz[0] | ~nz[-1])  # leading or trailing zero periods
    if zeros.size:
        first[zeros] = np.argmax(nz[:, zeros], axis=0)
        last[zeros] = n_t - 1 - np.argmax(nz[::-1, zeros], axis=0)
    scale = np.maximum(ct.max(axis=0), -ct.min(axis=0))
    scale *= -np.sign(ct[first, cols]) if rising else np.sign(ct[first, cols])
    ct /= scale
    a_first = np.abs(ct[first, cols])
    a_last = np.abs(ct[last, cols])
    # Cauchy bounds on the roots of P / x^first and of its reversal.
    with np.errstate(over="ignore", divide="ignore"):
        lo = a_first / (a_first + 1.0)
        hi = np.minimum(1.0 + 1.0 / a_last, np.finfo(np.float64).max)
    if lo_in is not None:
        lo = np.maximum(lo, lo_in)
    if hi_in is not None:
        hi = np.minimum(hi, hi_in)
    # Start: one Halley step in s = ln(1+r) from s = 0 on f(s) = P(exp(-s)), with f(0) = P(1),
    # f'(0) = -P'(1), f''(0) = P''(1) + P'(1) by Horner at x = 1 (running sums; no BLAS call,
    # whose threads only contend on a busy machine).
    p1 = ct[-1].copy()
    d1 = np.zeros(m)
    dd1 = np.zeros(m)
    for k in range(n_t - 2, -1, -1):
        dd1 += d1
        d1 += p1
        p1 += ct[k]
    f0, f1, f2 = p1, -d1, 2.0 * dd1 + d1
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s1 = -2.0 * f0 * f1 / (2.0 * f1 * f1 - f0 * f2)
        s1 = np.where(np.isfinite(s1), s1, f0 / -f1)
    s1 = np.nan_to_num(s1, nan=0.0, posinf=0.0, neginf=0.0)
    x = np.clip(np.exp(-np.clip(s1, -30, 30)), lo, hi)
    dx_old = np.full(m, np.inf)  # previous step in s = ln(1+r)
    where = np.arange(m)  # block row of each column of ct
    live = np.ones(m, dtype=bool)  # columns not yet converged
    for _ in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):  # far ends of a wide bracket
            p, dp = _horner(ct, x)
        neg = p < 0
        np.copyto(lo, x, where=neg)
        np.copyto(hi, x, where=~neg)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = p / (x * dp)  # Newton in s = -ln x: s_new = s + p / (x P'(x))
            x_newton = x * np.exp(-step)
        # bisect (geometric) when Newton leaves the bracket or is not halving its step (rtsafe)
        bad = ~((x_newton > lo) & (x_newton < hi)) | (np.abs(step) > 0.5 * np.abs(dx_old))
        xn = np.where(bad, np.sqrt(lo) * np.sqrt(hi), x_newton)
        with np.errstate(divide="ignore", invalid="ignore"):
            dx_old = np.log(x / xn)
        exact = p == 0
        small = np.abs(step) <= tol
        done = live & (small | exact | (hi <= lo * (1 + 4e-16)))
        if done.any():
            res[where[done]] = np.where(exact, x, np.where(small, x_newton, xn))[done]
            live &= ~done
            n_live = int(live.sum())
            if n_live == 0:
                break
            if n_live < 0.5 * live.size:  # compact the working set
                keep = np.flatnonzero(live)
                ct = np.take(ct, keep, axis=1)
                where, xn, lo, hi = where[keep], xn[keep], lo[keep], hi[keep]
                dx_old = dx_old[keep]
                live = np.ones(n_live, dtype=bool)
        x = xn
    return res


def _two_sign_changes(
    c: np.ndarray, tol: float, max_iter: int
) -> tuple[list[tuple[float, ...]], np.ndarray]:
    """Positive roots x of P for flows with exactly two sign changes (0, 1 or 2 of them).

    With the flow oriented ``-, +, -`` and ``a`` its first positive period,
    :math:`h(s) = e^{as} f(s) = \\sum_t c_t e^{(a-t)s}` has
    :math:`h'(s) = \\sum_t (a-t) c_t e^{(a-t)s}`, whose coefficients change sign once: ``h`` has
    one critical point :math:`s_e` (a maximum; ``h < 0`` at both ends). So P has two roots, one
    on each side of :math:`x_e = e^{-s_e}`, if :math:`P(x_e) > 0`, and none if it is negative;
    each is found by the bracketed Newton of :func:`_unique_root_t`. When
    :math:`|P(x_e)| \\le 10^{-12} \\sum_t |c_t| x_e^t` the sign of :math:`P(x_e)` is rounding:
    the row is flagged undecided and :math:`x_e` is its one candidate root.

    Returns
    -------
    roots : list of tuple of float
        Roots x of each row, ascending.
    undecided : numpy.ndarray
        (m,) bool, rows whose maximum is within rounding of zero.
    """
    m, n_t = c.shape
    out: list[tuple[float, ...]] = [() for _ in range(m)]
    undecided = np.zeros(m, dtype=bool)
    if m == 0:
        return out, undecided
    first, _ = _first_last_nonzero(c)
    cn = c * -np.sign(c[np.arange(m), first])[:, None]  # first non-zero negative
    a = np.argmax(cn > 0, axis=1)
    d = (a[:, None] - np.arange(n_t)[None, :]) * cn
    x_e = _unique_root(d, tol, max_iter)
    x_at = np.where(np.isfinite(x_e), x_e, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        p_e, _ = _horner(_transpose(cn), x_at)
        size, _ = _horner(_transpose(np.abs(cn)), x_at)
    near = np.isfinite(x_e) & (np.abs(p_e) <= _UNDECIDED_REL * size)
    two = np.flatnonzero(np.isfinite(x_e) & (p_e > 0) & ~near)
    if two.size:
        block = cn[two]
        left = _unique_root_t(_transpose(block), tol, max_iter, hi_in=x_e[two])
        right = _unique_root_t(_transpose(block), tol, max_iter, lo_in=x_e[two], rising=False)
        for i, xl, xr in zip(two.tolist(), left.tolist(), right.tolist(), strict=True):
            out[i] = _distinct([x for x in (xl, xr) if math.isfinite(x)])
    for i in np.flatnonzero(near).tolist():
        out[i] = (float(x_e[i]),)
        undecided[i] = True
    failed = np.flatnonzero(~np.isfinite(x_e))  # not expected; the eigenvalue path as backup
    for i, roots in zip(failed.tolist(), _all_roots(c[failed]), strict=True):
        out[i] = roots
    return out, undecided


def _several(
    c: np.ndarray, v: np.ndarray, tol: float, max_iter: int
) -> tuple[list[tuple[float, ...]], np.ndarray]:
    """Roots of flows with two or more sign changes: exact two-change path, else eigenvalues.

    Returns the roots of each row and whether the row is undecided (two-change rows only).
    """
    out: list[tuple[float, ...]] = [() for _ in range(c.shape[0])]
    undecided = np.zeros(c.shape[0], dtype=bool)
    two = np.flatnonzero(v == 2)
    more = np.flatnonzero(v > 2)
    roots_two, undecided[two] = _two_sign_changes(c[two], tol, max_iter)
    for i, r in zip(two.tolist(), roots_two, strict=True):
        out[i] = r
    for i, r in zip(more.tolist(), _all_roots(c[more]), strict=True):
        out[i] = r
    return out, undecided


def _all_roots(c: np.ndarray) -> list[tuple[float, ...]]:
    """Every positive real root x of P for each row of ``c`` (companion eigenvalues)."""
    m = c.shape[0]
    found: list[tuple[float, ...]] = [() for _ in range(m)]
    if m == 0:
        return found
    first, last = _first_last_nonzero(c)
    keys = first * c.shape[1] + last
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        f, ll = int(first[rows[0]]), int(last[rows[0]])
        d = ll - f
        if d <= 0:
            continue
        coef = c[rows, f : ll + 1]
        coef = coef / np.abs(coef).max(axis=1, keepdims=True)
        comp = np.zeros((len(rows), d, d))
        if d > 1:
            comp[:, np.arange(1, d), np.arange(d - 1)] = 1.0
        # companion of the polynomial in x, or of its reversal (roots 1/x) when the constant
        # term is the larger end: smaller entries; overflow is clipped (roots are verified)
        rev = np.abs(coef[:, 0]) > np.abs(coef[:, d])
        oriented = np.where(rev[:, None], coef[:, ::-1], coef)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            last_col = -oriented[:, :d] / oriented[:, d : d + 1]
        comp[:, :, -1] = np.nan_to_num(last_col, nan=0.0, posinf=1e300, neginf=-1e300)
        eig = np.linalg.eigvals(comp)
        with np.errstate(divide="ignore", invalid="ignore"):
            eig = np.where(rev[:, None], 1.0 / eig, eig)
        j_idx, k_idx = np.nonzero(
            (np.abs(eig.imag) <= 1e-5 * np.maximum(1.0, np.abs(eig))) & (eig.real > 0)
        )
        if j_idx.size == 0:
            continue
        x, ok = _polish(coef[j_idx], eig.real[j_idx, k_idx])
        for j, xi in zip(j_idx[ok].tolist(), x[ok].tolist(), strict=True):
            found[rows[j]] = (*found[rows[j]], xi)
    return [_distinct(r) for r in found]


def _polish(coef: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Newton-polish roots ``x`` (K,) of the polynomials ``coef`` (K, d+1) and verify them.

    Kept only if :math:`|P(x)| \\le 10^{-9} \\sum_t |c_t| x^t`.
    """
    ct = np.ascontiguousarray(coef.T)
    x = x.copy()
    with np.errstate(all="ignore"):
        for _ in range(30):
            p, dp = _horner(ct, x)
            xn = x - p / dp
            good = np.isfinite(xn) & (xn > 0)
            moved = np.where(good, np.abs(xn - x), 0.0)
            x = np.where(good, xn, x)
            if np.all(moved <= 1e-15 * x):
                break
        p, _ = _horner(ct, x)
        scale, _ = _horner(np.abs(ct), x)
        ok = np.isfinite(x) & (x > 0) & (np.abs(p) <= 1e-9 * scale)
    return x, ok


def _distinct(xs: Sequence[float], rel: float = 1e-9) -> tuple[float, ...]:
    out: list[float] = []
    for x in sorted(xs):
        if not out or abs(x - out[-1]) > rel * max(1.0, abs(x)):
            out.append(x)
    return tuple(out)


def _to_rate(x: Any) -> Any:
    """r = 1/x - 1; a root so close to 0 that r overflows float64 gives nan (not a rate)."""
    with np.errstate(divide="ignore", over="ignore"):
        r = 1.0 / np.asarray(x) - 1.0
    return np.where(np.isfinite(r), r, np.nan)


def irr_detail(
    flows: Any, *, periods_per_year: int = 1, tol: float = 1e-8, max_iter: int = 200
) -> IRRResult:
    """All IRRs of each flow, the unique one where it exists, and the sign-change count.

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY].
    periods_per_year : int
        Periods per year [1/yr]; IRRs are annualised as :math:`(1+i)^m - 1`.
    tol : float
        Newton step in :math:`\\ln(1+r)` below which the next iterate is accepted [1]; with
        quadratic convergence that iterate is accurate to about :math:`K \\cdot tol^2`.
    max_iter : int
        Iteration limit of the bracketed Newton solver [1].

    Returns
    -------
    IRRResult
        IRRs [1/yr] (annual, effective).

    Notes
    -----
    The IRRs are the rates :math:`r > -1` with :math:`\\sum_t c_t (1+r)^{-t} = 0`, i.e. the
    positive real roots of :math:`P(x) = \\sum_t c_t x^t`, :math:`x = 1/(1+r)`. By Descartes'
    rule of signs the number of positive roots is the number of sign changes :math:`V` or less
    by an even number. :math:`V = 0`: no IRR. :math:`V = 1`: exactly one, found by Newton's
    method on :math:`s = \\ln(1+r)`, safeguarded by the Cauchy bounds
    :math:`|c_f|/(|c_f| + \\max|c|) \\le x \\le 1 + \\max|c|/|c_l|` (``f``, ``l`` the first and
    last non-zero periods) and geometric bisection. :math:`V = 2`: the flow times
    :math:`e^{as}` (``a`` the first period of the middle sign) has one critical point, itself
    the root of a one-sign-change sum, which splits the two possible roots into two brackets
    (see :func:`_two_sign_changes`); if the flow's value there is within rounding of zero
    (:math:`10^{-12}` of its absolute terms) the status is ``undetermined``. :math:`V \\ge 3`: the eigenvalues of the companion matrix;
    real positive ones are polished by Newton and kept only if
    :math:`|P(x)| \\le 10^{-9} \\sum |c_t| x^t`; coincident roots (within :math:`10^{-9}`) count
    once.

    References
    ----------
    Hazen, G. B. (2003). A new perspective on multiple internal rates of return. The Engineering
    Economist 48(1), 31-51. doi:10.1080/00137910308965050.
    Press, W. H. et al. (2007). Numerical Recipes, 3rd ed., §9.4 (safeguarded Newton) and §9.5
    (roots of polynomials by companion-matrix eigenvalues).
    """
    c, _ = _as_flows(flows)
    n = c.shape[0]
    v = sign_changes(c)
    x_unique = np.full(n, np.nan)
    one = np.flatnonzero(v == 1)
    x_unique[one] = _unique_root(c[one], tol, max_iter)
    many = np.flatnonzero(v >= 2)
    roots_many, undecided_many = _several(c[many], v[many], tol, max_iter)
    undecided = np.zeros(n, dtype=bool)
    undecided[many] = undecided_many
    all_x: list[tuple[float, ...]] = [()] * n
    for i in one:
        xi = x_unique[i]
        all_x[i] = (float(xi),) if np.isfinite(xi) else ()
    for i, rts in zip(many, roots_many, strict=True):
        all_x[i] = rts
        if len(rts) == 1 and not undecided[i]:
            x_unique[i] = rts[0]

    def annual(x: Any) -> Any:
        with np.errstate(divide="ignore"):
            r = _to_rate(x)
        return _annual_rate(r, periods_per_year)

    irr_arr = annual(x_unique)
    all_r = tuple(
        tuple(sorted(r for r in (float(annual(x)) for x in xs) if math.isfinite(r))) for xs in all_x
    )
    n_irr = np.array([len(a) for a in all_r], dtype=np.int64)
    irr_arr = np.where((n_irr == 1) & ~undecided, irr_arr, np.nan)
    return IRRResult(
        irr=irr_arr,
        n_irr=n_irr,
        sign_changes=np.asarray(v),
        all=all_r,
        status=_status(n_irr, undecided),
    )


def irr(flows: Any, *, periods_per_year: int = 1) -> Any:
    """Internal rate of return where it is unique, else ``nan``.

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY]; ``flows[..., 0]`` is now.
    periods_per_year : int
        Periods per year of ``flows`` [1/yr].

    Returns
    -------
    float or numpy.ndarray
        IRR [1/yr] (annual, effective); ``nan`` with no sign change or several IRRs.

    Notes
    -----
    See :func:`irr_detail`. One sign change (the common case) never reaches the companion-matrix
    path; flows are solved in blocks of 32 768 (timings: ``benchmarks/results/irr.md``).

    References
    ----------
    Hazen (2003), doi:10.1080/00137910308965050.

    Examples
    --------
    >>> round(irr([-100, 60, 60]), 10)  # 60x^2 + 60x - 100 = 0 -> x = 0.8844, r = 0.1307
    0.1306623863
    >>> irr([-100, 230, -132])  # two IRRs, 10 % and 20 %: none is "the" IRR
    nan
    """
    c = np.asarray(flows, dtype=np.float64)
    if c.ndim not in (1, 2) or c.shape[-1] == 0:
        _as_flows(c)  # raises the error
    single = c.ndim == 1
    c2 = np.atleast_2d(c)
    out = np.empty(c2.shape[0])
    for b0 in range(0, c2.shape[0], _CHUNK):  # block by block: temporaries stay in cache
        block = c2[b0 : b0 + _CHUNK]
        ct = _transpose(block)
        if not np.isfinite(ct.sum()):  # cheap test first; a finite sum means finite flows
            _as_flows(block)
        v = _sign_changes_t(ct)
        one = v == 1
        if one.all():
            x = _unique_root_t(ct, _STEP_TOL, 200)
        else:
            x = np.full(v.shape, np.nan)
            if one.any():
                x[one] = _unique_root_t(np.ascontiguousarray(ct[:, one]), _STEP_TOL, 200)
            many = np.flatnonzero(v >= 2)
            roots_many, undecided = _several(block[many], v[many], _STEP_TOL, 200)
            for i, roots, u in zip(many, roots_many, undecided, strict=True):
                if len(roots) == 1 and not u:
                    x[i] = roots[0]
        with np.errstate(divide="ignore"):
            r = _to_rate(x)
        out[b0 : b0 + block.shape[0]] = _annual_rate(r, periods_per_year)
    return _out(out, single)


def irr_all(flows: Any, *, periods_per_year: int = 1) -> Any:
    """Every IRR of each flow, ascending [1/yr]; ``[]`` when there is none.

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY].
    periods_per_year : int
        Periods per year of ``flows`` [1/yr].

    Returns
    -------
    list of float, or list of list of float
        IRRs [1/yr].

    Examples
    --------
    >>> [round(r, 10) for r in irr_all([-100, 230, -132])]  # (1.1)(1.2) = 1.32, 1.1 + 1.2 = 2.3
    [0.1, 0.2]
    """
    c, single = _as_flows(flows)
    res = irr_detail(c, periods_per_year=periods_per_year)
    return list(res.all[0]) if single else [list(a) for a in res.all]


def mirr(flows: Any, finance_rate: Any, reinvest_rate: Any, *, periods_per_year: int = 1) -> Any:
    """Modified internal rate of return.

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY].
    finance_rate : float or array_like
        Rate at which outlays are financed [1/yr].
    reinvest_rate : float or array_like
        Rate at which inflows are reinvested [1/yr].
    periods_per_year : int
        Periods per year [1/yr]; the result is annualised.

    Returns
    -------
    float or numpy.ndarray
        MIRR [1/yr]; ``nan`` without both an outlay and an inflow.

    Notes
    -----
    .. math:: MIRR = \\left(\\frac{\\sum_t c_t^+ (1+r_r)^{n-t}}
              {-\\sum_t c_t^- (1+r_f)^{-t}}\\right)^{1/n} - 1, \\qquad n = T - 1.

    Unique for every flow with an outlay and an inflow, so it is the figure to report when a flow
    has several IRRs. Same convention as ``numpy_financial.mirr`` and Excel ``MIRR``.

    References
    ----------
    Lin, S. A. Y. (1976). The modified internal rate of return and investment criterion. The
    Engineering Economist 21(4), 237-247. doi:10.1080/00137917608965065.

    Examples
    --------
    >>> round(mirr([-100, 230, -132], 0.1, 0.1), 10)  # (230*1.1 / (100 + 132/1.21))**0.5 - 1
    0.1
    """
    c, single = _as_flows(flows)
    n = c.shape[1] - 1
    f = _periodic_rate(finance_rate, periods_per_year)
    rr = _periodic_rate(reinvest_rate, periods_per_year)
    t = np.arange(c.shape[1])
    f = np.broadcast_to(f, (c.shape[0],))[:, None]
    rr = np.broadcast_to(rr, (c.shape[0],))[:, None]
    per = _mirr_rate(c, t, n, f, rr, max(n, 1))
    return _out(_annual_rate(per, periods_per_year), single)


def _mirr_rate(
    c: np.ndarray, t: np.ndarray, horizon: Any, finance: Any, reinvest: Any, divisor: float
) -> np.ndarray:
    """MIRR per period of ``t`` from flows ``c`` at times ``t``, horizon ``horizon``.

    ``divisor`` stands for the horizon in the root (a safe value where the horizon is 0: those
    rows are ``nan`` anyway).
    """
    pv_neg = np.sum(np.minimum(c, 0.0) * np.exp(-t * np.log1p(finance)), axis=1)
    fv_pos = np.sum(np.maximum(c, 0.0) * np.exp((horizon - t) * np.log1p(reinvest)), axis=1)
    ok = (pv_neg < 0) & (fv_pos > 0) & (horizon > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.exp(np.log(fv_pos / -pv_neg) / divisor) - 1.0, np.nan)


def _last_negative(c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative flows, whether each row ever goes negative, and its last negative period."""
    cum = np.cumsum(c, axis=1)
    negative = cum < 0
    last_neg = c.shape[1] - 1 - np.argmax(negative[:, ::-1], axis=1)
    return cum, np.asarray(negative.any(axis=1)), last_neg


def _payback_index(c: np.ndarray) -> np.ndarray:
    """Fractional period from which the cumulative flow stays >= 0 (flows spread evenly)."""
    cum, any_neg, last_neg = _last_negative(c)
    n, t = c.shape
    out = np.full(n, np.nan)
    out[~any_neg] = 0.0
    ok = any_neg & (last_neg < t - 1)
    r = np.flatnonzero(ok)
    k = last_neg[r]
    out[r] = k + (-cum[r, k]) / c[r, k + 1]
    return out


def payback(flows: Any, *, periods_per_year: int = 1) -> Any:
    """Payback period: when the cumulative flow turns, and stays, non-negative.

    Parameters
    ----------
    flows : array_like
        (T,) or (N, T) cash flows [CNY].
    periods_per_year : int
        Periods per year [1/yr].

    Returns
    -------
    float or numpy.ndarray
        Payback [yr]; ``nan`` if the cumulative flow is negative at the end.

    Notes
    -----
    With :math:`C_t = \\sum_{u \\le t} c_u` and :math:`k` the last period with :math:`C_k < 0`,
    the flow of period :math:`k+1` is taken to arrive evenly over the period:
    :math:`PB = (k + (-C_k) / c_{k+1}) / m`. Taking the *last* negative period means a project
    whose cumulative flow dips below zero again (a late closure cost) is not paid back early.

    References
    ----------
    Brealey, Myers, Allen (2020), Principles of Corporate Finance, §5.3.

    Examples
    --------
    >>> payback([-100, 40, 40, 40])  # 20 left after year 2; 20/40 of year 3
    2.5
    """
    c, single = _as_flows(flows)
    return _out(_payback_index(c) / periods_per_year, single)


def discounted_payback(rate: Any, flows: Any, *, periods_per_year: int = 1) -> Any:
    """Discounted payback: :func:`payback` of the flows discounted at ``rate``.

    Parameters
    ----------
    rate : float or array_like
        Discount rate [1/yr].
    flows : array_like
        (T,) or (N, T) cash flows [CNY].
    periods_per_year : int
        Periods per year [1/yr].

    Returns
    -------
    float or numpy.ndarray
        Discounted payback [yr]; ``nan`` if never paid back.

    Notes
    -----
    :func:`payback` applied to :math:`c_t (1+i)^{-t}`.

    Examples
    --------
    >>> round(discounted_payback(0.1, [-100, 60, 60]), 6)  # 45.4545 left; 49.5868 in year 2
    1.916667
    """
    c, single = _as_flows(flows)
    i = np.broadcast_to(_periodic_rate(rate, periods_per_year), (c.shape[0],))
    d = c * np.exp(-np.outer(np.log1p(i), np.arange(c.shape[1])))
    return _out(_payback_index(d) / periods_per_year, single)


# ---------------------------------------------------------------- dated flows (XNPV, XIRR)


def year_fractions(dates: Sequence[dt.date | str]) -> np.ndarray:
    """Years from the earliest date, actual/365 [yr].

    Parameters
    ----------
    dates : sequence of datetime.date or ISO str
        Dates of the flows.

    Returns
    -------
    numpy.ndarray
        (K,) years since the earliest date [yr].
    """
    d = np.array([np.datetime64(x, "D") for x in dates])
    return (d - d.min()).astype(np.float64) / DAYS_PER_YEAR


def xnpv(rate: Any, dates: Sequence[dt.date | str], flows: Any) -> Any:
    """NPV of dated flows (actual/365 from the earliest date).

    Parameters
    ----------
    rate : float or array_like
        Discount rate [1/yr] (annual, effective).
    dates : sequence of datetime.date or ISO str
        (K,) dates of the flows.
    flows : array_like
        (K,) or (N, K) cash flows [CNY].

    Returns
    -------
    float or numpy.ndarray
        XNPV [CNY].

    Notes
    -----
    .. math:: XNPV = \\sum_k c_k (1+r)^{-(d_k - d_0)/365}.

    References
    ----------
    Microsoft Excel XNPV function; same convention as ``pyxirr.xnpv``.
    """
    c, single = _as_flows(flows)
    tau = year_fractions(dates)
    if c.shape[1] != len(tau):
        raise ValueError("dates and flows must have the same length")
    r = _periodic_rate(rate, 1)
    r = np.broadcast_to(r, (c.shape[0],))
    return _out(np.sum(c * np.exp(-np.outer(np.log1p(r), tau)), axis=1), single)


def _xsolve(c: np.ndarray, tau: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Root in s = ln(1+r) of sum c exp(-tau s) in [lo, hi] with a sign change (bisect+Newton)."""

    def f(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        e = -np.outer(s, tau)
        e -= e.max(axis=1, keepdims=True)  # common positive factor: signs and f/f' unchanged
        w = c * np.exp(e)
        return w.sum(axis=1), -(w * tau).sum(axis=1)

    flo, _ = f(lo)
    s = 0.5 * (lo + hi)
    dx_old = hi - lo
    for _ in range(400):
        fs, dfs = f(s)
        same = np.sign(fs) == np.sign(flo)
        lo = np.where(same, s, lo)
        flo = np.where(same, fs, flo)
        hi = np.where(same, hi, s)
        with np.errstate(divide="ignore", invalid="ignore"):
            sn = s - fs / dfs
        # bisect when Newton leaves the bracket or is not at least halving its step (rtsafe)
        bad = ~((sn > lo) & (sn < hi)) | (np.abs(sn - s) > 0.5 * np.abs(dx_old))
        sn = np.where(bad, 0.5 * (lo + hi), sn)
        dx_old = sn - s
        if np.all((np.abs(sn - s) <= 1e-14 * np.maximum(1.0, np.abs(s))) | (fs == 0)):
            s = np.where(fs == 0, s, sn)
            break
        s = sn
    return s


XIRR_S_BOUND = 100.0  # XIRRs are searched for s = ln(1+r) in [-100, 100]: a numerical range


def _xvalue(c: np.ndarray, tau: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\sum_k c_k e^{-\\tau_k s}` at each ``s`` and the sum of the terms' absolute
    values, both times the same positive factor (exponents shifted by their maximum)."""
    e = -np.outer(s, tau)
    e -= e.max(axis=1, keepdims=True)
    w = c * np.exp(e)
    return w.sum(axis=1), np.abs(w).sum(axis=1)


def _xroots(c: np.ndarray, tau: np.ndarray, lo: float, hi: float) -> tuple[list[float], bool]:
    """Every root in :math:`s \\in [lo, hi]` of :math:`f(s) = \\sum_k c_k e^{-\\tau_k s}`.

    ``tau`` ascending. Returns the roots, ascending, and whether an extremum of ``f`` lies within
    rounding of zero (its root count is then undecided; the extremum is returned as a candidate).

    Laguerre's rule of signs and Rolle's theorem, recursively: with :math:`a` the first term
    of the second sign block, :math:`g(s) = e^{\\tau_a s} f(s)` has the sign of ``f`` and
    :math:`g'(s) = \\sum_k (\\tau_a - \\tau_k) c_k e^{-(\\tau_k - \\tau_a) s}`, whose
    coefficients change sign once fewer than ``c``'s. The roots of :math:`g'` (found the same
    way) cut :math:`[lo, hi]` into pieces on which ``g`` is monotone, so each piece holds at most
    one root of ``f``, bracketed by a sign change of ``g`` at its ends and refined by
    :func:`_xsolve`. One sign change: one root at most, bracketed by ``[lo, hi]``.
    """
    keep = c != 0
    c, tau = c[keep], tau[keep]
    change = np.flatnonzero(np.sign(c[1:]) != np.sign(c[:-1]))
    if change.size == 0:
        return [], False
    crit: list[float] = []
    shift = 0.0
    if change.size > 1:
        shift = float(tau[int(change[0]) + 1])
        crit, _ = _xroots((shift - tau) * c, tau - shift, lo, hi)
    pts = np.array([lo, *crit, hi])
    val, size = _xvalue(c, tau - shift, pts)
    near = np.abs(val) <= _UNDECIDED_REL * size
    near[0] = near[-1] = False  # the ends of the search range are not extrema
    val = np.where(near, 0.0, val)
    roots = [float(x) for x in pts[1:-1][near[1:-1]]]
    undecided = bool(near.any())
    k = np.flatnonzero(val[:-1] * val[1:] < 0)
    if k.size:
        found = _xsolve(np.repeat(c[None, :], k.size, axis=0), tau, pts[k], pts[k + 1])
        roots.extend(found.tolist())
    return sorted(roots), undecided


def xirr_detail(dates: Sequence[dt.date | str], flows: Any) -> IRRResult:
    """All XIRRs of dated flows (shared dates, one or many scenarios).

    Parameters
    ----------
    dates : sequence of datetime.date or ISO str
        (K,) dates of the flows, any order.
    flows : array_like
        (K,) or (N, K) cash flows [CNY].

    Returns
    -------
    IRRResult
        XIRRs [1/yr] (annual, effective), with a ``status`` per flow (``none``, ``unique``,
        ``multiple`` or ``undetermined``).

    Notes
    -----
    Flows on the same date are added; sign changes :math:`V` are counted in date order. The
    XIRRs are the roots of :math:`f(s) = \\sum_k c_k e^{-\\tau_k s}`, :math:`s = \\ln(1+r)`,
    :math:`\\tau_k` years (actual/365) since the first date, searched on
    :math:`s \\in [-100, 100]`. :math:`V = 1`: the unique root, by Newton safeguarded by
    bisection. :math:`V \\ge 2`: Laguerre's rule of signs for exponential sums (at most
    :math:`V` real roots) applied recursively (:func:`_xroots`): the critical points of
    :math:`e^{\\tau_a s} f(s)` split the range into pieces where it is monotone, each
    holding at most one root, so roots however close are separated and none is missed. An
    extremum whose value is within :math:`10^{-12}` of the sum of the absolute terms there
    cannot be told from zero in float64: the status is then ``undetermined`` and the extremum's
    rate is listed as a candidate. With yearly dates 365 days apart the XIRRs are the periodic
    IRRs of :func:`irr_detail`.

    References
    ----------
    Microsoft Excel XIRR function; same convention as ``pyxirr.xirr``.
    Laguerre, E. (1883). Sur la théorie des équations numériques. Journal de Mathématiques
    Pures et Appliquées, 3e série, 9, 99-146 (the rule of signs for sums of exponentials).
    Jameson, G. J. O. (2006). Counting zeros of generalised polynomials: Descartes' rule of
    signs and Laguerre's extensions. The Mathematical Gazette 90(518), 223-234.
    """
    c0, _ = _as_flows(flows)
    tau0 = year_fractions(dates)
    if c0.shape[1] != len(tau0):
        raise ValueError("dates and flows must have the same length")
    tau, inv = np.unique(tau0, return_inverse=True)
    same_date = np.zeros((len(tau0), len(tau)))
    same_date[np.arange(len(tau0)), inv.ravel()] = 1.0
    c = c0 @ same_date  # flows on the same date added
    n = c.shape[0]
    v = np.asarray(sign_changes(c))
    all_s: list[list[float]] = [[] for _ in range(n)]
    undecided = np.zeros(n, dtype=bool)
    one = np.flatnonzero(v == 1)
    if one.size:
        lo = np.full(one.size, -XIRR_S_BOUND)
        hi = np.full(one.size, XIRR_S_BOUND)
        s = _xsolve(c[one], tau, lo, hi)
        for i, si in zip(one, s, strict=True):
            all_s[i] = [float(si)]
    for k in np.flatnonzero(v >= 2).tolist():
        roots, undecided[k] = _xroots(c[k], tau, -XIRR_S_BOUND, XIRR_S_BOUND)
        all_s[k] = list(_distinct(roots))
    all_r = tuple(
        tuple(sorted(r for r in (float(np.expm1(s)) for s in ss) if math.isfinite(r)))
        for ss in all_s
    )
    n_irr = np.array([len(a) for a in all_r], dtype=np.int64)
    irr_arr = np.array(
        [a[0] if len(a) == 1 and not u else np.nan for a, u in zip(all_r, undecided, strict=True)]
    )
    return IRRResult(
        irr=irr_arr, n_irr=n_irr, sign_changes=v, all=all_r, status=_status(n_irr, undecided)
    )


def xirr(dates: Sequence[dt.date | str], flows: Any) -> Any:
    """XIRR of dated flows where it is unique, else ``nan`` (see :func:`xirr_detail`).

    Parameters
    ----------
    dates : sequence of datetime.date or ISO str
        (K,) dates of the flows.
    flows : array_like
        (K,) or (N, K) cash flows [CNY].

    Returns
    -------
    float or numpy.ndarray
        XIRR [1/yr].

    Examples
    --------
    >>> round(xirr(["2025-01-01", "2026-01-01"], [-100, 110]), 12)  # 365 days: 110/100 - 1
    0.1
    """
    c, single = _as_flows(flows)
    return _out(xirr_detail(dates, c).irr, single)


def xmirr(
    dates: Sequence[dt.date | str], flows: Any, finance_rate: float, reinvest_rate: float
) -> Any:
    """MIRR of dated flows over actual/365 years.

    Parameters
    ----------
    dates : sequence of datetime.date or ISO str
        (K,) dates of the flows.
    flows : array_like
        (K,) or (N, K) cash flows [CNY].
    finance_rate : float
        Rate for outlays [1/yr].
    reinvest_rate : float
        Rate for inflows [1/yr].

    Returns
    -------
    float or numpy.ndarray
        MIRR [1/yr]; ``nan`` without an outlay and an inflow, or when all dates coincide.

    Notes
    -----
    .. math:: MIRR = \\left(\\frac{\\sum c_k^+ (1+r_r)^{\\tau_n-\\tau_k}}
              {-\\sum c_k^- (1+r_f)^{-\\tau_k}}\\right)^{1/\\tau_n} - 1

    with :math:`\\tau_k` years (actual/365) since the earliest date.
    """
    c, single = _as_flows(flows)
    tau = year_fractions(dates)
    if c.shape[1] != len(tau):
        raise ValueError("dates and flows must have the same length")
    horizon = float(tau.max())
    r = _mirr_rate(c, tau, horizon, finance_rate, reinvest_rate, max(horizon, 1e-300))
    return _out(r, single)


def xpayback(dates: Sequence[dt.date | str], flows: Any, rate: float | None = None) -> Any:
    """Payback of dated flows: years (actual/365) until the cumulative flow stays >= 0.

    Parameters
    ----------
    dates : sequence of datetime.date or ISO str
        (K,) dates of the flows.
    flows : array_like
        (K,) or (N, K) cash flows [CNY].
    rate : float, optional
        Discount rate [1/yr] for the discounted payback.

    Returns
    -------
    float or numpy.ndarray
        Payback [yr] from the earliest date; ``nan`` if never paid back.

    Notes
    -----
    Dated flows are lumps on their dates, so payback is the date of the flow after which the
    (discounted) cumulative flow stays non-negative; no interpolation.
    """
    c, single = _as_flows(flows)
    tau = year_fractions(dates)
    order = np.argsort(tau, kind="stable")
    tau, c = tau[order], c[:, order]
    if rate is not None:
        c = c * np.exp(-tau * np.log1p(rate))
    _, any_neg, last_neg = _last_negative(c)
    k = c.shape[1]
    out = np.where(
        ~any_neg, 0.0, np.where(last_neg < k - 1, tau[np.minimum(last_neg + 1, k - 1)], np.nan)
    )
    return _out(out, single)


# ---------------------------------------------------------------- lenders' ratios


def dscr(cfads: Any, debt_service: Any) -> Any:
    """Debt-service coverage ratio per period.

    Parameters
    ----------
    cfads : array_like
        (T,) or (N, T) cash flow available for debt service [CNY].
    debt_service : array_like
        (T,) or (N, T) scheduled interest plus principal [CNY].

    Returns
    -------
    numpy.ndarray
        DSCR [1] per period; ``nan`` where no debt service is due.

    Notes
    -----
    .. math:: DSCR_t = CFADS_t / DS_t.

    References
    ----------
    Yescombe, E. R. (2014). Principles of Project Finance, 2nd ed., Academic Press, §12.3.

    Examples
    --------
    >>> dscr([120, 130], [100, 100]).tolist()
    [1.2, 1.3]
    """
    a = np.asarray(cfads, dtype=np.float64)
    b = np.asarray(debt_service, dtype=np.float64)
    a, b = np.broadcast_arrays(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def min_dscr(cfads: Any, debt_service: Any) -> Any:
    """Minimum DSCR over the periods with debt service due [1] (``nan`` if none).

    Parameters
    ----------
    cfads : array_like
        (T,) or (N, T) cash flow available for debt service [CNY].
    debt_service : array_like
        (T,) or (N, T) debt service [CNY].

    Returns
    -------
    float or numpy.ndarray
        Minimum DSCR [1].

    Examples
    --------
    >>> min_dscr([120, 130, 50], [100, 100, 0])
    1.2
    """
    d = dscr(cfads, debt_service)
    has = ~np.isnan(d).all(axis=-1)
    m = np.where(has, np.nanmin(np.where(np.isnan(d), np.inf, d), axis=-1), np.nan)
    return float(m) if np.ndim(m) == 0 else m


def llcr(cfads: Any, outstanding: Any, rate: Any, maturity: int) -> Any:
    """Loan-life coverage ratio at the end of each period.

    Parameters
    ----------
    cfads : array_like
        (T,) or (N, T) cash flow available for debt service [CNY].
    outstanding : array_like
        (T,) or (N, T) debt outstanding at the end of each period, after that period's
        repayment [CNY].
    rate : float or array_like
        Loan interest rate [1/period].
    maturity : int
        Last period of the loan [period index].

    Returns
    -------
    numpy.ndarray
        LLCR [1] at the end of each period; ``nan`` where nothing is outstanding.

    Notes
    -----
    .. math:: LLCR_t = \\frac{\\sum_{u=t+1}^{M} CFADS_u (1+i)^{-(u-t)}}{D_t}.

    References
    ----------
    Yescombe, E. R. (2014). Principles of Project Finance, 2nd ed., Academic Press, §12.3.

    Examples
    --------
    >>> round(float(llcr([0, 110, 121], [200, 100, 0], 0.1, 2)[0]), 6)  # (100 + 100) / 200
    1.0
    """
    c = np.atleast_2d(np.asarray(cfads, dtype=np.float64))
    d = np.broadcast_to(np.atleast_2d(np.asarray(outstanding, dtype=np.float64)), c.shape)
    t = np.arange(c.shape[1])
    i = np.broadcast_to(np.asarray(rate, dtype=np.float64), (c.shape[0],))[:, None]
    logv = -np.log1p(i) * t  # ln (1+i)^-t
    disc = np.where(t <= maturity, c * np.exp(logv), 0.0)
    suffix = np.cumsum(disc[:, ::-1], axis=1)[:, ::-1]  # sum over u >= t
    after = np.concatenate([suffix[:, 1:], np.zeros((c.shape[0], 1))], axis=1)  # u > t
    pv = after * np.exp(-logv)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((d > 0) & (t < maturity), pv / np.where(d > 0, d, 1.0), np.nan)
    return out[0] if np.ndim(cfads) == 1 else out
