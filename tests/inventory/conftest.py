"""Fixtures of the register tests; builders live in ``inventory_fixtures.py`` beside this file."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

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


PG_URL = os.environ.get("RESTORA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards)."""
    schema = f"restora_inventory_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_URL} is unreachable (set RESTORA_TEST_PG_URL): {exc}")
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
