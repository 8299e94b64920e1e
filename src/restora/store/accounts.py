"""Accounts in the store: organisations, users, web sessions, API tokens, failed sign-ins.

The repository of the tables of revision 0006 (:mod:`restora.store.platform_tables`). It stores
what it is given: password hashes are made (argon2) and tokens drawn by the service
(:mod:`restora.service.credentials`); only a token's SHA-256 reaches the store. Roles are checked
by the service too (:data:`restora.service.permissions.ROLES`); the store checks what its own
tables need (unique names, an organisation that exists, an organisation kind it knows).

Every change of an organisation, an account or an API token is audited in its own transaction
(:func:`restora.store.audit.log_change`: table ``organisations``, ``users`` or ``api_tokens``,
the record's fields before and after, never a hash or a token). Sessions and failed sign-ins are
the service's working state, not records: they are not audited (a sign-in sets the account's
``last_login_at``, which is not audited either).

Users are never deleted, only deactivated (``active`` false): the audit trail keeps naming them
by id, and a deactivated account's sessions and tokens are revoked with it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from restora.errors import InputError
from restora.store.audit import Change, as_utc, log_change
from restora.store.engine import begin_write
from restora.store.platform_tables import (
    api_tokens,
    organisations,
    sessions,
    sign_in_failures,
    users,
)

#: Kinds of organisation (``--org-kind``): the parties of a restoration.
ORG_KINDS = (
    "natural_resources_bureau",
    "ecology_environment_bureau",
    "government",
    "bank",
    "investor",
    "guarantor",
    "insurer",
    "enterprise",
    "evaluator",
    "village_collective",
    "other",
)
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
REGION_CODE = re.compile(r"^\d{6}$")
#: The account fields the API and the audit trail show (never the password hash).
ACCOUNT_FIELDS = (
    "id",
    "username",
    "display_name",
    "role",
    "org_id",
    "region_code",
    "active",
    "created_at",
    "last_login_at",
)


@dataclass(frozen=True)
class Account:
    """A user account as the service sees it (no password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    org_id: int | None
    org_name: str | None
    org_kind: str | None
    region_code: str | None
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None

    def audited(self) -> dict[str, Any]:
        """The fields the audit trail records."""
        return {k: v for k, v in asdict(self).items() if k in ACCOUNT_FIELDS}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _read(engine: sa.Engine) -> sa.Connection:
    conn = engine.connect()
    conn.execution_options(restora_read_only=True)
    return conn


def check_region_code(region_code: str | None, field: str = "region_code") -> str | None:
    """A 6-digit GB/T 2260 code, or None; anything else is an :class:`InputError`."""
    if region_code is None or region_code == "":
        return None
    code = str(region_code).strip()
    if not REGION_CODE.match(code):
        raise InputError(f"{region_code!r} is not a 6-digit region code (GB/T 2260)", field=field)
    return code


# ------------------------------------------------------------------------------ organisations
def _organisation(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "region_code": row.region_code,
        "created_at": as_utc(row.created_at),
    }


def create_organisation(
    engine: sa.Engine, name: str, kind: str, region_code: str | None = None, *, change: Change
) -> dict[str, Any]:
    """Add an organisation; its row as a dict. A taken name or an unknown kind is an InputError."""
    name = (name or "").strip()
    if not name:
        raise InputError("an organisation needs a name", field="name")
    if kind not in ORG_KINDS:
        raise InputError(
            f"{kind!r} is not a kind of organisation (one of {', '.join(ORG_KINDS)})",
            field="kind",
        )
    region_code = check_region_code(region_code)
    with begin_write(engine) as conn:
        taken = conn.execute(
            sa.select(organisations.c.id).where(organisations.c.name == name)
        ).first()
        if taken is not None:
            raise InputError(f"an organisation named {name!r} exists already", field="name")
        values = {"name": name, "kind": kind, "region_code": region_code, "created_at": _now()}
        org_id = conn.execute(
            organisations.insert().values(**values).returning(organisations.c.id)
        ).scalar_one()
        log_change(
            conn,
            change,
            table="organisations",
            record_id=org_id,
            action="insert",
            after={"id": org_id, **values},
        )
    return {"id": org_id, **values}


def organisation(
    engine: sa.Engine, *, name: str | None = None, org_id: int | None = None
) -> dict[str, Any] | None:
    """One organisation by name or id, or None."""
    q = sa.select(organisations)
    q = q.where(organisations.c.name == name) if name is not None else q
    q = q.where(organisations.c.id == org_id) if org_id is not None else q
    with _read(engine) as conn:
        row = conn.execute(q).first()
    return None if row is None else _organisation(row)


def list_organisations(engine: sa.Engine) -> list[dict[str, Any]]:
    """Every organisation, by name."""
    with _read(engine) as conn:
        rows = conn.execute(sa.select(organisations).order_by(organisations.c.name)).all()
    return [_organisation(r) for r in rows]


# ------------------------------------------------------------------------------------ users
def _accounts_query() -> sa.Select:  # type: ignore[type-arg]
    return sa.select(
        users.c.id,
        users.c.username,
        users.c.display_name,
        users.c.role,
        users.c.org_id,
        organisations.c.name.label("org_name"),
        organisations.c.kind.label("org_kind"),
        users.c.region_code,
        users.c.active,
        users.c.created_at,
        users.c.last_login_at,
    ).select_from(users.outerjoin(organisations, organisations.c.id == users.c.org_id))


def _account(row: Any) -> Account:
    d = dict(row)
    d["created_at"] = as_utc(d["created_at"])
    d["last_login_at"] = None if d["last_login_at"] is None else as_utc(d["last_login_at"])
    d["active"] = bool(d["active"])
    return Account(**d)


def account(
    engine: sa.Engine, *, user_id: int | None = None, username: str | None = None
) -> Account | None:
    """One account by id or username (deactivated ones too), or None."""
    q = _accounts_query()
    if user_id is not None:
        q = q.where(users.c.id == user_id)
    if username is not None:
        q = q.where(users.c.username == username)
    with _read(engine) as conn:
        row = conn.execute(q).first()
    return None if row is None else _account(row._mapping)


def list_accounts(
    engine: sa.Engine,
    *,
    role: str | None = None,
    org_id: int | None = None,
    active: bool | None = None,
) -> list[Account]:
    """Accounts (filtered), by username."""
    q = _accounts_query()
    if role is not None:
        q = q.where(users.c.role == role)
    if org_id is not None:
        q = q.where(users.c.org_id == org_id)
    if active is not None:
        q = q.where(users.c.active.is_(active))
    with _read(engine) as conn:
        rows = conn.execute(q.order_by(users.c.username)).all()
    return [_account(r._mapping) for r in rows]


def create_account(
    engine: sa.Engine,
    *,
    username: str,
    display_name: str,
    password_hash: str | None,
    role: str,
    org_id: int | None = None,
    region_code: str | None = None,
    change: Change,
) -> Account:
    """Add an account (the role already checked by the caller); a taken username is an
    InputError naming ``username``."""
    if not USERNAME.match(username or ""):
        raise InputError(
            f"{username!r} is not a username: 2-64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit",
            field="username",
        )
    region_code = check_region_code(region_code)
    with begin_write(engine) as conn:
        taken = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
        if taken is not None:
            raise InputError(f"the username {username!r} is taken", field="username")
        if org_id is not None:
            found = conn.execute(
                sa.select(organisations.c.id).where(organisations.c.id == org_id)
            ).first()
            if found is None:
                raise InputError(f"no organisation {org_id}", field="org_id")
        values = {
            "username": username,
            "display_name": (display_name or username).strip() or username,
            "password_hash": password_hash,
            "role": role,
            "org_id": org_id,
            "region_code": region_code,
            "active": True,
            "created_at": _now(),
        }
        user_id = conn.execute(users.insert().values(**values).returning(users.c.id)).scalar_one()
        created = _account(
            conn.execute(_accounts_query().where(users.c.id == user_id)).one()._mapping
        )
        log_change(
            conn,
            change,
            table="users",
            record_id=user_id,
            action="insert",
            after=created.audited(),
        )
    return created


#: Account fields :func:`update_account` changes.
UPDATABLE = ("display_name", "role", "org_id", "region_code", "active")


def update_account(
    engine: sa.Engine, user_id: int, values: Mapping[str, Any], *, change: Change
) -> Account:
    """Change fields of an account (:data:`UPDATABLE`); deactivating revokes its sessions and
    tokens in the same transaction. Nothing is written (nor audited) if nothing changes."""
    unknown = sorted(set(values) - set(UPDATABLE))
    if unknown:
        raise InputError(
            f"not an account field that can be changed: {unknown[0]}", field=unknown[0]
        )
    values = dict(values)
    if "region_code" in values:
        values["region_code"] = check_region_code(values["region_code"])
    with begin_write(engine) as conn:
        row = conn.execute(_accounts_query().where(users.c.id == user_id)).first()
        if row is None:
            raise InputError(f"no account {user_id}", field="user_id")
        before = _account(row._mapping)
        if values.get("org_id") is not None:
            found = conn.execute(
                sa.select(organisations.c.id).where(organisations.c.id == values["org_id"])
            ).first()
            if found is None:
                raise InputError(f"no organisation {values['org_id']}", field="org_id")
        changed = {k: v for k, v in values.items() if getattr(before, k) != v}
        if not changed:
            return before
        conn.execute(users.update().where(users.c.id == user_id).values(**changed))
        if changed.get("active") is False:
            _revoke_all(conn, user_id)
        log_change(
            conn,
            change,
            table="users",
            record_id=user_id,
            action="update",
            before={k: getattr(before, k) for k in changed},
            after=changed,
        )
        return _account(conn.execute(_accounts_query().where(users.c.id == user_id)).one()._mapping)


def _revoke_all(conn: sa.Connection, user_id: int) -> None:
    now = _now()
    for table in (sessions, api_tokens):
        conn.execute(
            table.update()
            .where(table.c.user_id == user_id, table.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def password_hash(engine: sa.Engine, username: str) -> tuple[int, str | None, bool] | None:
    """``(user_id, password_hash, active)`` of a username, or None (for signing in)."""
    with _read(engine) as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.password_hash, users.c.active).where(
                users.c.username == username
            )
        ).first()
    return None if row is None else (row.id, row.password_hash, bool(row.active))


def set_password(
    engine: sa.Engine, user_id: int, new_hash: str, *, change: Change | None = None
) -> None:
    """Store a new password hash. With ``change`` (a password set or changed by someone) it is
    audited as ``{"password": "changed"}`` and the account's other sessions stay; without it
    (the same password rehashed at sign-in with newer argon2 parameters) it is not audited."""
    with begin_write(engine) as conn:
        done = conn.execute(
            users.update().where(users.c.id == user_id).values(password_hash=new_hash)
        ).rowcount
        if not done:
            raise InputError(f"no account {user_id}", field="user_id")
        if change is not None:
            log_change(
                conn,
                change,
                table="users",
                record_id=user_id,
                action="update",
                before={"password": "(previous)"},
                after={"password": "changed"},
            )


def signed_in(engine: sa.Engine, user_id: int) -> None:
    """Note a successful sign-in (``last_login_at``)."""
    with begin_write(engine) as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(last_login_at=_now()))


# --------------------------------------------------------------------------------- sessions
def create_session(
    engine: sa.Engine,
    user_id: int,
    *,
    token_sha256: str,
    csrf_secret: str,
    expires_at: dt.datetime,
    replaces_sha256: str | None = None,
) -> None:
    """Store a web session (its token's SHA-256); the session it replaces (the same browser's
    previous cookie) is revoked in the same transaction."""
    now = _now()
    with begin_write(engine) as conn:
        if replaces_sha256:
            conn.execute(
                sessions.update()
                .where(sessions.c.token_sha256 == replaces_sha256, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        conn.execute(
            sessions.insert().values(
                token_sha256=token_sha256,
                user_id=user_id,
                csrf_secret=csrf_secret,
                created_at=now,
                expires_at=expires_at,
            )
        )
        conn.execute(  # expired sessions are of no use: keep the table small
            sessions.delete().where(sessions.c.expires_at < now - dt.timedelta(days=1))
        )


def session_account(
    engine: sa.Engine, token_sha256: str, now: dt.datetime | None = None
) -> tuple[Account, str, dt.datetime] | None:
    """``(account, csrf_secret, expires_at)`` of a live session of an active account, or None."""
    now = now or _now()
    q = (
        _accounts_query()
        .add_columns(sessions.c.csrf_secret, sessions.c.expires_at.label("session_expires_at"))
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(
            sessions.c.token_sha256 == token_sha256,
            sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > now,
            users.c.active.is_(True),
        )
    )
    with _read(engine) as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    d = dict(row._mapping)
    csrf, expires = d.pop("csrf_secret"), d.pop("session_expires_at")
    return _account(d), csrf, as_utc(expires)


def revoke_session(engine: sa.Engine, token_sha256: str) -> bool:
    """Revoke a session (sign-out); whether there was a live one."""
    with begin_write(engine) as conn:
        return bool(
            conn.execute(
                sessions.update()
                .where(sessions.c.token_sha256 == token_sha256, sessions.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
        )


# ------------------------------------------------------------------------------- API tokens
def _token(row: Any) -> dict[str, Any]:
    def utc(v: dt.datetime | None) -> dt.datetime | None:
        return None if v is None else as_utc(v)

    return {
        "id": row.id,
        "name": row.name,
        "created_at": utc(row.created_at),
        "expires_at": utc(row.expires_at),
        "last_used_at": utc(row.last_used_at),
        "revoked_at": utc(row.revoked_at),
    }


def create_token(
    engine: sa.Engine,
    user_id: int,
    *,
    name: str,
    token_sha256: str,
    expires_at: dt.datetime | None,
    change: Change,
) -> dict[str, Any]:
    """Store an API token (its SHA-256 only); its row (``id``, ``name``, dates)."""
    name = (name or "").strip()
    if not name:
        raise InputError("a token needs a name (what it is for)", field="name")
    with begin_write(engine) as conn:
        found = conn.execute(sa.select(users.c.active).where(users.c.id == user_id)).first()
        if found is None or not found.active:
            raise InputError(f"no active account {user_id}", field="user_id")
        values = {
            "token_sha256": token_sha256,
            "user_id": user_id,
            "name": name,
            "created_at": _now(),
            "expires_at": expires_at,
        }
        token_id = conn.execute(
            api_tokens.insert().values(**values).returning(api_tokens.c.id)
        ).scalar_one()
        row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).one()
        shown = _token(row)
        log_change(
            conn,
            change,
            table="api_tokens",
            record_id=token_id,
            action="insert",
            after={**shown, "user_id": user_id},
        )
    return shown


def tokens(engine: sa.Engine, user_id: int) -> list[dict[str, Any]]:
    """The API tokens of an account (revoked and expired ones too), newest first."""
    with _read(engine) as conn:
        rows = conn.execute(
            sa.select(api_tokens)
            .where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.id.desc())
        ).all()
    return [_token(r) for r in rows]


def revoke_token(engine: sa.Engine, user_id: int, token_id: int, *, change: Change) -> bool:
    """Revoke one of an account's tokens; whether it was live (a token of another account is
    not touched)."""
    now = _now()
    with begin_write(engine) as conn:
        done = conn.execute(
            api_tokens.update()
            .where(
                api_tokens.c.id == token_id,
                api_tokens.c.user_id == user_id,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
        if done:
            log_change(
                conn,
                change,
                table="api_tokens",
                record_id=token_id,
                action="update",
                before={"revoked_at": None},
                after={"revoked_at": now},
            )
    return bool(done)


#: A token's ``last_used_at`` is written at most this often (a script's every request would
#: otherwise be a write).
LAST_USED_EVERY = dt.timedelta(minutes=1)


def token_account(
    engine: sa.Engine, token_sha256: str, now: dt.datetime | None = None
) -> Account | None:
    """The active account of a live API token (not revoked, not expired), or None."""
    now = now or _now()
    q = (
        _accounts_query()
        .add_columns(api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(
            api_tokens.c.token_sha256 == token_sha256,
            api_tokens.c.revoked_at.is_(None),
            sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
            users.c.active.is_(True),
        )
    )
    with _read(engine) as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    d = dict(row._mapping)
    token_id, last_used = d.pop("token_id"), d.pop("last_used_at")
    if last_used is None or as_utc(last_used) < now - LAST_USED_EVERY:
        with begin_write(engine) as conn:
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now)
            )
    return _account(d)


# ------------------------------------------------------------------------ failed sign-ins
def failures_since(engine: sa.Engine, key_sha256: str, since: dt.datetime) -> int:
    """Failed sign-ins of a key since a moment."""
    with _read(engine) as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(
                    sign_in_failures.c.key_sha256 == key_sha256, sign_in_failures.c.at >= since
                )
            ).scalar_one()
        )


def record_failure(engine: sa.Engine, key_sha256: str, *, keep: dt.timedelta) -> None:
    """Note a failed sign-in; failures older than ``keep`` are dropped meanwhile."""
    now = _now()
    with begin_write(engine) as conn:
        conn.execute(sign_in_failures.insert().values(key_sha256=key_sha256, at=now))
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.at < now - keep))


def clear_failures(engine: sa.Engine, key_sha256: str) -> None:
    """Forget a key's failures (after a successful sign-in)."""
    with begin_write(engine) as conn:
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.key_sha256 == key_sha256))
