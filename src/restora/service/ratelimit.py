"""Per-client rate limit of the public complaint form, shared by every worker process.

The client is its address as the app sees it: the TCP peer, or — behind a reverse proxy that
uvicorn trusts (``--forwarded-allow-ips``, docs/deploy.md) — the address the proxy forwards.
An IPv6 address counts by its /64 network (one household or phone gets a /64 and may change the
rest at will). The address is never stored: only a keyed hash, HMAC-SHA256 with the secret key
(:func:`client_key`), in ``complaints.client_sha256``; without the key the hash cannot be turned
back into an address by trying all 2^32 IPv4 ones.

A client may file ``RESTORA_PUBLIC_RATE`` complaints per sliding hour. The count is taken from
the store (the complaints it filed in the last hour), so every worker and app server agrees;
it is checked before a complaint's photos are processed and again in the write transaction
(writers queue, so two requests at once cannot both take the last place). Over the limit: 429
with ``Retry-After`` [s] saying when the oldest complaint of the hour leaves the window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress

import sqlalchemy as sa

from restora.service.problems import Problem
from restora.store.disclosure import recent_filings, retry_after

WINDOW = dt.timedelta(hours=1)


def client_key(secret: str, address: str | None) -> str:
    """The keyed hash of a client's address (IPv6 by its /64 network).

    Examples
    --------
    >>> a = client_key("k", "2001:db8:1:2:aaaa::1")
    >>> a == client_key("k", "2001:db8:1:2:bbbb::9"), a == client_key("k", "2001:db8:1:3::1")
    (True, False)
    >>> client_key("k", "10.0.0.1") == client_key("other key", "10.0.0.1")
    False
    """
    text = address or "unknown"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
            text = str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        elif isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            text = str(ip.ipv4_mapped)
    key = hashlib.sha256(b"restora client address\x00" + secret.encode()).digest()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def too_many(retry: int) -> Problem:
    """The 429 problem with its ``Retry-After``."""
    return Problem(
        429,
        f"too many complaints from this address in the last hour; try again in {retry} s",
        kind="rate-limited",
        headers={"Retry-After": str(retry)},
    )


def check(engine: sa.Engine, key: str, limit: int, now: dt.datetime | None = None) -> None:
    """Refuse (429) a client that filed ``limit`` complaints in the last hour."""
    when = now or dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        conn.execution_options(restora_read_only=True)
        filed = recent_filings(conn, key, when - WINDOW)
    wait = retry_after(filed, limit, WINDOW, when)
    if wait:
        raise too_many(wait)
