"""The shared soil-standards reference (Markdown) and its table parser, for the reference tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def _md_table(text: str, anchor: str) -> list[list[str]]:
    """Cells of the first Markdown table from the line containing ``anchor`` (header first)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if anchor in line)
    rows: list[list[str]] = []
    for line in lines[start:]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
        elif rows:
            break
    return rows


@pytest.fixture
def md(shared_dir: Path) -> str:
    """Text of ../shared/reference/soil-standards.md."""
    return (shared_dir / "reference" / "soil-standards.md").read_text(encoding="utf-8")


@pytest.fixture
def md_table() -> Callable[[str, str], list[list[str]]]:
    """The Markdown table parser: ``md_table(text, anchor)`` -> rows of cells, header first.

    ``anchor`` is a line before the table (a caption) or the table's header line itself.
    """
    return _md_table
