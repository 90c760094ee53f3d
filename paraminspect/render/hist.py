"""Text histograms: one-line strips for tables and bar blocks with the expected counts."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from rich.text import Text

from paraminspect.render._common import number
from paraminspect.reports.params import Histogram

HIST_MARKS = " ▁▂▃▄▅▆▇█"  # an empty bin is a blank, the fullest bin of a row the top


def hist_strip(counts: Sequence[int]) -> str:
    """A histogram in one line: one character per bin, its height relative to the fullest
    bin (any non-empty bin shows at least the lowest mark)."""
    top = max(counts, default=0)
    if top == 0:
        return " " * len(counts)
    steps = len(HIST_MARKS) - 1
    return "".join(HIST_MARKS[0 if c == 0 else max(1, round(c / top * steps))] for c in counts)


def hist_line_cells(low: float, high: float, counts: Sequence[int], zeros: float) -> List[Any]:
    """The ``min``, ``max``, ``bins`` and ``zeros`` cells of a one-line histogram row
    (``train --hist``, ``summary --hist``)."""
    strip = Text("|" + hist_strip(counts) + "|", no_wrap=True)
    return [number(low), number(high), strip, f"{zeros:.1%}"]


def hist_json(h: Optional[Histogram]) -> Optional[Dict[str, Any]]:
    """``--hist`` as JSON: ``edges`` (bins + 1), ``counts``, ``expected`` (or null)."""
    if h is None:
        return None
    return {
        "of": h.of,
        "label": h.label,
        "edges": list(h.edges),
        "counts": list(h.counts),
        "expected": None if h.expected is None else list(h.expected),
        "law": h.law,
        "note": h.note,
        "nonfinite": h.nonfinite,
    }


HIST_WIDTH = 32  # characters of the longest bar


EIGHTHS = " ▏▎▍▌▋▊▉"


EXPECTED_MARK = "┃"


def hist_bar(count: float, expected: Optional[float], scale: float) -> Text:
    """A bar of ``count`` (eighth-block precision) with the expected count marked by ┃."""
    cells = [" "] * HIST_WIDTH
    length = count / scale * HIST_WIDTH if scale > 0 else 0.0
    full = int(length)
    for i in range(min(full, HIST_WIDTH)):
        cells[i] = "█"
    if full < HIST_WIDTH:
        cells[full] = EIGHTHS[int((length - full) * 8)] if full < length else " "
    text = Text("".join(cells), style="cyan")
    if expected is not None and scale > 0:
        mark = min(HIST_WIDTH - 1, round(expected / scale * HIST_WIDTH))
        text = Text()
        text.append("".join(cells[:mark]), style="cyan")
        text.append(EXPECTED_MARK, style="bold yellow")
        text.append("".join(cells[mark + 1 :]), style="cyan")
    return text


def hist_block(h: Histogram) -> Text:
    """One line per bin: the bin's range, a bar, the count, and the expected count."""
    n = h.total
    what = "gradient entries" if h.of == "grad" else "values"
    head = Text(f"{h.label}  histogram of {n:,} {what}", style="bold")
    if h.nonfinite:
        head.append(f" ({h.nonfinite:,} NaN/Inf left out)", style="bold red")
    if h.law is not None:
        head.append(f"; ┃ expected under {h.law}")
    elif h.note:
        head.append(f"; {h.note}")
    lines = [head]
    left = [f"{e:.4g}" for e in h.edges[:-1]]
    right = [f"{e:.4g}" for e in h.edges[1:]]
    lw, rw = max(map(len, left)), max(map(len, right))
    cw = max(len(f"{c:,}") for c in h.counts)
    expected = h.expected or ()
    scale = max(max(h.counts), max(expected, default=0))
    last = len(h.counts) - 1
    for i, count in enumerate(h.counts):
        exp = expected[i] if expected else None
        line = Text(f"  [{left[i]:>{lw}}, {right[i]:>{rw}}{']' if i == last else ')'} ")
        line.append_text(hist_bar(count, exp, scale))
        line.append(f" {count:>{cw},}")
        if exp is not None:
            line.append(f"  exp {exp:,.1f}", style="yellow")
        lines.append(line)
    return Text("\n").join(lines)
