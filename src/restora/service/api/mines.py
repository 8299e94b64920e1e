"""Mines of the register: list (paginated, filtered, sorted), one mine, create, update, delete,
restore.

Reads go through SQLAlchemy Core on the store's tables (live records only: soft-deleted mines
are left out, as every CLI read does), so that a page of 50 mines costs one query. Writes go
through the register import's checks and the store's audited transactions
(:mod:`restora.service.records`): ``POST`` adds a mine, ``PATCH`` changes the given fields
(``mines update``), ``DELETE`` soft-deletes it with a reason (``mines delete``, refused while it
has sites, samples or hazards unless ``cascade=true``), ``POST …/restore`` brings it back.

Each mine carries its place in the restoration ranking (``priority_rank``, ``priority_score``,
``priority_class``; :mod:`restora.service.ranking`), and the list filters and sorts by it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from restora.inventory.schema import MINE_COLUMNS, Column
from restora.inventory.validate import accepted_values
from restora.service import cache, records
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep, StoreDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.problems import Problem
from restora.service.ranking import Priority, priorities
from restora.service.security import Principal, authorize, check_region
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES
from restora.units import MU_PER_HM2

router = APIRouter(prefix="/mines", tags=["mines"])
CanRead = Annotated[Principal, Depends(authorize("register.read"))]
CanWrite = Annotated[Principal, Depends(authorize("register.write"))]

ID_PATTERN = r"^[^/\x00-\x1f]{1,64}$"
MineId = Annotated[str, Path(max_length=64, description="the mine's id")]
PriorityClass = Literal["high", "medium", "low"]


def describe(col: Column) -> str:
    """A field's description from the register schema: what it is, its unit, its values."""
    text = col.description or col.name.replace("_", " ")
    if col.choices:
        text += f"; one of {accepted_values(col)}"
    if col.unit:
        text += f" [{col.unit}]"
    return text


_DOC = {c.name: describe(c) for c in MINE_COLUMNS}


class MineBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MineCreate(MineBase):
    """A new mine (checked as a row of a register import's mines table)."""

    mine_id: str = Field(
        min_length=1, max_length=64, pattern=ID_PATTERN, description=_DOC["mine_id"]
    )
    name: str = Field(min_length=1, max_length=200, description=_DOC["name"])
    region_code: str = Field(max_length=12, description=_DOC["region_code"], examples=["430121"])
    mineral: str = Field(max_length=40, description=_DOC["mineral"], examples=["coal"])
    status: str = Field(max_length=40, description=_DOC["status"], examples=["abandoned"])
    responsible_party: str | None = Field(
        None, max_length=200, description=_DOC["responsible_party"] + "; empty: absent (无主)"
    )
    closure_year: int | None = Field(None, description=_DOC["closure_year"])
    landscape_value: str | None = Field(None, max_length=40, description=_DOC["landscape_value"])


class MineUpdate(MineBase):
    """Fields of a mine to change (``null`` clears an optional field)."""

    name: str | None = Field(None, min_length=1, max_length=200, description=_DOC["name"])
    region_code: str | None = Field(None, max_length=12, description=_DOC["region_code"])
    mineral: str | None = Field(None, max_length=40, description=_DOC["mineral"])
    status: str | None = Field(None, max_length=40, description=_DOC["status"])
    responsible_party: str | None = Field(
        None, max_length=200, description=_DOC["responsible_party"]
    )
    closure_year: int | None = Field(None, description=_DOC["closure_year"])
    landscape_value: str | None = Field(None, max_length=40, description=_DOC["landscape_value"])


class MinePublic(BaseModel):
    """A mine as the API shows it (areas from its live sites, its place in the ranking)."""

    model_config = ConfigDict(from_attributes=True)

    mine_id: str
    name: str
    region_code: str = Field(description="6-digit GB/T 2260 code")
    mineral: str = Field(description=_DOC["mineral"])
    status: str = Field(description=_DOC["status"])
    responsible_party: str | None = Field(None, description=_DOC["responsible_party"])
    closure_year: int | None = Field(None, description=_DOC["closure_year"])
    landscape_value: str | None = None
    sites: int = Field(description="live sites [1]")
    area_hm2: float = Field(description="damaged area of the live sites [hm²]")
    area_mu: float = Field(description="the same in 亩 [mu] (1 hm² = 15 亩)")
    priority_rank: int | None = Field(
        None, description="rank in the restoration ranking of the store (1 = restore first) [1]"
    )
    priority_score: float | None = Field(None, description="ranking score [0, 1]")
    priority_class: PriorityClass | None = Field(
        None, description="high, medium or low: the ranking's thirds (priority/classes)"
    )


class Deleted(BaseModel):
    """What a soft delete did (``restora mines delete --format json``)."""

    mine_id: str
    deleted: dict[str, list[str]] = Field(description="ids deleted per table")
    reason: str
    at: str = Field(description="when (UTC, ISO 8601)")
    by: str
    change_id: int


class Restored(BaseModel):
    """What a restore did (``restora mines restore --format json``)."""

    mine_id: str
    restored: dict[str, list[str]] = Field(description="ids restored per table")
    change_id: int


SORTABLE = (
    "mine_id",
    "name",
    "region_code",
    "mineral",
    "status",
    "area_hm2",
    "sites",
    "priority_rank",
)


def _site_totals() -> sa.Subquery:
    return (
        sa.select(
            SITES.c.mine_id,
            sa.func.count().label("sites"),
            sa.func.coalesce(sa.func.sum(SITES.c.area_hm2), 0.0).label("area_hm2"),
        )
        .where(SITES.c.deleted_at.is_(None))
        .group_by(SITES.c.mine_id)
        .subquery()
    )


def _query(totals: sa.Subquery) -> sa.Select:  # type: ignore[type-arg]
    return sa.select(
        MINES.c.mine_id,
        MINES.c.name,
        MINES.c.region_code,
        MINES.c.mineral,
        MINES.c.status,
        MINES.c.responsible_party,
        MINES.c.closure_year,
        MINES.c.landscape_value,
        sa.func.coalesce(totals.c.sites, 0).label("sites"),
        sa.func.coalesce(totals.c.area_hm2, 0.0).label("area_hm2"),
    ).select_from(MINES.outerjoin(totals, totals.c.mine_id == MINES.c.mine_id))


def _public(row: Any, ranked: dict[str, Priority]) -> MinePublic:
    d = dict(row._mapping)
    d["area_mu"] = float(d["area_hm2"]) * MU_PER_HM2
    p = ranked.get(d["mine_id"])
    if p is not None:
        d.update(priority_rank=p.rank, priority_score=p.score, priority_class=p.priority_class)
    return MinePublic.model_validate(d)


@router.get("", response_model=Page[MinePublic], summary="List the mines of the register")
async def list_mines(
    request: Request,
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    mineral: Annotated[str | None, Query(max_length=40, description=_DOC["mineral"])] = None,
    status: Annotated[str | None, Query(max_length=40, description=_DOC["status"])] = None,
    priority_class: Annotated[
        PriorityClass | None, Query(description="class in the restoration ranking")
    ] = None,
) -> Page[MinePublic]:
    def page() -> Any:
        totals = _site_totals()
        q = _query(totals).where(MINES.c.deleted_at.is_(None))
        for clause in records.scope_filter(principal, MINES.c.region_code, region):
            q = q.where(clause)
        if mineral:
            q = q.where(MINES.c.mineral == mineral)
        if status:
            q = q.where(MINES.c.status == status)
        col, desc = sort_key(paging.sort, SORTABLE, "mine_id")
        ranked = priorities(request)
        with records.read_connection(engine) as conn:
            if col == "priority_rank" or priority_class is not None:
                # the ranking lives in memory: the matching rows are filtered and ordered here
                order = MINES.c.mine_id if col == "priority_rank" else q.selected_columns[col]
                rows = list(
                    conn.execute(q.order_by(order.desc() if desc else order.asc(), MINES.c.mine_id))
                )
                if priority_class is not None:
                    rows = [
                        r
                        for r in rows
                        if r.mine_id in ranked
                        and ranked[r.mine_id].priority_class == priority_class
                    ]
                if col == "priority_rank":
                    last = len(ranked) + 1  # unranked mines last
                    rows.sort(
                        key=lambda r: ranked[r.mine_id].rank if r.mine_id in ranked else last,
                        reverse=desc,
                    )
                total = len(rows)
                rows = rows[paging.offset : paging.offset + paging.limit]
            else:
                total = conn.execute(
                    sa.select(sa.func.count()).select_from(q.subquery())
                ).scalar_one()
                order = q.selected_columns[col]
                q = q.order_by(order.desc() if desc else order.asc(), MINES.c.mine_id)
                rows = list(conn.execute(q.limit(paging.limit).offset(paging.offset)))
        return Page[MinePublic](
            items=[_public(r, ranked) for r in rows],
            total=total,
            limit=paging.limit,
            offset=paging.offset,
        )

    # one page per store revision and caller: restora.service.cache
    key = ("mines", cache.caller(principal), cache.query_key(request))
    return await cache.cached_json_async(request, key, page)  # type: ignore[return-value]


def _one(conn: sa.Connection, mine_id: str) -> Any:
    totals = _site_totals()
    q = _query(totals).where(MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None))
    return conn.execute(q).first()


@router.get("/{mine_id}", response_model=MinePublic, summary="One mine")
def get_mine(
    request: Request, mine_id: MineId, engine: EngineDep, principal: CanRead
) -> MinePublic:
    with records.read_connection(engine) as conn:
        row = _one(conn, mine_id)
    if row is None:
        raise records.not_found("mines", mine_id)
    check_region(principal, row.region_code, write=False)
    return _public(row, priorities(request))


@router.post(
    "",
    response_model=MinePublic,
    status_code=201,
    summary="Add a mine (checked as an import's mines table)",
    responses={409: {"description": "a mine with this id is already in the store"}},
)
def create_mine(
    request: Request,
    response: Response,
    body: MineCreate,
    store: StoreDep,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
) -> MinePublic:
    with records.read_connection(engine) as conn:
        if records.stored_record(conn, "mines", body.mine_id, include_deleted=True) is not None:
            raise Problem(
                409,
                f"mine {body.mine_id!r} is already in the store",
                kind="conflict",
                errors=[{"field": "mine_id", "in": "body", "message": "already in the store"}],
            )
    check_region(principal, body.region_code, write=True)
    row = body.model_dump(exclude_unset=True)
    records.write_records(
        store,
        "mines",
        [row],
        mode="add",
        change=change,
    )
    response.headers["Location"] = f"{request.url.path}/{body.mine_id}"
    return get_mine(request, body.mine_id, engine, principal)


@router.patch("/{mine_id}", response_model=MinePublic, summary="Change fields of a mine")
def update_mine(
    request: Request,
    mine_id: MineId,
    body: MineUpdate,
    store: StoreDep,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
) -> MinePublic:
    given = body.model_dump(exclude_unset=True)
    with records.read_connection(engine) as conn:
        stored = records.stored_record(conn, "mines", mine_id)
    if stored is None:
        raise records.not_found("mines", mine_id)
    check_region(principal, stored["region_code"], write=False)  # not theirs to see: 404
    check_region(principal, stored["region_code"], write=True)
    if given.get("region_code") is not None:
        check_region(principal, str(given["region_code"]), write=True)
    if given:
        row = {**records.as_row("mines", stored), **given}
        records.write_records(
            store,
            "mines",
            [row],
            mode="upsert",
            change=records.noted(change, values=given),
        )
    return get_mine(request, mine_id, engine, principal)


@router.delete("/{mine_id}", response_model=Deleted, summary="Delete a mine (soft delete)")
def delete_mine(
    mine_id: MineId,
    store: StoreDep,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
    reason: records.Reason,
    cascade: Annotated[
        bool, Query(description="also delete its sites, samples and hazards")
    ] = False,
) -> Deleted:
    with records.read_connection(engine) as conn:
        stored = records.stored_record(conn, "mines", mine_id)
    if stored is None:
        raise records.not_found("mines", mine_id)
    check_region(principal, stored["region_code"], write=False)  # not theirs to see: 404
    check_region(principal, stored["region_code"], write=True)
    change = records.noted(change, cascade=cascade)
    result = records.store_call(
        lambda: store.delete_mine(mine_id, reason=reason, cascade=cascade, change=change), "mines"
    )
    return Deleted.model_validate(records.jsonable(result))


@router.post("/{mine_id}/restore", response_model=Restored, summary="Bring back a deleted mine")
def restore_mine(
    mine_id: MineId,
    store: StoreDep,
    engine: EngineDep,
    principal: CanWrite,
    change: ChangeDep,
) -> Restored:
    with records.read_connection(engine) as conn:
        stored = records.stored_record(conn, "mines", mine_id, include_deleted=True)
    if stored is None:
        raise records.not_found("mines", mine_id)
    check_region(principal, stored["region_code"], write=False)  # not theirs to see: 404
    check_region(principal, stored["region_code"], write=True)
    result = records.store_call(lambda: store.restore_mine(mine_id, change=change), "mines")
    return Restored.model_validate(records.jsonable(result))
