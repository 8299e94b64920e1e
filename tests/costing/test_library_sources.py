"""The shipped unit-cost library says where each figure comes from, and the docs agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from restora.costing.unitcosts import load_library

DOCS = Path(__file__).resolve().parents[2] / "docs" / "costing.md"
UNSOURCED = "unsourced (engineering judgement)"


@pytest.fixture(scope="module")
def lib():
    return load_library(on="2024-06-01")


def _documented_items() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Which rows are sourced, and how", 1)[1].split("\n\n", 2)[1]
    return set(re.findall(r"^\| `([a-z_]+)` \(", section, flags=re.M))


def test_every_row_has_a_source_and_is_indicative(lib):
    for item, row in lib.items.items():
        assert row.source.strip() and row.indicative, item
        assert row.low <= row.likely <= row.high, item


def test_docs_table_lists_exactly_the_sourced_rows(lib):
    sourced = {item for item, row in lib.items.items() if row.source != UNSOURCED}
    assert _documented_items() == sourced
    n = len(lib.items)
    words = {8: "Eight", 31: "31"}
    assert f"{words[len(sourced)]} of the {words[n]} rows" in DOCS.read_text(encoding="utf-8")


def test_composed_pit_filling_is_the_sum_of_the_plan_rows(lib):
    # plan W 表6-2: 覆土(0-0.5km) 12.36, 覆土(2.0-3.0km) 18.47, 压实 3.38 CNY/m³ (2020)
    row = lib["pit_filling"]
    want = (12.36 + 3.38, 12.36 + 3.38, 18.47 + 3.38)
    assert (row.low, row.likely, row.high) == pytest.approx(want, abs=1e-9)
    assert row.price_year == 2020
    assert lib["topsoil_cover"].low == 12.36 and lib["topsoil_cover"].likely == 18.47


def test_tender_average_for_monitoring_sensors(lib):
    row = lib["monitoring_sensor"]
    assert row.likely == pytest.approx(1_800_000 / 78, abs=0.005)  # 23,076.92
    assert row.price_year == 2020
