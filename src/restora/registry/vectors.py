"""Proof files in the format of the transparency-dev/merkle test vectors, read and checked.

An inclusion file has ``leafIdx``, ``treeSize``, ``root``, ``leafHash`` and ``proof``; a
consistency file has ``size1``, ``size2``, ``root1``, ``root2`` and ``proof``. Hashes are
base64 strings (an empty string is an empty value), ``proof`` a list of them (``null`` is an
empty proof); ``desc`` and ``wantErr`` may be present and are not used to decide.

>>> import base64
>>> from restora.registry.merkle import tree_hash
>>> root = base64.b64encode(tree_hash([b"a"])).decode()
>>> check_vector({"size1": 1, "size2": 1, "root1": root, "root2": root, "proof": []}, "v.json")
ProofCheck(kind='consistency', verifies=True, desc=None)
>>> check_vector({"size1": 1}, "v.json")
Traceback (most recent call last):
...
restora.errors.InputError: v.json, field "size2": missing
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from restora.errors import InputError
from restora.registry.merkle import verify_consistency, verify_inclusion

INCLUSION_KEYS = ("leafIdx", "treeSize", "root", "leafHash", "proof")
CONSISTENCY_KEYS = ("size1", "size2", "root1", "root2", "proof")


@dataclass(frozen=True)
class ProofCheck:
    """The result of checking one proof file."""

    kind: str  # "inclusion" or "consistency"
    verifies: bool
    desc: str | None


def _bad(name: str, field: str, message: str) -> InputError:
    # one line naming file and field (Problem's "column" wording is for tables)
    return InputError(f'{name}, field "{field}": {message}')


def _uint(data: dict[str, Any], field: str, name: str) -> int:
    if field not in data:
        raise _bad(name, field, "missing")
    value = data[field]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(name, field, f"not a non-negative integer ({value!r})")
    return value


def _b64(value: Any, field: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(name, field, f"not a base64 string ({value!r})")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(name, field, f"not valid base64 ({exc})") from exc


def _hash(data: dict[str, Any], field: str, name: str) -> bytes:
    if field not in data:
        raise _bad(name, field, "missing")
    return _b64(data[field], field, name)


def _proof(data: dict[str, Any], name: str) -> list[bytes]:
    if "proof" not in data:
        raise _bad(name, "proof", "missing")
    value = data["proof"]
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(name, "proof", f"not a list of base64 strings ({value!r})")
    return [_b64(v, f"proof[{i}]", name) for i, v in enumerate(value)]


def check_vector(data: Any, name: str) -> ProofCheck:
    """Verify the proof in one parsed vector file; ``name`` names the file in errors.

    Raises
    ------
    InputError
        The file is not a JSON object of either kind, or a field is missing or of the wrong
        type (exit 2): one line naming the file and the field.
    """
    if not isinstance(data, dict):
        raise InputError(f"{name}: not a JSON object with an inclusion or consistency proof")
    inclusion = any(k in data for k in ("leafIdx", "treeSize", "leafHash", "root"))
    consistency = any(k in data for k in ("size1", "size2", "root1", "root2"))
    if inclusion == consistency:
        raise InputError(
            f"{name}: "
            + ("has keys of both" if inclusion else "has the keys of neither")
            + " an inclusion proof (leafIdx, treeSize, root, leafHash, proof) and a "
            "consistency proof (size1, size2, root1, root2, proof)"
        )
    desc = data.get("desc")
    desc = desc if isinstance(desc, str) else None
    if inclusion:
        index, size = _uint(data, "leafIdx", name), _uint(data, "treeSize", name)
        root, leaf = _hash(data, "root", name), _hash(data, "leafHash", name)
        ok = verify_inclusion(index, size, leaf, _proof(data, name), root)
        return ProofCheck("inclusion", ok, desc)
    size1, size2 = _uint(data, "size1", name), _uint(data, "size2", name)
    root1, root2 = _hash(data, "root1", name), _hash(data, "root2", name)
    ok = verify_consistency(size1, size2, _proof(data, name), root1, root2)
    return ProofCheck("consistency", ok, desc)
