"""Checking the registry's proofs offline, with the public key and a saved tree head.

The registry serves two kinds of proof documents (JSON; hashes in base64), produced by
:func:`restora.store.registry.inclusion` and :func:`restora.store.registry.consistency` and by
``restora registry proof`` / the API:

- **inclusion**: ``event`` (the event's canonical bytes as text), ``leaf_index``,
  ``tree_size``, ``proof`` — the event is leaf ``leaf_index`` of the tree of ``tree_size``
  events. Checked against a signed tree head of that size: the head's signature, then
  RFC 9162 §2.1.3.2 with the leaf hash recomputed from the event's bytes (never taken from the
  document).
- **consistency**: ``size1``, ``size2``, ``proof`` and ``head`` (the signed head of ``size2``)
  — the log of ``size1`` events is a prefix of the log of ``size2``. Checked against the head
  of ``size1`` the reader saved earlier: both heads' signatures, then RFC 9162 §2.1.4.2. A
  registry that rewrote or dropped any of the first ``size1`` events cannot produce one.

:func:`check` returns ``(True, what)`` or ``(False, why)``; a malformed document raises
:class:`restora.errors.InputError` naming the field.
"""

from __future__ import annotations

from typing import Any

from restora.errors import InputError
from restora.registry import merkle
from restora.registry.ledger import LedgerError, decode
from restora.registry.signing import TreeHead, b64, verify_head


def _int(doc: dict[str, Any], name: str, source: str) -> int:
    value = doc.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError("must be an integer ≥ 0", file=source, field=name)
    return value


def _proof(doc: dict[str, Any], source: str) -> list[bytes]:
    items = doc.get("proof")
    if items is None:
        return []
    if not isinstance(items, list):
        raise InputError("must be a list of base64 hashes", file=source, field="proof")
    return [b64(h, source=source, field=f"proof[{i}]") for i, h in enumerate(items)]


def check(
    doc: Any, head: TreeHead, public_key: bytes, *, source: str = "proof"
) -> tuple[bool, str]:
    """Check a proof document against a saved signed tree head and the registry's public key.

    Parameters
    ----------
    doc : dict
        An inclusion or consistency proof document (told apart by ``kind``, else by its keys).
    head : TreeHead
        Inclusion: the signed head of ``tree_size``. Consistency: the reader's saved earlier
        head (of ``size1``); the later head comes in the document.
    public_key : bytes
        The registry's Ed25519 public key (raw 32 bytes), obtained independently of the log.

    Returns
    -------
    (bool, str)
        Whether the proof holds, and what was checked or what failed.
    """
    if not isinstance(doc, dict):
        raise InputError("a proof must be a JSON object", file=source)
    kind = doc.get("kind") or ("inclusion" if "leaf_index" in doc else "consistency")
    if kind not in ("inclusion", "consistency"):
        raise InputError(f"unknown proof kind {kind!r}", file=source, field="kind")
    if not verify_head(head, public_key):
        return False, f"the saved tree head of {head.size} events is not signed by this key"
    proof = _proof(doc, source)
    if kind == "inclusion":
        event = doc.get("event")
        if not isinstance(event, str):
            raise InputError("must be the event's bytes as text", file=source, field="event")
        index, size = _int(doc, "leaf_index", source), _int(doc, "tree_size", source)
        if size != head.size:
            return False, f"the proof is for a tree of {size} events, the head of {head.size}"
        try:
            decode(event)
        except LedgerError as exc:
            return False, f"the event is not in canonical form: {exc}"
        leaf = merkle.leaf_hash(event.encode("utf-8"))
        if not merkle.verify_inclusion(index, size, leaf, proof, head.root):
            return False, f"the event is not leaf {index} of the signed tree of {size} events"
        return True, f"the event is leaf {index} of the signed tree of {size} events"
    size1, size2 = _int(doc, "size1", source), _int(doc, "size2", source)
    later = TreeHead.from_json(doc.get("head"), source=f"{source}: head")
    if size1 != head.size:
        return False, f"the proof starts at {size1} events, the saved head has {head.size}"
    if later.size != size2:
        return False, f"the proof ends at {size2} events, its head has {later.size}"
    if not verify_head(later, public_key):
        return False, f"the tree head of {size2} events is not signed by this key"
    if not merkle.verify_consistency(size1, size2, proof, head.root, later.root):
        return False, (
            f"the log of {size2} events does not extend the saved log of {size1}: "
            "history was rewritten"
        )
    return True, f"the log of {size2} events extends the saved log of {size1} events"
