"""The allocation against brute force, hand-made cases with known answers, and degenerate ones."""

from __future__ import annotations

import random

import pytest

from restora.matching.allocate import allocate, tie_break_weight, unfunded_reasons
from restora.matching.greedy import greedy
from restora.matching.problem import Limits, Problem, Product, Project, Requirements

from .bruteforce import brute_force


def project(
    pid: str, need: float, eco: float, region: str = "A", dscr: float = 1.5, **kw
) -> Project:
    return Project(pid, need, eco, region, kw.get("mineral", "coal"), "eco", dscr, 0.08, 0.1, ())


def random_problem(rng: random.Random) -> Problem:
    nj, nk = rng.randint(1, 6), rng.choice([0, 1, 2, 2, 3, 3])
    regions = ["A", "B", "C"][: rng.randint(1, 3)]
    projects = tuple(
        project(
            f"p{j}",
            float(rng.choice([10, 20, 30, 40, 50, 60, 80])),
            float(rng.randint(0, 6)),
            rng.choice(regions),
            dscr=rng.choice([1.0, 1.2, 1.4]),
        )
        for j in range(nj)
    )
    products = []
    for k in range(nk):
        tmin = float(rng.choice([0, 0, 10, 20, 30]))
        tmax = float(rng.choice([tmin, 30, 40, 60, 100]))
        tmax = max(tmax, tmin)
        products.append(
            Product(
                f"k{k}",
                float(rng.choice([0, 50, 80, 100, 150, 200])),
                tmin,
                tmax,
                Requirements(
                    min_dscr=rng.choice([None, None, 1.2]),
                    regions=tuple(rng.sample(regions, rng.choice([0, 0, 1, len(regions)]))),
                ),
            )
        )
    share = rng.choice([None, None, 0.5, 0.7])
    return Problem(projects, tuple(products), Limits(share))


def _feasible(problem: Problem, result) -> None:
    """The returned allocation keeps every constraint (checked here, not by the solver)."""
    need = {p.id: p.need_cny for p in problem.projects}
    got: dict[str, float] = {}
    used: dict[str, float] = {}
    by_id = {k.id: k for k in problem.products}
    for line in result.allocations:
        k = by_id[line.product]
        assert k.ticket_min_cny - 1e-6 <= line.amount_cny <= k.ticket_max_cny + 1e-6
        got[line.project] = got.get(line.project, 0.0) + line.amount_cny
        used[line.product] = used.get(line.product, 0.0) + line.amount_cny
    for pid in result.funded:
        assert got.get(pid, 0.0) == pytest.approx(need[pid], abs=1e-5)
    assert not set(got) - set(result.funded)
    for kid, amount in used.items():
        assert amount <= by_id[kid].capacity_cny + 1e-5
    share = problem.limits.max_region_share
    if share is not None:
        region = {p.id: p.region for p in problem.projects}
        total = sum(need[p] for p in result.funded)
        for r in set(region.values()):
            assert sum(need[p] for p in result.funded if region[p] == r) <= share * total + 1e-5


@pytest.mark.slow
def test_equals_brute_force_on_random_instances() -> None:
    rng = random.Random(20261207)
    seen = {"funded": 0, "partly": 0, "split": 0, "ticket_min": 0, "region_cap": 0, "ties": 0}
    for _ in range(300):
        problem = random_problem(rng)
        value, money, optimal, dearer = brute_force(problem)
        result = allocate(problem, gap=0.0)
        assert result.status == "optimal"
        _feasible(problem, result)
        index = {p.id: j for j, p in enumerate(problem.projects)}
        chosen = frozenset(index[p] for p in result.funded)
        assert result.objective == pytest.approx(value, abs=1e-9), problem
        assert result.money_cny == pytest.approx(money, abs=1e-6), problem  # ties: less money
        assert chosen in optimal
        g = greedy(problem)
        _feasible(problem, g)
        assert g.objective <= value + 1e-9
        seen["funded"] += bool(result.funded)
        seen["partly"] += bool(result.funded) and bool(result.unfunded)
        seen["split"] += len(result.allocations) > len(result.funded)
        seen["ticket_min"] += any(k.ticket_min_cny > 0 for k in problem.products) and bool(
            result.funded
        )
        seen["region_cap"] += problem.limits.max_region_share is not None and bool(result.funded)
        seen["ties"] += dearer > 0 and value > 0
    # the instances exercise what they are meant to (not only empty answers)
    assert all(n >= 10 for n in seen.values()), str(seen)


def test_decomposition_gives_the_same_value() -> None:
    rng = random.Random(7)
    for _ in range(30):
        problem = random_problem(rng)
        problem = Problem(problem.projects, problem.products, Limits(None))
        a = allocate(problem, gap=0.0)
        b = allocate(problem, gap=0.0, decompose=False)
        assert a.objective == pytest.approx(b.objective)
        assert a.money_cny == pytest.approx(b.money_cny)


def test_shadow_price_on_a_hand_made_instance() -> None:
    # One product of 100 CNY; a (need 60, value 6) and b (need 60, value 9) both eligible.
    # Optimum: b (9). b is kept; a relaxed: the 40 CNY left fund 40/60 of a. One more yuan
    # funds 1/60 more of a: 6/60 = 0.1 ecological value per yuan.
    problem = Problem((project("a", 60, 6), project("b", 60, 9)), (Product("K", 100, 0, 100),))
    r = allocate(problem, gap=0.0)
    assert r.funded == ("b",) and r.objective == 9
    assert r.shadow_prices == {"K": pytest.approx(0.1)}
    # Two products, each 60 CNY, each eligible to one project only; both funded, nothing left
    # to buy: K1 binds, but its price is 0 (no unfunded project could use another yuan).
    problem = Problem(
        (
            project("a", 60, 6, region="A"),
            project("b", 60, 9, region="B"),
            project("c", 50, 4, region="B"),
        ),
        (
            Product("K1", 60, 0, 100, Requirements(regions=("A",))),
            Product("K2", 100, 0, 100, Requirements(regions=("B",))),
        ),
    )
    r = allocate(problem, gap=0.0)
    assert r.funded == ("a", "b") and r.objective == 15
    assert [(b.kind, b.name) for b in r.binding] == [("capacity", "K1")]
    # K2 has 40 left; c needs 50: another yuan of K2 funds 1/50 of c, 4/50 = 0.08
    assert r.shadow_prices == {"K1": pytest.approx(0.0), "K2": pytest.approx(0.08)}


def test_ticket_minimum_forces_a_choice() -> None:
    # K gives tickets of 30..100 from 100 CNY; a (40, 5), b (40, 5), c (20, 9):
    # c is below the ticket minimum (ineligible); a and b take 80 CNY.
    problem = Problem(
        (project("a", 40, 5), project("b", 40, 5), project("c", 20, 9)),
        (Product("K", 100, 30, 100),),
    )
    r = allocate(problem, gap=0.0)
    assert r.funded == ("a", "b") and r.objective == 10
    reasons = {u["project"]: u["reasons"] for u in unfunded_reasons(problem, r)}
    assert reasons["c"][0] == "no eligible product among 1"
    assert "ticket_min fails for 1 product(s)" in reasons["c"][1]


def test_region_cap() -> None:
    # Two A projects and one B project; at most 60 % of the money to one region.
    problem = Problem(
        (project("a1", 50, 5, "A"), project("a2", 50, 5, "A"), project("b", 50, 1, "B")),
        (Product("K", 1000, 0, 1000),),
        Limits(0.6),
    )
    r = allocate(problem, gap=0.0)
    # {a1, a2}: 100 % in A; {a1, a2, b}: 67 % in A; {a1, b}: 50 % — the best is value 6
    assert r.objective == 6 and len(r.funded) == 2 and "b" in r.funded
    assert [(b.kind, b.name) for b in r.binding] == []
    (left_out,) = set(r.unfunded)
    assert left_out in ("a1", "a2") and r.causes[left_out].startswith("region cap:")
    # cap of exactly 2/3: all three fit, and the region cap of A binds
    r = allocate(Problem(problem.projects, problem.products, Limits(2 / 3)), gap=0.0)
    assert r.objective == 11 and ("region_cap", "A") in [(b.kind, b.name) for b in r.binding]


def test_ties_go_to_less_money() -> None:
    problem = Problem(
        (project("big", 90, 5), project("small", 30, 5)), (Product("K", 100, 0, 100),)
    )
    r = allocate(problem, gap=0.0)
    assert r.funded == ("small",) and r.money_cny == 30
    assert tie_break_weight([5, 5], 120) * 120 < 5 / 2


@pytest.mark.parametrize(
    "products",
    [
        (),  # no products
        (Product("K", 0, 0, 100),),  # zero capacity
        (Product("K", 100, 0, 100, Requirements(min_dscr=9.0)),),  # all ineligible
    ],
)
def test_nothing_fundable_is_optimal_with_objective_zero(products) -> None:
    problem = Problem((project("a", 10, 3), project("b", 20, 4)), products)
    r = allocate(problem)
    assert r.status == "optimal" and r.objective == 0 and r.funded == () and r.allocations == ()
    assert r.unfunded == ("a", "b") and r.binding == ()
    assert all(v == 0 for v in r.shadow_prices.values())


def test_no_projects() -> None:
    r = allocate(Problem((), (Product("K", 100, 0, 100),)))
    assert r.status == "optimal" and r.objective == 0 and r.shadow_prices == {"K": 0.0}


def test_greedy_first_come_loses_value() -> None:
    problem = Problem((project("a", 60, 6), project("b", 60, 9)), (Product("K", 100, 0, 100),))
    g = greedy(problem)
    assert g.funded == ("a",) and g.objective == 6
    assert g.causes["b"].startswith("capacity:")


@pytest.mark.slow
def test_large_block_method_is_feasible_and_its_bound_holds() -> None:
    # every block through the Lagrangian path (large_block=0): the allocation keeps every
    # constraint, never beats the brute-force optimum, and the bound is never below it
    rng = random.Random(11)
    for _ in range(150):
        problem = random_problem(rng)
        problem = Problem(problem.projects, problem.products, Limits(None))
        value, _, _, _ = brute_force(problem)
        result = allocate(problem, gap=0.0, large_block=0)
        assert result.status in ("optimal", "feasible")
        _feasible(problem, result)
        assert result.objective <= value + 1e-9
        assert result.dual_bound >= value - 1e-6
        if result.status == "optimal":
            assert result.objective == pytest.approx(value, abs=1e-6)
