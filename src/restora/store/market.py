"""The project library, finance products and the market flow (revision 0009; docs/market.md).

Functions take the :class:`~restora.store.Store` (or its engine) and return plain dicts
(timestamps as UTC ``datetime``). Every write is one transaction behind the store's other
writers (:func:`restora.store.engine.begin_write`) that writes the record, its step in
``market_events``, the notifications it sends and its audit trail
(:func:`restora.store.audit.log_change`) together, or nothing. Every write takes ``now`` (the
clock of the caller: the API's, or a test's), so deadlines are deterministic.

- **listings** (:func:`publish_listing`, :func:`withdraw_listing`, :func:`get_listing`,
  :func:`list_listings`): a project's need published from one stored appraisal version; its
  figures are read from that document by :func:`restora.matching.library.figures`, never
  given by the caller. A new listing of the same project is the next ``version`` and
  supersedes the open one. The providers whose active products are eligible
  (:func:`restora.matching.library.check_pair`) are notified.
- **products** (:func:`create_product`, :func:`update_product`, :func:`get_product`,
  :func:`list_products`).
- **claims** (:func:`claim_listing`, :func:`choose_claim`, :func:`answer_claim`,
  :func:`list_claims`): a provider claims an open listing with an eligible product within the
  claim window; the first ``access_claims`` claims see the full appraisal; the owner chooses
  one claim; the chosen provider accepts or declines within ``answer_hours``, else the claim
  has lapsed and the owner may choose another.

States are read from the timestamps (:func:`claim_state`, :func:`listing_state`): nothing is
written when a window closes or a deadline passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError, RestoraError
from restora.store.audit import Change, as_utc, log_change
from restora.store.engine import begin_write
from restora.store.platform_tables import appraisals as APPRAISALS
from restora.store.platform_tables import claims as CLAIMS
from restora.store.platform_tables import listings as LISTINGS
from restora.store.platform_tables import market_events as EVENTS
from restora.store.platform_tables import notifications as NOTIFICATIONS
from restora.store.platform_tables import organisations as ORGS
from restora.store.platform_tables import products as PRODUCTS
from restora.store.platform_tables import projects as PROJECTS
from restora.store.tables import mines as MINES

#: the market's settings of a listing when its owner gives none [h, claims, h]
DEFAULTS = {"claim_window_hours": 168, "access_claims": 3, "answer_hours": 120}
#: the states of a listing: open (taking claims), closed (the window passed), matched (a
#: claim accepted), withdrawn (by its owner), superseded (a newer version published)
LISTING_STATES = ("open", "closed", "matched", "withdrawn", "superseded")
#: the states of a claim
CLAIM_STATES = ("claimed", "chosen", "accepted", "declined", "lapsed", "not_chosen", "closed")

_TIMES = (
    "created_at",
    "closes_at",
    "ended_at",
    "updated_at",
    "claimed_at",
    "chosen_at",
    "answer_due_at",
    "answered_at",
    "at",
)


class MarketConflict(RestoraError):
    """A step the listing's or claim's state does not allow now (the API answers 409)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _engine(store: Any) -> sa.Engine:
    return store if isinstance(store, sa.Engine) else store.engine  # type: ignore[no-any-return]


def _read(store: Any) -> Any:
    conn = _engine(store).connect()
    conn.execution_options(restora_read_only=True)
    return conn


def _row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    for k in _TIMES:
        if isinstance(d.get(k), dt.datetime):
            d[k] = as_utc(d[k])
    return d


def _utc(now: dt.datetime | None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return as_utc(now)


def _audited(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def _first_mine(conn: sa.Connection, project_id: str) -> str | None:
    spec = conn.execute(
        sa.select(PROJECTS.c.spec).where(PROJECTS.c.project_id == project_id)
    ).scalar_one_or_none()
    mines = (spec or {}).get("mines") or []
    return str(mines[0]) if mines else None


def _event(
    conn: sa.Connection,
    listing_id: int,
    action: str,
    now: dt.datetime,
    *,
    claim_id: int | None = None,
    user_id: int | None = None,
    org_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        EVENTS.insert().values(
            listing_id=listing_id,
            claim_id=claim_id,
            at=now,
            action=action,
            user_id=user_id,
            org_id=org_id,
            details=dict(details) if details else None,
        )
    )


def _notify(
    conn: sa.Connection,
    org_id: int | None,
    listing_id: int,
    kind: str,
    now: dt.datetime,
    *,
    claim_id: int | None = None,
    product_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    if org_id is None:
        return
    conn.execute(
        NOTIFICATIONS.insert().values(
            org_id=org_id,
            listing_id=listing_id,
            claim_id=claim_id,
            product_id=product_id,
            kind=kind,
            at=now,
            details=dict(details) if details else None,
        )
    )


# ------------------------------------------------------------------------------------ states
def claim_state(
    claim: Mapping[str, Any], listing: Mapping[str, Any], accepted: bool, now: dt.datetime
) -> str:
    """The state of a claim at ``now``, from its timestamps.

    ``accepted`` says whether a claim of the listing was accepted (then the others are
    ``not_chosen``).

    Examples
    --------
    >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> c = {"chosen_at": t, "answer_due_at": t + dt.timedelta(hours=2), "answer": None}
    >>> claim_state(c, {"status": "open"}, False, t + dt.timedelta(hours=1))
    'chosen'
    >>> claim_state(c, {"status": "open"}, False, t + dt.timedelta(hours=3))
    'lapsed'
    """
    if claim.get("answer") == "accept":
        return "accepted"
    if claim.get("answer") == "decline":
        return "declined"
    if listing.get("status") in ("withdrawn", "superseded"):
        return "closed"
    if claim.get("chosen_at") is not None:
        due = claim.get("answer_due_at")
        if due is not None and as_utc(now) > as_utc(due):
            return "lapsed"
        return "chosen"
    if accepted:
        return "not_chosen"
    return "claimed"


def listing_state(listing: Mapping[str, Any], accepted: bool, now: dt.datetime) -> str:
    """The state of a listing at ``now``: its stored status, matched, or closed by its window."""
    status = str(listing.get("status"))
    if status in ("withdrawn", "superseded"):
        return status
    if accepted:
        return "matched"
    if as_utc(now) >= as_utc(listing["closes_at"]):
        return "closed"
    return "open"


def _claims_of(conn: sa.Connection, listing_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {int(i): [] for i in listing_ids}
    if not listing_ids:
        return out
    q = (
        sa.select(CLAIMS, ORGS.c.name.label("org_name"), PRODUCTS.c.name.label("product_name"))
        .join(ORGS, ORGS.c.id == CLAIMS.c.org_id)
        .join(PRODUCTS, PRODUCTS.c.id == CLAIMS.c.product_id)
        .where(CLAIMS.c.listing_id.in_(list(listing_ids)))
        .order_by(CLAIMS.c.listing_id, CLAIMS.c.seq)
    )
    for r in conn.execute(q):
        out[int(r.listing_id)].append(_row(r))
    return out


def _with_states(
    listing: dict[str, Any], claims: list[dict[str, Any]], now: dt.datetime
) -> dict[str, Any]:
    accepted = any(c.get("answer") == "accept" for c in claims)
    for c in claims:
        c["state"] = claim_state(c, listing, accepted, now)
    listing["state"] = listing_state(listing, accepted, now)
    listing["claims"] = claims
    listing["claims_count"] = len(claims)
    return listing


# ---------------------------------------------------------------------------------- listings
def publish_listing(
    store: Any,
    project_id: str,
    need: Mapping[str, Any],
    *,
    appraisal_version: int | None = None,
    settings: Mapping[str, int] | None = None,
    owner_org_id: int | None = None,
    created_by: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Publish a project's need to the library from one stored appraisal version.

    ``need`` holds ``amount_cny``, ``instrument``, ``stage`` and optionally ``needed_by``
    (ISO date), ``schedule`` (``[{"year", "amount_cny"}]``), ``tenor_years``, ``collateral``
    and ``note`` (checked by the caller: the API's schema). The figures come from the stored
    document (:func:`restora.matching.library.figures`); the region from the project, the
    mineral from its first mine in the register. An open listing of the project is superseded.

    Raises
    ------
    InputError
        No such live project (``project_id``), no such appraisal version
        (``appraisal_version``), a schedule that does not add up to the amount.
    """
    from restora.matching.library import check_pair, figures

    now = _utc(now)
    opts = {**DEFAULTS, **{k: int(v) for k, v in (settings or {}).items() if v is not None}}
    change = change or Change("listings publish", options={"project_id": project_id})
    schedule = [dict(s) for s in need.get("schedule") or []]
    if schedule:
        total = sum(float(s["amount_cny"]) for s in schedule)
        if abs(total - float(need["amount_cny"])) > 1.0:
            raise InputError(
                f"the schedule adds up to {total:,.0f} CNY, not the amount "
                f"{float(need['amount_cny']):,.0f} CNY",
                field="schedule",
            )
    with begin_write(_engine(store)) as conn:
        project = conn.execute(
            sa.select(PROJECTS).where(
                PROJECTS.c.project_id == project_id, PROJECTS.c.deleted_at.is_(None)
            )
        ).first()
        if project is None:
            raise InputError(f"no project {project_id!r}", field="project_id")
        q = sa.select(APPRAISALS).where(APPRAISALS.c.project_id == project_id)
        if appraisal_version is None:
            q = q.order_by(APPRAISALS.c.version.desc()).limit(1)
        else:
            q = q.where(APPRAISALS.c.version == int(appraisal_version))
        appraisal = conn.execute(q).first()
        if appraisal is None:
            what = (
                f"no version {appraisal_version} of the appraisal of {project_id!r}"
                if appraisal_version is not None
                else f"{project_id!r} has no stored appraisal yet: appraise it first"
            )
            raise InputError(what, field="appraisal_version")
        figs = figures(appraisal.document)
        mines = (project.spec or {}).get("mines") or []
        mineral = None
        if mines:
            mineral = conn.execute(
                sa.select(MINES.c.mineral).where(MINES.c.mine_id == str(mines[0]))
            ).scalar_one_or_none()
        last = conn.execute(
            sa.select(sa.func.max(LISTINGS.c.version)).where(LISTINGS.c.project_id == project_id)
        ).scalar_one()
        owner = owner_org_id if owner_org_id is not None else project.owner_org_id
        row = {
            "project_id": project_id,
            "version": int(last or 0) + 1,
            "appraisal_id": appraisal.id,
            "appraisal_version": appraisal.version,
            "inputs_sha256": appraisal.inputs_sha256,
            "figures": figs,
            "amount_cny": float(need["amount_cny"]),
            "needed_by": need.get("needed_by"),
            "schedule": schedule,
            "instrument": str(need["instrument"]),
            "tenor_years": need.get("tenor_years"),
            "stage": str(need["stage"]),
            "collateral": sorted(set(need.get("collateral") or [])),
            "region_code": project.region_code,
            "mineral": mineral,
            "mode": figs.get("mode"),
            "note": need.get("note"),
            "claim_window_hours": opts["claim_window_hours"],
            "access_claims": opts["access_claims"],
            "answer_hours": opts["answer_hours"],
            "status": "open",
            "owner_org_id": owner,
            "created_by": created_by,
            "created_at": now,
            "closes_at": now + dt.timedelta(hours=opts["claim_window_hours"]),
            "ended_at": None,
        }
        mine_id = str(mines[0]) if mines else None
        # the project's open listings (a matched one stays: its claim was accepted)
        candidates = conn.execute(
            sa.select(LISTINGS.c.id, LISTINGS.c.version).where(
                LISTINGS.c.project_id == project_id, LISTINGS.c.status == "open"
            )
        ).all()
        their_claims = _claims_of(conn, [o.id for o in candidates])
        older = [
            o
            for o in candidates
            if not any(c.get("answer") == "accept" for c in their_claims[int(o.id)])
        ]
        new_id = int(
            conn.execute(LISTINGS.insert().values(**row).returning(LISTINGS.c.id)).scalar_one()
        )
        for old in older:
            conn.execute(
                LISTINGS.update()
                .where(LISTINGS.c.id == old.id)
                .values(status="superseded", ended_at=now)
            )
            _event(
                conn,
                old.id,
                "superseded",
                now,
                user_id=created_by,
                org_id=owner,
                details={"by_listing": new_id, "by_version": row["version"]},
            )
            log_change(
                conn,
                change,
                table="listings",
                record_id=old.id,
                action="update",
                before={"status": "open", "ended_at": None},
                after={"status": "superseded", "ended_at": now.isoformat()},
                mine_id=mine_id,
                when=now,
            )
        _event(
            conn,
            new_id,
            "published",
            now,
            user_id=created_by,
            org_id=owner,
            details={"version": row["version"], "appraisal_version": appraisal.version},
        )
        listing = {**row, "id": new_id}
        notified = []
        for p in conn.execute(
            sa.select(PRODUCTS).where(PRODUCTS.c.active.is_(True)).order_by(PRODUCTS.c.id)
        ):
            verdict = check_pair(listing, _row(p))
            if verdict["eligible"]:
                _notify(conn, p.org_id, new_id, "eligible_listing", now, product_id=p.id)
                notified.append(p.id)
        _event(conn, new_id, "notified", now, details={"products": notified})
        log_change(
            conn,
            change,
            table="listings",
            record_id=new_id,
            action="insert",
            after=_audited({**listing, "figures": None, "notified_products": notified}),
            mine_id=mine_id,
            when=now,
        )
    return get_listing(store, new_id, now=now)  # type: ignore[return-value]


def withdraw_listing(
    store: Any,
    listing_id: int,
    *,
    user_id: int | None = None,
    org_id: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Withdraw an open (or closed, unmatched) listing; its claimants are told."""
    now = _utc(now)
    change = change or Change("listings withdraw", options={"listing_id": listing_id})
    with begin_write(_engine(store)) as conn:
        row = conn.execute(sa.select(LISTINGS).where(LISTINGS.c.id == listing_id)).first()
        if row is None:
            raise InputError(f"no listing {listing_id}", field="listing_id")
        claims = _claims_of(conn, [listing_id])[listing_id]
        state = _with_states(_row(row), claims, now)["state"]
        if state not in ("open", "closed"):
            raise MarketConflict(f"listing {listing_id} is {state}: it cannot be withdrawn")
        conn.execute(
            LISTINGS.update()
            .where(LISTINGS.c.id == listing_id)
            .values(status="withdrawn", ended_at=now)
        )
        _event(conn, listing_id, "withdrawn", now, user_id=user_id, org_id=org_id)
        for c in claims:
            _notify(conn, c["org_id"], listing_id, "withdrawn", now, claim_id=c["id"])
        log_change(
            conn,
            change,
            table="listings",
            record_id=listing_id,
            action="update",
            before={"status": row.status, "ended_at": None},
            after={"status": "withdrawn", "ended_at": now.isoformat()},
            mine_id=_first_mine(conn, row.project_id),
            when=now,
        )
    return get_listing(store, listing_id, now=now)  # type: ignore[return-value]


def get_listing(
    store: Any, listing_id: int, *, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """One listing with its claims and their states at ``now`` (None if there is none)."""
    now = _utc(now)
    with _read(store) as conn:
        row = conn.execute(
            sa.select(LISTINGS, PROJECTS.c.name, PROJECTS.c.name_en)
            .join(PROJECTS, PROJECTS.c.project_id == LISTINGS.c.project_id)
            .where(LISTINGS.c.id == listing_id)
        ).first()
        if row is None:
            return None
        claims = _claims_of(conn, [listing_id])[listing_id]
    out = _with_states(_row(row), claims, now)
    from restora.store.registry import collateral

    # the project's registered units: pledged (to whom) and free to pledge (issue 15)
    out["registry"] = collateral(store, out["project_id"])
    return out


LISTING_SORTABLE = ("id", "project_id", "amount_cny", "created_at", "closes_at", "region_code")


def list_listings(
    store: Any,
    *,
    region_prefix: str | None = None,
    owner_org_id: int | None = None,
    project_id: str | None = None,
    instrument: str | None = None,
    current: bool = False,
    now: dt.datetime | None = None,
    sort: str = "id",
    descending: bool = True,
) -> list[dict[str, Any]]:
    """Listings matching the filters, with their claims and states at ``now``.

    ``current`` keeps the listings not withdrawn or superseded.
    """
    if sort not in LISTING_SORTABLE:
        raise InputError(f"one of {', '.join(LISTING_SORTABLE)}", field="sort")
    now = _utc(now)
    q = sa.select(LISTINGS, PROJECTS.c.name, PROJECTS.c.name_en).join(
        PROJECTS, PROJECTS.c.project_id == LISTINGS.c.project_id
    )
    if region_prefix:
        q = q.where(LISTINGS.c.region_code.startswith(region_prefix))
    if owner_org_id is not None:
        q = q.where(LISTINGS.c.owner_org_id == owner_org_id)
    if project_id is not None:
        q = q.where(LISTINGS.c.project_id == project_id)
    if instrument is not None:
        q = q.where(LISTINGS.c.instrument == instrument)
    if current:
        q = q.where(LISTINGS.c.status == "open")
    col = LISTINGS.c[sort]
    q = q.order_by(col.desc() if descending else col.asc(), LISTINGS.c.id.desc())
    with _read(store) as conn:
        rows = [_row(r) for r in conn.execute(q)]
        claims = _claims_of(conn, [r["id"] for r in rows])
    return [_with_states(r, claims[r["id"]], now) for r in rows]


def listing_document(store: Any, listing_id: int) -> dict[str, Any] | None:
    """The appraisal document a listing was published from."""
    with _read(store) as conn:
        doc = conn.execute(
            sa.select(APPRAISALS.c.document)
            .join(LISTINGS, LISTINGS.c.appraisal_id == APPRAISALS.c.id)
            .where(LISTINGS.c.id == listing_id)
        ).scalar_one_or_none()
    return doc  # type: ignore[no-any-return]


def listing_events(store: Any, listing_id: int) -> list[dict[str, Any]]:
    """A listing's steps, oldest first, with the organisation's name."""
    q = (
        sa.select(EVENTS, ORGS.c.name.label("org_name"))
        .outerjoin(ORGS, ORGS.c.id == EVENTS.c.org_id)
        .where(EVENTS.c.listing_id == listing_id)
        .order_by(EVENTS.c.at, EVENTS.c.id)
    )
    with _read(store) as conn:
        return [_row(r) for r in conn.execute(q)]


def notifications(store: Any, org_id: int, *, limit: int | None = None) -> list[dict[str, Any]]:
    """An organisation's inbox, newest first, with the listing's project."""
    q = (
        sa.select(
            NOTIFICATIONS,
            LISTINGS.c.project_id,
            LISTINGS.c.version.label("listing_version"),
            PRODUCTS.c.name.label("product_name"),
        )
        .join(LISTINGS, LISTINGS.c.id == NOTIFICATIONS.c.listing_id)
        .outerjoin(PRODUCTS, PRODUCTS.c.id == NOTIFICATIONS.c.product_id)
        .where(NOTIFICATIONS.c.org_id == org_id)
        .order_by(NOTIFICATIONS.c.at.desc(), NOTIFICATIONS.c.id.desc())
    )
    if limit is not None:
        q = q.limit(limit)
    with _read(store) as conn:
        return [_row(r) for r in conn.execute(q)]


# ---------------------------------------------------------------------------------- products
_PRODUCT_FIELDS = (
    "name",
    "instrument",
    "capacity_cny",
    "ticket_min_cny",
    "ticket_max_cny",
    "tenor_min_years",
    "tenor_max_years",
    "rate",
    "fee_rate",
    "premium_rate",
    "requirements",
    "preferences",
    "active",
)


def _check_product(values: Mapping[str, Any]) -> None:
    lo, hi = values.get("ticket_min_cny"), values.get("ticket_max_cny")
    if lo is not None and hi is not None and float(lo) > float(hi):
        raise InputError(
            f"the smallest ticket {float(lo):,.0f} CNY is above the largest {float(hi):,.0f} CNY",
            field="ticket_min_cny",
        )
    cap = values.get("capacity_cny")
    if cap is not None and lo is not None and float(cap) < float(lo):
        raise InputError(
            f"the capacity {float(cap):,.0f} CNY is below the smallest ticket {float(lo):,.0f} CNY",
            field="capacity_cny",
        )
    tlo, thi = values.get("tenor_min_years"), values.get("tenor_max_years")
    if tlo is not None and thi is not None and float(tlo) > float(thi):
        raise InputError(
            f"the shortest tenor {tlo:g} years is above the longest {thi:g}",
            field="tenor_min_years",
        )


def create_product(
    store: Any,
    org_id: int,
    values: Mapping[str, Any],
    *,
    created_by: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A provider organisation's new product (``values``: the fields of ``products``)."""
    now = _utc(now)
    row = {k: values.get(k) for k in _PRODUCT_FIELDS}
    row["requirements"] = dict(row.get("requirements") or {})
    row["preferences"] = dict(row.get("preferences") or {})
    row["active"] = True if row.get("active") is None else bool(row["active"])
    _check_product(row)
    change = change or Change("products create", options={"org_id": org_id})
    with begin_write(_engine(store)) as conn:
        if conn.execute(sa.select(ORGS.c.id).where(ORGS.c.id == org_id)).first() is None:
            raise InputError(f"no organisation {org_id}", field="org_id")
        full = {**row, "org_id": org_id, "created_by": created_by}
        full.update(created_at=now, updated_at=now)
        new_id = int(
            conn.execute(PRODUCTS.insert().values(**full).returning(PRODUCTS.c.id)).scalar_one()
        )
        log_change(
            conn,
            change,
            table="products",
            record_id=new_id,
            action="insert",
            after=_audited(
                {k: v for k, v in full.items() if k not in ("created_at", "updated_at")}
            ),
            when=now,
        )
    return get_product(store, new_id)  # type: ignore[return-value]


def update_product(
    store: Any,
    product_id: int,
    values: Mapping[str, Any],
    *,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Change a product's fields (those given); the whole product is checked again."""
    now = _utc(now)
    change = change or Change("products update", options={"product_id": product_id})
    with begin_write(_engine(store)) as conn:
        before = conn.execute(sa.select(PRODUCTS).where(PRODUCTS.c.id == product_id)).first()
        if before is None:
            raise InputError(f"no product {product_id}", field="product_id")
        old = dict(before._mapping)
        new = {k: v for k, v in values.items() if k in _PRODUCT_FIELDS}
        _check_product({**old, **new})
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        if changed:
            conn.execute(
                PRODUCTS.update()
                .where(PRODUCTS.c.id == product_id)
                .values(**changed, updated_at=now)
            )
            log_change(
                conn,
                change,
                table="products",
                record_id=product_id,
                action="update",
                before=_audited({k: old.get(k) for k in changed}),
                after=_audited(changed),
                when=now,
            )
    return get_product(store, product_id)  # type: ignore[return-value]


def get_product(store: Any, product_id: int) -> dict[str, Any] | None:
    """One product with its organisation's name (None if there is none)."""
    q = (
        sa.select(PRODUCTS, ORGS.c.name.label("org_name"), ORGS.c.kind.label("org_kind"))
        .join(ORGS, ORGS.c.id == PRODUCTS.c.org_id)
        .where(PRODUCTS.c.id == product_id)
    )
    with _read(store) as conn:
        row = conn.execute(q).first()
    return None if row is None else _row(row)


def list_products(
    store: Any, *, org_id: int | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    """Products, by id, with their organisations' names."""
    q = sa.select(PRODUCTS, ORGS.c.name.label("org_name"), ORGS.c.kind.label("org_kind")).join(
        ORGS, ORGS.c.id == PRODUCTS.c.org_id
    )
    if org_id is not None:
        q = q.where(PRODUCTS.c.org_id == org_id)
    if active is not None:
        q = q.where(PRODUCTS.c.active.is_(active))
    with _read(store) as conn:
        return [_row(r) for r in conn.execute(q.order_by(PRODUCTS.c.id))]


# ------------------------------------------------------------------------------------ claims
def _listing_for_update(conn: sa.Connection, listing_id: int, now: dt.datetime) -> dict[str, Any]:
    row = conn.execute(sa.select(LISTINGS).where(LISTINGS.c.id == listing_id)).first()
    if row is None:
        raise InputError(f"no listing {listing_id}", field="listing_id")
    return _with_states(_row(row), _claims_of(conn, [listing_id])[listing_id], now)


def claim_listing(
    store: Any,
    listing_id: int,
    product_id: int,
    org_id: int,
    *,
    amount_cny: float | None = None,
    note: str | None = None,
    user_id: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A provider's claim of an open listing with one of its active, eligible products.

    The claim's ``seq`` is its place among the listing's claims; the first
    ``access_claims`` get ``access`` to the full appraisal. One claim per organisation and
    listing.

    Raises
    ------
    InputError
        No such listing; a product not the organisation's, inactive or not eligible (the
        reasons in words, ``product_id``); an amount outside the product's tickets.
    MarketConflict
        The listing no longer takes claims (its window closed, withdrawn, superseded,
        matched), or the organisation claimed it already.
    """
    from restora.matching.library import check_pair

    now = _utc(now)
    change = change or Change("claims create", options={"listing_id": listing_id})
    with begin_write(_engine(store)) as conn:
        listing = _listing_for_update(conn, listing_id, now)
        if listing["state"] != "open":
            why = {
                "closed": f"its claim window closed at {listing['closes_at'].isoformat()}",
                "matched": "a provider accepted already",
            }.get(listing["state"], f"it is {listing['state']}")
            raise MarketConflict(f"listing {listing_id} takes no more claims: {why}")
        if any(c["org_id"] == org_id for c in listing["claims"]):
            raise MarketConflict(f"your organisation claimed listing {listing_id} already")
        product = conn.execute(sa.select(PRODUCTS).where(PRODUCTS.c.id == product_id)).first()
        if product is None or product.org_id != org_id:
            raise InputError(f"no product {product_id} of your organisation", field="product_id")
        if not product.active:
            raise InputError(f"product {product_id} is not active", field="product_id")
        verdict = check_pair(listing, _row(product))
        if not verdict["eligible"]:
            reasons = "; ".join(f["message"] for f in verdict["failures"])
            raise InputError(
                f"product {product_id} is not eligible for this listing: {reasons}",
                field="product_id",
            )
        if amount_cny is not None and not (
            product.ticket_min_cny <= amount_cny <= product.ticket_max_cny
        ):
            raise InputError(
                f"{amount_cny:,.0f} CNY is outside the product's tickets "
                f"{product.ticket_min_cny:,.0f}–{product.ticket_max_cny:,.0f} CNY",
                field="amount_cny",
            )
        seq = len(listing["claims"]) + 1
        row = {
            "listing_id": listing_id,
            "product_id": product_id,
            "org_id": org_id,
            "seq": seq,
            "access": seq <= int(listing["access_claims"]),
            "amount_cny": amount_cny,
            "note": note,
            "claimed_by": user_id,
            "claimed_at": now,
        }
        claim_id = int(
            conn.execute(CLAIMS.insert().values(**row).returning(CLAIMS.c.id)).scalar_one()
        )
        _event(
            conn,
            listing_id,
            "claimed",
            now,
            claim_id=claim_id,
            user_id=user_id,
            org_id=org_id,
            details={"seq": seq, "access": row["access"], "product_id": product_id},
        )
        _notify(conn, listing["owner_org_id"], listing_id, "claimed", now, claim_id=claim_id)
        log_change(
            conn,
            change,
            table="claims",
            record_id=claim_id,
            action="insert",
            after=_audited(row),
            mine_id=_first_mine(conn, listing["project_id"]),
            when=now,
        )
    return get_claim(store, claim_id, now=now)  # type: ignore[return-value]


def get_claim(
    store: Any, claim_id: int, *, now: dt.datetime | None = None
) -> dict[str, Any] | None:
    """One claim with its state at ``now`` and its listing's ids (None if there is none)."""
    now = _utc(now)
    with _read(store) as conn:
        listing_id = conn.execute(
            sa.select(CLAIMS.c.listing_id).where(CLAIMS.c.id == claim_id)
        ).scalar_one_or_none()
        if listing_id is None:
            return None
        row = conn.execute(sa.select(LISTINGS).where(LISTINGS.c.id == listing_id)).one()
        listing = _with_states(_row(row), _claims_of(conn, [listing_id])[listing_id], now)
    claim = next(c for c in listing["claims"] if c["id"] == claim_id)
    claim["listing"] = {k: v for k, v in listing.items() if k != "claims"}
    return claim


def choose_claim(
    store: Any,
    claim_id: int,
    *,
    user_id: int | None = None,
    org_id: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The owner chooses a claim: the provider has ``answer_hours`` to answer.

    Raises
    ------
    InputError
        No such claim.
    MarketConflict
        The listing is withdrawn, superseded or matched; another chosen claim still waits for
        its answer; this claim is not waiting to be chosen (chosen, answered or lapsed).
    """
    now = _utc(now)
    change = change or Change("claims choose", options={"claim_id": claim_id})
    with begin_write(_engine(store)) as conn:
        listing_id = conn.execute(
            sa.select(CLAIMS.c.listing_id).where(CLAIMS.c.id == claim_id)
        ).scalar_one_or_none()
        if listing_id is None:
            raise InputError(f"no claim {claim_id}", field="claim_id")
        listing = _listing_for_update(conn, listing_id, now)
        if listing["state"] not in ("open", "closed"):
            raise MarketConflict(f"listing {listing_id} is {listing['state']}")
        waiting = [c for c in listing["claims"] if c["state"] == "chosen"]
        if waiting:
            due = waiting[0]["answer_due_at"].isoformat()
            raise MarketConflict(
                f"claim {waiting[0]['id']} is chosen and may answer until {due}", field="claim_id"
            )
        claim = next(c for c in listing["claims"] if c["id"] == claim_id)
        if claim["state"] != "claimed":
            raise MarketConflict(f"claim {claim_id} is {claim['state']}", field="claim_id")
        due_at = now + dt.timedelta(hours=int(listing["answer_hours"]))
        values = {"chosen_by": user_id, "chosen_at": now, "answer_due_at": due_at}
        conn.execute(CLAIMS.update().where(CLAIMS.c.id == claim_id).values(**values))
        _event(
            conn,
            listing_id,
            "chosen",
            now,
            claim_id=claim_id,
            user_id=user_id,
            org_id=org_id,
            details={"answer_due_at": due_at.isoformat()},
        )
        _notify(
            conn,
            claim["org_id"],
            listing_id,
            "chosen",
            now,
            claim_id=claim_id,
            details={"answer_due_at": due_at.isoformat()},
        )
        log_change(
            conn,
            change,
            table="claims",
            record_id=claim_id,
            action="update",
            before={"chosen_by": None, "chosen_at": None, "answer_due_at": None},
            after=_audited(values),
            mine_id=_first_mine(conn, listing["project_id"]),
            when=now,
        )
    return get_claim(store, claim_id, now=now)  # type: ignore[return-value]


def answer_claim(
    store: Any,
    claim_id: int,
    org_id: int | None,
    answer: str,
    *,
    terms: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    change: Change | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The chosen provider accepts (``accept``, with its terms) or declines (``decline``).

    ``org_id`` None answers for any organisation (an admin).

    Raises
    ------
    InputError
        No such claim of the organisation, an unknown answer.
    MarketConflict
        The claim is not chosen, or its deadline passed (it lapsed).
    """
    if answer not in ("accept", "decline"):
        raise InputError(f"{answer!r}: accept or decline", field="answer")
    now = _utc(now)
    change = change or Change("claims answer", options={"claim_id": claim_id})
    with begin_write(_engine(store)) as conn:
        found = conn.execute(
            sa.select(CLAIMS.c.listing_id, CLAIMS.c.org_id).where(CLAIMS.c.id == claim_id)
        ).first()
        if found is None or (org_id is not None and found.org_id != org_id):
            raise InputError(f"no claim {claim_id} of your organisation", field="claim_id")
        listing = _listing_for_update(conn, found.listing_id, now)
        claim = next(c for c in listing["claims"] if c["id"] == claim_id)
        if claim["state"] == "lapsed":
            raise MarketConflict(
                f"claim {claim_id} lapsed: its answer was due by "
                f"{claim['answer_due_at'].isoformat()}",
                field="claim_id",
            )
        if claim["state"] != "chosen":
            raise MarketConflict(f"claim {claim_id} is {claim['state']}", field="claim_id")
        values = {
            "answer": answer,
            "terms": dict(terms) if terms else None,
            "answered_by": user_id,
            "answered_at": now,
        }
        conn.execute(CLAIMS.update().where(CLAIMS.c.id == claim_id).values(**values))
        _event(
            conn,
            found.listing_id,
            "accepted" if answer == "accept" else "declined",
            now,
            claim_id=claim_id,
            user_id=user_id,
            org_id=found.org_id,
            details={"terms": values["terms"]} if values["terms"] else None,
        )
        _notify(
            conn,
            listing["owner_org_id"],
            found.listing_id,
            "accepted" if answer == "accept" else "declined",
            now,
            claim_id=claim_id,
        )
        if answer == "accept":
            for other in listing["claims"]:
                if other["id"] != claim_id and other["state"] == "claimed":
                    _notify(conn, other["org_id"], found.listing_id, "not_chosen", now,
                            claim_id=other["id"])  # fmt: skip
        log_change(
            conn,
            change,
            table="claims",
            record_id=claim_id,
            action="update",
            before={"answer": None, "terms": None, "answered_by": None, "answered_at": None},
            after=_audited(values),
            mine_id=_first_mine(conn, listing["project_id"]),
            when=now,
        )
    return get_claim(store, claim_id, now=now)  # type: ignore[return-value]


def list_claims(
    store: Any,
    *,
    org_id: int | None = None,
    owner_org_id: int | None = None,
    listing_ids: Sequence[int] | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Claims made by ``org_id``, or on listings owned by ``owner_org_id`` (or of
    ``listing_ids``), newest first, with their states and listings."""
    now = _utc(now)
    q = sa.select(LISTINGS.c.id)
    if owner_org_id is not None:
        q = q.where(LISTINGS.c.owner_org_id == owner_org_id)
    if listing_ids is not None:
        q = q.where(LISTINGS.c.id.in_(list(listing_ids)))
    if org_id is not None:
        q = q.where(
            LISTINGS.c.id.in_(sa.select(CLAIMS.c.listing_id).where(CLAIMS.c.org_id == org_id))
        )
    out = []
    with _read(store) as conn:
        ids = [int(i) for i in conn.execute(q).scalars()]
        rows = {
            int(r.id): _row(r)
            for r in conn.execute(
                sa.select(LISTINGS, PROJECTS.c.name)
                .join(PROJECTS, PROJECTS.c.project_id == LISTINGS.c.project_id)
                .where(LISTINGS.c.id.in_(ids))
            )
        }
        claims = _claims_of(conn, ids)
    for lid in ids:
        listing = _with_states(rows[lid], claims[lid], now)
        head = {k: v for k, v in listing.items() if k not in ("claims", "figures")}
        for c in listing["claims"]:
            if org_id is not None and c["org_id"] != org_id:
                continue
            out.append({**c, "listing": head})
    out.sort(key=lambda c: (c["claimed_at"], c["id"]), reverse=True)
    return out
