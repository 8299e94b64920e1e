"""The large-block bounds (restora.matching.large) against ticket_bound and the brute force."""

from __future__ import annotations

import random

import numpy as np
import pytest

from restora.matching.large import TicketBound, lagrangian_bound, ticket_bound
from restora.matching.pairs import eligible_pairs, project_arrays
from restora.matching.problem import Limits, Problem

from .bruteforce import brute_force
from .test_allocate import random_problem


def _block(problem: Problem):
    """The eligible pairs sorted by project, over the projects that have one (renumbered)."""
    a = project_arrays(problem.projects)
    pr = eligible_pairs(problem, a)
    projects, pj = np.unique(pr.project, return_inverse=True)
    order = np.argsort(pj, kind="stable")
    pj, pk = pj[order], pr.product[order]
    starts = np.searchsorted(pj, np.arange(len(projects) + 1))
    cap = np.array([k.capacity_cny for k in problem.products], dtype=float)
    tmax = np.array([k.ticket_max_cny for k in problem.products], dtype=float)
    return pj, pk, starts, a.need[projects], a.eco[projects], cap, tmax


def test_ticket_bound_class_is_ticket_bound_with_its_subgradient() -> None:
    # many projects, some needing several products, against ticket_bound at random prices;
    # the subgradient satisfies the subgradient inequality at other prices
    rng = np.random.default_rng(3)
    nj, nk = 300, 12
    pj = np.repeat(np.arange(nj), rng.integers(1, 6, nj))
    pk = rng.integers(0, nk, len(pj))
    keep = np.unique(pj * nk + pk)  # one pair per (project, product)
    pj, pk = keep // nk, keep % nk
    starts = np.searchsorted(pj, np.arange(nj + 1))
    need = rng.uniform(1, 100, nj)
    profit = need * rng.uniform(0.5, 2.0, nj)
    cap = rng.uniform(100, 2000, nk)
    tmax = rng.choice([20.0, 50.0, 200.0], nk)
    evaluate = TicketBound(pj, pk, starts, need, profit, cap, tmax)
    for _ in range(20):
        u = rng.uniform(0, 2, nk) * (rng.random(nk) < 0.8)
        bound, g = evaluate(u)
        assert bound == pytest.approx(ticket_bound(u, pj, pk, need, profit, cap, tmax), rel=1e-12)
        assert bound <= lagrangian_bound(u, pj, pk, starts, need, profit, cap)[0] + 1e-9
        v = rng.uniform(0, 2, nk)
        assert ticket_bound(v, pj, pk, need, profit, cap, tmax) >= bound + g @ (v - u) - 1e-6


@pytest.mark.slow
def test_ticket_bound_never_below_the_brute_force_optimum() -> None:
    # weak duality: at any prices u ≥ 0, on random small instances, the bound with the ticket
    # maxima kept is at least the best ecological value any allocation funds
    rng = random.Random(5)
    prices = np.random.default_rng(5)
    checked = 0
    for _ in range(150):
        problem = random_problem(rng)
        problem = Problem(problem.projects, problem.products, Limits(None))
        value, _, _, _ = brute_force(problem)
        if not problem.products:
            continue
        pj, pk, starts, need, eco, cap, tmax = _block(problem)
        if not len(pj):
            continue
        evaluate = TicketBound(pj, pk, starts, need, eco, cap, tmax)
        for scale in (0.0, 0.01, 0.05, 0.2, 1.0):
            u = scale * prices.random(len(cap))
            bound, _ = evaluate(u)
            assert bound >= value - 1e-9
            assert ticket_bound(u, pj, pk, need, eco, cap, tmax) >= value - 1e-9
        checked += 1
    assert checked > 50
