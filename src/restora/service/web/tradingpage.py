"""The registry's venues on the web (docs/registry.md "Venues", docs/web.md).

Signed in:

- ``/registry/trading`` (``trading.read``): the organisation's money on the trading platform
  (held, committed to resting buys, free), the open auctions with a sealed-bid form for its own
  accounts, its bids, the carbon-sink order book with buy and sell forms and its orders (cancel);
  a lot holder's form to offer a lot by auction; for the bureau (``trading.admin``) the cash
  desk (deposit, withdraw) and the close of each auction past its time;
- ``/registry/earth-stone`` and ``/registry/earth-stone/{mine_id}`` (``earthstone.read``): per
  mine, approved by year against sold and hauled, and the alerts in words; for the natural
  resources bureau the approved-surplus form and the weighbridge upload;
- ``/registry/obligations`` (``offset.read``): the offset obligations with their status; the
  bureaus' form to record one.

Public (no sign-in, ``registry.public``):

- ``/public/registry/auctions`` and ``/public/registry/auctions/{id}``: open and closed auctions
  — lot, amount in its measure, reserve, closing time, the number of sealed bids; after the
  close the result, the price and the ranked bids by account name;
- ``/public/registry/book``: the carbon-sink order books' depth and the latest trades.

Everything is read from the API in process (:mod:`restora.service.api.trading`) with the
caller's credentials; the forms write through it (``static/js/market.js``; the weighbridge
upload ``static/js/trading.js``). Times are shown in Beijing time (UTC+8).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from restora.service.permissions import allowed, page_action
from restora.service.web.i18n import N_
from restora.service.web.internal import api_get, api_json
from restora.service.web.pages import error_page, guard, html_errors
from restora.service.web.registrypage import _digits, _unit_names, words
from restora.service.web.render import gettext, render

router = APIRouter(include_in_schema=False)
API = "/api/v1/registry"
BigId = Annotated[int, Path(ge=1, le=2**62)]
MineId = Annotated[str, Path(max_length=64)]
CST = dt.timezone(dt.timedelta(hours=8))
AUCTION_TYPES = ("CLQ", "FSQ", "EST", "PDR", "LUR")

AUCTION_STATUS = {
    "open": N_("open for bids"),
    "closing": N_("past its time, awaiting the close"),
    "sold": N_("sold"),
    "no sale": N_("no sale"),
}
RULES = {"first_price": N_("first price"), "second_price": N_("second price (Vickrey)")}
SIDES = {"buy": N_("buy"), "sell": N_("sell")}
ORDER_STATUS = {"open": N_("resting"), "filled": N_("filled"), "cancelled": N_("cancelled")}
VENUES = {"auction": N_("auction"), "book": N_("order book")}
OBLIGATION_STATUS = {
    "met": N_("met"),
    "open": N_("open"),
    "overdue": N_("overdue"),
    "partly met, overdue": N_("partly met, overdue"),
}
#: the earth-and-stone alerts (restora.registry.earthstone.compliance) as sentences
ALERTS = {
    "RECORD-OTHER-MINE": N_("Ticket %(ticket)s belongs to another mine; it was left out."),
    "RECORD-DUPLICATE-TICKET": N_("Ticket %(ticket)s appears twice; the repeat was left out."),
    "RECORD-TARE-GE-GROSS": N_(
        "Ticket %(ticket)s: the empty weight is not below the loaded weight; it was left out."
    ),
    "RECORD-IMPLAUSIBLE-DENSITY": N_(
        "Ticket %(ticket)s: the density is not plausible for earth and stone; it was left out."
    ),
    "SOLD-BEYOND-APPROVED": N_("More was sold than the approved surplus allows, by %(excess)s m³."),
    "HAUL-UNSOLD-LOT": N_(
        "%(excess)s m³ were hauled against lot %(lot)s, which was never sold on the platform."
    ),
    "HAUL-BEYOND-LOT": N_("More was hauled from lot %(lot)s than was sold, by %(excess)s m³."),
    "HAUL-BEYOND-SOLD": N_("More was hauled in total than was sold, by %(excess)s m³."),
    "HAUL-BEYOND-APPROVED": N_(
        "More was hauled in total than the approved surplus, by %(excess)s m³."
    ),
    "HAUL-NO-WORKS-YEAR": N_(
        "%(excess)s m³ were hauled in %(year)s, a year without approved works."
    ),
    "HAUL-AHEAD-OF-PLAN": N_(
        "By the end of %(year)s hauling ran ahead of the plan's works by %(excess)s m³ beyond "
        "the tolerance."
    ),
}


def venue_words() -> dict[str, dict[str, str]]:
    return {
        **words(),
        "auction": AUCTION_STATUS,
        "rule": RULES,
        "side": SIDES,
        "order": ORDER_STATUS,
        "venue": VENUES,
        "obligation": OBLIGATION_STATUS,
    }


def cny(fen: Any) -> str:
    """Fen as yuan with two decimals and thin thousands separators."""
    if fen is None:
        return "—"
    return f"{int(fen) / 100:,.2f}".replace(",", "\u2009")


def bj(value: Any) -> str:
    """A time of the API (ISO 8601, UTC) in Beijing time, ``YYYY-MM-DD HH:MM``."""
    if not value:
        return "—"
    t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def _context(request: Request) -> dict[str, Any]:
    return {"words": venue_words(), "digits": _digits, "cny": cny, "bj": bj}


def alert_sentence(request: Request, alert: dict[str, Any]) -> str:
    """An alert of the earth-and-stone compliance in the page's language."""
    template = ALERTS.get(str(alert.get("code")))
    if template is None:
        return str(alert.get("message", ""))
    excess = alert.get("excess_m3")
    values = {
        "ticket": alert.get("ticket") or "—",
        "lot": alert.get("lot_id") or "—",
        "year": alert.get("year") or "—",
        "excess": "—" if excess is None else f"{float(excess):,.1f}".replace(",", "\u2009"),
    }
    return gettext(request, template) % values


# ----------------------------------------------------------------------------- signed in
@router.get("/registry/trading", dependencies=[Depends(page_action("trading.read"))])
@html_errors
async def trading_page(request: Request) -> Response:
    who = await guard(request, "trading.read")
    if isinstance(who, Response):
        return who
    mine = await api_json(request, f"{API}/trading/mine")
    auctions = await api_json(request, f"{API}/auctions")
    books = await api_json(request, f"{API}/books")
    may_admin = allowed(who.role, "trading.admin")
    may_trade = allowed(who.role, "trading.trade") and bool(mine["accounts"])
    my_ids = {a["account"] for a in mine["accounts"]}
    blocks: list[dict[str, Any]] = []
    if my_ids:
        _s, blocks = await api_get(request, f"{API}/blocks")
        blocks = [b for b in blocks or [] if b["account"] in my_ids and b["status"] == "held"]
    everyone: list[dict[str, Any]] = []
    if may_admin:
        everyone = await api_json(request, f"{API}/accounts")
    bid_in = {b["auction"] for b in mine["bids"]}
    return await render(
        request,
        "registry_trading.html",
        {
            "mine": mine,
            "open_auctions": [a for a in auctions if a["status"] in ("open", "closing")],
            "closed_auctions": [a for a in auctions if a["status"] not in ("open", "closing")][:10],
            "bid_in": bid_in,
            "account_names": {a["account"]: a["name"] for a in mine["accounts"]},
            "books": books,
            "sell_blocks": [b for b in blocks if b["unit_type"] == "CSINK"],
            "lot_blocks": [b for b in blocks if b["unit_type"] in AUCTION_TYPES],
            "everyone": everyone,
            "may_admin": may_admin,
            "may_trade": may_trade,
            "venues": {
                "earthstone": allowed(who.role, "earthstone.read"),
                "offsets": allowed(who.role, "offset.read"),
            },
            "default_close": (dt.datetime.now(CST) + dt.timedelta(days=7)).strftime(
                "%Y-%m-%dT10:00"
            ),
            "units": await _unit_names(request),
            **_context(request),
        },
        principal=who,
    )


async def _earth_stone(request: Request, mine_id: str | None) -> Response:
    who = await guard(request, "earthstone.read")
    if isinstance(who, Response):
        return who
    if mine_id is None:
        mines = await api_json(request, f"{API}/earth-stone")
    else:
        status, one = await api_get(request, f"{API}/earth-stone/{mine_id}")
        if status != 200:
            return await error_page(request, 404, N_("No such mine in your region."), who)
        mines = [one]
    names: dict[str, str] = {}
    for m in mines:
        m["sentences"] = [alert_sentence(request, a) for a in m["alerts"]]
        status, record = await api_get(request, f"/api/v1/mines/{m['mine_id']}")
        if status == 200 and isinstance(record, dict) and record.get("name"):
            names[m["mine_id"]] = str(record["name"])
    this_year = dt.datetime.now(CST).year
    return await render(
        request,
        "registry_earthstone.html",
        {
            "mines": mines,
            "mine_id": mine_id,
            "names": names,
            "may_write": allowed(who.role, "earthstone.write"),
            "years": list(range(this_year, this_year + 6)),
            **_context(request),
        },
        principal=who,
    )


@router.get("/registry/earth-stone", dependencies=[Depends(page_action("earthstone.read"))])
@html_errors
async def earth_stone_page(request: Request) -> Response:
    return await _earth_stone(request, None)


@router.get(
    "/registry/earth-stone/{mine_id}", dependencies=[Depends(page_action("earthstone.read"))]
)
@html_errors
async def earth_stone_mine_page(request: Request, mine_id: MineId) -> Response:
    return await _earth_stone(request, mine_id)


@router.get("/registry/obligations", dependencies=[Depends(page_action("offset.read"))])
@html_errors
async def obligations_page(request: Request) -> Response:
    who = await guard(request, "offset.read")
    if isinstance(who, Response):
        return who
    obligations = await api_json(request, f"{API}/obligations")
    return await render(
        request,
        "registry_obligations.html",
        {
            "obligations": obligations,
            "may_record": allowed(who.role, "offset.record"),
            "region": who.region or "",
            "units": await _unit_names(request),
            **_context(request),
        },
        principal=who,
    )


# ----------------------------------------------------------------------------- public
@router.get("/public/registry/auctions", dependencies=[Depends(page_action("registry.public"))])
async def public_auctions(request: Request) -> Response:
    _s, auctions = await api_get(request, f"{API}/auctions")
    auctions = auctions or []
    return await render(
        request,
        "public/registry_auctions.html",
        {
            "open_auctions": [a for a in auctions if a["status"] in ("open", "closing")],
            "closed_auctions": [a for a in auctions if a["status"] not in ("open", "closing")],
            "units": await _unit_names(request),
            **_context(request),
        },
    )


@router.get(
    "/public/registry/auctions/{auction_id}",
    dependencies=[Depends(page_action("registry.public"))],
)
async def public_auction(request: Request, auction_id: BigId) -> Response:
    status, auction = await api_get(request, f"{API}/auctions/{auction_id}")
    if status != 200:
        return await render(
            request, "error.html", {"status": 404, "message": N_("No such auction.")}, status=404
        )
    return await render(
        request,
        "public/registry_auction.html",
        {"a": auction, "units": await _unit_names(request), **_context(request)},
    )


@router.get("/public/registry/book", dependencies=[Depends(page_action("registry.public"))])
async def public_book(request: Request) -> Response:
    _s, books = await api_get(request, f"{API}/books")
    _s, trades = await api_get(request, f"{API}/trades", {"limit": 30})
    return await render(
        request,
        "public/registry_book.html",
        {
            "books": books or [],
            "trades": trades or [],
            "units": await _unit_names(request),
            **_context(request),
        },
    )
