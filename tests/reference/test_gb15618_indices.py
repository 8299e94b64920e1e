"""Index grade tables reproduce the grades of ../shared/reference/soil-standards.md."""

from __future__ import annotations

import re

import numpy as np

from restora.diagnosis import soil


def md_grades(md: str, start: str) -> list[tuple[str, float | None]]:
    """(grade name, inclusive upper bound or None) from a bullet such as
    "- Nemerow ...: ≤ 0.7 clean (清洁); 0.7–1 warning (警戒线); 1–2 light; 2–3 moderate; > 3 heavy."
    (the bullet may continue on indented lines)."""
    lines = md.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(start))
    text = lines[i]
    for cont in lines[i + 1 :]:
        if not cont.startswith("  "):
            break
        text += " " + cont.strip()
    grades = text.rsplit(":", 1)[1].strip().rstrip(".")
    out: list[tuple[str, float | None]] = []
    for seg in grades.split(";"):
        seg = seg.strip()
        name = re.search(r"[a-z]+", seg).group(0)
        if m := re.match(r"≤\s*([\d.]+)", seg):
            out.append((name, float(m.group(1))))
        elif m := re.match(r"([\d.]+)\s*–\s*([\d.]+)", seg):
            out.append((name, float(m.group(2))))
        elif re.match(r">\s*[\d.]+", seg):
            out.append((name, None))
        else:
            raise AssertionError(f"cannot read grade {seg!r}")
    return out


def test_nemerow_grades_match_reference(md):
    expected = md_grades(md, "- Nemerow integrated index")
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


def test_single_factor_grades_match_reference(md):
    expected = md_grades(md, "- Single-factor index")
    assert expected == [("unpolluted", 1.0), ("light", 2.0), ("moderate", 3.0), ("heavy", None)]
    scale = soil.load_grades(soil.SINGLE_GRADES_TABLE, on="2024-01-01")
    assert list(scale.names) == [g for g, _ in expected]
    assert scale.upper.tolist() == [u for _, u in expected if u is not None]
    assert scale.grade([1.0, np.nextafter(1.0, 2), 2.0, 3.0, 3.5]).tolist() == [0, 1, 1, 2, 3]
