"""Signed tree heads: Ed25519 signatures over the log's size and root (RFC 8032, RFC 9162 §4.10).

A signed tree head says "the log had ``size`` events and this Merkle root at this time",
signed with the registry's Ed25519 key. The signed text is a checkpoint in the format of the
C2SP *tlog-checkpoint* specification (used by Go's checksum database, Sigstore and
transparency-dev), with the time as an extension line::

    <origin>
    <size>
    <base64 root>
    <time, ISO 8601 UTC>

Anyone with the public key checks a saved head offline (:func:`verify_head`), and with a later
head and a consistency proof that the log only grew between them.

The private key is a PEM file kept outside the database (``RESTORA_REGISTRY_KEY``); the
database holds only public keys, so whoever can write the database still cannot sign a
rewritten history.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from restora.errors import InputError

ENV_KEY = "RESTORA_REGISTRY_KEY"
"""Environment variable: the path of the registry's Ed25519 private key (PEM, PKCS#8)."""
ORIGIN = "restora.registry"
"""The log's origin line (a deployment may set its own, e.g. the registry's host name)."""


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head."""

    origin: str
    size: int
    root: bytes
    timestamp: str
    key_id: str
    signature: bytes

    def body(self) -> bytes:
        """The signed text (the checkpoint)."""
        return checkpoint(self.origin, self.size, self.root, self.timestamp)

    def as_json(self) -> dict[str, Any]:
        """The head as saved by auditors and served by the API (hashes in base64)."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "tree head") -> TreeHead:
        """A head from :meth:`as_json`'s form; :class:`InputError` naming the field if bad."""
        if not isinstance(data, dict):
            raise InputError("a tree head must be a JSON object", file=source)
        out: dict[str, Any] = {}
        for name in ("origin", "timestamp", "key_id"):
            if not isinstance(data.get(name), str):
                raise InputError(f"{name} must be a string", file=source, field=name)
            out[name] = data[name]
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InputError("size must be an integer ≥ 0", file=source, field="size")
        for name in ("root", "signature"):
            out[name] = b64(data.get(name), source=source, field=name)
        return cls(size=size, **out)


def b64(value: Any, *, source: str, field: str) -> bytes:
    """Bytes of a base64 string, or :class:`InputError` naming the file and field."""
    if not isinstance(value, str):
        raise InputError("must be a base64 string", file=source, field=field)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{value!r} is not base64", file=source, field=field) from None


def checkpoint(origin: str, size: int, root: bytes, timestamp: str) -> bytes:
    """The checkpoint text a tree head signs.

    >>> checkpoint("restora.registry", 2, bytes(32), "2026-12-07T00:00:00.000000Z").decode()
    'restora.registry\\n2\\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\\n2026-12-07T00:00:00.000000Z\\n'
    """
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{timestamp}\n".encode()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: bytes) -> str:
    """A key's id: the first 8 bytes of SHA-256 of its raw public key, in hex."""
    return hashlib.sha256(public).hexdigest()[:16]


def generate_key(path: Path) -> bytes:
    """Write a new private key to ``path`` (PEM, mode 0600); returns the raw public key.

    Refuses to overwrite an existing file (a lost key cannot sign the log's next heads).
    """
    if path.exists():
        raise InputError("the file exists; a registry key is never overwritten", file=str(path))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return public_bytes(key.public_key())


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PEM file; :class:`InputError` if it is not one."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise InputError(f"cannot read the key: {exc.strerror}", file=str(path)) from None
    except (ValueError, TypeError):
        raise InputError("not an unencrypted PEM private key", file=str(path)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError("not an Ed25519 key", file=str(path))
    return key


def load_public_key(text: str, *, source: str = "public key") -> bytes:
    """Raw public key bytes from base64 of the 32 raw bytes, or a PEM ``PUBLIC KEY``."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except ValueError:
            raise InputError("not a PEM public key", file=source) from None
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("not an Ed25519 public key", file=source)
        return public_bytes(key)
    raw = b64(text, source=source, field="public key")
    if len(raw) != 32:
        raise InputError("an Ed25519 public key has 32 bytes", file=source)
    return raw


def sign_head(
    key: Ed25519PrivateKey, size: int, root: bytes, at: dt.datetime, origin: str = ORIGIN
) -> TreeHead:
    """Sign the head of a log of ``size`` events with Merkle root ``root`` at time ``at``."""
    ts = at.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    body = checkpoint(origin, size, root, ts)
    return TreeHead(
        origin,
        size,
        root,
        ts,
        key_id(public_bytes(key.public_key())),
        key.sign(body),
    )


def verify_head(head: TreeHead, public: bytes) -> bool:
    """True when ``head`` is signed by the key ``public`` (raw 32 bytes); never raises."""
    try:
        if key_id(public) != head.key_id:
            return False
        Ed25519PublicKey.from_public_bytes(public).verify(head.signature, head.body())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def configured_key() -> Ed25519PrivateKey | None:
    """The registry's signing key from ``RESTORA_REGISTRY_KEY`` (a PEM file), or None if unset."""
    path = os.environ.get(ENV_KEY, "").strip()
    return load_private_key(path) if path else None
