"""Order measured arrays: ``--sort size|l2|abs_max|std|name`` and ``--top N``."""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

from paraminspect._text import did_you_mean
from paraminspect.choices import SORT_KEYS
from paraminspect.diagnose.measures import ArrayStats
from paraminspect.errors import OptionError

__all__ = ["SORT_KEYS", "check_sort_key", "sort_keys", "sort_rows", "top"]


def check_sort_key(by: str) -> str:
    """Return ``by`` if it is one of :data:`SORT_KEYS`.

    Raises:
        OptionError: for any other value (option ``--sort``), with a did-you-mean.
    """
    if by not in SORT_KEYS:
        raise OptionError(
            f"unknown sort key '{by}'{did_you_mean(by, SORT_KEYS)} "
            f"(choose from {', '.join(SORT_KEYS)})",
            "--sort",
        )
    return by


def sort_rows(rows: Sequence[ArrayStats], by: str) -> Tuple[ArrayStats, ...]:
    """Rows largest first by a number (``size``, ``l2``, ``abs_max``, ``std``), or by name
    A to Z (``name``). Stable: ties keep their input order. NaN numbers go last.

    Raises:
        OptionError: ``by`` is not one of :data:`SORT_KEYS`.
    """
    check_sort_key(by)
    if by == "name":
        return tuple(sorted(rows, key=lambda row: row.key))

    def number(row: ArrayStats) -> Tuple[bool, float]:
        value = float(getattr(row, by))
        return (math.isnan(value), -value if not math.isnan(value) else 0.0)

    return tuple(sorted(rows, key=number))


def sort_keys(rows: Sequence[ArrayStats], by: str) -> Tuple[str, ...]:
    """The keys of :func:`sort_rows`, in that order."""
    return tuple(row.key for row in sort_rows(rows, by))


def top(rows: Sequence[ArrayStats], by: str, n: Optional[int]) -> Tuple[ArrayStats, ...]:
    """The first ``n`` rows of :func:`sort_rows` (all of them when ``n`` is None).

    Raises:
        OptionError: a bad ``by``, or a negative ``n`` (option ``--top``).
    """
    if n is not None and n < 0:
        raise OptionError(f"--top must be 0 or more, not {n}", "--top")
    ordered = sort_rows(rows, by)
    return ordered if n is None else ordered[:n]
