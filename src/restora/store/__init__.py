"""Storage: the register in SQLite (embedded default) or PostgreSQL, with Alembic migrations.

::

    from restora.store import Store, default_url

    store = Store()  # default_url(): RESTORA_DATABASE_URL, else the embedded SQLite file
    store.add_register(register, source={"files": ["mines.xlsx"], "sha256": ["..."]})
    register = store.load_register(["M001"])

See docs/store.md.
"""

from restora.store.engine import default_url
from restora.store.repository import Store

__all__ = ["Store", "default_url"]
