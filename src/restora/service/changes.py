"""The audit record of a write through the API: who, from which request, by which route.

Every route that writes declares :data:`ChangeDep` next to its action and passes the
:class:`~restora.store.audit.Change` it gets to the store, which writes it with the change, in
the same transaction (:mod:`restora.store.audit`)::

    CanWrite = Annotated[Principal, Depends(authorize("register.write"))]

    @router.patch("/{mine_id}")
    def update_mine(mine_id: str, body: MineUpdate, principal: CanWrite, change: ChangeDep,
                    store: StoreDep) -> MinePublic:
        ...
        store.update_mine(mine_id, values, change=change)

The change names the account (``user`` its username, ``user_id`` its id; ``public`` and None for
an anonymous write such as a complaint), the request (``request_id``, the ``X-Request-ID`` the
response carries and every log line of the request names) and the route (``command``, e.g.
``PATCH /api/v1/mines/{mine_id}``), with ``options`` holding the action, the role, how the
caller signed in (``session`` or ``token``) and the path parameters. A route adds its own
options with :func:`dataclasses.replace`. Work started by a request and done later (a job)
builds its :class:`~restora.store.audit.Change` with the same fields from the job's record.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Request

from restora.service.security import CurrentPrincipal
from restora.store.audit import Change


def declared_action(route: Any) -> str | None:
    """The action a route declares (the ``restora_action`` of its ``authorize`` dependency)."""
    dependant = getattr(route, "dependant", None)
    stack = list(getattr(dependant, "dependencies", ()))
    while stack:
        dep = stack.pop(0)
        action = getattr(dep.call, "restora_action", None)
        if action is not None:
            return str(action)
        stack.extend(dep.dependencies)
    return None


def route_template(request: Request) -> str:
    """The template of the route a request matched, with its mount prefix
    (``/api/v1/mines/{mine_id}``), else the request's path."""
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    actual = request.scope.get("path", request.url.path)
    if not template:
        return str(actual)
    try:
        concrete = _PARAM.sub(lambda m: str(request.path_params[m.group(1)]), template)
    except KeyError:
        return str(template)
    # a router included under a prefix knows its own path only: take the prefix from the URL
    if actual.endswith(concrete):
        return str(actual[: len(actual) - len(concrete)] + template)
    return str(template)


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


async def api_change(request: Request, principal: CurrentPrincipal) -> Change:
    """The :class:`~restora.store.audit.Change` of the request's write."""
    route = request.scope.get("route")
    path = route_template(request)
    action = getattr(request.state, "action", None) or declared_action(route)
    return Change(
        command=f"{request.method} {path}",
        user=principal.username or "public",
        user_id=principal.user_id,
        request_id=getattr(request.state, "request_id", None),
        options={
            "action": action,
            "role": principal.role,
            "via": principal.via,
            "path": {k: str(v) for k, v in request.path_params.items()},
        },
    )


ChangeDep = Annotated[Change, Depends(api_change)]
"""The dependency every writing route declares (see the module)."""
