"""Sealed-bid auctions (restora.registry.auction): worked examples by hand, ties, validation,
and properties of both rules on random bids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restora.errors import InputError
from restora.registry.auction import Bid, clear_sealed_bid, rank_bids

T0 = datetime(2026, 5, 1, 9, 0)


def _t(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# A worked example (a construction-land quota lot, reserve 1 200 000.00 CNY = 120 000 000 fen):
#   A bids 1 530 000.00 CNY, B 1 410 000.00, C 1 410 000.00 (later than B), D 1 100 000.00.
#   D is below the reserve: invalid.  Valid, ranked: A, B, C (B before C: earlier).
#   first price : A pays its own bid, 153 000 000 fen.
#   second price: A pays max(second-highest valid = 141 000 000, reserve 120 000 000)
#                 = 141 000 000 fen.
RESERVE = 120_000_000
BIDS = [
    Bid("D", 110_000_000, _t(1), "bid-4"),
    Bid("C", 141_000_000, _t(30), "bid-3"),
    Bid("A", 153_000_000, _t(20), "bid-1"),
    Bid("B", 141_000_000, _t(10), "bid-2"),
]


def test_first_price_worked_example() -> None:
    r = clear_sealed_bid(BIDS, reserve_fen=RESERVE, rule="first_price")
    assert r.winner is not None and r.winner.bidder == "A"
    assert r.price_fen == 153_000_000
    assert "first price" in r.reason and "1,530,000.00 CNY" in r.reason
    assert [(x.rank, x.bid.bidder, x.valid) for x in r.ranking] == [
        (1, "A", True),
        (2, "B", True),
        (3, "C", True),
        (4, "D", False),
    ]


def test_second_price_worked_example() -> None:
    r = clear_sealed_bid(BIDS, reserve_fen=RESERVE, rule="second_price")
    assert r.winner is not None and r.winner.bid_id == "bid-1"
    assert r.price_fen == 141_000_000
    assert "second price" in r.reason and "'bid-2'" in r.reason


def test_second_price_single_valid_bid_pays_the_reserve() -> None:
    # only A reaches the reserve 1 000.00 CNY: A pays max(no second valid bid, reserve) = reserve
    bids = [Bid("A", 150_000, _t(0), "a"), Bid("B", 99_999, _t(1), "b")]
    r = clear_sealed_bid(bids, reserve_fen=100_000, rule="second_price")
    assert r.winner is not None and r.winner.bidder == "A"
    assert r.price_fen == 100_000
    assert "reserve" in r.reason
    # a bid below the reserve never sets the second price (it would be 99 999 otherwise)
    assert r.price_fen != 99_999


def test_bid_equal_to_reserve_is_valid() -> None:
    r = clear_sealed_bid([Bid("A", 100, _t(0), "a")], reserve_fen=100, rule="first_price")
    assert r.winner is not None and r.price_fen == 100


def test_no_bid_reaches_reserve() -> None:
    bids = [Bid("A", 90, _t(0), "a"), Bid("B", 95, _t(1), "b")]
    for rule in ("first_price", "second_price"):
        r = clear_sealed_bid(bids, reserve_fen=100, rule=rule)  # type: ignore[arg-type]
        assert r.winner is None and r.price_fen is None
        assert "reserve" in r.reason and "not sold" in r.reason
        assert [x.bid.bidder for x in r.ranking] == ["B", "A"]
        assert not any(x.valid for x in r.ranking)


def test_no_bids() -> None:
    r = clear_sealed_bid([], reserve_fen=100, rule="second_price")
    assert r.winner is None and r.ranking == () and "no bids" in r.reason


def test_tie_broken_by_time_then_bid_id() -> None:
    # same amount: earlier time wins; same amount and time: smaller bid_id wins
    # ("a" is the smallest id but the latest bid: time comes before the id)
    bids = [Bid("X", 500, _t(5), "a"), Bid("Y", 500, _t(2), "y"), Bid("Z", 500, _t(2), "x")]
    r = clear_sealed_bid(bids, reserve_fen=100, rule="second_price")
    assert [x.bid.bid_id for x in r.ranking] == ["x", "y", "a"]
    assert r.winner is not None and r.winner.bidder == "Z"
    assert r.price_fen == 500  # the tied second bid is the second price
    assert "tied" in r.reason


@pytest.mark.parametrize(
    ("bids", "reserve", "field"),
    [
        ([Bid("A", 0, T0, "a")], 1, "amount_fen"),
        ([Bid("A", -5, T0, "a")], 1, "amount_fen"),
        ([Bid("A", 10.5, T0, "a")], 1, "amount_fen"),  # type: ignore[arg-type]
        ([Bid("A", True, T0, "a")], 1, "amount_fen"),
        ([Bid("A", 10, T0, "a")], 0, "reserve_fen"),
        ([Bid("A", 10, T0, "a")], 1.0, "reserve_fen"),
        ([Bid("A", 10, T0, "a"), Bid("A", 12, _t(1), "b")], 1, "bidder"),
        ([Bid("A", 10, T0, "a"), Bid("B", 12, _t(1), "a")], 1, "bid_id"),
        ([Bid("", 10, T0, "a")], 1, "bidder"),
        ([Bid("A", 10, T0, "")], 1, "bid_id"),
        ([Bid("A", 10, T0, "a"), Bid("B", 12, T0.replace(tzinfo=UTC), "b")], 1, "at"),
    ],
)
def test_bad_input_names_the_field(bids: list[Bid], reserve: int, field: str) -> None:
    with pytest.raises(InputError) as e:
        clear_sealed_bid(bids, reserve_fen=reserve, rule="first_price")
    assert field in [p.field for p in e.value.problems]


def test_duplicate_bidder_message_names_both_bids() -> None:
    with pytest.raises(InputError, match=r"bid 'b'.*bidder 'A' already bid \('a'\)"):
        clear_sealed_bid(
            [Bid("A", 10, T0, "a"), Bid("A", 12, _t(1), "b")], reserve_fen=1, rule="first_price"
        )


def test_unknown_rule() -> None:
    with pytest.raises(InputError, match="unknown rule"):
        clear_sealed_bid([], reserve_fen=1, rule="english")  # type: ignore[arg-type]


# --- properties -----------------------------------------------------------------------------

bid_lists = st.lists(st.tuples(st.integers(1, 50), st.integers(0, 5)), min_size=0, max_size=8).map(
    lambda xs: [Bid(f"P{i}", a, _t(m), f"id{i:02d}") for i, (a, m) in enumerate(xs)]
)


@settings(max_examples=300, deadline=None)
@given(bids=bid_lists, reserve=st.integers(1, 50))
def test_properties_against_brute_force(bids: list[Bid], reserve: int) -> None:
    first = clear_sealed_bid(bids, reserve_fen=reserve, rule="first_price")
    second = clear_sealed_bid(bids, reserve_fen=reserve, rule="second_price")
    valid = [b for b in bids if b.amount_fen >= reserve]
    if not valid:
        assert first.winner is None and second.winner is None
        return
    # the winner: no other valid bid beats it on (amount, earlier time, smaller id)
    best = valid[0]
    for b in valid[1:]:
        if (b.amount_fen, -b.at.timestamp(), tuple(-ord(c) for c in b.bid_id)) > (
            best.amount_fen,
            -best.at.timestamp(),
            tuple(-ord(c) for c in best.bid_id),
        ):
            best = b
    assert first.winner == best and second.winner == best
    assert first.price_fen == best.amount_fen
    others = [b.amount_fen for b in valid if b is not best]
    assert second.price_fen == max([reserve, *others])
    assert reserve <= second.price_fen <= first.price_fen  # type: ignore[operator]
    # the result does not depend on the order the bids come in
    for perm in itertools.islice(itertools.permutations(bids), 6):
        assert clear_sealed_bid(perm, reserve_fen=reserve, rule="second_price") == second
    # the ranking lists every bid once, highest first
    assert sorted(x.bid.bid_id for x in first.ranking) == sorted(b.bid_id for b in bids)
    amounts = [x.bid.amount_fen for x in first.ranking]
    assert amounts == sorted(amounts, reverse=True)


def test_rank_bids_total_order() -> None:
    bids = [Bid("A", 5, _t(1), "b"), Bid("B", 5, _t(1), "a"), Bid("C", 6, _t(9), "c")]
    assert [b.bid_id for b in rank_bids(bids)] == ["c", "a", "b"]
