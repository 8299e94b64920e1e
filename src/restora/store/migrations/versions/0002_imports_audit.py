"""The imports audit table; each register row records the import that wrote it.

``imports`` holds one row per :meth:`restora.store.Store.add_register` call: when (UTC), the
source (file names, SHA-256 hashes, options) and the counts written, all in the same transaction
as the rows themselves. ``import_id`` on the register tables points at it (NULL for rows written
before this revision). SQLite cannot add a foreign key or drop a column in place, so the
register tables are altered in batch mode (copy, drop, rename).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGISTER = ("mines", "sites", "samples", "hazards")


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )
    for table in REGISTER:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("import_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_import_id_imports", "imports", ["import_id"], ["id"]
            )
            batch.create_index(f"ix_{table}_import_id", ["import_id"])


def downgrade() -> None:
    for table in reversed(REGISTER):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_import_id")
            batch.drop_constraint(f"fk_{table}_import_id_imports", type_="foreignkey")
            batch.drop_column("import_id")
    op.drop_table("imports")
