"""RFC 6962 Merkle tree hashing: the log's root and an entry's inclusion proof.

Kept apart from the log so the arithmetic is tested on its own (against
sigstore's verifier, which implements RFC 9162's check of the same proof).
"""

from __future__ import annotations

import hashlib


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one entry: the 0x00 prefix keeps leaves apart from nodes."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of two children, with the 0x01 node prefix."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (RFC 6962, 2.1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes; the empty tree's root is SHA-256 of nothing."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]): sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"index {index} is outside a tree of {len(leaves)} leaves")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]
