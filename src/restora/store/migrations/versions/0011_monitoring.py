"""Monitoring and verification: sensors, readings, quarantine, campaigns, alert rules, alerts and
their lifecycle, notification hooks and deliveries, remote-sensing results, milestones,
sign-offs, bond tranche releases, integrity obligations and scores (docs/monitoring.md).

Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of ``monitoring_alert_events``,
``monitoring_signoffs`` and ``finance_tranche_releases``, with the function of revision 0005
there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
APPEND_ONLY = ("monitoring_alert_events", "monitoring_signoffs", "finance_tranche_releases")
TABLES = (
    "monitoring_sensors",
    "monitoring_campaigns",
    "monitoring_readings",
    "monitoring_quarantine",
    "monitoring_rules",
    "monitoring_alerts",
    "monitoring_alert_events",
    "monitoring_hooks",
    "monitoring_deliveries",
    "monitoring_rs_results",
    "monitoring_milestones",
    "monitoring_signoffs",
    "finance_tranche_releases",
    "integrity_obligations",
    "integrity_scores",
)
PG_FUNCTION = "restora_append_only"  # created by revision 0005
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "finance_tranche_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("instrument", sa.String(), nullable=False),
        sa.Column("tranche", sa.String(), nullable=False),
        sa.Column("indicator", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("tier", sa.String(), nullable=True),
        sa.Column("principal_fraction", sa.Float(), nullable=False),
        sa.Column("amount_cny", sa.Float(), nullable=False),
        sa.Column("signoff_id", sa.Integer(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_tranche_releases")),
        sa.UniqueConstraint(
            "project_id", "instrument", "tranche", name="uq_finance_tranche_releases_tranche"
        ),
    )
    op.create_index(
        op.f("ix_finance_tranche_releases_project_id"),
        "finance_tranche_releases",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "integrity_obligations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("ref", sa.String(), nullable=True),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.Column("project_id", sa.String(), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("done_amount", sa.Float(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_obligations")),
    )
    op.create_index(
        op.f("ix_integrity_obligations_org_id"), "integrity_obligations", ["org_id"], unique=False
    )
    op.create_table(
        "integrity_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("rules", sa.String(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_scores")),
    )
    op.create_index(
        op.f("ix_integrity_scores_org_id"), "integrity_scores", ["org_id"], unique=False
    )
    op.create_table(
        "monitoring_alert_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("by", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alert_events")),
    )
    op.create_index(
        op.f("ix_monitoring_alert_events_alert_id"),
        "monitoring_alert_events",
        ["alert_id"],
        unique=False,
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("sensor_id", sa.String(), nullable=True),
        sa.Column("indicator", sa.String(), nullable=True),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column(
            "reading_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
    )
    op.create_index(
        op.f("ix_monitoring_alerts_mine_id"), "monitoring_alerts", ["mine_id"], unique=False
    )
    op.create_index(
        op.f("ix_monitoring_alerts_sensor_id"), "monitoring_alerts", ["sensor_id"], unique=False
    )
    op.create_index(
        op.f("ix_monitoring_alerts_state"), "monitoring_alerts", ["state"], unique=False
    )
    op.create_table(
        "monitoring_campaigns",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(), nullable=True),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_campaigns")),
    )
    op.create_index(
        op.f("ix_monitoring_campaigns_mine_id"), "monitoring_campaigns", ["mine_id"], unique=False
    )
    op.create_table(
        "monitoring_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hook_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_deliveries")),
    )
    op.create_index(
        op.f("ix_monitoring_deliveries_hook_id"), "monitoring_deliveries", ["hook_id"], unique=False
    )
    op.create_index(
        op.f("ix_monitoring_deliveries_status"), "monitoring_deliveries", ["status"], unique=False
    )
    op.create_table(
        "monitoring_hooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.Column("secret", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_hooks")),
    )
    op.create_table(
        "monitoring_milestones",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("indicator", sa.String(), nullable=False),
        sa.Column("comparison", sa.String(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("tranche", sa.String(), nullable=True),
        sa.Column("credits", sa.JSON(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_milestones")),
    )
    op.create_index(
        op.f("ix_monitoring_milestones_project_id"),
        "monitoring_milestones",
        ["project_id"],
        unique=False,
    )
    op.create_table(
        "monitoring_quarantine",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("origin", sa.String(), nullable=True),
        sa.Column("row", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_quarantine")),
    )
    op.create_index(
        op.f("ix_monitoring_quarantine_mine_id"), "monitoring_quarantine", ["mine_id"], unique=False
    )
    op.create_table(
        "monitoring_readings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sensor_id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("indicator", sa.String(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("campaign_id", sa.String(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attrs", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_readings")),
        sa.UniqueConstraint(
            "sensor_id", "indicator", "measured_at", name="uq_monitoring_readings_measurement"
        ),
    )
    op.create_index(
        "ix_monitoring_readings_mine",
        "monitoring_readings",
        ["mine_id", "indicator", "measured_at"],
        unique=False,
    )
    op.create_table(
        "monitoring_rs_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=False),
        sa.Column("file_name", sa.String(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rs_results")),
    )
    op.create_index(
        op.f("ix_monitoring_rs_results_mine_id"), "monitoring_rs_results", ["mine_id"], unique=False
    )
    op.create_table(
        "monitoring_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("indicator", sa.String(), nullable=True),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=True),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("sensor_id", sa.String(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rules")),
    )
    op.create_index(
        op.f("ix_monitoring_rules_mine_id"), "monitoring_rules", ["mine_id"], unique=False
    )
    op.create_table(
        "monitoring_sensors",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("mine_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.String(), nullable=True),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("expected_interval_s", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_sensors")),
    )
    op.create_index(
        op.f("ix_monitoring_sensors_mine_id"), "monitoring_sensors", ["mine_id"], unique=False
    )
    op.create_table(
        "monitoring_signoffs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("milestone_id", sa.String(), nullable=False),
        sa.Column("project_id", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("report_sha256", sa.String(), nullable=False),
        sa.Column("evaluator", sa.String(), nullable=False),
        sa.Column("evaluator_org_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("verification_id", sa.String(), nullable=True),
        sa.Column("issued", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_signoffs")),
    )
    op.create_index(
        op.f("ix_monitoring_signoffs_milestone_id"),
        "monitoring_signoffs",
        ["milestone_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_monitoring_signoffs_project_id"),
        "monitoring_signoffs",
        ["project_id"],
        unique=False,
    )

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
    for table in reversed(TABLES):
        op.drop_table(table)
