"""Sealed-bid auctions of one indivisible lot, as pure functions.

A construction-land quota, a farmland supplement quota or a lot of surplus earth and stone is
sold on the public resource trading platform as one lot. Every bidder hands in one sealed bid;
at the close the bids are opened and :func:`clear_sealed_bid` decides the winner and the price:

- ``"first_price"``: the highest valid bid wins and pays its own bid;
- ``"second_price"`` (Vickrey 1961): the highest valid bid wins and pays the higher of the
  second-highest valid bid and the reserve, so bidding one's true value is a dominant strategy.

Money is integer fen (1/100 CNY), so prices are exact.

>>> from datetime import datetime
>>> t = datetime(2026, 5, 1, 9)
>>> bids = [Bid("A", 1_500_000, t, "b1"), Bid("B", 1_300_000, t, "b2"), Bid("C", 900_000, t, "b3")]
>>> r = clear_sealed_bid(bids, reserve_fen=1_000_000, rule="second_price")
>>> r.winner.bidder, r.price_fen
('A', 1300000)
>>> [(x.rank, x.bid.bidder, x.valid) for x in r.ranking]
[(1, 'A', True), (2, 'B', True), (3, 'C', False)]

Rules of the clearing, all applied the same way by both rules:

- a bid below the reserve is invalid: it can neither win nor set the second price;
- ties in amount are broken by the earliest submission time ``at``, then by the smaller
  ``bid_id`` (string order), so the order is total and the result does not depend on the
  order the bids are passed in;
- one bid per bidder: a second bid of the same bidder is refused with
  :class:`~restora.errors.InputError` (a sealed bid is binding and cannot be revised: the
  platform, not the engine, decides what to do with a bidder who tries), as is a repeated
  ``bid_id``;
- amounts and the reserve are positive integers of fen (``bool`` is not an amount); ``at`` is
  either timezone-aware for every bid or naive for every bid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from restora.errors import InputError, Problem

Rule = Literal["first_price", "second_price"]
RULES: tuple[Rule, ...] = ("first_price", "second_price")


@dataclass(frozen=True)
class Bid:
    """One sealed bid.

    Attributes
    ----------
    bidder : str
        Who bids (an account id).
    amount_fen : int
        The bid [fen].
    at : datetime
        When the platform received it (tie-breaker: earlier wins).
    bid_id : str
        The platform's id of the bid (last tie-breaker, and the key of the disclosure).
    """

    bidder: str
    amount_fen: int
    at: datetime
    bid_id: str


@dataclass(frozen=True)
class RankedBid:
    """A bid's place in the opened bids: 1 is the highest; ``valid`` is False below the reserve."""

    rank: int
    bid: Bid
    valid: bool


@dataclass(frozen=True)
class AuctionResult:
    """The outcome of a sealed-bid auction.

    Attributes
    ----------
    winner : Bid or None
        The winning bid; None when no bid reaches the reserve.
    price_fen : int or None
        What the winner pays [fen]; None without a winner.
    rule : {"first_price", "second_price"}
    reserve_fen : int
        The reserve price [fen].
    reason : str
        Why this bid won at this price, or why nobody won (in words, for the disclosure).
    ranking : tuple of RankedBid
        Every bid, highest first, in the order that decided the auction (public after close).
    """

    winner: Bid | None
    price_fen: int | None
    rule: Rule
    reserve_fen: int
    reason: str
    ranking: tuple[RankedBid, ...]


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _fmt(fen: int) -> str:
    """``1234567`` → ``'12,345.67 CNY'``."""
    return f"{fen // 100:,}.{fen % 100:02d} CNY"


def _validate(bids: list[Bid], reserve_fen: int, rule: str) -> None:
    problems: list[Problem] = []
    if rule not in RULES:
        problems.append(Problem(f"unknown rule {rule!r}; one of {', '.join(RULES)}", field="rule"))
    if not _is_int(reserve_fen) or reserve_fen <= 0:
        problems.append(
            Problem(
                f"{reserve_fen!r}: the reserve is a positive integer of fen", field="reserve_fen"
            )
        )
    bidders: dict[str, str] = {}
    ids: set[str] = set()
    aware: set[bool] = set()
    for i, b in enumerate(bids, start=1):
        where = f"bid {b.bid_id!r}" if isinstance(b.bid_id, str) and b.bid_id else f"bid {i}"
        if not isinstance(b.bid_id, str) or not b.bid_id:
            problems.append(Problem("a bid needs a non-empty bid_id", row=where, field="bid_id"))
        elif b.bid_id in ids:
            problems.append(Problem("the same bid_id appears twice", row=where, field="bid_id"))
        ids.add(b.bid_id)
        if not isinstance(b.bidder, str) or not b.bidder:
            problems.append(Problem("a bid needs a non-empty bidder", row=where, field="bidder"))
        elif b.bidder in bidders:
            problems.append(
                Problem(
                    f"bidder {b.bidder!r} already bid ({bidders[b.bidder]!r}): one sealed bid "
                    "per bidder",
                    row=where,
                    field="bidder",
                )
            )
        else:
            bidders[b.bidder] = b.bid_id
        if not _is_int(b.amount_fen) or b.amount_fen <= 0:
            problems.append(
                Problem(
                    f"{b.amount_fen!r}: an amount is a positive integer of fen",
                    row=where,
                    field="amount_fen",
                )
            )
        if not isinstance(b.at, datetime):
            problems.append(Problem(f"{b.at!r}: not a datetime", row=where, field="at"))
        else:
            aware.add(b.at.utcoffset() is not None)
    if len(aware) > 1:
        problems.append(
            Problem("some bid times carry a time zone and some do not; use one kind", field="at")
        )
    if problems:
        raise InputError(problems=problems)


def rank_bids(bids: Iterable[Bid]) -> list[Bid]:
    """Bids highest first; ties by earliest ``at``, then smallest ``bid_id``.

    >>> from datetime import datetime
    >>> t0, t1 = datetime(2026, 5, 1, 9), datetime(2026, 5, 1, 10)
    >>> [b.bid_id for b in rank_bids([Bid("A", 5, t1, "a"), Bid("B", 5, t0, "b")])]
    ['b', 'a']
    """
    return sorted(bids, key=lambda b: (-b.amount_fen, b.at, b.bid_id))


def clear_sealed_bid(bids: Iterable[Bid], *, reserve_fen: int, rule: Rule) -> AuctionResult:
    """Winner and price of a sealed-bid auction of one indivisible lot.

    Parameters
    ----------
    bids : iterable of Bid
        The opened bids, amounts [fen]; one per bidder (see the module docstring).
    reserve_fen : int
        The reserve price (底价) [fen], a positive integer; bids below it are invalid.
    rule : {"first_price", "second_price"}
        First-price: the winner pays its own bid. Second-price (Vickrey): the winner pays
        max(second-highest valid bid, reserve).

    Returns
    -------
    AuctionResult
        Winner (None when no bid reaches the reserve), price [fen], the reason in words and
        every bid ranked.

    Raises
    ------
    InputError
        An unknown rule, a reserve or amount that is not a positive integer, a second bid of
        the same bidder, a repeated ``bid_id``, mixed aware and naive times; every problem is
        named with the bid and the field.

    Notes
    -----
    With valid bids :math:`b_{(1)} \\ge b_{(2)} \\ge \\dots` (all :math:`\\ge r`, the reserve),
    the first-price winner pays :math:`b_{(1)}` and the second-price winner pays
    :math:`\\max(b_{(2)}, r)`, which is :math:`r` when only one bid is valid.

    References
    ----------
    Vickrey, W. (1961). Counterspeculation, auctions, and competitive sealed tenders. *Journal
    of Finance* 16(1), 8-37 — the second-price sealed-bid auction.
    Krishna, V. (2010). *Auction Theory*, 2nd ed., ch. 2 (first- and second-price auctions with
    a reserve price).
    """
    bid_list = list(bids)
    _validate(bid_list, reserve_fen, rule)
    ordered = rank_bids(bid_list)
    ranking = tuple(RankedBid(i, b, b.amount_fen >= reserve_fen) for i, b in enumerate(ordered, 1))
    valid = [r.bid for r in ranking if r.valid]
    if not valid:
        reason = (
            "no bids" if not ordered else f"no bid reaches the reserve of {_fmt(reserve_fen)}"
        ) + "; the lot is not sold"
        return AuctionResult(None, None, rule, reserve_fen, reason, ranking)
    top = valid[0]
    tie = len(valid) > 1 and valid[1].amount_fen == top.amount_fen
    tie_note = (
        f"; tied with bid {valid[1].bid_id!r} at {_fmt(top.amount_fen)}, won by the earlier "
        "submission (then the smaller bid id)"
        if tie
        else ""
    )
    if rule == "first_price":
        price = top.amount_fen
        reason = f"highest valid bid, pays its own bid of {_fmt(price)} (first price){tie_note}"
    else:
        if len(valid) > 1:
            price = max(valid[1].amount_fen, reserve_fen)
            reason = (
                f"highest valid bid, pays the second-highest valid bid ({valid[1].bid_id!r}) of "
                f"{_fmt(price)} (second price, Vickrey){tie_note}"
            )
        else:
            price = reserve_fen
            reason = (
                f"the only valid bid, pays the reserve of {_fmt(price)} (second price, Vickrey)"
            )
    return AuctionResult(top, price, rule, reserve_fen, reason, ranking)
