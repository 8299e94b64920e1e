"""Who is asking: web sessions with CSRF protection, bearer tokens for scripts, sign-in and out.

:func:`install` (listed in :data:`restora.service.app.EXTENSIONS`) sets
``app.state.authenticate`` to :func:`authenticate` and adds the ``/auth/session`` routes.

**Bearer tokens** (scripts): ``Authorization: Bearer rst_…``, made by ``restora users token`` or
``POST /api/v1/users/me/tokens``, shown once; the store keeps their SHA-256. A token that is
unknown, revoked, expired or whose account is deactivated answers 401 (never the public's view).
Requests with a token need no CSRF token: a browser never adds the header by itself.

**Web sessions**: ``POST /auth/session`` with ``username`` and ``password`` (a form or JSON)
sets a random session token in an ``HttpOnly``, ``SameSite=Lax`` cookie (``Secure`` and named
``__Host-restora_session`` behind TLS, :data:`COOKIE`) that lasts ``session_hours`` (refdata
``security/sign-in``); ``DELETE /auth/session`` (or ``POST /auth/sign-out``, for a plain form)
revokes it. An expired or revoked cookie is the public.

**CSRF** (the synchronizer-token pattern): a request with a session cookie and an unsafe method
(POST, PUT, PATCH, DELETE) must carry the session's CSRF token in the ``X-CSRF-Token`` header
or a ``csrf_token`` form field, else 403. The token is HMAC-SHA256 of the session's random
``csrf_secret`` under ``RESTORA_SECRET_KEY``; ``GET /auth/session`` returns it (``csrf_token``)
for pages and htmx (``hx-headers``). Signing in is exempt (it replaces the session) but a
request from another origin (an ``Origin`` header naming another host) is refused.

**Failed sign-ins** are counted per username and client address (a keyed hash of both): after
``failures`` within ``window_minutes`` (refdata ``security/sign-in``) the next attempts answer
429 with ``Retry-After`` and no password is checked. Every failure says the same ("wrong
username or password"), whether the account exists, is deactivated or the password is wrong,
and takes as long (:func:`restora.service.credentials.verify_password`).

References
----------
OWASP Cross-Site Request Forgery Prevention Cheat Sheet (synchronizer token pattern).
https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html
RFC 6750, The OAuth 2.0 Authorization Framework: Bearer Token Usage (2012).
https://doi.org/10.17487/RFC6750
RFC 6265bis, Cookies: HTTP State Management Mechanism (the ``__Host-`` prefix, SameSite).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from restora import refdata
from restora.service import cache, credentials
from restora.service.permissions import ROLES
from restora.service.problems import Problem
from restora.service.security import PUBLIC, Principal, authorize
from restora.store import accounts

COOKIE = "restora_session"
TLS_COOKIE = "__Host-restora_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN_PATH = "/auth/session"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def cookie_name(request: Request) -> str:
    """The session cookie's name: ``__Host-`` prefixed behind TLS (Secure, host-only)."""
    return TLS_COOKIE if request.app.state.settings.behind_tls else COOKIE


@dataclass(frozen=True)
class SessionState:
    """The session of a cookie-authenticated request (on ``request.state.session``)."""

    csrf_token: str
    expires_at: dt.datetime


def principal_of(account: accounts.Account, via: str) -> Principal:
    """The principal of an account signed in ``via`` ``session`` or ``token``."""
    return Principal(
        role=account.role,
        user_id=account.id,
        org_id=account.org_id,
        username=account.username,
        region=account.region_code,
        via=via,
    )


def csrf_token(request: Request, csrf_secret: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of its secret under the app's secret key."""
    return credentials.keyed(request.app.state.settings.secret_key, "csrf", csrf_secret)


async def authenticate(request: Request) -> Principal:
    """The principal of a request: bearer token, else session cookie, else the public.

    Raises
    ------
    Problem
        401 for a bearer token that is not valid; 403 for an unsafe request on a session
        without its CSRF token.
    """
    engine = request.app.state.store.engine
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        challenge = 'Bearer realm="restora", error="invalid_token"'
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401,
                "the Authorization header must be 'Bearer <token>'",
                kind="bad-token",
                headers={"WWW-Authenticate": 'Bearer realm="restora"'},
            )
        digest = credentials.digest(token)
        # looked up once per store revision (a revocation is a change): restora.service.cache
        await cache.revision_async(request)
        account = cache.cached_token_account(request, digest)
        if account is None:
            account = await run_in_threadpool(
                cache.token_account, request, digest, lambda: accounts.token_account(engine, digest)
            )
        if account is None:
            raise Problem(
                401,
                "the bearer token is not valid (unknown, revoked or expired)",
                kind="bad-token",
                headers={"WWW-Authenticate": challenge},
            )
        return principal_of(account, "token")
    cookie = request.cookies.get(cookie_name(request))
    if not cookie:
        return PUBLIC
    found = await run_in_threadpool(accounts.session_account, engine, credentials.digest(cookie))
    if found is None:
        return PUBLIC
    account, csrf_secret, expires_at = found
    state = SessionState(csrf_token(request, csrf_secret), expires_at)
    request.state.session = state
    if request.method in UNSAFE and not _csrf_exempt(request):
        await _check_csrf(request, state.csrf_token)
    return principal_of(account, "session")


def _csrf_exempt(request: Request) -> bool:
    # signing in replaces the session: a stale or other account's cookie must not block it
    return request.method == "POST" and request.url.path == SIGN_IN_PATH


async def _check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(FORM_TYPES):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not credentials.same(given, expected):
        raise Problem(
            403,
            f"missing or wrong CSRF token: send the session's token (GET {SIGN_IN_PATH}) in "
            f"the {CSRF_HEADER} header or the {CSRF_FIELD} form field",
            kind="csrf",
        )


def _check_origin(request: Request) -> None:
    """Refuse a sign-in posted from another site (login CSRF)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    # the host the browser sees: Host, or what a reverse proxy that rewrites it forwards (a
    # page of another site cannot set X-Forwarded-Host on a form post)
    hosts = {request.headers.get("host", "").lower()}
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded:
        hosts.add(forwarded.split(",")[0].strip().lower())
    if origin == "null" or urlsplit(origin).netloc.lower() not in hosts:
        raise Problem(403, "sign in from this site's own page", kind="cross-origin")


# ----------------------------------------------------------------------------------- routes
router = APIRouter(tags=["auth"])
CanSession = Annotated[Principal, Depends(authorize("session.manage"))]


class SessionPublic(BaseModel):
    """One's own session: who is signed in, and the CSRF token for unsafe requests."""

    signed_in: bool
    role: str = Field(description=f"one of {', '.join(ROLES)}")
    username: str | None = None
    display_name: str | None = None
    org_id: int | None = None
    org_name: str | None = None
    region_code: str | None = Field(
        default=None, description="the account's region scope (6 digits)"
    )
    via: str | None = Field(default=None, description="session (cookie) or token (bearer)")
    csrf_token: str | None = Field(
        default=None, description=f"send it as {CSRF_HEADER} (or form field {CSRF_FIELD}) on writes"
    )
    expires_at: dt.datetime | None = Field(default=None, description="when the session ends [UTC]")


class SignIn(BaseModel):
    """Username and password (a form or JSON)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=4096)
    next: str | None = Field(
        default=None, max_length=512, description="a form's page to go to after (a local path)"
    )


def _session_body(
    principal: Principal, state: SessionState | None, engine: Any = None
) -> SessionPublic:
    if not principal.signed_in:
        return SessionPublic(signed_in=False, role=principal.role)
    account = accounts.account(engine, user_id=principal.user_id) if engine is not None else None
    return SessionPublic(
        signed_in=True,
        role=principal.role,
        username=principal.username,
        display_name=account.display_name if account else None,
        org_id=principal.org_id,
        org_name=account.org_name if account else None,
        region_code=principal.region,
        via=principal.via,
        csrf_token=state.csrf_token if state else None,
        expires_at=state.expires_at if state else None,
    )


@router.get(
    SIGN_IN_PATH,
    response_model=SessionPublic,
    response_model_exclude_none=True,
    summary="Who is signed in, and the CSRF token of the session",
)
def read_session(request: Request, principal: CanSession) -> SessionPublic:
    state = getattr(request.state, "session", None)
    return _session_body(principal, state, request.app.state.store.engine)


_SIGN_IN_BODY = {
    "required": True,
    "content": {
        media: {"schema": SignIn.model_json_schema()}
        for media in ("application/json", "application/x-www-form-urlencoded")
    },
}


async def _sign_in_form(request: Request) -> SignIn:
    ctype = request.headers.get("content-type", "")
    try:
        if ctype.startswith(FORM_TYPES):
            form = await request.form()
            data: Any = {k: v for k, v in form.items() if isinstance(v, str)}
        else:
            data = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "the body is not valid JSON", kind="bad-json") from None
    if not isinstance(data, dict):
        raise Problem(
            422,
            "send username and password (a form or a JSON object)",
            kind="invalid-input",
            errors=[{"field": "username", "message": "required"}],
        )
    from pydantic import ValidationError

    try:
        return SignIn.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(x) for x in e["loc"]) or None, "message": e["msg"]}
            for e in exc.errors()
        ]
        where = ", ".join(str(e["field"]) for e in errors)
        raise Problem(422, f"invalid input: {where}", kind="invalid-input", errors=errors) from None


def _limits() -> dict[str, Any]:
    return dict(refdata.get("security/sign-in").data)


def sign_in_key(request: Request, username: str) -> str:
    """The rate-limit key of a username tried from the request's client address."""
    client = request.client.host if request.client else "unknown"
    secret = request.app.state.settings.secret_key
    return credentials.keyed(secret, "sign-in", username.casefold(), client)


def check_credentials(request: Request, username: str, password: str) -> accounts.Account:
    """The account of ``username`` if ``password`` is its own and it is active; else a 401 that
    says nothing of which was wrong, or 429 when the username and address failed too often."""
    engine = request.app.state.store.engine
    limits = _limits()
    window = dt.timedelta(minutes=float(limits["window_minutes"]))
    key = sign_in_key(request, username)
    now = dt.datetime.now(dt.UTC)
    if accounts.failures_since(engine, key, now - window) >= int(limits["failures"]):
        raise Problem(
            429,
            f"too many failed sign-ins; try again in {math.ceil(window.total_seconds() / 60)} "
            "minutes",
            kind="too-many-sign-ins",
            headers={"Retry-After": str(int(window.total_seconds()))},
        )
    found = accounts.password_hash(engine, username)
    stored = found[1] if found is not None and found[2] else None
    ok, new_hash = credentials.verify_password(stored, password)
    if not ok or found is None:
        accounts.record_failure(engine, key, keep=window)
        raise Problem(401, "wrong username or password", kind="sign-in-failed")
    user_id = found[0]
    accounts.clear_failures(engine, key)
    if new_hash is not None:
        accounts.set_password(engine, user_id, new_hash)
    accounts.signed_in(engine, user_id)
    account = accounts.account(engine, user_id=user_id)
    assert account is not None
    return account


def _local_path(target: str | None) -> str | None:
    """``next`` if it is a path of this site (no scheme, no host: no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@router.post(
    SIGN_IN_PATH,
    response_model=SessionPublic,
    response_model_exclude_none=True,
    summary="Sign in: a session cookie (and its CSRF token)",
    openapi_extra={"requestBody": _SIGN_IN_BODY},
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed sign-ins"},
    },
)
async def sign_in(request: Request, response: Response, principal: CanSession) -> Any:
    _check_origin(request)
    body = await _sign_in_form(request)
    account = await run_in_threadpool(check_credentials, request, body.username, body.password)
    hours = float(_limits()["session_hours"])
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    token, token_sha = credentials.new_token()
    csrf_secret = secrets.token_urlsafe(32)
    old = request.cookies.get(cookie_name(request))
    await run_in_threadpool(
        accounts.create_session,
        request.app.state.store.engine,
        account.id,
        token_sha256=token_sha,
        csrf_secret=csrf_secret,
        expires_at=expires_at,
        replaces_sha256=credentials.digest(old) if old else None,
    )
    state = SessionState(csrf_token(request, csrf_secret), expires_at)
    target = _local_path(body.next)
    out: Response = RedirectResponse(target, status_code=303) if target else response
    out.set_cookie(
        cookie_name(request),
        token,
        max_age=int(hours * 3600),
        path="/",
        secure=request.app.state.settings.behind_tls,
        httponly=True,
        samesite="lax",
    )
    out.headers["Cache-Control"] = "no-store"
    if target:
        return out
    return await run_in_threadpool(
        _session_body, principal_of(account, "session"), state, request.app.state.store.engine
    )


def _end_session(request: Request, response: Response) -> None:
    cookie = request.cookies.get(cookie_name(request))
    if cookie:
        accounts.revoke_session(request.app.state.store.engine, credentials.digest(cookie))
    response.delete_cookie(
        cookie_name(request),
        path="/",
        secure=request.app.state.settings.behind_tls,
        httponly=True,
        samesite="lax",
    )


@router.delete(SIGN_IN_PATH, status_code=204, summary="Sign out (revokes the session)")
def sign_out(request: Request, principal: CanSession) -> Response:
    response = Response(status_code=204)
    _end_session(request, response)
    return response


@router.post(
    "/auth/sign-out",
    status_code=303,
    summary="Sign out from a plain form (csrf_token field), then go to `next`",
    response_class=RedirectResponse,
)
async def sign_out_form(request: Request, principal: CanSession) -> Response:
    next_page = None
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get("next")
        next_page = _local_path(value if isinstance(value, str) else None)
    response = RedirectResponse(next_page or "/", status_code=303)
    await run_in_threadpool(_end_session, request, response)
    return response


def install(app: FastAPI) -> None:
    """Plug accounts into the app: ``app.state.authenticate`` and the ``/auth`` routes."""
    app.state.authenticate = authenticate
    app.include_router(router)
