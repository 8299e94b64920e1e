"""Trading venues on the registry's ledger: sealed-bid auctions, the order book, earth and stone.

Every movement of units or money a venue causes is a ledger event (``list``, ``settle``,
``delist``; restora.store.registry) written in the same transaction as the venue's own rows
(auction, bids, orders, trades): a trade either settles units and money together or not at all.

- **Sealed-bid auctions** (:func:`create_auction`, :func:`place_bid`, :func:`close_auction`)
  of quota and earth-and-stone lots on the public resource trading platform: the lot is
  listed at creation; bids are kept sealed until the close (only their number is shown); a
  bidder must hold the bid in money on the platform; the close clears with
  :func:`restora.registry.auction.clear_sealed_bid` (first- or second-price, reserve) and
  settles the lot, or delists it when no bid reaches the reserve.
- **Order book** (:func:`submit_order`, :func:`cancel_order`) of carbon-sink credits: one
  continuous double auction per unit type and vintage (``CSINK-2026``), price-time priority
  (restora.registry.orderbook). A sell order lists one block; a buy order needs its
  quantity × limit in money not yet committed to the buyer's other resting buy orders. Each
  fill settles the first serials of the resting sell's block at the maker's price.
- **Earth and stone** (:func:`set_surplus`, :func:`import_weighbridge`,
  :func:`earth_and_stone`): each mine's approved surplus by year from its restoration plan;
  a lot offered beyond the approved surplus (sold and on offer counted) is refused
  (restora.registry.earthstone.check_sale); proceeds go to the mine's restoration account;
  weighbridge tickets are imported and :func:`restora.registry.earthstone.compliance`
  raises alerts for hauling beyond what was sold or ahead of the plan's works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.registry import auction as auction_rules
from restora.registry import earthstone
from restora.registry.ledger import UNIT_TYPES, Block, LedgerError, serial_id
from restora.registry.orderbook import Order, OrderBook
from restora.store.registry import _run, _Tx, committed_fen, operate_in
from restora.store.registry_tables import registry_accounts as ACCOUNTS
from restora.store.registry_tables import registry_auctions as AUCTIONS
from restora.store.registry_tables import registry_bids as BIDS
from restora.store.registry_tables import registry_blocks as BLOCKS
from restora.store.registry_tables import registry_books as BOOKS
from restora.store.registry_tables import registry_cash as CASH
from restora.store.registry_tables import registry_orders as ORDERS
from restora.store.registry_tables import registry_surplus as SURPLUS
from restora.store.registry_tables import registry_trades as TRADES
from restora.store.registry_tables import registry_weighbridge as WEIGHBRIDGE

AUCTION_TYPES = ("CLQ", "FSQ", "EST", "PDR", "LUR")
"""Unit types sold by sealed-bid auction on the public resource trading platform."""
BOOK_TYPES = ("CSINK",)
"""Unit types traded on the continuous order book."""


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _locked(conn: sa.Connection, q: Any) -> Any:
    return q.with_for_update() if conn.dialect.name == "postgresql" else q


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


# ------------------------------------------------------------------------------ earth and stone
def set_surplus(
    store: Any,
    mine_id: str,
    approved: Mapping[int, float],
    *,
    at: dt.datetime,
    project_id: str | None = None,
    plan_sha256: str | None = None,
) -> None:
    """Record a mine's approved surplus earth and stone by year [m³] from its restoration plan."""
    clean: dict[str, float] = {}
    for year, v in approved.items():
        if not (isinstance(v, int | float) and v >= 0):
            raise InputError(f"{v!r} is not a volume ≥ 0", row=f"year {year}", field="approved")
        clean[str(int(year))] = float(v)
    with _engine(store).begin() as conn:
        conn.execute(sa.delete(SURPLUS).where(SURPLUS.c.mine_id == mine_id))
        conn.execute(
            sa.insert(SURPLUS).values(
                mine_id=mine_id,
                project_id=project_id,
                approved=clean,
                plan_sha256=plan_sha256,
                updated_at=at,
            )
        )


def surplus_from_plan(plan: Any) -> dict[int, float]:
    """Approved surplus by year [m³] of a restoration plan (its slope-cutting works)."""
    from restora.revenue.from_plan import volume_by_year

    years, vol = volume_by_year(plan)
    return {int(y): float(v) for y, v in zip(years, vol, strict=True)}


def _est_volumes(conn: sa.Connection, mine_id: str) -> dict[str, float]:
    """Approved, sold and on-offer earth and stone of a mine [m³]."""
    row = conn.execute(sa.select(SURPLUS.c.approved).where(SURPLUS.c.mine_id == mine_id)).first()
    approved = sum(float(v) for v in (row.approved if row else {}).values())
    sold = 0.0
    for r in conn.execute(
        sa.select(TRADES.c.serial_start, TRADES.c.serial_end, BLOCKS.c.attrs)
        .join(
            BLOCKS,
            sa.and_(
                BLOCKS.c.unit_type == TRADES.c.unit_type,
                BLOCKS.c.serial_start == TRADES.c.serial_start,
            ),
        )
        .where(TRADES.c.unit_type == "EST")
    ):
        if (r.attrs or {}).get("mine_id") == mine_id:
            sold += UNIT_TYPES["EST"].amount(int(r.serial_end) - int(r.serial_start) + 1)
    offered = 0.0
    for r in conn.execute(
        sa.select(AUCTIONS.c.serial_start, AUCTIONS.c.serial_end, BLOCKS.c.attrs)
        .join(
            BLOCKS,
            sa.and_(
                BLOCKS.c.unit_type == AUCTIONS.c.unit_type,
                BLOCKS.c.serial_start == AUCTIONS.c.serial_start,
            ),
        )
        .where(AUCTIONS.c.unit_type == "EST", AUCTIONS.c.status == "open")
    ):
        if (r.attrs or {}).get("mine_id") == mine_id:
            offered += UNIT_TYPES["EST"].amount(int(r.serial_end) - int(r.serial_start) + 1)
    return {"approved": approved, "sold": sold, "offered": offered, "has_plan": row is not None}


def import_weighbridge(
    store: Any, path: str | Path, *, at: dt.datetime, mine_id: str | None = None, **kwargs: Any
) -> int:
    """Import weighbridge tickets (CSV or xlsx, restora.registry.earthstone.read_weighbridge).

    All or nothing: a ticket already imported is refused, naming the file and ticket, and
    nothing of the file is written. Returns the number of tickets imported.
    """
    records = earthstone.read_weighbridge(path, mine_id=mine_id, **kwargs)
    name = Path(path).name
    with _engine(store).begin() as conn:
        tickets = [r.ticket for r in records]
        seen = {
            t
            for (t,) in conn.execute(
                sa.select(WEIGHBRIDGE.c.ticket).where(WEIGHBRIDGE.c.ticket.in_(tickets))
            )
        }
        if seen:
            first = next(t for t in tickets if t in seen)
            raise InputError(
                f"ticket {first} was imported before; nothing of this file was imported",
                file=name,
                row=f"ticket {first}",
                field="ticket",
            )
        if records:
            conn.execute(
                sa.insert(WEIGHBRIDGE),
                [
                    {
                        "ticket": r.ticket,
                        "mine_id": r.mine_id,
                        "lot": r.lot_id,
                        "at": r.at,
                        "vehicle": r.vehicle,
                        "gross_t": r.gross_t,
                        "tare_t": r.tare_t,
                        "density_t_per_m3": r.density_t_per_m3,
                        "source": name,
                        "imported_at": at,
                    }
                    for r in records
                ],
            )
    return len(records)


def earth_and_stone(store: Any, mine_id: str) -> dict[str, Any]:
    """A mine's earth and stone: approved, sold, on offer, hauled, and the compliance alerts."""
    with _engine(store).connect() as conn:
        volumes = _est_volumes(conn, mine_id)
        row = conn.execute(
            sa.select(SURPLUS.c.approved).where(SURPLUS.c.mine_id == mine_id)
        ).first()
        approved = {int(y): float(v) for y, v in (row.approved if row else {}).items()}
        lots: list[earthstone.Lot] = []
        for r in conn.execute(
            sa.select(TRADES, BLOCKS.c.attrs)
            .join(
                BLOCKS,
                sa.and_(
                    BLOCKS.c.unit_type == TRADES.c.unit_type,
                    BLOCKS.c.serial_start == TRADES.c.serial_start,
                ),
            )
            .where(TRADES.c.unit_type == "EST")
        ):
            if (r.attrs or {}).get("mine_id") != mine_id:
                continue
            b = {"unit_type": "EST", "start": r.serial_start, "end": r.serial_end}
            lot_id = f"EST-{b['start']}-{b['end']}"
            count = int(r.serial_end) - int(r.serial_start) + 1
            lots.append(earthstone.Lot(lot_id, UNIT_TYPES["EST"].amount(count), _aware(r.at).year))
        records = [
            earthstone.WeighbridgeRecord(
                ticket=r.ticket,
                mine_id=r.mine_id,
                at=_aware(r.at),
                vehicle=r.vehicle,
                gross_t=r.gross_t,
                tare_t=r.tare_t,
                density_t_per_m3=r.density_t_per_m3,
                lot_id=r.lot,
            )
            for r in conn.execute(
                sa.select(WEIGHBRIDGE)
                .where(WEIGHBRIDGE.c.mine_id == mine_id)
                .order_by(WEIGHBRIDGE.c.at)
            )
        ]
    alerts = earthstone.compliance(approved, lots, records, mine_id=mine_id) if row else []
    hauled = sum(r.net_m3 for r in records if r.gross_t > r.tare_t and r.density_t_per_m3 > 0)
    return {
        "mine_id": mine_id,
        "approved_m3": volumes["approved"],
        "approved_by_year": approved,
        "sold_m3": volumes["sold"],
        "offered_m3": volumes["offered"],
        "hauled_m3": hauled,
        "lots": [lot.__dict__ for lot in lots],
        "alerts": [a.__dict__ for a in alerts],
        "has_plan": volumes["has_plan"],
    }


def _restoration_account(conn: sa.Connection, mine_id: str) -> int:
    acc = conn.execute(
        sa.select(ACCOUNTS.c.id)
        .where(ACCOUNTS.c.kind == "restoration", ACCOUNTS.c.mine_id == mine_id)
        .order_by(ACCOUNTS.c.id)
    ).first()
    if acc is None:
        raise LedgerError(
            f"mine {mine_id} has no restoration account: open one (kind restoration) to "
            "receive the proceeds of its earth and stone",
            field="payee",
        )
    return int(acc.id)


# ------------------------------------------------------------------------------ auctions
def create_auction(
    store: Any,
    *,
    unit_type: str,
    start: int,
    end: int,
    rule: str,
    reserve_fen: int,
    closes_at: dt.datetime,
    at: dt.datetime,
    actor: str | None = None,
    key: str | None = None,
    check: Callable[[Block], None] | None = None,
) -> dict[str, Any]:
    """Offer a lot (serials ``[start, end]``, split from its block) by sealed-bid auction.

    Earth and stone: refused when the lot with what was sold and is on offer would exceed the
    mine's approved surplus (``BeyondApprovedSurplus``), or when the mine has no approved
    surplus or no restoration account (the proceeds go there).
    """
    if unit_type not in AUCTION_TYPES:
        raise LedgerError(
            f"{unit_type} is not sold by auction (auctions: {', '.join(AUCTION_TYPES)})",
            field="unit_type",
        )
    if rule not in auction_rules.RULES:
        raise LedgerError(f"rule must be one of {', '.join(auction_rules.RULES)}", field="rule")
    if not isinstance(reserve_fen, int) or reserve_fen < 0:
        raise LedgerError("the reserve must be a whole number of fen ≥ 0", field="reserve_fen")
    if _aware(closes_at) <= _aware(at):
        raise LedgerError("the auction must close after it opens", field="closes_at")
    payload = {
        "unit_type": unit_type,
        "start": start,
        "end": end,
        "rule": rule,
        "reserve_fen": reserve_fen,
        "closes_at": closes_at.isoformat(),
    }
    out: dict[str, Any] = {}

    def body(tx: _Tx) -> None:
        conn = tx.conn
        from restora.store.registry import _block_in

        b = _block_in(tx, unit_type, start, end)
        if check is not None:
            check(b)
        payee = b.account
        if unit_type == "EST":
            mine = str(b.attrs.get("mine_id"))
            vol = _est_volumes(conn, mine)
            if not vol["has_plan"]:
                raise LedgerError(
                    f"mine {mine} has no approved surplus earth and stone (record its plan's "
                    "volumes first)",
                    field="mine_id",
                )
            earthstone.check_sale(
                vol["approved"],
                vol["sold"] + vol["offered"],
                UNIT_TYPES["EST"].amount(end - start + 1),
                mine_id=mine,
            )
            payee = _restoration_account(conn, mine)
        auction_id = int(
            conn.execute(
                sa.insert(AUCTIONS)
                .values(
                    unit_type=unit_type,
                    serial_start=start,
                    serial_end=end,
                    seller=b.account,
                    payee=payee,
                    rule=rule,
                    reserve_fen=reserve_fen,
                    closes_at=closes_at,
                    status="open",
                    created_at=at,
                )
                .returning(AUCTIONS.c.id)
            ).scalar_one()
        )
        operate_in(
            tx,
            "list",
            unit_type=unit_type,
            start=start,
            end=end,
            at=at,
            actor=actor,
            key=key,
            listing=f"auction {auction_id}",
        )
        out["auction"] = auction_id

    result = _run(store, "auction", payload, key, at, body)
    result["auction"] = out.get("auction")
    return result


def _auction(conn: sa.Connection, auction_id: int, lock: bool = False) -> Any:
    q = sa.select(AUCTIONS).where(AUCTIONS.c.id == auction_id)
    row = conn.execute(_locked(conn, q) if lock else q).first()
    if row is None:
        raise LedgerError(f"no auction {auction_id}", field="auction")
    return row


def place_bid(
    store: Any, auction_id: int, *, bidder: int, amount_fen: int, at: dt.datetime
) -> dict[str, Any]:
    """A sealed bid: one per bidder, before the close, covered by the bidder's free money.

    The bid's money is held until the close: free money is the balance less resting buy
    orders and other sealed bids in open auctions (:func:`restora.store.registry.committed_fen`);
    a withdrawal or another bid or buy beyond it is refused.
    """
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise LedgerError("a bid must be a whole number of fen > 0", field="amount_fen")
    with _engine(store).begin() as conn:
        a = _auction(conn, auction_id, lock=True)
        if a.status != "open" or _aware(at) >= _aware(a.closes_at):
            raise LedgerError(f"auction {auction_id} is closed to bids", field="auction")
        if bidder == a.seller:
            raise LedgerError("the seller cannot bid on its own lot", field="bidder")
        exists = conn.execute(
            sa.select(BIDS.c.id).where(BIDS.c.auction_id == auction_id, BIDS.c.bidder == bidder)
        ).first()
        if exists:
            raise LedgerError(
                f"account {bidder} has already bid in auction {auction_id} (one sealed bid each)",
                field="bidder",
            )
        cash = conn.execute(
            _locked(conn, sa.select(CASH.c.balance_fen).where(CASH.c.account_id == bidder))
        )
        have = int(cash.scalar() or 0)
        buys, bids = committed_fen(conn, bidder)
        if amount_fen > have - buys - bids:
            raise LedgerError(
                f"account {bidder} has {have - buys - bids} fen free on the platform ({buys} "
                f"committed to resting buy orders, {bids} held by sealed bids in open "
                "auctions), less than the bid",
                field="amount_fen",
            )
        bid_id = conn.execute(
            sa.insert(BIDS)
            .values(auction_id=auction_id, bidder=bidder, amount_fen=amount_fen, at=at)
            .returning(BIDS.c.id)
        ).scalar_one()
    return {"bid": int(bid_id), "auction": auction_id}


def close_auction(
    store: Any, auction_id: int, *, at: dt.datetime, actor: str | None = None
) -> dict[str, Any]:
    """Open the bids after the close, clear the auction and settle or delist the lot."""
    out: dict[str, Any] = {}

    def body(tx: _Tx) -> None:
        conn = tx.conn
        a = _auction(conn, auction_id, lock=True)
        if a.status != "open":
            raise LedgerError(f"auction {auction_id} is already {a.status}", field="auction")
        if _aware(at) < _aware(a.closes_at):
            raise LedgerError(
                f"auction {auction_id} closes at {_aware(a.closes_at).isoformat()}",
                field="auction",
            )
        bids = [
            auction_rules.Bid(str(r.bidder), int(r.amount_fen), _aware(r.at), str(r.id))
            for r in conn.execute(sa.select(BIDS).where(BIDS.c.auction_id == auction_id))
        ]
        result = auction_rules.clear_sealed_bid(bids, reserve_fen=int(a.reserve_fen), rule=a.rule)
        ranking = [
            {"rank": rb.rank, "bidder": int(rb.bid.bidder), "amount_fen": rb.bid.amount_fen,
             "valid": rb.valid}
            for rb in result.ranking
        ]  # fmt: skip
        common = {"unit_type": a.unit_type, "start": int(a.serial_start), "end": int(a.serial_end)}
        if result.winner is None:
            operate_in(tx, "delist", at=at, actor=actor, reason="no sale", **common)
            status = "no sale"
        else:
            operate_in(
                tx,
                "settle",
                at=at,
                actor=actor,
                to=int(result.winner.bidder),
                price_fen=int(result.price_fen or 0),
                trade=f"auction {auction_id}",
                payee=int(a.payee),
                **common,
            )
            status = "sold"
        out.update(
            status=status,
            reason=result.reason,
            winner=None if result.winner is None else int(result.winner.bidder),
            price_fen=result.price_fen,
            ranking=ranking,
            seller=int(a.seller),
            payee=int(a.payee),
        )

    def after(conn: sa.Connection, ids: list[int]) -> None:
        a = _auction(conn, auction_id)
        if out["status"] == "sold":
            conn.execute(
                sa.insert(TRADES).values(
                    venue="auction",
                    reference=f"auction {auction_id}",
                    unit_type=a.unit_type,
                    serial_start=a.serial_start,
                    serial_end=a.serial_end,
                    price_fen=out["price_fen"],
                    buyer=out["winner"],
                    seller=out["seller"],
                    payee=out["payee"],
                    event_id=ids[-1],
                    at=at,
                )
            )
        conn.execute(
            sa.update(AUCTIONS)
            .where(AUCTIONS.c.id == auction_id)
            .values(status=out["status"], result={k: v for k, v in out.items()})
        )

    result = _run(store, "close_auction", {"auction": auction_id}, None, at, body, after)
    result["auction"] = out
    return result


def auction_view(store: Any, auction_id: int, *, at: dt.datetime) -> dict[str, Any]:
    """An auction as anyone may see it: bids sealed (only their number) until it closes."""
    with _engine(store).connect() as conn:
        a = _auction(conn, auction_id)
        n = conn.execute(
            sa.select(sa.func.count()).select_from(BIDS).where(BIDS.c.auction_id == auction_id)
        ).scalar_one()
    view = {
        "id": int(a.id),
        "unit_type": a.unit_type,
        "serials": f"{a.serial_start}-{a.serial_end}",
        "amount": UNIT_TYPES[a.unit_type].amount(int(a.serial_end) - int(a.serial_start) + 1),
        "measure": UNIT_TYPES[a.unit_type].measure,
        "rule": a.rule,
        "reserve_fen": int(a.reserve_fen),
        "closes_at": _aware(a.closes_at),
        "status": a.status if a.status != "open" or _aware(at) < _aware(a.closes_at) else "closing",
        "bids": int(n),
    }
    if a.status != "open":
        view["result"] = a.result
    return view


# ------------------------------------------------------------------------------ order book
def book_name(unit_type: str, vintage: int) -> str:
    """The order book of a unit type and vintage, e.g. ``CSINK-2026``."""
    return f"{unit_type}-{vintage}"


def _book_orders(conn: sa.Connection, book: str) -> list[Any]:
    return list(
        conn.execute(
            sa.select(ORDERS)
            .where(ORDERS.c.book == book, ORDERS.c.status == "open")
            .order_by(ORDERS.c.id)
        )
    )


def submit_order(
    store: Any,
    *,
    side: str,
    account: int,
    limit_fen: int,
    at: dt.datetime,
    unit_type: str = "CSINK",
    vintage: int | None = None,
    quantity: int | None = None,
    start: int | None = None,
    end: int | None = None,
    actor: str | None = None,
    key: str | None = None,
    check: Callable[[Block], None] | None = None,
) -> dict[str, Any]:
    """Submit a limit order [fen per serial] and match it; every fill settles at once.

    A sell order offers serials ``[start, end]`` (listed, split from their block); its book
    is the block's unit type and vintage. A buy order names ``vintage`` and ``quantity``;
    the buyer's money must cover ``quantity × limit_fen`` beside its other resting buys and its
    sealed bids in open auctions.
    Returns the ledger's result with ``order`` (id, remaining, status) and ``trades``.
    """
    if unit_type not in BOOK_TYPES:
        raise LedgerError(f"{unit_type} is not traded on the order book", field="unit_type")
    if side not in ("buy", "sell"):
        raise LedgerError("side must be buy or sell", field="side")
    if not isinstance(limit_fen, int) or limit_fen <= 0:
        raise LedgerError("the limit must be a whole number of fen > 0", field="limit_fen")
    payload = {
        "side": side,
        "account": account,
        "limit_fen": limit_fen,
        "unit_type": unit_type,
        "vintage": vintage,
        "quantity": quantity,
        "start": start,
        "end": end,
    }
    out: dict[str, Any] = {"trades": []}
    settles: list[tuple[int, dict[str, Any]]] = []  # (event index, trade row)

    def body(tx: _Tx) -> None:
        conn = tx.conn
        from restora.store.registry import _block_in

        nonlocal quantity, vintage
        if side == "sell":
            if start is None or end is None:
                raise LedgerError("a sell order names its serials", field="serial")
            b = _block_in(tx, unit_type, start, end)
            if check is not None:
                check(b)
            if b.account != account:
                raise LedgerError(
                    f"block {serial_id(b)} is not in account {account}", field="account"
                )
            vintage, quantity = b.vintage, end - start + 1
        elif not (isinstance(quantity, int) and quantity > 0) or vintage is None:
            raise LedgerError("a buy order needs a vintage and a quantity > 0", field="quantity")
        book = book_name(unit_type, int(vintage))
        # the book's row serialises its orders (created on first use)
        if conn.execute(sa.select(BOOKS.c.book).where(BOOKS.c.book == book)).first() is None:
            conn.execute(sa.insert(BOOKS).values(book=book, trades=0))
        book_row = conn.execute(_locked(conn, sa.select(BOOKS).where(BOOKS.c.book == book))).one()
        resting = _book_orders(conn, book)
        if side == "buy":
            tx.load_cash([account])  # locked: the account's money decisions queue
            buys, bids = committed_fen(conn, account)
            have = tx.ledger.cash.get(account, 0)
            if buys + bids + quantity * limit_fen > have:
                raise LedgerError(
                    f"account {account} holds {have} fen; its resting buys commit {buys}, its "
                    f"sealed bids hold {bids} and this order needs {quantity * limit_fen}",
                    field="limit_fen",
                )
        order_id = int(
            conn.execute(
                sa.insert(ORDERS)
                .values(
                    book=book,
                    side=side,
                    account_id=account,
                    quantity=quantity,
                    remaining=quantity,
                    limit_fen=limit_fen,
                    unit_type=unit_type,
                    serial_start=start,
                    status="open",
                    at=at,
                )
                .returning(ORDERS.c.id)
            ).scalar_one()
        )
        if side == "sell":
            operate_in(
                tx, "list", unit_type=unit_type, start=int(start or 0), end=int(end or 0),
                at=at, actor=actor, key=key, listing=f"order {order_id}",
            )  # fmt: skip
        engine_book = OrderBook.from_orders(
            Order(
                str(r.id), r.side, str(r.account_id), int(r.remaining), int(r.limit_fen), int(r.id)
            )
            for r in resting
        )
        rows = {int(r.id): r for r in resting}
        sell_next = {int(r.id): int(r.serial_start) for r in resting if r.side == "sell"}
        if side == "sell":
            sell_next[order_id] = int(start or 0)
        remaining = {int(r.id): int(r.remaining) for r in resting}
        remaining[order_id] = int(quantity)
        trades = engine_book.submit(
            Order(str(order_id), side, str(account), int(quantity), limit_fen, order_id)  # type: ignore[arg-type]
        )
        n = int(book_row.trades)
        for t in trades:
            sell_id, buy_id = int(t.sell_order_id), int(t.buy_order_id)
            s0 = sell_next[sell_id]
            seller = int(rows[sell_id].account_id) if sell_id in rows else account
            n += 1
            operate_in(
                tx, "settle", unit_type=unit_type, start=s0, end=s0 + t.quantity - 1, at=at,
                actor=actor, to=int(t.buyer), price_fen=t.quantity * t.price_fen,
                trade=f"{book} trade {n}", payee=seller,
            )  # fmt: skip
            settles.append(
                (
                    len(tx.events) - 1,
                    {
                        "venue": "book",
                        "reference": f"{book} trade {n}",
                        "unit_type": unit_type,
                        "serial_start": s0,
                        "serial_end": s0 + t.quantity - 1,
                        "price_fen": t.quantity * t.price_fen,
                        "buyer": int(t.buyer),
                        "seller": seller,
                        "payee": seller,
                        "at": at,
                    },
                )
            )
            out["trades"].append(
                {"quantity": t.quantity, "price_fen": t.price_fen, "buy": buy_id, "sell": sell_id}
            )
            sell_next[sell_id] = s0 + t.quantity
            remaining[sell_id] -= t.quantity
            remaining[buy_id] -= t.quantity
        for oid, left in remaining.items():
            if oid != order_id and (oid not in rows or left == int(rows[oid].remaining)):
                continue
            conn.execute(
                sa.update(ORDERS)
                .where(ORDERS.c.id == oid)
                .values(
                    remaining=left,
                    serial_start=sell_next.get(oid),
                    status="filled" if left == 0 else "open",
                )
            )
        conn.execute(sa.update(BOOKS).where(BOOKS.c.book == book).values(trades=n))
        out["order"] = {"id": order_id, "book": book, "remaining": remaining[order_id]}

    def after(conn: sa.Connection, ids: list[int]) -> None:
        for index, row in settles:
            conn.execute(sa.insert(TRADES).values(event_id=ids[index], **row))

    result = _run(store, "order", payload, key, at, body, after)
    result.update(out)
    return result


def cancel_order(
    store: Any, order_id: int, *, account: int, at: dt.datetime, actor: str | None = None
) -> dict[str, Any]:
    """Cancel a resting order of ``account``; a sell's unsold serials are delisted."""

    def body(tx: _Tx) -> None:
        conn = tx.conn
        row = conn.execute(_locked(conn, sa.select(ORDERS).where(ORDERS.c.id == order_id))).first()
        if row is None or int(row.account_id) != account:
            raise LedgerError(f"no order {order_id} of account {account}", field="order")
        if row.status != "open":
            raise LedgerError(f"order {order_id} is {row.status}", field="order")
        if row.side == "sell" and int(row.remaining) > 0:
            s0 = int(row.serial_start)
            operate_in(
                tx, "delist", unit_type=row.unit_type, start=s0, end=s0 + int(row.remaining) - 1,
                at=at, actor=actor, reason=f"order {order_id} cancelled",
            )  # fmt: skip
        conn.execute(sa.update(ORDERS).where(ORDERS.c.id == order_id).values(status="cancelled"))

    return _run(store, "cancel_order", {"order": order_id}, None, at, body)


def depth(store: Any, book: str) -> dict[str, Any]:
    """The book's depth: price levels of resting buys and sells [fen per serial]."""
    with _engine(store).connect() as conn:
        resting = _book_orders(conn, book)
    engine_book = OrderBook.from_orders(
        Order(str(r.id), r.side, str(r.account_id), int(r.remaining), int(r.limit_fen), int(r.id))
        for r in resting
    )
    return {
        "book": book,
        "bids": [lv.__dict__ for lv in engine_book.bids()],
        "asks": [lv.__dict__ for lv in engine_book.asks()],
    }


def trades(store: Any, *, limit: int = 200) -> list[dict[str, Any]]:
    """The latest settlements of every venue."""
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(TRADES).order_by(TRADES.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


__all__: Sequence[str] = (
    "cancel_order",
    "close_auction",
    "create_auction",
    "depth",
    "earth_and_stone",
    "import_weighbridge",
    "place_bid",
    "set_surplus",
    "submit_order",
    "surplus_from_plan",
    "trades",
)
