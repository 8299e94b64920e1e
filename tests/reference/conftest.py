"""The published tables of ``tests/data/reference`` (YAML with their citations), for the
reference tests: each shipped reference table is compared with an independent transcription."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml


def _load(data_dir: Path, name: str) -> Any:
    return yaml.safe_load((data_dir / "reference" / name).read_text(encoding="utf-8"))


@pytest.fixture
def gb15618(data_dir: Path) -> dict[str, Any]:
    """GB 15618-2018, Tables 1 and 3, and its pH bands (tests/data/reference/gb15618-2018.yaml)."""
    return _load(data_dir, "gb15618-2018.yaml")


@pytest.fixture
def gb36600(data_dir: Path) -> dict[str, Any]:
    """GB 36600-2018, Table 1, inorganic items (tests/data/reference/gb36600-2018.yaml)."""
    return _load(data_dir, "gb36600-2018.yaml")


@pytest.fixture
def index_grades(data_dir: Path) -> dict[str, Any]:
    """HJ/T 166-2004 grades of the pollution indices (soil-pollution-indices.yaml)."""
    return _load(data_dir, "soil-pollution-indices.yaml")


@pytest.fixture
def xie2015(data_dir: Path) -> dict[str, Any]:
    """Xie et al. (2015) equivalent factors (xie2015-equivalent-factors.yaml)."""
    return _load(data_dir, "xie2015-equivalent-factors.yaml")
