"""Disclosure and public supervision: what is public, and the public's reports or complaints
with their photos and an append-only history.

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
        sa.Column("answer", sa.Text, nullable=True),
        _ts("answered_at", True),
        _ts("due_at"),
        _ts("created_at"),
        sa.Column("client_sha256", sa.String, nullable=False),
        sa.UniqueConstraint("receipt", name="uq_complaints_receipt"),
    )
    for col in ("mine_id", "project_id", "region_code", "status", "client_sha256"):
        op.create_index(f"ix_complaints_{col}", "complaints", [col])
    op.create_table(
        "complaint_photos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("complaint_id", "complaint_photos", "complaints.id", nullable=False),
        sa.Column("content_type", sa.String, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
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
    )
    op.create_index("ix_complaint_events_complaint_id", "complaint_events", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_complaint_events_complaint_id", table_name="complaint_events")
    op.drop_table("complaint_events")
    op.drop_index("ix_complaint_photos_complaint_id", table_name="complaint_photos")
    op.drop_table("complaint_photos")
    for col in ("mine_id", "project_id", "region_code", "status", "client_sha256"):
        op.drop_index(f"ix_complaints_{col}", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_disclosures_subject", table_name="disclosures")
    op.drop_table("disclosures")
