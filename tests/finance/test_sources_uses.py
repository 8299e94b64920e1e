"""Uses by phase and year from a cost estimate; the construction period; grants as sources."""

from __future__ import annotations

import numpy as np
import pytest

from restora.costing.lifecycle import estimate
from restora.finance.sources_uses import (
    UNPHASED,
    Grant,
    construction_end_year,
    lifecycle_by_phase,
    sources_and_uses,
)
from restora.planning.model import RestorationPlan


def _plan() -> RestorationPlan:
    """Works in year 0 (closure), 1 (earthworks, planting), 1-3 (irrigation: aftercare)."""
    w = dict
    return RestorationPlan.model_validate(
        {
            "mine_id": "SU-1",
            "price_year": 2023,
            "start_year": 2026,
            "sites": [
                {
                    "site_id": "S1",
                    "kind": "open_pit",
                    "area_hm2": 2.0,
                    "after_use": "forest",
                    "works": [
                        w(item="slope_cutting", quantity=4000, unit="m3", phase="closure_hazard"),
                        w(
                            item="terrain_reshaping",
                            quantity=2,
                            unit="hm2",
                            phase="basic_restoration",
                            start_year=1,
                        ),
                        w(
                            item="tree_planting",
                            quantity=3000,
                            unit="plant",
                            phase="revegetation",
                            start_year=1,
                        ),
                        w(
                            item="irrigation",
                            quantity=2,
                            unit="hm2*yr",
                            phase="maintenance",
                            start_year=1,
                            years=3,
                            per_year=True,
                        ),
                    ],
                }
            ],
        }
    )


def test_phases_add_up_to_the_estimates_nominal_cost_each_year():
    e = estimate(_plan(), on="2026-01-01")
    by = lifecycle_by_phase([e])
    nominal = dict(zip(e.by_year["year"], e.by_year["nominal_cny"], strict=True))
    assert sorted(by) == sorted(nominal)
    for year, phases in by.items():
        assert sum(phases.values()) == pytest.approx(nominal[year], rel=1e-12)
    # the survey-design indirect line is all in year 0; contingency follows the direct cost
    assert by[2026]["survey_design"] > 0 and "survey_design" not in by[2027]
    assert by[2028]["contingency"] > 0
    # irrigation (maintenance) runs 2027-2029; the works end in 2027
    assert by[2029].keys() >= {"maintenance"}
    assert construction_end_year(by) == 2027


def test_construction_end_without_phases_is_the_last_cost_year():
    assert construction_end_year({2026: {UNPHASED: 5.0}, 2027: {UNPHASED: 0.0}}) == 2026
    assert construction_end_year({}) is None


def test_a_grant_after_construction_is_not_a_source():
    grants = [Grant("补助", 0, 30.0), Grant("奖励", 2, 99.0)]
    su = sources_and_uses([2026, 2027, 2028], 1, {"pollution": [50.0, 0, 0]}, [0, 0, 0], grants, [])
    # period 0: 50 of works, grant 30, equity 20; the period-2 grant is operating revenue
    assert su.equity.tolist() == [20.0, 0.0]
    assert su.total("source", "grant") == 30.0
    assert su.total("source") == su.total("use") == 50.0
    assert np.all(su.carried_cash == 0.0)
