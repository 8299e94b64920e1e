"""Run the scenario cases of test_instrument_cases.yaml (inputs, expected outputs, rule codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from restora.finance.instruments import run_instrument

CASES = yaml.safe_load((Path(__file__).with_suffix(".yaml")).read_text(encoding="utf-8"))


def _at(data: Any, path: str) -> Any:
    for key in path.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_case(case):
    res = run_instrument(case["instrument"], case["inputs"]).to_dict()
    for rule in case["rules"]:
        assert rule in res["rule_codes"]
    for path, expected in case["expect"].items():
        got = _at(res, path)
        if isinstance(expected, float | int) and not isinstance(expected, bool):
            assert got == pytest.approx(expected, rel=1e-9), path
        else:
            assert got == expected, path
