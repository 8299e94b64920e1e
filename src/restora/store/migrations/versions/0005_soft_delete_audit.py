"""Soft delete and the audit trail: the register can be kept up to date and every change traced.

- ``changes``: one row per change of the register (one transaction): ``changed_at`` (UTC),
  ``user_name``, ``command``, ``files`` (JSON list of ``{"path", "sha256"}``), ``options``
  (JSON) and ``import_id`` (the ``imports`` row of an import).
- ``audit``: one row per record changed: ``change_id``, ``table_name``, ``record_id``,
  ``mine_id``, ``action`` (insert, update, delete, restore, purge), ``before`` and ``after``
  (JSON objects of the changed fields).
- ``deleted_at``, ``deleted_by``, ``deleted_reason``, ``deleted_change_id`` on ``mines``,
  ``sites``, ``samples`` and ``hazards``: a soft-deleted record keeps its row; NULL
  ``deleted_at`` is a live record (every row written before this revision is live).
- ``imports``, ``changes`` and ``audit`` are append-only: triggers refuse any UPDATE or DELETE
  of their rows (and TRUNCATE on PostgreSQL), whatever program sends it.

Downgrade drops the audit trail (revision 0004 has no place for it; export it first with
``restora mines history --format json``) and the soft-delete columns. It refuses to run while
any record is soft-deleted, since dropping the marks would bring deleted records back as live:
restore them (``restora mines restore ID``) or purge them (``Store.purge_mines``) first.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
REGISTER = ("mines", "sites", "samples", "hazards")
APPEND_ONLY = ("imports", "changes", "audit")
PG_FUNCTION = "restora_append_only"


def _sqlite_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only_{op_name.lower()} BEFORE {op_name} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: its rows are never updated or "
        "deleted'); END"
        for op_name in ("UPDATE", "DELETE")
    ]


def _pg_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
        f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
    ]


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("command", sa.String(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["import_id"], ["imports.id"], name="fk_changes_import_id_imports"),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["change_id"], ["changes.id"], name="fk_audit_change_id_changes"),
        sa.PrimaryKeyConstraint("id", name="pk_audit"),
    )
    op.create_index("ix_audit_change_id", "audit", ["change_id"])
    op.create_index("ix_audit_mine_id", "audit", ["mine_id"])
    op.create_index("ix_audit_table_name_record_id", "audit", ["table_name", "record_id"])
    for table in REGISTER:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("deleted_by", sa.String(), nullable=True))
            batch.add_column(sa.Column("deleted_reason", sa.String(), nullable=True))
            batch.add_column(sa.Column("deleted_change_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_deleted_change_id_changes", "changes", ["deleted_change_id"], ["id"]
            )
            batch.create_index(f"ix_{table}_deleted_change_id", ["deleted_change_id"])
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        op.execute(
            f"CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION '% is append-only: its rows are never updated or deleted (% "
            "refused)', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation'; END $$"
        )
    for table in APPEND_ONLY:
        for sql in _pg_triggers(table) if dialect == "postgresql" else _sqlite_triggers(table):
            op.execute(sql)


def downgrade() -> None:
    if not context.is_offline_mode():
        conn = op.get_bind()
        deleted = {
            table: conn.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE deleted_at IS NOT NULL")
            ).scalar_one()
            for table in REGISTER
        }
        if any(deleted.values()):
            counts = ", ".join(f"{n} {table}" for table, n in deleted.items() if n)
            raise RuntimeError(
                f"cannot downgrade below 0005 while records are soft-deleted ({counts}): "
                "without the deletion marks they would come back as live records. Restore "
                "them (restora mines restore ID) or purge them (Store.purge_mines) first."
            )
    dialect = op.get_context().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_append_only_update")
            op.execute(f"DROP TRIGGER {table}_append_only_delete")
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION {PG_FUNCTION}()")
    for table in reversed(REGISTER):
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_deleted_change_id")
            batch.drop_constraint(f"fk_{table}_deleted_change_id_changes", type_="foreignkey")
            batch.drop_column("deleted_change_id")
            batch.drop_column("deleted_reason")
            batch.drop_column("deleted_by")
            batch.drop_column("deleted_at")
    op.drop_index("ix_audit_table_name_record_id", table_name="audit")
    op.drop_index("ix_audit_mine_id", table_name="audit")
    op.drop_index("ix_audit_change_id", table_name="audit")
    op.drop_table("audit")
    op.drop_table("changes")
