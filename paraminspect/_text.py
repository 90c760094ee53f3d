"""Small text helpers every stage uses: did-you-mean, plurals, byte sizes, quoting."""

from __future__ import annotations

import difflib
from typing import Sequence


def did_you_mean(word: str, options: Sequence[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest option, or an empty string."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def plural(n: int, word: str) -> str:
    """``1 array``, ``2 arrays``, ``1,000 arrays``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def quote(path: object) -> str:
    """A path or name as messages show it: ``'path'``."""
    return f"'{path}'"
