"""GB 36600-2018 inorganic values reproduce every value of the published standard.

The independent source is tests/data/reference/gb36600-2018.yaml (Table 1, basic items: heavy
metals and inorganics), transcribed apart from the shipped reference table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from restora import refdata
from restora.diagnosis import soil

ON = "2024-01-01"
KEYS = ["screening_class1", "screening_class2", "intervention_class1", "intervention_class2"]
CODES = {"Cr(VI)": "Cr6"}  # the standard writes Cr(VI); our pollutant code is Cr6


@pytest.fixture
def rows(gb36600: dict[str, Any]) -> list[dict[str, Any]]:
    return list(gb36600["inorganic"])


def test_table_reproduces_every_reference_value(rows):
    t = refdata.get("soil/gb36600-2018/inorganic", on=ON)
    assert "GB 36600-2018" in t.source and t.unit == "mg/kg"
    ours = {r["pollutant"]: r for r in t.data}
    assert len(rows) == len(ours) == 7
    for row in rows:
        code = CODES.get(row["pollutant"], row["pollutant"])
        assert ours[code]["name"] == row["pollutant"]
        assert [float(ours[code][k]) for k in KEYS] == [float(row[k]) for k in KEYS], code
    # the standard's Cr(VI) class-2 screening value is 5.7, not the 5.0 of some copies
    assert float(ours["Cr6"]["screening_class2"]) == 5.7


def test_classifier_arrays_match_reference(rows):
    vals = soil.load_standard("gb36600", on=ON)
    assert vals.lands == ("1", "2")
    for row in rows:
        m = vals.pollutants.index(CODES.get(row["pollutant"], row["pollutant"]))
        s1, s2, i1, i2 = (float(row[k]) for k in KEYS)
        assert vals.screening[m, :, 0].tolist() == [s1, s2]
        assert vals.intervention[m, :, 0].tolist() == [i1, i2]
    assert not vals.background_applied.any()  # the national background table is empty


def test_every_value_classifies_at_below_and_above(rows):
    """At a threshold the value does not exceed it; just above it does."""
    for row in rows:
        code = CODES.get(row["pollutant"], row["pollutant"])
        s1, s2, i1, i2 = (float(row[k]) for k in KEYS)
        for land, s, i in (("1", s1, i1), ("2", s2, i2)):
            conc = [[s], [np.nextafter(s, np.inf)], [i], [np.nextafter(i, np.inf)]]
            a = soil.classify(conc, [code], [land] * 4, standard="gb36600", on=ON)
            assert a.class_names().tolist() == [
                "priority_protection",
                "safe_utilization",
                "safe_utilization",
                "strict_control",
            ], (code, land)
