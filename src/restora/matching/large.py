"""Large blocks of the allocation: a Lagrangian bound and a price-guided allocation.

A block of the eligibility graph with 10^5 projects and 10^6 eligible pairs is beyond
branch-and-bound in a minute (HiGHS on the whole block of the benchmark, given 60 s, returns
after 161 s with 0.5 % of the value found here), and even its LP relaxation takes minutes with
the simplex. For such a block (docs/matching.md, "Large blocks"):

1. **Bound.** Relaxing the capacities with prices u_k ≥ 0 (yuan of ecological value per yuan
   of capacity) and the ticket limits, the programme splits into one choice per project:
   fund it at the cheapest eligible price or not,

   .. math:: L(u) = \\sum_k C_k u_k + \\sum_j \\max\\bigl(0,\\; p_j - n_j \\min_{k \\in E(j)} u_k\\bigr),

   an upper bound on the value of *every* allocation for any u ≥ 0 (weak duality). The prices
   are improved by projected subgradient steps (Polyak's step towards the best allocation
   found) and the least bound is kept.
2. **Allocation.** Along the way, projects are funded best reduced value per yuan first
   (p_j / n_j − min u_k), each from its eligible products cheapest first within the tickets and
   what is left of the capacities.

The gap reported, (L − value) / L, is proven for the whole block. It is also not the gap
HiGHS would prove: the bound is at least as loose as the LP relaxation (docs/matching.md says
by how much on the benchmark instance).

References
----------
Fisher, M. L. (1981). The Lagrangian relaxation method for solving integer programming
problems. Management Science 27(1), 1–18. DOI: 10.1287/mnsc.27.1.1.
Polyak, B. T. (1969). Minimization of unsmooth functionals. USSR Computational Mathematics
and Mathematical Physics 9(3), 14–29. DOI: 10.1016/0041-5553(69)90061-5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from restora.matching.tickets import cover

__all__ = ["BlockSolution", "lagrangian_bound", "solve_large_block", "ticket_bound"]


@dataclass(frozen=True)
class BlockSolution:
    """The solution of one block, in the block's own numbering (see :func:`solve_large_block`)."""

    y: np.ndarray  # 0/1 per project of the block
    x: np.ndarray  # amount per pair of the block [CNY]
    value: float  # Σ p_j y_j
    bound: float  # Lagrangian bound on it
    proven: bool  # gap reached
    iterations: int
    seconds: dict[str, float]


def lagrangian_bound(
    u: np.ndarray,
    pj_sorted: np.ndarray,
    pk_sorted: np.ndarray,
    starts: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    cap: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """L(u), and the subproblems' choice: per project whether it is funded and the product.

    Parameters
    ----------
    u : array
        Capacity prices ≥ 0 [ecological value / CNY].
    pj_sorted, pk_sorted : int arrays
        The eligible pairs sorted by project; ``starts`` the first pair of each project (every
        project of the block has at least one pair).
    need, profit, cap : arrays
        Needs [CNY], p_j [ecological value], capacities [CNY].

    Returns
    -------
    bound : float
    funded : bool array per project
    product : int array per project (its cheapest eligible product)
    """
    price = u[pk_sorted]
    cheapest = np.minimum.reduceat(price, starts[:-1])
    gain = profit - need * cheapest
    funded = gain > 0
    # the product at the cheapest price, per project
    is_min = price == np.repeat(cheapest, np.diff(starts))
    first = np.maximum.reduceat(np.where(is_min, np.arange(len(price)), -1), starts[:-1])
    product = pk_sorted[first]
    return float(cap @ u + gain[funded].sum()), funded, product


def ticket_bound(
    u: np.ndarray,
    pj: np.ndarray,
    pk: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    cap: np.ndarray,
    tmax: np.ndarray,
) -> float:
    """L(u) with the ticket maxima kept: each project fills its need from its eligible products
    cheapest first, at most min(t^max_k, C_k) from each; a project that cannot be filled is
    not funded. Never above :func:`lagrangian_bound` at the same prices, and still an upper
    bound on every allocation (the per-project choice is solved exactly)."""
    price = u[pk]
    order = np.lexsort((price, pj))
    pj_o, price_o = pj[order], price[order]
    most = np.minimum(tmax, cap)[pk[order]]
    starts = np.searchsorted(pj_o, np.arange(len(need) + 1))
    cum = np.cumsum(most)
    before = cum - most - np.repeat(np.concatenate([[0.0], cum])[starts[:-1]], np.diff(starts))
    take = np.clip(need[pj_o] - before, 0.0, most)
    cost = np.bincount(pj_o, weights=price_o * take, minlength=len(need))
    filled = np.bincount(pj_o, weights=take, minlength=len(need)) >= need - 1e-6
    gain = np.where(filled, profit - cost, 0.0)
    return float(cap @ u + np.maximum(gain, 0.0).sum())


def _polish(
    y: np.ndarray,
    x: np.ndarray,
    free: np.ndarray,
    pj: np.ndarray,
    pk: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    gap: float,
    time_limit: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """HiGHS on the projects ``free``; the others keep their allocation and its capacity.

    The freed projects are allocated again by the MIP of the allocation on the capacity the
    others leave (:func:`restora.matching.allocate.block_mip`); the result is kept only if it
    funds more than the freed projects had, so the allocation never gets worse.
    """
    from restora.matching.allocate import block_mip

    fixed_x = np.where(free[pj], 0.0, x)
    left = np.maximum(cap - np.bincount(pk, weights=fixed_x, minlength=len(cap)), 0.0)
    sub = np.flatnonzero(free[pj] & (left[pk] > 0) & (left[pk] >= tmin[pk]))
    if not len(sub):
        return y, x
    # the freed part is small beside the whole: solve it tighter than the gap asked of the
    # whole, or HiGHS stops at once with less than the allocation already has there
    sol = block_mip(pj[sub], pk[sub], need, profit, left, tmin, tmax, gap / 2, time_limit)
    y2 = np.where(free, 0.0, y)
    y2[sol.projects[sol.y > 0.5]] = 1.0
    if float(profit @ y2) <= float(profit @ y):
        return y, x
    x2 = fixed_x.copy()
    x2[sub] = sol.x
    return y2, x2


def _neighbourhoods(
    y: np.ndarray,
    u: np.ndarray,
    pj: np.ndarray,
    pk: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    group: np.ndarray,
    most_pairs: int,
) -> list[np.ndarray]:
    """Sets of projects to free, one group (region) at a time, the most promising first.

    In each group, the projects whose reduced value per yuan p_j / n_j − min u_k is nearest 0
    (funded or not) up to ``most_pairs`` eligible pairs; groups ordered by the value of their
    unfunded projects with a positive reduced value (what re-routing could still fund).
    """
    nj = len(need)
    cheapest = np.full(nj, np.inf)
    np.minimum.at(cheapest, pj, u[pk])
    reduced = profit / np.maximum(need, 1.0) - cheapest
    count = np.bincount(pj, minlength=nj)
    promise = np.bincount(group, weights=np.where((y < 0.5) & (reduced > 0), profit, 0.0))
    out = []
    for g in np.argsort(-promise, kind="stable"):
        if promise[g] <= 0:
            break
        members = np.flatnonzero((group == g) & (profit > 0))
        members = members[np.argsort(np.abs(reduced[members]), kind="stable")]
        chosen = members[np.cumsum(count[members]) <= most_pairs]
        if len(chosen):
            mask = np.zeros(nj, dtype=bool)
            mask[chosen] = True
            out.append(mask)
    return out


def _allocate(
    order: np.ndarray,
    u: np.ndarray,
    pj_sorted: np.ndarray,
    pk_sorted: np.ndarray,
    starts: np.ndarray,
    need: np.ndarray,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Fund projects in ``order``, each from its products cheapest first; returns y and x
    (per pair, in the sorted order)."""
    left = cap.astype(float).copy()
    y = np.zeros(len(need))
    x = np.zeros(len(pj_sorted))
    tmin_l, tmax_l, u_l = tmin.tolist(), tmax.tolist(), u.tolist()
    pk_l = pk_sorted.tolist()
    left_l = left.tolist()
    starts_l = starts.tolist()
    for j in order.tolist():
        a, b = starts_l[j], starts_l[j + 1]
        idx = sorted(range(a, b), key=lambda i: (u_l[pk_l[i]], -left_l[pk_l[i]]))
        taken = cover(float(need[j]), [pk_l[i] for i in idx], left_l, tmin_l, tmax_l)
        if taken is None:
            continue
        where = {pk_l[i]: i for i in idx}
        for k, amount in taken:
            x[where[k]] = amount
            left_l[k] -= amount
        y[j] = 1.0
    return y, x


def solve_large_block(
    pj: np.ndarray,
    pk: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    gap: float,
    time_limit: float | None,
    iterations: int = 300,
    polish_pairs: int = 10_000,
    polish_seconds: float = 20.0,
    group: np.ndarray | None = None,
) -> BlockSolution:
    """Solve one block without a region cap (see the module's docstring).

    Parameters
    ----------
    pj, pk : int arrays
        Project and product (block numbering) of each eligible pair.
    need : array
        Needs [CNY] of the block's projects (each has at least one pair).
    profit : array
        p_j = v_j − ε n_j per project (the tie-broken objective) [ecological value].
    cap, tmin, tmax : arrays
        Capacities and tickets of the block's products [CNY].
    gap : float
        Relative gap at which to stop [1].
    time_limit : float, optional
        Seconds.
    iterations : int
        Most subgradient steps.
    polish_pairs : int
        Most pairs in each MIP that HiGHS solves around the margin (0: no polishing).
    polish_seconds : float
        Seconds for polishing when there is no ``time_limit`` (with one: what it leaves).
    group : int array, optional
        A group per project (its region): polishing frees one group's marginal projects at a
        time, so the MIP can re-route money among the products they share.

    Returns
    -------
    BlockSolution
        ``x`` per pair in the order given.
    """
    t0 = time.perf_counter()
    nj, nk = len(need), len(cap)
    order = np.argsort(pj, kind="stable")
    pj_s, pk_s = pj[order], pk[order]
    starts = np.searchsorted(pj_s, np.arange(nj + 1))
    # start from the prices at which each product's eligible demand meets its capacity
    demand = np.bincount(pk, weights=need[pj], minlength=nk)
    value_per_yuan = np.where(need > 0, profit / np.maximum(need, 1.0), 0.0)
    u = np.where(demand > cap, np.median(value_per_yuan), 0.0)
    best_bound, best_u = np.inf, u.copy()
    best_value, best_y, best_x = -np.inf, np.zeros(nj), np.zeros(len(pj))
    theta = 2.0
    stall = 0
    it = 0
    deadline = None if time_limit is None else t0 + time_limit
    for it in range(1, iterations + 1):
        bound, funded, product = lagrangian_bound(u, pj_s, pk_s, starts, need, profit, cap)
        if bound < best_bound - 1e-9 * abs(bound):
            best_bound, best_u, stall = bound, u.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
        if it == 1 or it % 50 == 0:
            reduced = value_per_yuan - np.minimum.reduceat(best_u[pk_s], starts[:-1])
            rank = np.argsort(-reduced, kind="stable")
            rank = rank[profit[rank] > 0]
            y, x = _allocate(rank, best_u, pj_s, pk_s, starts, need, cap, tmin, tmax)
            value = float(profit @ y)
            if value > best_value:
                best_value, best_y, best_x = value, y, x
        if best_bound - best_value <= gap * abs(best_bound):
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        used = np.bincount(product[funded], weights=need[funded], minlength=nk)
        g = cap - used  # subgradient of L at u
        norm = float(g @ g)
        if norm == 0:
            break
        step = theta * (bound - best_value) / norm
        u = np.maximum(u - step * g, 0.0)
    # the same prices with the ticket maxima kept: a tighter bound, still valid
    best_bound = min(best_bound, ticket_bound(best_u, pj, pk, need, profit, cap, tmax))
    x = np.zeros(len(pj))
    x[order] = best_x
    t_polish = time.perf_counter()
    budget = polish_seconds if deadline is None else deadline - t_polish
    if best_bound - best_value > gap * abs(best_bound) and polish_pairs > 0 and budget > 0:
        groups = np.zeros(nj, dtype=np.int64) if group is None else group
        for free in _neighbourhoods(best_y, best_u, pj, pk, need, profit, groups, polish_pairs):
            left = budget - (time.perf_counter() - t_polish)
            if left < 0.5 or best_bound - best_value <= gap * abs(best_bound):
                break
            best_y, x = _polish(best_y, x, free, pj, pk, need, profit, cap, tmin, tmax, gap, left)
            best_value = float(profit @ best_y)
    proven = best_bound - best_value <= gap * abs(best_bound) + 1e-9
    return BlockSolution(
        y=best_y,
        x=x,
        value=best_value,
        bound=best_bound,
        proven=proven,
        iterations=it,
        seconds={"total": time.perf_counter() - t0, "polish": time.perf_counter() - t_polish},
    )
