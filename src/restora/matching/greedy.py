"""First-come allocation: the baseline the optimal allocation is compared with.

Projects are taken in the order given (the order they posted their need); each is funded if
its eligible products, with what is left of their capacity, can cover its whole need within
their tickets (:func:`restora.matching.tickets.cover`); products are tried in the instance's
order. This is how a queue at a bank's
counter works, and what a platform without optimisation does.
"""

from __future__ import annotations

import time

import numpy as np

from restora.matching.allocate import (
    AllocationLine,
    AllocationResult,
    Binding,
    causes_of_unfunded,
)
from restora.matching.pairs import Pairs, ProjectArrays, eligible_pairs, project_arrays
from restora.matching.problem import Problem
from restora.matching.tickets import cover

__all__ = ["greedy"]


def greedy(
    problem: Problem, *, pairs: Pairs | None = None, arrays: ProjectArrays | None = None
) -> AllocationResult:
    """First-come allocation (see the module's docstring); status ``greedy``.

    Parameters
    ----------
    problem : Problem
    pairs, arrays : optional
        Eligible pairs and project arrays, if already computed.

    Returns
    -------
    AllocationResult
        Without shadow prices or binding constraints (a queue proves nothing); with the
        region cap respected against the money allocated so far *and after* each project.
    """
    t0 = time.perf_counter()
    a = project_arrays(problem.projects) if arrays is None else arrays
    pr = eligible_pairs(problem, a) if pairs is None else pairs
    nj = len(problem.projects)
    left = np.array([k.capacity_cny for k in problem.products], dtype=float)
    cap = left.copy()
    tmin = np.array([k.ticket_min_cny for k in problem.products], dtype=float)
    tmax = np.array([k.ticket_max_cny for k in problem.products], dtype=float)
    share = problem.limits.max_region_share
    order = np.lexsort((pr.product, pr.project))
    sorted_projects = pr.project[order]
    starts = np.searchsorted(sorted_projects, np.arange(nj + 1))
    funded = np.zeros(nj, dtype=bool)
    in_model = np.zeros(nj, dtype=bool)
    in_model[pr.project] = True
    by_region = np.zeros(len(a.regions))
    money = 0.0
    lines = []
    for j in range(nj):
        ks = pr.product[order[starts[j] : starts[j + 1]]]
        if len(ks) == 0:
            continue
        need = float(a.need[j])
        if share is not None and by_region[a.region[j]] + need > share * (money + need):
            continue
        taken = cover(need, ks.tolist(), left, tmin, tmax)
        if taken is None:
            continue
        for k, amount in taken:
            left[k] -= amount
            lines.append(AllocationLine(problem.projects[j].id, problem.products[k].id, amount))
        funded[j] = True
        money += need
        by_region[a.region[j]] += need
    lines.sort(key=lambda line_: (line_.project, line_.product))
    causes = causes_of_unfunded(
        problem, a, pr, funded, cap, left, tmin, tmax, share, money, in_model
    )
    for pid in causes:
        causes[pid] = causes[pid].replace("optimality:", "first come:")
    return AllocationResult(
        status="greedy",
        objective=float((a.eco * funded).sum()),
        money_cny=money,
        funded=tuple(p.id for p, f in zip(problem.projects, funded, strict=True) if f),
        unfunded=tuple(p.id for p, f in zip(problem.projects, funded, strict=True) if not f),
        allocations=tuple(lines),
        causes=causes,
        shadow_prices={k.id: 0.0 for k in problem.products},
        mip_gap=float("nan"),
        pairs=len(pr),
        seconds={"total": time.perf_counter() - t0},
        binding=tuple(
            Binding("capacity", problem.products[k].id, float(left[k]))
            for k in np.flatnonzero((left < cap) & (left <= np.maximum(1e-6 * cap, 0.01)))
        ),
    )
