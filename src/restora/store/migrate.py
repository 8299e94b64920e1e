"""Alembic migrations, run from Python (the package ships its ``migrations`` folder).

``alembic -c src/restora/store/alembic.ini <command>`` runs the same scripts from a shell.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from restora.store.engine import begin_write, create_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config for the packaged migrations; runs on ``connection`` if given."""
    cfg = Config()
    # ConfigParser interpolates '%', so a path containing one must be escaped.
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory() -> ScriptDirectory:
    """The packaged migration scripts."""
    return ScriptDirectory.from_config(alembic_config())


def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the packaged migrations."""
    return tuple(script_directory().get_heads())


def known_revisions() -> set[str]:
    """Every revision of the packaged migrations."""
    return {script.revision for script in script_directory().walk_revisions()}


def current_revisions(connection: sa.Connection) -> tuple[str, ...]:
    """The revision(s) the database is at (empty for a database never migrated). Read only."""
    return tuple(MigrationContext.configure(connection).get_current_heads())


def run_on(connection: sa.Connection, action: str, revision: str) -> None:
    """Run ``alembic <action> <revision>`` (upgrade or downgrade) on an open connection."""
    getattr(command, action)(alembic_config(connection), revision)


def _run(url: str | sa.URL, action: str, revision: str) -> None:
    engine = create_engine(url, foreign_keys=False, poolclass=sa.NullPool)
    try:
        # one migration at a time: a second process waits, then finds the database migrated
        with begin_write(engine) as connection:
            run_on(connection, action, revision)
    finally:
        engine.dispose()


def upgrade(url: str | sa.URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``, in one transaction."""
    _run(url, "upgrade", revision)


def downgrade(url: str | sa.URL, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``"base"`` drops every table)."""
    _run(url, "downgrade", revision)
