"""RFC 6962 (Certificate Transparency) Merkle tree head: leaf = SHA-256(0x00 || data), node =
SHA-256(0x01 || left || right), a tree of n > 1 leaves split at the largest power of two below n;
the empty tree's head is SHA-256 of nothing."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["leaf_hash", "node_hash", "root", "root_of_hashes"]


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The tree head over `leaves` (their data, not yet hashed)."""
    return root_of_hashes([leaf_hash(data) for data in leaves])


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """The tree head over leaves already hashed with `leaf_hash`."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    split = 1 << ((n - 1).bit_length() - 1)  # the largest power of two below n
    return node_hash(root_of_hashes(hashes[:split]), root_of_hashes(hashes[split:]))
