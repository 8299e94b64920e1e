"""Mines of the register: list (paginated, filtered, sorted) and one mine.

Reads go through SQLAlchemy Core on the store's tables (live records only: soft-deleted mines
are left out, as every CLI read does), so that a page of 50 mines costs one query.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import region_prefix
from restora.service.problems import Problem
from restora.service.security import Principal, authorize, check_region
from restora.store.tables import mines as MINES
from restora.store.tables import sites as SITES
from restora.units import MU_PER_HM2

router = APIRouter(prefix="/mines", tags=["mines"])
CanRead = Annotated[Principal, Depends(authorize("register.read"))]


class MinePublic(BaseModel):
    """A mine as the API shows it (areas from its live sites)."""

    model_config = ConfigDict(from_attributes=True)

    mine_id: str
    name: str
    region_code: str = Field(description="6-digit GB/T 2260 code")
    mineral: str
    status: str
    responsible_party: str | None = None
    closure_year: int | None = None
    landscape_value: str | None = None
    sites: int = Field(description="live sites [1]")
    area_hm2: float = Field(description="damaged area of the live sites [hm²]")
    area_mu: float = Field(description="the same in 亩 [mu]")


SORTABLE = ("mine_id", "name", "region_code", "mineral", "status", "area_hm2", "sites")


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


def _public(row: sa.Row) -> MinePublic:  # type: ignore[type-arg]
    d = dict(row._mapping)
    d["area_mu"] = float(d["area_hm2"]) * MU_PER_HM2
    return MinePublic.model_validate(d)


@router.get("", response_model=Page[MinePublic], summary="List the mines of the register")
def list_mines(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,6}$", description="region code or its prefix")
    ] = None,
    mineral: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> Page[MinePublic]:
    totals = _site_totals()
    q = _query(totals).where(MINES.c.deleted_at.is_(None))
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    if scope:
        q = q.where(MINES.c.region_code.startswith(scope))
    if region:
        q = q.where(MINES.c.region_code.startswith(region_prefix(region.ljust(6, "0"))))
    if mineral:
        q = q.where(MINES.c.mineral == mineral)
    if status:
        q = q.where(MINES.c.status == status)
    col, desc = sort_key(paging.sort, SORTABLE, "mine_id")
    order = q.selected_columns[col]
    q = q.order_by(order.desc() if desc else order.asc(), MINES.c.mine_id)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.limit(paging.limit).offset(paging.offset)).all()
    return Page[MinePublic](
        items=[_public(r) for r in rows], total=total, limit=paging.limit, offset=paging.offset
    )


@router.get("/{mine_id}", response_model=MinePublic, summary="One mine")
def get_mine(
    mine_id: Annotated[str, Field(max_length=64)],
    engine: EngineDep,
    principal: CanRead,
) -> MinePublic:
    totals = _site_totals()
    q = _query(totals).where(MINES.c.mine_id == mine_id, MINES.c.deleted_at.is_(None))
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        row = conn.execute(q).first()
    if row is None:
        raise Problem(404, f"no mine {mine_id!r}", kind="not-found")
    check_region(principal, row.region_code, write=False)
    return _public(row)
