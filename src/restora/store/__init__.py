"""Storage: the register in SQLite (embedded default) or PostgreSQL, with Alembic migrations.

::

    from restora.store import Store, default_url

    store = Store()  # default_url(): RESTORA_DATABASE_URL, else the embedded SQLite file
    store.add_register(register, source={"files": ["mines.xlsx"], "sha256": ["..."]})
    register = store.load_register(["M001"])

See docs/store.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restora.store.engine import default_url

if TYPE_CHECKING:
    from restora.store.repository import Store

__all__ = ["Store", "default_url"]


def __getattr__(name: str) -> Any:
    # Lazy, so that Alembic's env.py (which imports restora.store.*) need not load pandas.
    if name == "Store":
        from restora.store.repository import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
