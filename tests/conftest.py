"""Shared fixtures: temporary SQLite and PostgreSQL stores, the test data of ``tests/data``.

Nothing outside the repository is read: published facts and test vectors the tests compare
against live in ``tests/data`` with their sources and licences (``tests/data/README.md``).

PostgreSQL tests (marked ``postgres``, or using ``pg_schema_url``) run when
``RESTORA_TEST_PG_URL`` is set or ``CI`` is true, and then fail if the server cannot be reached;
elsewhere they are skipped with the reason shown in pytest's summary (``-ra``).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
EXAMPLES = ROOT / "examples"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("RESTORA_TEST_PG_URL", "").strip() or DEFAULT_PG_URL
PG_SKIP_REASON = (
    "PostgreSQL tests run when RESTORA_TEST_PG_URL is set or CI is true "
    f"(e.g. RESTORA_TEST_PG_URL={DEFAULT_PG_URL})"
)


def _no_reads_beside_the_repository(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: opening a file of the ``shared`` folder beside the repository fails the test.

    The project stands on its own: what it needs from there is copied into ``tests/data`` or the
    reference tables, with its source. (``.ci/run`` also runs the suite from a copy with nothing
    beside it.)
    """
    if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if path == SHARED or path.startswith(SHARED + os.sep):
        raise RuntimeError(f"{path} is outside the repository; copy what is needed to tests/data")


SHARED = str(ROOT.parent / "shared")
sys.addaudithook(_no_reads_beside_the_repository)


def postgres_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """True if the PostgreSQL tests must run: ``RESTORA_TEST_PG_URL`` set, or ``CI`` true."""
    environ = os.environ if environ is None else environ
    if environ.get("RESTORA_TEST_PG_URL", "").strip():
        return True
    return environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _uses_postgres(item: pytest.Item) -> bool:
    return item.get_closest_marker("postgres") is not None or "pg_schema_url" in getattr(
        item, "fixturenames", ()
    )


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_wanted():
        url = make_url(PG_URL).render_as_string(hide_password=True)
        return f"PostgreSQL tests: run against {url} (they fail if it cannot be reached)"
    return f"PostgreSQL tests: skipped ({PG_SKIP_REASON})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every PostgreSQL test ``postgres``; skip them, with the reason, unless wanted."""
    wanted = postgres_wanted()
    for item in items:
        if not _uses_postgres(item):
            continue
        if item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)
        if not wanted:
            item.add_marker(pytest.mark.skip(reason=PG_SKIP_REASON))


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``: published tables and test vectors, with their sources and licences."""
    return DATA


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
