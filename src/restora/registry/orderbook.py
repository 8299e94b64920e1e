"""A continuous double auction (limit order book) with price-time priority, in memory.

Carbon-sink credits trade continuously: buyers and sellers send limit orders, and each
arriving order (the *taker*) is matched at once against the best resting orders on the other
side (the *makers*):

- a buy matches sells whose limit is at or below the buy's limit, the lowest price first, and
  within one price the earliest arrival (smallest ``seq``) first; a sell matches buys at or
  above its limit, the highest price first, then the earliest;
- the trade price is the resting order's limit (the standard continuous-double-auction
  convention: the maker sets the price, a taker never pays more than its limit and may pay
  less);
- a partial fill leaves the remainder resting at its place (its priority is kept); a taker's
  unfilled remainder rests in the book at its limit;
- self-trade prevention: an order never matches an order of the same account; it skips it
  (both stay in the book, the resting one keeps its place) and goes on to the next one, so the
  book may hold a buy above a sell of the same account, never of two different accounts.

Quantities are integer counts of serial units (one unit = 1 t CO2e for carbon-sink credits),
prices integer fen (1/100 CNY) per unit.

>>> book = OrderBook()
>>> book.submit(Order("s1", "sell", "A", 10, 5_000, 1))
[]
>>> book.submit(Order("s2", "sell", "B", 10, 4_900, 2))
[]
>>> [(t.sell_order_id, t.quantity, t.price_fen) for t in book.submit(Order("b1", "buy", "C", 15, 5_100, 3))]
[('s2', 10, 4900), ('s1', 5, 5000)]
>>> book.asks()
[Level(price_fen=5000, quantity=5, orders=1)]

Rebuilding: the store keeps the resting orders (with their remaining quantities) and rebuilds
the book with :meth:`OrderBook.from_orders`; :meth:`OrderBook.resting` gives them back, and
``OrderBook.from_orders(book.resting())`` has the same depth and the same priority as
``book``.

References
----------
Friedman, D. (1993). The double auction market institution: a survey. In Friedman & Rust
(eds.), *The Double Auction Market*, 3-25 — continuous double auction, price-time priority.
Gould, M. D., Porter, M. A., Williams, S., McDonald, M., Fenn, D. J., Howison, S. D. (2013).
Limit order books. *Quantitative Finance* 13(11), 1709-1742, §2 (matching rules, the price of
a trade set by the resting order).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from restora.errors import InputError

Side = Literal["buy", "sell"]


@dataclass(frozen=True)
class Order:
    """A limit order.

    Attributes
    ----------
    order_id : str
        Unique id.
    side : {"buy", "sell"}
    account : str
        The trading account (self-trade prevention compares these).
    quantity : int
        Units to trade (for a resting order in :meth:`OrderBook.resting`: what remains) [unit].
    limit_fen : int
        Limit price [fen/unit]: a buy pays at most this, a sell receives at least this.
    seq : int
        Arrival order (time priority): strictly increasing across the orders of one book.
    """

    order_id: str
    side: Side
    account: str
    quantity: int
    limit_fen: int
    seq: int


@dataclass(frozen=True)
class Trade:
    """One fill: ``quantity`` units at ``price_fen`` (the maker's limit) [fen/unit]."""

    buy_order_id: str
    sell_order_id: str
    buyer: str
    seller: str
    quantity: int
    price_fen: int
    taker_order_id: str
    maker_order_id: str
    taker_side: Side


@dataclass(frozen=True)
class Level:
    """One price of the depth view: total resting ``quantity`` [unit] in ``orders`` orders."""

    price_fen: int
    quantity: int
    orders: int


class _Resting:
    """A resting order: its fixed fields and its remaining quantity."""

    __slots__ = ("order", "remaining")

    def __init__(self, order: Order, remaining: int) -> None:
        self.order = order
        self.remaining = remaining


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_order(order: Order) -> None:
    """Raise :class:`InputError` naming the order and field if ``order`` is malformed."""
    where = f"order {order.order_id!r}"
    if not isinstance(order.order_id, str) or not order.order_id:
        raise InputError("an order needs a non-empty order_id", row=where, field="order_id")
    if order.side not in ("buy", "sell"):
        raise InputError(f"{order.side!r}: side is buy or sell", row=where, field="side")
    if not isinstance(order.account, str) or not order.account:
        raise InputError("an order needs a non-empty account", row=where, field="account")
    if not _is_int(order.quantity) or order.quantity <= 0:
        raise InputError(
            f"{order.quantity!r}: the quantity is a positive integer of units",
            row=where,
            field="quantity",
        )
    if not _is_int(order.limit_fen) or order.limit_fen <= 0:
        raise InputError(
            f"{order.limit_fen!r}: the limit is a positive integer of fen",
            row=where,
            field="limit_fen",
        )
    if not _is_int(order.seq):
        raise InputError(f"{order.seq!r}: seq is an integer", row=where, field="seq")


class OrderBook:
    """An in-memory limit order book with price-time priority (see the module docstring).

    Each side is a dict price → FIFO queue of resting orders plus a sorted list of its prices
    (:mod:`bisect`), so the best price is at one end of the list and an order is matched in
    O(fills + price levels crossed); adding a new price level costs O(levels).
    """

    def __init__(self) -> None:
        self._levels: dict[Side, dict[int, deque[_Resting]]] = {"buy": {}, "sell": {}}
        self._prices: dict[Side, list[int]] = {"buy": [], "sell": []}  # ascending
        self._by_id: dict[str, _Resting] = {}
        self._seen: set[str] = set()
        self._last_seq: int | None = None

    # --- building ------------------------------------------------------------------------

    @classmethod
    def from_orders(cls, resting_orders: Iterable[Order]) -> OrderBook:
        """The book holding these resting orders (``quantity`` = what remains of each).

        The orders are replayed in ``seq`` order; resting orders of a real book never cross
        (two orders of different accounts that could trade would have traded), so the replay
        makes no trade and gives the same levels in the same time priority.

        Raises
        ------
        InputError
            A malformed order, a repeated ``order_id`` or ``seq``, or orders of different
            accounts that cross (they cannot all be resting).
        """
        book = cls()
        orders = sorted(resting_orders, key=lambda o: o.seq if _is_int(o.seq) else 0)
        for o in orders:
            validate_order(o)
            trades = book.submit(o)
            if trades:
                t = trades[0]
                raise InputError(
                    f"cannot all be resting: {t.maker_order_id!r} and {t.taker_order_id!r} of "
                    f"different accounts cross at {t.price_fen} fen",
                    row=f"order {o.order_id!r}",
                    field="limit_fen",
                )
        return book

    def submit(self, order: Order) -> list[Trade]:
        """Match ``order`` against the book; its remainder rests. Returns the trades in order.

        Raises
        ------
        InputError
            A malformed order, an ``order_id`` this book has already seen, or a ``seq`` not
            greater than every earlier one.
        """
        validate_order(order)
        where = f"order {order.order_id!r}"
        if order.order_id in self._seen:
            raise InputError("this order_id was already submitted", row=where, field="order_id")
        if self._last_seq is not None and order.seq <= self._last_seq:
            raise InputError(
                f"seq {order.seq} is not after the last one ({self._last_seq}): arrival order "
                "must increase",
                row=where,
                field="seq",
            )
        self._seen.add(order.order_id)
        self._last_seq = order.seq
        trades: list[Trade] = []
        remaining = order.quantity
        side = order.side
        other: Side = "sell" if side == "buy" else "buy"
        prices = self._prices[other]
        levels = self._levels[other]
        account = order.account
        limit = order.limit_fen
        # walk the opposite prices best first: ascending asks for a buy, descending bids for a sell
        k = 0
        n = len(prices)
        emptied: list[int] = []
        while remaining and k < n:
            price = prices[k] if side == "buy" else prices[n - 1 - k]
            if (side == "buy" and price > limit) or (side == "sell" and price < limit):
                break
            queue = levels[price]
            i = 0
            while remaining and i < len(queue):
                r = queue[i]
                if r.order.account == account:  # self-trade prevention: skip, keep its place
                    i += 1
                    continue
                q = remaining if remaining < r.remaining else r.remaining
                remaining -= q
                r.remaining -= q
                maker = r.order
                buy, sell = (order, maker) if side == "buy" else (maker, order)
                trades.append(
                    Trade(
                        buy.order_id,
                        sell.order_id,
                        buy.account,
                        sell.account,
                        q,
                        price,
                        order.order_id,
                        maker.order_id,
                        side,
                    )
                )
                if r.remaining == 0:
                    del queue[i]
                    del self._by_id[maker.order_id]
            if not queue:
                emptied.append(price)
            k += 1
        for price in emptied:
            del levels[price]
            prices.pop(bisect.bisect_left(prices, price))
        if remaining:
            self._rest(order, remaining)
        return trades

    def _rest(self, order: Order, remaining: int) -> None:
        r = _Resting(order, remaining)
        levels = self._levels[order.side]
        queue = levels.get(order.limit_fen)
        if queue is None:
            queue = levels[order.limit_fen] = deque()
            bisect.insort(self._prices[order.side], order.limit_fen)
        queue.append(r)
        self._by_id[order.order_id] = r

    def cancel(self, order_id: str) -> Order:
        """Remove a resting order; returns it with its remaining quantity.

        Raises
        ------
        InputError
            No resting order has this id (unknown, filled or already cancelled).
        """
        r = self._by_id.pop(order_id, None)
        if r is None:
            raise InputError(
                "no resting order with this id (unknown, filled or cancelled)",
                row=f"order {order_id!r}",
                field="order_id",
            )
        side, price = r.order.side, r.order.limit_fen
        queue = self._levels[side][price]
        queue.remove(r)
        if not queue:
            del self._levels[side][price]
            prices = self._prices[side]
            prices.pop(bisect.bisect_left(prices, price))
        return _with_quantity(r)

    # --- views ---------------------------------------------------------------------------

    def _depth(self, side: Side) -> list[Level]:
        prices = self._prices[side]
        ordered = reversed(prices) if side == "buy" else iter(prices)
        return [
            Level(p, sum(r.remaining for r in self._levels[side][p]), len(self._levels[side][p]))
            for p in ordered
        ]

    def bids(self) -> list[Level]:
        """Buy side by price, best (highest) first."""
        return self._depth("buy")

    def asks(self) -> list[Level]:
        """Sell side by price, best (lowest) first."""
        return self._depth("sell")

    def best_bid(self) -> int | None:
        """Highest resting buy limit [fen/unit], None if no buy rests."""
        return self._prices["buy"][-1] if self._prices["buy"] else None

    def best_ask(self) -> int | None:
        """Lowest resting sell limit [fen/unit], None if no sell rests."""
        return self._prices["sell"][0] if self._prices["sell"] else None

    def resting(self) -> list[Order]:
        """Every resting order with its remaining quantity, by ``seq`` (what the store keeps)."""
        return sorted((_with_quantity(r) for r in self._by_id.values()), key=lambda o: o.seq)

    def queue(self, side: Side, price_fen: int) -> list[Order]:
        """The resting orders at one price in time priority, with remaining quantities."""
        return [_with_quantity(r) for r in self._levels[side].get(price_fen, ())]

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._by_id


def _with_quantity(r: _Resting) -> Order:
    o = r.order
    return Order(o.order_id, o.side, o.account, r.remaining, o.limit_fen, o.seq)
