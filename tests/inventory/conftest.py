"""Fixtures of the register tests; builders live in ``inventory_fixtures.py`` beside this file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # pytest's importlib mode adds no test folders

from inventory_fixtures import (
    write_gbk_csv,
    write_geojson,
    write_gpkg,
    write_samples_xlsx,
    write_shapefile_zip,
)


@pytest.fixture
def fixture_files(tmp_path: Path) -> dict[str, Any]:
    return {
        "geojson": write_geojson(tmp_path / "sites.geojson"),
        "gpkg": write_gpkg(tmp_path / "sites_4547.gpkg"),
        "shpzip": write_shapefile_zip(tmp_path / "sites_utm.zip"),
        "csv": write_gbk_csv(tmp_path / "sites_gbk.csv"),
        "xlsx": write_samples_xlsx(tmp_path / "samples.xlsx"),
    }


@pytest.fixture
def pg_url(pg_schema_url: str) -> str:
    """A fresh PostgreSQL schema (dropped afterwards; see ``pg_schema_url`` in tests/conftest.py)."""
    return pg_schema_url
