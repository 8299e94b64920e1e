"""Plans round-trip through YAML and JSON; bad plans name the place and field."""

from __future__ import annotations

import pytest

from restora.errors import InputError
from restora.planning.io import dump_plan, plan_from_dict, read_plan, write_plan
from restora.planning.model import RestorationPlan

PLAN = {
    "mine_id": "M1",
    "price_year": 2023,
    "start_year": 2025,
    "sites": [
        {
            "site_id": "S1",
            "kind": "open_pit",
            "area_hm2": 1.5,
            "after_use": "forest",
            "works": [
                {"item": "slope_cutting", "quantity": 100, "unit": "m3", "phase": "closure_hazard"},
                {
                    "item": "irrigation",
                    "quantity": 1.5,
                    "unit": "hm2*yr",
                    "phase": "maintenance",
                    "years": 3,
                    "per_year": True,
                    "quantity_low": 1.0,
                    "quantity_high": 2.0,
                },
            ],
        }
    ],
}


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_round_trip(tmp_path, suffix):
    plan = plan_from_dict(PLAN)
    f = tmp_path / f"plan{suffix}"
    write_plan(plan, f)
    again = read_plan(f)
    assert again == plan
    assert again.sites[0].works[1].total_quantity == 4.5  # 1.5 hm² × 3 yr
    assert plan.end_year == 2  # irrigation years 0..2


def test_edited_yaml_is_revalidated(tmp_path):
    text = dump_plan(plan_from_dict(PLAN)).replace("quantity: 100.0", "quantity: -5")
    f = tmp_path / "p.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as ei:
        read_plan(f)
    p = ei.value.problems[0]
    # one convention for every validated document: the field is the full dotted path
    assert (p.file, p.row, p.field) == (str(f), None, "sites.0.works.0.quantity")
    assert "-5" in p.message


def test_quantity_range_must_bracket_the_quantity():
    doc = {
        **PLAN,
        "sites": [
            {
                **PLAN["sites"][0],
                "works": [
                    {
                        "item": "x",
                        "quantity": 5,
                        "unit": "m3",
                        "phase": "closure_hazard",
                        "quantity_low": 6,
                    }
                ],
            }
        ],
    }
    with pytest.raises(InputError, match="low <= quantity <= high"):
        plan_from_dict(doc)


def test_unknown_field_is_rejected():
    with pytest.raises(InputError) as ei:
        plan_from_dict({**PLAN, "budget": 1})
    assert ei.value.problems[0].field == "budget"


def test_missing_file():
    with pytest.raises(InputError, match="no such plan file"):
        read_plan("/nonexistent/plan.yaml")


def test_model_is_frozen():
    plan = RestorationPlan.model_validate(PLAN)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen
        plan.mine_id = "other"  # type: ignore[misc]
