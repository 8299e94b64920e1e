"""The registry's venues over HTTP: money, sealed-bid auctions, the order book, offset
obligations, earth and stone (issue 15; docs/registry.md "Venues", docs/api.md).

The rules live in :mod:`restora.store.trading` and :mod:`restora.store.registry`; this module
decides **who** may ask for what, as :mod:`restora.service.api.registry` does (the same
organisation scoping, idempotency, sequencing and refusals: a rule of the ledger is 409 with
the rule's sentence; an account, auction or order the caller may not see is 404):

- **Money** on the trading platform (``/registry/accounts/{id}/money``): a deposit or a
  withdrawal is the platform's cash desk, the bureau's (``trading.admin``); an organisation
  reads the balance of its own accounts — what it holds, what its resting buy orders commit,
  what it may withdraw (``trading.read``; the bureaus and evaluators: every account).
- **Auctions** (``/registry/auctions``): the holder of a lot (its organisation holds the
  block's account) offers it (``trading.trade``); an organisation bids for its own account,
  one sealed bid each; **the bureau closes an auction explicitly** after its closing time
  (``trading.admin``) — reading a past-due auction never closes it, it shows as ``closing``
  until the bureau does. Anyone (no sign-in, ``registry.public``) reads the auctions: while
  open, the lot, reserve, closing time and only the *number* of sealed bids; after the close
  the result, the price and the ranked bids by account name.
- **Order book** (``/registry/orders``): sell, buy and cancel for one's own accounts
  (``trading.trade``); the depth of each book and the latest trades are public.
- **Offset obligations** (``/registry/obligations``): recorded by the ecology and environment
  or natural resources bureau (``offset.record``); listed with their status on the app's date
  to the staff (``offset.read``) of the obligation's region.
- **Earth and stone** per mine (``/registry/earth-stone/{mine_id}``): the natural resources
  bureau sets the approved surplus by year — from a restoration plan document (the one
  ``GET /mines/{id}/plan`` or ``restora plan make`` gives) or from ``{year: m³}`` — and
  uploads weighbridge files (CSV, GBK or UTF-8, or xlsx; all or nothing; a bad row is a 422
  naming the file, row and column, nothing stored) (``earthstone.write``); the bureaus and
  evaluators read the approved, sold, on-offer and hauled volumes and the alerts
  (``earthstone.read``). The mine's region scopes every earth-and-stone route.

No public response names a person: bids, trades and results name accounts (organisations).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from restora.service.api.registry import (
    REGULATORS,
    BigId,
    IdemKey,
    UnitTypeCode,
    WriteResult,
    _accounts,
    _actor,
    _call,
    _engine,
    _key,
    _names,
    _sees_account,
    _written,
    clock,
    my_accounts,
)
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.permissions import in_scope
from restora.service.problems import Problem
from restora.service.security import Principal, authorize, check_region
from restora.store.audit import Change, as_utc

router = APIRouter(prefix="/registry", tags=["registry venues"])
CanRead = Annotated[Principal, Depends(authorize("trading.read"))]
CanTrade = Annotated[Principal, Depends(authorize("trading.trade"))]
CanAdmin = Annotated[Principal, Depends(authorize("trading.admin"))]
CanRecordOffset = Annotated[Principal, Depends(authorize("offset.record"))]
CanReadOffset = Annotated[Principal, Depends(authorize("offset.read"))]
CanReadES = Annotated[Principal, Depends(authorize("earthstone.read"))]
CanWriteES = Annotated[Principal, Depends(authorize("earthstone.write"))]
Public = Annotated[Principal, Depends(authorize("registry.public"))]
MineId = Annotated[str, Path(max_length=64, description="the mine's id")]
Book = Annotated[
    str,
    Path(pattern=r"^[A-Z]{2,8}-\d{4}$", max_length=20, description="unit type and vintage"),
]
MAX_FEN = 10**15
CST = dt.timezone(dt.timedelta(hours=8), "CST")
MAX_WEIGHBRIDGE_BYTES = 20 * 1024 * 1024


def _t() -> Any:
    from restora.store import registry_tables

    return registry_tables


def _utc(value: Any) -> Any:
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _fen(fen: int | None, cny: Decimal | None, field: str) -> int:
    """An amount of money [fen] from ``<field>_fen`` or ``<field>_cny`` (exactly one)."""
    if (fen is None) == (cny is None):
        raise Problem(
            422,
            f"give either {field}_fen (fen) or {field}_cny (yuan, to the fen)",
            kind="invalid-input",
            errors=[{"field": f"{field}_cny", "in": "body", "message": "fen or yuan"}],
        )
    if fen is not None:
        return fen
    assert cny is not None
    value = (cny * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if value != cny * 100:
        raise Problem(
            422,
            f"{field}_cny: {cny} is not a sum of yuan to the fen",
            kind="invalid-input",
            errors=[{"field": f"{field}_cny", "in": "body", "message": "to the fen"}],
        )
    return int(value)


def _log(
    store: Any,
    change: Change,
    *,
    table: str,
    record_id: str | int,
    action: str,
    after: dict[str, Any],
    at: dt.datetime,
    mine_id: str | None = None,
) -> None:
    """The audit trail's record of a venue write that wrote no ledger event (a bid, a
    surplus, weighbridge tickets, a buy order cancelled)."""
    from restora.store.audit import log_change

    with _engine(store).begin() as conn:
        log_change(
            conn, change, table=table, record_id=record_id, action=action, after=after,
            mine_id=mine_id, when=at,
        )  # fmt: skip


def _not_yours(what: str) -> Problem:
    return Problem(404, f"no {what} of yours", kind="not-found")


def _own(store: Any, principal: Principal, account: int) -> None:
    """The caller's organisation holds ``account`` (admin: any account), else 404."""
    if principal.role == "admin":
        if not _accounts(store, [account]):
            raise _not_yours(f"account {account}")
        return
    if account not in my_accounts(store, principal):
        raise _not_yours(f"account {account}")


# ------------------------------------------------------------------------------ schemas
class Money(BaseModel):
    account: int
    name: str
    kind: str
    balance_fen: int = Field(description="money on the trading platform [fen]")
    committed_fen: int = Field(description="committed to resting buy orders [fen]")
    bids_fen: int = Field(0, description="held by sealed bids in open auctions [fen]")
    free_fen: int = Field(description="what may be withdrawn, bid or bought with [fen]")


class MoneyMove(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "deposit", "amount_cny": "25000.00"}]},
    )

    kind: Literal["deposit", "withdraw"]
    amount_fen: int | None = Field(None, ge=1, le=MAX_FEN, description="[fen]")
    amount_cny: Decimal | None = Field(None, gt=0, le=10**13, description="[CNY], to the fen")
    reference: str | None = Field(None, max_length=200, description="the bank slip's number")


class VenueResult(WriteResult):
    money: Money | None = None
    auction: dict[str, Any] | None = Field(None, description="the auction created or closed")
    bid: int | None = Field(None, description="the sealed bid's id")
    order: dict[str, Any] | None = Field(None, description="id, book, remaining")
    trades: list[dict[str, Any]] = Field(default_factory=list, description="fills [fen/serial]")


class AuctionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "unit_type": "CLQ",
                    "start": 1,
                    "end": 1200,
                    "rule": "second_price",
                    "reserve_cny": "24000.00",
                    "closes_at": "2030-12-31T10:00:00+08:00",
                }
            ]
        },
    )

    serial: str | None = Field(None, max_length=200, description="a block's serial id")
    count: int | None = Field(None, ge=1, le=10**12, description="with serial: its first serials")
    unit_type: UnitTypeCode | None = None
    start: int | None = Field(None, ge=1, le=2**62)
    end: int | None = Field(None, ge=1, le=2**62)
    rule: Literal["first_price", "second_price"] = "second_price"
    reserve_fen: int | None = Field(None, ge=0, le=MAX_FEN)
    reserve_cny: Decimal | None = Field(None, ge=0, le=10**13)
    closes_at: dt.datetime = Field(description="without a zone: China Standard Time (UTC+8)")


class BidCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"account": 1, "amount_cny": "28000.00"}]},
    )

    account: int = Field(ge=1, le=2**62, description="the bidder's account (its organisation's)")
    amount_fen: int | None = Field(None, ge=1, le=MAX_FEN)
    amount_cny: Decimal | None = Field(None, gt=0, le=10**13)


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"side": "buy", "account": 1, "vintage": 2026, "quantity": 10, "limit_cny": "55"}
            ]
        },
    )

    side: Literal["buy", "sell"]
    account: int = Field(ge=1, le=2**62)
    limit_fen: int | None = Field(None, ge=1, le=MAX_FEN, description="per serial [fen]")
    limit_cny: Decimal | None = Field(None, gt=0, le=10**13, description="per serial [CNY]")
    unit_type: Literal["CSINK"] = "CSINK"
    vintage: int | None = Field(None, ge=1990, le=2200, description="a buy's book")
    quantity: int | None = Field(None, ge=1, le=10**12, description="a buy's serials")
    serial: str | None = Field(None, max_length=200, description="a sell's block serial id")
    count: int | None = Field(None, ge=1, le=10**12, description="with serial: its first serials")
    start: int | None = Field(None, ge=1, le=2**62)
    end: int | None = Field(None, ge=1, le=2**62)


class OrderPublic(BaseModel):
    id: int
    book: str
    side: str
    account: int
    account_name: str | None = None
    quantity: int
    remaining: int
    limit_fen: int
    status: str
    at: dt.datetime


class BidMine(BaseModel):
    auction: int
    account: int
    amount_fen: int
    at: dt.datetime


class Ranked(BaseModel):
    rank: int
    account: str = Field(description="the bidder's account name")
    amount_fen: int
    valid: bool


class AuctionResult(BaseModel):
    status: str
    price_fen: int | None = None
    winner: str | None = Field(None, description="the winner's account name")
    ranking: list[Ranked] = Field(default_factory=list)


class AuctionPublic(BaseModel):
    id: int
    unit_type: str
    serial: str | None = None
    project_id: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)
    amount: float
    measure: str
    rule: str
    reserve_fen: int
    closes_at: dt.datetime
    created_at: dt.datetime | None = None
    status: str = Field(description="open, closing (past its time, the bureau closes it), sold, "
                        "no sale")  # fmt: skip
    bids: int = Field(description="the number of sealed bids")
    seller: str | None = Field(None, description="the seller's account name")
    result: AuctionResult | None = Field(None, description="after the close")


class Level(BaseModel):
    price_fen: int
    quantity: int
    orders: int


class Depth(BaseModel):
    book: str
    bids: list[Level]
    asks: list[Level]


class TradePublic(BaseModel):
    id: int
    venue: str
    reference: str
    unit_type: str
    serial: str | None = None
    amount: float
    measure: str
    price_fen: int = Field(description="the trade's total [fen]")
    buyer: str | None = Field(None, description="account name")
    seller: str | None = Field(None, description="account name")
    payee: str | None = Field(
        None, description="the account paid (earth and stone: the mine's restoration account)"
    )
    at: dt.datetime


class TradingMine(BaseModel):
    accounts: list[Money]
    orders: list[OrderPublic]
    bids: list[BidMine]


class ObligationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "obligation": "OB-430599-2026-01",
                    "party": "青山水泥有限公司",
                    "region_code": "430599",
                    "unit_type": "CSINK",
                    "required": 250,
                    "due": "2026-12-31",
                }
            ]
        },
    )

    obligation: str = Field(min_length=1, max_length=100)
    party: str = Field(min_length=1, max_length=200, description="the obliged organisation")
    region_code: str = Field(pattern=r"^\d{6}$")
    unit_type: UnitTypeCode
    required: int | None = Field(None, ge=1, le=10**12, description="serial numbers")
    amount: float | None = Field(None, gt=0, le=1e12, description="or in the unit's measure")
    due: dt.date
    eligible_regions: list[Annotated[str, Field(pattern=r"^\d{2,6}$")]] | None = Field(
        None, max_length=100, description="GB/T 2260 prefixes whose units count (default: all)"
    )


class ObligationPublic(BaseModel):
    obligation: str
    party: str
    region_code: str
    unit_type: str
    required: int
    due: str
    eligible_regions: list[str] | None = None
    retired: int = Field(description="eligible serials retired against it")
    outstanding: int
    status: str = Field(description="met, open, overdue, partly met, overdue")
    met_on: dt.date | None = None
    not_counted: list[dict[str, Any]] = Field(default_factory=list)


class SurplusSet(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"approved": {"2026": 30000, "2027": 20000}}]},
    )

    approved: dict[Annotated[int, Field(ge=1990, le=2200)], Annotated[float, Field(ge=0)]] | None = (
        Field(None, description="approved surplus by year [m³]")
    )  # fmt: skip
    plan: dict[str, Any] | None = Field(
        None, description="or the restoration plan document: its slope-cutting works by year"
    )
    project_id: str | None = Field(None, max_length=100)


class EarthStone(BaseModel):
    mine_id: str
    region_code: str | None = None
    has_plan: bool
    approved_m3: float
    approved_by_year: dict[int, float]
    sold_m3: float
    offered_m3: float
    hauled_m3: float
    years: list[dict[str, Any]] = Field(description="per year: approved, sold and hauled [m³]")
    lots: list[dict[str, Any]]
    alerts: list[dict[str, Any]] = Field(description="code, message, lot_id, year, ticket, excess")
    plan_sha256: str | None = None
    updated_at: dt.datetime | None = None


class WeighbridgeResult(BaseModel):
    file: str
    tickets: int
    status: EarthStone


# ------------------------------------------------------------------------------ money
def _committed(conn: sa.Connection, ids: list[int]) -> dict[int, int]:
    o = _t().registry_orders
    rows = conn.execute(
        sa.select(o.c.account_id, sa.func.sum(o.c.remaining * o.c.limit_fen))
        .where(o.c.account_id.in_(ids), o.c.side == "buy", o.c.status == "open")
        .group_by(o.c.account_id)
    )
    return {int(a): int(v or 0) for a, v in rows}


def _bids_held(conn: sa.Connection, ids: list[int]) -> dict[int, int]:
    """Money of sealed bids in auctions not yet closed, per bidder [fen]: the platform keeps it
    for the bid (a bid is covered by the bidder's money) until the close."""
    t = _t()
    b, a = t.registry_bids, t.registry_auctions
    rows = conn.execute(
        sa.select(b.c.bidder, sa.func.sum(b.c.amount_fen))
        .join(a, a.c.id == b.c.auction_id)
        .where(b.c.bidder.in_(ids), a.c.status == "open")
        .group_by(b.c.bidder)
    )
    return {int(x): int(v or 0) for x, v in rows}


def _money(store: Any, rows: list[dict[str, Any]]) -> list[Money]:
    ids = [int(r["id"]) for r in rows]
    cash = _t().registry_cash
    with _engine(store).connect() as conn:
        bal = {
            int(a): int(b)
            for a, b in conn.execute(
                sa.select(cash.c.account_id, cash.c.balance_fen).where(cash.c.account_id.in_(ids))
            )
        }
        com = _committed(conn, ids)
        held = _bids_held(conn, ids)
    out = []
    for r in rows:
        i = int(r["id"])
        out.append(
            Money(
                account=i, name=str(r["name"]), kind=str(r["kind"]), balance_fen=bal.get(i, 0),
                committed_fen=com.get(i, 0), bids_fen=held.get(i, 0),
                free_fen=bal.get(i, 0) - com.get(i, 0) - held.get(i, 0),
            )
        )  # fmt: skip
    return out


def _check_free(store: Any, row: dict[str, Any], fen: int, what: str) -> None:
    """Refuse (409) taking more than the account's free money: its resting buys and its
    sealed bids in open auctions keep theirs."""
    m = _money(store, [row])[0]
    if fen > m.free_fen:
        raise Problem(
            409,
            f"account {m.account} has {m.free_fen} fen free ({m.committed_fen} committed to "
            f"resting buy orders, {m.bids_fen} held by sealed bids in open auctions); {fen} "
            f"cannot be {what}",
            kind="conflict",
            errors=[{"field": "amount_fen", "in": "body", "message": "more than the free money"}],
        )


@router.get(
    "/accounts/{account_id}/money",
    response_model=Money,
    summary="An account's money on the trading platform",
)
def get_money(account_id: BigId, store: StoreDep, principal: CanRead) -> Money:
    """Its organisation's users, the bureaus and the evaluators: held, committed to resting
    buy orders, free."""
    return _money(store, [_sees_account(store, principal, account_id)])[0]


@router.post(
    "/accounts/{account_id}/money",
    response_model=VenueResult,
    summary="Deposit or withdraw money (the trading platform's cash desk)",
)
def move_money(
    request: Request,
    account_id: BigId,
    body: MoneyMove,
    store: StoreDep,
    principal: CanAdmin,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> VenueResult:
    """A withdrawal never takes the money committed to the account's resting buy orders."""
    from restora.store import registry

    row = _sees_account(store, principal, account_id)
    fen = _fen(body.amount_fen, body.amount_cny, "amount")
    if body.kind == "withdraw":
        _check_free(store, row, fen, "withdrawn")
    at = clock(request)
    out = _call(
        lambda: registry.move_money(
            store, body.kind, account=account_id, amount_fen=fen, at=at,
            reference=body.reference, actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )  # fmt: skip
    base = _written(request, store, change, out, at)
    return VenueResult(**base.model_dump(), money=_money(store, [row])[0])


# ------------------------------------------------------------------------------ auctions
def _serials(
    serial: str | None, count: int | None, unit_type: str | None, start: int | None,
    end: int | None,
) -> tuple[str, int, int]:  # fmt: skip
    from restora.registry.ledger import parse_serial_id

    if serial is not None:
        ut, s, e = _call(lambda: parse_serial_id(serial))
        if count is not None:
            if count > e - s + 1:
                raise Problem(
                    409, f"the block {serial} has {e - s + 1} serials; {count} asked",
                    kind="conflict",
                    errors=[{"field": "count", "in": "body", "message": "more than the block"}],
                )  # fmt: skip
            e = s + count - 1
        return str(ut), int(s), int(e)
    if unit_type is None or start is None or end is None:
        raise Problem(
            422, "name the serials: serial (and count) or unit_type, start and end",
            kind="invalid-input", errors=[{"field": "serial", "in": "body", "message": "required"}],
        )  # fmt: skip
    if end < start:
        raise Problem(422, f"{start}-{end} is not a range of serials", kind="invalid-input")
    return unit_type, start, end


class _NotYours(Exception):
    pass


def _holder_check(store: Any, principal: Principal) -> Any:
    mine = my_accounts(store, principal)

    def check(block: Any) -> None:
        if principal.role != "admin" and block.account not in mine:
            raise _NotYours

    return check


def _surplus_problem(exc: Exception) -> Problem | None:
    from restora.registry.earthstone import BeyondApprovedSurplus

    if not isinstance(exc, BeyondApprovedSurplus):
        return None
    return Problem(
        409,
        f"beyond the approved surplus: {exc}",
        kind="beyond-approved-surplus",
        errors=[
            {"field": "end", "in": "body",
             "message": f"approved surplus {exc.approved_m3:,.1f} m³; sold and on offer "
                        f"{exc.sold_m3:,.1f} m³; this lot {exc.lot_m3:,.1f} m³"}
        ],
    )  # fmt: skip


def _blocks_at(conn: sa.Connection, keys: set[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    b = _t().registry_blocks
    out: dict[tuple[str, int], Any] = {}
    for unit_type in {k[0] for k in keys}:
        starts = [k[1] for k in keys if k[0] == unit_type]
        for r in conn.execute(
            sa.select(b).where(b.c.unit_type == unit_type, b.c.serial_start.in_(starts))
        ).mappings():
            out[(unit_type, int(r["serial_start"]))] = r
    return out


def _serial_of(block: Any, start: int, end: int) -> str | None:
    from restora.registry.ledger import serial_id

    if block is None:
        return None
    return serial_id(
        {"unit_type": block["unit_type"], "start": start, "end": end,
         "project_id": block["project_id"], "vintage": block["vintage"],
         "region_code": block["region_code"]}
    )  # fmt: skip


def _auction_views(store: Any, ids: list[int] | None, at: dt.datetime) -> list[AuctionPublic]:
    from restora.registry.ledger import UNIT_TYPES

    t = _t()
    a, bids = t.registry_auctions, t.registry_bids
    q = sa.select(a).order_by(a.c.id.desc())
    if ids is not None:
        q = q.where(a.c.id.in_(ids))
    with _engine(store).connect() as conn:
        rows = list(conn.execute(q.limit(500)).mappings())
        counts = {
            int(i): int(n)
            for i, n in conn.execute(
                sa.select(bids.c.auction_id, sa.func.count())
                .where(bids.c.auction_id.in_([r["id"] for r in rows]))
                .group_by(bids.c.auction_id)
            )
        }
        blocks = _blocks_at(conn, {(r["unit_type"], int(r["serial_start"])) for r in rows})
    accounts: set[int] = {int(r["seller"]) for r in rows}
    for r in rows:
        res = r["result"] or {}
        accounts |= {int(x["bidder"]) for x in res.get("ranking", [])}
    names = _names(store, accounts)
    out = []
    for r in rows:
        ut = UNIT_TYPES[r["unit_type"]]
        s, e = int(r["serial_start"]), int(r["serial_end"])
        block = blocks.get((r["unit_type"], s))
        status = str(r["status"])
        if status == "open" and _utc(r["closes_at"]) <= at:
            status = "closing"
        result = None
        if r["status"] != "open":
            res = r["result"] or {}
            result = AuctionResult(
                status=str(r["status"]),
                price_fen=res.get("price_fen"),
                winner=names.get(res["winner"]) if res.get("winner") else None,
                ranking=[
                    Ranked(rank=int(x["rank"]), account=names.get(int(x["bidder"]), "?"),
                           amount_fen=int(x["amount_fen"]), valid=bool(x["valid"]))
                    for x in res.get("ranking", [])
                ],
            )  # fmt: skip
        attrs = dict(block["attrs"] or {}) if block is not None else {}
        out.append(
            AuctionPublic(
                id=int(r["id"]), unit_type=r["unit_type"], serial=_serial_of(block, s, e),
                project_id=block["project_id"] if block is not None else None, attrs=attrs,
                amount=ut.amount(e - s + 1), measure=ut.measure, rule=r["rule"],
                reserve_fen=int(r["reserve_fen"]), closes_at=_utc(r["closes_at"]),
                created_at=_utc(r["created_at"]), status=status, bids=counts.get(int(r["id"]), 0),
                seller=names.get(int(r["seller"])), result=result,
            )
        )  # fmt: skip
    return out


@router.post(
    "/auctions",
    response_model=VenueResult,
    status_code=201,
    summary="Offer a lot by sealed-bid auction (its holder)",
    responses={409: {"description": "a ledger rule, or beyond the approved surplus"}},
)
def create_auction(
    request: Request,
    body: AuctionCreate,
    store: StoreDep,
    principal: CanTrade,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> VenueResult:
    """The caller's organisation holds the block. Earth and stone: refused (409,
    ``beyond-approved-surplus``) when the lot with what was sold and is on offer exceeds the
    mine's approved surplus; the proceeds go to the mine's restoration account."""
    from restora.store import trading

    unit_type, start, end = _serials(body.serial, body.count, body.unit_type, body.start, body.end)
    reserve = _fen(body.reserve_fen, body.reserve_cny, "reserve")
    closes_at = body.closes_at
    if closes_at.tzinfo is None:  # a time typed on the platform's pages: Beijing time
        closes_at = closes_at.replace(tzinfo=CST)
    closes_at = closes_at.astimezone(dt.UTC)  # the store keeps UTC
    at = clock(request)

    def run() -> dict[str, Any]:
        try:
            return trading.create_auction(  # type: ignore[no-any-return]
                store, unit_type=unit_type, start=start, end=end, rule=body.rule,
                reserve_fen=reserve, closes_at=closes_at, at=at, actor=_actor(principal),
                key=_key(principal, idempotency_key), check=_holder_check(store, principal),
            )  # fmt: skip
        except Exception as exc:
            problem = _surplus_problem(exc)
            if problem is not None:
                raise problem from exc
            raise

    try:
        out = _call(run)
    except _NotYours:
        raise _not_yours(f"{unit_type} block {start}-{end}") from None
    base = _written(request, store, change, out, at, start)
    (view,) = _auction_views(store, [int(out["auction"])], at)
    return VenueResult(**base.model_dump(), auction=view.model_dump(mode="json"))


@router.get(
    "/auctions", response_model=list[AuctionPublic], summary="Auctions (bids sealed until closed)"
)
def list_auctions(
    request: Request,
    store: StoreDep,
    principal: Public,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    unit_type: Annotated[UnitTypeCode | None, Query()] = None,
) -> list[AuctionPublic]:
    """Anyone: open (and closing) auctions show only their number of sealed bids; closed ones
    their result, price and ranked bids by account name."""
    views = _auction_views(store, None, clock(request))
    if status == "open":
        views = [v for v in views if v.status in ("open", "closing")]
    elif status == "closed":
        views = [v for v in views if v.status not in ("open", "closing")]
    if unit_type is not None:
        views = [v for v in views if v.unit_type == unit_type]
    return views


@router.get("/auctions/{auction_id}", response_model=AuctionPublic, summary="One auction")
def get_auction(
    request: Request, auction_id: BigId, store: StoreDep, principal: Public
) -> AuctionPublic:
    views = _auction_views(store, [auction_id], clock(request))
    if not views:
        raise Problem(404, f"no auction {auction_id}", kind="not-found")
    return views[0]


@router.post(
    "/auctions/{auction_id}/bids",
    response_model=VenueResult,
    status_code=201,
    summary="A sealed bid for one's own account",
)
def place_bid(
    request: Request,
    auction_id: BigId,
    body: BidCreate,
    store: StoreDep,
    principal: CanTrade,
    change: ChangeDep,
) -> VenueResult:
    """One bid per account, before the closing time, covered by the account's money; its
    amount is not shown to anyone but the bidder's organisation before the close."""
    from restora.store import trading

    _own(store, principal, body.account)
    fen = _fen(body.amount_fen, body.amount_cny, "amount")
    bids = _t().registry_bids
    with _engine(store).connect() as conn:
        again = conn.execute(
            sa.select(bids.c.id).where(
                bids.c.auction_id == auction_id, bids.c.bidder == body.account
            )
        ).first()
    if again is not None:
        raise Problem(
            409,
            f"account {body.account} has already bid in auction {auction_id} (one sealed bid each)",
            kind="conflict",
            errors=[{"field": "account", "in": "body", "message": "one sealed bid each"}],
        )
    _check_free(store, _accounts(store, [body.account])[body.account], fen, "bid")
    at = clock(request)
    out = _call(
        lambda: trading.place_bid(store, auction_id, bidder=body.account, amount_fen=fen, at=at)
    )
    _log(store, change, table="registry_bids", record_id=out["bid"], action="insert",
         after={"auction": auction_id, "bidder": body.account}, at=at)  # fmt: skip
    return VenueResult.model_validate(
        {"events": [], "blocks": [], "replayed": False, "bid": int(out["bid"])}
    )


@router.post(
    "/auctions/{auction_id}/close",
    response_model=VenueResult,
    summary="Close an auction after its time: open the bids, settle or delist (the bureau)",
)
def close_auction(
    request: Request,
    auction_id: BigId,
    store: StoreDep,
    principal: CanAdmin,
    change: ChangeDep,
) -> VenueResult:
    """Refused (409) before the closing time or when already closed."""
    from restora.store import trading

    at = clock(request)
    out = _call(lambda: trading.close_auction(store, auction_id, at=at, actor=_actor(principal)))
    base = _written(request, store, change, out, at)
    (view,) = _auction_views(store, [auction_id], at)
    return VenueResult(**base.model_dump(), auction=view.model_dump(mode="json"))


# ------------------------------------------------------------------------------ order book
def _order_views(store: Any, rows: list[dict[str, Any]]) -> list[OrderPublic]:
    names = _names(store, {int(r["account_id"]) for r in rows})
    return [
        OrderPublic(
            id=int(r["id"]), book=r["book"], side=r["side"], account=int(r["account_id"]),
            account_name=names.get(int(r["account_id"])), quantity=int(r["quantity"]),
            remaining=int(r["remaining"]), limit_fen=int(r["limit_fen"]), status=r["status"],
            at=_utc(r["at"]),
        )
        for r in rows
    ]  # fmt: skip


@router.post(
    "/orders",
    response_model=VenueResult,
    status_code=201,
    summary="A limit order on the carbon-sink order book, for one's own account",
)
def submit_order(
    request: Request,
    body: OrderCreate,
    store: StoreDep,
    principal: CanTrade,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> VenueResult:
    """A sell names a block of the account (``serial`` and ``count``, or ``start``-``end``);
    a buy names ``vintage`` and ``quantity`` and needs quantity × limit in money beside what
    the account's resting buys commit. Fills settle at once at the resting order's price."""
    from restora.store import trading

    _own(store, principal, body.account)
    limit = _fen(body.limit_fen, body.limit_cny, "limit")
    start = end = None
    vintage, quantity = body.vintage, body.quantity
    if body.side == "sell":
        _ut, start, end = _serials(body.serial, body.count, body.unit_type, body.start, body.end)
    at = clock(request)
    try:
        out = _call(
            lambda: trading.submit_order(
                store, side=body.side, account=body.account, limit_fen=limit, at=at,
                unit_type=body.unit_type, vintage=vintage, quantity=quantity, start=start,
                end=end, actor=_actor(principal), key=_key(principal, idempotency_key),
                check=_holder_check(store, principal),
            )
        )  # fmt: skip
    except _NotYours:
        raise _not_yours(f"block {start}-{end}") from None
    if not out.get("events") and not out.get("replayed"):
        _log(store, change, table="registry_orders", record_id=out["order"]["id"],
             action="insert", after={"side": body.side, "account": body.account}, at=at)  # fmt: skip
    base = _written(request, store, change, out, at, start)
    return VenueResult(**base.model_dump(), order=out.get("order"), trades=out.get("trades", []))


@router.get("/orders", response_model=list[OrderPublic], summary="Orders of one's organisation")
def list_orders(
    store: StoreDep,
    principal: CanRead,
    status: Annotated[Literal["open", "filled", "cancelled"] | None, Query()] = None,
) -> list[OrderPublic]:
    """The caller's organisation's orders; the bureaus and evaluators: every order."""
    o = _t().registry_orders
    q = sa.select(o).order_by(o.c.id.desc()).limit(1000)
    if principal.role not in REGULATORS:
        q = q.where(o.c.account_id.in_(list(my_accounts(store, principal)) or [-1]))
    if status is not None:
        q = q.where(o.c.status == status)
    with _engine(store).connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    return _order_views(store, rows)


@router.post(
    "/orders/{order_id}/cancel", response_model=VenueResult, summary="Cancel one's resting order"
)
def cancel_order(
    request: Request,
    order_id: BigId,
    store: StoreDep,
    principal: CanTrade,
    change: ChangeDep,
) -> VenueResult:
    """A sell's unsold serials are delisted; a buy's committed money is free again."""
    from restora.store import trading

    o = _t().registry_orders
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(o).where(o.c.id == order_id)).mappings().first()
    if row is None:
        raise _not_yours(f"order {order_id}")
    account = int(row["account_id"])
    _own(store, principal, account)
    at = clock(request)
    out = _call(
        lambda: trading.cancel_order(
            store, order_id, account=account, at=at, actor=_actor(principal)
        )
    )
    if not out.get("events"):
        _log(store, change, table="registry_orders", record_id=order_id, action="update",
             after={"status": "cancelled"}, at=at)  # fmt: skip
    base = _written(request, store, change, out, at)
    return VenueResult(**base.model_dump(), order={"id": order_id, "status": "cancelled"})


@router.get("/trading/mine", response_model=TradingMine, summary="One's money, orders and bids")
def trading_mine(store: StoreDep, principal: CanRead) -> TradingMine:
    """The caller's organisation's accounts with their money, its orders and its own sealed
    bids (amounts included: they are its own)."""
    t = _t()
    mine = sorted(my_accounts(store, principal))
    rows = list(_accounts(store, mine).values()) if mine else []
    with _engine(store).connect() as conn:
        orders = [
            dict(r)
            for r in conn.execute(
                sa.select(t.registry_orders)
                .where(t.registry_orders.c.account_id.in_(mine or [-1]))
                .order_by(t.registry_orders.c.id.desc())
                .limit(500)
            ).mappings()
        ]
        bids = [
            BidMine(auction=int(r.auction_id), account=int(r.bidder),
                    amount_fen=int(r.amount_fen), at=_utc(r.at))
            for r in conn.execute(
                sa.select(t.registry_bids)
                .where(t.registry_bids.c.bidder.in_(mine or [-1]))
                .order_by(t.registry_bids.c.id.desc())
            )
        ]  # fmt: skip
    return TradingMine(accounts=_money(store, rows), orders=_order_views(store, orders), bids=bids)


# ------------------------------------------------------------------------------ public venues
@router.get("/books", response_model=list[Depth], summary="The order books and their depth")
def books(store: StoreDep, principal: Public) -> list[Depth]:
    from restora.store import trading

    b = _t().registry_books
    with _engine(store).connect() as conn:
        names = [str(n) for n in conn.execute(sa.select(b.c.book).order_by(b.c.book)).scalars()]
    return [Depth.model_validate(trading.depth(store, n)) for n in names]


@router.get("/books/{book}/depth", response_model=Depth, summary="A book's depth")
def book_depth(book: Book, store: StoreDep, principal: Public) -> Depth:
    """Price levels of resting buys and sells [fen per serial]; no account is named."""
    from restora.store import trading

    return Depth.model_validate(trading.depth(store, book))


@router.get("/trades", response_model=list[TradePublic], summary="The latest trades")
def latest_trades(
    store: StoreDep,
    principal: Public,
    venue: Annotated[Literal["auction", "book"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[TradePublic]:
    """Each trade's serials, total price and the buyer's and seller's account names."""
    from restora.registry.ledger import UNIT_TYPES
    from restora.store import trading

    rows = [r for r in trading.trades(store, limit=500) if venue is None or r["venue"] == venue]
    rows = rows[:limit]
    with _engine(store).connect() as conn:
        blocks = _blocks_at(conn, {(r["unit_type"], int(r["serial_start"])) for r in rows})
    names = _names(
        store, {int(r[k]) for r in rows for k in ("buyer", "seller", "payee") if r.get(k)}
    )
    out = []
    for r in rows:
        ut = UNIT_TYPES[r["unit_type"]]
        s, e = int(r["serial_start"]), int(r["serial_end"])
        out.append(
            TradePublic(
                id=int(r["id"]), venue=r["venue"], reference=r["reference"],
                unit_type=r["unit_type"],
                serial=_serial_of(blocks.get((r["unit_type"], s)), s, e),
                amount=ut.amount(e - s + 1), measure=ut.measure, price_fen=int(r["price_fen"]),
                buyer=names.get(int(r["buyer"])), seller=names.get(int(r["seller"])),
                payee=names.get(int(r["payee"])) if r.get("payee") else None,
                at=_utc(r["at"]),
            )
        )  # fmt: skip
    return out


# ------------------------------------------------------------------------------ obligations
@router.post(
    "/obligations",
    response_model=VenueResult,
    status_code=201,
    summary="Record a regional offset obligation (the bureaus)",
)
def record_obligation(
    request: Request,
    body: ObligationCreate,
    store: StoreDep,
    principal: CanRecordOffset,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> VenueResult:
    """``required`` in serial numbers of the unit type (or ``amount`` in its measure);
    retirements naming the obligation count against it when their units are eligible."""
    from restora.service.api.registry import _count
    from restora.store import registry

    check_region(principal, body.region_code, write=True)
    required = _count(body.unit_type, body.required, body.amount, field="required")
    at = clock(request)
    out = _call(
        lambda: registry.record_obligation(
            store, obligation=body.obligation, party=body.party, region_code=body.region_code,
            unit_type=body.unit_type, required=required, due=body.due, at=at,
            eligible_regions=body.eligible_regions, actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )  # fmt: skip
    base = _written(request, store, change, out, at)
    return VenueResult(**base.model_dump())


@router.get(
    "/obligations", response_model=list[ObligationPublic], summary="Offset obligations, status"
)
def list_obligations(
    request: Request, store: StoreDep, principal: CanReadOffset
) -> list[ObligationPublic]:
    """Each obligation of the caller's region with its eligible retirements, what is
    outstanding and its status on the app's date (the due day itself is still on time)."""
    from restora.store import registry

    today = clock(request).date()
    out = []
    for o in _call(lambda: registry.obligations(store, today=today)):
        if not in_scope(principal.region, o["region_code"]) and principal.role != "admin":
            continue
        st = o["status"]
        out.append(
            ObligationPublic(
                obligation=o["obligation"], party=o["party"], region_code=o["region_code"],
                unit_type=o["unit_type"], required=o["required"], due=str(o["due"]),
                eligible_regions=o.get("eligible_regions"), retired=int(st.retired),
                outstanding=int(st.outstanding), status=str(st.status), met_on=st.met_on,
                not_counted=[{"count": r.count, "region_code": r.region_code, "reason": why}
                             for r, why in st.not_counted],
            )
        )  # fmt: skip
    return out


# ------------------------------------------------------------------------------ earth and stone
def _mine_region(store: Any, principal: Principal, mine_id: str, *, write: bool) -> str | None:
    """The mine's region, checked against the caller's scope (404 for a mine not on the
    register or out of scope on reads; 403 out of scope on writes)."""
    from restora.store.tables import mines as MINES

    with _engine(store).connect() as conn:
        row = conn.execute(
            sa.select(MINES.c.region_code).where(
                MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None)
            )
        ).first()
    if row is None:
        raise Problem(404, f"no mine {mine_id}", kind="not-found")
    check_region(principal, row.region_code, write=False)
    if write:
        check_region(principal, row.region_code, write=True)
    return str(row.region_code) if row.region_code is not None else None


def _status(store: Any, mine_id: str, region: str | None) -> EarthStone:
    from restora.store import trading

    es = trading.earth_and_stone(store, mine_id)
    s = _t().registry_surplus
    with _engine(store).connect() as conn:
        row = conn.execute(sa.select(s).where(s.c.mine_id == mine_id)).mappings().first()
    sold: dict[int, float] = {}
    for lot in es["lots"]:
        sold[int(lot["year"])] = sold.get(int(lot["year"]), 0.0) + float(lot["volume_m3"])
    hauled: dict[int, float] = {}
    w = _t().registry_weighbridge
    with _engine(store).connect() as conn:
        for r in conn.execute(sa.select(w).where(w.c.mine_id == mine_id)):
            if r.gross_t > r.tare_t and r.density_t_per_m3 > 0:
                y = _utc(r.at).year
                hauled[y] = hauled.get(y, 0.0) + (r.gross_t - r.tare_t) / r.density_t_per_m3
    approved = {int(y): float(v) for y, v in es["approved_by_year"].items()}
    years = sorted(set(approved) | set(sold) | set(hauled))
    return EarthStone(
        mine_id=mine_id, region_code=region, has_plan=bool(es["has_plan"]),
        approved_m3=es["approved_m3"], approved_by_year=approved, sold_m3=es["sold_m3"],
        offered_m3=es["offered_m3"], hauled_m3=es["hauled_m3"],
        years=[{"year": y, "approved_m3": approved.get(y, 0.0), "sold_m3": sold.get(y, 0.0),
                "hauled_m3": hauled.get(y, 0.0)} for y in years],
        lots=es["lots"], alerts=es["alerts"],
        plan_sha256=row["plan_sha256"] if row else None,
        updated_at=_utc(row["updated_at"]) if row else None,
    )  # fmt: skip


@router.get(
    "/earth-stone", response_model=list[EarthStone], summary="Mines with an approved surplus"
)
def list_earth_stone(store: StoreDep, principal: CanReadES) -> list[EarthStone]:
    """Every mine of the caller's region whose approved surplus is recorded."""
    from restora.store.tables import mines as MINES

    s = _t().registry_surplus
    with _engine(store).connect() as conn:
        rows = conn.execute(
            sa.select(s.c.mine_id, MINES.c.region_code)
            .select_from(s.outerjoin(MINES, MINES.c.mine_id == s.c.mine_id))
            .order_by(s.c.mine_id)
        ).all()
    return [
        _status(store, str(m), region)
        for m, region in rows
        if principal.role == "admin" or in_scope(principal.region, region)
    ]


@router.get(
    "/earth-stone/{mine_id}",
    response_model=EarthStone,
    summary="A mine's earth and stone: approved, sold, hauled, alerts",
)
def get_earth_stone(mine_id: MineId, store: StoreDep, principal: CanReadES) -> EarthStone:
    region = _mine_region(store, principal, mine_id, write=False)
    return _status(store, mine_id, region)


@router.put(
    "/earth-stone/{mine_id}/surplus",
    response_model=EarthStone,
    summary="Set a mine's approved surplus by year (from its plan or {year: m³})",
)
def set_surplus(
    request: Request,
    mine_id: MineId,
    body: SurplusSet,
    store: StoreDep,
    principal: CanWriteES,
    change: ChangeDep,
) -> EarthStone:
    """``plan``: the restoration plan document (as ``GET /mines/{id}/plan`` gives it); its
    slope-cutting works by year are the approved surplus, and its SHA-256 is kept. Else
    ``approved``: ``{year: m³}``."""
    import hashlib
    import json

    from restora.store import trading

    region = _mine_region(store, principal, mine_id, write=True)
    digest = None
    if (body.plan is None) == (body.approved is None):
        raise Problem(
            422, "give either plan (the restoration plan document) or approved ({year: m³})",
            kind="invalid-input",
            errors=[{"field": "approved", "in": "body", "message": "plan or approved"}],
        )  # fmt: skip
    if body.plan is not None:
        from restora.planning.io import plan_from_dict

        plan = _call(lambda: plan_from_dict(body.plan, where="plan"))
        if plan.mine_id != mine_id:
            raise Problem(
                422, f"the plan is of mine {plan.mine_id}, not {mine_id}", kind="invalid-input",
                errors=[{"field": "plan.mine_id", "in": "body", "message": "another mine"}],
            )  # fmt: skip
        approved = _call(lambda: trading.surplus_from_plan(plan))
        canon = json.dumps(body.plan, sort_keys=True, ensure_ascii=False).encode()
        digest = hashlib.sha256(canon).hexdigest()
    else:
        approved = dict(body.approved or {})
    at = clock(request)
    _call(
        lambda: trading.set_surplus(
            store, mine_id, approved, at=at, project_id=body.project_id, plan_sha256=digest
        )
    )
    _log(store, change, table="registry_surplus", record_id=mine_id, action="update",
         after={"approved": {str(k): v for k, v in approved.items()}, "plan_sha256": digest},
         at=at, mine_id=mine_id)  # fmt: skip
    return _status(store, mine_id, region)


def _upload_problem(exc: Exception, name: str, status: int = 422) -> Problem:
    problems = getattr(exc, "problems", None) or []
    errors = []
    for p in problems:
        item: dict[str, Any] = {"field": p.field, "in": "body", "message": p.message,
                                "file": name}  # fmt: skip
        if p.row is not None:
            item["row"] = p.row
        errors.append(item)
    first = errors[0] if errors else {"message": str(exc)}
    where = ", ".join(
        str(x) for x in (name, first.get("row") and f"row {first['row']}", first.get("field")) if x
    )
    kind = "conflict" if status == 409 else "invalid-input"
    return Problem(status, f"{where}: {first['message']}; nothing was imported", kind=kind,
                   errors=errors)  # fmt: skip


@router.post(
    "/earth-stone/{mine_id}/weighbridge",
    response_model=WeighbridgeResult,
    status_code=201,
    summary="Upload a weighbridge file (磅单; CSV GBK/UTF-8 or xlsx): all or nothing",
    responses={413: {"description": "the upload is too large"}},
)
def upload_weighbridge(
    request: Request,
    mine_id: MineId,
    store: StoreDep,
    principal: CanWriteES,
    change: ChangeDep,
    file: Annotated[UploadFile | None, File(description="the weighbridge file")] = None,
    density: Annotated[
        float | None, Query(gt=0, le=10, description="[t/m³] when the file has no density")
    ] = None,
) -> WeighbridgeResult:
    """Every ticket is of this mine (a file without a mine column is taken as this mine's).
    A bad row, a ticket of another mine or a ticket imported before is refused naming the
    file, row and column, and nothing of the file is stored."""
    from restora.errors import InputError
    from restora.registry import earthstone
    from restora.service.api.imports import safe_name
    from restora.store import trading

    region = _mine_region(store, principal, mine_id, write=True)
    if file is None:
        raise Problem(
            422, "no file uploaded", kind="invalid-input",
            errors=[{"field": "file", "in": "body", "message": "required"}],
        )  # fmt: skip
    name = safe_name(file.filename, 0)
    at = clock(request)
    with tempfile.TemporaryDirectory(prefix="restora-weighbridge-") as tmp:
        path = FsPath(tmp) / name
        total = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                total += len(chunk)
                if total > MAX_WEIGHBRIDGE_BYTES:
                    raise Problem(413, "the upload is larger than 20 MiB", kind="too-large")
                out.write(chunk)
        try:
            records = earthstone.read_weighbridge(path, mine_id=mine_id, density_t_per_m3=density)
        except InputError as exc:
            raise _upload_problem(exc, name) from exc
        for n, r in enumerate(records, start=1):
            if r.mine_id != mine_id:
                raise _upload_problem(
                    InputError(f"ticket {r.ticket} is of mine {r.mine_id}, not {mine_id}",
                               row=n, field="mine_id"),
                    name,
                )  # fmt: skip
        try:
            count = trading.import_weighbridge(
                store, path, at=at, mine_id=mine_id, density_t_per_m3=density
            )
        except InputError as exc:
            raise _upload_problem(exc, name, 409) from exc
    _log(store, change, table="registry_weighbridge", record_id=mine_id, action="insert",
         after={"file": name, "tickets": count}, at=at, mine_id=mine_id)  # fmt: skip
    return WeighbridgeResult(file=name, tickets=count, status=_status(store, mine_id, region))


__all__ = ["router"]
