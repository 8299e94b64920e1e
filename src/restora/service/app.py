"""The app: the REST API under ``/api/v1``, the web pages, static assets, health checks.

``create_app()`` reads :class:`~restora.service.settings.Settings` from the environment (or
takes one), opens the store (migrating it to the latest revision), and installs the error
handlers (RFC 9457 problem details), the request-context middleware (request ids, JSON logs,
security headers) and the routers. Parts added by other modules plug in through
:data:`EXTENSIONS`: each is ``module:function`` called with the app at start.
"""

from __future__ import annotations

import gc
import importlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from restora.service import problems
from restora.service.api import api_router
from restora.service.api.health import router as health_router
from restora.service.middleware import RequestContext, configure_logging
from restora.service.settings import Settings

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"
#: Modules that add to the app (auth, jobs, web pages …): ``"module:function"``, called with the
#: app after the core is set up; a module not present yet is skipped by name only here.
EXTENSIONS: tuple[str, ...] = (
    "restora.service.auth:install",
    "restora.service.web:install",
    "restora.service.jobs:install",
)


def create_app(settings: Settings | None = None, *, store: Any = None) -> FastAPI:
    """Build the app.

    Parameters
    ----------
    settings : Settings, optional
        Default :meth:`Settings.from_env`.
    store : restora.store.Store, optional
        An open store to serve (tests); default one at ``settings.database_url``.
    """
    from restora import __version__
    from restora.store import Store

    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Restora",
        version=__version__,
        summary="Legacy-mine register, diagnosis, valuation, costing, finance and appraisal.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served from vendored assets, never a CDN (restora.service.web)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if store is not None else Store(settings.database_url)
    problems.install(app)
    app.add_middleware(RequestContext, behind_tls=settings.behind_tls)
    app.include_router(health_router)
    app.include_router(api_router(), prefix=API_PREFIX)
    for spec in EXTENSIONS:
        module, _, func = spec.partition(":")
        getattr(importlib.import_module(module), func)(app)
    if STATIC_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve_app() -> FastAPI:
    """The app as ``restora serve`` runs it in each worker process: :func:`create_app`, the
    modules a first request would import loaded now (the ranking's diagnosis), then everything
    start-up made frozen out of the garbage collector's reach (:func:`gc.freeze`).

    The interpreter, FastAPI, pandas, shapely and the app hold some hundreds of thousands of
    objects that live as long as the process; Python's full (generation-2) collection walks them
    all, and under load it ran every second or so and stopped the worker's event loop for up to
    130 ms each time — every request in flight waited (docs/benchmarks.md, service under load).
    Frozen, they are never walked again; what requests allocate is collected as before.
    """
    app = create_app()
    from restora.diagnosis import county, hazard, priority  # noqa: F401 (the ranking's, loaded now)

    gc.collect()
    gc.freeze()
    return app
