"""Credentials: argon2 password hashes, random tokens and their digests, keyed hashes.

- Passwords are hashed with argon2id by argon2-cffi's :class:`~argon2.PasswordHasher` with its
  defaults (RFC 9106's recommended parameters as the library ships them); a hash made with
  older parameters is replaced at the next sign-in (:func:`verify_password` returns the new
  one). Their length limits come from NIST SP 800-63B (refdata ``security/passwords``).
- Session and API tokens are 32 random bytes (``secrets.token_urlsafe``); the store keeps only
  their SHA-256 (:func:`digest`), so a copy of the database lets nobody sign in.
- An unknown username is checked against a dummy hash, so that a sign-in takes as long whether
  or not the account exists (no user enumeration by timing).

References
----------
Biryukov, A., Dinu, D., Khovratovich, D., Josefsson, S. (2021). Argon2 Memory-Hard Function
for Password Hashing and Proof-of-Work Applications. RFC 9106.
https://doi.org/10.17487/RFC9106

NIST SP 800-63B, Digital Identity Guidelines: Authentication and Lifecycle Management.
https://doi.org/10.6028/NIST.SP.800-63B-4
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from restora import refdata
from restora.errors import InputError
from restora.service.permissions import ROLES
from restora.store import accounts
from restora.store.audit import Change

#: Prefix of API tokens, so that a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "rst_"


@cache
def hasher() -> PasswordHasher:
    """The one argon2 hasher (argon2-cffi's defaults)."""
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return hasher().hash(secrets.token_urlsafe(16))


def check_password_policy(password: str, *, on: dt.date | None = None) -> None:
    """Refuse a password outside the length limits in force (NIST SP 800-63B); InputError
    naming ``password``. No composition rules (the standard advises against them).

    Examples
    --------
    >>> check_password_policy("correct horse battery staple")
    >>> check_password_policy("short")
    Traceback (most recent call last):
    ...
    restora.errors.InputError: column "password": a password needs at least 15 characters (NIST SP 800-63B); this one has 5
    """
    limits = refdata.get("security/passwords", on=on).data
    n = len(password)
    if n < limits["min_length"]:
        raise InputError(
            f"a password needs at least {limits['min_length']} characters (NIST SP 800-63B); "
            f"this one has {n}",
            field="password",
        )
    if n > limits["max_length"]:
        raise InputError(
            f"a password may have at most {limits['max_length']} characters", field="password"
        )


def hash_password(password: str) -> str:
    """The argon2id hash of a password (after :func:`check_password_policy`)."""
    check_password_policy(password)
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """``(ok, new_hash)``: whether ``password`` matches ``stored_hash``, and, when it does and
    the hash was made with other parameters than the hasher's, a fresh hash to store.

    ``stored_hash`` None (an unknown user, an account without password) is checked against a
    dummy hash, so that the answer takes as long as for a real account, and is never ok.
    """
    ph = hasher()
    if stored_hash is None or len(password) > 4096:
        with contextlib.suppress(VerificationError):
            ph.verify(_dummy_hash(), password[:4096])
        return False, None
    try:
        ph.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, (ph.hash(password) if ph.check_needs_rehash(stored_hash) else None)


def new_token(prefix: str = "") -> tuple[str, str]:
    """``(token, sha256_hex)``: a fresh random token (256 bits) and the digest to store."""
    token = prefix + secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    """SHA-256 (hex) of a token: what the store keeps instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def keyed(secret_key: str, *parts: str) -> str:
    """HMAC-SHA256 (hex) of ``parts`` under the app's secret key (CSRF tokens, rate-limit keys:
    values that must not be guessable from what they are made of)."""
    msg = "\x1f".join(parts).encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Timing-safe equality of two secrets (False if either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_account(
    engine: Any,
    *,
    username: str,
    role: str,
    password: str | None,
    change: Change,
    display_name: str | None = None,
    org_id: int | None = None,
    region_code: str | None = None,
) -> accounts.Account:
    """Create an account (the one way, for ``restora users create`` and ``POST /api/v1/users``):
    the role checked against :data:`restora.service.permissions.ROLES` (``public`` is nobody's
    account), the password against the length limits and hashed; without a password the account
    cannot sign in until one is set (it may still get API tokens)."""
    if role not in ROLES or role == "public":
        signable = ", ".join(r for r in ROLES if r != "public")
        raise InputError(f"{role!r} is not a role of an account (one of {signable})", field="role")
    password_hash = hash_password(password) if password is not None else None
    return accounts.create_account(
        engine,
        username=username,
        display_name=display_name or username,
        password_hash=password_hash,
        role=role,
        org_id=org_id,
        region_code=region_code,
        change=change,
    )
