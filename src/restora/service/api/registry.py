"""The registry of ecological credits and quotas over HTTP (issue 15; docs/registry.md, docs/api.md).

The rules live in :mod:`restora.registry.ledger` and the store's writes in
:mod:`restora.store.registry`; this module decides **who** may ask for what and maps the
ledger's refusals to problems:

- ``/registry/accounts``: an organisation's users see its accounts; the bureaus and the
  evaluators see all. ``natural_resources`` opens accounts (for any organisation) and sets the
  buffer and share-of-proceeds policy of a unit type; an evaluator records a verified outcome
  (``verification.write``); ``natural_resources`` issues units against it.
- ``/registry/blocks/{unit_type}/{start}-{end}/{kind}`` and ``/registry/operations``: the block
  operations. The caller's organisation must hold the block's account (transfer, list, retire,
  pledge …), be its pending recipient (accept or reject a transfer), or be the lender of a
  pledged block (release or enforce it); freezing, unfreezing and cancelling are the bureau's
  (``registry.admin``). An operation on part of a block names the part — a serial range
  inside the block, or the block's serial id and a ``count`` (the block's first ``count``
  serials) — and the store splits the block first, in the same transaction.
- An ``Idempotency-Key`` header makes a write safe to retry: the same key and request answer
  the first result (``replayed: true``); the same key with another request is a 409.
- After each write the pending events are sequenced into the Merkle log and, when
  ``RESTORA_REGISTRY_KEY`` names the registry's key, a new tree head is signed — so the
  inclusion proof of what was just written is served at once.
- Public (no sign-in, ``registry.public``): the latest signed tree head and the public keys,
  inclusion and consistency proofs, per-project totals, and the public record of each
  issuance, transfer, retirement and cancellation and of the basis of an issuance — an
  evaluator's sign-off of a milestone (the evaluator's organisation) and the verified outcome
  it records (organisation account names only; never a person's name: events carry ``actor``
  as ``org:<id>`` or ``role:<role>``).

Refusals: a rule of the ledger (a block already retired, a range outside the block, a count
above what a verification leaves …) is 409 with the rule's sentence; a block, account or event
the caller may not see is 404; a known block whose operation belongs to another party is 403.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, get_args

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.permissions import ECO, EVAL, NR, allowed, in_scope
from restora.service.problems import Problem
from restora.service.records import jsonable
from restora.service.security import Principal, authorize, check_region
from restora.store.audit import Change, as_utc

log = logging.getLogger(__name__)

router = APIRouter(prefix="/registry", tags=["registry"])
CanRead = Annotated[Principal, Depends(authorize("registry.read"))]
CanOperate = Annotated[Principal, Depends(authorize("registry.operate"))]
CanAdmin = Annotated[Principal, Depends(authorize("registry.admin"))]
CanVerify = Annotated[Principal, Depends(authorize("verification.write"))]
Public = Annotated[Principal, Depends(authorize("registry.public"))]
BigId = Annotated[int, Path(ge=1, le=2**62, description="an id")]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="makes the write safe to retry: the same key and request answer the first "
        "result (replayed: true); the same key with another request is a 409",
    ),
]

UnitTypeCode = Literal["CSINK", "CLQ", "FSQ", "PDR", "EST", "LUR"]
AccountKind = Literal["holding", "retirement", "buffer", "government", "proceeds", "restoration"]
Status = Literal[
    "held", "listed", "pending_transfer", "retired", "cancelled", "buffer", "frozen", "pledged"
]
#: the operations on a block the API offers (``settle`` is the market's, ``split`` automatic)
Kind = Literal[
    "transfer",
    "initiate_transfer",
    "accept_transfer",
    "reject_transfer",
    "list",
    "delist",
    "retire",
    "pledge",
    "release_pledge",
    "enforce_pledge",
    "freeze",
    "unfreeze",
    "cancel",
]
HOLDER_KINDS = frozenset(
    {"transfer", "initiate_transfer", "list", "delist", "retire", "pledge", "reject_transfer"}
)
RECIPIENT_KINDS = frozenset({"accept_transfer", "reject_transfer"})
LENDER_KINDS = frozenset({"release_pledge", "enforce_pledge"})
ADMIN_KINDS = frozenset({"freeze", "unfreeze", "cancel"})
#: events anyone may read and prove (the public record): the units' movements, and the basis
#: of their issuance — an evaluator's sign-off of a milestone and the verified outcome it
#: records; the others go to the parties and the bureaus and evaluators
PUBLIC_KINDS = frozenset(
    {
        "sign_off",
        "verify_outcome",
        "issue",
        "split",
        "transfer",
        "accept_transfer",
        "settle",
        "retire",
        "cancel",
    }
)
#: public events listed on the disclosure pages (splits are shown within the operation)
ListedKind = Literal[
    "sign_off",
    "verify_outcome",
    "issue",
    "transfer",
    "accept_transfer",
    "settle",
    "retire",
    "cancel",
]
LISTED_KINDS: tuple[str, ...] = get_args(ListedKind)
#: the fields each operation takes beside ``reason`` (others in the body are ignored: an event
#: carries only its own)
FIELDS_OF: dict[str, tuple[str, ...]] = {
    "transfer": ("to",),
    "initiate_transfer": ("to",),
    "retire": ("beneficiary", "purpose", "obligation"),
    "pledge": ("lender", "pledge"),
    "list": ("listing",),
}
#: roles that see every account and block (the bureaus, the evaluators)
REGULATORS = frozenset({"admin", NR, ECO, EVAL})
MAX_ROWS = 1000


def clock(request: Request) -> dt.datetime:
    """The app's time: ``app.state.clock()`` when set (tests), else now (UTC)."""
    fn: Callable[[], dt.datetime] | None = getattr(request.app.state, "clock", None)
    return fn() if fn is not None else dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------ schemas
class AccountCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"kind": "holding", "name": "青山修复工程有限公司 持有账户"}]
        },
    )

    kind: AccountKind
    name: str | None = Field(None, max_length=200, description="default: the organisation's name")
    org_id: int | None = Field(None, ge=1, le=2**31 - 1, description="the organisation")
    region_code: str | None = Field(None, pattern=r"^\d{6}$", description="GB/T 2260 code")
    mine_id: str | None = Field(None, max_length=64, description="a restoration account's mine")


class AccountPublic(BaseModel):
    id: int
    kind: str
    name: str
    org_id: int | None = None
    region_code: str | None = None
    mine_id: str | None = None
    created_at: dt.datetime | None = None
    mine: bool = Field(False, description="held by the caller's organisation")


class Share(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: int = Field(ge=1, le=2**62)
    pct: float = Field(ge=0, lt=100, description="percentage of each issuance [%]")


class PolicySet(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    buffer: Share | None = Field(None, description="the buffer pool against reversals")
    share: Share | None = Field(None, description="the share of proceeds")


class VerificationCreate(BaseModel):
    """A verified outcome: what the evaluator signed off, counted in serials of the unit type."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "verification": "V-QS-2026-001",
                    "unit_type": "CSINK",
                    "project_id": "QS-P-M09",
                    "vintage": 2026,
                    "region_code": "430599",
                    "amount": 1000,
                    "report_sha256": "ab" * 32,
                }
            ]
        },
    )

    verification: str = Field(min_length=1, max_length=100, description="its id")
    unit_type: UnitTypeCode
    project_id: str = Field(min_length=1, max_length=100)
    vintage: int = Field(ge=1990, le=2200)
    region_code: str = Field(pattern=r"^\d{6}$")
    count: int | None = Field(None, ge=1, le=10**12, description="serial numbers")
    amount: float | None = Field(
        None,
        gt=0,
        le=1e12,
        description="or the quantity in the unit's measure (t CO2e, mu, m**3 …)",
    )
    report_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="the report's SHA-256")
    details: dict[str, Any] | None = None


class IssueCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "verification": "V-QS-2026-001",
                    "account": 1,
                    "amount": 1000,
                    "attrs": {"methodology": "CCER-14-001-V01"},
                }
            ]
        },
    )

    verification: str = Field(min_length=1, max_length=100)
    account: int = Field(ge=1, le=2**62, description="the holder's account")
    count: int | None = Field(None, ge=1, le=10**12, description="serial numbers")
    amount: float | None = Field(
        None, gt=0, le=1e12, description="or the quantity in the unit's measure"
    )
    attrs: dict[str, Any] = Field(
        default_factory=dict, description="the unit type's attributes (methodology, grade …)"
    )


class OperationFields(BaseModel):
    """The fields an operation carries beside its block."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to": 2}]})

    to: int | None = Field(None, ge=1, le=2**62, description="transfer: the receiving account")
    beneficiary: str | None = Field(
        None, max_length=200, description="retire: on whose behalf (an organisation)"
    )
    purpose: str | None = Field(None, max_length=500, description="retire: what for")
    obligation: str | None = Field(None, max_length=100, description="retire: an obligation id")
    lender: int | None = Field(None, ge=1, le=2**62, description="pledge: the lender's account")
    pledge: str | None = Field(None, max_length=100, description="pledge: the contract's id")
    listing: str | None = Field(None, max_length=100, description="list: the sale's id")
    reason: str | None = Field(None, max_length=500, description="freeze, cancel: why")


class Operation(OperationFields):
    """An operation named in the body: the part of a block as a serial range, or as a block's
    serial id and a ``count`` (or ``amount``) of its first serials."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "retire",
                    "serial": "CN-CSINK-430599-QS-P-M09-2026-1-880",
                    "count": 100,
                    "beneficiary": "青山修复工程有限公司",
                    "purpose": "2026 年度碳中和",
                }
            ]
        },
    )

    kind: Kind
    serial: str | None = Field(None, max_length=300, description="a block's serial id")
    unit_type: UnitTypeCode | None = None
    start: int | None = Field(None, ge=1, le=2**62)
    end: int | None = Field(None, ge=1, le=2**62)
    count: int | None = Field(None, ge=1, le=2**62, description="the first N serials")
    amount: float | None = Field(
        None, gt=0, le=1e12, description="or that quantity [the unit's measure]"
    )


class BlockPublic(BaseModel):
    id: int
    serial: str = Field(description="CN-<type>-<region>-<project>-<vintage>-<start>-<end>")
    unit_type: str
    start: int
    end: int
    count: int
    amount: float
    measure: str
    account: int
    account_name: str | None = None
    status: str
    project_id: str
    vintage: int
    region_code: str
    attrs: dict[str, Any]
    status_reason: str | None = None
    pending_to: int | None = None
    lender: int | None = None
    before_freeze: str | None = None
    retirement: dict[str, Any] | None = None
    issued_by: str | None = None
    event_id: int | None = Field(None, description="the event that last wrote it")


class EventBrief(BaseModel):
    id: int
    kind: str
    data: dict[str, Any]


class WriteResult(BaseModel):
    events: list[EventBrief] = Field(description="the events written (splits first)")
    blocks: list[BlockPublic] = Field(description="the blocks the write wrote, as now")
    block: BlockPublic | None = Field(None, description="an operation's block (its serials)")
    replayed: bool = Field(description="an earlier request with this Idempotency-Key")
    account: int | None = Field(None, description="the account opened")
    tree_size: int | None = Field(None, description="the log's size after sequencing")


class EventPublic(BaseModel):
    id: int
    kind: str
    at: dt.datetime
    data: dict[str, Any]
    leaf_index: int | None = Field(None, description="None while not sequenced")
    leaf_hash: str | None = Field(None, description="hex")
    public_url: str | None = Field(None, description="its public page, for public kinds")


class StatementLine(BaseModel):
    event_id: int
    kind: str
    at: dt.datetime
    unit_type: str | None = None
    start: int | None = None
    end: int | None = None
    count: int | None = None
    direction: str = Field(description="in, out or empty (the account's own block changed)")
    other_account: int | None = None
    other_account_name: str | None = None
    data: dict[str, Any]
    public_url: str | None = None


class Statement(BaseModel):
    account: AccountPublic
    blocks: list[BlockPublic]
    lines: list[StatementLine]


class TreeHeadPublic(BaseModel):
    origin: str
    size: int
    root: str = Field(description="base64")
    timestamp: str
    key_id: str
    signature: str = Field(description="Ed25519 over the checkpoint text, base64")
    checkpoint: str = Field(description="the signed text (C2SP tlog-checkpoint form)")


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key: str = Field(description="the 32 raw bytes, base64")
    pem: str
    created_at: dt.datetime | None = None


class InclusionProof(BaseModel):
    kind: str
    event_id: int
    event: str = Field(description="the event's canonical bytes (the leaf data)")
    leaf_index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]
    head: dict[str, Any] | None = None


class ConsistencyProof(BaseModel):
    kind: str
    size1: int
    size2: int
    proof: list[str]
    head: dict[str, Any] | None = None


class Totals(BaseModel):
    project_id: str
    unit_type: str
    unit_name_en: str
    unit_name_zh: str
    measure: str
    issued: int
    retired: int
    cancelled: int
    outstanding: int
    amounts: dict[str, float] = Field(description="the counts in the unit's measure")


class UnitTypePublic(BaseModel):
    code: str
    name_en: str
    name_zh: str
    measure: str
    serial_unit: float = Field(description="quantity of the measure one serial stands for")
    attrs: list[str]


class PublicAccount(BaseModel):
    id: int
    kind: str
    name: str


class PublicRecord(BaseModel):
    """An issuance, transfer, retirement or cancellation — or the basis of an issuance: an
    evaluator's sign-off of a milestone, a verified outcome — as the public reads it."""

    id: int
    kind: str
    at: dt.datetime
    unit_type: str | None = None
    measure: str | None = None
    serial: str | None = None
    start: int | None = None
    end: int | None = None
    count: int | None = None
    amount: float | None = None
    project_id: str | None = None
    vintage: int | None = None
    region_code: str | None = None
    from_account: str | None = Field(None, description="the account name")
    to_account: str | None = Field(None, description="the account name")
    beneficiary: str | None = None
    purpose: str | None = None
    reason: str | None = None
    verification: str | None = Field(
        None, description="a verified outcome's id (the issuances drawing on it name it)"
    )
    milestone: str | None = Field(None, description="a sign-off's milestone")
    indicator: str | None = Field(None, description="a sign-off's indicator")
    value: float | None = Field(None, description="a sign-off's verified value [indicator unit]")
    target: float | None = Field(None, description="a sign-off's target [indicator unit]")
    decision: Literal["accepted", "rejected"] | None = None
    evaluator_organisation: str | None = Field(
        None, description="a sign-off's evaluator: the organisation's name, never a person's"
    )
    report_sha256: str | None = Field(None, description="the evaluator's report (hex)")
    evidence_sha256: str | None = Field(
        None, description="the digest of the evidence the evaluator signed (hex)"
    )
    leaf_index: int | None = None
    leaf_hash: str | None = Field(None, description="hex")
    proof_url: str = Field(description="its inclusion proof (JSON)")


# ------------------------------------------------------------------------------ helpers
def _utc(value: Any) -> Any:
    """A time read back from the store with its UTC zone (SQLite keeps none)."""
    return as_utc(value) if isinstance(value, dt.datetime) else value


def _tables() -> Any:
    from restora.store import registry_tables

    return registry_tables


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _accounts(store: Any, ids: Any = None) -> dict[int, dict[str, Any]]:
    t = _tables().registry_accounts
    q = sa.select(t).order_by(t.c.id)
    if ids is not None:
        q = q.where(t.c.id.in_(list(ids)))
    with _engine(store).connect() as conn:
        return {int(r["id"]): dict(r) for r in conn.execute(q).mappings()}


def _account_view(row: dict[str, Any], principal: Principal) -> AccountPublic:
    own = principal.org_id is not None and row.get("org_id") == principal.org_id
    row = {**row, "created_at": _utc(row.get("created_at")), "mine": own}
    return AccountPublic.model_validate(jsonable(row))


def my_accounts(store: Any, principal: Principal) -> set[int]:
    """The accounts of the caller's organisation."""
    if principal.org_id is None:
        return set()
    t = _tables().registry_accounts
    with _engine(store).connect() as conn:
        q = sa.select(t.c.id).where(t.c.org_id == principal.org_id)
        return {int(i) for i in conn.execute(q).scalars()}


def _regulator(principal: Principal) -> bool:
    return principal.role in REGULATORS


def _sees_account(store: Any, principal: Principal, account_id: int) -> dict[str, Any]:
    row = _accounts(store, [account_id]).get(account_id)
    if row is None or not (_regulator(principal) or row["org_id"] == principal.org_id):
        raise Problem(404, f"no account {account_id} of yours", kind="not-found")
    return row


def _actor(principal: Principal) -> str:
    """Who acted, as the public log says it: the organisation or the role, never a person."""
    return f"org:{principal.org_id}" if principal.org_id is not None else f"role:{principal.role}"


def _key(principal: Principal, header: str | None) -> str | None:
    """The store's idempotency key: the header's, scoped to the caller (hashed: the key is in
    the public log)."""
    if header is None or not header.strip():
        return None
    who = principal.user_id if principal.user_id is not None else principal.role
    return hashlib.sha256(f"{who}\n{header.strip()}".encode()).hexdigest()[:40]


def _ledger_problem(exc: Exception) -> Problem:
    field = getattr(exc, "field", None)
    message = str(exc)
    if field in ("serial", "account", "event", "verification") and message.startswith("no "):
        return Problem(404, message, kind="not-found")
    errors = [{"field": field, "in": "body", "message": message}] if field else None
    return Problem(409, message, kind="conflict", errors=errors)


def _call(fn: Callable[[], Any]) -> Any:
    """Run a store call: a refusal of the ledger's rules → 409 (404 for a missing record)."""
    from restora.errors import InputError
    from restora.registry.ledger import LedgerError
    from restora.store.registry import RequestConflict

    try:
        return fn()
    except RequestConflict as exc:
        raise Problem(409, str(exc), kind="conflict") from exc
    except LedgerError as exc:
        raise _ledger_problem(exc) from exc
    except InputError as exc:
        raise Problem(422, str(exc), kind="invalid-input") from exc


def sequence_pending(store: Any, at: dt.datetime) -> int | None:
    """Sequence the pending events and sign a head with the configured key (if any): after a
    write, so that the inclusion proof of what was just written is served at once."""
    from restora.errors import InputError
    from restora.registry.signing import configured_key
    from restora.store import registry

    try:
        key = configured_key()
    except InputError as exc:  # a deployment's mistake; the write itself is done
        log.warning("registry key unusable, heads not signed: %s", exc)
        key = None
    out = registry.integrate(store, at=at, key=key)
    return None if out is None else int(out["size"])


def _audit(store: Any, change: Change, out: dict[str, Any], at: dt.datetime) -> None:
    """The audit trail's record of a registry write (the events are the registry's own log)."""
    from restora.store.audit import log_change

    if out.get("replayed") or not out.get("events"):
        return
    ids = [e["id"] for e in out["events"]]
    with _engine(store).begin() as conn:
        log_change(
            conn,
            change,
            table="registry_events",
            record_id=ids[-1],
            action="insert",
            after={"events": ids, "kinds": [e["kind"] for e in out["events"]]},
            when=at,
        )


def _names(store: Any, ids: Any) -> dict[int, str]:
    return {i: str(r["name"]) for i, r in _accounts(store, {i for i in ids if i}).items()}


def _blocks_view(store: Any, rows: list[dict[str, Any]]) -> list[BlockPublic]:
    names = _names(store, {r["account"] for r in rows})
    return [
        BlockPublic.model_validate(jsonable({**r, "account_name": names.get(r["account"])}))
        for r in rows
    ]


def _written(
    request: Request,
    store: Any,
    change: Change,
    out: dict[str, Any],
    at: dt.datetime,
    start: int | None = None,
) -> WriteResult:
    _audit(store, change, out, at)
    size = sequence_pending(store, at)
    events = [EventBrief.model_validate(e) for e in out["events"]]
    blocks = _blocks_view(store, out.get("blocks", []))
    return WriteResult(
        events=events,
        blocks=blocks,
        block=next((b for b in blocks if b.start == start), None),
        replayed=bool(out.get("replayed")),
        account=out.get("account"),
        tree_size=size,
    )


def _count(unit_type: str, count: int | None, amount: float | None, field: str = "count") -> int:
    from restora.registry.ledger import UNIT_TYPES

    if (count is None) == (amount is None):
        raise Problem(
            422,
            "give either count (serial numbers) or amount (in the unit's measure)",
            kind="invalid-input",
            errors=[{"field": field, "in": "body", "message": "count or amount"}],
        )
    if count is not None:
        return count
    assert amount is not None
    n = int(_call(lambda: UNIT_TYPES[unit_type].count(amount)))
    if n > 10**12:
        raise Problem(
            422,
            f"{amount} {UNIT_TYPES[unit_type].measure} is more than 10¹² serial numbers",
            kind="invalid-input",
            errors=[{"field": "amount", "in": "body", "message": "too large"}],
        )
    return n


# ------------------------------------------------------------------------------ accounts
@router.get("/accounts", response_model=list[AccountPublic], summary="Registry accounts")
def list_accounts(
    store: StoreDep,
    principal: CanRead,
    kind: Annotated[AccountKind | None, Query()] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[AccountPublic]:
    """The bureaus and evaluators see every account; the others their organisation's."""
    rows = list(_accounts(store).values())
    if not _regulator(principal):
        rows = [r for r in rows if principal.org_id is not None and r["org_id"] == principal.org_id]
    if kind is not None:
        rows = [r for r in rows if r["kind"] == kind]
    if org_id is not None:
        rows = [r for r in rows if r["org_id"] == org_id]
    return [_account_view(r, principal) for r in rows]


@router.post("/accounts", response_model=WriteResult, status_code=201, summary="Open an account")
def open_account(
    request: Request,
    response: Response,
    body: AccountCreate,
    store: StoreDep,
    principal: CanAdmin,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    """For any organisation (``org_id``); the name defaults to the organisation's."""
    from restora.store import accounts as orgs
    from restora.store import registry

    name = (body.name or "").strip()
    if body.org_id is not None:
        org = orgs.organisation(_engine(store), org_id=body.org_id)
        if org is None:
            raise Problem(
                422,
                f"org_id: no organisation {body.org_id}",
                kind="invalid-input",
                errors=[{"field": "org_id", "in": "body", "message": "no such organisation"}],
            )
        name = name or str(org["name"])
    if not name:
        raise Problem(
            422,
            "name: an account needs a name (or an organisation to take it from)",
            kind="invalid-input",
            errors=[{"field": "name", "in": "body", "message": "required without org_id"}],
        )
    if body.region_code is not None:
        check_region(principal, body.region_code, write=True)
    at = clock(request)
    out = _call(
        lambda: registry.open_account(
            store,
            kind=body.kind,
            name=name,
            at=at,
            org_id=body.org_id,
            region_code=body.region_code,
            mine_id=body.mine_id,
            actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )
    response.headers["Location"] = f"/api/v1/registry/accounts/{out['account']}"
    return _written(request, store, change, out, at)


@router.get("/accounts/{account_id}", response_model=AccountPublic, summary="One account")
def get_account(account_id: BigId, store: StoreDep, principal: CanRead) -> AccountPublic:
    return _account_view(_sees_account(store, principal, account_id), principal)


def _public_url(kind: str, event_id: int) -> str | None:
    return f"/public/registry/events/{event_id}" if kind in LISTED_KINDS else None


@router.get(
    "/accounts/{account_id}/statement",
    response_model=Statement,
    summary="An account's statement: its blocks and every event in or out of it",
)
def account_statement(
    account_id: BigId,
    store: StoreDep,
    principal: CanRead,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Statement:
    from restora.store import registry

    row = _sees_account(store, principal, account_id)
    st = _call(lambda: registry.statement(store, account_id, limit=limit))
    names = _names(store, {ln["other_account"] for ln in st["lines"]})
    lines = [
        StatementLine.model_validate(
            jsonable(
                {
                    **ln,
                    "at": _utc(ln["at"]),
                    "other_account_name": names.get(ln["other_account"]),
                    "public_url": _public_url(ln["kind"], ln["event_id"]),
                }
            )
        )
        for ln in st["lines"]
    ]
    return Statement(
        account=_account_view(row, principal),
        blocks=_blocks_view(store, st["blocks"]),
        lines=lines,
    )


# ------------------------------------------------------------------------------ policies
@router.put(
    "/policies/{unit_type}",
    response_model=WriteResult,
    summary="Set a unit type's buffer and share-of-proceeds policy",
)
def set_policy(
    request: Request,
    unit_type: UnitTypeCode,
    body: PolicySet,
    store: StoreDep,
    principal: CanAdmin,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    from restora.store import registry

    at = clock(request)
    out = _call(
        lambda: registry.set_policy(
            store,
            unit_type,
            at=at,
            buffer=body.buffer.model_dump() if body.buffer else None,
            share=body.share.model_dump() if body.share else None,
            actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )
    return _written(request, store, change, out, at)


# ------------------------------------------------------------------------------ issuance
@router.post(
    "/verifications",
    response_model=WriteResult,
    status_code=201,
    summary="Record a verified outcome (an evaluator)",
)
def record_verification(
    request: Request,
    body: VerificationCreate,
    store: StoreDep,
    principal: CanVerify,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    """The evaluator is recorded as its organisation (its name), never the person."""
    from restora.store import accounts as orgs
    from restora.store import registry

    count = _count(body.unit_type, body.count, body.amount)
    org = (
        orgs.organisation(_engine(store), org_id=principal.org_id)
        if principal.org_id is not None
        else None
    )
    evaluator = str(org["name"]) if org else _actor(principal)
    at = clock(request)
    out = _call(
        lambda: registry.record_verification(
            store,
            verification=body.verification,
            unit_type=body.unit_type,
            project_id=body.project_id,
            vintage=body.vintage,
            region_code=body.region_code,
            count=count,
            evaluator=evaluator,
            report_sha256=body.report_sha256,
            at=at,
            details=body.details,
            actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )
    return _written(request, store, change, out, at)


@router.post(
    "/issue",
    response_model=WriteResult,
    status_code=201,
    summary="Issue units against a recorded verification",
)
def issue_units(
    request: Request,
    body: IssueCreate,
    store: StoreDep,
    principal: CanAdmin,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    """Never more than the verification leaves; the unit type's policy sends its buffer and
    share of proceeds to their accounts in the same event."""
    from restora.store import registry

    t = _tables().registry_verifications
    with _engine(store).connect() as conn:
        found = conn.execute(
            sa.select(t.c.unit_type, t.c.region_code).where(t.c.id == body.verification)
        ).first()
    unit_type = None if found is None else found.unit_type
    if found is not None:
        check_region(principal, found.region_code, write=True)
    if unit_type is None:
        raise Problem(
            404,
            f"no verified outcome {body.verification!r}: units are issued only from a "
            "verified outcome",
            kind="not-found",
        )
    count = _count(str(unit_type), body.count, body.amount)
    at = clock(request)
    out = _call(
        lambda: registry.issue(
            store,
            verification=body.verification,
            account=body.account,
            count=count,
            at=at,
            attrs=body.attrs,
            actor=_actor(principal),
            key=_key(principal, idempotency_key),
        )
    )
    return _written(request, store, change, out, at)


# ------------------------------------------------------------------------------ operations
class _NotYours(Exception):
    pass


class _NotYourRole(Exception):
    pass


def _checker(store: Any, principal: Principal, kind: str) -> Callable[[Any], None]:
    """The ``check`` of :func:`restora.store.registry.operate`: may the caller do ``kind`` on
    the locked block?"""
    mine = my_accounts(store, principal)
    admin = principal.role == "admin"

    def check(block: Any) -> None:
        parties = {block.account, block.pending_to, block.lender} - {None}
        if not (admin or _regulator(principal) or parties & mine):
            raise _NotYours
        if admin:
            return
        if kind in ADMIN_KINDS:
            if not allowed(principal.role, "registry.admin"):
                raise _NotYourRole(f"only the registry's bureau may {kind} a block")
            if not in_scope(principal.region, block.region_code):
                raise _NotYourRole(f"region {block.region_code} is outside your scope")
            return
        ok = (
            (kind in HOLDER_KINDS and block.account in mine)
            or (kind in RECIPIENT_KINDS and block.pending_to in mine)
            or (kind in LENDER_KINDS and block.lender in mine)
        )
        if not ok:
            who = (
                "the pending recipient"
                if kind == "accept_transfer"
                else "the lender"
                if kind in LENDER_KINDS
                else "the holder"
            )
            raise _NotYourRole(f"only {who} of the block may {kind.replace('_', ' ')} it")

    return check


def _operate(
    request: Request,
    store: Any,
    principal: Principal,
    change: Change,
    kind: str,
    unit_type: str,
    start: int,
    end: int,
    fields: OperationFields,
    idem: str | None,
) -> WriteResult:
    from restora.store import registry

    if kind in ADMIN_KINDS and not allowed(principal.role, "registry.admin"):
        raise Problem(
            403, f"the role {principal.role} may not {kind} a block (registry.admin)",
            kind="forbidden",
        )  # fmt: skip
    values = fields.model_dump(exclude_none=True, include=set(FIELDS_OF.get(kind, ())) | {"reason"})
    at = clock(request)
    check = _checker(store, principal, kind)

    def run() -> dict[str, Any]:
        return registry.operate(  # type: ignore[no-any-return]
            store,
            kind,
            unit_type=unit_type,
            start=start,
            end=end,
            at=at,
            actor=_actor(principal),
            key=_key(principal, idem),
            check=check,
            **values,
        )

    try:
        out = _call(run)
    except _NotYours:
        raise Problem(
            404, f"no {unit_type} block {start}-{end} of yours", kind="not-found"
        ) from None
    except _NotYourRole as exc:
        raise Problem(403, str(exc), kind="forbidden") from None
    return _written(request, store, change, out, at, start)


@router.post(
    "/blocks/{unit_type}/{start}-{end}/{kind}",
    response_model=WriteResult,
    summary="An operation on serials start-end of a block (split first when a part)",
)
def operate_range(
    request: Request,
    unit_type: UnitTypeCode,
    start: Annotated[int, Path(ge=1, le=2**62)],
    end: Annotated[int, Path(ge=1, le=2**62)],
    kind: Kind,
    body: OperationFields,
    store: StoreDep,
    principal: CanOperate,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    """``start``-``end`` must lie inside one block. Fields by kind: transfer and
    initiate_transfer ``to``; retire ``beneficiary`` and ``purpose``; pledge ``lender`` and
    ``pledge``; list ``listing``; freeze and cancel ``reason``."""
    return _operate(
        request, store, principal, change, kind, unit_type, start, end, body, idempotency_key
    )


@router.post(
    "/operations",
    response_model=WriteResult,
    summary="An operation named in the body (serial range, or a block's serial id and count)",
)
def operate_body(
    request: Request,
    body: Operation,
    store: StoreDep,
    principal: CanOperate,
    change: ChangeDep,
    idempotency_key: IdemKey = None,
) -> WriteResult:
    """Name the serials by ``unit_type`` + ``start`` + ``end``, or by ``serial`` (a block's
    serial id): the whole block, or with ``count`` (or ``amount``) its first serials."""
    from restora.registry.ledger import parse_serial_id

    if body.serial is not None:
        unit_type, start, end = _call(lambda: parse_serial_id(body.serial or ""))
        if body.count is not None or body.amount is not None:
            n = _count(unit_type, body.count, body.amount)
            if n > end - start + 1:
                raise Problem(
                    409,
                    f"the block {body.serial} has {end - start + 1} serials; {n} asked",
                    kind="conflict",
                    errors=[{"field": "count", "in": "body", "message": "more than the block"}],
                )
            end = start + n - 1
    elif body.unit_type is not None and body.start is not None and body.end is not None:
        unit_type, start, end = body.unit_type, body.start, body.end
    else:
        raise Problem(
            422,
            "name the serials: serial (and count) or unit_type, start and end",
            kind="invalid-input",
            errors=[{"field": "serial", "in": "body", "message": "required"}],
        )
    if end < start:
        raise Problem(422, f"{start}-{end} is not a range of serials", kind="invalid-input")
    return _operate(
        request, store, principal, change, body.kind, unit_type, start, end, body, idempotency_key
    )


# ------------------------------------------------------------------------------ reading
@router.get("/blocks", response_model=list[BlockPublic], summary="Serial blocks")
def list_blocks(
    store: StoreDep,
    principal: CanRead,
    account: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
    unit_type: Annotated[UnitTypeCode | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = MAX_ROWS,
) -> list[BlockPublic]:
    """The bureaus and evaluators see every block; the others the blocks their organisation
    holds, is sent (pending transfer) or holds as a pledge, in serial order."""
    from restora.store.registry import block_dict

    t = _tables().registry_blocks
    q = sa.select(t).order_by(t.c.unit_type, t.c.serial_start).limit(limit)
    if not _regulator(principal):
        mine = my_accounts(store, principal)
        if not mine:
            return []
        q = q.where(
            sa.or_(t.c.account_id.in_(mine), t.c.pending_to.in_(mine), t.c.lender.in_(mine))
        )
    for col, value in (
        (t.c.account_id, account),
        (t.c.project_id, project_id),
        (t.c.unit_type, unit_type),
        (t.c.status, status),
    ):
        if value is not None:
            q = q.where(col == value)
    with _engine(store).connect() as conn:
        rows = [block_dict(r) for r in conn.execute(q).mappings()]
    return _blocks_view(store, rows)


def _event_row(store: Any, event_id: int) -> Any:
    t = _tables().registry_events
    with _engine(store).connect() as conn:
        return conn.execute(sa.select(t).where(t.c.id == event_id)).mappings().first()


def _may_see_event(store: Any, principal: Principal, row: Any) -> bool:
    if row is None:
        return False
    if row["kind"] in PUBLIC_KINDS or _regulator(principal):
        return True
    parties = {row["account_id"], row["to_account_id"]} - {None}
    return bool(parties & my_accounts(store, principal))


@router.get("/events/{event_id}", response_model=EventPublic, summary="One event of the log")
def get_event(event_id: BigId, store: StoreDep, principal: CanRead) -> EventPublic:
    from restora.store import registry

    if not _may_see_event(store, principal, _event_row(store, event_id)):
        raise Problem(404, f"no event {event_id}", kind="not-found")
    e = registry.get_event(store, event_id)
    assert e is not None
    e["public_url"] = _public_url(e["kind"], event_id)
    e["at"] = _utc(e["at"])
    return EventPublic.model_validate(jsonable(e))


# ------------------------------------------------------------------------------ public
def head_view(head: Any) -> TreeHeadPublic:
    return TreeHeadPublic(**head.as_json(), checkpoint=head.body().decode())


@router.get(
    "/head",
    response_model=TreeHeadPublic | None,
    summary="The latest signed tree head (null before the first)",
)
def latest_head(store: StoreDep, principal: Public) -> TreeHeadPublic | None:
    from restora.store import registry

    head = registry.latest_head(store)
    return None if head is None else head_view(head)


@router.get("/keys", response_model=list[PublicKey], summary="The registry's public keys")
def public_keys(store: StoreDep, principal: Public) -> list[PublicKey]:
    """Check a signed tree head with the key of its ``key_id`` (Ed25519, RFC 8032)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    t = _tables().registry_keys
    with _engine(store).connect() as conn:
        rows = conn.execute(sa.select(t).order_by(t.c.created_at)).mappings().all()
    out = []
    for r in rows:
        raw = bytes(r["public_key"])
        pem = (
            Ed25519PublicKey.from_public_bytes(raw)
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        out.append(
            PublicKey(
                key_id=r["key_id"],
                algorithm="Ed25519",
                public_key=base64.b64encode(raw).decode(),
                pem=pem,
                created_at=_utc(r["created_at"]),
            )
        )
    return out


@router.get(
    "/proofs/inclusion/{event_id}",
    response_model=InclusionProof,
    summary="The inclusion proof of an event in the signed tree (RFC 9162 §2.1.3)",
)
def inclusion_proof(
    event_id: BigId,
    store: StoreDep,
    principal: Public,
    size: Annotated[
        int | None, Query(ge=1, le=2**62, description="the tree's size (default: latest head)")
    ] = None,
) -> InclusionProof:
    """Public for sign-offs, verified outcomes, issuances, transfers, retirements and
    cancellations (and their splits); the other events for their parties and the bureaus. Check it offline with
    ``restora registry check-proof`` against a saved signed tree head."""
    from restora.store import registry

    if not _may_see_event(store, principal, _event_row(store, event_id)):
        raise Problem(404, f"no event {event_id}", kind="not-found")
    return InclusionProof.model_validate(_call(lambda: registry.inclusion(store, event_id, size)))


@router.get(
    "/proofs/consistency",
    response_model=ConsistencyProof,
    summary="The consistency proof that the log of size1 events is a prefix of size2's",
)
def consistency_proof(
    store: StoreDep,
    principal: Public,
    size1: Annotated[int, Query(ge=1, le=2**62)],
    size2: Annotated[int | None, Query(ge=1, le=2**62, description="default: latest")] = None,
) -> ConsistencyProof:
    from restora.store import registry

    return ConsistencyProof.model_validate(_call(lambda: registry.consistency(store, size1, size2)))


@router.get("/unit-types", response_model=list[UnitTypePublic], summary="The unit types")
def unit_types(principal: Public) -> list[UnitTypePublic]:
    from restora.registry.ledger import UNIT_TYPES

    return [
        UnitTypePublic(
            code=u.code,
            name_en=u.name_en,
            name_zh=u.name_zh,
            measure=u.measure,
            serial_unit=float(u.serial_unit),
            attrs=list(u.attrs),
        )
        for u in UNIT_TYPES.values()
    ]


@router.get(
    "/public/totals",
    response_model=list[Totals],
    summary="Issued, retired, cancelled and outstanding units per project and unit type",
)
def public_totals(
    store: StoreDep,
    principal: Public,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
) -> list[Totals]:
    from restora.registry.ledger import UNIT_TYPES
    from restora.store import registry

    out = []
    for rec in registry.totals(store, project_id=project_id):
        ut = UNIT_TYPES[rec["unit_type"]]
        out.append(Totals(**rec, unit_name_en=ut.name_en, unit_name_zh=ut.name_zh))
    return out


@router.get(
    "/public/accounts",
    response_model=list[PublicAccount],
    summary="The registry's accounts by name (whom to transfer to)",
)
def public_accounts(store: StoreDep, principal: Public) -> list[PublicAccount]:
    return [
        PublicAccount(id=i, kind=r["kind"], name=r["name"]) for i, r in _accounts(store).items()
    ]


def _evaluator_organisation(store: Any, event_id: int) -> str | None:
    """The name of the organisation of the evaluator who signed the sign-off ``event_id`` (read
    from the sign-off row and the organisations, never from the event: an event may name a
    person), or None."""
    from restora.store.monitoring_tables import monitoring_signoffs as S
    from restora.store.platform_tables import organisations as O

    q = sa.select(O.c.name).join(S, S.c.evaluator_org_id == O.c.id).where(S.c.event_id == event_id)
    with _engine(store).connect() as conn:
        return conn.execute(q.limit(1)).scalar()


def _basis(store: Any, row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The public fields of a sign-off or a verified outcome (the basis of an issuance)."""
    kind = row["kind"]
    if kind == "sign_off":
        return {
            "milestone": data.get("milestone"),
            "indicator": data.get("indicator"),
            "value": data.get("value"),
            "target": data.get("target"),
            "decision": data.get("decision"),
            "evaluator_organisation": _evaluator_organisation(store, int(row["id"])),
            "report_sha256": data.get("report_sha256"),
            "evidence_sha256": data.get("evidence_sha256"),
            "verification": data.get("verification"),
        }
    if kind == "verify_outcome":
        return {
            "verification": data.get("verification"),
            "vintage": data.get("vintage"),
            "region_code": data.get("region_code"),
            "count": data.get("count"),
            "report_sha256": data.get("report_sha256"),
        }
    return {}


def public_record(store: Any, row: Any, leaf: tuple[int, bytes] | None) -> PublicRecord:
    """An event as the public reads it (names of accounts and organisations, never of
    people)."""
    from restora.registry.ledger import UNIT_TYPES, serial_id

    data = json.loads(row["data"])
    basis = _basis(store, row, data)
    unit_type = row["unit_type"] or (data.get("unit_type") if basis else None)
    ut = UNIT_TYPES.get(unit_type) if unit_type else None
    start, end = row["serial_start"], row["serial_end"]
    count = None if start is None else int(end) - int(start) + 1
    if count is None and basis.get("count") is not None:
        count = int(basis["count"])
    names = _names(store, {row["account_id"], row["to_account_id"]})
    block: dict[str, Any] = {}
    t = _tables().registry_blocks
    if start is not None:
        with _engine(store).connect() as conn:
            b = (
                conn.execute(
                    sa.select(t.c.project_id, t.c.vintage, t.c.region_code)
                    .where(t.c.unit_type == unit_type, t.c.serial_start <= start)
                    .order_by(t.c.serial_start.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        if b is not None:
            block = dict(b)
    serial = None
    if block and start is not None:
        serial = serial_id({**block, "unit_type": unit_type, "start": start, "end": end})
    from_acc = names.get(row["account_id"])
    to_acc = names.get(row["to_account_id"])
    if row["kind"] == "issue":
        from_acc, to_acc = None, names.get(row["account_id"])
    return PublicRecord(
        id=int(row["id"]),
        kind=row["kind"],
        at=_utc(row["at"]),
        unit_type=unit_type,
        measure=ut.measure if ut else None,
        serial=serial,
        start=start,
        end=end,
        count=count,
        amount=ut.amount(count) if ut and count else None,
        project_id=row["project_id"] or data.get("project_id"),
        vintage=block.get("vintage", basis.get("vintage")),
        region_code=block.get("region_code", basis.get("region_code")),
        from_account=from_acc,
        to_account=to_acc,
        beneficiary=data.get("beneficiary") if row["kind"] == "retire" else None,
        purpose=data.get("purpose") if row["kind"] == "retire" else None,
        reason=data.get("reason") if row["kind"] == "cancel" else None,
        **{k: v for k, v in basis.items() if k not in ("vintage", "region_code", "count")},
        leaf_index=None if leaf is None else leaf[0],
        leaf_hash=None if leaf is None else leaf[1].hex(),
        proof_url=f"/api/v1/registry/proofs/inclusion/{int(row['id'])}",
    )


def _leaves(store: Any, ids: list[int]) -> dict[int, tuple[int, bytes]]:
    t = _tables().registry_leaves
    if not ids:
        return {}
    with _engine(store).connect() as conn:
        q = sa.select(t.c.event_id, t.c.leaf_index, t.c.leaf_hash).where(t.c.event_id.in_(ids))
        return {int(e): (int(i), bytes(h)) for e, i, h in conn.execute(q)}


@router.get(
    "/public/events",
    response_model=list[PublicRecord],
    summary="Sign-offs, verified outcomes, issuances, transfers, retirements and cancellations, "
    "newest first",
)
def public_events(
    store: StoreDep,
    principal: Public,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[ListedKind | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PublicRecord]:
    t = _tables().registry_events
    q = sa.select(t).where(t.c.kind.in_(LISTED_KINDS)).order_by(t.c.id.desc()).limit(limit)
    if project_id is not None:
        q = q.where(t.c.project_id == project_id)
    if kind is not None:
        q = q.where(t.c.kind == kind)
    with _engine(store).connect() as conn:
        rows = conn.execute(q).mappings().all()
    leaves = _leaves(store, [int(r["id"]) for r in rows])
    return [public_record(store, r, leaves.get(int(r["id"]))) for r in rows]


@router.get(
    "/public/events/{event_id}",
    response_model=PublicRecord,
    summary="The public record of one sign-off, verified outcome, issuance, transfer, retirement "
    "or cancellation",
)
def public_event(event_id: BigId, store: StoreDep, principal: Public) -> PublicRecord:
    row = _event_row(store, event_id)
    if row is None or row["kind"] not in LISTED_KINDS:
        raise Problem(404, f"no public registry event {event_id}", kind="not-found")
    return public_record(store, row, _leaves(store, [event_id]).get(event_id))
