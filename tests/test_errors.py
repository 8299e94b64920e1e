"""One conversion of validation errors, one ``--on`` option: messages name the full field path."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from restora.appraisal.io import parse_project
from restora.cli import app
from restora.errors import InputError

BASE = {"project_id": "P", "name": "n", "mines": ["M1"], "start_year": 2026}


def _problems(doc: dict) -> list[tuple[str | None, str]]:
    with pytest.raises(InputError) as e:
        parse_project({**BASE, **doc}, "p.yaml")
    return [(p.field, p.message) for p in e.value.problems]


def test_missing_and_unknown_fields_name_their_path():
    probs = _problems({"risk": {"drivers": [{"name": "x", "target": "opex", "low": 1}]}})
    fields = {f for f, _ in probs}
    assert {"risk.drivers.0.mode", "risk.drivers.0.high"} <= fields
    assert all(m == "required" for f, m in probs if f in fields)
    probs = _problems({"risk": {"seeds": 3}})
    assert probs == [("risk.seeds", "not a known field")]


def test_a_whole_project_check_names_the_field_it_is_about():
    """A driver naming a stream the project does not have: the path of that name."""
    probs = _problems(
        {
            "revenue_streams": [{"stream": "subsidy", "payments": [{"year": 2027, "amount": 1}]}],
            "risk": {
                "drivers": [
                    {"name": "p", "target": "revenue", "streams": ["carbon"], "low": 0.5,
                     "mode": 1, "high": 1.5}
                ]
            },
        }
    )  # fmt: skip
    assert probs[0][0] == "risk.drivers.0.streams"
    assert "no revenue stream named 'carbon'" in probs[0][1] and "'subsidies'" in probs[0][1]


def test_a_bad_date_is_a_usage_error_naming_the_option():
    res = CliRunner().invoke(app, ["modes", "recommend", "-", "--on", "2026-13-01"], input="{}")
    assert res.exit_code == 2
    assert "--on" in res.output and "is not a date" in res.output
