"""The label catalogue (src/restora/labels.yaml): complete, bilingual, and covering the codes the
code base emits (reference tables and the domain models' vocabularies)."""

from __future__ import annotations

import re
from typing import get_args

import pytest

from restora import labels, refdata


def test_every_entry_has_chinese_and_english():
    cat = labels.catalogue()
    assert len(cat) >= 30
    for category, entries in cat.items():
        assert entries, category
        for code, pair in entries.items():
            assert set(pair) == {"zh", "en"}, (category, code)
            assert pair["zh"].strip() and pair["en"].strip(), (category, code)


def test_chinese_labels_are_chinese_and_english_labels_have_no_identifiers():
    han = re.compile(r"[\u4e00-\u9fff]")
    snake = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
    # punctuation may stand alone; every other label says it in Chinese
    latin_ok = {("report", "percent"), ("report", "list_sep")}
    for category, entries in labels.catalogue().items():
        for code, pair in entries.items():
            assert not snake.search(pair["en"]) and not snake.search(pair["zh"]), (category, code)
            if (category, code) not in latin_ok and category not in ("distribution",):
                assert han.search(pair["zh"]), (category, code, pair["zh"])


def test_lookup_by_category_and_across_categories():
    assert labels.label("tailings_pond", "zh", "site_kind") == "尾矿库"
    assert labels.label("tailings_pond", "en") == "tailings pond"
    # 'severe' is a zone class and a pollution level with different labels: name the category
    assert labels.lookup("severe", "zh") is None
    assert labels.label("severe", "zh", "zone_class") == "重度污染区"
    assert labels.label(True, "zh", "bool") == "是"
    # unknown codes print as words, never as an identifier
    assert labels.label("my_own_item", "zh", "cost_item") == "my own item"
    assert labels.lookup("my_own_item", "zh", "cost_item") is None
    with pytest.raises(ValueError):
        labels.label("road", "fr")


def _data(name: str):
    return refdata.get(name).data


def test_the_catalogue_covers_the_codes_of_the_code_base():
    from restora.diagnosis import hazard, soil, suitability, zoning
    from restora.finance.instruments import INSTRUMENTS
    from restora.finance.risk import Target
    from restora.inventory.model import HazardKind, LandUse, Mineral, SiteKind, Status
    from restora.modes.profile import Pollution
    from restora.planning.model import ALL_PHASES

    def need(category: str, codes) -> None:
        assert codes, category  # the source of the codes was found
        missing = {str(c) for c in codes} - labels.codes(category)
        assert not missing, f"{category}: no label for {sorted(missing)}"

    need("site_kind", get_args(SiteKind))
    need("hazard_kind", get_args(HazardKind))
    need("land_use", get_args(LandUse))
    need("mineral", get_args(Mineral))
    need("mine_status", get_args(Status))
    need("phase", ALL_PHASES)
    need("after_use", suitability.USES)
    need("pollution_class", soil.CLASS_CODES)
    need("pollution_level", get_args(Pollution))
    need("zoning_method", zoning.METHODS)
    need("hazard_scale", hazard.SCALES)
    need("hazard_threat", hazard.THREATS)
    need("hazard_grade", hazard.GRADES)
    need("driver_target", get_args(Target))
    need("instrument", INSTRUMENTS)
    need("zone_class", {r["zone"] for r in _data("remediation/zone-classes")})
    xie = _data("valuation/xie2015/equivalent_factors")
    need("ecosystem_type", {r["type"] for r in xie})
    need("esv_service", {k for k in xie[0] if k not in ("type", "name_zh")})
    from restora.costing.unitcosts import load_library

    need("cost_item", load_library().items)
    for tiers in ("cn-default", "srce-nevada", "colorado-drms-m1977410"):
        data = _data(f"costing/indirect/{tiers}")
        lines = data["lines"] if isinstance(data, dict) and "lines" in data else data
        need("indirect_cost", {ln["code"] for ln in _walk_codes(lines)})
    rules = _data("modes/rules")
    need("mode", rules["modes"])
    need("mode_rule", {r["code"] for r in rules["rules"]})
    iad = _data("modes/iad")
    need("iad_criterion", {c["code"] for c in _walk_codes(iad)})
    thresholds = _data("valuation/stages/thresholds")
    assert thresholds  # the stages themselves:
    from restora.valuation.stages import STAGES

    need("value_stage", STAGES)
    need("value_stage", {"STAGE-" + s.upper().replace("_", "-") for s in STAGES})


def _walk_codes(obj):
    """Every mapping with a ``code`` key inside a reference table's data."""
    if isinstance(obj, dict):
        if "code" in obj:
            yield obj
        for v in obj.values():
            yield from _walk_codes(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_codes(v)
