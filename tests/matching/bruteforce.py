"""An independent optimum for small instances: every subset of projects, every choice of the
products with a ticket minimum, and a max-flow feasibility check written here from scratch.

Nothing of :mod:`restora.matching.allocate` (nor HiGHS) is used: a subset of projects is
fundable when, for some set of used pairs among those with a ticket minimum, the transportation
problem with lower bounds (ticket minima of the used pairs) and upper bounds (ticket maxima,
zero for unused pairs with a minimum) has a flow that meets every need within every capacity.
Lower bounds are removed the textbook way (each used pair's minimum is sent first, the needs and
capacities reduced by it), then a max flow (Edmonds–Karp on a dense matrix) must saturate the
remaining needs.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence

from restora.matching.eligibility import check
from restora.matching.problem import Problem

TOL = 1e-7


def max_flow(capacity: list[list[float]], source: int, sink: int) -> float:
    """Edmonds–Karp on a dense residual matrix."""
    n = len(capacity)
    residual = [row[:] for row in capacity]
    total = 0.0
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = deque([source])
        while queue and parent[sink] < 0:
            u = queue.popleft()
            for v in range(n):
                if parent[v] < 0 and residual[u][v] > TOL:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return total
        push, v = float("inf"), sink
        while v != source:
            push = min(push, residual[parent[v]][v])
            v = parent[v]
        v = sink
        while v != source:
            residual[parent[v]][v] -= push
            residual[v][parent[v]] += push
            v = parent[v]
        total += push


def fundable(problem: Problem, subset: Sequence[int], eligible: set[tuple[int, int]]) -> bool:
    projects, products = problem.projects, problem.products
    pairs = [(j, k) for j in subset for k in range(len(products)) if (j, k) in eligible]
    if any(not any(p[0] == j for p in pairs) for j in subset):
        return False  # a project with no eligible product cannot be funded
    with_min = [p for p in pairs if products[p[1]].ticket_min_cny > 0]
    for mask in itertools.product((0, 1), repeat=len(with_min)):
        used = {p for p, m in zip(with_min, mask, strict=True) if m}
        need = {j: projects[j].need_cny for j in subset}
        cap = [k.capacity_cny for k in products]
        upper = {}
        for j, k in pairs:
            tmin, tmax = products[k].ticket_min_cny, products[k].ticket_max_cny
            if tmin > 0 and (j, k) not in used:
                continue
            lo = tmin if (j, k) in used else 0.0
            need[j] -= lo
            cap[k] -= lo
            upper[(j, k)] = tmax - lo
        if any(v < -TOL for v in need.values()) or any(c < -TOL for c in cap):
            continue
        # nodes: 0 source, 1..K products, then projects, last sink
        nk = len(products)
        index = {j: 1 + nk + i for i, j in enumerate(subset)}
        n = 2 + nk + len(subset)
        graph = [[0.0] * n for _ in range(n)]
        for k in range(nk):
            graph[0][1 + k] = max(cap[k], 0.0)
        for (j, k), u in upper.items():
            graph[1 + k][index[j]] = u
        for j in subset:
            graph[index[j]][n - 1] = max(need[j], 0.0)
        wanted = sum(max(v, 0.0) for v in need.values())
        if max_flow(graph, 0, n - 1) >= wanted - 1e-6:
            return True
    return False


def brute_force(problem: Problem) -> tuple[float, float, list[frozenset[int]], int]:
    """The best ecological value, the least money at that value, every optimal subset, and how
    many fundable subsets reach the best value with more money (ties the tie-break decides)."""
    projects = problem.projects
    eligible = {
        (j, k)
        for j, p in enumerate(projects)
        for k, q in enumerate(problem.products)
        if check(p, q).eligible
    }
    share = problem.limits.max_region_share
    best: tuple[float, float] = (0.0, 0.0)
    optimal: list[frozenset[int]] = [frozenset()]
    dearer = 0
    for size in range(1, len(projects) + 1):
        for subset in itertools.combinations(range(len(projects)), size):
            value = sum(projects[j].ecological_value for j in subset)
            money = sum(projects[j].need_cny for j in subset)
            if value < best[0] - TOL:
                continue
            if share is not None:
                by_region: dict[str, float] = {}
                for j in subset:
                    by_region[projects[j].region] = (
                        by_region.get(projects[j].region, 0.0) + projects[j].need_cny
                    )
                if any(v > share * money + 1e-6 for v in by_region.values()):
                    continue
            if not fundable(problem, subset, eligible):
                continue
            if value > best[0] + TOL:
                best, optimal, dearer = (value, money), [frozenset(subset)], 0
            elif money < best[1] - TOL:
                best, optimal, dearer = (value, money), [frozenset(subset)], dearer + len(optimal)
            elif money > best[1] + TOL:
                dearer += 1
            else:
                optimal.append(frozenset(subset))
    return best[0], best[1], optimal, dearer
