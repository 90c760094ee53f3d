"""Small text helpers every stage uses: did-you-mean, plurals, byte sizes, quoting."""

from __future__ import annotations

import difflib
import re
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


# A tuple, as a shape or an argument list prints: ``(C, 1, 1)``, ``(64,)``, ``[1.5e-44, 0]``,
# ``(rnd_type=uniform, magnitude=3)``; items are single words joined by ", ".
_TUPLE = re.compile(r"\([^()\[\]\s]*(?:, [^()\[\]\s]*)*\)|\[[^()\[\]\s]*(?:, [^()\[\]\s]*)*\]")


def _last_break(text: str, sep: str, end: int, inside: List[range]) -> int:
    """Where ``sep`` last occurs in ``text[:end]`` outside every span of ``inside``; -1."""
    at = text.rfind(sep, 0, end)
    while at >= 0 and any(at in span for span in inside):
        at = text.rfind(sep, 0, at)
    return at


def phrase_lines(text: str, width: int) -> List[str]:
    """``text`` in lines of at most ``width``, broken after ': ', '; ' or ', ' (a phrase's
    end) where possible, else between words; never inside a tuple (a shape such as
    ``(C, 1, 1)`` stays whole) unless the tuple alone is wider than the line; a word longer
    than ``width`` (a long path) is cut at ``width``. Existing line breaks are kept."""
    if "\n" in text:
        return [line for part in text.split("\n") for line in phrase_lines(part, width)]
    if not text:
        return []
    width = max(1, width)
    lines: List[str] = []
    while len(text) > width:
        inside = [range(m.start() + 1, m.end() - 1) for m in _TUPLE.finditer(text)]
        cut = -1
        # the strongest phrase break that leaves a first line at least half full: ':' or
        # ';', then ',', then before '('; the line keeps its punctuation
        for group in ((": ", "; "), (", ",), (" (",)):
            for sep in group:
                keep = 0 if sep == " (" else 1
                at = _last_break(text, sep, width + 1 - keep, inside)
                if at >= width // 2:
                    cut = max(cut, at + keep)
            if cut >= 0:
                break
        if cut < 0:
            cut = _last_break(text, " ", width + 1, inside)
        if cut <= 0:
            cut = text.rfind(" ", 0, width + 1)  # a tuple wider than the line
        if cut <= 0:
            cut = width  # one word wider than the line: cut it
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        lines.append(text)
    return lines


# where a name may fold: after a separator, or between a lower-case letter and a capital
# (``Hybrid`` | ``Sequential``)
_NAME_BREAK = re.compile(r"(?<=[._/: -])|(?<=[a-z])(?=[A-Z])")

# a label's aside, ``features.4.0 (resnetv10_stage1)``: the name after its Gluon path
_ASIDE = re.compile(r" \([^()]*\)$")


MAX_NAME_LINES = 3  # a name folds onto at most this many lines, else it is shortened


def fold_name(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters a line: whole; else folded after a ``.``,
    ``_``, ``/``, ``:``, ``-`` or space, or before a capital after a lower-case letter,
    onto as few lines as can be (two, at most three); else without a trailing ``(aside)``
    (a layer's name after its path); else on two lines cut at ``width`` when it has no
    such break; else shortened in the middle to one line with ``…``. Leading spaces (a
    tree's indent) start every line."""
    if len(text) <= width:
        return text
    indent = text[: len(text) - len(text.lstrip(" "))]
    parts = [p for p in _NAME_BREAK.split(text[len(indent) :]) if p]
    lines = [indent]
    for part in parts:
        if len((lines[-1] + part).rstrip()) > width and lines[-1].strip():
            lines.append(indent)
        lines[-1] += part
    lines = [line.rstrip() for line in lines]
    if len(lines) <= MAX_NAME_LINES and all(len(line) <= width for line in lines):
        return "\n".join(lines)
    short = _ASIDE.sub("", text)
    if short.strip() and short != text:  # the aside goes before any word is cut
        return fold_name(short, width)
    if len(text) + len(indent) <= 2 * width:
        return text[:width] + "\n" + indent + text[width:].lstrip(" ")
    return middle(text, width)


def fold_width(text: str) -> int:
    """The least width at which :func:`fold_name` puts ``text`` on two lines without
    breaking inside a word part (at a ``.``, ``_``, ... ; at half its length when no such
    break comes near the middle)."""
    indent = len(text) - len(text.lstrip(" "))
    half = (len(text) + indent + 1) // 2
    best = len(text)
    for m in _NAME_BREAK.finditer(text):
        if m.start() > indent:
            best = min(best, max(len(text[: m.start()].rstrip()), indent + len(text) - m.start()))
    return best if best <= half + 6 else half


def middle(text: str, width: int) -> str:
    """``text`` shortened in the middle to ``width`` characters: ``resnetv10_…_gamma``."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[-tail:] if tail else "")
