"""Small text helpers every stage uses: did-you-mean, plurals, byte sizes, quoting."""

from __future__ import annotations

import difflib
from typing import List, Sequence


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


def phrase_lines(text: str, width: int) -> List[str]:
    """``text`` in lines of at most ``width``, broken after ': ', '; ' or ', ' (a phrase's
    end) where possible, else between words; a word longer than ``width`` (a long path) is
    cut at ``width``. Existing line breaks are kept."""
    if "\n" in text:
        return [line for part in text.split("\n") for line in phrase_lines(part, width)]
    if not text:
        return []
    width = max(1, width)
    lines: List[str] = []
    while len(text) > width:
        cut = -1
        # the strongest phrase break that leaves a fair first line: ':' or ';', then ',',
        # then before '('; the line keeps its punctuation
        for group in ((": ", "; "), (", ",), (" (",)):
            for sep in group:
                keep = 0 if sep == " (" else 1
                at = text.rfind(sep, 0, width + 1 - keep)
                if at > width // 3:
                    cut = max(cut, at + keep)
            if cut >= 0:
                break
        if cut < 0:
            cut = text.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = width  # one word wider than the line: cut it
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        lines.append(text)
    return lines
