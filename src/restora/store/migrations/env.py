"""Alembic environment for the Restora store.

Run by :mod:`restora.store.migrate` (which hands over an open connection) or by
``alembic -c src/restora/store/alembic.ini ...`` (which connects to ``RESTORA_DATABASE_URL``,
else ``sqlalchemy.url`` of the ini file, else the embedded default). SQLite tables are altered in
batch mode (copy, drop, rename), since SQLite's ALTER TABLE cannot drop constraints.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from restora.store.engine import ENV_URL, create_engine, default_url
from restora.store.tables import metadata

config = context.config


def _url() -> str:
    return (
        os.environ.get(ENV_URL, "").strip()
        or config.get_main_option("sqlalchemy.url")
        or default_url()
    )


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), foreign_keys=False, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
