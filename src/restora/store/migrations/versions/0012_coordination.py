"""The coordination record: joint meetings of natural-resources departments and financial
institutions with their follow-ups, community consultations and hearings on projects
(docs/evaluation.md "The coordination record").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
TABLES = ("coordination_meetings", "coordination_followups", "coordination_consultations")


def upgrade() -> None:
    op.create_table(
        "coordination_meetings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("place", sa.String(), nullable=True),
        sa.Column("convener", sa.String(), nullable=False),
        sa.Column("region_code", sa.String(), nullable=True),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("decisions", sa.JSON(), nullable=False),
        sa.Column("projects", sa.JSON(), nullable=False),
        sa.Column("mines", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordination_meetings")),
    )
    op.create_index(op.f("ix_coordination_meetings_held_on"), "coordination_meetings", ["held_on"])
    op.create_index(
        op.f("ix_coordination_meetings_region_code"), "coordination_meetings", ["region_code"]
    )
    op.create_table(
        "coordination_followups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("owner_organisation", sa.String(), nullable=False),
        sa.Column("owner_person", sa.String(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["coordination_meetings.id"],
            name=op.f("fk_coordination_followups_meeting_id_coordination_meetings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordination_followups")),
        sa.UniqueConstraint("meeting_id", "seq", name="uq_coordination_followups_seq"),
    )
    op.create_index(
        op.f("ix_coordination_followups_meeting_id"), "coordination_followups", ["meeting_id"]
    )
    op.create_index(op.f("ix_coordination_followups_due_on"), "coordination_followups", ["due_on"])
    op.create_table(
        "coordination_consultations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("place", sa.String(), nullable=True),
        sa.Column("organiser", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.Column("region_code", sa.String(), nullable=True),
        sa.Column("notice", sa.JSON(), nullable=False),
        sa.Column("attendance", sa.JSON(), nullable=False),
        sa.Column("opinions", sa.JSON(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordination_consultations")),
    )
    for column in ("held_on", "project_id", "region_code"):
        op.create_index(
            op.f(f"ix_coordination_consultations_{column}"),
            "coordination_consultations",
            [column],
        )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
