"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs, as pure functions.

The hash is SHA-256 throughout (RFC 9162 §2.1.1). Leaves are hashed with a 0x00 prefix and
interior nodes with a 0x01 prefix, so no leaf can pose as a node (second-preimage resistance):

>>> leaf_hash(b"").hex()[:16]
'6e340b9cffb37a98'
>>> tree_hash([]) == EMPTY_ROOT
True
>>> leaves = [leaf_hash(bytes([i])) for i in range(5)]
>>> root = root_from_leaf_hashes(leaves)
>>> verify_inclusion(3, 5, leaves[3], inclusion_proof(3, leaves), root)
True
>>> old = root_from_leaf_hashes(leaves[:2])
>>> verify_consistency(2, 5, consistency_proof(2, leaves), old, root)
True

Verification never raises on a malformed or adversarial proof (wrong length, extra or missing
hashes, flipped bits, wrong sizes, an index outside the tree, values of the wrong type): it
returns ``False``. Generation raises :class:`ValueError` on arguments outside the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
"""Bytes of a SHA-256 hash; every leaf hash, node hash, root and proof element has this size."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = SHA-256(0x00 ‖ d(0)): the hash of one leaf entry (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right): the hash of an interior node (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1): k of RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose leaves have these leaf hashes (RFC 9162 §2.1.1).

    MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest power of two < n.
    Computed bottom-up (a stack of complete subtrees), so any size takes O(n) time and
    O(log n) memory.
    """
    if not hashes:
        return EMPTY_ROOT
    stack: list[tuple[int, bytes]] = []  # (subtree size, hash); sizes strictly decreasing
    for h in hashes:
        size, node = 1, h
        while stack and stack[-1][0] == size:
            left = stack.pop()[1]
            size, node = size * 2, node_hash(left, node)
        stack.append((size, node))
    node = stack.pop()[1]
    while stack:  # the incomplete right edge: fold the smaller subtrees in from the right
        node = node_hash(stack.pop()[1], node)
    return node


def tree_hash(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of a list of data entries (RFC 9162 §2.1.1)."""
    return root_from_leaf_hashes([leaf_hash(e) for e in entries])


def _subtree(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    return root_from_leaf_hashes(hashes[start:end])


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose subtree hashes make PATH(index, D[size]).

    In proof order (from the leaf up), RFC 9162 §2.1.3.1. The proof is
    ``[MTH(D[a:b]) for a, b in inclusion_ranges(index, size)]``; a store that keeps the hashes
    of complete subtrees (:func:`perfect_nodes`) answers it without reading every leaf.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:  # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, ...
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m = start + k, m - k
    ranges.reverse()  # ... the recursion appends the top sibling last
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` whose subtree hashes make PROOF(size1, D[size2]).

    In proof order, RFC 9162 §2.1.4.1 (SUBPROOF(m, D[n], true)). Empty when ``size1`` equals
    ``size2``; ``size1`` must be at least 1 (a proof from the empty tree says nothing).
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"size {size1} is not between 1 and the tree size {size2}")
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, size2, size1, True
    while True:
        if m == end - start:  # SUBPROOF(m, D[m], b): {} when b is true, {MTH(D[m])} else
            if not complete:
                ranges.append((start, end))
            break
        k = _split(end - start)
        if m <= k:  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            ranges.append((start + k, end))
            end = start + k
        else:  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the inclusion proof of leaf ``index`` (RFC 9162 §2.1.3.1).

    ``hashes`` are the leaf hashes of the whole tree. The proof lists the sibling subtree
    hashes from the leaf up to the root.
    """
    return [_subtree(hashes, a, b) for a, b in inclusion_ranges(index, len(hashes))]


def consistency_proof(size1: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first ``size1`` leaves is a prefix of the tree of
    all ``hashes`` (RFC 9162 §2.1.4.1, SUBPROOF(m, D[n], true)).

    Empty when ``size1`` equals the tree size; ``size1`` must be at least 1 (a proof from the
    empty tree says nothing, and the verifier refuses it).
    """
    return [_subtree(hashes, a, b) for a, b in consistency_ranges(size1, len(hashes))]


def perfect_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The complete subtrees whose hashes give MTH(D[start:end]), left to right.

    Each is ``(level, index)``: the complete subtree of ``2**level`` leaves starting at leaf
    ``index * 2**level``. Valid for the ranges of the RFC 9162 recursion (``start`` a multiple
    of the largest power of two not above ``end - start``), which are all the ranges of
    :func:`inclusion_ranges` and :func:`consistency_ranges`. The hash is
    :func:`fold_perfect` of their hashes.

    >>> perfect_nodes(0, 8)
    [(3, 0)]
    >>> perfect_nodes(8, 13)
    [(2, 2), (0, 12)]
    """
    if not 0 <= start < end:
        raise ValueError(f"[{start}, {end}) is not a range of leaves")
    nodes: list[tuple[int, int]] = []
    while start < end:
        n = end - start
        k = n if n & (n - 1) == 0 else _split(n)
        level = k.bit_length() - 1
        if start % k:
            raise ValueError(f"[{start}, {end}) is not a range of the RFC 9162 recursion")
        nodes.append((level, start >> level))
        start += k
    return nodes


def fold_perfect(hashes: Sequence[bytes]) -> bytes:
    """MTH of a range from the hashes of its :func:`perfect_nodes`, folded from the right."""
    node = hashes[-1]
    for h in reversed(hashes[:-1]):
        node = node_hash(h, node)
    return node


def _hashes(values: object) -> list[bytes] | None:
    """``values`` as a list of SHA-256-sized byte strings, or ``None`` if it is not one."""
    if not isinstance(values, Sequence) or isinstance(values, (bytes, str)):
        return None
    out = []
    for v in values:
        if not isinstance(v, bytes) or len(v) != HASH_SIZE:
            return None
        out.append(v)
    return out


def _size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` of the tree of ``size`` leaves
    whose root is ``root`` (RFC 9162 §2.1.3.2).

    False for anything malformed: ``index`` ≥ ``size``, a hash that is not 32 bytes, a proof
    too long or too short, a proof that computes another root.

    >>> verify_inclusion(0, 1, leaf_hash(b"a"), [], tree_hash([b"a"]))
    True
    >>> verify_inclusion(1, 1, leaf_hash(b"a"), [], tree_hash([b"a"]))
    False
    """
    path = _hashes(proof)
    if path is None or not (_size(index) and _size(size)) or index >= size:
        return False
    if not (isinstance(leaf, bytes) and isinstance(root, bytes)):
        return False
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    fn, sn, r = index, size - 1, leaf  # steps 2-3
    for p in path:  # step 4
        if sn == 0:  # 4a: the proof is longer than the tree is deep
            return False
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:  # 4c
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root  # step 5


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """Whether ``proof`` shows the tree of ``size1`` leaves with root ``root1`` to be a prefix
    of the tree of ``size2`` leaves with root ``root2`` (RFC 9162 §2.1.4.2).

    As transparency-dev/merkle and its test vectors: equal sizes need an empty proof and equal
    roots; a proof from size 0 is refused (it would prove nothing); ``size1`` > ``size2`` fails.
    Anything malformed (hashes not 32 bytes, a proof too long or too short) returns False.

    >>> a, b = tree_hash([b"a"]), tree_hash([b"a", b"b"])
    >>> verify_consistency(1, 2, [leaf_hash(b"b")], a, b)
    True
    >>> verify_consistency(1, 2, [leaf_hash(b"b")], b, a)
    False
    """
    path = _hashes(proof)
    if path is None or not (_size(size1) and _size(size2)):
        return False
    if not (isinstance(root1, bytes) and isinstance(root2, bytes)):
        return False
    if size1 == 0 or size1 > size2:
        return False
    if size1 == size2:  # nothing to prove: the roots must be the same value
        return not path and root1 == root2
    if len(root1) != HASH_SIZE or len(root2) != HASH_SIZE:
        return False
    if not path:  # step 1
        return False
    if size1 & (size1 - 1) == 0:  # step 2: size1 a power of two, its root is the first node
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            return False
        if fn & 1 or fn == sn:  # 6b
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:  # 6c
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == root1 and sr == root2 and sn == 0  # step 7
