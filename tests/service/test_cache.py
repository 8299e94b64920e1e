"""The read caches keyed by the store's revision (restora.service.cache): another process's
write is seen within REVISION_TTL, the app's own write at once, a token revoked elsewhere stops
working, and requests arriving while the revision is stale share one read of it."""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from restora.service import cache, credentials
from restora.store import Store, accounts
from restora.store.audit import Change

MINE = "QS-M09"


@pytest.fixture(scope="module")
def token(app: Any) -> tuple[int, str]:
    """An admin account's id and a bearer token of it."""
    account = credentials.new_account(
        app.state.store.engine,
        username="cache-admin",
        role="admin",
        password="a long password for the cache test",
        change=Change("test"),
    )
    raw = secrets.token_urlsafe(32)
    accounts.create_token(
        app.state.store.engine,
        account.id,
        name="cache test",
        token_sha256=credentials.digest(raw),
        expires_at=None,
        change=Change("test"),
    )
    return account.id, raw


@pytest.fixture
def api(client: TestClient, token: tuple[int, str]) -> Iterator[TestClient]:
    client.headers["Authorization"] = f"Bearer {token[1]}"
    yield client
    client.headers.pop("Authorization", None)


def _name(api: TestClient) -> str:
    r = api.get("/api/v1/mines", params={"limit": 50})
    assert r.status_code == 200, r.text
    (mine,) = [m for m in r.json()["items"] if m["mine_id"] == MINE]
    return str(mine["name"])


def test_a_write_of_another_process_is_seen_within_the_revision_ttl(api, store_url):
    before = _name(api)
    assert _name(api) == before  # answered from the cache
    # another engine stands for another process: its commit does not reach this app's listener
    with Store(store_url) as other:
        other.update_mine(MINE, {"name": before + "（更名）"})
    time.sleep(cache.REVISION_TTL + 0.05)
    assert _name(api) == before + "（更名）"
    with Store(store_url) as other:
        other.update_mine(MINE, {"name": before})
    time.sleep(cache.REVISION_TTL + 0.05)
    assert _name(api) == before


def test_the_apps_own_write_is_seen_at_once(api):
    before = _name(api)
    r = api.patch(f"/api/v1/mines/{MINE}", json={"name": before + " B"})
    assert r.status_code == 200, r.text
    assert _name(api) == before + " B"  # no wait: the commit forgot the revision
    assert api.patch(f"/api/v1/mines/{MINE}", json={"name": before}).status_code == 200
    assert _name(api) == before


def test_a_token_revoked_by_another_process_stops_working(app, client, store_url):
    account = credentials.new_account(
        app.state.store.engine,
        username="cache-revoked",
        role="admin",
        password="a long password for the cache test",
        change=Change("test"),
    )
    raw = secrets.token_urlsafe(32)
    made = accounts.create_token(
        app.state.store.engine,
        account.id,
        name="to be revoked",
        token_sha256=credentials.digest(raw),
        expires_at=None,
        change=Change("test"),
    )
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/mines", params={"limit": 1}, headers=headers).status_code == 200
    with Store(store_url) as other:
        assert accounts.revoke_token(other.engine, account.id, made["id"], change=Change("t"))
    time.sleep(cache.REVISION_TTL + 0.05)
    assert client.get("/api/v1/mines", params={"limit": 1}, headers=headers).status_code == 401


def test_requests_share_one_read_of_a_stale_revision(app, client, token, monkeypatch):
    """30 requests at once with the process's revision stale: one store query, not 30."""
    assert client.get("/healthz").status_code == 200  # the app's lifespan runs in the client
    reads: list[float] = []
    real = cache.store_revision

    def counted(engine: Any) -> int:
        reads.append(time.monotonic())
        time.sleep(0.05)  # a slow database: the other requests arrive while it is read
        return real(engine)

    monkeypatch.setattr(cache, "store_revision", counted)
    headers = {"Authorization": f"Bearer {token[1]}"}

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.get("/api/v1/mines", params={"limit": 50}, headers=headers)  # warm
            cache._REVISIONS.clear()
            reads.clear()
            return await asyncio.gather(
                *(c.get("/api/v1/mines", params={"limit": 50}, headers=headers) for _ in range(30))
            )

    answers = asyncio.run(burst())
    assert [r.status_code for r in answers] == [200] * 30
    assert len({r.content for r in answers}) == 1
    assert len(reads) == 1, f"{len(reads)} reads of the revision for 30 requests"


def test_serve_app_freezes_what_start_up_made(monkeypatch, tmp_path):
    """restora serve's factory moves the start-up objects out of the collector's walks."""
    import gc

    from restora.service.app import serve_app

    monkeypatch.setenv("RESTORA_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("RESTORA_DATA_DIR", str(tmp_path / "data"))
    gc.unfreeze()
    try:
        app = serve_app()
        assert gc.get_freeze_count() > 50_000  # the interpreter, FastAPI, pandas, the app
        assert "restora.diagnosis.priority" in sys.modules
        app.state.store.close()
    finally:
        gc.unfreeze()
