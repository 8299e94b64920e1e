"""The restoration ranking of the store's register, for the mine list's priority class.

The mine list shows and filters each mine's priority (rank, score, class). They come from the
county ranking (:func:`restora.diagnosis.county.rank_register`, the ranking of ``restora mines
rank`` over the whole store, without context layers: the store holds none) and the classes of
:func:`restora.diagnosis.priority.priority_classes`. The ranking is computed once per *store
revision* — the id of the store's last change (every write of the register is one row of the
append-only ``changes`` table, whoever makes it: the API, the CLI, another worker) — and kept
in memory per process, so a write anywhere invalidates it and a read costs one ``SELECT
max(id)``. Decided so rather than stored: a ranking depends on every mine (min-max scores), so
any write would have to rewrite every mine's stored class in its transaction.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from restora.store.tables import changes


@dataclass(frozen=True)
class Priority:
    """One mine's place in the ranking: ``rank`` (1 = restore first), ``score`` [0, 1],
    ``priority_class`` (``priority/classes``)."""

    rank: int
    score: float
    priority_class: str


@dataclass
class RankingCache:
    """The ranking of one store, recomputed when the store's revision moves."""

    revision: int | None = None
    priorities: dict[str, Priority] = field(default_factory=dict)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, store: Any) -> dict[str, Priority]:
        """``{mine_id: Priority}`` of the live mines at the store's current revision."""
        now = revision(store.engine)
        if now == self.revision:
            return self.priorities
        with self.lock:
            if now != self.revision:  # another request may have computed it meanwhile
                self.priorities, self.provenance = compute(store)
                self.revision = now
            return self.priorities


def revision(engine: sa.Engine) -> int:
    """The store's revision: the id of its last change (0 for a store never changed)."""
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        return int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(changes.c.id), 0))).scalar_one()
        )


def compute(store: Any) -> tuple[dict[str, Priority], list[dict[str, Any]]]:
    """Rank the store's live register and class the ranks."""
    from restora.diagnosis import county, hazard, priority

    register = store.load_register()
    if not len(register.mines):
        return {}, []
    ranking = county.rank_register(
        register, priority.load_tables(), hazard.load_tables(), {}, pollution_source="register"
    )
    ranked = ranking.ranking
    classes, table = priority.priority_classes(ranked["rank"].to_numpy())
    out = {
        str(m): Priority(int(r), float(s), str(c))
        for m, r, s, c in zip(
            ranked["mine_id"], ranked["rank"], ranked["score"], classes, strict=True
        )
    }
    return out, [*ranking.provenance, table]


def priorities(request: Any) -> dict[str, Priority]:
    """The ranking of the app's store (the cache lives on the app)."""
    app = request.app
    cache = getattr(app.state, "ranking_cache", None)
    if cache is None:
        cache = app.state.ranking_cache = RankingCache()
    return cache.get(app.state.store)
