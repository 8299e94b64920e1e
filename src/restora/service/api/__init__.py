"""The REST API under ``/api/v1``: one module per resource, each with its ``router`` and its
``XCreate / XUpdate / XPublic`` schemas (the full-stack FastAPI template's convention).

To add a resource: write ``api/<resource>.py`` with ``router = APIRouter(prefix=…, tags=[…])``,
declare each route's action with a dependency ``Annotated[Principal,
Depends(authorize("<resource>.<verb>"))]`` (named once per module; the action must be in
:data:`restora.service.permissions.ACTIONS`), and list the module in :data:`ROUTERS`.
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter

ROUTERS: tuple[str, ...] = (
    "mines",
    "sites",
    "samples",
    "hazards",
    "imports",
    "diagnosis",
    "plans",
    "costs",
    "valuations",
    "projects",
    "jobs",
    "public",
    "complaints",
    "disclosures",
)
ROUTERS += ("users", "organisations", "audit")  # accounts and the audit trail (P2)
ROUTERS += ("market",)  # the project library, finance supply and the market (issue 14)
ROUTERS += ("registry",)  # the registry of credits and quotas (issue 15)
ROUTERS += ("trading",)  # its venues: money, auctions, order book, offsets, earth and stone
ROUTERS += ("integrity",)  # the enterprise integrity archive (issue 16)
ROUTERS += ("monitoring",)  # sensors, readings, alerts, rules, hooks (issue 16)
ROUTERS += ("remote_sensing",)  # FVC per zone from NDVI rasters (issue 16)
ROUTERS += ("verification",)  # milestones, evidence, sign-off, tranches (issue 16)
ROUTERS += ("evaluation",)  # policy indicators, disparity, exports (issue 17)
ROUTERS += ("coordination",)  # joint meetings, consultations and hearings (issue 17)


def api_router() -> APIRouter:
    """All resource routers under one router (mounted at ``/api/v1``)."""
    root = APIRouter()
    for name in ROUTERS:
        module = importlib.import_module(f"{__name__}.{name}")
        root.include_router(module.router)
    return root
