"""Monte Carlo life-cycle cost: vectorised draws over quantities and unit costs.

Each unit cost and each quantity is drawn from a triangular or PERT distribution on its
low / most-likely / high range. Dependence: a Gaussian copula with equicorrelation within a
kind — unit costs of items of the same kind share one market factor (correlation
``rho_cost``); quantities of lines of the same kind in the same mine share one survey factor
(``rho_qty``). A unit cost is one draw per item for the whole batch (the same market prices
every mine in it); quantities are drawn per line. Each mine's tiered indirect costs are
applied to that mine's direct cost in each draw (the tiers are not linear).

Everything is numpy over arrays of shape (draws, lines) / (draws, mines); the random
generator is ``numpy.random.default_rng(seed)``, so the same seed gives the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaincinv, ndtr

from restora.costing.indirect import TierSet, apply_tiers
from restora.costing.lifecycle import CostLine, money_factors
from restora.planning.model import ALL_PHASES

PERCENTILES = (10, 50, 80, 90)


@dataclass(frozen=True)
class LineArrays:
    """A batch of mines' cost lines as arrays (lines sorted by mine)."""

    mine: np.ndarray  # (L,) int, non-decreasing
    n_mines: int
    item: np.ndarray  # (L,) int index into items
    items: tuple[str, ...]
    c_low: np.ndarray  # (V,) unit cost per item [CNY/unit]
    c_mode: np.ndarray
    c_high: np.ndarray
    c_group: np.ndarray  # (V,) int kind of each item
    q_low: np.ndarray  # (L,) quantity [unit]
    q_mode: np.ndarray
    q_high: np.ndarray
    q_group: np.ndarray  # (L,) int (mine, kind) group
    phase: np.ndarray  # (L,) int index into ALL_PHASES
    pv: np.ndarray  # (L,) present-value factor of the line
    ind_pv_upfront: np.ndarray  # (M,) PV factor of year-0 indirect lines
    ind_pv_spread: np.ndarray  # (M,) PV factor of indirect lines that follow the direct profile


def build_arrays(
    lines_by_mine: Sequence[Sequence[CostLine]],
    *,
    start_year: Sequence[int] | int,
    price_year: Sequence[int] | int,
    escalation: float,
    discount: float,
) -> LineArrays:
    """Arrays for a batch of mines from their priced cost lines.

    A unit cost item must have the same range in every mine of the batch (one market).
    """
    m = len(lines_by_mine)
    sy = np.broadcast_to(np.asarray(start_year), (m,))
    py = np.broadcast_to(np.asarray(price_year), (m,))
    items: dict[str, int] = {}
    kinds: dict[str, int] = {}
    groups: dict[tuple[int, str], int] = {}
    c_rng: dict[int, tuple[float, float, float]] = {}
    c_grp: dict[int, int] = {}
    cols: dict[str, list[float]] = {k: [] for k in ("mine", "item", "ql", "qm", "qh", "qg")}
    cols.update(phase=[], pv=[])
    up = np.zeros(m)
    spread = np.zeros(m)
    for j, lines in enumerate(lines_by_mine):
        num = 0.0
        den = 0.0
        for ln in lines:
            k = items.setdefault(ln.item, len(items))
            rng = (ln.unit_cost_low, ln.unit_cost, ln.unit_cost_high)
            if c_rng.setdefault(k, rng) != rng:
                raise ValueError(f"item {ln.item} has different unit-cost ranges within a batch")
            c_grp[k] = kinds.setdefault(ln.kind, len(kinds))
            g = groups.setdefault((j, ln.kind), len(groups))
            w = ln.year_weights()
            _, pvf = money_factors(np.array(list(w)), int(sy[j]), int(py[j]), escalation, discount)
            f = float(np.dot(pvf, list(w.values())))
            cols["mine"].append(j)
            cols["item"].append(k)
            cols["ql"].append(ln.quantity_low)
            cols["qm"].append(ln.quantity)
            cols["qh"].append(ln.quantity_high)
            cols["qg"].append(g)
            cols["phase"].append(ALL_PHASES.index(ln.phase))
            cols["pv"].append(f)
            num += ln.amount * f
            den += ln.amount
        _, pv0 = money_factors(np.array([0]), int(sy[j]), int(py[j]), escalation, discount)
        up[j] = pv0[0]
        spread[j] = num / den if den > 0 else pv0[0]
    v = len(items)
    return LineArrays(
        mine=np.asarray(cols["mine"], dtype=np.int64),
        n_mines=m,
        item=np.asarray(cols["item"], dtype=np.int64),
        items=tuple(items),
        c_low=np.array([c_rng[k][0] for k in range(v)]),
        c_mode=np.array([c_rng[k][1] for k in range(v)]),
        c_high=np.array([c_rng[k][2] for k in range(v)]),
        c_group=np.array([c_grp[k] for k in range(v)], dtype=np.int64),
        q_low=np.asarray(cols["ql"], dtype=float),
        q_mode=np.asarray(cols["qm"], dtype=float),
        q_high=np.asarray(cols["qh"], dtype=float),
        q_group=np.asarray(cols["qg"], dtype=np.int64),
        phase=np.asarray(cols["phase"], dtype=np.int64),
        pv=np.asarray(cols["pv"], dtype=float),
        ind_pv_upfront=up,
        ind_pv_spread=spread,
    )


def triangular_ppf(u: np.ndarray, low: Any, mode: Any, high: Any) -> np.ndarray:
    """Inverse CDF of the triangular distribution (vectorised; a zero-width range gives ``mode``).

    Notes
    -----
    With :math:`F_c = (c-a)/(b-a)`: :math:`x = a + \\sqrt{u(b-a)(c-a)}` for :math:`u < F_c`,
    else :math:`x = b - \\sqrt{(1-u)(b-a)(b-c)}`.
    """
    a, c, b = (np.asarray(x, dtype=u.dtype) for x in (low, mode, high))
    width = b - a
    fc = np.divide(c - a, width, out=np.zeros_like(width), where=width > 0)
    left = a + np.sqrt(u * width * (c - a))
    right = b - np.sqrt((1.0 - u) * width * (b - c))
    return np.where(width > 0, np.where(u < fc, left, right), c)


def pert_ppf(u: np.ndarray, low: Any, mode: Any, high: Any) -> np.ndarray:
    """Inverse CDF of the (beta-)PERT distribution, shape 4 (zero-width range gives ``mode``).

    Notes
    -----
    :math:`\\alpha = 1 + 4(c-a)/(b-a)`, :math:`\\beta = 1 + 4(b-c)/(b-a)`,
    :math:`x = a + (b-a)\\,I^{-1}_u(\\alpha, \\beta)`.

    References
    ----------
    Vose, D. (2008). Risk Analysis: A Quantitative Guide, 3rd ed., Wiley, §10.3.
    """
    a, c, b = (np.asarray(x, dtype=float) for x in (low, mode, high))
    width = b - a
    safe = np.where(width > 0, width, 1.0)
    alpha = 1.0 + 4.0 * (c - a) / safe
    beta = 1.0 + 4.0 * (b - c) / safe
    x = a + width * betaincinv(alpha, beta, u)
    return np.where(width > 0, x, c).astype(u.dtype, copy=False)


def correlated_uniforms(
    rng: np.random.Generator, n: int, group: np.ndarray, rho: float, dtype: Any = np.float64
) -> np.ndarray:
    """Uniforms (n, K) with Gaussian-copula equicorrelation ``rho`` within each group.

    Notes
    -----
    :math:`Z_k = \\sqrt{\\rho}\\,Z_{g(k)} + \\sqrt{1-\\rho}\\,\\varepsilon_k`, :math:`U_k = \\Phi(Z_k)`.
    With :math:`\\rho = 0` uniforms are drawn directly.
    """
    k = len(group)
    if rho <= 0.0:
        return rng.random((n, k), dtype=dtype)
    n_groups = int(group.max()) + 1 if k else 0
    common = rng.standard_normal((n, n_groups), dtype=dtype)
    z = rng.standard_normal((n, k), dtype=dtype)
    z *= np.sqrt(1.0 - rho)
    z += np.sqrt(rho) * common[:, group]
    return ndtr(z)


def _ppf(dist: str) -> Any:
    if dist == "triangular":
        return triangular_ppf
    if dist == "pert":
        return pert_ppf
    raise ValueError(f"distribution must be triangular or pert, not {dist!r}")


@dataclass(frozen=True)
class Draws:
    """Simulated costs of a batch of mines (constant price-year CNY unless noted)."""

    total: np.ndarray  # (n, M) per mine
    direct: np.ndarray  # (n, M)
    pv: np.ndarray  # (n, M) present value
    by_phase: np.ndarray | None  # (n, P) summed over mines
    by_item: np.ndarray | None  # (n, V) direct cost per item, summed over mines
    unit_costs: np.ndarray  # (n, V)


def simulate(
    arr: LineArrays,
    tiers: TierSet,
    draws: int,
    rng: np.random.Generator | int,
    *,
    rho_cost: float,
    rho_qty: float,
    distribution: str = "triangular",
    unit_costs: np.ndarray | None = None,
    detail: bool = True,
    dtype: Any = np.float64,
    out_dtype: Any = np.float64,
    quantity_mode: str = "line",
) -> Draws:
    """Draw ``draws`` outcomes of the batch's cost.

    Parameters
    ----------
    arr : LineArrays
    tiers : TierSet
        Indirect-cost tiers, applied per mine and draw.
    draws : int
    rng : Generator or int seed
    rho_cost, rho_qty : float
        Within-kind correlation [1] of unit costs and of quantities (Gaussian copula).
    distribution : {"triangular", "pert"}
    unit_costs : ndarray (draws, V), optional
        Pre-drawn unit costs (used by chunked national runs so every chunk sees one market).
    detail : bool
        Also return per-phase and per-item sums (memory: draws × (phases + items)).
    dtype, out_dtype : numpy dtype
        Of the per-line quantity draws and of the per-mine results (float32 halves memory and
        bandwidth for national runs; float64 by default).
    quantity_mode : {"line", "mine"}
        ``line`` (default): every line with a quantity range gets its own draw (copula within
        kind and mine). ``mine``: one quantity factor per mine and draw, triangular on the
        mine's cost-weighted relative range (sum of low / most-likely / high quantities at
        most-likely unit costs) — full correlation of quantities within a mine, independence
        between mines; a conservative (wider) approximation used for national runs, where a
        draw per line is too costly. Needs ``detail=False``.

    Returns
    -------
    Draws
    """
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    ppf = _ppf(distribution)
    if unit_costs is None:
        uc = correlated_uniforms(gen, draws, arr.c_group, rho_cost, np.float64)
        unit_costs = ppf(uc, arr.c_low, arr.c_mode, arr.c_high)
    unit_costs = np.asarray(unit_costs, dtype=np.float64)
    m, v = arr.n_mines, len(arr.items)
    n_ph = len(ALL_PHASES)
    # Lines with a fixed quantity need no draw: their cost is a matrix product of the unit
    # costs (draws × items) with the quantities (items × mines).
    if quantity_mode not in ("line", "mine"):
        raise ValueError("quantity_mode must be line or mine")
    if quantity_mode == "mine" and detail:
        raise ValueError("quantity_mode='mine' gives per-mine totals only (detail=False)")
    fixed = (arr.q_low == arr.q_high) & (arr.q_mode == arr.q_low)
    if quantity_mode == "mine":
        fixed = np.ones_like(fixed)
    fi, fm, fq = arr.item[fixed], arr.mine[fixed], arr.q_mode[fixed]
    w = np.zeros((v, m))
    np.add.at(w, (fi, fm), fq)
    w_pv = np.zeros((v, m))
    np.add.at(w_pv, (fi, fm), fq * arr.pv[fixed])
    direct = unit_costs @ w
    pv = unit_costs @ w_pv
    by_phase = by_item = None
    if detail:
        w_ph = np.zeros((v, n_ph))
        np.add.at(w_ph, (fi, arr.phase[fixed]), fq)
        by_phase = unit_costs @ w_ph
        by_item = unit_costs * np.bincount(fi, weights=fq, minlength=v)
    unc = np.flatnonzero(~fixed)
    if len(unc):
        mine = arr.mine[unc]
        item = arr.item[unc]
        _, groups = np.unique(arr.q_group[unc], return_inverse=True)
        uq = correlated_uniforms(gen, draws, groups.reshape(-1), rho_qty, dtype)
        amount = ppf(uq, arr.q_low[unc], arr.q_mode[unc], arr.q_high[unc])
        del uq
        amount *= unit_costs[:, item].astype(dtype, copy=False)
        starts = np.flatnonzero(np.r_[True, mine[1:] != mine[:-1]])
        direct[:, mine[starts]] += np.add.reduceat(amount, starts, axis=1, dtype=np.float64)
        pv[:, mine[starts]] += np.add.reduceat(
            amount * arr.pv[unc].astype(dtype), starts, axis=1, dtype=np.float64
        )
        if by_phase is not None and by_item is not None:
            ph = arr.phase[unc]
            for p in np.unique(ph):
                by_phase[:, p] += amount[:, ph == p].sum(axis=1, dtype=np.float64)
            for k in np.unique(item):
                by_item[:, k] += amount[:, item == k].sum(axis=1, dtype=np.float64)
        del amount
    if out_dtype != np.float64:
        direct = direct.astype(out_dtype)
        pv = pv.astype(out_dtype)
    if quantity_mode == "mine":
        lo, mode, hi = mine_quantity_range(arr)
        factor = ppf(gen.random((draws, m), dtype=direct.dtype), lo, mode, hi)
        direct *= factor
        pv *= factor
        del factor
    ind = apply_tiers(direct, tiers)
    total = direct.copy()
    acc: dict[bool, np.ndarray] = {}  # indirect paid up front (True) or with the works
    for ln in tiers.lines:
        val = ind.pop(ln.code)
        total += val
        key = ln.phase == "survey_design"
        if key in acc:
            acc[key] += val
        else:
            acc[key] = val
        if by_phase is not None:
            by_phase[:, ALL_PHASES.index(ln.phase)] += val.sum(axis=1)
    for key, val in acc.items():
        val *= (arr.ind_pv_upfront if key else arr.ind_pv_spread).astype(val.dtype)
        pv += val
    del acc
    return Draws(total, direct, pv, by_phase, by_item, unit_costs)


def sorted_percentiles(xs: np.ndarray, q: Sequence[int] = PERCENTILES) -> np.ndarray:
    """Percentiles along the last axis of an already sorted array, (..., len(q)).

    Same definition as ``numpy.percentile`` (method "linear"): position h = (n - 1) q / 100,
    value x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). Sorting is much faster than
    ``numpy.percentile``'s partitions for many rows of float32.
    """
    n = xs.shape[-1]
    h = (n - 1) * np.asarray(q, dtype=float) / 100.0
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    f = h - lo
    a = xs[..., lo].astype(np.float64)
    b = xs[..., hi].astype(np.float64)
    return a + f * (b - a)


def mine_quantity_range(arr: LineArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each mine's relative quantity range (low, 1, high) [1], weighted by most-likely cost.

    Notes
    -----
    :math:`r^{low}_m = \\sum_l q^{low}_l c_l / \\sum_l q_l c_l`, likewise for high.
    """
    c = arr.c_mode[arr.item]
    base = np.bincount(arr.mine, weights=arr.q_mode * c, minlength=arr.n_mines)
    safe = np.where(base > 0, base, 1.0)
    lo = np.bincount(arr.mine, weights=arr.q_low * c, minlength=arr.n_mines) / safe
    hi = np.bincount(arr.mine, weights=arr.q_high * c, minlength=arr.n_mines) / safe
    one = np.ones(arr.n_mines)
    return np.where(base > 0, lo, 1.0), one, np.where(base > 0, hi, 1.0)


def percentiles(x: np.ndarray, q: Sequence[int] = PERCENTILES) -> dict[str, float]:
    """``{"p10": ..., "p50": ..., ...}`` of a 1-D sample."""
    vals = np.percentile(x, q)
    return {f"p{p}": float(v) for p, v in zip(q, vals, strict=True)}


def deterministic_totals(arr: LineArrays, tiers: TierSet, which: str = "mode") -> np.ndarray:
    """Per-mine total with every quantity and unit cost at ``low``, ``mode`` or ``high``."""
    q = getattr(arr, f"q_{which}")
    c = getattr(arr, f"c_{which}")
    return _totals_from_amounts(arr, tiers, q * c[arr.item])


def _totals_from_amounts(arr: LineArrays, tiers: TierSet, amount: np.ndarray) -> np.ndarray:
    direct = np.bincount(arr.mine, weights=amount, minlength=arr.n_mines)
    return direct + sum(apply_tiers(direct, tiers).values(), np.zeros_like(direct))


def tornado(arr: LineArrays, tiers: TierSet, draws: Draws | None = None) -> list[dict[str, Any]]:
    """Which items drive the cost: one-at-a-time swings and Monte Carlo variance shares.

    For each item, the batch total is recomputed with that item's unit cost and quantities
    at their low (then high) values and everything else at most-likely (tiers re-applied):
    ``swing = total_high - total_low``. With ``draws``, ``variance_share`` is the item's
    squared Spearman rank correlation with the total, normalised to sum to 1.

    Returns
    -------
    list of dict
        Sorted by swing, largest first: item, total_low, total_base, total_high, swing,
        variance_share.
    """
    base_amt = arr.q_mode * arr.c_mode[arr.item]
    base = float(_totals_from_amounts(arr, tiers, base_amt).sum())
    shares = None
    if draws is not None and draws.by_item is not None:
        tot = draws.total.sum(axis=1)
        rt = _ranks(tot)
        rho = np.array([_pearson(_ranks(draws.by_item[:, k]), rt) for k in range(len(arr.items))])
        r2 = np.nan_to_num(rho) ** 2
        shares = r2 / r2.sum() if r2.sum() > 0 else r2
    rows = []
    for k, name in enumerate(arr.items):
        sel = arr.item == k
        out = []
        for which in ("low", "high"):
            amt = base_amt.copy()
            amt[sel] = getattr(arr, f"q_{which}")[sel] * getattr(arr, f"c_{which}")[k]
            out.append(float(_totals_from_amounts(arr, tiers, amt).sum()))
        rows.append(
            {
                "item": name,
                "total_low": out[0],
                "total_base": base,
                "total_high": out[1],
                "swing": out[1] - out[0],
                "variance_share": None if shares is None else float(shares[k]),
            }
        )
    return sorted(rows, key=lambda r: -r["swing"])


def _ranks(x: np.ndarray) -> np.ndarray:
    r = np.empty(len(x))
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


@dataclass(frozen=True)
class ChunkedResult:
    """A large batch simulated chunk by chunk over mines.

    ``mine_percentiles`` is (len(q), mines): each mine's own percentiles of total cost;
    ``total_draws`` is the sum over all mines in each draw (the register's total
    distribution).
    """

    q: tuple[int, ...]
    mine_percentiles: np.ndarray
    total_draws: np.ndarray
    chunks: int


def run_chunked(
    chunk_arrays: Any,
    n_mines: int,
    tiers: TierSet,
    draws: int,
    seed: int,
    *,
    chunk: int,
    items: tuple[str, ...],
    c_low: np.ndarray,
    c_mode: np.ndarray,
    c_high: np.ndarray,
    c_group: np.ndarray,
    rho_cost: float,
    rho_qty: float,
    distribution: str = "triangular",
    q: Sequence[int] = PERCENTILES,
    dtype: Any = np.float32,
    quantity_mode: str = "line",
) -> ChunkedResult:
    """Simulate ``n_mines`` mines in chunks with one market of unit costs.

    Parameters
    ----------
    chunk_arrays : callable
        ``chunk_arrays(start, stop) -> LineArrays`` for mines ``start:stop``; its ``items``
        must index the same item list as ``items``.
    chunk : int
        Mines per chunk (memory ≈ draws × lines in the chunk × 4–8 bytes × a few arrays).
    quantity_mode : {"line", "mine"}
        See :func:`simulate`.

    Notes
    -----
    Unit costs are drawn once (draws × items) from the first child of
    ``SeedSequence(seed)``; chunk ``k`` draws its quantities from child ``k + 1``, so a run is
    reproducible for a given seed and chunk size.
    """
    ss = np.random.SeedSequence(seed)
    n_chunks = -(-n_mines // chunk)
    children = ss.spawn(n_chunks + 1)
    ppf = _ppf(distribution)
    uc = correlated_uniforms(np.random.default_rng(children[0]), draws, c_group, rho_cost)
    unit_costs = ppf(uc, c_low, c_mode, c_high)
    mine_p = np.empty((len(q), n_mines))
    total = np.zeros(draws)
    for k in range(n_chunks):
        a, b = k * chunk, min((k + 1) * chunk, n_mines)
        arr = chunk_arrays(a, b)
        if arr.items != items:
            raise ValueError("chunk arrays must use the batch's item list")
        d = simulate(
            arr,
            tiers,
            draws,
            np.random.default_rng(children[k + 1]),
            rho_cost=rho_cost,
            rho_qty=rho_qty,
            distribution=distribution,
            unit_costs=unit_costs,
            detail=False,
            dtype=dtype,
            out_dtype=dtype,
            quantity_mode=quantity_mode,
        )
        mine_p[:, a:b] = sorted_percentiles(np.sort(d.total.T, axis=1), q).T
        total += d.total.sum(axis=1, dtype=np.float64)
    return ChunkedResult(tuple(q), mine_p, total, n_chunks)
