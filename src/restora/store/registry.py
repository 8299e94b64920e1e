"""The registry's ledger in the store: events, serial blocks, the Merkle log (docs/registry.md).

Every write is one transaction that locks what it changes, applies the event(s) with the rules
of :class:`restora.registry.ledger.Ledger` to the rows it locked, writes the new state, appends
the event(s) to ``registry_events`` and queues them in ``registry_pending`` — all or nothing.
An operation on part of a block appends ``split`` events first, in the same transaction.

Concurrency (the same on both databases, different means):

- PostgreSQL: the block's row is locked (``SELECT … FOR UPDATE``), so two operations on one
  block run one after the other; operations on different blocks run in parallel. Issuance locks
  the verification and the unit type's serial counter. The event's id (a sequence) is taken
  after the locks, so an event that depends on another always has the larger id.
- SQLite: every transaction begins ``IMMEDIATE`` (restora.store.engine): writers queue.

**Sequencing** (:func:`integrate`, the design of Certificate Transparency logs such as
Trillian): events wait in ``registry_pending`` until a sequencer gives them consecutive leaf
indices in event-id order, stores their leaf hashes and the hashes of the complete subtrees
they close, and signs a tree head. One sequencer runs at a time (an advisory lock on
PostgreSQL; the write lock on SQLite); writers never wait for it, which is what lets many
writers commit in parallel. Because a dependent event's id is larger, the leaf order is a valid
order in which to replay the log.

**Idempotency**: a request with a key (``key``) is done once; the same key with the same
request returns the first result with ``"replayed": True``; the same key with another request
is refused.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from restora.errors import RestoraError
from restora.registry import merkle
from restora.registry.ledger import (
    BLOCK_KINDS,
    UNIT_TYPES,
    Account,
    Block,
    Ledger,
    LedgerError,
    decode,
    encode,
    serial_id,
    share_count,
    utc_text,
)
from restora.registry.signing import TreeHead, key_id, public_bytes, sign_head, verify_head
from restora.store.monitoring_tables import monitoring_signoffs as SIGNOFFS
from restora.store.platform_tables import organisations as ORGS
from restora.store.registry_tables import registry_accounts as ACCOUNTS
from restora.store.registry_tables import registry_blocks as BLOCKS
from restora.store.registry_tables import registry_cash as CASH
from restora.store.registry_tables import registry_events as EVENTS
from restora.store.registry_tables import registry_keys as KEYS
from restora.store.registry_tables import registry_leaves as LEAVES
from restora.store.registry_tables import registry_nodes as NODES
from restora.store.registry_tables import registry_obligations as OBLIGATIONS
from restora.store.registry_tables import registry_pending as PENDING
from restora.store.registry_tables import registry_policies as POLICIES
from restora.store.registry_tables import registry_requests as REQUESTS
from restora.store.registry_tables import registry_serials as SERIALS
from restora.store.registry_tables import registry_tree_heads as HEADS
from restora.store.registry_tables import registry_verifications as VERIFICATIONS

#: First key of the PostgreSQL advisory lock of the sequencer (the second is the schema's).
SEQUENCER_LOCK_CLASS = 0x52454749  # "REGI"
#: Events a sequencer takes in one transaction.
SEQUENCE_BATCH = 20_000


class RequestConflict(RestoraError):
    """An idempotency key used before for another request (the API answers 409)."""


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ rows <-> blocks
_BLOCK_COLS = {
    "unit_type": "unit_type",
    "start": "serial_start",
    "end": "serial_end",
    "account": "account_id",
    "status": "status",
    "project_id": "project_id",
    "vintage": "vintage",
    "region_code": "region_code",
    "attrs": "attrs",
    "status_reason": "status_reason",
    "pending_to": "pending_to",
    "lender": "lender",
    "before_freeze": "before_freeze",
    "retirement": "retirement",
    "issued_by": "issued_by",
}


def _block(row: Mapping[Any, Any]) -> Block:
    return Block.from_row({k: row[c] for k, c in _BLOCK_COLS.items()})


def _block_values(b: Block) -> dict[str, Any]:
    r = b.as_row()
    return {c: r[k] for k, c in _BLOCK_COLS.items()}


def block_dict(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored block as the API shows it: its fields, count, amount and serial id."""
    b = _block(row)
    ut = UNIT_TYPES[b.unit_type]
    out = b.as_row()
    out.update(
        id=row["id"],
        serial=serial_id(b),
        count=b.count,
        amount=ut.amount(b.count),
        measure=ut.measure,
        event_id=row["event_id"],
    )
    return out


def _account(row: Mapping[Any, Any]) -> Account:
    return Account(
        int(row["id"]), row["kind"], row["name"], row["org_id"], row["region_code"], row["mine_id"]
    )


# ------------------------------------------------------------------------------ writing
@dataclass
class _Tx:
    """What one transaction loaded, and the events and rows it will write."""

    conn: sa.Connection
    ledger: Ledger = field(default_factory=Ledger)
    rows: dict[tuple[str, int], int] = field(default_factory=dict)  # block key -> row id
    events: list[dict[str, Any]] = field(default_factory=list)
    written: dict[tuple[str, int], Block] = field(default_factory=dict)
    befores: dict[int, Block | None] = field(default_factory=dict)  # event index -> its block
    texts: list[str] = field(default_factory=list)  # the events' canonical bytes, as written

    def load_accounts(self, ids: Sequence[Any]) -> None:
        want = {int(i) for i in ids if isinstance(i, int) and i not in self.ledger.accounts}
        if want:
            for r in self.conn.execute(_SELECT_ACCOUNTS, {"ids": sorted(want)}):
                self.ledger.accounts[int(r.id)] = _account(r._mapping)

    cash0: dict[int, int | None] = field(default_factory=dict)  # balances as loaded
    obligations0: dict[str, int] = field(default_factory=dict)

    def load_cash(self, ids: Sequence[Any]) -> None:
        """Lock and load the money rows of these accounts (in id order: no deadlock)."""
        want = sorted({int(i) for i in ids if isinstance(i, int) and i not in self.cash0})
        if not want:
            return
        q = sa.select(CASH).where(CASH.c.account_id.in_(want)).order_by(CASH.c.account_id)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        found = {int(r.account_id): int(r.balance_fen) for r in self.conn.execute(q)}
        for i in want:
            self.cash0[i] = found.get(i)
            if i in found:
                self.ledger.cash[i] = found[i]

    def load_obligation(self, obligation: str) -> None:
        q = sa.select(OBLIGATIONS).where(OBLIGATIONS.c.id == obligation)
        if self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).first()
        if row is not None:
            self.ledger.obligations[obligation] = _obligation_record(row)
            self.ledger.offset[obligation] = int(row.retired)
            self.obligations0[obligation] = int(row.retired)

    def apply(self, event: dict[str, Any]) -> list[Block]:
        out = self.ledger.apply(event)
        self.events.append(event)
        for b in out:
            self.written[b.key] = b
        return out


def _obligation_record(row: Any) -> dict[str, Any]:
    return {
        "obligation": row.id,
        "party": row.party,
        "region_code": row.region_code,
        "unit_type": row.unit_type,
        "required": int(row.required),
        "due": row.due,
        "eligible_regions": row.eligible_regions,
    }


# Statements of the write path, built once (SQLAlchemy then only binds their parameters: building
# and hashing a statement per call was most of a transfer's CPU time).
_SELECT_ACCOUNTS = sa.select(ACCOUNTS).where(ACCOUNTS.c.id.in_(sa.bindparam("ids", expanding=True)))
_BLOCK_AT = (
    sa.select(BLOCKS)
    .where(
        BLOCKS.c.unit_type == sa.bindparam("unit_type"),
        BLOCKS.c.serial_start <= sa.bindparam("start"),
    )
    .order_by(BLOCKS.c.serial_start.desc())
    .limit(1)
)
_LOCK_BLOCK = _BLOCK_AT.with_for_update()
_UPDATE_BLOCK = (
    sa.update(BLOCKS)
    .where(BLOCKS.c.id == sa.bindparam("row_id"))
    .values({c: sa.bindparam(c) for c in [*_BLOCK_COLS.values(), "event_id"]})
)


def _lock_block(conn: sa.Connection, unit_type: str, start: int, end: int) -> tuple[int, Block]:
    """The block containing ``[start, end]``, locked (retries when a split moved it)."""
    q = _LOCK_BLOCK if conn.dialect.name == "postgresql" else _BLOCK_AT
    # a block under heavy contention may be cut again while we wait for its new part: read
    # again while it keeps moving (a serial truly in no block costs these reads, no more)
    for _ in range(50):
        row = conn.execute(q, {"unit_type": unit_type, "start": start}).mappings().first()
        if row is not None and row["serial_end"] >= start:  # serial_start <= start by the query
            b = _block(row)
            if end > b.end:
                raise LedgerError(
                    f"serials {start}-{end} of {unit_type} are not in one block "
                    f"({serial_id(b)} ends at {b.end})",
                    field="serial",
                )
            return int(row["id"]), b
        if conn.dialect.name != "postgresql":
            break
        # PostgreSQL: the row we waited for may have been cut by a split that committed
        # meanwhile; its new right part is a row this statement's snapshot could not see, and
        # the next statement does (READ COMMITTED)
    raise LedgerError(f"no {unit_type} block holds serial {start}", field="serial")


def _request_hash(kind: str, payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(encode({"kind": kind, **payload})).hexdigest()


def _claim_key(conn: sa.Connection, key: str, digest: str, at: dt.datetime) -> list[int] | None:
    """Claim an idempotency key; the event ids of its first use when it was used before."""
    table = REQUESTS
    insert = (pg_dialect if conn.dialect.name == "postgresql" else sqlite_dialect).insert(table)
    stmt = (
        insert.values(key=key, request_sha256=digest, created_at=at)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.key)
    )
    if conn.execute(stmt).first() is not None:
        return None
    row = conn.execute(sa.select(table).where(table.c.key == key)).one()
    if row.request_sha256 != digest:
        raise RequestConflict(
            f"the idempotency key {key!r} was used for another request; use a new key"
        )
    return list(row.event_ids or [])


def _event_columns(e: Mapping[str, Any], before: Block | None, ledger: Ledger) -> dict[str, Any]:
    """The look-up columns of an event row, from the event and the block it acted on."""
    kind = e["kind"]
    to = e.get("to")
    if kind == "accept_transfer" and before is not None:
        to = before.pending_to
    elif kind == "enforce_pledge" and before is not None:
        to = before.lender
    elif kind == "pledge":
        to = e.get("lender")
    account = before.account if before is not None else e.get("account")
    project = before.project_id if before is not None else e.get("project_id")
    if kind == "issue":
        project = ledger.verifications[e["verification"]]["project_id"]
    return {
        "kind": kind,
        "unit_type": e.get("unit_type"),
        "serial_start": e.get("start"),
        "serial_end": e.get("end"),
        "account_id": account,
        "to_account_id": to,
        "project_id": project,
    }


def _write(tx: _Tx, at: dt.datetime, befores: Mapping[int, Block | None]) -> list[int]:
    """Insert the events, queue them, write the blocks; returns the event ids."""
    conn = tx.conn
    rows = []
    for i, e in enumerate(tx.events):
        values = _event_columns(e, befores.get(i), tx.ledger)
        text = encode(e).decode("utf-8")
        tx.texts.append(text)
        values.update(data=text, at=at)
        rows.append(values)
    ids = _insert_events(conn, rows)
    last = ids[-1] if ids else None
    for key, b in tx.written.items():
        values = _block_values(b)
        values["event_id"] = last
        row_id = tx.rows.get(key)
        if row_id is None:
            new_id = conn.execute(
                sa.insert(BLOCKS).values(**values).returning(BLOCKS.c.id)
            ).scalar_one()
            tx.rows[key] = int(new_id)
        else:
            conn.execute(_UPDATE_BLOCK, {**values, "row_id": row_id})
    for acc, before in tx.cash0.items():
        now = tx.ledger.cash.get(acc)
        if now is None or now == before:
            continue
        if before is None:
            conn.execute(sa.insert(CASH).values(account_id=acc, balance_fen=now))
        else:
            conn.execute(sa.update(CASH).where(CASH.c.account_id == acc).values(balance_fen=now))
    for ob, before in tx.obligations0.items():
        if tx.ledger.offset[ob] != before:
            conn.execute(
                sa.update(OBLIGATIONS)
                .where(OBLIGATIONS.c.id == ob)
                .values(retired=tx.ledger.offset[ob])
            )
    return ids


_EVENT_ROW = ("kind", "unit_type", "serial_start", "serial_end", "account_id", "to_account_id",
              "project_id", "data", "at")  # fmt: skip


@functools.lru_cache(maxsize=64)
def _insert_events_statement(n: int, postgresql: bool) -> Any:
    """INSERT of ``n`` event rows (bound parameters ``<column>_<i>``) returning their ids; on
    PostgreSQL also queueing them. Text built once per ``n``: SQLAlchemy does not cache the
    compiled form of a multi-row INSERT, and compiling it cost more than the round trip."""
    names = ", ".join(_EVENT_ROW)
    values = ", ".join("(" + ", ".join(f":{c}_{i}" for c in _EVENT_ROW) + ")" for i in range(n))
    insert = f"INSERT INTO {EVENTS.name} ({names}) VALUES {values} RETURNING id"
    sql = (
        f"WITH new_events AS ({insert}) INSERT INTO {PENDING.name} (event_id) "
        "SELECT id FROM new_events RETURNING event_id"
        if postgresql
        else insert
    )
    binds = [sa.bindparam(f"{c}_{i}", type_=EVENTS.c[c].type) for i in range(n) for c in _EVENT_ROW]
    return sa.text(sql).bindparams(*binds)


def _insert_events(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert event rows and queue them; their ids, in the order of ``rows``.

    One multi-row INSERT (ids are drawn in the order of its VALUES, so the sorted ids are the
    rows' ids in order); on PostgreSQL the queue rows are written by the same statement.
    """
    if not rows:
        return []
    postgresql = conn.dialect.name == "postgresql"
    stmt = _insert_events_statement(len(rows), postgresql)
    params = {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in _EVENT_ROW}
    ids = sorted(int(i) for i in conn.execute(stmt, params).scalars())
    if not postgresql:
        conn.execute(sa.insert(PENDING), [{"event_id": i} for i in ids])
    return ids


def _written_result(tx: _Tx, ids: Sequence[int]) -> dict[str, Any]:
    """:func:`_result` of a write just made, from what it wrote (no reading back)."""
    events = [
        {"id": i, "kind": e["kind"], "data": json.loads(text)}
        for i, e, text in zip(ids, tx.events, tx.texts, strict=True)
    ]
    blocks = []
    if ids:
        for key, b in sorted(tx.written.items(), key=lambda kv: kv[1].start):
            blocks.append(block_dict({**_block_values(b), "id": tx.rows[key], "event_id": ids[-1]}))
    return {"events": events, "blocks": blocks, "replayed": False}


def _result(conn: sa.Connection, ids: Sequence[int], *, replayed: bool) -> dict[str, Any]:
    """The events of a write and the blocks its last event wrote (as they are now)."""
    ids = list(ids)
    rows = conn.execute(sa.select(EVENTS).where(EVENTS.c.id.in_(ids)).order_by(EVENTS.c.id))
    events = [{"id": int(r.id), "kind": r.kind, "data": json.loads(r.data)} for r in rows]
    blocks = []
    if ids:
        q = sa.select(BLOCKS).where(BLOCKS.c.event_id == ids[-1]).order_by(BLOCKS.c.serial_start)
        blocks = [block_dict(r) for r in conn.execute(q).mappings()]
    return {"events": events, "blocks": blocks, "replayed": replayed}


def _run(
    store: Any,
    kind: str,
    payload: Mapping[str, Any],
    key: str | None,
    at: dt.datetime,
    body: Callable[[_Tx], Any],
    after: Callable[[sa.Connection, list[int]], None] | None = None,
) -> dict[str, Any]:
    """One write: claim the key, run ``body`` (which applies events), write, all or nothing."""
    engine = _engine(store)
    with engine.begin() as conn:
        if key is not None:
            done = _claim_key(conn, key, _request_hash(kind, payload), at)
            if done is not None:
                return _result(conn, done, replayed=True)
        tx = _Tx(conn)
        body(tx)
        ids = _write(tx, at, tx.befores)
        if after is not None:
            after(conn, ids)
        if key is not None:
            conn.execute(sa.update(REQUESTS).where(REQUESTS.c.key == key).values(event_ids=ids))
        return _written_result(tx, ids)


def write(
    store: Any,
    body: Callable[[_Tx], Any],
    *,
    at: dt.datetime,
    kind: str = "write",
    payload: Mapping[str, Any] | None = None,
    key: str | None = None,
    after: Callable[[sa.Connection, list[int]], None] | None = None,
) -> dict[str, Any]:
    """Several registry operations in one transaction: ``body(tx)`` calls the ``*_in``
    functions (:func:`open_account_in`, :func:`record_verification_in`, :func:`issue_in`,
    :func:`operate_in`, :func:`sign_off_in`) and may write its own rows with ``tx.conn``;
    ``after(conn, event_ids)`` runs once the events are written. All or nothing; returns the
    events written and the blocks they wrote, as the single operations do.
    """
    return _run(store, kind, dict(payload or {}), key, at, body, after)


def _stamp(
    event: dict[str, Any], at: dt.datetime, actor: str | None, key: str | None
) -> dict[str, Any]:
    event["at"] = utc_text(at)
    if actor is not None:
        event["actor"] = actor
    if key is not None:
        event["request"] = key
    return event


def _account_payload(
    kind: str, name: str, org_id: int | None, region_code: str | None, mine_id: str | None
) -> dict[str, Any]:
    """The fields of an ``open_account`` request (and event)."""
    return {
        "account_kind": kind,
        "name": name,
        "org_id": org_id,
        "region_code": region_code,
        "mine_id": mine_id,
    }


def open_account(
    store: Any,
    *,
    kind: str,
    name: str,
    at: dt.datetime,
    org_id: int | None = None,
    region_code: str | None = None,
    mine_id: str | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Open an account (an ``open_account`` event); returns ``{"account": {...}, "events": ...}``."""
    payload = _account_payload(kind, name, org_id, region_code, mine_id)

    def body(tx: _Tx) -> None:
        open_account_in(
            tx, kind=kind, name=name, at=at, org_id=org_id, region_code=region_code,
            mine_id=mine_id, actor=actor, key=key,
        )  # fmt: skip

    out = _run(store, "open_account", payload, key, at, body)
    out["account"] = out["events"][0]["data"]["account"]
    return out


def open_account_in(
    tx: _Tx,
    *,
    kind: str,
    name: str,
    at: dt.datetime,
    org_id: int | None = None,
    region_code: str | None = None,
    mine_id: str | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> int:
    """:func:`open_account` inside a write that is already open (:func:`write`); the new id."""
    fields = _account_payload(kind, name, org_id, region_code, mine_id)
    acc_id = tx.conn.execute(
        sa.insert(ACCOUNTS)
        .values(
            kind=kind,
            name=name,
            org_id=org_id,
            region_code=region_code,
            mine_id=mine_id,
            created_at=at,
        )
        .returning(ACCOUNTS.c.id)
    ).scalar_one()
    event = {
        "kind": "open_account",
        "account": int(acc_id),
        **{k: v for k, v in fields.items() if v is not None},
    }
    tx.apply(_stamp(event, at, actor, key))
    return int(acc_id)


def set_policy(
    store: Any,
    unit_type: str,
    *,
    at: dt.datetime,
    buffer: Mapping[str, Any] | None = None,
    share: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Set a unit type's buffer and share-of-proceeds rule: ``{"account": id, "pct": %}`` each."""
    payload: dict[str, Any] = {"unit_type": unit_type}
    if buffer is not None:
        payload["buffer"] = dict(buffer)
    if share is not None:
        payload["share"] = dict(share)

    def body(tx: _Tx) -> None:
        tx.load_accounts([s.get("account") for s in (buffer, share) if s is not None])
        event = _stamp({"kind": "policy", **payload}, at, actor, key)
        tx.apply(event)
        policy = tx.ledger.policies[unit_type]
        table = POLICIES
        tx.conn.execute(sa.delete(table).where(table.c.unit_type == unit_type))
        tx.conn.execute(sa.insert(table).values(unit_type=unit_type, policy=policy))

    return _run(store, "policy", payload, key, at, body)


def _verification_payload(
    verification: str,
    unit_type: str,
    project_id: str,
    vintage: int,
    region_code: str,
    count: int,
    evaluator: str,
    report_sha256: str,
    details: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The fields of a ``verify_outcome`` request (and event)."""
    payload: dict[str, Any] = {
        "verification": verification,
        "unit_type": unit_type,
        "project_id": project_id,
        "vintage": vintage,
        "region_code": region_code,
        "count": count,
        "evaluator": evaluator,
        "report_sha256": report_sha256,
    }
    if details:
        payload["details"] = dict(details)
    return payload


def record_verification(
    store: Any,
    *,
    verification: str,
    unit_type: str,
    project_id: str,
    vintage: int,
    region_code: str,
    count: int,
    evaluator: str,
    report_sha256: str,
    at: dt.datetime,
    details: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Record a verified outcome (``verify_outcome``): what an evaluator signed off, in serials.

    Units are issued only against a recorded verification, and never more than it verified.
    """
    payload = _verification_payload(
        verification, unit_type, project_id, vintage, region_code, count, evaluator,
        report_sha256, details,
    )  # fmt: skip

    def body(tx: _Tx) -> None:
        _record_verification_in(tx, payload, at=at, actor=actor, key=key)

    return _run(store, "verify_outcome", payload, key, at, body)


def record_verification_in(
    tx: _Tx,
    *,
    verification: str,
    unit_type: str,
    project_id: str,
    vintage: int,
    region_code: str,
    count: int,
    evaluator: str,
    report_sha256: str,
    at: dt.datetime,
    details: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> None:
    """:func:`record_verification` inside a write that is already open (:func:`write`)."""
    payload = _verification_payload(
        verification, unit_type, project_id, vintage, region_code, count, evaluator,
        report_sha256, details,
    )  # fmt: skip
    _record_verification_in(tx, payload, at=at, actor=actor, key=key)


def _record_verification_in(
    tx: _Tx, payload: dict[str, Any], *, at: dt.datetime, actor: str | None, key: str | None
) -> None:
    verification = payload["verification"]
    exists = tx.conn.execute(
        sa.select(VERIFICATIONS.c.id).where(VERIFICATIONS.c.id == verification)
    ).first()
    if exists:
        raise LedgerError(f"verification {verification} is already recorded", field="verification")
    event = _stamp({"kind": "verify_outcome", **payload}, at, actor, key)
    tx.apply(event)
    tx.conn.execute(
        sa.insert(VERIFICATIONS).values(
            id=verification,
            unit_type=payload["unit_type"],
            project_id=payload["project_id"],
            vintage=payload["vintage"],
            region_code=payload["region_code"],
            count=payload["count"],
            issued=0,
            record=payload,
        )
    )


def move_money(
    store: Any,
    kind: str,
    *,
    account: int,
    amount_fen: int,
    at: dt.datetime,
    reference: str | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Deposit money to an account on the trading platform, or withdraw it (``kind``) [fen].

    A buyer's money must be deposited before it bids or buys; a settlement moves the price from
    the buyer's money to the seller's (or, for earth and stone, to the mine's restoration
    account) in the same event that moves the units.
    """
    if kind not in ("deposit", "withdraw"):
        raise LedgerError(f"{kind!r} is not deposit or withdraw", field="kind")
    payload: dict[str, Any] = {"account": account, "amount_fen": amount_fen}
    if reference:
        payload["reference"] = reference

    def body(tx: _Tx) -> None:
        tx.load_accounts([account])
        tx.load_cash([account])
        if kind == "withdraw":  # money committed to resting buys and sealed bids stays
            buys, bids = committed_fen(tx.conn, account)
            free = tx.ledger.cash.get(account, 0) - buys - bids
            if amount_fen > free:
                raise LedgerError(
                    f"account {account} has {free} fen free ({buys} committed to resting buy "
                    f"orders, {bids} held by sealed bids in open auctions); {amount_fen} cannot "
                    "be withdrawn",
                    field="amount_fen",
                )
        tx.apply(_stamp({"kind": kind, **payload}, at, actor, key))

    return _run(store, kind, payload, key, at, body)


def committed_fen(conn: sa.Connection, account: int) -> tuple[int, int]:
    """Money of an account the platform keeps [fen]: (resting buy orders' quantity × limit,
    sealed bids in auctions not yet closed). Call with the account's money row locked."""
    from restora.store.registry_tables import registry_auctions as AUCTIONS
    from restora.store.registry_tables import registry_bids as BIDS
    from restora.store.registry_tables import registry_orders as ORDERS

    buys = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(ORDERS.c.remaining * ORDERS.c.limit_fen), 0)).where(
            ORDERS.c.account_id == account, ORDERS.c.side == "buy", ORDERS.c.status == "open"
        )
    ).scalar_one()
    bids = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(BIDS.c.amount_fen), 0))
        .join(AUCTIONS, AUCTIONS.c.id == BIDS.c.auction_id)
        .where(BIDS.c.bidder == account, AUCTIONS.c.status == "open")
    ).scalar_one()
    return int(buys), int(bids)


def balance(store: Any, account: int) -> int:
    """An account's money on the trading platform [fen]."""
    with _engine(store).connect() as conn:
        v = conn.execute(sa.select(CASH.c.balance_fen).where(CASH.c.account_id == account)).scalar()
    return int(v or 0)


def record_obligation(
    store: Any,
    *,
    obligation: str,
    party: str,
    region_code: str,
    unit_type: str,
    required: int,
    due: dt.date,
    at: dt.datetime,
    eligible_regions: Sequence[str] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Record a regional offset obligation (an ``obligation`` event; restora.registry.offsets).

    ``required`` is in serial numbers of ``unit_type``. Retirements name the obligation
    (``retire`` with ``obligation``) and count against it only when the units are eligible.
    """
    payload: dict[str, Any] = {
        "obligation": obligation,
        "party": party,
        "region_code": region_code,
        "unit_type": unit_type,
        "required": required,
        "due": due.isoformat(),
        "eligible_regions": None if eligible_regions is None else list(eligible_regions),
    }

    def body(tx: _Tx) -> None:
        tx.load_obligation(obligation)
        tx.apply(_stamp({"kind": "obligation", **payload}, at, actor, key))
        tx.conn.execute(
            sa.insert(OBLIGATIONS).values(
                id=obligation,
                party=party,
                region_code=region_code,
                unit_type=unit_type,
                required=required,
                due=payload["due"],
                eligible_regions=payload["eligible_regions"],
                retired=0,
            )
        )

    return _run(store, "obligation", payload, key, at, body)


def obligations(store: Any, *, today: dt.date) -> list[dict[str, Any]]:
    """Every offset obligation with its compliance status on ``today``.

    The retirements against each are read from the blocks retired against it (their
    retirement record names the obligation); restora.registry.offsets.compliance_status
    counts the eligible ones and says met, open, overdue or partly met, overdue.
    """
    from restora.registry.ledger import _as_obligation
    from restora.registry.offsets import Retirement, compliance_status

    out = []
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(OBLIGATIONS).order_by(OBLIGATIONS.c.id)).all()
        retired = (
            conn.execute(
                sa.select(BLOCKS).where(
                    BLOCKS.c.status == "retired", BLOCKS.c.retirement.is_not(None)
                )
            )
            .mappings()
            .all()
        )
    for row in rows:
        ob = _as_obligation(_obligation_record(row))
        rets = []
        for r in retired:
            info = r["retirement"] or {}
            if info.get("obligation") != row.id:
                continue
            when = dt.datetime.fromisoformat(str(info.get("at")).replace("Z", "+00:00"))
            rets.append(
                Retirement(
                    obligation_id=row.id,
                    unit_type=r["unit_type"],
                    region_code=r["region_code"],
                    count=int(r["serial_end"]) - int(r["serial_start"]) + 1,
                    at=when,
                )
            )
        status = compliance_status(ob, rets, today)
        out.append({**_obligation_record(row), "retired": int(row.retired), "status": status})
    return out


def _counter(conn: sa.Connection, unit_type: str) -> int:
    """The next serial of a unit type, its counter row locked (created at 1 when missing)."""
    insert = (pg_dialect if conn.dialect.name == "postgresql" else sqlite_dialect).insert(SERIALS)
    conn.execute(
        insert.values(unit_type=unit_type, next_start=1).on_conflict_do_nothing(
            index_elements=["unit_type"]
        )
    )
    q = sa.select(SERIALS.c.next_start).where(SERIALS.c.unit_type == unit_type)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return int(conn.execute(q).scalar_one())


def _issue_payload(
    verification: str, account: int, count: int, attrs: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The fields of an ``issue`` request."""
    return {"verification": verification, "account": account, "count": count,
            "attrs": dict(attrs or {})}  # fmt: skip


def issue(
    store: Any,
    *,
    verification: str,
    account: int,
    count: int,
    at: dt.datetime,
    attrs: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Issue ``count`` serials from a verified outcome to ``account`` (``issue``).

    The unit type's policy sends its buffer and share-of-proceeds percentages (rounded down) to
    their accounts as blocks of their own, in the same event.
    """
    payload = _issue_payload(verification, account, count, attrs)

    def body(tx: _Tx) -> None:
        issue_in(
            tx, verification=verification, account=account, count=count, at=at, attrs=attrs,
            actor=actor, key=key,
        )  # fmt: skip

    return _run(store, "issue", payload, key, at, body)


def issue_in(
    tx: _Tx,
    *,
    verification: str,
    account: int,
    count: int,
    at: dt.datetime,
    attrs: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> list[Block]:
    """:func:`issue` inside a write that is already open (:func:`write`); the blocks issued."""
    payload = _issue_payload(verification, account, count, attrs)
    conn = tx.conn
    q = sa.select(VERIFICATIONS).where(VERIFICATIONS.c.id == verification)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    v = conn.execute(q).mappings().first()
    if v is None:
        raise LedgerError(
            f"no verified outcome {verification!r}: units are issued only from a verified outcome",
            field="verification",
        )
    unit_type = v["unit_type"]
    tx.ledger.verifications[verification] = dict(v["record"])
    tx.ledger.issued[verification] = int(v["issued"])
    policy_row = conn.execute(
        sa.select(POLICIES.c.policy).where(POLICIES.c.unit_type == unit_type)
    ).first()
    policy = dict(policy_row.policy) if policy_row else {}
    tx.ledger.policies[unit_type] = policy
    start = _counter(conn, unit_type)
    tx.ledger.next_serial[unit_type] = start
    event: dict[str, Any] = {
        "kind": "issue",
        "unit_type": unit_type,
        "start": start,
        "end": start + count - 1,
        **payload,
    }
    for name in ("buffer", "share"):
        rule = policy.get(name)
        if rule:
            event[name] = {**rule, "count": share_count(count, float(rule["pct"]))}
    tx.load_accounts([account] + [r["account"] for r in policy.values()])
    blocks = tx.apply(_stamp(event, at, actor, key))
    conn.execute(
        sa.update(SERIALS)
        .where(SERIALS.c.unit_type == unit_type)
        .values(next_start=tx.ledger.next_serial[unit_type])
    )
    conn.execute(
        sa.update(VERIFICATIONS)
        .where(VERIFICATIONS.c.id == verification)
        .values(issued=tx.ledger.issued[verification])
    )
    return blocks


def operate(
    store: Any,
    kind: str,
    *,
    unit_type: str,
    start: int,
    end: int,
    at: dt.datetime,
    actor: str | None = None,
    key: str | None = None,
    check: Callable[[Block], None] | None = None,
    after: Callable[[sa.Connection, list[int]], None] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Apply ``kind`` to serials ``[start, end]`` of ``unit_type``, splitting the block first.

    ``fields`` are the event's own (``to``, ``beneficiary`` and ``purpose``, ``reason`` …, see
    :mod:`restora.registry.ledger`). ``check`` (the service's authorisation: does the caller
    hold the block?) sees the locked block before anything is written and raises to refuse.
    ``after(conn, event_ids)`` writes a caller's own records in the same transaction (a
    venue's auction or trade). Returns the events written and the blocks as they are after.
    """
    payload = {"unit_type": unit_type, "start": start, "end": end, **fields}

    def body(tx: _Tx) -> None:
        operate_in(
            tx, kind, unit_type=unit_type, start=start, end=end, at=at, actor=actor, key=key,
            check=check, **fields,
        )  # fmt: skip

    return _run(store, kind, payload, key, at, body, after)


def operate_in(
    tx: _Tx,
    kind: str,
    *,
    unit_type: str,
    start: int,
    end: int,
    at: dt.datetime,
    actor: str | None = None,
    key: str | None = None,
    check: Callable[[Block], None] | None = None,
    **fields: Any,
) -> Block:
    """:func:`operate` inside a write that is already open (several operations, one transaction).

    Returns the block the operation wrote.
    """
    if kind not in BLOCK_KINDS or kind == "split":
        raise LedgerError(f"{kind!r} is not an operation on a block", field="kind")
    if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= end):
        raise LedgerError(f"{start}-{end} is not a range of serial numbers", field="serial")
    b = _block_in(tx, unit_type, start, end)
    if check is not None:
        check(b)
    tx.load_accounts(
        [
            b.account,
            b.pending_to,
            b.lender,
            fields.get("to"),
            fields.get("lender"),
            fields.get("payee"),
        ]
    )
    if kind == "settle":
        tx.load_cash([fields.get("to"), fields.get("payee")])
    if kind == "retire" and fields.get("obligation") is not None:
        tx.load_obligation(str(fields["obligation"]))
    cur = b
    for at_serial, keep in ((start, 1), (end + 1, 0)):
        if cur.start < at_serial <= cur.end:
            tx.befores[len(tx.events)] = cur
            split = {
                "kind": "split",
                "unit_type": unit_type,
                "start": cur.start,
                "end": cur.end,
                "at_serial": at_serial,
            }
            cur = tx.apply(_stamp(split, at, actor, key))[keep]
    tx.befores[len(tx.events)] = cur
    event = {"kind": kind, "unit_type": unit_type, "start": start, "end": end}
    event.update({k: v for k, v in fields.items() if v is not None})
    return tx.apply(_stamp(event, at, actor, key))[0]


def signoff_evaluator(org_name: str | None) -> str:
    """How the log names the evaluator of a sign-off: its organisation, never the person (the
    log is public); ``role:evaluator`` for an evaluator of no organisation."""
    return org_name or "role:evaluator"


def _signoffs() -> sa.Select:  # type: ignore[type-arg]
    """Sign-off rows with their evaluator's organisation name (``evaluator_org``)."""
    return sa.select(SIGNOFFS, ORGS.c.name.label("evaluator_org")).outerjoin(
        ORGS, ORGS.c.id == SIGNOFFS.c.evaluator_org_id
    )


def _signoff_state(row: Any) -> dict[str, Any]:
    """A row of :func:`_signoffs` as the rules keep it (:attr:`Ledger.signoffs`)."""
    return {
        "project_id": row.project_id,
        "indicator": (row.evidence or {}).get("indicator"),
        "value": row.value,
        "decision": row.decision,
        "evaluator": signoff_evaluator(row.evaluator_org),
    }


def sign_off_in(
    tx: _Tx,
    *,
    milestone: str,
    project_id: str,
    indicator: str,
    value: float | None,
    target: float,
    decision: str,
    evaluator: str,
    evidence_sha256: str,
    report_sha256: str,
    at: dt.datetime,
    details: Mapping[str, Any] | None = None,
    actor: str | None = None,
    key: str | None = None,
) -> None:
    """Record an evaluator's decision on a milestone (a ``sign_off`` event; no unit moves).

    Inside a write that is already open (:func:`write`): the caller writes the sign-off row
    (``monitoring_signoffs``, with the event's id) in the same transaction. The milestone's
    last sign-off is read from ``monitoring_signoffs``; the rules refuse a second acceptance.
    ``details`` (the tranche released, the verification recorded) go into the event as they are.
    ``evaluator`` is the organisation as :func:`signoff_evaluator` names it (the event is public:
    never a username).
    """
    last = tx.conn.execute(
        _signoffs()
        .where(SIGNOFFS.c.milestone_id == milestone)
        .order_by(SIGNOFFS.c.id.desc())
        .limit(1)
    ).first()
    if last is not None:
        tx.ledger.signoffs[milestone] = _signoff_state(last)
    event: dict[str, Any] = {
        "kind": "sign_off",
        "milestone": milestone,
        "project_id": project_id,
        "indicator": indicator,
        "value": value,
        "target": target,
        "decision": decision,
        "evaluator": evaluator,
        "evidence_sha256": evidence_sha256,
        "report_sha256": report_sha256,
    }
    event.update({k: v for k, v in (details or {}).items() if v is not None})
    tx.apply(_stamp(event, at, actor, key))


def _block_in(tx: _Tx, unit_type: str, start: int, end: int) -> Block:
    """The block holding ``[start, end]``: one this write already changed, else locked."""
    for b in tx.ledger.blocks.values():
        if b.unit_type == unit_type and b.start <= start <= b.end:
            if end > b.end:
                raise LedgerError(
                    f"serials {start}-{end} of {unit_type} are not in one block "
                    f"({serial_id(b)} ends at {b.end})",
                    field="serial",
                )
            return b
    row_id, b = _lock_block(tx.conn, unit_type, start, end)
    tx.ledger.blocks[b.key] = b
    tx.rows[b.key] = row_id
    return b


# ------------------------------------------------------------------------------ the Merkle log
def _node_hashes(
    conn: sa.Connection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored hashes of complete subtrees ``(level, idx)``; level 0 are the leaf hashes."""
    out: dict[tuple[int, int], bytes] = {}
    leaves = sorted({i for lv, i in keys if lv == 0})
    inner = sorted({(lv, i) for lv, i in keys if lv > 0})
    if leaves:
        q = sa.select(LEAVES.c.leaf_index, LEAVES.c.leaf_hash).where(
            LEAVES.c.leaf_index.in_(leaves)
        )
        out.update({(0, int(i)): bytes(h) for i, h in conn.execute(q)})
    if inner:
        cond = sa.or_(*(sa.and_(NODES.c.level == lv, NODES.c.idx == i) for lv, i in inner))
        q = sa.select(NODES.c.level, NODES.c.idx, NODES.c.hash).where(cond)
        out.update({(int(r[0]), int(r[1])): bytes(r[2]) for r in conn.execute(q)})
    return out


def _log_size(conn: sa.Connection) -> int:
    n = conn.execute(sa.select(sa.func.max(LEAVES.c.leaf_index))).scalar()
    return 0 if n is None else int(n) + 1


def _root(conn: sa.Connection, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    keys = merkle.perfect_nodes(0, size)
    nodes = _node_hashes(conn, keys)
    return merkle.fold_perfect([nodes[k] for k in keys])


def _head(row: Any) -> TreeHead:
    return TreeHead(
        row.origin, int(row.size), bytes(row.root), row.timestamp, row.key_id, bytes(row.signature)
    )


def integrate(
    store: Any,
    *,
    at: dt.datetime,
    key: Any = None,
    origin: str | None = None,
    batch: int = SEQUENCE_BATCH,
) -> dict[str, Any] | None:
    """Sequence pending events into the Merkle log and sign the new tree head.

    Takes up to ``batch`` pending events in event-id order, gives them the next leaf indices,
    stores their leaf hashes and the complete subtrees they close, and — with the registry's
    Ed25519 ``key`` — signs and stores the tree head (also when nothing was pending but the
    current size has no head yet). Returns ``{"size", "root", "sequenced", "head"}``, or None
    when another sequencer holds the lock (PostgreSQL; it will sequence these events).
    """
    engine = _engine(store)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            got = conn.execute(
                sa.text(
                    "SELECT pg_try_advisory_xact_lock(:c, hashtext(coalesce(current_schema(), '')))"
                ),
                {"c": SEQUENCER_LOCK_CLASS},
            ).scalar()
            if not got:
                return None
        q = (
            sa.select(PENDING.c.event_id, EVENTS.c.data)
            .join(EVENTS, EVENTS.c.id == PENDING.c.event_id)
            .order_by(PENDING.c.event_id)
            .limit(batch)
        )
        pending = conn.execute(q).all()
        size = _log_size(conn)
        nodes = _node_hashes(conn, merkle.perfect_nodes(0, size)) if size else {}
        leaves: list[dict[str, Any]] = []
        inner: list[dict[str, Any]] = []
        for n, (event_id, data) in enumerate(pending):
            idx = size + n
            h = merkle.leaf_hash(data.encode("utf-8"))
            leaves.append({"leaf_index": idx, "event_id": event_id, "leaf_hash": h})
            nodes[(0, idx)] = h
            level, j = 0, idx
            while j % 2 == 1:
                parent = merkle.node_hash(nodes[(level, j - 1)], nodes[(level, j)])
                level, j = level + 1, j // 2
                nodes[(level, j)] = parent
                inner.append({"level": level, "idx": j, "hash": parent})
        if leaves:
            conn.execute(sa.insert(LEAVES), leaves)
            if inner:
                conn.execute(sa.insert(NODES), inner)
            conn.execute(
                sa.delete(PENDING).where(PENDING.c.event_id.in_([r["event_id"] for r in leaves]))
            )
        new_size = size + len(leaves)
        root = (
            merkle.fold_perfect([nodes[k] for k in merkle.perfect_nodes(0, new_size)])
            if new_size
            else merkle.EMPTY_ROOT
        )
        head: TreeHead | None = None
        if key is not None:
            signed = conn.execute(sa.select(HEADS).where(HEADS.c.size == new_size)).first()
            if signed is None:
                head = sign_head(key, new_size, root, at, **({"origin": origin} if origin else {}))
                conn.execute(
                    sa.insert(HEADS).values(
                        size=head.size,
                        root=head.root,
                        origin=head.origin,
                        timestamp=head.timestamp,
                        key_id=head.key_id,
                        signature=head.signature,
                    )
                )
                pub = public_bytes(key.public_key())
                if (
                    conn.execute(
                        sa.select(KEYS.c.key_id).where(KEYS.c.key_id == key_id(pub))
                    ).first()
                    is None
                ):
                    conn.execute(
                        sa.insert(KEYS).values(key_id=key_id(pub), public_key=pub, created_at=at)
                    )
            else:
                head = _head(signed)
        return {"size": new_size, "root": root, "sequenced": len(leaves), "head": head}


def integrate_all(
    store: Any, *, at: dt.datetime, key: Any = None, origin: str | None = None
) -> dict[str, Any]:
    """:func:`integrate` until nothing is pending (waits for another sequencer's lock)."""
    import time

    while True:
        out = integrate(store, at=at, key=key, origin=origin)
        if out is None:  # another sequencer holds the lock: let it finish its batch
            time.sleep(0.01)
            continue
        if out["sequenced"] < SEQUENCE_BATCH:
            return out


def latest_head(store: Any, size: int | None = None) -> TreeHead | None:
    """The signed tree head of ``size`` events, or the latest one."""
    with _engine(store).connect() as conn:
        q = sa.select(HEADS)
        q = (
            q.where(HEADS.c.size == size)
            if size is not None
            else q.order_by(HEADS.c.size.desc()).limit(1)
        )
        row = conn.execute(q).first()
        return None if row is None else _head(row)


def public_keys(store: Any) -> dict[str, bytes]:
    """The public keys that signed the registry's tree heads, by key id (as stored)."""
    with _engine(store).connect() as conn:
        return {r.key_id: bytes(r.public_key) for r in conn.execute(sa.select(KEYS))}


def _range_hashes(conn: sa.Connection, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    per = [merkle.perfect_nodes(a, b) for a, b in ranges]
    nodes = _node_hashes(conn, [k for keys in per for k in keys])
    return [merkle.fold_perfect([nodes[k] for k in keys]) for keys in per]


def inclusion(store: Any, event_id: int, size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of an event in the tree of ``size`` events (default: the latest head).

    Returns the event's bytes, leaf index and hash, the proof (base64, from the leaf up) and the
    signed head of that size when there is one — what ``restora registry check-proof`` takes.
    """
    import base64

    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(LEAVES.c.leaf_index, LEAVES.c.leaf_hash, EVENTS.c.data)
            .join(EVENTS, EVENTS.c.id == LEAVES.c.event_id)
            .where(LEAVES.c.event_id == event_id)
        ).first()
        if row is None:
            pending = conn.execute(sa.select(PENDING).where(PENDING.c.event_id == event_id)).first()
            raise LedgerError(
                f"event {event_id} is "
                + (
                    "not sequenced yet: ask again in a moment" if pending else "not in the registry"
                ),
                field="event",
            )
        head = None
        if size is None:
            hrow = conn.execute(sa.select(HEADS).order_by(HEADS.c.size.desc()).limit(1)).first()
            if hrow is None:
                raise LedgerError("the registry has no signed tree head yet", field="size")
            head = _head(hrow)
            size = head.size
        else:
            hrow = conn.execute(sa.select(HEADS).where(HEADS.c.size == size)).first()
            head = _head(hrow) if hrow else None
        idx = int(row.leaf_index)
        if not idx < size <= _log_size(conn):
            raise LedgerError(
                f"event {event_id} (leaf {idx}) is not in a tree of {size} events", field="size"
            )
        proof = _range_hashes(conn, merkle.inclusion_ranges(idx, size))
        return {
            "kind": "inclusion",
            "event_id": event_id,
            "event": row.data,
            "leaf_index": idx,
            "tree_size": size,
            "leaf_hash": base64.b64encode(bytes(row.leaf_hash)).decode(),
            "proof": [base64.b64encode(h).decode() for h in proof],
            "head": head.as_json() if head else None,
        }


def consistency(store: Any, size1: int, size2: int | None = None) -> dict[str, Any]:
    """The consistency proof that the log of ``size1`` events is a prefix of ``size2``'s."""
    import base64

    with _engine(store).connect() as conn:
        hrow = (
            conn.execute(sa.select(HEADS).order_by(HEADS.c.size.desc()).limit(1)).first()
            if size2 is None
            else conn.execute(sa.select(HEADS).where(HEADS.c.size == size2)).first()
        )
        if size2 is None and hrow is None:
            raise LedgerError("the registry has no signed tree head yet", field="size2")
        size2 = int(hrow.size) if size2 is None and hrow is not None else int(size2 or 0)
        if not 0 < size1 <= size2 <= _log_size(conn):
            raise LedgerError(f"no consistency proof from {size1} to {size2} events", field="size1")
        proof = _range_hashes(conn, merkle.consistency_ranges(size1, size2))
        return {
            "kind": "consistency",
            "size1": size1,
            "size2": size2,
            "proof": [base64.b64encode(h).decode() for h in proof],
            "head": _head(hrow).as_json() if hrow else None,
        }


# ------------------------------------------------------------------------------ verify
@dataclass
class VerifyReport:
    """What ``restora registry verify`` found: counts and the first inconsistency, if any."""

    events: int = 0
    sequenced: int = 0
    pending: int = 0
    nodes: int = 0
    heads: int = 0
    blocks: int = 0
    problem: str | None = None
    trusted_keys: str = "stored"

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "sequenced": self.sequenced,
            "pending": self.pending,
            "nodes": self.nodes,
            "heads": self.heads,
            "blocks": self.blocks,
            "keys": self.trusted_keys,
            "problem": self.problem,
        }


class _Stop(Exception):
    pass


def _state_problem(conn: sa.Connection, ledger: Ledger) -> tuple[str | None, int]:
    """The first difference between the replayed state and the stored one (and blocks seen)."""
    stored: dict[tuple[str, int], Block] = {}
    for r in conn.execute(
        sa.select(BLOCKS).order_by(BLOCKS.c.unit_type, BLOCKS.c.serial_start)
    ).mappings():
        blk = _block(r)
        stored[blk.key] = blk
    for k in sorted(set(stored) | set(ledger.blocks)):
        a, b = ledger.blocks.get(k), stored.get(k)
        if a is None:
            return f"stored block {serial_id(b) if b else k} is not the result of any event", len(
                stored
            )
        if b is None:
            return f"block {serial_id(a)} of the log is missing from the stored state", len(stored)
        if a.as_row() != b.as_row():
            diff = [n for n, v in a.as_row().items() if b.as_row()[n] != v]
            return (
                f"stored block {serial_id(b)} differs from the log in {', '.join(diff)} "
                f"(log: {', '.join(repr(a.as_row()[n]) for n in diff)})",
                len(stored),
            )
    accounts = {int(r.id): _account(r._mapping) for r in conn.execute(sa.select(ACCOUNTS))}
    if accounts != ledger.accounts:
        bad = sorted(set(accounts) ^ set(ledger.accounts)) or sorted(
            i for i in accounts if accounts[i] != ledger.accounts[i]
        )
        return f"stored account {bad[0]} differs from the log", len(stored)
    for v in conn.execute(sa.select(VERIFICATIONS)):
        if ledger.issued.get(v.id) != int(v.issued):
            return (
                f"verification {v.id}: stored issued {v.issued}, log {ledger.issued.get(v.id)}",
                len(stored),
            )
    if conn.execute(sa.select(sa.func.count()).select_from(VERIFICATIONS)).scalar_one() != len(
        ledger.verifications
    ):
        return "stored verifications differ from the log", len(stored)
    for c in conn.execute(sa.select(SERIALS)):
        if int(c.next_start) != ledger.next_serial.get(c.unit_type, 1):
            return (
                f"next {c.unit_type} serial: stored {c.next_start}, "
                f"log {ledger.next_serial.get(c.unit_type, 1)}",
                len(stored),
            )
    cash = {int(r.account_id): int(r.balance_fen) for r in conn.execute(sa.select(CASH))}
    if cash != {k: v for k, v in ledger.cash.items() if v or k in cash}:
        bad = sorted(set(cash) | set(ledger.cash))
        first = next(a for a in bad if cash.get(a, 0) != ledger.cash.get(a, 0))
        return (
            f"account {first}'s money: stored {cash.get(first, 0)} fen, log "
            f"{ledger.cash.get(first, 0)} fen",
            len(stored),
        )
    for o in conn.execute(sa.select(OBLIGATIONS)):
        if ledger.offset.get(o.id) != int(o.retired) or ledger.obligations.get(
            o.id
        ) != _obligation_record(o):
            return f"stored obligation {o.id} differs from the log", len(stored)
    if conn.execute(sa.select(sa.func.count()).select_from(OBLIGATIONS)).scalar_one() != len(
        ledger.obligations
    ):
        return "stored obligations differ from the log", len(stored)
    for p in conn.execute(sa.select(POLICIES)):
        if dict(p.policy) != ledger.policies.get(p.unit_type):
            return f"stored {p.unit_type} policy differs from the log", len(stored)
    signed: dict[str, dict[str, Any]] = {}
    for so in conn.execute(_signoffs().order_by(SIGNOFFS.c.id)):
        signed[so.milestone_id] = _signoff_state(so)
    if signed != ledger.signoffs:
        odd = sorted(set(signed) ^ set(ledger.signoffs)) or sorted(
            m for m in signed if signed[m] != ledger.signoffs[m]
        )
        return f"stored sign-off of milestone {odd[0]} differs from the log", len(stored)
    return None, len(stored)


def verify(
    store: Any,
    *,
    keys: Mapping[str, bytes] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Recompute everything from the events and report the first inconsistency.

    In order: every leaf index from 0 has its event, whose bytes are canonical and hash to the
    stored leaf hash, and whose look-up columns agree with it; the rules accept every event in
    leaf order, then the pending ones in id order; no event is outside both; every stored node
    hash is the hash of its two children; every signed tree head's root is the root of that
    many leaves and its signature verifies with ``keys`` (key id → raw public key; default the
    keys stored in the registry, which a reader who does not trust the database should not
    use: give the published key); the stored blocks, accounts, verifications, serial counters
    and policies equal the state the events build. ``progress(done, total)`` is called now
    and then.
    """
    report = VerifyReport(trusted_keys="given" if keys is not None else "stored")
    engine = _engine(store)
    with engine.connect().execution_options(restora_read_only=True) as conn, conn.begin():
        if keys is None:
            keys = {r.key_id: bytes(r.public_key) for r in conn.execute(sa.select(KEYS))}
        total = int(conn.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar_one())
        report.events = total
        ledger = Ledger()
        hashes: list[bytes] = []
        try:
            _replay_log(conn, ledger, hashes, report, progress, total)
            _check_nodes(conn, hashes, report)
            _check_heads(conn, hashes, keys, report)
            problem, report.blocks = _state_problem(conn, ledger)
            if problem:
                raise _Stop(problem)
        except _Stop as stop:
            report.problem = str(stop)
    return report


_EVENT_LOOKUP = (
    EVENTS.c.kind,
    EVENTS.c.unit_type,
    EVENTS.c.serial_start,
    EVENTS.c.serial_end,
    EVENTS.c.account_id,
    EVENTS.c.to_account_id,
    EVENTS.c.project_id,
)  # in the order of _event_columns


def _replay_log(
    conn: sa.Connection,
    ledger: Ledger,
    hashes: list[bytes],
    report: VerifyReport,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    # only the columns checked (not ``at``: parsing a million times would cost seconds)
    q = (
        sa.select(LEAVES.c.leaf_index, LEAVES.c.leaf_hash, LEAVES.c.event_id, EVENTS.c.id,
                  EVENTS.c.data, *_EVENT_LOOKUP)
        .join(EVENTS, EVENTS.c.id == LEAVES.c.event_id, isouter=True)
        .order_by(LEAVES.c.leaf_index)
    )  # fmt: skip
    seen = 0
    names = [c.name for c in _EVENT_LOOKUP]

    def check(raw: bytes, stored: tuple[Any, ...], event_id: int, leaf: int | None) -> None:
        nonlocal seen

        def where() -> str:
            return (
                f"event {event_id} (leaf {leaf})"
                if leaf is not None
                else f"pending event {event_id}"
            )

        try:
            event = decode(raw)
        except LedgerError as exc:
            raise _Stop(f"{where()}: {exc}") from None
        before = None
        if event.get("kind") in BLOCK_KINDS:
            b = ledger.blocks.get((event.get("unit_type"), event.get("start")))  # type: ignore[arg-type]
            before = b if b is not None and b.end == event.get("end") else None
        if stored[0] != event.get("kind"):
            raise _Stop(
                f"{where()}: its kind column says {stored[0]}, its bytes {event.get('kind')}"
            )
        try:
            ledger.apply(event)
        except LedgerError as exc:
            raise _Stop(f"{where()}: the registry's rules refuse it: {exc}") from None
        cols = tuple(_event_columns(event, before, ledger).values())
        if stored != cols:
            for name, got, value in zip(names, stored, cols, strict=True):
                if got != value:
                    raise _Stop(f"{where()}: its {name} column says {got!r}, its bytes {value!r}")
        seen += 1
        if progress is not None and seen % 10_000 == 0:
            progress(seen, total)

    result = conn.execution_options(yield_per=10_000).execute(q)
    for expected, row in enumerate(result):
        if int(row[0]) != expected:
            raise _Stop(f"leaf {expected} is missing (the next stored leaf is {row[0]})")
        if row[3] is None:
            raise _Stop(f"leaf {expected}: its event {row[2]} is missing")
        raw = row[4].encode("utf-8")
        h = merkle.leaf_hash(raw)
        if h != bytes(row[1]):
            raise _Stop(
                f"event {row[3]} (leaf {expected}): its bytes do not hash to the stored leaf hash "
                "(changed after it was logged)"
            )
        hashes.append(h)
        check(raw, tuple(row[5:]), row[3], expected)
    report.sequenced = len(hashes)
    q2 = (
        sa.select(EVENTS.c.id, EVENTS.c.data, *_EVENT_LOOKUP)
        .join(PENDING, PENDING.c.event_id == EVENTS.c.id)
        .order_by(EVENTS.c.id)
    )
    for prow in conn.execution_options(yield_per=10_000).execute(q2):
        check(prow[1].encode("utf-8"), tuple(prow[2:]), prow[0], None)
        report.pending += 1
    if report.sequenced + report.pending != total:
        last = conn.execute(
            sa.select(EVENTS.c.id)
            .where(
                ~EVENTS.c.id.in_(sa.select(LEAVES.c.event_id)),
                ~EVENTS.c.id.in_(sa.select(PENDING.c.event_id)),
            )
            .limit(1)
        ).scalar()
        raise _Stop(f"event {last} is neither in the Merkle tree nor pending")
    if progress is not None:
        progress(total, total)


def _levels(hashes: list[bytes]) -> list[list[bytes]]:
    levels = [hashes]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        levels.append([merkle.node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)])
    return levels


def _check_nodes(conn: sa.Connection, hashes: list[bytes], report: VerifyReport) -> None:
    levels = _levels(hashes)
    expected = sum(len(lv) for lv in levels[1:])
    q = sa.select(NODES.c.level, NODES.c.idx, NODES.c.hash).order_by(NODES.c.level, NODES.c.idx)
    n = 0
    for level, idx, h in conn.execution_options(yield_per=20_000).execute(q):
        level, idx = int(level), int(idx)
        if not (1 <= level < len(levels) and idx < len(levels[level])):
            raise _Stop(f"stored node ({level}, {idx}) is outside the tree of {len(hashes)} leaves")
        if levels[level][idx] != bytes(h):
            raise _Stop(f"stored node ({level}, {idx}) is not the hash of its children")
        n += 1
    if n != expected:
        raise _Stop(f"{expected - n} node hashes of the tree are missing")
    report.nodes = n
    report._levels = levels  # type: ignore[attr-defined]


def _check_heads(
    conn: sa.Connection, hashes: list[bytes], keys: Mapping[str, bytes], report: VerifyReport
) -> None:
    levels = report._levels  # type: ignore[attr-defined]
    for row in conn.execute(sa.select(HEADS).order_by(HEADS.c.size)):
        head = _head(row)
        if head.size > len(hashes):
            raise _Stop(f"the tree head of {head.size} events is beyond the log's {len(hashes)}")
        root = (
            merkle.fold_perfect([levels[lv][i] for lv, i in merkle.perfect_nodes(0, head.size)])
            if head.size
            else merkle.EMPTY_ROOT
        )
        if root != head.root:
            raise _Stop(f"the signed tree head of {head.size} events does not match the log's root")
        public = keys.get(head.key_id)
        if public is None:
            raise _Stop(
                f"the tree head of {head.size} events is signed by unknown key {head.key_id}"
            )
        if not verify_head(head, public):
            raise _Stop(f"the signature of the tree head of {head.size} events does not verify")
        report.heads += 1


# ------------------------------------------------------------------------------ reading
def replay_state(store: Any) -> Ledger:
    """The state the log builds (sequenced events in leaf order, then pending in id order)."""
    with _engine(store).connect() as conn:
        q = (
            sa.select(EVENTS.c.data)
            .join(LEAVES, LEAVES.c.event_id == EVENTS.c.id)
            .order_by(LEAVES.c.leaf_index)
        )
        q2 = (
            sa.select(EVENTS.c.data)
            .join(PENDING, PENDING.c.event_id == EVENTS.c.id)
            .order_by(EVENTS.c.id)
        )
        ledger = Ledger()
        for query in (q, q2):
            for (data,) in conn.execute(query):
                ledger.apply(decode(data))
        return ledger


def stored_blocks(store: Any) -> dict[tuple[str, int], Block]:
    """Every stored block, by (unit type, start)."""
    with _engine(store).connect() as conn:
        return {
            (r["unit_type"], r["serial_start"]): _block(r)
            for r in conn.execute(sa.select(BLOCKS)).mappings()
        }


def list_blocks(
    store: Any,
    *,
    account: int | None = None,
    project_id: str | None = None,
    unit_type: str | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Blocks, filtered, in serial order."""
    q = sa.select(BLOCKS).order_by(BLOCKS.c.unit_type, BLOCKS.c.serial_start).limit(limit)
    for col, value in (
        (BLOCKS.c.account_id, account),
        (BLOCKS.c.project_id, project_id),
        (BLOCKS.c.unit_type, unit_type),
        (BLOCKS.c.status, status),
    ):
        if value is not None:
            q = q.where(col == value)
    with _engine(store).connect() as conn:
        return [block_dict(r) for r in conn.execute(q).mappings()]


def get_event(store: Any, event_id: int) -> dict[str, Any] | None:
    """One event: its bytes decoded, leaf index (None while pending) and leaf hash."""
    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(EVENTS, LEAVES.c.leaf_index, LEAVES.c.leaf_hash)
            .join(LEAVES, LEAVES.c.event_id == EVENTS.c.id, isouter=True)
            .where(EVENTS.c.id == event_id)
        ).first()
        if row is None:
            return None
        return {
            "id": int(row.id),
            "kind": row.kind,
            "at": row.at,
            "data": json.loads(row.data),
            "bytes": row.data,
            "leaf_index": None if row.leaf_index is None else int(row.leaf_index),
            "leaf_hash": None if row.leaf_hash is None else bytes(row.leaf_hash).hex(),
        }


def statement(store: Any, account: int, *, limit: int = 1000) -> dict[str, Any]:
    """An account's statement: the account, its blocks now, and every event in or out of it.

    Each line names the event (id, kind, time), the serial block and the other account.
    """
    with _engine(store).connect() as conn:
        acc = conn.execute(sa.select(ACCOUNTS).where(ACCOUNTS.c.id == account)).mappings().first()
        if acc is None:
            raise LedgerError(f"no account {account} in the registry", field="account")
        q = (
            sa.select(EVENTS)
            .where(sa.or_(EVENTS.c.account_id == account, EVENTS.c.to_account_id == account))
            .order_by(EVENTS.c.id)
            .limit(limit)
        )
        lines = []
        for r in conn.execute(q):
            d = json.loads(r.data)
            lines.append(
                {
                    "event_id": int(r.id),
                    "kind": r.kind,
                    "at": r.at,
                    "unit_type": r.unit_type,
                    "start": r.serial_start,
                    "end": r.serial_end,
                    "count": None
                    if r.serial_start is None
                    else int(r.serial_end) - int(r.serial_start) + 1,
                    "direction": "in"
                    if r.to_account_id == account and r.account_id != account
                    else "out"
                    if r.to_account_id not in (None, account)
                    else "",
                    "other_account": r.to_account_id if r.account_id == account else r.account_id,
                    "data": d,
                }
            )
    return {"account": dict(acc), "blocks": list_blocks(store, account=account), "lines": lines}


def totals(store: Any, *, project_id: str | None = None) -> list[dict[str, Any]]:
    """Issued, retired, cancelled and outstanding serials per project and unit type.

    Outstanding are all blocks not retired or cancelled (held, listed, pending, pledged,
    frozen, buffer).
    """
    count = BLOCKS.c.serial_end - BLOCKS.c.serial_start + 1
    q = (
        sa.select(BLOCKS.c.project_id, BLOCKS.c.unit_type, BLOCKS.c.status, sa.func.sum(count))
        .group_by(BLOCKS.c.project_id, BLOCKS.c.unit_type, BLOCKS.c.status)
        .order_by(BLOCKS.c.project_id, BLOCKS.c.unit_type)
    )
    if project_id is not None:
        q = q.where(BLOCKS.c.project_id == project_id)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with _engine(store).connect() as conn:
        for project, unit_type, status, n in conn.execute(q):
            ut = UNIT_TYPES[unit_type]
            rec = out.setdefault(
                (project, unit_type),
                {
                    "project_id": project,
                    "unit_type": unit_type,
                    "measure": ut.measure,
                    "issued": 0,
                    "retired": 0,
                    "cancelled": 0,
                    "outstanding": 0,
                },
            )
            rec["issued"] += int(n)
            key = status if status in ("retired", "cancelled") else "outstanding"
            rec[key] += int(n)
    for rec in out.values():
        ut = UNIT_TYPES[rec["unit_type"]]
        rec["amounts"] = {
            k: ut.amount(rec[k]) for k in ("issued", "retired", "cancelled", "outstanding")
        }
    return list(out.values())


def iter_events(store: Any, *, after: int = 0, limit: int = 1000) -> Iterator[dict[str, Any]]:
    """Events with id > ``after``, in id order."""
    with _engine(store).connect() as conn:
        q = sa.select(EVENTS).where(EVENTS.c.id > after).order_by(EVENTS.c.id).limit(limit)
        rows = conn.execute(q).all()
    for r in rows:
        yield {"id": int(r.id), "kind": r.kind, "at": r.at, "data": json.loads(r.data)}


def verification_unit_type(store: Any, verification: str) -> str:
    """The unit type of a recorded verification."""
    with _engine(store).connect() as conn:
        t = conn.execute(
            sa.select(VERIFICATIONS.c.unit_type).where(VERIFICATIONS.c.id == verification)
        ).scalar()
    if t is None:
        raise LedgerError(f"no verified outcome {verification!r}", field="verification")
    return str(t)


#: The right a lender takes over, per unit type (the pledge loan's ``kind``; matching's
#: collateral names).
RIGHT_OF_UNIT = {
    "CSINK": "carbon_sink",
    "CLQ": "land_quota",
    "FSQ": "land_quota",
    "PDR": "other",
    "EST": "other",
    "LUR": "other",
}


def collateral(store: Any, project_id: str) -> dict[str, Any]:
    """A project's registered units as collateral: what is pledged, to whom, and what is free.

    ``pledged``: blocks pledged to a lender (serial, amount, measure, lender account and
    name, pledge reference); ``free``: held blocks that could be pledged, per unit type;
    both read by the market's listings (restora.store.market) and turned into a pledge loan's
    rights by :func:`restora.finance.instruments.pledge_loan.rights_from_registry`.
    """
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(BLOCKS, ACCOUNTS.c.name.label("lender_name"))
            .join(ACCOUNTS, ACCOUNTS.c.id == BLOCKS.c.lender, isouter=True)
            .where(BLOCKS.c.project_id == project_id, BLOCKS.c.status.in_(("held", "pledged")))
            .order_by(BLOCKS.c.unit_type, BLOCKS.c.serial_start)
        ).mappings()
        pledged: list[dict[str, Any]] = []
        free: dict[str, dict[str, Any]] = {}
        for r in rows:
            b = block_dict(r)
            if r["status"] == "pledged":
                pledged.append(
                    {
                        "serial": b["serial"],
                        "unit_type": b["unit_type"],
                        "right": RIGHT_OF_UNIT[b["unit_type"]],
                        "count": b["count"],
                        "amount": b["amount"],
                        "measure": b["measure"],
                        "lender": b["lender"],
                        "lender_name": r["lender_name"],
                        "pledge": (b["status_reason"] or "").removeprefix("pledge "),
                    }
                )
            else:
                f = free.setdefault(
                    b["unit_type"],
                    {"unit_type": b["unit_type"], "right": RIGHT_OF_UNIT[b["unit_type"]],
                     "count": 0, "amount": 0.0, "measure": b["measure"]},
                )  # fmt: skip
                f["count"] += b["count"]
                f["amount"] += b["amount"]
    return {"project_id": project_id, "pledged": pledged, "free": list(free.values())}
