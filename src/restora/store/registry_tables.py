"""The registry's tables (revision 0010): the ledger of credits and quotas (docs/registry.md).

State (what :mod:`restora.store.registry` reads and changes under row locks):

- ``registry_accounts``: accounts (holding, retirement, buffer, government, proceeds,
  restoration), each opened by an event;
- ``registry_policies``: per unit type, the buffer and share-of-proceeds accounts and shares;
- ``registry_verifications``: verified outcomes (an evaluator's signed-off record) and how
  much of each has been issued;
- ``registry_serials``: the next serial number of each unit type;
- ``registry_blocks``: serial blocks ``[serial_start, serial_end]`` of a unit type, each in one
  account and status; unique per (unit type, start).

The log (append-only: triggers refuse UPDATE and DELETE, and TRUNCATE on PostgreSQL):

- ``registry_events``: every event, its canonical bytes (``data``, the Merkle leaf) and
  columns copied from them for look-ups (type, range, accounts, project);
- ``registry_leaves``: the event at each leaf index of the Merkle tree and its leaf hash,
  assigned by the sequencer in commit order;
- ``registry_nodes``: the hash of every complete subtree (``level``, ``idx``), so a proof
  reads O(log n) rows;
- ``registry_tree_heads``: the signed tree heads; ``registry_keys``: the public keys.

Money and offsets (state, replayed from the log like the blocks): ``registry_cash`` (each
account's money on the trading platform, fen) and ``registry_obligations`` (offset obligations
and the serials retired against each).

Trading and earth and stone (records of the venues; every movement of units or money they
cause is an event): ``registry_auctions`` and ``registry_bids`` (sealed bids, shown only after
the close), ``registry_orders`` and ``registry_books`` (the continuous order books),
``registry_trades`` (every settlement, with its event), ``registry_surplus`` (each mine's
approved surplus earth and stone by year, from its restoration plan) and
``registry_weighbridge`` (weighbridge tickets of hauled material).

Work queues (not part of the log): ``registry_pending`` (events not yet sequenced) and
``registry_requests`` (idempotency keys and the events each request wrote).
"""

from __future__ import annotations

import sqlalchemy as sa

from restora.store.tables import metadata

#: 64-bit integer keys (SQLite's INTEGER PRIMARY KEY is the 64-bit rowid)
BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

registry_accounts = sa.Table(
    "registry_accounts",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("org_id", sa.ForeignKey("organisations.id"), nullable=True, index=True),
    sa.Column("region_code", sa.String, nullable=True),
    sa.Column("mine_id", sa.String, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
)
registry_policies = sa.Table(
    "registry_policies",
    metadata,
    sa.Column("unit_type", sa.String, primary_key=True),
    sa.Column("policy", sa.JSON, nullable=False),
)
registry_verifications = sa.Table(
    "registry_verifications",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("unit_type", sa.String, nullable=False),
    sa.Column("project_id", sa.String, nullable=False, index=True),
    sa.Column("vintage", sa.Integer, nullable=False),
    sa.Column("region_code", sa.String, nullable=False),
    sa.Column("count", BIGINT, nullable=False),
    sa.Column("issued", BIGINT, nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
)
registry_serials = sa.Table(
    "registry_serials",
    metadata,
    sa.Column("unit_type", sa.String, primary_key=True),
    sa.Column("next_start", BIGINT, nullable=False),
)
registry_blocks = sa.Table(
    "registry_blocks",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("unit_type", sa.String, nullable=False),
    sa.Column("serial_start", BIGINT, nullable=False),
    sa.Column("serial_end", BIGINT, nullable=False),
    sa.Column("account_id", sa.ForeignKey("registry_accounts.id"), nullable=False, index=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("project_id", sa.String, nullable=False, index=True),
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
registry_events = sa.Table(
    "registry_events",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("unit_type", sa.String, nullable=True),
    sa.Column("serial_start", BIGINT, nullable=True),
    sa.Column("serial_end", BIGINT, nullable=True),
    sa.Column("account_id", BIGINT, nullable=True, index=True),
    sa.Column("to_account_id", BIGINT, nullable=True, index=True),
    sa.Column("project_id", sa.String, nullable=True, index=True),
    sa.Index("ix_registry_events_serial", "unit_type", "serial_start"),
)
registry_pending = sa.Table(
    "registry_pending",
    metadata,
    sa.Column("event_id", BIGINT, primary_key=True, autoincrement=False),
)
registry_leaves = sa.Table(
    "registry_leaves",
    metadata,
    sa.Column("leaf_index", BIGINT, primary_key=True, autoincrement=False),
    sa.Column("event_id", BIGINT, nullable=False, unique=True),
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
)
registry_nodes = sa.Table(
    "registry_nodes",
    metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("idx", BIGINT, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary, nullable=False),
)
registry_tree_heads = sa.Table(
    "registry_tree_heads",
    metadata,
    sa.Column("size", BIGINT, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("origin", sa.String, nullable=False),
    sa.Column("timestamp", sa.String, nullable=False),
    sa.Column("key_id", sa.String, nullable=False),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)
registry_keys = sa.Table(
    "registry_keys",
    metadata,
    sa.Column("key_id", sa.String, primary_key=True),
    sa.Column("public_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)
registry_requests = sa.Table(
    "registry_requests",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("request_sha256", sa.String, nullable=False),
    sa.Column("event_ids", sa.JSON, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
)

registry_cash = sa.Table(
    "registry_cash",
    metadata,
    sa.Column("account_id", BIGINT, primary_key=True, autoincrement=False),
    sa.Column("balance_fen", BIGINT, nullable=False),
)
registry_obligations = sa.Table(
    "registry_obligations",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("party", sa.String, nullable=False),
    sa.Column("region_code", sa.String, nullable=False),
    sa.Column("unit_type", sa.String, nullable=False),
    sa.Column("required", BIGINT, nullable=False),
    sa.Column("due", sa.String, nullable=False),
    sa.Column("eligible_regions", sa.JSON, nullable=True),
    sa.Column("retired", BIGINT, nullable=False),
)
registry_auctions = sa.Table(
    "registry_auctions",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("unit_type", sa.String, nullable=False),
    sa.Column("serial_start", BIGINT, nullable=False),
    sa.Column("serial_end", BIGINT, nullable=False),
    sa.Column("seller", BIGINT, nullable=False),
    sa.Column("payee", BIGINT, nullable=False),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("reserve_fen", BIGINT, nullable=False),
    sa.Column("closes_at", _TS, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
)
registry_bids = sa.Table(
    "registry_bids",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("auction_id", sa.ForeignKey("registry_auctions.id"), nullable=False, index=True),
    sa.Column("bidder", BIGINT, nullable=False),
    sa.Column("amount_fen", BIGINT, nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.UniqueConstraint("auction_id", "bidder", name="uq_registry_bids_bidder"),
)
registry_orders = sa.Table(
    "registry_orders",
    metadata,
    sa.Column("id", BIGINT, primary_key=True, autoincrement=True),
    sa.Column("book", sa.String, nullable=False, index=True),
    sa.Column("side", sa.String, nullable=False),
    sa.Column("account_id", BIGINT, nullable=False),
    sa.Column("quantity", BIGINT, nullable=False),
    sa.Column("remaining", BIGINT, nullable=False),
    sa.Column("limit_fen", BIGINT, nullable=False),
    sa.Column("unit_type", sa.String, nullable=True),
    sa.Column("serial_start", BIGINT, nullable=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("at", _TS, nullable=False),
)
registry_books = sa.Table(
    "registry_books",
    metadata,
    sa.Column("book", sa.String, primary_key=True),
    sa.Column("trades", BIGINT, nullable=False),
)
registry_trades = sa.Table(
    "registry_trades",
    metadata,
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
    sa.Column("at", _TS, nullable=False),
)
registry_weighbridge = sa.Table(
    "registry_weighbridge",
    metadata,
    sa.Column("ticket", sa.String, primary_key=True),
    sa.Column("mine_id", sa.String, nullable=False, index=True),
    sa.Column("lot", sa.String, nullable=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("vehicle", sa.String, nullable=True),
    sa.Column("gross_t", sa.Double, nullable=False),
    sa.Column("tare_t", sa.Double, nullable=False),
    sa.Column("density_t_per_m3", sa.Double, nullable=False),
    sa.Column("source", sa.String, nullable=True),
    sa.Column("imported_at", _TS, nullable=False),
)
registry_surplus = sa.Table(
    "registry_surplus",
    metadata,
    sa.Column("mine_id", sa.String, primary_key=True),
    sa.Column("project_id", sa.String, nullable=True),
    sa.Column("approved", sa.JSON, nullable=False),
    sa.Column("plan_sha256", sa.String, nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
)

APPEND_ONLY = (
    "registry_events",
    "registry_leaves",
    "registry_nodes",
    "registry_tree_heads",
    "registry_keys",
)
