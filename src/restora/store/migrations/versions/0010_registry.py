"""The registry of credits and quotas: accounts, serial blocks, the event log and its Merkle tree.

- state: ``registry_accounts``, ``registry_policies``, ``registry_verifications``,
  ``registry_serials``, ``registry_blocks`` (unique per unit type and first serial);
- the log, append-only: ``registry_events`` (canonical bytes of each event), ``registry_leaves``
  (leaf index → event, leaf hash), ``registry_nodes`` (complete subtree hashes),
  ``registry_tree_heads`` (signed), ``registry_keys`` (public keys);
- queues: ``registry_pending`` (events not yet sequenced), ``registry_requests`` (idempotency);
- money and offsets: ``registry_cash``, ``registry_obligations``;
- venues and earth and stone: ``registry_auctions``, ``registry_bids``, ``registry_orders``,
  ``registry_books``, ``registry_trades``, ``registry_surplus``, ``registry_weighbridge``.

Triggers refuse UPDATE and DELETE of the log's rows (and TRUNCATE on PostgreSQL), with the
function of revision 0005 there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported (a migration must keep doing what it did the day it was
# written).
APPEND_ONLY = (
    "registry_events",
    "registry_leaves",
    "registry_nodes",
    "registry_tree_heads",
    "registry_keys",
)
PG_FUNCTION = "restora_append_only"  # created by revision 0005
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "registry_accounts",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("organisations.id", name="fk_registry_accounts_org_id_organisations"),
            nullable=True,
        ),
        sa.Column("region_code", sa.String, nullable=True),
        sa.Column("mine_id", sa.String, nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_registry_accounts_org_id", "registry_accounts", ["org_id"])
    op.create_table(
        "registry_policies",
        sa.Column("unit_type", sa.String, primary_key=True),
        sa.Column("policy", sa.JSON, nullable=False),
    )
    op.create_table(
        "registry_verifications",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("unit_type", sa.String, nullable=False),
        sa.Column("project_id", sa.String, nullable=False),
        sa.Column("vintage", sa.Integer, nullable=False),
        sa.Column("region_code", sa.String, nullable=False),
        sa.Column("count", BIGINT, nullable=False),
        sa.Column("issued", BIGINT, nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
    )
    op.create_index(
        "ix_registry_verifications_project_id", "registry_verifications", ["project_id"]
    )
    op.create_table(
        "registry_serials",
        sa.Column("unit_type", sa.String, primary_key=True),
        sa.Column("next_start", BIGINT, nullable=False),
    )
    op.create_table(
        "registry_blocks",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("unit_type", sa.String, nullable=False),
        sa.Column("serial_start", BIGINT, nullable=False),
        sa.Column("serial_end", BIGINT, nullable=False),
        sa.Column(
            "account_id",
            BIGINT,
            sa.ForeignKey(
                "registry_accounts.id", name="fk_registry_blocks_account_id_registry_accounts"
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("project_id", sa.String, nullable=False),
        sa.Column("vintage", sa.Integer, nullable=False),
        sa.Column("region_code", sa.String, nullable=False),
        sa.Column("attrs", sa.JSON, nullable=False),
        sa.Column("status_reason", sa.String, nullable=True),
        sa.Column("pending_to", BIGINT, nullable=True),
        sa.Column("lender", BIGINT, nullable=True),
        sa.Column("before_freeze", sa.String, nullable=True),
        sa.Column("retirement", sa.JSON, nullable=True),
        sa.Column("issued_by", sa.String, nullable=True),
        sa.Column("event_id", BIGINT, nullable=False),
        sa.UniqueConstraint("unit_type", "serial_start", name="uq_registry_blocks_start"),
        sa.CheckConstraint("serial_start <= serial_end", name="ck_registry_blocks_range"),
    )
    op.create_index("ix_registry_blocks_account_id", "registry_blocks", ["account_id"])
    op.create_index("ix_registry_blocks_project_id", "registry_blocks", ["project_id"])
    op.create_table(
        "registry_events",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        _ts("at"),
        sa.Column("unit_type", sa.String, nullable=True),
        sa.Column("serial_start", BIGINT, nullable=True),
        sa.Column("serial_end", BIGINT, nullable=True),
        sa.Column("account_id", BIGINT, nullable=True),
        sa.Column("to_account_id", BIGINT, nullable=True),
        sa.Column("project_id", sa.String, nullable=True),
    )
    op.create_index("ix_registry_events_account_id", "registry_events", ["account_id"])
    op.create_index("ix_registry_events_to_account_id", "registry_events", ["to_account_id"])
    op.create_index("ix_registry_events_project_id", "registry_events", ["project_id"])
    op.create_index("ix_registry_events_serial", "registry_events", ["unit_type", "serial_start"])
    op.create_table(
        "registry_pending",
        sa.Column("event_id", BIGINT, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "registry_leaves",
        sa.Column("leaf_index", BIGINT, primary_key=True, autoincrement=False),
        sa.Column("event_id", BIGINT, nullable=False, unique=True),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "registry_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", BIGINT, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "registry_tree_heads",
        sa.Column("size", BIGINT, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("origin", sa.String, nullable=False),
        sa.Column("timestamp", sa.String, nullable=False),
        sa.Column("key_id", sa.String, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "registry_keys",
        sa.Column("key_id", sa.String, primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "registry_requests",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("request_sha256", sa.String, nullable=False),
        sa.Column("event_ids", sa.JSON, nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "registry_cash",
        sa.Column("account_id", BIGINT, primary_key=True, autoincrement=False),
        sa.Column("balance_fen", BIGINT, nullable=False),
    )
    op.create_table(
        "registry_obligations",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("region_code", sa.String, nullable=False),
        sa.Column("unit_type", sa.String, nullable=False),
        sa.Column("required", BIGINT, nullable=False),
        sa.Column("due", sa.String, nullable=False),
        sa.Column("eligible_regions", sa.JSON, nullable=True),
        sa.Column("retired", BIGINT, nullable=False),
    )
    op.create_table(
        "registry_auctions",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("unit_type", sa.String, nullable=False),
        sa.Column("serial_start", BIGINT, nullable=False),
        sa.Column("serial_end", BIGINT, nullable=False),
        sa.Column("seller", BIGINT, nullable=False),
        sa.Column("payee", BIGINT, nullable=False),
        sa.Column("rule", sa.String, nullable=False),
        sa.Column("reserve_fen", BIGINT, nullable=False),
        _ts("closes_at"),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("result", sa.JSON, nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "registry_bids",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column(
            "auction_id",
            BIGINT,
            sa.ForeignKey(
                "registry_auctions.id", name="fk_registry_bids_auction_id_registry_auctions"
            ),
            nullable=False,
        ),
        sa.Column("bidder", BIGINT, nullable=False),
        sa.Column("amount_fen", BIGINT, nullable=False),
        _ts("at"),
        sa.UniqueConstraint("auction_id", "bidder", name="uq_registry_bids_bidder"),
    )
    op.create_index("ix_registry_bids_auction_id", "registry_bids", ["auction_id"])
    op.create_table(
        "registry_orders",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("book", sa.String, nullable=False),
        sa.Column("side", sa.String, nullable=False),
        sa.Column("account_id", BIGINT, nullable=False),
        sa.Column("quantity", BIGINT, nullable=False),
        sa.Column("remaining", BIGINT, nullable=False),
        sa.Column("limit_fen", BIGINT, nullable=False),
        sa.Column("unit_type", sa.String, nullable=True),
        sa.Column("serial_start", BIGINT, nullable=True),
        sa.Column("status", sa.String, nullable=False),
        _ts("at"),
    )
    op.create_index("ix_registry_orders_book", "registry_orders", ["book"])
    op.create_table(
        "registry_books",
        sa.Column("book", sa.String, primary_key=True),
        sa.Column("trades", BIGINT, nullable=False),
    )
    op.create_table(
        "registry_trades",
        sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String, nullable=False),
        sa.Column("reference", sa.String, nullable=False),
        sa.Column("unit_type", sa.String, nullable=False),
        sa.Column("serial_start", BIGINT, nullable=False),
        sa.Column("serial_end", BIGINT, nullable=False),
        sa.Column("price_fen", BIGINT, nullable=False),
        sa.Column("buyer", BIGINT, nullable=False),
        sa.Column("seller", BIGINT, nullable=False),
        sa.Column("payee", BIGINT, nullable=False),
        sa.Column("event_id", BIGINT, nullable=False),
        _ts("at"),
    )
    op.create_table(
        "registry_weighbridge",
        sa.Column("ticket", sa.String, primary_key=True),
        sa.Column("mine_id", sa.String, nullable=False),
        sa.Column("lot", sa.String, nullable=True),
        _ts("at"),
        sa.Column("vehicle", sa.String, nullable=True),
        sa.Column("gross_t", sa.Double, nullable=False),
        sa.Column("tare_t", sa.Double, nullable=False),
        sa.Column("density_t_per_m3", sa.Double, nullable=False),
        sa.Column("source", sa.String, nullable=True),
        _ts("imported_at"),
    )
    op.create_index("ix_registry_weighbridge_mine_id", "registry_weighbridge", ["mine_id"])
    op.create_table(
        "registry_surplus",
        sa.Column("mine_id", sa.String, primary_key=True),
        sa.Column("project_id", sa.String, nullable=True),
        sa.Column("approved", sa.JSON, nullable=False),
        sa.Column("plan_sha256", sa.String, nullable=True),
        _ts("updated_at"),
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
    for table in (
        "registry_surplus",
        "registry_weighbridge",
        "registry_trades",
        "registry_books",
        "registry_orders",
        "registry_bids",
        "registry_auctions",
        "registry_obligations",
        "registry_cash",
        "registry_requests",
        "registry_keys",
        "registry_tree_heads",
        "registry_nodes",
        "registry_leaves",
        "registry_pending",
        "registry_events",
        "registry_blocks",
        "registry_serials",
        "registry_verifications",
        "registry_policies",
        "registry_accounts",
    ):
        op.drop_table(table)
