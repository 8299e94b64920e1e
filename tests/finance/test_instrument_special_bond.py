"""Pooled special bond: coverage ratios by hand, provincial thresholds as reference data, and the
project that drags the pool."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.finance.instruments.special_bond import SpecialBondSpec, coverage, run


def _pool(**kw):
    base = {
        "projects": [
            {"name": "mine-A", "principal": 100.0, "revenue": [30.0] * 5},
            {"name": "mine-B", "principal": 100.0, "revenue": [20.0] * 5},
            {"name": "mine-C", "principal": 50.0, "revenue": [12.0] * 5},
        ],
        "coupon_rate": 0.04,
        "term_years": 5,
        "on": "2026-06-01",
    }
    base.update(kw)
    return SpecialBondSpec(**base)


def test_pool_coverage_by_hand():
    # bullet, 4 % for 5 years: A and B owe 100 + 5 * 4 = 120 each; C owes 50 + 5 * 2 = 60.
    # revenue: A 150, B 100, C 60. Coverage: A 1.25, B 0.8333, C 1.0.
    # pool: (150 + 100 + 60) / (120 + 120 + 60) = 310 / 300 = 1.0333
    res = run(_pool())
    by = {r["project"]: r for r in res.schedule}
    assert by["mine-A"]["coverage"] == pytest.approx(1.25)
    assert by["mine-B"]["coverage"] == pytest.approx(100 / 120)
    assert by["mine-C"]["coverage"] == pytest.approx(1.0)
    assert by["POOL"]["coverage"] == pytest.approx(310 / 300)
    assert res.summary["threshold"] == 1.0 and res.summary["meets_threshold"]
    # B's surplus at 1.0: 100 - 120 = -20; the pool carries it (A +30, C 0)
    assert res.summary["dragging_projects"] == ["mine-B"]
    # without B the pool covers (150 + 60) / (120 + 60) = 1.1667
    assert by["mine-B"]["pool_coverage_without"] == pytest.approx(210 / 180)


def test_threshold_override_flags_pool_and_names_the_drag():
    # at 1.1: surpluses A 150 - 132 = 18, B 100 - 132 = -32, C 60 - 66 = -6; pool -20 < 0
    res = run(_pool(threshold=1.1))
    assert not res.summary["meets_threshold"] and res.summary["meets_national_floor"]
    assert res.summary["dragging_projects"] == ["mine-B", "mine-C"]
    assert res.summary["main_drag"] == "mine-B"
    by = {r["project"]: r for r in res.schedule}
    assert by["mine-C"]["surplus_at_threshold"] == pytest.approx(-6.0)
    assert by["POOL"]["surplus_at_threshold"] == pytest.approx(-20.0)
    assert any("FIN-SBOND-REGIONAL" in f and "mine-B" in f for f in res.flags)


def test_below_the_national_floor():
    # only B: 100 / 120 < 1.0
    res = run(_pool(projects=[{"name": "mine-B", "principal": 100.0, "revenue": [20.0] * 5}]))
    assert not res.summary["meets_national_floor"]
    assert any(f.startswith("FIN-SBOND-NATIONAL") for f in res.flags)


def test_equal_principal_repayment_coverage():
    # 100 at 4 %, 5 years equal principal: interest 4 + 3.2 + 2.4 + 1.6 + 0.8 = 12; DS 112
    res = run(
        _pool(
            projects=[{"name": "A", "principal": 100.0, "revenue": [30.0] * 5}],
            repayment="equal_principal",
        )
    )
    assert res.schedule[0]["interest"] == pytest.approx(12.0)
    assert res.schedule[0]["coverage"] == pytest.approx(150 / 112)


@pytest.fixture
def provincial_threshold(user_refdata):
    d = user_refdata / "finance" / "instruments"
    d.mkdir(parents=True)
    (d / "special-bond-coverage.yaml").write_text(
        textwrap.dedent(
            """
            title: test fixture, a province's special-bond threshold
            source: test fixture (not a published rule)
            unit: "1"
            versions:
              - valid_from: 2024-01-01
                version: test-province
                region: "430000"
                data: {threshold: 1.2}
            """
        ),
        encoding="utf-8",
    )


def test_provincial_threshold_from_reference_data(provincial_threshold):
    # a county of the province (430521) falls back to the provincial 1.2: pool 1.0333 < 1.2
    res = run(_pool(region="430521"))
    assert res.summary["threshold"] == 1.2 and res.summary["threshold_region"] == "430000"
    assert not res.summary["meets_threshold"]
    assert res.summary["main_drag"] == "mine-B"
    assert {t["region"] for t in res.tables_used} == {"000000", "430000"}
    # another province keeps the national floor
    assert run(_pool(region="320102")).summary["threshold"] == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(1, 1e4), st.floats(0, 1e4)), min_size=1, max_size=6))
def test_pool_coverage_lies_between_project_coverages(items):
    projects = [
        {"name": f"p{i}", "principal": p, "revenue": [r] * 5} for i, (p, r) in enumerate(items)
    ]
    res = run(_pool(projects=projects))
    covs = [r["coverage"] for r in res.schedule[:-1]]
    pool = res.summary["pool_coverage"]
    assert min(covs) - 1e-9 <= pool <= max(covs) + 1e-9
    # the pool meets its threshold exactly when the surpluses sum to >= 0
    assert res.summary["meets_threshold"] == (res.schedule[-1]["surplus_at_threshold"] >= -1e-9)


def test_coverage_doctest_values():
    assert coverage([60.0, 60.0], [5.0, 105.0]) == pytest.approx(120 / 110)
