"""Helpers of the job tests: accounts, the demo project, waiting for a job, a controllable task."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILE = ROOT / "examples" / "demo-projects" / "QS-M09.yaml"
ON = "2026-06-01"
DRAWS = 200  # small Monte Carlo: CI time (the project file's own is 10 000)


def add_user(
    store: Any, user_id: int, role: str = "natural_resources", region: str | None = None
) -> Any:
    """An account row (the jobs name their creator) and its principal."""
    from restora.service.security import Principal
    from restora.store.platform_tables import users

    with store.engine.begin() as conn:
        exists = conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first()
        if exists is None:
            conn.execute(
                users.insert().values(
                    id=user_id,
                    username=f"user{user_id}",
                    display_name=f"User {user_id}",
                    role=role,
                    region_code=region,
                    active=True,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    return Principal(
        role=role, user_id=user_id, username=f"user{user_id}", region=region, via="token"
    )


def demo_spec(project_id: str = "QS-P-M09", **changes: Any) -> dict[str, Any]:
    """The demo project QS-M09 with a small Monte Carlo (and the given fields changed)."""
    spec = yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8"))
    spec["project_id"] = project_id
    spec["risk"]["draws"] = DRAWS
    spec.update(changes)
    return spec


def wait_done(target: Any, job_id: str, timeout: float = 180.0) -> Any:
    """Poll a job until it is finished; its state."""
    from restora.service import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = jobs.get(target, job_id)
        if state is not None and state.done:
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {jobs.get(target, job_id)}")


def as_principal(principal: Any) -> Any:
    """An ``app.state.authenticate`` that makes every request come from ``principal``."""

    async def authenticate(request: Any) -> Any:
        return principal

    return authenticate


class GateTask:
    """A kind of job whose run waits, between its stages, for the test to open a gate.

    ``STEPS`` = one, two, three; the run reports ``one``, sets :attr:`started`, waits for
    :attr:`gate`, reports ``two`` and ``three`` and returns ``{"done": true}``; with
    ``{"fail": "message"}`` it raises a ``RestoraError`` with that message after ``one``.
    """

    name = "restora_test_gate_task"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()
        self.module = types.ModuleType(self.name)
        self.module.STEPS = ("one", "two", "three")  # type: ignore[attr-defined]
        self.module.prepare = lambda store, params: dict(params)  # type: ignore[attr-defined]
        self.module.run = self.run  # type: ignore[attr-defined]

    def run(self, ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
        from restora.errors import RestoraError

        ctx.stage("one")
        self.started.set()
        if "fail" in params:
            raise RestoraError(params["fail"])
        assert self.gate.wait(60), "the test never opened the gate"
        ctx.stage("two")
        ctx.stage("three")
        return {"done": True, "attempt": ctx.attempt}

    def install(self, monkeypatch: Any, kind: str = "gate") -> str:
        from restora.service import tasks

        monkeypatch.setitem(sys.modules, self.name, self.module)
        monkeypatch.setitem(tasks.TASKS, kind, self.name)
        return kind
