"""The vectorised eligibility agrees with ``check`` pair by pair."""

from __future__ import annotations

import random

from restora.matching.allocate import allocate, unfunded_reasons
from restora.matching.eligibility import check, explain_unfunded
from restora.matching.pairs import eligible_pairs
from restora.matching.problem import Problem, Product, Project, Requirements

REGIONS = ["430000", "520000", "610000"]
MINERALS = ["coal", "gold", "lead-zinc"]
MODES = ["ecological", "industrial", "tourism"]
COLLATERAL = ["carbon_sink_rights", "quota_rights", "charging_rights", "land_use_rights"]


def _maybe(rng: random.Random, values: list[str]) -> tuple[str, ...]:
    return tuple(rng.sample([*values, "elsewhere"], rng.choice([0, 0, 1, 2])))


def _instance(rng: random.Random) -> Problem:
    projects = tuple(
        Project(
            f"p{j}",
            float(rng.choice([0, 5e5, 1e6, 5e6, 2e7])),
            1.0,
            rng.choice(REGIONS),
            rng.choice(MINERALS),
            rng.choice(MODES),
            rng.choice([0.9, 1.1, 1.2, 1.3]),
            rng.choice([None, 0.03, 0.06, 0.08]),
            rng.choice([0.05, 0.15, 0.3]),
            tuple(rng.sample(COLLATERAL, rng.randint(0, 2))),
        )
        for j in range(rng.randint(0, 25))
    )
    products = tuple(
        Product(
            f"k{k}",
            float(rng.choice([0, 5e5, 1e7, 1e8])),
            float(rng.choice([0, 1e6])),
            float(rng.choice([1e6, 5e7])),
            Requirements(
                min_dscr=rng.choice([None, 1.2]),
                min_irr=rng.choice([None, 0.0, 0.06]),
                max_p90_overrun=rng.choice([None, 0.15]),
                regions=_maybe(rng, REGIONS),
                minerals=_maybe(rng, MINERALS),
                modes=_maybe(rng, MODES),
                collateral_any=_maybe(rng, COLLATERAL),
            ),
        )
        for k in range(rng.randint(0, 12))
    )
    return Problem(projects, products)


def test_vectorised_equals_check() -> None:
    rng = random.Random(3)
    for _ in range(40):
        problem = _instance(rng)
        projects, products = problem.projects, problem.products
        pairs = eligible_pairs(Problem(projects, products))
        got = set(zip(pairs.project.tolist(), pairs.product.tolist(), strict=True))
        want = {
            (j, k)
            for j, p in enumerate(projects)
            for k, q in enumerate(products)
            if check(p, q).eligible
        }
        assert got == want


def test_unfunded_reasons_equal_explain_unfunded() -> None:
    rng = random.Random(5)
    for _ in range(30):
        problem = _instance(rng)
        result = allocate(problem, gap=0.0)
        got = unfunded_reasons(problem, result)
        want = [
            {
                "project": p.id,
                "reasons": explain_unfunded(
                    p, [check(p, k) for k in problem.products], cause=result.causes.get(p.id)
                ),
            }
            for p in problem.projects
            if p.id in result.unfunded
        ]
        assert got == want
