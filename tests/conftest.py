"""Shared fixtures: temporary SQLite and PostgreSQL stores, paths to shared reference material."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"
PG_URL = os.environ.get("RESTORA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared is missing (expected at {SHARED}); CI clones it beside the project")
    return SHARED


@pytest.fixture
def pg_schema_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """URL of a fresh PostgreSQL schema, selected through ``search_path``, dropped afterwards.

    The schema is named after the test's folder (``restora_store_test_<hex>``), so tests can run
    beside others on the same server. An unreachable server fails the test, it does not skip it.
    """
    schema = f"restora_{request.path.parent.name}_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL, poolclass=sa.NullPool, connect_args={"connect_timeout": 10})
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


@pytest.fixture
def user_refdata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of user reference tables (``RESTORA_REFDATA_PATH``), empty at first.

    The catalogue is reloaded on entry, so tables written here before the test reads reference
    data are seen; on exit the variable is removed and the shipped tables are reloaded.
    """
    from restora import refdata

    tables = tmp_path / "tables"
    tables.mkdir()
    monkeypatch.setenv("RESTORA_REFDATA_PATH", str(tables))
    refdata.reload()
    yield tables
    monkeypatch.delenv("RESTORA_REFDATA_PATH")
    refdata.reload()


def _register_frame(name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A register table from row dicts: its columns, numbers as float / Int64 / boolean."""
    from restora.inventory.model import Register
    from restora.inventory.schema import TABLES

    empty = getattr(Register.empty(), name)
    out = pd.DataFrame([{c: r.get(c) for c in empty.columns} for r in rows], columns=empty.columns)
    kinds = {c.name: c.kind for c in TABLES[name]}
    for col in out.columns:
        k = kinds.get(col)
        if k == "float" or col == "area_hm2":
            out[col] = pd.to_numeric(out[col]).astype(float)
        elif k == "int":
            out[col] = out[col].astype("Int64")
        elif k == "bool":
            out[col] = out[col].astype("boolean")
    return out


@pytest.fixture
def register_frame() -> Callable[[str, list[dict[str, Any]]], pd.DataFrame]:
    """``register_frame(table_name, rows)``: a register table (mines, sites, …) built in code."""
    return _register_frame
