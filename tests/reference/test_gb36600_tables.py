"""GB 36600-2018 inorganic values reproduce every value of ../shared/reference/soil-standards.md."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from restora import refdata
from restora.diagnosis import soil

ON = "2024-01-01"
HEADER = [
    "pollutant",
    "screening, class 1",
    "screening, class 2",
    "intervention, class 1",
    "intervention, class 2",
]
CODES = {"Cr(VI)": "Cr6"}  # the reference writes Cr(VI); our pollutant code is Cr6


@pytest.fixture
def md_rows(md: str, md_table: Callable[[str, str], list[list[str]]]) -> list[list[str]]:
    return md_table(md, "| pollutant | screening, class 1")


def test_table_reproduces_every_reference_value(md_rows):
    assert md_rows[0] == HEADER
    body = md_rows[1:]
    t = refdata.get("soil/gb36600-2018/inorganic", on=ON)
    assert "GB 36600-2018" in t.source and t.unit == "mg/kg"
    ours = {r["pollutant"]: r for r in t.data}
    assert len(body) == len(ours) == 7
    keys = ["screening_class1", "screening_class2", "intervention_class1", "intervention_class2"]
    for cells in body:
        code = CODES.get(cells[0], cells[0])
        assert ours[code]["name"] == cells[0]
        assert [float(ours[code][k]) for k in keys] == [float(c) for c in cells[1:]], code
    # the standard's Cr(VI) class-2 screening value is 5.7, not the 5.0 of some copies
    assert float(ours["Cr6"]["screening_class2"]) == 5.7


def test_classifier_arrays_match_reference(md_rows):
    vals = soil.load_standard("gb36600", on=ON)
    assert vals.lands == ("1", "2")
    for cells in md_rows[1:]:
        m = vals.pollutants.index(CODES.get(cells[0], cells[0]))
        s1, s2, i1, i2 = (float(c) for c in cells[1:])
        assert vals.screening[m, :, 0].tolist() == [s1, s2]
        assert vals.intervention[m, :, 0].tolist() == [i1, i2]
    assert not vals.background_applied.any()  # the national background table is empty


def test_every_value_classifies_at_below_and_above(md_rows):
    """At a threshold the value does not exceed it; just above it does."""
    for cells in md_rows[1:]:
        code = CODES.get(cells[0], cells[0])
        s1, s2, i1, i2 = (float(c) for c in cells[1:])
        for land, s, i in (("1", s1, i1), ("2", s2, i2)):
            conc = [[s], [np.nextafter(s, np.inf)], [i], [np.nextafter(i, np.inf)]]
            a = soil.classify(conc, [code], [land] * 4, standard="gb36600", on=ON)
            assert a.class_names().tolist() == [
                "priority_protection",
                "safe_utilization",
                "safe_utilization",
                "strict_control",
            ], (code, land)
