"""The pages read the API as any client does: :func:`api_get` sends a GET through the app
itself (in process, no socket) with the page request's cookies, bearer header, language and
request id, so a page shows exactly what the API gives its caller — the same permission
matrix, region scope and public field sets, and no second copy of their rules in the web layer.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request

from restora.service.problems import Problem

_FORWARD = ("cookie", "authorization", "accept-language")


async def api_get(
    request: Request, path: str, params: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """``(status, JSON body)`` of ``GET path`` on this app for the page request's caller."""
    headers = {k: v for k in _FORWARD if (v := request.headers.get(k))}
    rid = getattr(request.state, "request_id", None)
    if rid:
        headers["x-request-id"] = rid
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://restora.internal") as c:
        r = await c.get(
            path, params={k: v for k, v in (params or {}).items() if v is not None}, headers=headers
        )
    try:
        body = r.json()
    except ValueError:
        body = None
    return r.status_code, body


async def api_json(request: Request, path: str, params: dict[str, Any] | None = None) -> Any:
    """The JSON of ``GET path``; a 4xx/5xx answer raised as the :class:`Problem` it was."""
    status, body = await api_get(request, path, params)
    if status >= 400:
        detail = body.get("detail") if isinstance(body, dict) else None
        raise Problem(status, str(detail or f"GET {path}: {status}"), kind="api")
    return body
