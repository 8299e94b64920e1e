"""Accounts: one's own (``/users/me``: who, API tokens, password) and, for admins, everyone's.

- ``GET /users/me``, ``GET|POST /users/me/tokens``, ``DELETE /users/me/tokens/{token_id}``,
  ``PUT /users/me/password`` — any signed-in account (``account.self``);
- ``GET /users``, ``GET /users/{user_id}`` (``users.read``), ``POST /users``,
  ``PATCH /users/{user_id}`` (``users.manage``): admins.

Every write is audited (``users``, ``api_tokens``; never a hash nor a token). A token is shown
once, in the answer to its creation; the store keeps its SHA-256.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from restora.service import credentials
from restora.service.changes import ChangeDep
from restora.service.db import EngineDep
from restora.service.pagination import Page, Paging
from restora.service.permissions import ROLES
from restora.service.problems import Problem
from restora.service.security import Principal, authorize
from restora.store import accounts

router = APIRouter(prefix="/users", tags=["users"])
CanSelf = Annotated[Principal, Depends(authorize("account.self"))]
CanRead = Annotated[Principal, Depends(authorize("users.read"))]
CanManage = Annotated[Principal, Depends(authorize("users.manage"))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the account's id")]

_ROLE = f"one of {', '.join(r for r in ROLES if r != 'public')}"
_REGION = Field(None, pattern=r"^\d{6}$", description="region scope: 6-digit GB/T 2260 code")


class UserPublic(BaseModel):
    """An account as the API shows it (never its password hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: str
    org_id: int | None = None
    org_name: str | None = None
    org_kind: str | None = None
    region_code: str | None = None
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None


class UserCreate(BaseModel):
    """A new account (admins)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "username": "qingshan.nr",
                    "display_name": "青山县自然资源局",
                    "role": "natural_resources",
                    "password": "correct horse battery staple",
                    "region_code": "430599",
                }
            ]
        },
    )

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]+$")
    display_name: str | None = Field(None, max_length=200)
    role: str = Field(description=_ROLE)
    password: str | None = Field(
        None, max_length=4096, description="none: the account signs in only once one is set"
    )
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    region_code: str | None = _REGION


class UserUpdate(BaseModel):
    """Fields of an account to change (admins); ``active: false`` deactivates it and revokes its
    sessions and tokens."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, min_length=1, max_length=200)
    role: str | None = Field(None, description=_ROLE)
    org_id: int | None = Field(None, ge=1, le=2**31 - 1)
    region_code: str | None = _REGION
    active: bool | None = None
    password: str | None = Field(None, max_length=4096, description="a new password")


class TokenPublic(BaseModel):
    """An API token (its value is never shown again after its creation)."""

    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class TokenCreated(TokenPublic):
    """A new API token: ``token`` is shown this once (send it as ``Authorization: Bearer``)."""

    token: str


class TokenCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "nightly import", "expires_days": 90}]},
    )

    name: str = Field(min_length=1, max_length=100, description="what the token is for")
    expires_days: int | None = Field(
        None, ge=1, le=3660, description="days it lasts [d]; none: until revoked"
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=4096)
    new_password: str = Field(min_length=1, max_length=4096)


def _user(account: accounts.Account) -> UserPublic:
    return UserPublic.model_validate(account)


def _me(engine: Any, principal: Principal) -> accounts.Account:
    account = accounts.account(engine, user_id=principal.user_id)
    if account is None:  # deleted under a live token: cannot happen (accounts are never deleted)
        raise Problem(404, "no such account", kind="not-found")
    return account


# -- one's own account (declared before /{user_id}) ------------------------------------------
@router.get("/me", response_model=UserPublic, summary="One's own account")
def read_me(engine: EngineDep, principal: CanSelf) -> UserPublic:
    return _user(_me(engine, principal))


@router.get("/me/tokens", response_model=list[TokenPublic], summary="One's own API tokens")
def list_my_tokens(engine: EngineDep, principal: CanSelf) -> list[TokenPublic]:
    assert principal.user_id is not None
    return [TokenPublic.model_validate(t) for t in accounts.tokens(engine, principal.user_id)]


def issue_token(
    engine: Any, user_id: int, name: str, expires_days: int | None, change: Any
) -> dict[str, Any]:
    """Make an API token for an account: its row and, once, its value (``token``)."""
    token, sha = credentials.new_token(credentials.TOKEN_PREFIX)
    expires = (
        dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days)
        if expires_days is not None
        else None
    )
    row = accounts.create_token(
        engine, user_id, name=name, token_sha256=sha, expires_at=expires, change=change
    )
    return {**row, "token": token}


@router.post(
    "/me/tokens", response_model=TokenCreated, status_code=201, summary="Make an API token"
)
def create_my_token(
    body: TokenCreate, engine: EngineDep, principal: CanSelf, change: ChangeDep, response: Response
) -> TokenCreated:
    assert principal.user_id is not None
    response.headers["Cache-Control"] = "no-store"
    made = issue_token(engine, principal.user_id, body.name, body.expires_days, change)
    return TokenCreated.model_validate(made)


@router.delete("/me/tokens/{token_id}", status_code=204, summary="Revoke one's API token")
def revoke_my_token(
    token_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    engine: EngineDep,
    principal: CanSelf,
    change: ChangeDep,
) -> Response:
    assert principal.user_id is not None
    if not accounts.revoke_token(engine, principal.user_id, token_id, change=change):
        raise Problem(404, f"no live token {token_id} of yours", kind="not-found")
    return Response(status_code=204)


@router.put("/me/password", status_code=204, summary="Change one's password")
async def change_my_password(
    body: PasswordChange, engine: EngineDep, principal: CanSelf, change: ChangeDep
) -> Response:
    assert principal.username is not None
    found = await run_in_threadpool(accounts.password_hash, engine, principal.username)
    stored = found[1] if found else None
    ok, _ = await run_in_threadpool(credentials.verify_password, stored, body.current_password)
    if not ok:
        raise Problem(
            422,
            "the current password is wrong",
            kind="invalid-input",
            errors=[{"field": "current_password", "message": "wrong password"}],
        )
    new_hash = await run_in_threadpool(credentials.hash_password, body.new_password)
    assert principal.user_id is not None
    await run_in_threadpool(
        lambda: accounts.set_password(engine, principal.user_id, new_hash, change=change)  # type: ignore[arg-type]
    )
    return Response(status_code=204)


# -- everyone's accounts (admins) ----------------------------------------------------------
@router.get("", response_model=Page[UserPublic], summary="List the accounts")
def list_users(
    engine: EngineDep,
    principal: CanRead,
    paging: Paging,
    role: Annotated[str | None, Query(max_length=40)] = None,
    org_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    active: bool | None = None,
) -> Page[UserPublic]:
    found = accounts.list_accounts(engine, role=role, org_id=org_id, active=active)
    if paging.sort:
        from restora.service.pagination import sort_key

        col, desc = sort_key(paging.sort, ("username", "role", "created_at", "id"), "username")
        found.sort(key=lambda a: (getattr(a, col) is None, getattr(a, col)), reverse=desc)
    page = found[paging.offset : paging.offset + paging.limit]
    return Page[UserPublic](
        items=[_user(a) for a in page], total=len(found), limit=paging.limit, offset=paging.offset
    )


@router.post("", response_model=UserPublic, status_code=201, summary="Create an account")
async def create_user(
    body: UserCreate, engine: EngineDep, principal: CanManage, change: ChangeDep
) -> UserPublic:
    account = await run_in_threadpool(
        lambda: credentials.new_account(
            engine,
            username=body.username,
            role=body.role,
            password=body.password,
            display_name=body.display_name,
            org_id=body.org_id,
            region_code=body.region_code,
            change=change,
        )
    )
    return _user(account)


@router.get("/{user_id}", response_model=UserPublic, summary="One account")
def read_user(user_id: UserId, engine: EngineDep, principal: CanRead) -> UserPublic:
    account = accounts.account(engine, user_id=user_id)
    if account is None:
        raise Problem(404, f"no account {user_id}", kind="not-found")
    return _user(account)


@router.patch("/{user_id}", response_model=UserPublic, summary="Change an account")
async def update_user(
    user_id: UserId, body: UserUpdate, engine: EngineDep, principal: CanManage, change: ChangeDep
) -> UserPublic:
    values = body.model_dump(exclude_unset=True)
    password = values.pop("password", None)
    if values.get("role") is not None and (
        values["role"] not in ROLES or values["role"] == "public"
    ):
        raise Problem(
            422,
            f"{values['role']!r} is not a role of an account",
            kind="invalid-input",
            errors=[{"field": "role", "message": _ROLE}],
        )
    for required in ("display_name", "role", "active"):
        if required in values and values[required] is None:
            raise Problem(
                422,
                f"{required} cannot be emptied",
                kind="invalid-input",
                errors=[{"field": required, "message": "may not be null"}],
            )
    if user_id == principal.user_id and (
        values.get("active") is False or values.get("role", "admin") != "admin"
    ):
        raise Problem(
            409, "an admin cannot deactivate or demote their own account", kind="conflict"
        )

    def write() -> accounts.Account:
        if accounts.account(engine, user_id=user_id) is None:
            raise Problem(404, f"no account {user_id}", kind="not-found")
        # the password's policy is checked before anything is written
        new_hash = credentials.hash_password(password) if password is not None else None
        updated = accounts.update_account(engine, user_id, values, change=change)
        if new_hash is not None:
            accounts.set_password(engine, user_id, new_hash, change=change)
        return updated

    return _user(await run_in_threadpool(write))
