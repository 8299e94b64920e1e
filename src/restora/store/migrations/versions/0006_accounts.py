"""Accounts: organisations, users, web sessions and API tokens; the audit trail names the
account and the request of each change (``changes.user_id``, ``changes.request_id``).

Passwords are stored as argon2 hashes, session and API tokens only as their SHA-256.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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


def downgrade() -> None:
    for column in ("request_id", "user_id"):  # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35)
        op.execute(f"ALTER TABLE changes DROP COLUMN {column}")
    for table in ("api_tokens", "sessions"):
        op.drop_index(f"ix_{table}_user_id", table_name=table)
        op.drop_table(table)
    op.drop_index("ix_users_org_id", table_name="users")
    op.drop_table("users")
    op.drop_table("organisations")
