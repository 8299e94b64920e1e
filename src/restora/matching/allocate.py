"""The allocation of finance products to restoration projects that funds the most ecological value.

A mixed-integer programme solved by HiGHS (through :func:`scipy.optimize.milp`); the
formulation, the tie-break, the decomposition and the meaning of the shadow prices are in
docs/matching.md ("The allocation model").

For projects j, products k and the eligible pairs E (only those are built):

.. math::

    \\max \\sum_j (v_j - \\varepsilon\\, n_j)\\, y_j
    \\quad\\text{s.t.}\\quad
    \\sum_{k:(j,k)\\in E} x_{jk} = n_j y_j,\\;
    \\sum_{j:(j,k)\\in E} x_{jk} \\le C_k,\\;
    t^{min}_k z_{jk} \\le x_{jk} \\le t^{max}_k z_{jk},\\;
    \\sum_{j \\in r} n_j y_j \\le s \\sum_j n_j y_j \\;\\forall r,

with :math:`y_j, z_{jk} \\in \\{0, 1\\}`, :math:`x_{jk} \\ge 0` [CNY], need :math:`n_j` [CNY],
ecological value :math:`v_j`, capacity :math:`C_k` [CNY], tickets :math:`t_k` [CNY] and the
region share :math:`s` [1]. :math:`z_{jk}` is only built when :math:`t^{min}_k > 0` (otherwise
:math:`0 \\le x_{jk} \\le t^{max}_k` says the same).

References
----------
Huangfu, Q. and Hall, J. A. J. (2018). Parallelizing the dual revised simplex method.
Mathematical Programming Computation 10(1), 119–142. DOI: 10.1007/s12532-017-0130-5 (HiGHS).
Issue 14, "Optimal allocation".
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from restora.matching.eligibility import REQUIREMENTS, check
from restora.matching.large import solve_large_block
from restora.matching.pairs import (
    Pairs,
    ProjectArrays,
    eligible_pairs,
    project_arrays,
    requirement_failures,
)
from restora.matching.problem import Problem

__all__ = [
    "AllocationLine",
    "AllocationResult",
    "Binding",
    "allocate",
    "causes_of_unfunded",
    "result_document",
    "tie_break_weight",
    "unfunded_reasons",
]

#: An amount below this is noise of the solver's tolerances, not money [CNY].
_CNY_NOISE = 1e-4


@dataclass(frozen=True)
class AllocationLine:
    """Money from one product to one project [CNY]."""

    project: str
    product: str
    amount_cny: float


@dataclass(frozen=True)
class Binding:
    """A constraint with no slack at the solution.

    ``kind`` is ``capacity`` (``name`` a product id) or ``region_cap`` (``name`` a region);
    ``slack`` [CNY] is what is left of it (≈ 0).
    """

    kind: str
    name: str
    slack: float

    def document(self) -> dict[str, Any]:
        """JSON form."""
        return {"constraint": self.kind, "name": self.name, "slack_cny": self.slack}


@dataclass(frozen=True)
class AllocationResult:
    """An allocation and what the solver proved about it.

    Attributes
    ----------
    status : str
        ``optimal`` (proven within the requested MIP gap), ``time_limit`` (stopped at the time
        limit; ``mip_gap`` says how far from optimal it may be), ``feasible`` (a large block
        ended above the requested gap; ``mip_gap`` is the gap proven), ``infeasible`` (the solver
        found no solution — never expected: funding nothing is always feasible, so this means a
        numerical failure) or ``greedy`` (the first-come baseline).
    objective : float
        Ecological value funded (without the tie-break) [ecological value].
    money_cny : float
        Money allocated [CNY].
    funded, unfunded : tuple of str
        Project ids, in the instance's order.
    allocations : tuple of AllocationLine
    causes : mapping
        For unfunded projects with eligible products: why the allocation left them out.
    binding : tuple of Binding
    shadow_prices : mapping
        Product id → ecological value per extra yuan of capacity [ecological value / CNY] (≥ 0).
    mip_gap : float
        Relative gap proven, (bound − value) / |bound| over all blocks, on the tie-broken
        objective [1]: the bound is HiGHS's dual bound for the blocks it solves and the
        Lagrangian bound for large blocks (:mod:`restora.matching.large`).
    dual_bound : float
        An upper bound on the ecological value any allocation can fund, from the bound HiGHS
        proved on the tie-broken objective plus the largest the tie-break term can be
        [ecological value].
    """

    status: str
    objective: float
    money_cny: float
    funded: tuple[str, ...]
    unfunded: tuple[str, ...]
    allocations: tuple[AllocationLine, ...]
    causes: Mapping[str, str] = field(default_factory=dict)
    binding: tuple[Binding, ...] = ()
    shadow_prices: Mapping[str, float] = field(default_factory=dict)
    mip_gap: float = 0.0
    dual_bound: float = math.nan
    pairs: int = 0
    components: int = 0
    seconds: Mapping[str, float] = field(default_factory=dict)


def tie_break_weight(ecological_values: Sequence[float] | np.ndarray, total_need: float) -> float:
    """The weight ε [ecological value / CNY] of money in the objective, for "ties: less money".

    Parameters
    ----------
    ecological_values : array
        The projects' ecological values.
    total_need : float
        Sum of all projects' needs [CNY].

    Returns
    -------
    float
        ε = q / (2 (N + 1)), where q is the resolution of the ecological values (the greatest
        common divisor of the values written to six decimals: every difference between two sets
        of projects' values is a multiple of q) and N the total need. The whole tie-break term
        ε Σ n_j y_j is then below q / 2, so it can never outweigh a difference in ecological
        value (at least q) and only decides between sets of equal value.

    Examples
    --------
    >>> tie_break_weight([3, 6, 9], 999.0)  # q = 3
    0.0015
    >>> tie_break_weight([0.5, 1.25], 99.0)  # q = 0.25
    0.00125
    """
    micro = [round(abs(float(v)) * 1e6) for v in ecological_values]
    g = reduce(math.gcd, micro, 0)
    q = float(Fraction(g, 10**6)) if g else 1.0
    return q / (2.0 * (total_need + 1.0))


@dataclass
class _Model:
    """One block of the programme: some projects, the pairs among them, its products."""

    projects: np.ndarray  # global project indices
    pairs: np.ndarray  # indices into the global pair arrays


def _components(n_projects: int, n_products: int, pairs: Pairs) -> tuple[int, np.ndarray]:
    graph = sparse.coo_matrix(
        (np.ones(len(pairs)), (pairs.project, n_projects + pairs.product)),
        shape=(n_projects + n_products,) * 2,
    )
    return connected_components(graph, directed=False)


@dataclass(frozen=True)
class MipSolution:
    """What HiGHS returned for one block (:func:`block_mip`)."""

    status: int  # scipy.optimize.milp's: 0 optimal, 1 limit reached, 2 infeasible, …
    projects: np.ndarray  # the block's projects (indices into need/profit), sorted
    y: np.ndarray  # 0/1 per project of ``projects``
    x: np.ndarray  # amount per pair [CNY]
    z: np.ndarray  # 1 where the pair is used
    fun: float  # the minimised objective −Σ p_j y_j
    bound: float  # HiGHS's dual bound on it


def block_mip(
    pj: np.ndarray,
    pk: np.ndarray,
    need: np.ndarray,
    profit: np.ndarray,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    gap: float,
    time_limit: float | None,
    region: np.ndarray | None = None,
    share: float | None = None,
) -> MipSolution:
    """The allocation programme over the pairs (pj[i], pk[i]), solved by HiGHS.

    Parameters
    ----------
    pj, pk : int arrays
        Project and product of each eligible pair (indices into the arrays below).
    need : array
        Needs [CNY] per project.
    profit : array
        p_j = v_j − ε n_j per project [ecological value].
    cap, tmin, tmax : arrays
        Capacities and ticket limits per product [CNY].
    gap : float
        ``mip_rel_gap`` [1].
    time_limit : float, optional
        Seconds.
    region : int array, optional
        Region code per project, for the region cap ``share`` [1].

    Returns
    -------
    MipSolution
    """
    projects, lj = np.unique(pj, return_inverse=True)
    ks, lk = np.unique(pk, return_inverse=True)
    nj, npair, nk = len(projects), len(pj), len(ks)
    n = need[projects]
    zi = np.flatnonzero(tmin[pk] > 0)
    nz = len(zi)
    nvar = nj + npair + nz
    ix, iz = nj, nj + npair
    c = np.zeros(nvar)
    c[:nj] = -profit[projects]
    ub = np.ones(nvar)
    ub[ix:iz] = np.minimum(np.minimum(tmax[pk], cap[pk]), need[pj])
    integrality = np.zeros(nvar)
    integrality[:nj] = 1
    integrality[iz:] = 1
    # demand Σ_k x_jk − n_j y_j = 0; capacity Σ_j x_jk ≤ C_k
    rows = [lj, np.arange(nj), nj + lk]
    cols = [ix + np.arange(npair), np.arange(nj), ix + np.arange(npair)]
    vals = [np.ones(npair), -n, np.ones(npair)]
    lo = [np.zeros(nj), np.full(nk, -np.inf)]
    hi = [np.zeros(nj), cap[ks]]
    r0 = nj + nk
    if nz:  # tickets: x − t^max z ≤ 0, t^min z − x ≤ 0
        rz = np.arange(nz)
        rows += [r0 + rz, r0 + rz, r0 + nz + rz, r0 + nz + rz]
        cols += [ix + zi, iz + rz, ix + zi, iz + rz]
        vals += [np.ones(nz), -tmax[pk[zi]], -np.ones(nz), tmin[pk[zi]]]
        lo.append(np.full(2 * nz, -np.inf))
        hi.append(np.zeros(2 * nz))
        r0 += 2 * nz
    if region is not None and share is not None and share < 1:
        # region cap: Σ_{j∈r} n_j y_j − s Σ_j n_j y_j ≤ 0
        used, rr = np.unique(region[projects], return_inverse=True)
        nr = len(used)
        rows += [r0 + rr, np.repeat(r0 + np.arange(nr), nj)]
        cols += [np.arange(nj), np.tile(np.arange(nj), nr)]
        vals += [n, np.tile(-share * n, nr)]
        lo.append(np.full(nr, -np.inf))
        hi.append(np.zeros(nr))
        r0 += nr
    A = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, nvar)
    )
    options: dict[str, Any] = {"disp": False, "mip_rel_gap": gap, "presolve": True}
    if time_limit is not None:
        options["time_limit"] = max(float(time_limit), 0.1)
    res = milp(
        c,
        integrality=integrality,
        bounds=Bounds(np.zeros(nvar), ub),
        constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
        options=options,
    )
    if res.x is None:
        zero = np.zeros(npair)
        return MipSolution(res.status, projects, np.zeros(nj), zero, zero, 0.0, 0.0)
    y = np.round(res.x[:nj])
    x = res.x[ix:iz].copy()
    x[(x < _CNY_NOISE) | (y[lj] < 0.5)] = 0.0
    z = (x > 0).astype(float)
    if nz:
        z[zi] = np.round(res.x[iz:])
    bound = getattr(res, "mip_dual_bound", None)
    bound = float(res.fun) if bound is None or not np.isfinite(bound) else float(bound)
    return MipSolution(res.status, projects, y, x, z, float(res.fun), bound)


def _solve_block(
    m: _Model,
    pairs: Pairs,
    a: ProjectArrays,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    eps: float,
    share: float | None,
    gap: float,
    time_limit: float | None,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Solve one block with HiGHS; returns status, y (per project of the block, in the order
    of ``m.projects``), x and z (per pair), objective and dual bound (minimised, negated)."""
    pj = pairs.project[m.pairs]
    sol = block_mip(
        pj, pairs.product[m.pairs], a.need, a.eco - eps * a.need, cap, tmin, tmax, gap,
        time_limit, region=a.region, share=share,
    )  # fmt: skip
    y = np.zeros(len(m.projects))
    y[np.searchsorted(m.projects, sol.projects)] = sol.y
    return sol.status, y, sol.x, sol.z, sol.fun, sol.bound


_NOT_PROVEN = -1  # a large block whose value is not within the gap of its LP bound


def _solve_large(
    m: _Model,
    pairs: Pairs,
    a: ProjectArrays,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    eps: float,
    gap: float,
    time_limit: float | None,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """A block too big for branch-and-bound: :func:`restora.matching.large.solve_large_block`."""
    local = np.full(len(a.need), -1, dtype=np.int64)
    local[m.projects] = np.arange(len(m.projects))
    ks, pk = np.unique(pairs.product[m.pairs], return_inverse=True)
    need = a.need[m.projects]
    sol = solve_large_block(
        local[pairs.project[m.pairs]],
        pk,
        need,
        a.eco[m.projects] - eps * need,
        cap[ks],
        tmin[ks],
        tmax[ks],
        gap,
        time_limit,
        group=a.region[m.projects],
    )
    code = 0 if sol.proven else _NOT_PROVEN
    return code, sol.y, sol.x, (sol.x > 0).astype(float), -sol.value, -sol.bound


def _shadow_prices(
    funded: np.ndarray,
    pairs: Pairs,
    x: np.ndarray,
    z: np.ndarray,
    a: ProjectArrays,
    cap: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    share: float | None,
    n_products: int,
) -> np.ndarray:
    """Capacity duals of the LP around the solution (docs/matching.md, "Shadow prices").

    The funded projects stay funded (y = 1) with the products they use (z fixed: each used
    pair's amount between its tickets, unused pairs closed); the unfunded projects' y and z are
    relaxed to [0, 1]. Fixing every y and z would leave an objective that does not depend on
    x, whose duals are all zero; this LP prices what one more yuan of a product would buy at
    the margin: (a share of) the next project it could fund, after re-routing the funded ones.
    """
    used = z > 0.5
    # the funded projects' used pairs, and every pair of an unfunded project
    cols = np.flatnonzero(used | ~funded[pairs.project])
    uf = np.flatnonzero(~funded & np.isin(np.arange(len(funded)), pairs.project[cols]))
    if len(uf) == 0 and len(cols) == 0:
        return np.zeros(n_products)
    npair, nu = len(cols), len(uf)
    pj = pairs.project[cols]
    pk = pairs.product[cols]
    need = a.need
    # variables: x over cols, then y over the unfunded projects uf
    c = np.concatenate([np.zeros(npair), -a.eco[uf]])
    lb = np.concatenate([np.where(used[cols], tmin[pk], 0.0), np.zeros(nu)])
    ub = np.concatenate([np.minimum(tmax[pk], need[pj]), np.ones(nu)])
    # demand of the funded: sum_k x_jk = n_j; of the unfunded: sum_k x_jk - n_j y_j = 0
    projects = np.unique(pj)
    row_of = np.full(len(need), -1, dtype=np.int64)
    row_of[projects] = np.arange(len(projects))
    uf_col = np.full(len(need), -1, dtype=np.int64)
    uf_col[uf] = npair + np.arange(nu)
    has_row = row_of[uf] >= 0
    eq = sparse.csr_matrix(
        (
            np.concatenate([np.ones(npair), -need[uf][has_row]]),
            (
                np.concatenate([row_of[pj], row_of[uf][has_row]]),
                np.concatenate([np.arange(npair), uf_col[uf][has_row]]),
            ),
        ),
        shape=(len(projects), npair + nu),
    )
    b_eq = np.where(funded[projects], need[projects], 0.0)
    ks = np.unique(pk)
    k_row = np.searchsorted(ks, pk)
    ub_rows = [
        sparse.csr_matrix((np.ones(npair), (k_row, np.arange(npair))), shape=(len(ks), npair + nu))
    ]
    b_ub = [cap[ks]]
    if share is not None and share < 1:
        fixed = need * funded
        used_regions = np.unique(a.region[np.concatenate([projects, uf])])
        for r in used_regions:
            # sum_{j in r} n_j y_j - s sum_j n_j y_j <= 0, funded projects as constants
            coef = np.zeros(npair + nu)
            coef[npair:] = need[uf] * ((a.region[uf] == r) - share)
            const = fixed[a.region == r].sum() - share * fixed.sum()
            ub_rows.append(sparse.csr_matrix(coef))
            b_ub.append(np.array([-const]))
    res = linprog(
        c,
        A_ub=sparse.vstack(ub_rows).tocsr(),
        b_ub=np.concatenate(b_ub),
        A_eq=eq,
        b_eq=b_eq,
        bounds=np.column_stack([lb, ub]),
        method="highs",
    )
    prices = np.zeros(n_products)
    if res.status == 0:
        prices[ks] = np.maximum(-res.ineqlin.marginals[: len(ks)], 0.0)
    return prices


EXACT_PAIRS = 2_000
"""With ``gap=None``, blocks of at most this many eligible pairs are solved to the optimum."""
AUTO_GAPS = (0.001, 0.01)
"""With ``gap=None``, the gap of the larger blocks: HiGHS's blocks, large blocks [1]."""


def block_gap(gap: float | None, n_pairs: int, large: bool) -> float:
    """The MIP gap a block is solved to [1]: ``gap``, or with ``gap=None`` (auto) 0 for a
    block of at most :data:`EXACT_PAIRS` pairs (a proof of the optimum takes HiGHS seconds
    there), else 0.1 % (HiGHS) or 1 % (a large block's Lagrangian method)."""
    if gap is not None:
        return gap
    if n_pairs <= EXACT_PAIRS:
        return 0.0
    return AUTO_GAPS[1] if large else AUTO_GAPS[0]


def allocate(
    problem: Problem,
    *,
    gap: float | None = 0.01,
    time_limit: float | None = None,
    decompose: bool = True,
    shadow_prices: bool = True,
    pairs: Pairs | None = None,
    arrays: ProjectArrays | None = None,
    large_block: int = 50_000,
) -> AllocationResult:
    """Fund the projects of ``problem`` with its products so as to maximise ecological value.

    Parameters
    ----------
    problem : Problem
    gap : float or None
        Relative MIP gap at which HiGHS may stop [1] (0.01: the value funded is proven within
        1 % of the optimum; 0: optimal within HiGHS's tolerances; None: per block, see
        :func:`block_gap`).
    time_limit : float, optional
        Seconds for all blocks together; a block that reaches it returns its best solution
        (status ``time_limit``).
    decompose : bool
        Solve the connected components of the eligibility graph separately (only without a
        region cap, which couples all projects).
    shadow_prices : bool
        Compute the capacities' shadow prices (one more LP).
    pairs, arrays : optional
        Eligible pairs and project arrays, if already computed.
    large_block : int
        A block with more eligible pairs than this (and no region cap) is solved by column
        generation, rounding and HiGHS on the rest (:mod:`restora.matching.large`); its gap is
        proven against the LP bound over all its pairs.

    Returns
    -------
    AllocationResult

    Notes
    -----
    Funding nothing always satisfies every constraint, so the programme is never infeasible:
    "nothing can be funded" is an optimal answer with objective 0. Status ``infeasible`` is
    kept for a solver that fails to return any solution. Ties in ecological value go to the
    allocation that uses less money (:func:`tie_break_weight`).
    """
    t0 = time.perf_counter()
    a = project_arrays(problem.projects) if arrays is None else arrays
    pr = eligible_pairs(problem, a) if pairs is None else pairs
    t_pairs = time.perf_counter()
    nj, nk = len(problem.projects), len(problem.products)
    cap = np.array([k.capacity_cny for k in problem.products], dtype=float)
    tmin = np.array([k.ticket_min_cny for k in problem.products], dtype=float)
    tmax = np.array([k.ticket_max_cny for k in problem.products], dtype=float)
    share = problem.limits.max_region_share
    eps = tie_break_weight(a.eco, float(a.need.sum()))

    in_model = np.zeros(nj, dtype=bool)
    in_model[pr.project] = True
    eligible = pr
    # a project whose need is above what all its eligible products together can give
    # (Σ min(ticket max, capacity)) can never be funded: dropping it before the solve keeps
    # its y out of the LP relaxation, where y = reach / need < 1 would loosen every bound
    reach = np.bincount(pr.project, weights=np.minimum(tmax, cap)[pr.product], minlength=nj)
    reachable = reach >= a.need - _CNY_NOISE
    if not reachable[pr.project].all():
        keep = reachable[pr.project]
        pr = Pairs(pr.project[keep], pr.product[keep])
    modelled = in_model & reachable
    if decompose and (share is None or share >= 1):
        ncomp, labels = _components(nj, nk, pr)
        pair_label = labels[pr.project]
        order = np.argsort(pair_label, kind="stable")
        starts = np.searchsorted(pair_label[order], np.arange(ncomp + 1))
        proj_label = labels[:nj]
        porder = np.argsort(proj_label, kind="stable")
        pstarts = np.searchsorted(proj_label[porder], np.arange(ncomp + 1))
        blocks = []
        for c_ in range(ncomp):
            ps = order[starts[c_] : starts[c_ + 1]]
            if len(ps):
                js = porder[pstarts[c_] : pstarts[c_ + 1]]
                blocks.append(_Model(js[modelled[js]], ps))
    else:
        blocks = [_Model(np.flatnonzero(modelled), np.arange(len(pr)))] if len(pr) else []

    y_all = np.zeros(nj)
    x_all = np.zeros(len(pr))
    z_all = np.zeros(len(pr))
    fun, bound = 0.0, 0.0
    statuses: list[int] = []
    deadline = None if time_limit is None else t0 + time_limit
    # big blocks first: the time limit is shared, the big ones need it
    for m in sorted(blocks, key=lambda b: -len(b.pairs)):
        left = None if deadline is None else deadline - time.perf_counter()
        large = len(m.pairs) > large_block and (share is None or share >= 1)
        g = block_gap(gap, len(m.pairs), large)
        if large:
            code, y, x, z, f, b = _solve_large(m, pr, a, cap, tmin, tmax, eps, g, left)
        else:
            code, y, x, z, f, b = _solve_block(m, pr, a, cap, tmin, tmax, eps, share, g, left)
        statuses.append(code)
        y_all[m.projects] = y
        x_all[m.pairs] = x
        z_all[m.pairs] = z
        fun += f
        bound += b
    t_solve = time.perf_counter()
    # projects needing nothing are funded without money wherever they are eligible
    funded = y_all > 0.5
    if any(s not in (0, 1, _NOT_PROVEN) for s in statuses):
        status = "infeasible"
    elif any(s == 1 for s in statuses):
        status = "time_limit"
    elif any(s == _NOT_PROVEN for s in statuses):
        status = "feasible"
    else:
        status = "optimal"
    mip_gap = 0.0 if abs(bound) < 1e-12 else max(0.0, (fun - bound) / abs(bound))

    used = np.bincount(pr.product, weights=x_all, minlength=nk)
    binding = [
        Binding("capacity", problem.products[k].id, float(cap[k] - used[k]))
        for k in np.flatnonzero(used > 0)
        if cap[k] - used[k] <= max(1e-6 * cap[k], 0.01)
    ]
    money = float((a.need * funded).sum())
    if share is not None and share < 1 and money > 0:
        by_region = np.bincount(a.region, weights=a.need * funded, minlength=len(a.regions))
        for r in np.flatnonzero(by_region > 0):
            slack = share * money - by_region[r]
            if slack <= max(1e-6 * money, 0.01):
                binding.append(Binding("region_cap", a.regions[r], float(slack)))
    prices = np.zeros(nk)
    if shadow_prices and len(pr) and status != "infeasible":
        prices = _shadow_prices(funded, pr, x_all, z_all, a, cap, tmin, tmax, share, nk)
    t_prices = time.perf_counter()

    lines = [
        AllocationLine(problem.projects[j].id, problem.products[k].id, float(v))
        for j, k, v in zip(pr.project, pr.product, x_all, strict=True)
        if v > 0
    ]
    lines.sort(key=lambda line_: (line_.project, line_.product))
    causes = causes_of_unfunded(
        problem, a, eligible, funded, cap, cap - used, tmin, tmax, share, money, in_model
    )
    return AllocationResult(
        status=status,
        objective=float((a.eco * funded).sum()),
        money_cny=money,
        funded=tuple(p.id for p, f in zip(problem.projects, funded, strict=True) if f),
        unfunded=tuple(p.id for p, f in zip(problem.projects, funded, strict=True) if not f),
        allocations=tuple(lines),
        causes=causes,
        binding=tuple(binding),
        shadow_prices={k.id: float(p) for k, p in zip(problem.products, prices, strict=True)},
        mip_gap=float(mip_gap),
        dual_bound=-bound + eps * float(a.need[in_model].sum()),
        pairs=len(pr),
        components=len(blocks),
        seconds={
            "pairs": t_pairs - t0,
            "solve": t_solve - t_pairs,
            "shadow_prices": t_prices - t_solve,
        },
    )


def causes_of_unfunded(
    problem: Problem,
    a: ProjectArrays,
    pr: Pairs,
    funded: np.ndarray,
    capacity: np.ndarray,
    residual: np.ndarray,
    tmin: np.ndarray,
    tmax: np.ndarray,
    share: float | None,
    money: float,
    in_model: np.ndarray,
) -> dict[str, str]:
    """Why each unfunded project with eligible products was left out."""
    out: dict[str, str] = {}
    usable = np.where(
        residual[pr.product] >= tmin[pr.product],
        np.minimum(tmax[pr.product], residual[pr.product]),
        0.0,
    )
    reach = np.bincount(pr.project, weights=usable, minlength=len(a.need))
    ceiling = np.bincount(
        pr.project, weights=np.minimum(tmax, capacity)[pr.product], minlength=len(a.need)
    )
    by_region = np.bincount(a.region, weights=a.need * funded, minlength=len(a.regions))
    for j in np.flatnonzero(in_model & ~funded):
        need = a.need[j]
        if ceiling[j] < need - _CNY_NOISE:
            out[problem.projects[j].id] = (
                f"need {need:,.0f} CNY above what all its eligible products together can give, "
                f"{ceiling[j]:,.0f} CNY (the sum of their ticket maxima within capacity)"
            )
        elif reach[j] < need - _CNY_NOISE:
            out[problem.projects[j].id] = (
                f"capacity: its eligible products have {reach[j]:,.0f} CNY left that it could "
                f"use, it needs {need:,.0f} CNY"
            )
        elif share is not None and by_region[a.region[j]] + need > share * (money + need) + 0.01:
            out[problem.projects[j].id] = (
                f"region cap: funding it would take region {a.regions[a.region[j]]} above "
                f"{share:.0%} of the money allocated"
            )
        elif a.eco[j] <= 0:
            out[problem.projects[j].id] = (
                "optimality: its ecological value is 0, funding it only uses money"
            )
        else:
            out[problem.projects[j].id] = (
                "optimality: the capacity it could use funds projects of more ecological value "
                "(or its tickets cannot be combined to its need, or within the MIP gap)"
            )
    return out


def unfunded_reasons(problem: Problem, result: AllocationResult) -> list[dict[str, Any]]:
    """``unfunded[]`` of the contract: each unfunded project with its reasons in words.

    The same words as :func:`restora.matching.eligibility.explain_unfunded` over every
    product, computed with the vectorised rules (:func:`restora.matching.pairs.
    requirement_failures`), so that 10^5 projects × 10^3 products take seconds: ``check`` is
    only called for the example pair of each reason.
    """
    a = project_arrays(problem.projects)
    pr = eligible_pairs(problem, a)
    index = {p.id: j for j, p in enumerate(problem.projects)}
    unfunded = np.array([index[pid] for pid in result.unfunded], dtype=np.int64)
    order = np.lexsort((pr.product, pr.project))
    starts = np.searchsorted(pr.project[order], np.arange(len(problem.projects) + 1))
    n_eligible = np.diff(starts)
    lonely = unfunded[n_eligible[unfunded] == 0]
    counts = requirement_failures(problem, a, lonely) if len(lonely) else {}
    row_of = {int(j): i for i, j in enumerate(lonely)}
    nk = len(problem.products)
    out = []
    for j in unfunded.tolist():
        project = problem.projects[j]
        if nk == 0:
            reasons = ["no product offered"]
        elif n_eligible[j] == 0:
            i = row_of[j]
            reasons = [f"no eligible product among {nk}"]
            ranked = sorted(
                (r for r in REQUIREMENTS if counts[r][0][i] > 0),
                key=lambda r: (-counts[r][0][i], REQUIREMENTS.index(r)),
            )
            for r in ranked:
                k = int(counts[r][1][i])
                product = problem.products[k]
                message = next(
                    f.message for f in check(project, product).failures if f.requirement == r
                )
                reasons.append(
                    f"{r} fails for {counts[r][0][i]} product(s), e.g. {product.id}: {message}"
                )
        else:
            ks = pr.product[order[starts[j] : starts[j + 1]]]
            ids = ", ".join(problem.products[k].id for k in ks[:5]) + (" …" if len(ks) > 5 else "")
            reasons = [
                f"eligible for {len(ks)} product(s) ({ids})",
                result.causes.get(project.id, "not chosen"),
            ]
        out.append({"project": project.id, "reasons": reasons})
    return out


def result_document(
    problem: Problem, result: AllocationResult, *, reasons: bool = True
) -> dict[str, Any]:
    """The contract's output document (issue 14): status, objective, funded, allocations,
    unfunded with reasons, binding, shadow_prices; plus money_cny, mip_gap and dual_bound."""
    return {
        "status": result.status,
        "objective": result.objective,
        "funded": list(result.funded),
        "allocations": [
            {"project": line.project, "product": line.product, "amount_cny": line.amount_cny}
            for line in result.allocations
        ],
        "unfunded": unfunded_reasons(problem, result)
        if reasons
        else [{"project": p, "reasons": []} for p in result.unfunded],
        "binding": [b.document() for b in result.binding],
        "shadow_prices": dict(result.shadow_prices),
        "money_cny": result.money_cny,
        "mip_gap": result.mip_gap,
        "dual_bound": result.dual_bound,
    }
