"""A checkpoint at a glance: arrays, values and bytes by kind and by dtype, and the largest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Tuple

from paraminspect.diagnose.kinds import KINDS, ArrayKind
from paraminspect.diagnose.measures import ArrayStats
from paraminspect.diagnose.ordering import sort_rows


@dataclass(frozen=True)
class CountRow:
    """How many arrays, values and bytes share one label (a kind or a dtype)."""

    label: str
    arrays: int
    values: int
    bytes: int


@dataclass(frozen=True)
class Overview:
    """Totals, counts by kind (in :data:`KINDS` order) and by dtype (most bytes first), and
    the ``largest`` arrays by size (ties in file order)."""

    arrays: int
    values: int
    bytes: int
    by_kind: Tuple[CountRow, ...]
    by_dtype: Tuple[CountRow, ...]
    largest: Tuple[ArrayStats, ...]


def _count(labels: Mapping[str, str], stats: Mapping[str, ArrayStats]) -> Dict[str, CountRow]:
    sums: Dict[str, List[int]] = {}
    for key, st in stats.items():
        row = sums.setdefault(labels[key], [0, 0, 0])
        row[0] += 1
        row[1] += st.size
        row[2] += st.nbytes
    return {label: CountRow(label, *row) for label, row in sums.items()}


def make_overview(
    stats: Mapping[str, ArrayStats], kinds: Mapping[str, ArrayKind], largest: int = 5
) -> Overview:
    """Summarize measured, classified arrays.

    Args:
        stats: :func:`paraminspect.diagnose.measures.measure_all` of the arrays.
        kinds: :func:`paraminspect.diagnose.kinds.classify_all` of the same keys.
        largest: how many of the largest arrays to keep.

    Returns:
        The :class:`Overview`; kinds without arrays are left out of ``by_kind``.
    """
    by_kind = _count({k: kinds[k].kind for k in stats}, stats)
    by_dtype = _count({k: st.dtype for k, st in stats.items()}, stats)
    return Overview(
        arrays=len(stats),
        values=sum(st.size for st in stats.values()),
        bytes=sum(st.nbytes for st in stats.values()),
        by_kind=tuple(by_kind[k] for k in KINDS if k in by_kind),
        by_dtype=tuple(sorted(by_dtype.values(), key=lambda r: (-r.bytes, r.label))),
        largest=sort_rows(list(stats.values()), "size")[: max(largest, 0)],
    )
