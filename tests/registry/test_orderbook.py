"""The limit order book (restora.registry.orderbook): worked examples, a brute-force reference
matcher, conservation and limit properties, rebuilding, and speed."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.registry.orderbook import Level, Order, OrderBook, Side, Trade


def _o(oid: str, side: str, account: str, qty: int, limit: int, seq: int) -> Order:
    return Order(oid, side, account, qty, limit, seq)  # type: ignore[arg-type]


def test_worked_example_price_time_priority() -> None:
    # asks: s1 A 10@50.00 (seq 1), s2 B 10@49.00 (seq 2), s3 D 4@49.00 (seq 3)
    # buy C 20@51.00 (seq 4) takes 49.00 first (s2 before s3: earlier), then 50.00:
    #   s2 10@4900, s3 4@4900, s1 6@5000 -> 20 units; s1 keeps 4 resting
    book = OrderBook()
    for o in (
        _o("s1", "sell", "A", 10, 5000, 1),
        _o("s2", "sell", "B", 10, 4900, 2),
        _o("s3", "sell", "D", 4, 4900, 3),
    ):
        assert book.submit(o) == []
    trades = book.submit(_o("b1", "buy", "C", 20, 5100, 4))
    assert [(t.sell_order_id, t.quantity, t.price_fen) for t in trades] == [
        ("s2", 10, 4900),
        ("s3", 4, 4900),
        ("s1", 6, 5000),
    ]
    assert all(t.buyer == "C" and t.taker_order_id == "b1" for t in trades)
    # money: 10*4900 + 4*4900 + 6*5000 = 49 000 + 19 600 + 30 000 = 98 600 fen
    assert sum(t.quantity * t.price_fen for t in trades) == 98_600
    assert book.asks() == [Level(5000, 4, 1)]
    assert book.bids() == []


def test_remainder_rests_and_trade_price_is_makers() -> None:
    book = OrderBook()
    book.submit(_o("b1", "buy", "A", 5, 6000, 1))
    # a sell at 55.00 meets the resting buy at 60.00: price is the maker's 60.00
    trades = book.submit(_o("s1", "sell", "B", 8, 5500, 2))
    assert trades == [Trade("b1", "s1", "A", "B", 5, 6000, "s1", "b1", "sell")]
    assert book.asks() == [Level(5500, 3, 1)]
    assert book.bids() == []


def test_no_match_when_limits_do_not_cross() -> None:
    book = OrderBook()
    book.submit(_o("s1", "sell", "A", 5, 5001, 1))
    assert book.submit(_o("b1", "buy", "B", 5, 5000, 2)) == []
    assert book.best_bid() == 5000 and book.best_ask() == 5001


def test_self_trade_prevention_skips_own_order() -> None:
    # A's sell at 49 is first in priority, but A's buy skips it and takes B's at 50
    book = OrderBook()
    book.submit(_o("s1", "sell", "A", 5, 4900, 1))
    book.submit(_o("s2", "sell", "B", 5, 5000, 2))
    trades = book.submit(_o("b1", "buy", "A", 8, 5000, 3))
    assert [(t.sell_order_id, t.quantity, t.price_fen) for t in trades] == [("s2", 5, 5000)]
    # A's own sell keeps its place; A's buy rests crossed with it (same account only)
    assert book.asks() == [Level(4900, 5, 1)]
    assert book.bids() == [Level(5000, 3, 1)]
    # another account's sell at 49.50 trades with A's resting buy at A's 50.00
    trades = book.submit(_o("s3", "sell", "C", 1, 4950, 4))
    assert [(t.buy_order_id, t.price_fen) for t in trades] == [("b1", 5000)]


def test_self_trade_skip_within_a_level_keeps_queue_order() -> None:
    book = OrderBook()
    book.submit(_o("s1", "sell", "A", 2, 5000, 1))
    book.submit(_o("s2", "sell", "B", 2, 5000, 2))
    book.submit(_o("s3", "sell", "C", 2, 5000, 3))
    trades = book.submit(_o("b1", "buy", "A", 3, 5000, 4))
    assert [(t.sell_order_id, t.quantity) for t in trades] == [("s2", 2), ("s3", 1)]
    assert [(o.order_id, o.quantity) for o in book.queue("sell", 5000)] == [("s1", 2), ("s3", 1)]


def test_cancel() -> None:
    book = OrderBook()
    book.submit(_o("s1", "sell", "A", 5, 5000, 1))
    book.submit(_o("s2", "sell", "B", 7, 5000, 2))
    book.submit(_o("b1", "buy", "C", 2, 5000, 3))  # fills 2 of s1
    assert book.cancel("s1") == _o("s1", "sell", "A", 3, 5000, 1)
    assert book.asks() == [Level(5000, 7, 1)]
    book.cancel("s2")
    assert book.asks() == [] and len(book) == 0
    with pytest.raises(InputError, match="no resting order") as e:
        book.cancel("s2")
    assert e.value.problems[0].field == "order_id"


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (_o("x", "buy", "A", 0, 100, 1), "quantity"),
        (_o("x", "buy", "A", 1, 0, 1), "limit_fen"),
        (_o("x", "buy", "A", 1, 10.5, 1), "limit_fen"),  # type: ignore[arg-type]
        (_o("x", "hold", "A", 1, 100, 1), "side"),
        (_o("x", "buy", "", 1, 100, 1), "account"),
        (_o("", "buy", "A", 1, 100, 1), "order_id"),
    ],
)
def test_bad_orders(order: Order, field: str) -> None:
    with pytest.raises(InputError) as e:
        OrderBook().submit(order)
    assert e.value.problems[0].field == field


def test_duplicate_id_and_seq_order_refused() -> None:
    book = OrderBook()
    book.submit(_o("a", "buy", "A", 1, 100, 5))
    with pytest.raises(InputError) as e:
        book.submit(_o("a", "buy", "A", 1, 100, 6))
    assert e.value.problems[0].field == "order_id"
    with pytest.raises(InputError) as e:
        book.submit(_o("b", "buy", "A", 1, 100, 5))
    assert e.value.problems[0].field == "seq"


def test_from_orders_refuses_crossing_orders_of_different_accounts() -> None:
    with pytest.raises(InputError, match="cannot all be resting"):
        OrderBook.from_orders([_o("b", "buy", "A", 1, 5000, 1), _o("s", "sell", "B", 1, 4900, 2)])
    # the same account may rest crossed (self-trade prevention)
    book = OrderBook.from_orders(
        [_o("b", "buy", "A", 1, 5000, 1), _o("s", "sell", "A", 1, 4900, 2)]
    )
    assert book.best_bid() == 5000 and book.best_ask() == 4900


# --- the brute-force reference --------------------------------------------------------------


@dataclass
class _Ref:
    order: Order
    remaining: int


def reference_match(orders: list[Order]) -> tuple[list[Trade], list[Order]]:
    """Price-time priority by exhaustive search: for each arriving order, among all resting
    opposite orders of other accounts that cross its limit, take the best price, then the
    smallest seq, fill, repeat."""
    resting: list[_Ref] = []
    trades: list[Trade] = []
    for o in orders:
        left = o.quantity
        while left:
            if o.side == "buy":
                cands = [
                    r
                    for r in resting
                    if r.order.side == "sell"
                    and r.order.account != o.account
                    and r.order.limit_fen <= o.limit_fen
                ]
                key = lambda r: (r.order.limit_fen, r.order.seq)  # noqa: E731
            else:
                cands = [
                    r
                    for r in resting
                    if r.order.side == "buy"
                    and r.order.account != o.account
                    and r.order.limit_fen >= o.limit_fen
                ]
                key = lambda r: (-r.order.limit_fen, r.order.seq)  # noqa: E731
            if not cands:
                break
            m = min(cands, key=key)
            q = min(left, m.remaining)
            b, s = (o, m.order) if o.side == "buy" else (m.order, o)
            trades.append(
                Trade(
                    b.order_id,
                    s.order_id,
                    b.account,
                    s.account,
                    q,
                    m.order.limit_fen,
                    o.order_id,
                    m.order.order_id,
                    o.side,
                )
            )
            left -= q
            m.remaining -= q
            if m.remaining == 0:
                resting.remove(m)
        if left:
            resting.append(_Ref(o, left))
    rest = sorted(
        (
            Order(
                r.order.order_id,
                r.order.side,
                r.order.account,
                r.remaining,
                r.order.limit_fen,
                r.order.seq,
            )
            for r in resting
        ),
        key=lambda o: o.seq,
    )
    return trades, rest


order_flows = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["A", "B", "C"]),
        st.integers(1, 10),
        st.integers(95, 105),
    ),
    max_size=60,
).map(lambda xs: [Order(f"o{i}", s, a, q, p, i) for i, (s, a, q, p) in enumerate(xs)])  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(orders=order_flows)
def test_against_reference_and_invariants(orders: list[Order]) -> None:
    book = OrderBook()
    trades: list[Trade] = []
    for o in orders:
        trades.extend(book.submit(o))
    ref_trades, ref_rest = reference_match(orders)
    assert trades == ref_trades
    assert book.resting() == ref_rest
    by_id = {o.order_id: o for o in orders}
    filled: dict[str, int] = {}
    for t in trades:
        b, s = by_id[t.buy_order_id], by_id[t.sell_order_id]
        # no trade crosses a limit, none is a self-trade, the price is the maker's limit
        assert s.limit_fen <= t.price_fen <= b.limit_fen
        assert b.account != s.account
        assert t.price_fen == by_id[t.maker_order_id].limit_fen
        assert t.quantity > 0
        filled[b.order_id] = filled.get(b.order_id, 0) + t.quantity
        filled[s.order_id] = filled.get(s.order_id, 0) + t.quantity
    # quantity conserved: total filled on each side equal, and filled + resting = submitted
    bought = sum(q for oid, q in filled.items() if by_id[oid].side == "buy")
    sold = sum(q for oid, q in filled.items() if by_id[oid].side == "sell")
    assert bought == sold == sum(t.quantity for t in trades)
    rest = {o.order_id: o.quantity for o in book.resting()}
    for o in orders:
        assert filled.get(o.order_id, 0) + rest.get(o.order_id, 0) == o.quantity
    # no two orders of different accounts rest crossed
    for b in (o for o in book.resting() if o.side == "buy"):
        for s in (o for o in book.resting() if o.side == "sell"):
            assert b.limit_fen < s.limit_fen or b.account == s.account
    # rebuilding from the resting orders gives the same book
    again = OrderBook.from_orders(reversed(book.resting()))
    assert again.bids() == book.bids() and again.asks() == book.asks()
    assert again.resting() == book.resting()
    for lv in book.asks():
        assert again.queue("sell", lv.price_fen) == book.queue("sell", lv.price_fen)
    for lv in book.bids():
        assert again.queue("buy", lv.price_fen) == book.queue("buy", lv.price_fen)


@settings(max_examples=100, deadline=None)
@given(orders=order_flows, data=st.data())
def test_rebuilt_book_trades_like_the_original(orders: list[Order], data: st.DataObject) -> None:
    book = OrderBook()
    for o in orders:
        book.submit(o)
    again = OrderBook.from_orders(book.resting())
    side: Side = data.draw(st.sampled_from(["buy", "sell"]))
    qty, limit = data.draw(st.integers(1, 40)), data.draw(st.integers(95, 105))
    probe = Order("probe", side, "Z", qty, limit, 10_000)
    assert book.submit(probe) == again.submit(probe)


def test_cancel_matches_reference_of_remaining_orders() -> None:
    rng = random.Random(7)
    book = OrderBook()
    live: list[str] = []
    for i in range(2000):
        if live and rng.random() < 0.2:
            oid = live.pop(rng.randrange(len(live)))
            if oid in book:
                book.cancel(oid)
            continue
        o = Order(
            f"o{i}",
            rng.choice(["buy", "sell"]),
            rng.choice("ABCD"),
            rng.randint(1, 9),
            rng.randint(90, 110),
            i,
        )  # type: ignore[arg-type]
        book.submit(o)
        live.append(o.order_id)
    rest = book.resting()
    # the depth equals the sum of the resting orders at each price
    depth: dict[tuple[str, int], int] = {}
    for o in rest:
        depth[(o.side, o.limit_fen)] = depth.get((o.side, o.limit_fen), 0) + o.quantity
    assert {("buy", lv.price_fen): lv.quantity for lv in book.bids()} | {
        ("sell", lv.price_fen): lv.quantity for lv in book.asks()
    } == depth
    assert OrderBook.from_orders(rest).bids() == book.bids()


def test_speed_100k_orders() -> None:
    rng = random.Random(2026)
    orders = [
        Order(
            f"o{i}",
            "buy" if rng.random() < 0.5 else "sell",
            f"acct{rng.randrange(500)}",
            rng.randint(1, 100),
            rng.randint(4_500, 5_500),
            i,
        )  # type: ignore[arg-type]
        for i in range(100_000)
    ]
    book = OrderBook()
    start = time.perf_counter()
    n = 0
    for o in orders:
        n += len(book.submit(o))
    elapsed = time.perf_counter() - start
    assert n > 10_000  # the flow really trades
    assert elapsed < 5.0, f"100 000 orders took {elapsed:.2f} s"
