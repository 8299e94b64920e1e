"""YAML scenario cases of the mode rules (one file per mode under ``scenarios/``).

Each file has a ``base`` profile and ``cases`` that override fields (``set``) and state the
expected primary mode, sequence, scores (hand arithmetic in the YAML comments) and the rule
codes that must and must not fire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from restora.modes.profile import MODES, parse_profile
from restora.modes.recommend import load_rules, recommend

SCENARIOS = Path(__file__).parent / "scenarios"


def _cases() -> list[Any]:
    out = []
    for path in sorted(SCENARIOS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            out.append(pytest.param(doc, case, id=f"{path.stem}: {case['name']}"))
    return out


def test_every_mode_has_a_scenario_file_with_typical_and_boundary_cases() -> None:
    files = {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SCENARIOS.glob("*.yaml")
    }
    assert set(files) == set(MODES)
    for mode, doc in files.items():
        assert doc["mode"] == mode
        # the first case is the typical profile of the mode: it must be recommended as primary
        assert doc["cases"][0]["expect"]["primary_mode"] == mode
        assert len(doc["cases"]) >= 4


@pytest.mark.parametrize(("doc", "case"), _cases())
def test_scenario(doc: dict[str, Any], case: dict[str, Any]) -> None:
    profile = parse_profile({**doc["base"], **case["set"]}, file=case["name"])
    rec = recommend(profile, load_rules(on=doc["date"]))
    expect = case["expect"]
    if "primary_mode" in expect:
        assert rec.primary_mode == expect["primary_mode"]
    if "sequence" in expect:
        assert list(rec.sequence) == expect["sequence"]
    for mode, score in expect.get("scores", {}).items():
        assert rec.scores[mode] == pytest.approx(score, abs=1e-6), mode
    codes = set(rec.rule_codes)
    assert set(expect.get("codes_include", [])) <= codes
    assert not set(expect.get("codes_exclude", [])) & codes
