"""One streamed pass over every array of a weight file: everything triage needs, per chunk.

Each array is read once, chunk by chunk (:meth:`paraminspect.weights.WeightReader.chunks`),
and each chunk feeds, while it is in cache: the fused statistics
(:class:`paraminspect.stats.StatsPass`), the all-zero units of a weight (rows along axis 0),
the channels of a running variance or norm gamma below their threshold, and, for arrays
that may be duplicates (same shape, dtype and first bytes as another), a hash. So
``inspect`` holds a few chunks whatever the file's size.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol, Set, Tuple

import numpy as np

from paraminspect.diagnose.kinds import ArrayKind
from paraminspect.diagnose.measures import ArrayStats, from_moments
from paraminspect.stats import Moments, Scratch, StatsPass
from paraminspect.weights.base import CHUNK, Entry, WeightReader, same_bytes, value_dtype


class Progress(Protocol):
    """Where reading reports its progress (``render.progress.ByteProgress``)."""

    def start(self, total: int) -> None: ...

    def advance(self, n: int) -> None: ...


@dataclass(frozen=True)
class ChannelScan:
    """Channels of a 1-D array below a threshold: how many, of how many, and the first
    ``max_listed`` indices with their values."""

    count: int
    of: int
    indices: Tuple[int, ...]
    values: Tuple[float, ...]


@dataclass(frozen=True)
class Scanned:
    """What one pass over one array found (see the module docstring)."""

    stats: ArrayStats
    moments: Moments
    dead_units: Optional[ChannelScan] = None  # all-zero units along axis 0 (weights, 2-D+)
    channels: Optional[ChannelScan] = None  # low running variance / tiny gamma
    digest: Optional[bytes] = None  # duplicate candidates only


class _Below:
    """Collects the indices of a 1-D array's values that ``test`` marks, chunk by chunk."""

    def __init__(self, size: int, limit: int, test: Callable[[np.ndarray], np.ndarray]) -> None:
        self.of, self.limit, self.test = size, limit, test
        self.count = 0
        self.indices: List[int] = []
        self.values: List[float] = []

    def add(self, start: int, chunk: np.ndarray) -> None:
        hits = np.flatnonzero(self.test(chunk))
        self.count += int(hits.size)
        for i in hits[: max(0, self.limit - len(self.indices))]:
            self.indices.append(start + int(i))
            self.values.append(float(chunk[i]))

    def result(self) -> Optional[ChannelScan]:
        if not self.count:
            return None
        return ChannelScan(self.count, self.of, tuple(self.indices), tuple(self.values))


class _DeadUnits:
    """Units (slices along axis 0) with no non-zero value; NaN counts as non-zero."""

    def __init__(self, units: int, unit_size: int, limit: int) -> None:
        self.alive = np.zeros(units, dtype=bool)
        self.unit_size, self.limit = unit_size, limit

    def add(self, start: int, chunk: np.ndarray, zeros: int) -> None:
        n, size = chunk.size, self.unit_size
        first, last = start // size, (start + n - 1) // size
        if zeros == 0:  # every unit this chunk touches has a non-zero value in it
            self.alive[first : last + 1] = True
            return
        cuts = np.arange((first + 1) * size - start, n, size)
        bounds = np.concatenate(([0], cuts))  # unit `first` starts at 0 or before
        any_nonzero = np.logical_or.reduceat(chunk != 0, bounds)
        self.alive[first : first + any_nonzero.size] |= any_nonzero

    def result(self) -> Optional[ChannelScan]:
        dead = np.flatnonzero(~self.alive)
        if not dead.size:
            return None
        shown = tuple(int(i) for i in dead[: self.limit])
        return ChannelScan(int(dead.size), int(self.alive.size), shown, ())


def _channel_test(ak: ArrayKind, min_running_var: float, min_abs_gamma: float) -> Optional[Any]:
    if ak.is_running_var:
        return lambda c: c < min_running_var
    if ak.kind == "norm" and ak.part == "gamma" and not ak.ignored:
        return lambda c: np.abs(c) < min_abs_gamma
    return None


def scan_entry(
    reader: WeightReader,
    entry: Entry,
    ak: ArrayKind,
    thresholds: Any,
    hash_: bool = False,
    scratch: Optional[Scratch] = None,
    progress: Optional[Progress] = None,
) -> Scanned:
    """One pass over ``entry``'s values (see the module docstring).

    Args:
        thresholds: :class:`paraminspect.diagnose.findings.Thresholds`.
        hash_: also hash the bytes (a duplicate candidate).
        progress: called with the bytes of each chunk read.
    """
    acc = StatsPass(value_dtype(entry.dtype), scratch)
    shape = entry.shape
    dead = None
    if ak.kind == "weight" and len(shape) >= 2 and shape[0] and entry.size:
        dead = _DeadUnits(shape[0], entry.size // shape[0], thresholds.max_listed)
    below = None
    test = _channel_test(ak, thresholds.min_running_var, thresholds.min_abs_gamma)
    if test is not None and len(shape) == 1:
        below = _Below(entry.size, thresholds.max_listed, test)
    digest = hashlib.blake2b(digest_size=32) if hash_ else None
    per_value = max(1, entry.nbytes // max(1, entry.size))
    start = 0
    for chunk in reader.chunks(entry, CHUNK):
        part = acc.add(chunk)
        if dead is not None:
            dead.add(start, chunk, part[5])
        if below is not None:
            below.add(start, chunk)
        if digest is not None:
            digest.update(chunk.data)
        start += chunk.size
        if progress is not None:
            progress.advance(chunk.size * per_value)
    moments = acc.result()
    return Scanned(
        from_moments(entry.key, shape, entry.dtype, entry.nbytes, moments),
        moments,
        dead.result() if dead is not None else None,
        below.result() if below is not None else None,
        digest.digest() if digest is not None else None,
    )


def candidates(reader: WeightReader) -> Set[str]:
    """Keys that may be duplicates: another non-empty entry has the same shape, dtype and
    first 64 bytes (so only these are hashed)."""
    by_layout: Dict[Tuple[Tuple[int, ...], str], List[Entry]] = {}
    for e in reader.entries:
        if e.size:
            by_layout.setdefault((e.shape, e.dtype), []).append(e)
    out: Set[str] = set()
    for entries in by_layout.values():
        if len(entries) < 2:
            continue
        by_head: Dict[bytes, List[str]] = {}
        for e in entries:
            by_head.setdefault(reader.first_bytes(e), []).append(e.key)
        out |= {k for keys in by_head.values() if len(keys) > 1 for k in keys}
    return out


def same_values(reader: WeightReader, a: Entry, b: Entry) -> bool:
    """The two entries' values are equal byte for byte (read in chunks, side by side)."""
    if (a.shape, a.dtype) != (b.shape, b.dtype):
        return False
    return all(same_bytes(x, y) for x, y in zip(reader.chunks(a, CHUNK), reader.chunks(b, CHUNK)))


def duplicate_groups(
    reader: WeightReader, scans: Dict[str, Scanned]
) -> Tuple[Tuple[str, ...], ...]:
    """Groups of two or more keys with identical shape, dtype and values (file order).

    Keys group by their digest and summary numbers; the members of a group are then compared
    byte for byte with its first (a digest match is not a proof)."""
    by_mark: Dict[Tuple[object, ...], List[str]] = {}
    for key, sc in scans.items():
        if sc.digest is None:
            continue
        st = sc.stats
        mark = (st.shape, st.dtype, sc.digest, st.l2, st.abs_max, st.mean, st.std, st.nonfinite)
        by_mark.setdefault(mark, []).append(key)
    groups = []
    for keys in by_mark.values():
        while len(keys) > 1:
            first = reader.entry(keys[0])
            same = [k for k in keys[1:] if same_values(reader, first, reader.entry(k))]
            if same:
                groups.append((keys[0], *same))
            keys = [k for k in keys[1:] if k not in same]
    order = {e.key: i for i, e in enumerate(reader.entries)}
    return tuple(sorted(groups, key=lambda g: order[g[0]]))


def scan_reader(
    reader: WeightReader,
    kinds: Dict[str, ArrayKind],
    thresholds: Any,
    progress: Optional[Progress] = None,
) -> Tuple[Dict[str, Scanned], Tuple[Tuple[str, ...], ...]]:
    """Every entry's :class:`Scanned` (file order) and the duplicate groups."""
    maybe = candidates(reader)
    if progress is not None:
        progress.start(reader.total_bytes)
    scratch = Scratch(CHUNK)
    scans = {
        e.key: scan_entry(reader, e, kinds[e.key], thresholds, e.key in maybe, scratch, progress)
        for e in reader.entries
    }
    return scans, duplicate_groups(reader, scans)
