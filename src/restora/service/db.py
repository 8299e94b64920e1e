"""The store behind the app: one :class:`restora.store.Store` (migrated at start) per process."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request


async def get_store(request: Request) -> Any:
    """The app's :class:`restora.store.Store` (no I/O: called on the event loop, not in a thread)."""
    return request.app.state.store


async def get_engine(request: Request) -> sa.Engine:
    """The store's SQLAlchemy engine (reads go straight through Core, never pandas)."""
    return request.app.state.store.engine  # type: ignore[no-any-return]


StoreDep = Annotated[Any, Depends(get_store)]
EngineDep = Annotated[sa.Engine, Depends(get_engine)]
