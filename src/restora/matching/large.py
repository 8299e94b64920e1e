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
   found) and the least bound is kept. Then the ticket maxima are kept in each project's
   choice (it fills its need from its products cheapest first, at most min(t^max_k, C_k) from
   each: :func:`ticket_bound`, :class:`TicketBound`), a bound never above L(u) at the same
   prices, and its prices are improved from the best ones by steps along a running average of
   its subgradients (the direction of the volume algorithm); its least value, evaluated by
   :func:`ticket_bound`, is the bound reported.
2. **Allocation.** Along the way, projects are funded best reduced value per yuan first
   (p_j / n_j − min u_k, or p_j / n_j / min u_k), each from its eligible products cheapest
   first within the tickets and what is left of the capacities.

The gap reported, (bound − value) / bound, is proven for the whole block. It is not the gap
HiGHS would prove with its cuts (docs/matching.md says by how much on the benchmark instance).

References
----------
Fisher, M. L. (1981). The Lagrangian relaxation method for solving integer programming
problems. Management Science 27(1), 1–18. DOI: 10.1287/mnsc.27.1.1.
Polyak, B. T. (1969). Minimization of unsmooth functionals. USSR Computational Mathematics
and Mathematical Physics 9(3), 14–29. DOI: 10.1016/0041-5553(69)90061-5.
Barahona, F. and Anbil, R. (2000). The volume algorithm: producing primal solutions with a
subgradient method. Mathematical Programming 87(3), 385–399. DOI: 10.1007/s101070050002.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from restora.matching.tickets import cover

__all__ = ["BlockSolution", "TicketBound", "lagrangian_bound", "solve_large_block", "ticket_bound"]


@dataclass(frozen=True)
class BlockSolution:
    """The solution of one block, in the block's own numbering (see :func:`solve_large_block`)."""

    y: np.ndarray  # 0/1 per project of the block
    x: np.ndarray  # amount per pair of the block [CNY]
    value: float  # Σ p_j y_j
    bound: float  # Lagrangian bound on it (ticket maxima kept)
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


class TicketBound:
    """:func:`ticket_bound` and a subgradient of it, for many prices on the same pairs.

    A project whose need fits within min(t^max_k, C_k) of each of its products takes it all
    from the cheapest, as in :func:`lagrangian_bound`; only the others (15 % of the projects
    on the benchmark) have their pairs sorted by price, starting from the previous call's
    order, which the stable sort finds nearly sorted once the prices settle. The bound is
    the same as :func:`ticket_bound`'s at the same prices; the subgradient is C_k minus what
    the funded projects take from product k.
    """

    def __init__(
        self,
        pj_sorted: np.ndarray,
        pk_sorted: np.ndarray,
        starts: np.ndarray,
        need: np.ndarray,
        profit: np.ndarray,
        cap: np.ndarray,
        tmax: np.ndarray,
    ) -> None:
        self.cap = cap
        most = np.minimum(tmax, cap)[pk_sorted]
        count = np.diff(starts)
        single = need <= np.minimum.reduceat(most, starts[:-1])
        one = single[pj_sorted]
        self.s_pk = pk_sorted[one]
        self.s_count = count[single]
        self.s_starts = np.concatenate([[0], np.cumsum(self.s_count)])
        self.s_need, self.s_profit = need[single], profit[single]
        self.m_pj = np.cumsum(~single)[pj_sorted[~one]] - 1  # renumbered 0, 1, …
        self.m_pk, self.m_most = pk_sorted[~one], most[~one]
        self.m_count = count[~single]
        self.m_starts = np.concatenate([[0], np.cumsum(self.m_count)])
        self.m_need, self.m_profit = need[~single], profit[~single]
        self.perm = np.arange(len(self.m_pj))

    def __call__(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """The bound at prices ``u`` ≥ 0, and a subgradient of it."""
        nk = len(self.cap)
        total = float(self.cap @ u)
        used = np.zeros(nk)
        if len(self.s_need):
            price = u[self.s_pk]
            cheapest = np.minimum.reduceat(price, self.s_starts[:-1])
            gain = self.s_profit - self.s_need * cheapest
            funded = gain > 0
            is_min = price == np.repeat(cheapest, self.s_count)
            at = np.where(is_min, np.arange(len(price)), -1)
            product = self.s_pk[np.maximum.reduceat(at, self.s_starts[:-1])]
            used += np.bincount(product[funded], weights=self.s_need[funded], minlength=nk)
            total += float(gain[funded].sum())
        if len(self.m_need):
            rank = np.empty(nk, dtype=np.int64)
            rank[np.argsort(u, kind="stable")] = np.arange(nk)
            perm = self.perm
            key = self.m_pj[perm] * nk + rank[self.m_pk[perm]]
            perm = perm[np.argsort(key, kind="stable")]
            self.perm = perm
            most, pko = self.m_most[perm], self.m_pk[perm]
            cum = np.cumsum(most)
            first = np.concatenate([[0.0], cum])[self.m_starts[:-1]]
            before = cum - most - np.repeat(first, self.m_count)
            take = np.clip(self.m_need[self.m_pj] - before, 0.0, most)
            cost = np.add.reduceat(u[pko] * take, self.m_starts[:-1])
            filled = np.add.reduceat(take, self.m_starts[:-1]) >= self.m_need - 1e-6
            gain = np.where(filled, self.m_profit - cost, 0.0)
            funded = gain > 0
            used += np.bincount(pko, weights=take * funded[self.m_pj], minlength=nk)
            total += float(gain[funded].sum())
        return total, self.cap - used


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
    ticket_iterations: int = 600,
    allocate_every: int = 200,
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
        Most subgradient steps on L (the ticket maxima relaxed).
    ticket_iterations : int
        Most subgradient steps after those, on the bound with the ticket maxima kept
        (:class:`TicketBound`; 0: none).
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

    def try_prices(prices: np.ndarray, orders: int = 2) -> None:
        """Allocate in (up to two) orders guided by ``prices``; keep the best allocation."""
        nonlocal best_value, best_y, best_x
        cheapest = np.minimum.reduceat(prices[pk_s], starts[:-1])
        ratio = value_per_yuan / np.maximum(cheapest, 1e-300)
        for key in (value_per_yuan - cheapest, ratio)[:orders]:
            rank = np.argsort(-key, kind="stable")
            rank = rank[profit[rank] > 0]
            y, x = _allocate(rank, prices, pj_s, pk_s, starts, need, cap, tmin, tmax)
            value = float(profit @ y)
            if value > best_value:
                best_value, best_y, best_x = value, y, x

    def done() -> bool:
        late = deadline is not None and time.perf_counter() > deadline
        return late or best_bound - best_value <= gap * abs(best_bound)

    for it in range(1, iterations + 1):
        bound, funded, product = lagrangian_bound(u, pj_s, pk_s, starts, need, profit, cap)
        if bound < best_bound - 1e-9 * abs(bound):
            best_bound, best_u, stall = bound, u.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
        if it == 1 or it == iterations:
            try_prices(best_u, orders=1)
        if done():
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
    # then the prices of that tighter bound (the LP relaxation's dual), from the best ones
    if ticket_iterations > 0 and not done():
        # steps along a running average of the subgradients (the volume algorithm's
        # direction), each from the best prices so far: on this bound, plain subgradient
        # steps stall long before the averaged ones do
        evaluate = TicketBound(pj_s, pk_s, starts, need, profit, cap, tmax)
        t_bound, g = evaluate(best_u)
        t_u, direction, theta, stall = best_u.copy(), g, 0.05, 0
        for step_no in range(1, ticket_iterations + 1):
            norm = float(direction @ direction)
            if norm == 0 or done() or t_bound - best_value <= gap * abs(t_bound):
                break
            trial = np.maximum(t_u - theta * (t_bound - best_value) / norm * direction, 0.0)
            bound, g = evaluate(trial)
            direction = 0.1 * g + 0.9 * direction
            it += 1
            if bound < t_bound:
                t_bound, t_u, stall = bound, trial, 0
            else:
                stall += 1
                if stall >= 10:
                    theta, stall = theta / 2, 0
            if step_no % allocate_every == 0:
                try_prices(t_u)
        # evaluated again by ticket_bound itself: the bound reported is its value
        exact = ticket_bound(t_u, pj, pk, need, profit, cap, tmax)
        if exact < best_bound:
            best_bound, best_u = exact, t_u
        if not done():
            try_prices(t_u)
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
