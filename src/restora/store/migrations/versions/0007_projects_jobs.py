"""Projects, their appraisals (versioned, with the inputs' hash) and the background jobs.

An appraisal's ``(project_id, inputs_sha256)`` is unique: the same inputs never make a second
version. A job records which queue carries it (``backend``), the process running its latest
attempt (``worker``) and that process's last sign of life (``heartbeat_at``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user(name: str, table: str) -> sa.Column:
    return sa.Column(
        name,
        sa.Integer,
        sa.ForeignKey("users.id", name=f"fk_{table}_{name}_users"),
        nullable=True,
    )


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("project_id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("name_en", sa.String, nullable=True),
        sa.Column("region_code", sa.String, nullable=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column(
            "owner_org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", name="fk_projects_owner_org_id_organisations"),
            nullable=True,
        ),
        _user("created_by", "projects"),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("published", sa.Boolean, nullable=False),
        _ts("deleted_at", True),
    )
    op.create_index("ix_projects_region_code", "projects", ["region_code"])
    op.create_index("ix_projects_owner_org_id", "projects", ["owner_org_id"])
    op.create_table(
        "appraisals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.String,
            sa.ForeignKey("projects.project_id", name="fk_appraisals_project_id_projects"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("inputs_sha256", sa.String, nullable=False),
        sa.Column("on_date", sa.String, nullable=False),
        _ts("created_at"),
        _user("created_by", "appraisals"),
        sa.Column("job_id", sa.String, nullable=True),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.UniqueConstraint("project_id", "version", name="uq_appraisals_project_id_version"),
        sa.UniqueConstraint(
            "project_id", "inputs_sha256", name="uq_appraisals_project_id_inputs_sha256"
        ),
    )
    op.create_index("ix_appraisals_project_id", "appraisals", ["project_id"])
    op.create_index("ix_appraisals_inputs_sha256", "appraisals", ["inputs_sha256"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String, nullable=True),
        sa.Column("backend", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("stage", sa.String, nullable=True),
        sa.Column("message", sa.String, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("worker", sa.String, nullable=True),
        _user("created_by", "jobs"),
        _ts("created_at"),
        _ts("started_at", True),
        _ts("heartbeat_at", True),
        _ts("finished_at", True),
        sa.UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),
    )
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_created_by", "jobs", ["created_by"])


def downgrade() -> None:
    op.drop_index("ix_jobs_created_by", table_name="jobs")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_appraisals_inputs_sha256", table_name="appraisals")
    op.drop_index("ix_appraisals_project_id", table_name="appraisals")
    op.drop_table("appraisals")
    op.drop_index("ix_projects_owner_org_id", table_name="projects")
    op.drop_index("ix_projects_region_code", table_name="projects")
    op.drop_table("projects")
