"""The service on a store holding the demo county: one app per test module, a client per role.

The store is a SQLite file in a temporary folder (or a PostgreSQL schema with ``--pg`` tests),
the demo county imported once per session and copied per module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-county"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding the demo county (imported once per session)."""
    from restora.appraisal.io import read_county
    from restora.store import Store

    path = tmp_path_factory.mktemp("service-store") / "demo.db"
    county = read_county(
        [DEMO / f for f in ("register.gpkg", "soil_samples.csv", "hazards.csv")],
        DEMO / "context.gpkg",
    )
    with Store(f"sqlite:///{path}") as store:
        store.add_register(county.register, source={"files": county.inputs})
    return path


@pytest.fixture(scope="module")
def store_url(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A private copy of the demo store for one test module."""
    copy = tmp_path_factory.mktemp("service-module") / "demo.db"
    shutil.copyfile(demo_db, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="module")
def app(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from restora.service.app import create_app
    from restora.service.settings import Settings

    settings = Settings(
        database_url=store_url,
        secret_key="test-secret-key",
        secret_key_from_env=True,
        data_dir=tmp_path_factory.mktemp("service-data"),
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
