"""The platform: one FastAPI app serving the REST API (``/api/v1``), the web pages and their
static assets, over the same store the CLI uses.

- :mod:`restora.service.settings` — one settings object from the environment;
- :mod:`restora.service.app` — :func:`create_app` (routers, middleware, error handlers);
- :mod:`restora.service.problems` — errors as RFC 9457 problem details naming the field;
- :mod:`restora.service.security` — who is asking (:class:`Principal`) and the permission check
  every route depends on; :mod:`restora.service.permissions` — the one permission matrix
  (role × action, region scope);
- :mod:`restora.service.api` — the routers under ``/api/v1``;
- :mod:`restora.service.middleware` — request ids, JSON logs, security headers.

``restora serve`` runs it under uvicorn (docs/deploy.md).
"""

from __future__ import annotations

from typing import Any


def create_app(*args: Any, **kwargs: Any) -> Any:
    """The app (see :func:`restora.service.app.create_app`)."""
    from restora.service.app import create_app as _create

    return _create(*args, **kwargs)


__all__ = ["create_app"]
