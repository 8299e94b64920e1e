"""The project library, finance supply and the market flow (issue 14).

- ``listings``: a project's need published to the library from one stored appraisal version
  (``appraisal_id``, ``appraisal_version``, ``inputs_sha256``), with the figures extracted
  from that document (``figures``, restora.matching.library), the need (amount, timing,
  instrument, tenor, stage, collateral) and the market's settings (claim window, how many
  claims see the full appraisal, the answer deadline). ``version`` counts per project: a new
  appraisal published makes a new listing version and supersedes the open one.
- ``products``: a provider organisation's finance product: capacity, tickets, tenor range,
  price, requirements and preferences.
- ``claims``: a provider's claim of a listing with one of its products; ``seq`` its place in
  the order of claims (the first N see the full appraisal: ``access``); the owner's choice
  (``chosen_at``, ``answer_due_at``) and the provider's answer (``answer``, ``terms``).
  A claim lapses when ``answer_due_at`` passes unanswered: computed on read, never stored.
- ``market_events``: every step of a listing (published, notified, claimed, chosen, answered,
  withdrawn, superseded), who and when; append-only.
- ``notifications``: an organisation's inbox (a listing its products are eligible for, a claim
  of its listing, its claim chosen, an answer); append-only.

Triggers refuse UPDATE and DELETE of ``market_events`` and ``notifications`` rows (and TRUNCATE
on PostgreSQL), with the function of revision 0005 there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
APPEND_ONLY = ("market_events", "notifications")
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
        "listings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "project_id",
            sa.String,
            sa.ForeignKey("projects.project_id", name="fk_listings_project_id_projects"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        _fk("appraisal_id", "listings", "appraisals.id", nullable=False),
        sa.Column("appraisal_version", sa.Integer, nullable=False),
        sa.Column("inputs_sha256", sa.String, nullable=False),
        sa.Column("figures", sa.JSON, nullable=False),
        sa.Column("amount_cny", sa.Double, nullable=False),
        sa.Column("needed_by", sa.String, nullable=True),
        sa.Column("schedule", sa.JSON, nullable=False),
        sa.Column("instrument", sa.String, nullable=False),
        sa.Column("tenor_years", sa.Double, nullable=True),
        sa.Column("stage", sa.String, nullable=False),
        sa.Column("collateral", sa.JSON, nullable=False),
        sa.Column("region_code", sa.String, nullable=True),
        sa.Column("mineral", sa.String, nullable=True),
        sa.Column("mode", sa.String, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("claim_window_hours", sa.Integer, nullable=False),
        sa.Column("access_claims", sa.Integer, nullable=False),
        sa.Column("answer_hours", sa.Integer, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        _fk("owner_org_id", "listings", "organisations.id"),
        _fk("created_by", "listings", "users.id"),
        _ts("created_at"),
        _ts("closes_at"),
        _ts("ended_at", True),
        sa.UniqueConstraint("project_id", "version", name="uq_listings_project_id_version"),
    )
    for col in ("project_id", "region_code", "owner_org_id", "status"):
        op.create_index(f"ix_listings_{col}", "listings", [col])
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("org_id", "products", "organisations.id", nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("instrument", sa.String, nullable=False),
        sa.Column("capacity_cny", sa.Double, nullable=False),
        sa.Column("ticket_min_cny", sa.Double, nullable=False),
        sa.Column("ticket_max_cny", sa.Double, nullable=False),
        sa.Column("tenor_min_years", sa.Double, nullable=True),
        sa.Column("tenor_max_years", sa.Double, nullable=True),
        sa.Column("rate", sa.Double, nullable=True),
        sa.Column("fee_rate", sa.Double, nullable=True),
        sa.Column("premium_rate", sa.Double, nullable=True),
        sa.Column("requirements", sa.JSON, nullable=False),
        sa.Column("preferences", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _fk("created_by", "products", "users.id"),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_products_org_id", "products", ["org_id"])
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("listing_id", "claims", "listings.id", nullable=False),
        _fk("product_id", "claims", "products.id", nullable=False),
        _fk("org_id", "claims", "organisations.id", nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("access", sa.Boolean, nullable=False),
        sa.Column("amount_cny", sa.Double, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        _fk("claimed_by", "claims", "users.id"),
        _ts("claimed_at"),
        _fk("chosen_by", "claims", "users.id"),
        _ts("chosen_at", True),
        _ts("answer_due_at", True),
        sa.Column("answer", sa.String, nullable=True),
        sa.Column("terms", sa.JSON, nullable=True),
        _fk("answered_by", "claims", "users.id"),
        _ts("answered_at", True),
        sa.UniqueConstraint("listing_id", "org_id", name="uq_claims_listing_id_org_id"),
        sa.UniqueConstraint("listing_id", "seq", name="uq_claims_listing_id_seq"),
    )
    for col in ("listing_id", "org_id"):
        op.create_index(f"ix_claims_{col}", "claims", [col])
    op.create_table(
        "market_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("listing_id", "market_events", "listings.id", nullable=False),
        _fk("claim_id", "market_events", "claims.id"),
        _ts("at"),
        sa.Column("action", sa.String, nullable=False),
        _fk("user_id", "market_events", "users.id"),
        _fk("org_id", "market_events", "organisations.id"),
        sa.Column("details", sa.JSON, nullable=True),
    )
    op.create_index("ix_market_events_listing_id", "market_events", ["listing_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _fk("org_id", "notifications", "organisations.id", nullable=False),
        _fk("listing_id", "notifications", "listings.id", nullable=False),
        _fk("claim_id", "notifications", "claims.id"),
        _fk("product_id", "notifications", "products.id"),
        sa.Column("kind", sa.String, nullable=False),
        _ts("at"),
        sa.Column("details", sa.JSON, nullable=True),
    )
    op.create_index("ix_notifications_org_id", "notifications", ["org_id"])
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
    op.drop_index("ix_notifications_org_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_market_events_listing_id", table_name="market_events")
    op.drop_table("market_events")
    for col in ("listing_id", "org_id"):
        op.drop_index(f"ix_claims_{col}", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_products_org_id", table_name="products")
    op.drop_table("products")
    for col in ("project_id", "region_code", "owner_org_id", "status"):
        op.drop_index(f"ix_listings_{col}", table_name="listings")
    op.drop_table("listings")
