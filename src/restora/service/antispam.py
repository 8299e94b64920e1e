"""Spam resistance of the public complaint form without an external captcha service.

Every complaint carries a *challenge*: a token the server signed (HMAC-SHA256 with the secret
key) naming its kind, when it was issued and, for a proof of work, its difficulty. Two kinds:

``form``
    Put into the web page's complaint form when the page is served
    (:func:`issue_form_challenge`). The form is refused if it comes back sooner than
    :data:`MIN_FILL_SECONDS` after the page was served (people take longer to type a complaint;
    a bot posts at once) or if the honeypot field :data:`HONEYPOT` — hidden by the page's
    stylesheet, labelled "leave empty", out of the tab order — is filled in (bots fill every
    field).
``pow``
    For API clients (``GET /api/v1/public/complaints/challenge``): the client must find a
    ``nonce`` such that ``SHA-256(challenge + ":" + nonce)`` starts with ``bits`` zero bits
    (:func:`solve`); about 2^bits hashes, a fraction of a second for one complaint, a real cost
    for thousands.

Either kind expires after :data:`CHALLENGE_TTL` and serves one complaint only (the store keeps
its SHA-256 in ``complaints.token_sha256``, unique). Together with the per-address rate limit
(:mod:`restora.service.ratelimit`) this stops form-filling bots and makes bulk filing slow,
without sending anyone's data to a third party. It does not stop a person or a browser-driving
bot that waits and types; the rate limit bounds what those can do.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import time
from dataclasses import dataclass

from restora.service.problems import Problem

KINDS = ("form", "pow")
MIN_FILL_SECONDS = 3
CHALLENGE_TTL = 2 * 3600
"""How long a challenge is good for [s] (long enough to write a complaint and take photos)."""
DEFAULT_POW_BITS = 18
HONEYPOT = "website"
"""The honeypot field's name: a field a person never sees nor fills in."""
_MAX_NONCE_CHARS = 32


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"restora complaint challenge\x00" + secret.encode()).digest()


def _mac(secret: str, payload: str) -> str:
    return hmac.new(_key(secret), payload.encode(), hashlib.sha256).hexdigest()[:32]


def issue(secret: str, kind: str, *, bits: int = 0, now: float | None = None) -> str:
    """A signed challenge of ``kind`` (``form`` or ``pow`` with ``bits`` of work)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    issued = int(time.time() if now is None else now)
    payload = f"{kind}.{bits if kind == 'pow' else 0}.{issued}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_mac(secret, payload)}"


def issue_form_challenge(secret: str, *, now: float | None = None) -> str:
    """The challenge a server-rendered complaint form carries in its hidden ``challenge``
    field (web pages call this when they render the form)."""
    return issue(secret, "form", now=now)


def leading_zero_bits(digest: bytes) -> int:
    """Zero bits at the start of ``digest``.

    Examples
    --------
    >>> leading_zero_bits(bytes([0, 0, 0x1F])), leading_zero_bits(b"\\x80")
    (19, 0)
    """
    n = 0
    for byte in digest:
        if byte == 0:
            n += 8
            continue
        return n + 8 - byte.bit_length()
    return n


def work(challenge: str, nonce: str) -> int:
    """Zero bits at the start of ``SHA-256(challenge + ":" + nonce)``."""
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest())


def solve(challenge: str) -> str:
    """A nonce for a ``pow`` challenge (what an API client does; about 2^bits hashes).

    Examples
    --------
    >>> c = issue("k", "pow", bits=8)
    >>> work(c, solve(c)) >= 8
    True
    """
    bits = int(challenge.split(".")[1])
    for n in itertools.count():
        if work(challenge, str(n)) >= bits:
            return str(n)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Passed:
    """A challenge that passed: its kind and the SHA-256 the store keeps (one use each)."""

    kind: str
    sha256: str


def _refuse(field: str, message: str) -> Problem:
    return Problem(422, message, kind="spam-check", errors=[{"field": field, "message": message}])


def check(
    secret: str,
    challenge: str | None,
    *,
    nonce: str | None,
    honeypot: str | None,
    now: float | None = None,
    min_fill_seconds: float = MIN_FILL_SECONDS,
    ttl: float = CHALLENGE_TTL,
) -> Passed:
    """Check a complaint's challenge, nonce and honeypot; :class:`Problem` 422 naming the field."""
    if honeypot:
        raise _refuse(HONEYPOT, "leave this field empty")
    if not challenge:
        raise _refuse("challenge", "required (from the form, or GET .../complaints/challenge)")
    parts = challenge.split(".")
    if len(parts) != 5 or not hmac.compare_digest(_mac(secret, ".".join(parts[:4])), parts[4]):
        raise _refuse("challenge", "not a challenge this server issued")
    kind, bits_text, issued_text = parts[0], parts[1], parts[2]
    if kind not in KINDS or not bits_text.isdigit() or not issued_text.isdigit():
        raise _refuse("challenge", "not a challenge this server issued")
    age = (time.time() if now is None else now) - int(issued_text)
    if age > ttl:
        raise _refuse("challenge", "expired: reload the form or ask for a new challenge")
    if kind == "form" and age < min_fill_seconds:
        raise _refuse("challenge", "sent too soon after the form was shown; please try again")
    if kind == "pow":
        if not nonce or len(nonce) > _MAX_NONCE_CHARS:
            raise _refuse("nonce", "required: the proof of work for the challenge")
        if work(challenge, nonce) < int(bits_text):
            raise _refuse("nonce", f"SHA-256(challenge:nonce) needs {bits_text} leading zero bits")
    return Passed(kind, hashlib.sha256(challenge.encode()).hexdigest())
