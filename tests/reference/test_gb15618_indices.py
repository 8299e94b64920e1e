"""Index grade tables reproduce the grades of HJ/T 166-2004, 11.2 (土壤污染分级).

The independent source is tests/data/reference/soil-pollution-indices.yaml.
"""

from __future__ import annotations

import numpy as np

from restora.diagnosis import soil


def _grades(rows: list[dict]) -> list[tuple[str, float | None]]:
    return [(r["grade"], r["upper_inclusive"]) for r in rows]


def test_nemerow_grades_match_reference(index_grades):
    expected = _grades(index_grades["nemerow"])
    assert expected == [
        ("clean", 0.7),
        ("warning", 1.0),
        ("light", 2.0),
        ("moderate", 3.0),
        ("heavy", None),
    ]
    scale = soil.load_grades(soil.NEMEROW_GRADES_TABLE, on="2024-01-01")
    assert list(scale.names) == [g for g, _ in expected]
    assert scale.upper.tolist() == [u for _, u in expected if u is not None]
    # upper bounds inclusive: 0.7 is clean, just above is warning; 3 is moderate, above heavy
    p = [0.0, 0.7, np.nextafter(0.7, 1), 1.0, 1.5, 2.0, 3.0, np.nextafter(3.0, 4), 50.0, np.nan]
    assert scale.grade(p).tolist() == [0, 0, 1, 1, 2, 2, 3, 4, 4, -1]


def test_single_factor_grades_match_reference(index_grades):
    expected = _grades(index_grades["single_factor"])
    assert expected == [("unpolluted", 1.0), ("light", 2.0), ("moderate", 3.0), ("heavy", None)]
    scale = soil.load_grades(soil.SINGLE_GRADES_TABLE, on="2024-01-01")
    assert list(scale.names) == [g for g, _ in expected]
    assert scale.upper.tolist() == [u for _, u in expected if u is not None]
    assert scale.grade([1.0, np.nextafter(1.0, 2), 2.0, 3.0, 3.5]).tolist() == [0, 1, 1, 2, 3]
