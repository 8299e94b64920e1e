"""Who is asking, and the permission check every route depends on.

:class:`Principal` is the caller: a signed-in user (cookie session, with CSRF protection for
the web), a script with a bearer token, or the public. :func:`authorize` is the dependency each
route declares with its action; each router module names its aliases once,
``CanRead = Annotated[Principal, Depends(authorize("register.read"))]``; it checks the permission
matrix (:mod:`restora.service.permissions`) and answers 401 to the anonymous and 403 to the
signed-in who may not. Region scope is checked where a record's region is known
(:func:`check_region`): out of scope is 404 for reads (the record is not theirs to see) and 403
for writes.

The app resolves the principal of a request with ``app.state.authenticate`` (set by
:mod:`restora.service.auth`); without it everyone is the public.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from restora.service.permissions import allowed, in_scope
from restora.service.problems import Problem


@dataclass(frozen=True)
class Principal:
    """The caller.

    Attributes
    ----------
    role : str
        One of :data:`restora.service.permissions.ROLES`.
    user_id, org_id : int or None
        The account and its organisation (None for the public).
    username : str or None
    region : str or None
        6-digit scope code (None: everywhere).
    via : str
        ``session`` (web cookie), ``token`` (bearer) or ``anonymous``.
    """

    role: str = "public"
    user_id: int | None = None
    org_id: int | None = None
    username: str | None = None
    region: str | None = None
    via: str = "anonymous"

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


PUBLIC = Principal()

Authenticator = Callable[[Request], Awaitable[Principal]]


async def current_principal(request: Request) -> Principal:
    """The principal of the request (cached on ``request.state``)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    auth: Authenticator | None = getattr(request.app.state, "authenticate", None)
    principal = await auth(request) if auth is not None else PUBLIC
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def authorize(action: str) -> Callable[..., Any]:
    """A dependency that lets through only principals whose role may do ``action``."""
    allowed("public", action)  # unknown actions fail at import time, not at the first request

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        if not allowed(principal.role, action):
            if not principal.signed_in:
                raise Problem(401, f"sign in to {action}", kind="not-signed-in")
            raise Problem(403, f"the role {principal.role} may not {action}", kind="forbidden")
        request.state.action = action
        return principal

    dependency.__name__ = f"authorize_{action.replace('.', '_')}"
    dependency.restora_action = action  # type: ignore[attr-defined]
    return dependency


def check_region(principal: Principal, region_code: str | None, *, write: bool) -> None:
    """Refuse a record outside the principal's region scope (404 on reads, 403 on writes)."""
    if principal.role in ("admin", "public") or in_scope(principal.region, region_code):
        return
    if write:
        raise Problem(403, f"region {region_code} is outside your scope", kind="out-of-scope")
    raise Problem(404, "no such record", kind="not-found")
