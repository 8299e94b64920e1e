"""Disclosure and public supervision: what is public, and the public's reports or complaints
with their photos and an append-only history.

- ``disclosures``: one row per act of disclosure of a mine or project (``subject``,
  ``subject_id``) naming which of its field groups are public (``fields``); withdrawing sets
  ``withdrawn_at`` / ``withdrawn_by``, and changing the fields withdraws the row and adds a new
  one, so the history of what was public when is kept.
- ``complaints``: a public report, followed by its ``receipt`` number: received → assigned →
  answered → closed, with its deadline ``due_at`` (and an extension's reason), who answered and
  when, ``client_sha256`` (a keyed hash of the client's address, for the rate limit; never the
  address) and ``token_sha256`` (the SHA-256 of the anti-spam form token or proof-of-work
  challenge it was filed with: each is good for one complaint).
- ``complaint_photos``: the photos as stored (re-encoded without metadata) under the data folder.
- ``complaint_events``: the complaint's history (filed, assigned, answered, extended, closed),
  who and when; append-only: triggers refuse any UPDATE or DELETE of its rows (and TRUNCATE on
  PostgreSQL), with the function of revision 0005 there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
APPEND_ONLY = ("complaint_events",)
PG_FUNCTION = "restora_append_only"  # created by revision 0005


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(name: str, table: str, target: str, nullable: bool = True) -> sa.Column:
    ref = target.split(".")[0]
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey(target, name=f"fk_{table}_{name}_{ref}"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("subject_id", sa.String, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        _fk("disclosed_by", "disclosures", "users.id"),
        _ts("disclosed_at"),
        _ts("withdrawn_at", True),
        _fk("withdrawn_by", "disclosures", "users.id"),
    )
    op.create_index("ix_disclosures_subject", "disclosures", ["subject", "subject_id"])
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("receipt", sa.String, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("lon", sa.Double, nullable=True),
        sa.Column("lat", sa.Double, nullable=True),
        sa.Column("mine_id", sa.String, nullable=True),
        sa.Column("project_id", sa.String, nullable=True),
        sa.Column("region_code", sa.String, nullable=True),
        sa.Column("status", sa.String, nullable=False),
        _fk("assigned_org_id", "complaints", "organisations.id"),
        _fk("assigned_user_id", "complaints", "users.id"),
        _ts("assigned_at", True),
        sa.Column("answer", sa.Text, nullable=True),
        _ts("answered_at", True),
        _fk("answered_by", "complaints", "users.id"),
        _ts("due_at"),
        sa.Column("extension_reason", sa.Text, nullable=True),
        _ts("closed_at", True),
        _ts("created_at"),
        sa.Column("client_sha256", sa.String, nullable=False),
        sa.Column("token_sha256", sa.String, nullable=True),
        sa.UniqueConstraint("receipt", name="uq_complaints_receipt"),
        sa.UniqueConstraint("token_sha256", name="uq_complaints_token_sha256"),
    )
    for col in ("mine_id", "project_id", "region_code", "status", "client_sha256"):
        op.create_index(f"ix_complaints_{col}", "complaints", [col])
    op.create_table(
        "complaint_photos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("complaint_id", "complaint_photos", "complaints.id", nullable=False),
        sa.Column("content_type", sa.String, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String, nullable=False),
        sa.Column("path", sa.String, nullable=False),
    )
    op.create_index("ix_complaint_photos_complaint_id", "complaint_photos", ["complaint_id"])
    op.create_table(
        "complaint_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("complaint_id", "complaint_events", "complaints.id", nullable=False),
        _ts("at"),
        sa.Column("action", sa.String, nullable=False),
        _fk("user_id", "complaint_events", "users.id"),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("details", sa.JSON, nullable=True),
    )
    op.create_index("ix_complaint_events_complaint_id", "complaint_events", ["complaint_id"])
    dialect = op.get_context().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
            )
        else:
            for op_name in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_append_only_{op_name.lower()} BEFORE {op_name} "
                    f"ON {table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: its rows "
                    "are never updated or deleted'); END"
                )


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only_truncate ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_append_only_update")
            op.execute(f"DROP TRIGGER {table}_append_only_delete")
    op.drop_index("ix_complaint_events_complaint_id", table_name="complaint_events")
    op.drop_table("complaint_events")
    op.drop_index("ix_complaint_photos_complaint_id", table_name="complaint_photos")
    op.drop_table("complaint_photos")
    for col in ("mine_id", "project_id", "region_code", "status", "client_sha256"):
        op.drop_index(f"ix_complaints_{col}", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_disclosures_subject", table_name="disclosures")
    op.drop_table("disclosures")
