"""``/healthz`` (the process answers) and ``/readyz`` (the store — and the broker, when one is
configured — can be reached and the store is at the latest migration)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request

from restora.service.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store and the broker answer")
def readyz(request: Request) -> dict[str, Any]:
    store = request.app.state.store
    checks: dict[str, str] = {}
    try:
        with store.engine.connect() as conn:
            conn.execution_options(restora_read_only=True)
            conn.execute(sa.text("SELECT 1"))
        checks["store"] = "ok" if store.at_head() else "behind the latest migration"
    except Exception as exc:
        checks["store"] = f"unreachable: {exc.__class__.__name__}"
    ping = getattr(request.app.state, "broker_ping", None)
    if ping is not None:
        try:
            ping()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {exc.__class__.__name__}"
    if any(v != "ok" for v in checks.values()):
        bad = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        raise Problem(503, f"not ready ({bad})", kind="not-ready")
    return {"status": "ready", "checks": checks}
