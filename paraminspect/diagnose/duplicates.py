"""Arrays stored more than once: identical shape, dtype and bytes.

Only arrays that share a shape and dtype (and a fingerprint, when the caller has one: equal
bytes give equal summary numbers, so triage passes those and hashes almost nothing) with
another are hashed; the hash reads the bytes in chunks of :data:`HASH_CHUNK` from a view (no
copy for contiguous arrays), and arrays whose digests match are compared byte for byte before
they are called equal.
"""

from __future__ import annotations

import hashlib
from typing import Dict, Hashable, List, Mapping, Optional, Tuple

import numpy as np

HASH_CHUNK = 64 << 20  # bytes


def _bytes_of(array: np.ndarray) -> np.ndarray:
    """The array's bytes as a flat uint8 view (a copy only when it is not contiguous)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _digest(data: np.ndarray) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for start in range(0, data.size, HASH_CHUNK):
        h.update(data[start : start + HASH_CHUNK].data)
    return h.digest()


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    return all(
        np.array_equal(a[start : start + HASH_CHUNK], b[start : start + HASH_CHUNK])
        for start in range(0, a.size, HASH_CHUNK)
    )


def duplicate_groups(
    arrays: Mapping[str, np.ndarray], fingerprints: Optional[Mapping[str, Hashable]] = None
) -> Tuple[Tuple[str, ...], ...]:
    """Groups of two or more keys whose arrays have the same shape, dtype and bytes.

    Args:
        arrays: key -> array.
        fingerprints: optional key -> a value that is equal for arrays with equal bytes
            (summary numbers computed the same way); arrays with different ones are never
            hashed or compared.

    Returns:
        The groups: keys keep the mapping's order within a group; groups are ordered by their
        first key. Empty arrays are never grouped (nothing is stored for them).
    """
    by_layout: Dict[Tuple[Tuple[int, ...], str, Hashable], List[str]] = {}
    for key, a in arrays.items():
        if a.size:
            mark = fingerprints[key] if fingerprints is not None else None
            by_layout.setdefault((tuple(a.shape), a.dtype.str, mark), []).append(key)
    groups: List[List[str]] = []
    for keys in by_layout.values():
        if len(keys) < 2:
            continue
        by_digest: Dict[bytes, List[List[str]]] = {}
        for key in keys:
            data = _bytes_of(arrays[key])
            buckets = by_digest.setdefault(_digest(data), [])
            for bucket in buckets:  # a digest collision is not a proof
                if _same_bytes(_bytes_of(arrays[bucket[0]]), data):
                    bucket.append(key)
                    break
            else:
                buckets.append([key])
        groups.extend(b for buckets in by_digest.values() for b in buckets if len(b) > 1)
    order = {key: i for i, key in enumerate(arrays)}
    return tuple(tuple(g) for g in sorted(groups, key=lambda g: order[g[0]]))
