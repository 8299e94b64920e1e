"""The project library, finance supply and the market flow (issue 14; docs/market.md).

- ``/market/listings``: a project's need published from a stored appraisal version (the
  figures are read from the document, :mod:`restora.matching.library`); its eligible products
  with the reasons in words; its claims; the full appraisal for the owner and the first N
  claimants; its history.
- ``/market/products``: a provider organisation's products (capacity, tickets, tenor, price,
  requirements, preferences) and the listings each is eligible for.
- ``/market/claims``: claim a listing (finance), choose a claim (the owner), answer it (the
  chosen provider) before the deadline; ``/market/notifications``: an organisation's inbox.

Who sees what (on top of the matrix's actions): a listing is seen by finance of its region
scope, by the enterprise that owns it, by the bureaus and evaluators of its region; it is
changed (withdrawn, a claim chosen) by its owner — the project's writers
(:func:`restora.service.permissions.project_writable`). A provider sees its own products and
claims only; the owner sees every claim of its listing. Lapses and closed windows are read
from the timestamps at the app's clock (``app.state.clock``, a test's), never written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.errors import InputError
from restora.service.changes import ChangeDep
from restora.service.db import StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import (
    ECO,
    ENT,
    EVAL,
    FIN,
    NR,
    allowed,
    in_scope,
    project_writable,
)
from restora.service.problems import Problem
from restora.service.records import jsonable
from restora.service.security import Principal, authorize

router = APIRouter(prefix="/market", tags=["market"])
CanRead = Annotated[Principal, Depends(authorize("library.read"))]
CanPublish = Annotated[Principal, Depends(authorize("library.publish"))]
CanReadSupply = Annotated[Principal, Depends(authorize("supply.read"))]
CanManage = Annotated[Principal, Depends(authorize("supply.manage"))]
CanClaim = Annotated[Principal, Depends(authorize("market.claim"))]
CanInbox = Annotated[Principal, Depends(authorize("market.inbox"))]
ListingId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the listing's id")]
ProductId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the product's id")]
ClaimId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the claim's id")]

Instrument = Literal[
    "loan", "pledge_loan", "bond_subscription", "equity", "guarantee", "insurance", "subsidy"
]
Collateral = Literal["carbon_sink_rights", "quota_rights", "charging_rights", "land_use_rights"]
Stage = Literal["preparation", "construction", "operation"]
Mineral = Literal["coal", "metal", "non_metal", "building_stone", "oil_gas"]
Mode = Literal["safety_baseline", "resource_utilization", "property_rights", "industry_integration"]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit GB/T 2260 code")]


def clock(request: Request) -> dt.datetime:
    """The app's time: ``app.state.clock()`` when set (tests), else now (UTC)."""
    fn: Callable[[], dt.datetime] | None = getattr(request.app.state, "clock", None)
    return fn() if fn is not None else dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------ schemas
class ScheduleItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2200, description="calendar year the money is drawn")
    amount_cny: float = Field(ge=0, description="[CNY]")


class Settings(BaseModel):
    """The market's settings of a listing (defaults: docs/market.md)."""

    model_config = ConfigDict(extra="forbid")

    claim_window_hours: int | None = Field(
        None, ge=1, le=2160, description="how long providers may claim [h] (default 168)"
    )
    access_claims: int | None = Field(
        None, ge=1, le=50, description="the first N claims see the full appraisal (default 3)"
    )
    answer_hours: int | None = Field(
        None, ge=1, le=2160, description="the chosen provider's time to answer [h] (default 120)"
    )


class ListingCreate(BaseModel):
    """A project's need, published from one of its stored appraisal versions."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "project_id": "QS-P-M09",
                    "amount_cny": 12000000,
                    "needed_by": "2027-03-01",
                    "instrument": "pledge_loan",
                    "tenor_years": 10,
                    "stage": "preparation",
                    "collateral": ["land_use_rights"],
                }
            ]
        },
    )

    project_id: str = Field(max_length=100)
    appraisal_version: int | None = Field(
        None, ge=1, description="the stored appraisal version (default: the latest)"
    )
    amount_cny: float = Field(gt=0, le=1e12, description="money needed [CNY]")
    needed_by: dt.date | None = Field(None, description="when the money is needed")
    schedule: list[ScheduleItem] = Field(
        default_factory=list, max_length=50, description="drawdowns by year (adding up to it)"
    )
    instrument: Instrument
    tenor_years: float | None = Field(None, gt=0, le=50, description="[yr]")
    stage: Stage
    collateral: list[Collateral] = Field(default_factory=list, max_length=4)
    note: str | None = Field(None, max_length=2000)
    settings: Settings | None = None


class ClaimPublic(BaseModel):
    id: int
    listing_id: int
    product_id: int
    product_name: str | None = None
    org_id: int
    org_name: str | None = None
    seq: int = Field(description="its place among the listing's claims (1 = first)")
    access: bool = Field(description="among the first N: sees the full appraisal")
    amount_cny: float | None = None
    note: str | None = None
    state: str = Field(
        description="claimed, chosen, accepted, declined, lapsed, not_chosen, closed"
    )
    claimed_at: dt.datetime
    chosen_at: dt.datetime | None = None
    answer_due_at: dt.datetime | None = None
    answer: str | None = None
    terms: dict[str, Any] | None = None
    answered_at: dt.datetime | None = None
    listing: dict[str, Any] | None = Field(None, description="the listing (in lists of claims)")


class ListingPublic(BaseModel):
    id: int
    project_id: str
    name: str | None = None
    name_en: str | None = None
    version: int = Field(description="the listing's version (a new appraisal: a new version)")
    appraisal_version: int
    inputs_sha256: str
    figures: dict[str, Any] = Field(description="read from the appraisal (docs/market.md)")
    amount_cny: float
    needed_by: str | None = None
    schedule: list[dict[str, Any]]
    instrument: str
    tenor_years: float | None = None
    stage: str
    collateral: list[str]
    region_code: str | None = None
    mineral: str | None = None
    mode: str | None = None
    note: str | None = None
    claim_window_hours: int
    access_claims: int
    answer_hours: int
    state: str = Field(description="open, closed, matched, withdrawn, superseded")
    owner_org_id: int | None = None
    created_at: dt.datetime
    closes_at: dt.datetime
    ended_at: dt.datetime | None = None
    claims_count: int
    claims: list[ClaimPublic] = Field(description="the claims the caller may see")
    mine: bool = Field(description="the caller owns it (may withdraw it and choose a claim)")
    my_claim: int | None = Field(None, description="the caller's organisation's claim")
    has_access: bool = Field(description="the caller may read the full appraisal")
    registry: dict[str, Any] | None = Field(
        None,
        description="the project's registered units: blocks pledged (to which lender) and "
        "units held free to pledge (restora.store.registry.collateral; docs/registry.md)",
    )


class Requirements(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_dscr: float | None = Field(None, ge=0, le=100, description="minimum DSCR [1]")
    min_irr: float | None = Field(None, ge=-1, le=10, description="minimum IRR [1/yr]")
    max_p90_overrun: float | None = Field(
        None, ge=0, le=100, description="maximum P90 cost / P50 cost − 1 [1]"
    )
    collateral_any: list[Collateral] = Field(default_factory=list, max_length=4)
    regions: list[RegionCode] = Field(default_factory=list, max_length=200)
    minerals: list[Mineral] = Field(default_factory=list, max_length=5)
    modes: list[Mode] = Field(default_factory=list, max_length=4)
    stages: list[Stage] = Field(default_factory=list, max_length=3)


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_esv_gain_per_mcny: float | None = Field(
        None, ge=0, description="ESV gain per million CNY lent [CNY/yr per 10⁶ CNY]"
    )
    min_jobs: float | None = Field(None, ge=0, description="jobs in the busiest year [jobs]")


class ProductCreate(BaseModel):
    """A finance product of the caller's organisation."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "绿色修复质押贷",
                    "instrument": "pledge_loan",
                    "capacity_cny": 200000000,
                    "ticket_min_cny": 5000000,
                    "ticket_max_cny": 50000000,
                    "tenor_min_years": 3,
                    "tenor_max_years": 15,
                    "rate": 0.039,
                    "requirements": {"collateral_any": ["land_use_rights"]},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    instrument: Instrument
    capacity_cny: float = Field(gt=0, le=1e13, description="[CNY]")
    ticket_min_cny: float = Field(ge=0, le=1e13, description="[CNY]")
    ticket_max_cny: float = Field(gt=0, le=1e13, description="[CNY]")
    tenor_min_years: float | None = Field(None, ge=0, le=50)
    tenor_max_years: float | None = Field(None, gt=0, le=50)
    rate: float | None = Field(None, ge=0, le=1, description="interest or coupon [1/yr]")
    fee_rate: float | None = Field(None, ge=0, le=1, description="fee [1, of the amount]")
    premium_rate: float | None = Field(None, ge=0, le=1, description="premium [1/yr]")
    requirements: Requirements = Field(default_factory=lambda: Requirements.model_validate({}))
    preferences: Preferences = Field(default_factory=lambda: Preferences.model_validate({}))
    org_id: int | None = Field(None, ge=1, description="admins only: the provider organisation")


class ProductUpdate(BaseModel):
    """The fields to change (the product is checked again whole)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    capacity_cny: float | None = Field(None, gt=0, le=1e13)
    ticket_min_cny: float | None = Field(None, ge=0, le=1e13)
    ticket_max_cny: float | None = Field(None, gt=0, le=1e13)
    tenor_min_years: float | None = Field(None, ge=0, le=50)
    tenor_max_years: float | None = Field(None, gt=0, le=50)
    rate: float | None = Field(None, ge=0, le=1)
    fee_rate: float | None = Field(None, ge=0, le=1)
    premium_rate: float | None = Field(None, ge=0, le=1)
    requirements: Requirements | None = None
    preferences: Preferences | None = None
    active: bool | None = None


class ProductPublic(BaseModel):
    id: int
    org_id: int
    org_name: str | None = None
    org_kind: str | None = None
    name: str
    instrument: str
    capacity_cny: float
    ticket_min_cny: float
    ticket_max_cny: float
    tenor_min_years: float | None = None
    tenor_max_years: float | None = None
    rate: float | None = None
    fee_rate: float | None = None
    premium_rate: float | None = None
    requirements: dict[str, Any]
    preferences: dict[str, Any]
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class Verdict(BaseModel):
    """One (listing, product) pair: eligible or not, each failed requirement in words."""

    listing_id: int
    product_id: int
    product_name: str | None = None
    org_name: str | None = None
    project_id: str | None = None
    eligible: bool
    failures: list[dict[str, Any]] = Field(
        description="requirement, code, message, message_zh, smallest_change"
    )
    notes: list[str]
    meets_preferences: bool | None = None


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"product_id": 1}]})

    product_id: int = Field(ge=1, le=2**31 - 1, description="one of your active products")
    amount_cny: float | None = Field(None, gt=0, le=1e13, description="the amount offered [CNY]")
    note: str | None = Field(None, max_length=2000)


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_cny: float | None = Field(None, gt=0, le=1e13, description="[CNY]")
    rate: float | None = Field(None, ge=0, le=1, description="[1/yr]")
    fee_rate: float | None = Field(None, ge=0, le=1)
    premium_rate: float | None = Field(None, ge=0, le=1)
    tenor_years: float | None = Field(None, gt=0, le=50)
    conditions: str | None = Field(None, max_length=2000, description="conditions or a reason")


class Answer(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"answer": "accept", "terms": {"amount_cny": 1.2e7, "rate": 0.039}}]
        },
    )

    answer: Literal["accept", "decline"]
    terms: Terms | None = Field(None, description="to accept: at least amount_cny")


class NotificationPublic(BaseModel):
    id: int
    kind: str = Field(description="eligible_listing, claimed, chosen, accepted, declined, …")
    at: dt.datetime
    listing_id: int
    project_id: str | None = None
    listing_version: int | None = None
    claim_id: int | None = None
    product_id: int | None = None
    product_name: str | None = None
    details: dict[str, Any] | None = None


class EventPublic(BaseModel):
    id: int
    at: dt.datetime
    action: str
    claim_id: int | None = None
    org_id: int | None = None
    org_name: str | None = None
    details: dict[str, Any] | None = None


# ------------------------------------------------------------------------------ record rules
def listing_visible(principal: Principal, listing: dict[str, Any]) -> bool:
    """Finance: listings of its scope; an enterprise: its own; bureaus, evaluators: their
    region's; admin: all."""
    role = principal.role
    if role == "admin":
        return True
    if role == ENT:
        return principal.org_id is not None and listing.get("owner_org_id") == principal.org_id
    if role in (FIN, NR, ECO, EVAL):
        return in_scope(principal.region, listing.get("region_code"))
    return False


def listing_owned(principal: Principal, listing: dict[str, Any]) -> bool:
    """Whether the caller may act as the listing's owner (withdraw, choose)."""
    return project_writable(
        principal,
        region_code=listing.get("region_code"),
        owner_org_id=listing.get("owner_org_id"),
    )


def _sees_all_claims(principal: Principal, listing: dict[str, Any]) -> bool:
    return principal.role in ("admin", NR, ECO, EVAL) or listing_owned(principal, listing)


def _problem(exc: Exception, status: int = 422) -> Problem:
    field = getattr(exc, "field", None)
    problems = getattr(exc, "problems", None)
    if problems:
        field = problems[0].field
        message = problems[0].message
    else:
        message = str(exc)
    errors = [{"field": field, "in": "body", "message": message}] if field else None
    return Problem(status, f"{field}: {message}" if field else message, kind="invalid-input"
                   if status == 422 else "conflict", errors=errors)  # fmt: skip


def _call(fn: Callable[[], Any], *, missing: str | None = None) -> Any:
    """Run a store write: InputError → 422 (404 when it names ``missing``), conflict → 409."""
    from restora.store.market import MarketConflict

    try:
        return fn()
    except MarketConflict as exc:
        raise _problem(exc, 409) from exc
    except InputError as exc:
        if missing is not None and exc.problems and exc.problems[0].field == missing:
            raise Problem(404, exc.problems[0].message, kind="not-found") from exc
        raise _problem(exc) from exc


def _listing(request: Request, principal: Principal, listing_id: int) -> dict[str, Any]:
    from restora.store import market

    row = market.get_listing(request.app.state.store, listing_id, now=clock(request))
    if row is None or not listing_visible(principal, row):
        raise Problem(404, f"no listing {listing_id}", kind="not-found")
    return row


def _view(principal: Principal, listing: dict[str, Any]) -> ListingPublic:
    all_claims = _sees_all_claims(principal, listing)
    mine = None
    shown = []
    for c in listing["claims"]:
        own = principal.org_id is not None and c["org_id"] == principal.org_id
        if own:
            mine = c["id"]
        if all_claims or own:
            shown.append(ClaimPublic.model_validate(c))
    access = all_claims or any(
        c["access"] for c in listing["claims"] if c["org_id"] == principal.org_id
    )
    data = {k: listing.get(k) for k in ListingPublic.model_fields}
    data.update(
        claims=shown,
        mine=listing_owned(principal, listing),
        my_claim=mine,
        has_access=bool(access) and principal.role != "public",
    )
    return ListingPublic.model_validate(jsonable(data))


def _project_row(store: Any, principal: Principal, project_id: str) -> dict[str, Any]:
    from restora.service.permissions import check_project
    from restora.store import projects as repo

    row = repo.get_project(store, project_id)
    if row is None:
        raise Problem(
            404,
            f"no project {project_id!r}",
            kind="not-found",
            errors=[{"field": "project_id", "in": "body", "message": "no such project"}],
        )
    check_project(principal, row, write=True)
    return row


# ---------------------------------------------------------------------------------- listings
def _page(items: list[Any], paging: Any) -> dict[str, Any]:
    """One page of a list filtered in Python (by the record rules)."""
    return {
        "items": items[paging.offset : paging.offset + paging.limit],
        "total": len(items),
        "limit": paging.limit,
        "offset": paging.offset,
    }


def _sorted(rows: list[dict[str, Any]], paging: Any, allowed: tuple[str, ...], default: str) -> Any:
    col, desc = sort_key(paging.sort, allowed, default)
    present = [r for r in rows if r.get(col) is not None]
    absent = [r for r in rows if r.get(col) is None]
    return sorted(present, key=lambda r: r[col], reverse=desc) + absent


@router.get("/listings", response_model=Page[ListingPublic], summary="The project library")
def list_listings(
    request: Request,
    store: StoreDep,
    principal: CanRead,
    paging: Paging,
    current: Annotated[bool, Query(description="only listings not withdrawn or superseded")] = True,
    project_id: Annotated[str | None, Query(max_length=100)] = None,
    instrument: Annotated[Instrument | None, Query()] = None,
) -> Any:
    """Newest first by default; ``sort`` one of id, project_id, amount_cny, created_at,
    closes_at, region_code (``-`` for descending)."""
    from restora.service.permissions import region_prefix
    from restora.store import market

    col, desc = sort_key(paging.sort, market.LISTING_SORTABLE, "-id")
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    owner = principal.org_id if principal.role == ENT else None
    if principal.role == ENT and principal.org_id is None:
        return _page([], paging)
    rows = market.list_listings(
        store,
        region_prefix=None if principal.role == ENT else (scope or None),
        owner_org_id=owner,
        project_id=project_id,
        instrument=instrument,
        current=current,
        now=clock(request),
        sort=col,
        descending=desc,
    )
    return _page([_view(principal, r) for r in rows if listing_visible(principal, r)], paging)


@router.post(
    "/listings",
    response_model=ListingPublic,
    status_code=201,
    summary="Publish a project's need from a stored appraisal version",
)
def publish_listing(
    request: Request,
    response: Response,
    body: ListingCreate,
    store: StoreDep,
    principal: CanPublish,
    change: ChangeDep,
) -> ListingPublic:
    from restora.store import market

    project = _project_row(store, principal, body.project_id)
    need = body.model_dump(mode="json", exclude={"project_id", "appraisal_version", "settings"})
    settings = body.settings.model_dump() if body.settings else None
    row = _call(
        lambda: market.publish_listing(
            store,
            body.project_id,
            need,
            appraisal_version=body.appraisal_version,
            settings=settings,
            owner_org_id=project.get("owner_org_id") or principal.org_id,
            created_by=principal.user_id,
            change=change,
            now=clock(request),
        )
    )
    response.headers["Location"] = f"/api/v1/market/listings/{row['id']}"
    return _view(principal, row)


@router.get("/listings/{listing_id}", response_model=ListingPublic, summary="One listing")
def get_listing(request: Request, listing_id: ListingId, principal: CanRead) -> ListingPublic:
    return _view(principal, _listing(request, principal, listing_id))


@router.post(
    "/listings/{listing_id}/withdraw", response_model=ListingPublic, summary="Withdraw a listing"
)
def withdraw_listing(
    request: Request,
    listing_id: ListingId,
    store: StoreDep,
    principal: CanPublish,
    change: ChangeDep,
) -> ListingPublic:
    from restora.store import market

    listing = _listing(request, principal, listing_id)
    if not listing_owned(principal, listing):
        raise Problem(403, "only the listing's owner withdraws it", kind="forbidden")
    row = _call(
        lambda: market.withdraw_listing(
            store,
            listing_id,
            user_id=principal.user_id,
            org_id=principal.org_id,
            change=change,
            now=clock(request),
        )
    )
    return _view(principal, row)


def _meets(listing: dict[str, Any], product: dict[str, Any]) -> bool | None:
    prefs = product.get("preferences") or {}
    f = listing.get("figures") or {}
    checks = []
    if prefs.get("min_esv_gain_per_mcny") is not None:
        gain = f.get("esv_gain_cny_per_yr")
        per = None if gain is None else gain / (float(listing["amount_cny"]) / 1e6)
        checks.append(per is not None and per >= prefs["min_esv_gain_per_mcny"])
    if prefs.get("min_jobs") is not None:
        checks.append(f.get("jobs") is not None and f["jobs"] >= prefs["min_jobs"])
    return all(checks) if checks else None


def _verdict(listing: dict[str, Any], product: dict[str, Any]) -> Verdict:
    from restora.matching.library import check_pair

    v = check_pair(listing, product)
    return Verdict(
        listing_id=int(listing["id"]),
        product_id=int(product["id"]),
        product_name=product.get("name"),
        org_name=product.get("org_name"),
        project_id=listing.get("project_id"),
        eligible=v["eligible"],
        failures=v["failures"],
        notes=v["notes"],
        meets_preferences=_meets(listing, product),
    )


@router.get(
    "/listings/{listing_id}/eligibility",
    response_model=list[Verdict],
    summary="Each product against the listing: eligible or not, and why",
)
def listing_eligibility(
    request: Request, listing_id: ListingId, store: StoreDep, principal: CanRead
) -> list[Verdict]:
    from restora.store import market

    listing = _listing(request, principal, listing_id)
    if principal.role == FIN:
        if principal.org_id is None:
            return []
        products = market.list_products(store, org_id=principal.org_id, active=True)
    else:
        products = market.list_products(store, active=True)
    out = [_verdict(listing, p) for p in products]
    out.sort(key=lambda v: (not v.eligible, len(v.failures), v.product_id))
    return out


@router.get(
    "/listings/{listing_id}/appraisal",
    response_model=dict[str, Any],
    summary="The full appraisal the listing was published from (owner, first N claimants)",
)
def listing_appraisal(
    request: Request, listing_id: ListingId, store: StoreDep, principal: CanRead
) -> Any:
    from restora.store import market

    listing = _listing(request, principal, listing_id)
    if not _view(principal, listing).has_access:
        raise Problem(
            403,
            f"the full appraisal goes to the listing's owner and its first "
            f"{listing['access_claims']} claims",
            kind="forbidden",
        )
    return jsonable(market.listing_document(store, listing_id))


@router.get(
    "/listings/{listing_id}/events",
    response_model=list[EventPublic],
    summary="The listing's history, oldest first",
)
def listing_events(
    request: Request, listing_id: ListingId, store: StoreDep, principal: CanRead
) -> list[EventPublic]:
    from restora.store import market

    listing = _listing(request, principal, listing_id)
    everything = _sees_all_claims(principal, listing)
    own = {c["id"] for c in listing["claims"] if c["org_id"] == principal.org_id}
    out = []
    for e in market.listing_events(store, listing_id):
        if not everything:
            if e["claim_id"] is not None and e["claim_id"] not in own:
                continue
            if e["action"] == "notified":
                e = {**e, "details": None}
        out.append(EventPublic.model_validate(jsonable(e)))
    return out


# ---------------------------------------------------------------------------------- products
def _product(store: Any, principal: Principal, product_id: int) -> dict[str, Any]:
    from restora.store import market

    row = market.get_product(store, product_id)
    if row is None or (principal.role == FIN and row["org_id"] != principal.org_id):
        raise Problem(404, f"no product {product_id}", kind="not-found")
    return row


@router.get("/products", response_model=Page[ProductPublic], summary="Finance products")
def list_products(
    store: StoreDep,
    principal: CanReadSupply,
    paging: Paging,
    active: Annotated[bool | None, Query(description="only (in)active products")] = None,
) -> Any:
    """A provider sees its own products; the others every product. ``sort``: id, name,
    instrument, capacity_cny, rate, updated_at."""
    from restora.store import market

    if principal.role == FIN:
        if principal.org_id is None:
            return _page([], paging)
        rows = market.list_products(store, org_id=principal.org_id, active=active)
    else:
        rows = market.list_products(store, active=active)
    allowed_sort = ("id", "name", "instrument", "capacity_cny", "rate", "updated_at")
    rows = _sorted(rows, paging, allowed_sort, "id")
    return _page([ProductPublic.model_validate(jsonable(r)) for r in rows], paging)


@router.post(
    "/products", response_model=ProductPublic, status_code=201, summary="A new finance product"
)
def create_product(
    request: Request,
    response: Response,
    body: ProductCreate,
    store: StoreDep,
    principal: CanManage,
    change: ChangeDep,
) -> ProductPublic:
    from restora.store import market

    org = body.org_id if principal.role == "admin" else principal.org_id
    if org is None:
        raise Problem(
            422,
            "org_id: the product needs a provider organisation",
            kind="invalid-input",
            errors=[{"field": "org_id", "in": "body", "message": "required"}],
        )
    values = body.model_dump(mode="json", exclude={"org_id"})
    row = _call(
        lambda: market.create_product(
            store, org, values, created_by=principal.user_id, change=change, now=clock(request)
        )
    )
    response.headers["Location"] = f"/api/v1/market/products/{row['id']}"
    return ProductPublic.model_validate(jsonable(row))


@router.get("/products/{product_id}", response_model=ProductPublic, summary="One product")
def get_product(product_id: ProductId, store: StoreDep, principal: CanReadSupply) -> ProductPublic:
    return ProductPublic.model_validate(jsonable(_product(store, principal, product_id)))


@router.patch("/products/{product_id}", response_model=ProductPublic, summary="Change a product")
def update_product(
    request: Request,
    product_id: ProductId,
    body: ProductUpdate,
    store: StoreDep,
    principal: CanManage,
    change: ChangeDep,
) -> ProductPublic:
    from restora.store import market

    _product(store, principal, product_id)
    values = body.model_dump(mode="json", exclude_unset=True)
    for key in ("requirements", "preferences"):
        if key in values and values[key] is None:
            values[key] = {}
    row = _call(
        lambda: market.update_product(store, product_id, values, change=change, now=clock(request))
    )
    return ProductPublic.model_validate(jsonable(row))


@router.get(
    "/products/{product_id}/listings",
    response_model=list[Verdict],
    summary="The open listings you may see, each against this product",
)
def product_listings(
    request: Request, product_id: ProductId, store: StoreDep, principal: CanReadSupply
) -> list[Verdict]:
    from restora.store import market

    product = _product(store, principal, product_id)
    if not allowed(principal.role, "library.read"):
        return []
    rows = market.list_listings(store, current=True, now=clock(request))
    out = [_verdict(r, product) for r in rows if listing_visible(principal, r)]
    out.sort(key=lambda v: (not v.eligible, len(v.failures), -v.listing_id))
    return out


# ------------------------------------------------------------------------------------ claims
def _org(principal: Principal) -> int:
    if principal.org_id is None:
        raise Problem(
            422,
            "your account belongs to no organisation: a claim is an organisation's",
            kind="invalid-input",
        )
    return principal.org_id


@router.post(
    "/listings/{listing_id}/claims",
    response_model=ClaimPublic,
    status_code=201,
    summary="Claim a listing with one of your eligible products",
)
def claim_listing(
    request: Request,
    response: Response,
    listing_id: ListingId,
    body: ClaimCreate,
    store: StoreDep,
    principal: CanClaim,
    change: ChangeDep,
) -> ClaimPublic:
    from restora.store import market

    _listing(request, principal, listing_id)
    org = _org(principal)
    row = _call(
        lambda: market.claim_listing(
            store,
            listing_id,
            body.product_id,
            org,
            amount_cny=body.amount_cny,
            note=body.note,
            user_id=principal.user_id,
            change=change,
            now=clock(request),
        )
    )
    response.headers["Location"] = f"/api/v1/market/claims/{row['id']}"
    return ClaimPublic.model_validate(jsonable({**row, "listing": None}))


def _claim(request: Request, principal: Principal, claim_id: int) -> dict[str, Any]:
    from restora.store import market

    row = market.get_claim(request.app.state.store, claim_id, now=clock(request))
    if row is None or not listing_visible(principal, row["listing"]):
        raise Problem(404, f"no claim {claim_id}", kind="not-found")
    own = principal.org_id is not None and row["org_id"] == principal.org_id
    if not (own or _sees_all_claims(principal, row["listing"])):
        raise Problem(404, f"no claim {claim_id}", kind="not-found")
    return row


def _claim_view(row: dict[str, Any]) -> ClaimPublic:
    head = {k: v for k, v in row["listing"].items() if k not in ("claims", "figures")}
    return ClaimPublic.model_validate(jsonable({**row, "listing": head}))


@router.get("/claims", response_model=Page[ClaimPublic], summary="Your organisation's claims")
def list_claims(request: Request, store: StoreDep, principal: CanInbox, paging: Paging) -> Any:
    """Finance: the claims its organisation made; an enterprise: the claims of its listings;
    a bureau: the claims of the listings of its region; admin: all. Newest first; ``sort``:
    claimed_at, id."""
    from restora.store import market

    now = clock(request)
    if principal.role == FIN:
        if principal.org_id is None:
            return _page([], paging)
        rows = market.list_claims(store, org_id=principal.org_id, now=now)
    elif principal.role == ENT:
        if principal.org_id is None:
            return _page([], paging)
        rows = market.list_claims(store, owner_org_id=principal.org_id, now=now)
    else:
        rows = [
            r
            for r in market.list_claims(store, now=now)
            if listing_visible(principal, r["listing"])
        ]
    rows = _sorted(rows, paging, ("claimed_at", "id"), "-claimed_at")
    return _page([_claim_view(r) for r in rows], paging)


@router.get("/claims/{claim_id}", response_model=ClaimPublic, summary="One claim")
def get_claim(request: Request, claim_id: ClaimId, principal: CanInbox) -> ClaimPublic:
    return _claim_view(_claim(request, principal, claim_id))


@router.post(
    "/claims/{claim_id}/choose",
    response_model=ClaimPublic,
    summary="The owner chooses a claim (the provider then answers within the deadline)",
)
def choose_claim(
    request: Request,
    claim_id: ClaimId,
    store: StoreDep,
    principal: CanPublish,
    change: ChangeDep,
) -> ClaimPublic:
    from restora.store import market

    row = _claim(request, principal, claim_id)
    if not listing_owned(principal, row["listing"]):
        raise Problem(403, "only the listing's owner chooses a claim", kind="forbidden")
    out = _call(
        lambda: market.choose_claim(
            store,
            claim_id,
            user_id=principal.user_id,
            org_id=principal.org_id,
            change=change,
            now=clock(request),
        )
    )
    return _claim_view(out)


@router.post(
    "/claims/{claim_id}/answer",
    response_model=ClaimPublic,
    summary="The chosen provider accepts (with its terms) or declines",
)
def answer_claim(
    request: Request,
    claim_id: ClaimId,
    body: Answer,
    store: StoreDep,
    principal: CanClaim,
    change: ChangeDep,
) -> ClaimPublic:
    from restora.store import market

    row = _claim(request, principal, claim_id)
    if principal.role != "admin" and row["org_id"] != principal.org_id:
        raise Problem(404, f"no claim {claim_id}", kind="not-found")
    terms = body.terms.model_dump(exclude_none=True) if body.terms else None
    if body.answer == "accept" and not (terms or {}).get("amount_cny"):
        raise Problem(
            422,
            "terms.amount_cny: required to accept (the amount you commit)",
            kind="invalid-input",
            errors=[{"field": "terms.amount_cny", "in": "body", "message": "required to accept"}],
        )
    out = _call(
        lambda: market.answer_claim(
            store,
            claim_id,
            None if principal.role == "admin" else principal.org_id,
            body.answer,
            terms=terms,
            user_id=principal.user_id,
            change=change,
            now=clock(request),
        )
    )
    return _claim_view(out)


@router.get(
    "/notifications",
    response_model=Page[NotificationPublic],
    summary="Your organisation's inbox, newest first",
)
def list_notifications(store: StoreDep, principal: CanInbox, paging: Paging) -> Any:
    from restora.store import market

    if paging.sort is not None:
        sort_key(paging.sort, ("at",), "-at")
    if principal.org_id is None:
        return _page([], paging)
    rows = market.notifications(store, principal.org_id)
    if paging.sort == "at":
        rows.reverse()
    return _page([NotificationPublic.model_validate(jsonable(n)) for n in rows], paging)
