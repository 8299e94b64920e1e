"""PROBLEM.json parsing: the typed instance, and every error naming its field path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from restora.errors import InputError
from restora.matching.problem import (
    Limits,
    Product,
    Project,
    Requirements,
    parse_problem,
    problem_document,
)

GOOD: dict[str, Any] = {
    "projects": [
        {
            "id": "P1",
            "need_cny": 5e7,
            "ecological_value": 12.5,
            "region": "430000",
            "mineral": "coal",
            "mode": "ecological",
            "min_dscr": 1.3,
            "irr": 0.07,
            "p90_overrun": 0.12,
            "collateral": ["carbon_sink_rights"],
        },
        {
            "id": "P2",
            "need_cny": 2e7,
            "ecological_value": 3,
            "region": "520000",
            "mineral": "lead-zinc",
            "mode": "industrial",
            "min_dscr": 1.05,
            "irr": None,
            "p90_overrun": 0.3,
        },
    ],
    "products": [
        {
            "id": "G1",
            "capacity_cny": 1e8,
            "ticket_min_cny": 1e6,
            "ticket_max_cny": 6e7,
            "requires": {"min_dscr": 1.2, "regions": ["430000"], "modes": []},
        },
        {"id": "S1", "capacity_cny": 0, "ticket_min_cny": 0, "ticket_max_cny": 0},
    ],
    "limits": {"max_region_share": 0.5},
}


def test_parses_the_contract() -> None:
    p = parse_problem(GOOD)
    assert p.projects[0] == Project(
        "P1", 5e7, 12.5, "430000", "coal", "ecological", 1.3, 0.07, 0.12, ("carbon_sink_rights",)
    )
    assert p.projects[1].irr is None and p.projects[1].collateral == ()
    assert p.products[0] == Product(
        "G1", 1e8, 1e6, 6e7, Requirements(min_dscr=1.2, regions=("430000",))
    )
    assert p.products[1].requires == Requirements()  # missing requires: any
    assert p.limits == Limits(0.5)
    assert parse_problem(problem_document(p)) == p  # the document round-trips


def test_limits_optional() -> None:
    doc = copy.deepcopy(GOOD)
    del doc["limits"]
    assert parse_problem(doc).limits.max_region_share is None


def _errors(doc: Any) -> list[str]:
    with pytest.raises(InputError) as e:
        parse_problem(doc, source="x.json")
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            ("projects", 1, "need_cny"),
            -5,
            'x.json, column "projects[1].need_cny": must be a number ≥ 0, not -5',
        ),
        (
            ("projects", 0, "need_cny"),
            "a lot",
            "column \"projects[0].need_cny\": must be a number ≥ 0, not 'a lot'",
        ),
        (
            ("projects", 0, "min_dscr"),
            None,
            'column "projects[0].min_dscr": must be a number, not null',
        ),
        (
            ("projects", 0, "collateral"),
            "carbon",
            'column "projects[0].collateral": must be a list of texts',
        ),
        (
            ("products", 0, "ticket_min_cny"),
            7e7,
            'column "products[0].ticket_min_cny": 7e+07 is above ticket_max_cny 6e+07',
        ),
        (
            ("products", 0, "capacity_cny"),
            -1,
            'column "products[0].capacity_cny": must be a number ≥ 0, not -1',
        ),
        (
            ("products", 0, "requires", "regions"),
            [""],
            'column "products[0].requires.regions[0]": must be a non-empty text',
        ),
        (
            ("products", 0, "requires", "min_irr"),
            True,
            'column "products[0].requires.min_irr": must be a number, not True',
        ),
        (
            ("limits", "max_region_share"),
            0,
            'column "limits.max_region_share": must be in (0, 1], not 0',
        ),
        (
            ("limits", "max_region_share"),
            1.5,
            'column "limits.max_region_share": must be in (0, 1], not 1.5',
        ),
        (("products", 1, "id"), "G1", "column \"products[1].id\": 'G1' repeats products[0].id"),
        (("projects", 1, "id"), "P1", "column \"projects[1].id\": 'P1' repeats projects[0].id"),
        (("projects", 0, "colour"), "red", 'column "projects[0].colour": not a known field'),
    ],
)
def test_errors_name_the_field(path: tuple[Any, ...], value: Any, expected: str) -> None:
    doc = copy.deepcopy(GOOD)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    errors = _errors(doc)
    assert len(errors) == 1, errors
    assert expected in errors[0]


def test_missing_fields_and_whole_document() -> None:
    doc = copy.deepcopy(GOOD)
    del doc["projects"][0]["region"]
    del doc["products"][1]["ticket_max_cny"]
    errors = _errors(doc)
    assert any('"projects[0].region": required' in e for e in errors)
    assert any('"products[1].ticket_max_cny": required' in e for e in errors)
    assert _errors([1, 2]) == ['x.json, column "(document)": must be an object, not a list']
    assert any('"products": required' in e for e in _errors({"projects": []}))
    assert any(
        '"projects[0]": must be an object' in e for e in _errors({"projects": [3], "products": []})
    )
