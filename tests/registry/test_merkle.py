"""RFC 9162 Merkle trees and proofs (restora.registry.merkle).

Every inclusion and consistency vector of transparency-dev/merkle (tests/data, Apache-2.0) is
its own test case: happy paths must verify, every adversarial case must fail. Generated proofs
are checked against the verifier on every leaf and size pair of random trees, the tree hash
against the plain recursive definition of MTH (RFC 9162 §2.1.1), and tampered proofs against
the verifier.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from restora.registry.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

TESTDATA = Path(__file__).resolve().parents[1] / "data" / "transparency-dev-merkle" / "testdata"
INCLUSION = sorted((TESTDATA / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((TESTDATA / "consistency").rglob("*.json"))


def _id(path: Path) -> str:
    return str(path.relative_to(TESTDATA))


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text, validate=True) if text else b""


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_the_vectors_are_all_there():
    assert (len(INCLUSION), len(CONSISTENCY)) == (98, 98)
    happy = [p for p in INCLUSION + CONSISTENCY if not _load(p)["wantErr"]]
    assert len(happy) == 12  # valid proofs are tested too, not only invalid ones


@pytest.mark.parametrize("path", INCLUSION, ids=_id)
def test_inclusion_vector(path: Path):
    v = _load(path)
    ok = verify_inclusion(
        v["leafIdx"],
        v["treeSize"],
        _b64(v["leafHash"]),
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root"]),
    )
    assert ok is (not v["wantErr"]), v["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=_id)
def test_consistency_vector(path: Path):
    v = _load(path)
    ok = verify_consistency(
        v["size1"],
        v["size2"],
        [_b64(p) for p in v["proof"] or []],
        _b64(v["root1"]),
        _b64(v["root2"]),
    )
    assert ok is (not v["wantErr"]), v["desc"]


# -- hashing --------------------------------------------------------------------------------------


def _mth(entries: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 writes it, recursively."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(entries[:k]) + _mth(entries[k:])).digest()


def _entries(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed * 1000 + n)
    return [rng.randbytes(rng.randrange(0, 40)) for _ in range(n)]


def test_hashes_are_domain_separated():
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("n", range(0, 70))
def test_tree_hash_equals_the_recursive_definition(n: int):
    entries = _entries(n)
    assert tree_hash(entries) == _mth(entries)
    assert root_from_leaf_hashes([leaf_hash(e) for e in entries]) == _mth(entries)


def test_known_root_of_the_rfc_test_tree():
    """The 8-leaf tree of the CT test suites (RFC 6962 reference data, also in the vectors)."""
    leaves = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
              "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
    assert tree_hash(leaves).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


# -- proofs on random trees ----------------------------------------------------------------------


def _flip(proof: list[bytes], i: int, bit: int) -> list[bytes]:
    h = bytearray(proof[i])
    h[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:i], bytes(h), *proof[i + 1 :]]


@pytest.mark.parametrize("n", range(1, 41))
def test_inclusion_proofs_of_every_leaf(n: int):
    entries = _entries(n, seed=1)
    hashes = [leaf_hash(e) for e in entries]
    root = _mth(entries)
    rng = random.Random(n)
    for i in range(n):
        proof = inclusion_proof(i, hashes)
        assert verify_inclusion(i, n, hashes[i], proof, root)
        assert not verify_inclusion(i, n, hashes[i], [*proof, root], root)  # trailing
        assert not verify_inclusion(i, n, hashes[i], [root, *proof], root)  # preceding
        assert not verify_inclusion(i, n, hashes[i], proof, hashlib.sha256(root).digest())
        # (a wrong tree size is left to the vectors: sizes whose paths have the same shape,
        # as 3 and 4 for leaf 0, accept the same proof; the root binds the size)
        assert not verify_inclusion(n, n, hashes[i], proof, root)  # index = size
        assert not verify_inclusion(i + n, n, hashes[i], proof, root)
        if proof:
            assert not verify_inclusion(i, n, hashes[i], proof[:-1], root)  # truncated
            j, bit = rng.randrange(len(proof)), rng.randrange(256)
            assert not verify_inclusion(i, n, hashes[i], _flip(proof, j, bit), root)
            assert not verify_inclusion(i, n, hashes[i], [*proof[:-1], proof[-1][:31]], root)
        if n > 1:
            other = (i + 1) % n
            assert not verify_inclusion(other, n, hashes[i], proof, root)
            assert not verify_inclusion(i, n, hashes[other], proof, root)


@pytest.mark.parametrize("n", range(1, 21))
def test_consistency_proofs_of_every_size_pair(n: int):
    entries = _entries(n, seed=2)
    hashes = [leaf_hash(e) for e in entries]
    root2 = _mth(entries)
    rng = random.Random(n)
    for m in range(1, n + 1):
        root1 = _mth(entries[:m])
        proof = consistency_proof(m, hashes)
        assert verify_consistency(m, n, proof, root1, root2), (m, n)
        assert (proof == []) is (m == n)
        assert not verify_consistency(m, n, [*proof, root1], root1, root2)
        assert not verify_consistency(m, n, [root2, *proof], root1, root2)
        assert not verify_consistency(0, n, proof, root1, root2)
        assert not verify_consistency(n, m, proof, root2, root1) or m == n
        if m < n:
            assert not verify_consistency(m, n, proof, root2, root1)  # swapped roots
            assert not verify_consistency(m, n, [], root1, root2)
            assert not verify_consistency(m, n, proof[:-1], root1, root2)
            j, bit = rng.randrange(len(proof)), rng.randrange(256)
            assert not verify_consistency(m, n, _flip(proof, j, bit), root1, root2)


def test_generation_refuses_sizes_outside_the_tree():
    hashes = [leaf_hash(b"a"), leaf_hash(b"b")]
    for bad in (-1, 2, 5):
        with pytest.raises(ValueError):
            inclusion_proof(bad, hashes)
    for bad in (-1, 0, 3):
        with pytest.raises(ValueError):
            consistency_proof(bad, hashes)


@pytest.mark.parametrize(
    "args",
    [
        (-1, 1, b"\0" * 32, [], b"\0" * 32),
        (True, 2, b"\0" * 32, [], b"\0" * 32),
        (0, 1.0, b"\0" * 32, [], b"\0" * 32),
        (0, 1, "00" * 32, [], b"\0" * 32),
        (0, 2, b"\0" * 32, "abc", b"\0" * 32),
        (0, 2, b"\0" * 32, [None], b"\0" * 32),
        (0, 2, b"\0" * 32, b"\0" * 32, b"\0" * 32),
        (0, 1, b"\0" * 32, [], None),
        (2**64, 2**64 + 1, b"\0" * 32, [b"\0" * 32] * 3, b"\0" * 32),
    ],
)
def test_verify_inclusion_returns_false_on_wrong_types(args: Any):
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize(
    "args",
    [
        (1, -2, [b"\0" * 32], b"\0" * 32, b"\0" * 32),
        (None, 2, [b"\0" * 32], b"\0" * 32, b"\0" * 32),
        (1, 2, [b"\0" * 31], b"\0" * 32, b"\0" * 32),
        (1, 2, "x" * 32, b"\0" * 32, b"\0" * 32),
        (1, 2, [b"\0" * 32], b"\0" * 33, b"\0" * 32),
        (1, 2, [b"\0" * 32], "r", b"\0" * 32),
        (1, 1, [], b"a", "a"),
    ],
)
def test_verify_consistency_returns_false_on_wrong_types(args: Any):
    assert verify_consistency(*args) is False
