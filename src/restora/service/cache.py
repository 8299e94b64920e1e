"""Read caches keyed by the store's revision: JSON bodies of GET responses, and API tokens.

Every write of the store — the register, projects, appraisals, accounts and tokens,
disclosures, complaints — is one transaction that writes a row of the append-only ``changes``
table, whoever makes it (this worker, another worker or app server, the command line). The id of
the last row is the store's *revision* (:func:`revision`, one indexed ``SELECT max(id)``): what
was computed at a revision stays true until the revision moves. Two caches use it, each per
process:

- :class:`ResponseCache`: the JSON body of a GET response that depends only on the store and on
  the caller's scope (the mine list, an appraisal's JSON), keyed by the route's parameters and
  the caller (role, account, organisation, region); a hit answers with the stored bytes, without
  the queries, the validation of the response model or its serialisation. At most
  :data:`MAX_BYTES` are kept (least recently used first out).
- :class:`TokenCache`: the account of a bearer token's SHA-256, so that a script's requests do
  not look their token up each time. Revoking a token or deactivating its account is a change of
  the store, so it takes effect at the next request; a token's expiry is checked from the
  cached expiry time, and an entry is looked up again after :data:`TOKEN_TTL` at the latest
  (the ``last_used_at`` of a token is refreshed on that lookup).

The revision is read once per request (kept on ``request.state``). Its cost — a connection from
the pool and one index lookup — replaces a count query, a page query, 50 response models and
their serialisation on the mine list (docs/benchmarks.md, service load).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import sqlalchemy as sa
from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from restora.store.tables import changes

MAX_BYTES = 64 * 1024 * 1024
"""Largest total size of the cached bodies per process [byte]."""
TOKEN_TTL = 60.0
"""Longest time a token's account is used from the cache before it is looked up again [s]."""
MEDIA_TYPE = "application/json"


def store_revision(engine: sa.Engine) -> int:
    """The store's revision: the id of its last change (0 for a store never changed)."""
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        return int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(changes.c.id), 0))).scalar_one()
        )


REVISION_TTL = 0.25
"""How long a process trusts the revision it read [s]; a commit through its own engine forgets
it at once, so only another process's writes are seen up to this late."""
_REVISIONS: dict[int, tuple[int, float]] = {}
_WATCHED: set[int] = set()


def _watch(engine: sa.Engine) -> None:
    """Forget the engine's revision at every commit through it (its own writes, seen at once)."""
    key = id(engine)
    if key in _WATCHED:
        return
    _WATCHED.add(key)

    def forget(*_: Any) -> None:
        _REVISIONS.pop(key, None)

    sa.event.listen(engine, "commit", forget)


def known_revision(request: Request) -> int | None:
    """The revision of this request if it is known without a query (else None)."""
    rev = getattr(request.state, "store_revision", None)
    if rev is not None:
        return int(rev)
    engine = request.app.state.store.engine
    found = _REVISIONS.get(id(engine))
    if found is not None and time.monotonic() - found[1] < REVISION_TTL:
        request.state.store_revision = found[0]
        return found[0]
    return None


def revision(request: Request) -> int:
    """The store's revision for this request (read once per request, and at most every
    :data:`REVISION_TTL` per process)."""
    rev = known_revision(request)
    if rev is None:
        engine = request.app.state.store.engine
        _watch(engine)
        t = time.monotonic()
        rev = store_revision(engine)
        _REVISIONS[id(engine)] = (rev, t)
        request.state.store_revision = rev
    return rev


_PENDING: dict[tuple[int, int], asyncio.Future[int]] = {}


async def revision_async(request: Request) -> int:
    """:func:`revision` for the event loop: when the process's revision is stale, one request
    reads it (in a worker thread) and the others arriving meanwhile wait for that read instead of
    each taking a thread and a connection — without this, every :data:`REVISION_TTL` all the
    requests in flight of a worker went through the thread pool at once."""
    engine = request.app.state.store.engine
    key = (id(engine), id(asyncio.get_running_loop()))
    while True:
        rev = known_revision(request)
        if rev is not None:
            return rev
        pending = _PENDING.get(key)
        if pending is None:
            break
        try:
            rev = await asyncio.shield(pending)
        except asyncio.CancelledError:
            if pending.cancelled():
                continue  # the request reading it went away: read it again
            raise
        except Exception:
            continue  # that read failed: try it ourselves, so the error is this request's
        request.state.store_revision = rev
        return rev
    pending = asyncio.get_running_loop().create_future()
    _PENDING[key] = pending
    try:
        _watch(engine)
        t = time.monotonic()
        rev = await run_in_threadpool(store_revision, engine)
        _REVISIONS[id(engine)] = (rev, t)
        pending.set_result(rev)
    except asyncio.CancelledError:
        pending.cancel()
        raise
    except Exception as exc:
        pending.set_exception(exc)
        pending.exception()  # retrieved: the waiters retry, this request reports it
        raise
    finally:
        _PENDING.pop(key, None)
    request.state.store_revision = rev
    return rev


def caller(principal: Any) -> tuple[Any, ...]:
    """What of the caller can change a response: role, account, organisation, region."""
    return (principal.role, principal.user_id, principal.org_id, principal.region)


class ResponseCache:
    """JSON bodies by key, each valid at one store revision; least recently used out first."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[int, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, rev: int) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != rev:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, rev: int, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return  # one huge body would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._items[key] = (rev, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)


def response_cache(request: Request) -> ResponseCache:
    """The app's response cache (made at first use)."""
    state = request.app.state
    cache = getattr(state, "response_cache", None)
    if cache is None:
        cache = state.response_cache = ResponseCache()
    return cache  # type: ignore[no-any-return]


def cached_json(
    request: Request,
    key: Hashable,
    make: Callable[[], Any],
    *,
    dump: Callable[[Any], bytes] | None = None,
) -> Response:
    """The JSON response of ``key`` at the store's current revision: from the cache, else
    ``make()`` (a pydantic model, or what ``dump`` turns into JSON bytes) stored for the next
    request. Only successful results are cached: an exception of ``make`` propagates."""
    rev = revision(request)
    cache = response_cache(request)
    body = cache.get(key, rev)
    if body is None:
        value = make()
        body = dump(value) if dump is not None else value.model_dump_json().encode()
        cache.put(key, rev, body)
    return Response(content=body, media_type=MEDIA_TYPE)


def query_key(request: Request) -> tuple[tuple[str, str], ...]:
    """The request's query parameters in a canonical order."""
    return tuple(sorted(request.query_params.multi_items()))


class TokenCache:
    """Accounts of bearer tokens by their SHA-256, each valid at one store revision."""

    def __init__(self, ttl: float = TOKEN_TTL, max_items: int = 10_000) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: dict[str, tuple[int, float, Any, dt.datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str, rev: int, now: dt.datetime | None = None) -> Any | None:
        with self._lock:
            found = self._items.get(digest)
        if found is None:
            return None
        at_rev, stored_at, account, expires_at = found
        if at_rev != rev or time.monotonic() - stored_at > self.ttl:
            return None
        if expires_at is not None and (now or dt.datetime.now(dt.UTC)) >= expires_at:
            return None
        return account

    def put(self, digest: str, rev: int, account: Any, expires_at: dt.datetime | None) -> None:
        with self._lock:
            if len(self._items) >= self.max_items:
                self._items.clear()
            self._items[digest] = (rev, time.monotonic(), account, expires_at)


def token_cache(request: Request) -> TokenCache:
    """The app's token cache (made at first use)."""
    state = request.app.state
    cache = getattr(state, "token_cache", None)
    if cache is None:
        cache = state.token_cache = TokenCache()
    return cache  # type: ignore[no-any-return]


def token_expires_at(engine: sa.Engine, digest: str) -> dt.datetime | None:
    """When the API token of this SHA-256 expires (UTC), or None."""
    from restora.store.audit import as_utc
    from restora.store.platform_tables import api_tokens

    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        found = conn.execute(
            sa.select(api_tokens.c.expires_at).where(api_tokens.c.token_sha256 == digest)
        ).scalar_one_or_none()
    return None if found is None else as_utc(found)


def cached_token_account(request: Request, digest: str) -> Any | None:
    """The account of a bearer token if it is known without a query (else None)."""
    rev = known_revision(request)
    return None if rev is None else token_cache(request).get(digest, rev)


def token_account(request: Request, digest: str, lookup: Callable[[], Any]) -> Any:
    """The account of a bearer token: from the cache at the store's revision, else
    ``lookup()`` (the store's query), kept for the next request."""
    rev = revision(request)
    tokens = token_cache(request)
    account = tokens.get(digest, rev)
    if account is None:
        account = lookup()
        if account is not None:
            expires = token_expires_at(request.app.state.store.engine, digest)
            tokens.put(digest, rev, account, expires)
    return account


def json_bytes(value: Any) -> bytes:
    """JSON of a JSON-safe value as FastAPI writes it (UTF-8, compact, no NaN)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def cached_json_async(
    request: Request,
    key: Hashable,
    make: Callable[[], Any],
    *,
    dump: Callable[[Any], bytes] | None = None,
) -> Response:
    """:func:`cached_json` for an ``async`` route: the revision is read on the event loop
    (:func:`revision_async`) and a hit answered there, without a worker thread; a miss runs
    ``make`` in the thread pool."""
    rev = await revision_async(request)
    body = response_cache(request).get(key, rev)
    if body is not None:
        return Response(content=body, media_type=MEDIA_TYPE)
    return await run_in_threadpool(lambda: cached_json(request, key, make, dump=dump))
