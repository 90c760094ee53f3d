"""Sparklines: one glyph ramp, drawn on a linear or a log10 scale."""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

SPARK = "▁▂▃▄▅▆▇█"


def linear_sparkline(values: Sequence[Optional[float]]) -> str:
    """``▁▃█``: each value's height between the finite minimum and maximum; ``?`` for gaps."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "?" * len(values)
    lo, hi = min(finite), max(finite)
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append("?")
        elif hi == lo:
            out.append(SPARK[0])
        else:
            out.append(SPARK[min(int((v - lo) / (hi - lo) * len(SPARK)), len(SPARK) - 1)])
    return "".join(out)


SPARK_WIDTH = 40  # characters of the per-step sparkline; longer runs are bucketed


def bucket_max(values: Sequence[float], width: int = SPARK_WIDTH) -> List[float]:
    """``values`` in at most ``width`` consecutive buckets, each its largest value (so a
    spike shows), or its first non-finite value (shown as ``?``)."""
    n = len(values)
    if n <= width:
        return list(values)
    out = []
    for i in range(width):
        bucket = values[i * n // width : (i + 1) * n // width]
        bad = [v for v in bucket if not math.isfinite(v)]
        out.append(bad[0] if bad else max(bucket))
    return out


SPARK_CHARS = "▁▂▃▄▅▆▇█"


def _log(v: Optional[float]) -> Optional[float]:
    return math.log10(v) if v is not None and math.isfinite(v) and v > 0 else None


def log_range(*series: Sequence[Optional[float]]) -> Optional[Tuple[float, float]]:
    """The log10 range a sparkline draws: the data's, widened to at least one decade around
    its middle, so that noise on a flat line stays flat."""
    known = [x for values in series for x in map(_log, values) if x is not None]
    if not known:
        return None
    lo, hi = min(known), max(known)
    if hi - lo < 1.0:
        # the middle lands exactly on a level (not between two), so small noise cannot
        # flip characters
        mid = (lo + hi) / 2
        lo, hi = mid - 3 / 7, mid + 4 / 7
    return lo, hi


def log_sparkline(
    values: Sequence[Optional[float]], scale: Optional[Tuple[float, float]] = None
) -> str:
    """One character per value on a log scale (see :func:`log_range`; ``scale`` gives a
    common range for several lines). Zero, non-finite or missing values print as a space.
    """
    scale = scale or log_range(values)
    if scale is None:
        return " " * len(values)
    lo, hi = scale
    top = len(SPARK_CHARS) - 1
    out = []
    for x in map(_log, values):
        if x is None:
            out.append(" ")
        else:
            level = round((x - lo) / (hi - lo) * top)
            out.append(SPARK_CHARS[min(max(level, 0), top)])
    return "".join(out)
