"""The audit trail: who changed which record of the register, when, with which command and file.

Every change of the register is one transaction that writes one ``changes`` row (who, when
[UTC], which command, which files with their SHA-256, the options) and one ``audit`` row per
record it inserted, updated, deleted, restored or purged, with the changed fields before and
after as JSON. Both tables are append-only: nothing in Restora updates or deletes their rows,
and database triggers (revision 0005) refuse it from any other program.

Values are written to JSON by their kind: text, numbers and yes/no as themselves, dates as ISO
text (``2024-04-30``), geometries as WKT in EPSG:4326 (full precision), ±inf as the text
``"inf"`` / ``"-inf"`` (JSON has no infinity), missing values as null. An inserted record's
polygon is recorded as ``"sha256:<hex>"``, the SHA-256 of its WKB (as stored, little-endian):
the polygon itself is in the row, every later update records the old and the new polygon
whole and a purge the whole record, so the trail loses nothing, and an import of 100 000
sites does not write 100 000 polygons twice.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

from restora.store.bulk import insert_many
from restora.store.tables import AUDIT_ACTIONS, audit, changes


def current_user() -> str:
    """The operating-system user running Restora (``getpass.getuser``), else ``uid <n>``."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        # no USER/LOGNAME and no password-database entry (e.g. a container's arbitrary uid)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True)
class Change:
    """Who makes a change of the register, with which command and from which files.

    Parameters
    ----------
    command : str
        What made the change, e.g. ``"mines import"``, ``"mines update"``, ``"Store.add_register"``.
    user : str
        Who: the operating-system user by default (:func:`current_user`); the CLI's ``--user``,
        later the platform's account.
    files : sequence of dict
        The files read, each ``{"path": str, "sha256": str}``.
    options : dict
        The command's options (JSON-safe), e.g. ``{"mode": "upsert", "crs": "EPSG:4547"}``.
    user_id : int, optional
        The platform account making the change (``users.id``); None on the command line.
    request_id : str, optional
        The API request that made it (its ``X-Request-ID``); None on the command line.

    Notes
    -----
    The API builds it from the signed-in account and the request
    (:func:`restora.service.changes.api_change`): ``user`` is the account's username,
    ``command`` the route (``"PATCH /api/v1/mines/{mine_id}"``).
    """

    command: str
    user: str = field(default_factory=current_user)
    files: Sequence[dict[str, Any]] = ()
    options: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    request_id: str | None = None


def json_values(kind: str, values: Sequence[Any]) -> list[Any]:
    """Database values of one column (``kind`` as in :mod:`restora.store.frames`) as JSON values."""
    if kind == "geometry":
        wkb = np.empty(len(values), dtype=object)
        wkb[:] = [None if v is None else bytes(v) for v in values]
        present = np.array([v is not None for v in wkb], dtype=bool)
        out = np.full(len(values), None, dtype=object)
        if present.any():
            out[present] = shapely.to_wkt(shapely.from_wkb(wkb[present]), rounding_precision=-1)
        return list(out.tolist())
    if kind == "geometry_digest":
        return [None if v is None else "sha256:" + hashlib.sha256(v).hexdigest() for v in values]
    if kind == "float":
        return [
            None if v is None else (float(v) if math.isfinite(v) else str(float(v))) for v in values
        ]
    if kind == "date":
        return [None if v is None else v.isoformat() for v in values]
    if kind == "datetime":
        return [None if v is None else as_utc(v).isoformat() for v in values]
    return list(values)


def as_utc(when: dt.datetime) -> dt.datetime:
    """A timestamp read back from the store, with its UTC zone (SQLite keeps no zone)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str | None:
    """JSON text of an audit value (None stays SQL NULL)."""
    if value is None:
        return None
    return _ENCODER.encode(value)


def write_change(
    conn: sa.Connection, change: Change, when: dt.datetime, import_id: int | None = None
) -> int:
    """Insert the ``changes`` row of a change; its id."""
    try:
        files = json.loads(json.dumps(list(change.files), default=str))
        options = json.loads(json.dumps(change.options, default=str))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the change cannot be recorded as JSON: {exc}") from exc
    return int(
        conn.execute(
            changes.insert()
            .values(
                changed_at=when,
                user_name=change.user,
                command=change.command,
                files=files,
                options=options,
                import_id=import_id,
                user_id=change.user_id,
                request_id=change.request_id,
            )
            .returning(changes.c.id)
        ).scalar_one()
    )


@dataclass
class AuditRows:
    """Audit rows being collected for one change, written with :meth:`write`."""

    table_name: list[str] = field(default_factory=list)
    record_id: list[str] = field(default_factory=list)
    mine_id: list[str | None] = field(default_factory=list)
    action: list[str] = field(default_factory=list)
    before: list[str | None] = field(default_factory=list)
    after: list[str | None] = field(default_factory=list)

    def add(
        self,
        table: str,
        ids: Sequence[str],
        mines: Sequence[str | None],
        action: str,
        before: Sequence[Any] | None,
        after: Sequence[Any] | None,
    ) -> None:
        """Rows for records ``ids`` of ``table`` (of mines ``mines``, None for a record of no
        mine); ``before``/``after`` one JSON object each."""
        n = len(ids)
        self.table_name += [table] * n
        self.record_id += list(ids)
        self.mine_id += list(mines)
        self.action += [action] * n
        self.before += [dumps(b) for b in before] if before is not None else [None] * n
        self.after += [dumps(a) for a in after] if after is not None else [None] * n

    def __len__(self) -> int:
        return len(self.record_id)

    def write(self, conn: sa.Connection, change_id: int) -> None:
        """Insert the rows (in chunks, in the caller's transaction)."""
        columns: dict[str, list[Any]] = {
            "change_id": [change_id] * len(self),
            "table_name": self.table_name,
            "record_id": self.record_id,
            "mine_id": self.mine_id,
            "action": self.action,
            "before": self.before,
            "after": self.after,
        }
        for start in range(0, len(self), 50_000):
            insert_many(conn, audit, {k: v[start : start + 50_000] for k, v in columns.items()})


def log_change(
    conn: sa.Connection,
    change: Change,
    *,
    table: str,
    record_id: str | int,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    mine_id: str | None = None,
    when: dt.datetime | None = None,
) -> int:
    """Record a change of one record, in the caller's transaction; the ``changes`` row's id.

    For the platform's writes of one record (an account, a project, a complaint): call it in
    the transaction that changes the record, with the record's fields ``before`` (None for an
    insert) and ``after`` (None for a purge), so that the record and its trail are written
    together or not at all. ``action`` is one of :data:`restora.store.tables.AUDIT_ACTIONS`.
    Secrets (password hashes, token digests) are never passed: the trail is readable by
    evaluators.
    """
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit action {action!r} (one of {', '.join(AUDIT_ACTIONS)})")
    when = when or dt.datetime.now(dt.UTC)
    change_id = write_change(conn, change, when)
    rows = AuditRows()
    rows.add(
        table,
        [str(record_id)],
        [mine_id],
        action,
        None if before is None else [_json_safe(before)],
        None if after is None else [_json_safe(after)],
    )
    rows.write(conn, change_id)
    return change_id


def _json_safe(record: dict[str, Any]) -> dict[str, Any]:
    """A record's values as JSON values (timestamps as UTC ISO text, dates as ISO text)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dt.datetime):
            out[key] = as_utc(value).isoformat()
        elif isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = str(value)
        else:
            out[key] = value
    return json.loads(json.dumps(out, default=str))


def history(conn: sa.Connection, mine_id: str | None = None) -> list[dict[str, Any]]:
    """The audit rows (of one mine's records, or all), oldest first, with their change.

    Each: ``change_id``, ``at`` (UTC, ISO), ``user``, ``command``, ``files`` (``[{"path",
    "sha256"}]``), ``table``, ``id``, ``mine_id``, ``action``, ``before``, ``after``.
    """
    query = (
        sa.select(
            audit.c.change_id,
            changes.c.changed_at,
            changes.c.user_name,
            changes.c.command,
            changes.c.files,
            audit.c.table_name,
            audit.c.record_id,
            audit.c.mine_id,
            audit.c.action,
            audit.c.before,
            audit.c.after,
        )
        .join(changes, audit.c.change_id == changes.c.id)
        .order_by(audit.c.id)
    )
    if mine_id is not None:
        query = query.where(audit.c.mine_id == mine_id)
    return [
        {
            "change_id": row.change_id,
            "at": as_utc(row.changed_at).isoformat(),
            "user": row.user_name,
            "command": row.command,
            "files": row.files,
            "table": row.table_name,
            "id": row.record_id,
            "mine_id": row.mine_id,
            "action": row.action,
            "before": row.before,
            "after": row.after,
        }
        for row in conn.execute(query)
    ]
