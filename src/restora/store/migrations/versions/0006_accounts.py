"""Accounts: organisations, users, web sessions and API tokens; the audit trail names the
account and the request of each change (``changes.user_id``, ``changes.request_id``).

Passwords are stored as argon2 hashes, session and API tokens only as their SHA-256.
``sign_in_failures`` keeps the failed sign-ins of the last minutes (a keyed hash of the
username and the client address, never either of them) to slow down password guessing.

The audit trail now also records changes of records that belong to no mine (accounts,
projects, complaints): ``audit.mine_id`` becomes nullable. On SQLite that rebuilds the
``audit`` table, which drops its append-only triggers of revision 0005 with the old table:
they are created again, the same, in the same transaction. ``changes`` gets indexes on
``user_id`` and ``changed_at`` (the audit queries filter by account and date).

Downgrade refuses to run while the audit trail holds such records (revision 0005 has no place
for them and the trail is never edited): export it first (``GET /api/v1/audit/export``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _sqlite_audit_triggers() -> list[str]:
    """Revision 0005's append-only triggers of ``audit`` (written out, as 0005 wrote them)."""
    return [
        f"CREATE TRIGGER audit_append_only_{op_name.lower()} BEFORE {op_name} ON audit "
        "BEGIN SELECT RAISE(ABORT, 'audit is append-only: its rows are never updated or "
        "deleted'); END"
        for op_name in ("UPDATE", "DELETE")
    ]


def _audit_mine_id(nullable: bool) -> None:
    """Make ``audit.mine_id`` nullable or not; on SQLite the table is rebuilt and its triggers
    made again."""
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("audit", recreate="always") as batch:
            batch.alter_column("mine_id", existing_type=sa.String(), nullable=nullable)
        for sql in _sqlite_audit_triggers():
            op.execute(sql)
    else:
        op.alter_column("audit", "mine_id", existing_type=sa.String(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("region_code", sa.String, nullable=True),
        _ts("created_at"),
        sa.UniqueConstraint("name", name="uq_organisations_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String, nullable=False),
        sa.Column("display_name", sa.String, nullable=False),
        sa.Column("password_hash", sa.String, nullable=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", name="fk_users_org_id_organisations"),
            nullable=True,
        ),
        sa.Column("region_code", sa.String, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        _ts("created_at"),
        _ts("last_login_at", True),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_index("ix_users_org_id", "users", ["org_id"])
    for table, extra in (
        ("sessions", [sa.Column("csrf_secret", sa.String, nullable=False)]),
        ("api_tokens", [sa.Column("name", sa.String, nullable=False)]),
    ):
        cols: list[sa.schema.SchemaItem] = [
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("token_sha256", sa.String, nullable=False),
            sa.Column(
                "user_id",
                sa.Integer,
                sa.ForeignKey("users.id", name=f"fk_{table}_user_id_users"),
                nullable=False,
            ),
            *extra,
            _ts("created_at"),
        ]
        if table == "sessions":
            cols += [_ts("expires_at"), _ts("revoked_at", True)]
        else:
            cols += [_ts("expires_at", True), _ts("last_used_at", True), _ts("revoked_at", True)]
        op.create_table(
            table, *cols, sa.UniqueConstraint("token_sha256", name=f"uq_{table}_token_sha256")
        )
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
    # plain ALTER TABLE (not batch mode): SQLite's batch copy would drop the append-only
    # triggers of revision 0005 with the old table
    op.add_column("changes", sa.Column("user_id", sa.Integer, nullable=True))
    op.add_column("changes", sa.Column("request_id", sa.String, nullable=True))
    op.create_index("ix_changes_user_id", "changes", ["user_id"])
    op.create_index("ix_changes_changed_at", "changes", ["changed_at"])
    _audit_mine_id(nullable=True)
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key_sha256", sa.String, nullable=False),
        _ts("at"),
    )
    op.create_index("ix_sign_in_failures_key_sha256", "sign_in_failures", ["key_sha256"])


def downgrade() -> None:
    if not context.is_offline_mode():
        orphans = (
            op.get_bind()
            .execute(sa.text("SELECT count(*) FROM audit WHERE mine_id IS NULL"))
            .scalar_one()
        )
        if orphans:
            raise RuntimeError(
                f"cannot downgrade below 0006: the audit trail holds {orphans} changes of "
                "records that belong to no mine (accounts, projects, complaints), which "
                "revision 0005 has no place for, and the trail is never edited. Export it "
                "first (GET /api/v1/audit/export?format=json)."
            )
    op.drop_index("ix_sign_in_failures_key_sha256", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    _audit_mine_id(nullable=False)
    op.drop_index("ix_changes_changed_at", table_name="changes")
    op.drop_index("ix_changes_user_id", table_name="changes")
    for column in ("request_id", "user_id"):  # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35)
        op.execute(f"ALTER TABLE changes DROP COLUMN {column}")
    for table in ("api_tokens", "sessions"):
        op.drop_index(f"ix_{table}_user_id", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_users_org_id", table_name="users")
    op.drop_table("users")
    op.drop_table("organisations")
