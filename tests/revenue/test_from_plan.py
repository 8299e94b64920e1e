"""Revenue quantities read from a restoration plan, and the modules' doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

from restora.planning.model import RestorationPlan
from restora.revenue import materials_stream
from restora.revenue.from_plan import area_by_after_use_mu, materials_spec, volume_by_year

PLAN = RestorationPlan(
    mine_id="HN-0042",
    price_year=2024,
    start_year=2025,
    sites=[
        {
            "site_id": "pit",
            "kind": "open_pit",
            "area_hm2": 4.0,
            "after_use": "cultivated",
            "works": [
                {
                    "item": "slope_cutting",
                    "quantity": 30_000,
                    "unit": "m3",
                    "phase": "closure_hazard",
                    "start_year": 0,
                    "years": 2,
                },
                {
                    "item": "terrain_reshaping",
                    "quantity": 4.0,
                    "unit": "hm2",
                    "phase": "basic_restoration",
                    "start_year": 1,
                },
            ],
        },
        {
            "site_id": "dump",
            "kind": "waste_dump",
            "area_hm2": 1.5,
            "after_use": "forest",
            "works": [
                {
                    "item": "slope_cutting",
                    "quantity": 5_000,
                    "unit": "m3",
                    "phase": "closure_hazard",
                    "start_year": 1,
                }
            ],
        },
    ],
)


def test_area_by_after_use_in_mu():
    # 4 hm2 * 15 = 60 亩 cultivated (the quota); 1.5 * 15 = 22.5 亩 forest
    assert area_by_after_use_mu(PLAN) == pytest.approx({"cultivated": 60.0, "forest": 22.5})


def test_slope_cutting_volume_by_year_and_earmarked_stream():
    # pit: 30 000 m3 over 2 years from 2025 -> 15 000 in 2025 and 2026; dump: 5 000 in 2026
    years, vol = volume_by_year(PLAN)
    assert years.tolist() == [2025, 2026]
    assert vol.tolist() == pytest.approx([15_000, 20_000])
    s = materials_stream(materials_spec(PLAN, price=20.0, platform_fee_share=0.1))
    # 15 000 * 20 * 0.9 = 270 000; 20 000 * 18 = 360 000
    assert s.revenue.tolist() == pytest.approx([270_000, 360_000])
    assert s.earmark == "restoration account of mine HN-0042"


def test_plan_without_earthworks():
    empty = RestorationPlan(mine_id="X", price_year=2024, start_year=2025)
    assert volume_by_year(empty)[0].size == 0
    with pytest.raises(ValueError, match="no earth-moving"):
        materials_spec(empty, price=1.0)


@pytest.mark.parametrize(
    "module",
    [
        "restora.revenue.streams",
        "restora.revenue.quotas",
        "restora.revenue.carbon",
        "restora.revenue.operations",
        "restora.revenue.from_plan",
        "restora.finance.pricing",
        "restora.finance.instruments._amortise",
        "restora.finance.instruments.pledge_loan",
        "restora.finance.instruments.special_bond",
        "restora.finance.instruments.ppp",
        "restora.finance.instruments.benefit_sharing",
    ],
)
def test_docstring_examples_run(module):
    res = doctest.testmod(importlib.import_module(module))
    assert res.attempted > 0 and res.failed == 0
