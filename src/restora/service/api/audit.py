"""The audit trail: every change of every record, who made it, when, from which request.

``GET /audit`` pages through the trail (newest first by default) filtered by mine, account,
table, record, action, request and time; ``GET /audit/export?format=csv|json`` streams all of
it that matches. Admins and evaluators (``audit.read``); an account with a region scope sees
the changes of the mines in its scope only (records of no mine — accounts, projects without a
mine — are shown to unscoped accounts).

The trail is append-only: there is no route that changes or deletes it, and the store refuses
any UPDATE or DELETE of its rows (triggers of revision 0005). CSV cells that a spreadsheet
would take as a formula are escaped (:func:`restora.cells.csv_text`); ``before`` and ``after``
are JSON text in CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from restora.cells import csv_text
from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging, sort_key
from restora.service.permissions import region_prefix
from restora.service.security import Principal, authorize
from restora.store.audit import as_utc
from restora.store.tables import AUDIT_ACTIONS, audit, changes, mines

router = APIRouter(prefix="/audit", tags=["audit"])
CanRead = Annotated[Principal, Depends(authorize("audit.read"))]


class AuditEntryPublic(BaseModel):
    """One record's change."""

    id: int = Field(description="the audit row")
    change_id: int = Field(description="the change (one transaction) it belongs to")
    at: dt.datetime = Field(description="when [UTC]")
    user: str = Field(description="who: the account's username (or the CLI's user)")
    user_id: int | None = Field(None, description="the account (none on the command line)")
    request_id: str | None = Field(None, description="the API request (X-Request-ID)")
    command: str = Field(description="the route or command that made the change")
    table: str
    record_id: str
    mine_id: str | None = None
    action: str = Field(description=f"one of {', '.join(AUDIT_ACTIONS)}")
    before: dict[str, Any] | None = Field(None, description="changed fields before")
    after: dict[str, Any] | None = Field(None, description="changed fields after")
    options: dict[str, Any] | None = Field(None, description="the change's options")


class AuditFilters(BaseModel):
    mine_id: str | None = None
    user_id: int | None = None
    user: str | None = None
    table: str | None = None
    record_id: str | None = None
    action: str | None = None
    request_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def audit_filters(
    mine_id: Annotated[str | None, Query(max_length=64, description="a mine's changes")] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="an account")] = None,
    user: Annotated[str | None, Query(max_length=64, description="a username")] = None,
    table: Annotated[str | None, Query(max_length=64, description="a table: mines …")] = None,
    record_id: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(pattern="^(" + "|".join(AUDIT_ACTIONS) + ")$")] = None,
    request_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        dt.datetime | None, Query(description="from this moment on (ISO 8601; UTC if no zone)")
    ] = None,
    until: Annotated[
        dt.datetime | None, Query(description="before this moment (ISO 8601; UTC if no zone)")
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        mine_id=mine_id,
        user_id=user_id,
        user=user,
        table=table,
        record_id=record_id,
        action=action,
        request_id=request_id,
        since=since,
        until=until,
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]
SORTABLE = ("at", "id", "table", "mine_id")


def _utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def trail_query(principal: Principal, f: AuditFilters) -> sa.Select:  # type: ignore[type-arg]
    """The audit rows ``principal`` may read that match the filters (unordered)."""
    q = sa.select(
        audit.c.id,
        audit.c.change_id,
        changes.c.changed_at.label("at"),
        changes.c.user_name.label("user"),
        changes.c.user_id,
        changes.c.request_id,
        changes.c.command,
        changes.c.options,
        audit.c.table_name.label("table"),
        audit.c.record_id,
        audit.c.mine_id,
        audit.c.action,
        audit.c.before,
        audit.c.after,
    ).join(changes, changes.c.id == audit.c.change_id)
    scope = region_prefix(principal.region) if principal.role != "admin" else ""
    if scope:
        in_scope = sa.select(mines.c.mine_id).where(mines.c.region_code.startswith(scope))
        q = q.where(audit.c.mine_id.in_(in_scope))
    for column, value in (
        (audit.c.mine_id, f.mine_id),
        (changes.c.user_id, f.user_id),
        (changes.c.user_name, f.user),
        (audit.c.table_name, f.table),
        (audit.c.record_id, f.record_id),
        (audit.c.action, f.action),
        (changes.c.request_id, f.request_id),
    ):
        if value is not None:
            q = q.where(column == value)
    if f.since is not None:
        q = q.where(changes.c.changed_at >= _utc(f.since))
    if f.until is not None:
        q = q.where(changes.c.changed_at < _utc(f.until))
    return q


def _entry(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["at"] = as_utc(d["at"])
    return d


@router.get("", response_model=Page[AuditEntryPublic], summary="The audit trail (filtered, paged)")
def list_audit(
    engine: EngineDep, principal: CanRead, paging: Paging, filters: Filters
) -> Page[AuditEntryPublic]:
    q = trail_query(principal, filters)
    col, desc = sort_key(paging.sort, SORTABLE, "-at")
    order = {
        "at": audit.c.id,
        "id": audit.c.id,
        "table": audit.c.table_name,
        "mine_id": audit.c.mine_id,
    }[col]
    q = q.order_by(order.desc() if desc else order.asc(), audit.c.id.desc() if desc else audit.c.id)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        total = conn.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
        rows = conn.execute(q.limit(paging.limit).offset(paging.offset)).all()
    return Page[AuditEntryPublic](
        items=[AuditEntryPublic.model_validate(_entry(r)) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
    )


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


CSV_COLUMNS = (
    "id", "change_id", "at", "user", "user_id", "request_id", "command", "table", "record_id",
    "mine_id", "action", "before", "after",
)  # fmt: skip


def _rows(engine: sa.Engine, q: sa.Select) -> Iterator[dict[str, Any]]:  # type: ignore[type-arg]
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        result = conn.execution_options(yield_per=2000).execute(q.order_by(audit.c.id))
        for row in result:
            yield _entry(row)


def _csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        cells = []
        for key in CSV_COLUMNS:
            value = r.get(key)
            if key in ("before", "after"):
                value = None if value is None else json.dumps(value, ensure_ascii=False)
            elif isinstance(value, dt.datetime):
                value = value.isoformat()
            cells.append("" if value is None else csv_text(value))
        writer.writerow(cells)
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _json_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    first = True
    for r in rows:
        r = {**r, "at": r["at"].isoformat()}
        yield ("\n" if first else ",\n") + json.dumps(r, ensure_ascii=False, default=str)
        first = False
    yield "\n]\n"


@router.get(
    "/export",
    summary="Export the audit trail (CSV or JSON, everything that matches)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}, "application/json": {}},
            "description": "the trail, oldest first",
        }
    },
)
def export_audit(
    engine: EngineDep,
    principal: CanRead,
    filters: Filters,
    format: Annotated[ExportFormat, Query(description="csv or json")] = ExportFormat.csv,
) -> StreamingResponse:
    q = trail_query(principal, filters)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    if format == ExportFormat.csv:
        body, media = _csv_lines(_rows(engine, q)), "text/csv; charset=utf-8"
    else:
        body, media = _json_lines(_rows(engine, q)), "application/json"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.{format.value}"'},
    )
