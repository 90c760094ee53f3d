"""What every renderer shares: number formats, JSON numbers, table builders, JSON output."""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from paraminspect.render._plain_table import cell_texts, plain_lines
from paraminspect.render._plain_table import fits as fits_plain
from paraminspect.render._plain_table import measure as measure_plain


def source_text(kind: str, source: str) -> str:
    """Where a model came from, for a header: the spec's label, else ``KIND LABEL``."""
    return source if kind == "spec" or source.startswith(kind + ":") else f"{kind} {source}"


def shape_text(shape: Iterable[int]) -> str:
    """``(256, 20)``, ``(10,)`` exactly as MXNet/numpy print shapes."""
    return str(tuple(shape))


def number(x: float, digits: int = 4) -> str:
    """A statistic for a table cell: ``digits`` significant digits (JSON has them all)."""
    if isinstance(x, (int, np.integer)):
        return f"{x:,}"
    if math.isnan(x):
        return "nan"
    return f"{x:.{digits}g}"


NARROW = 100  # below this many columns, statistics tables drop a digit and empty columns


def array_text(values: np.ndarray) -> str:
    """Print an array as MXNet does (``str(nd.asnumpy())``): numpy's defaults, so big
    arrays are summarized with ``...`` and the digits match the book's printouts."""
    with np.printoptions(
        threshold=1000, edgeitems=3, precision=8, linewidth=75, suppress=False, floatmode="maxprec"
    ):
        return np.array2string(values, separator=" ") if values.ndim else str(values)


def compact_init(description: str) -> str:
    """``xavier(rnd_type=uniform, factor_type=avg, magnitude=3)`` -> ``xavier(uniform, avg,
    3)`` for narrow table cells; JSON keeps the full description."""
    return re.sub(r"\b[a-z_]+=", "", description)


def json_number(x: Any) -> Any:
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def json_array(values: np.ndarray) -> Any:
    """Nested lists; NaN/Inf become null (JSON has no spelling for them)."""
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        obj = values.astype(object)
        obj[~np.isfinite(values)] = None
        return obj.tolist()
    return values.tolist()


def new_table(title: str, drop_first: Sequence[str] = (), see: str = "") -> Table:
    """The house style: a light rule under the header, no outer padding, laid out to fit.

    Args:
        title: printed above the table, wrapped only at phrase boundaries.
        drop_first: headers of the columns to leave out first when the console is too
            narrow for every column (then the others, right to left; never the first).
        see: how else to see a dropped column, besides a wider terminal and --format json.
    """
    return FitTable(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        drop_first=drop_first,
        see=see,
    )


class FitTable(Table):
    """A table laid out from the console's measured width: no number or word is ever cut.

    Every column gets at least its longest word (a no-wrap column: its longest cell); when
    even that does not fit, whole columns are left out and a note under the table names
    them and how to see them. Lines carry no trailing spaces (piped output stays clean).
    """

    def __init__(self, *args: Any, drop_first: Sequence[str] = (), see: str = "", **kw: Any):
        super().__init__(*args, **kw)
        self.drop_first = tuple(drop_first)
        self.see = see

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        table = Table.__new__(Table)  # a plain Table: rendering it must not come back here
        table.__dict__.update(self.__dict__)
        table.columns = [copy.copy(c) for c in self.columns]
        table.title = None
        # Without styles to write, one-line cells are laid out and drawn as strings (the
        # same text as rich's, see _plain_table); otherwise rich draws the table.
        plain = cell_texts(console, table) if console.color_system is None else None
        texts = None if plain is None else {id(c): t for c, t in zip(table.columns, plain)}
        dropped, widths = _fit_columns(table, self.drop_first, console, options, width, texts)
        for title_line in phrase_lines(str(self.title or ""), width):
            yield Segment(title_line, console.get_style("table.title"))
            yield Segment.line()
        if widths is not None and texts is not None:
            kept = [texts[id(c)] for c in table.columns]
            for text in plain_lines(console, options, table, kept, widths):
                yield Segment(text)
                yield Segment.line()
        else:
            for line in console.render_lines(table, options, pad=False, new_lines=False):
                yield from _rstrip(line)
                yield Segment.line()
        if dropped:
            how = " or ".join(x for x in ("a wider terminal", "--format json", self.see) if x)
            them = "it" if len(dropped) == 1 else "them"
            note = f"(not shown at {width} columns: {', '.join(dropped)}; {how} shows {them})"
            for note_line in phrase_lines(note, width):
                yield Segment(note_line, Style(dim=True))
                yield Segment.line()


def _fit_columns(
    table: Table,
    drop_first: Sequence[str],
    console: Console,
    options: ConsoleOptions,
    width: int,
    texts: Optional[Dict[int, List[str]]] = None,
) -> Tuple[List[str], Optional[List[int]]]:
    """Leave out columns until every word fits, then share the spare room.

    Args:
        texts: each column's header and cell texts by ``id(column)`` when every cell is
            one plain line (:func:`_plain_table.cell_texts`): measured as strings then.

    Returns:
        The headers of the columns left out, in table order; and when ``texts`` are given
        and every cell fits on one line, each column's width with its padding (for
        :func:`_plain_table.plain_lines`), else None.
    """

    def measure() -> List[Measurement]:
        for i, column in enumerate(table.columns):
            column._index = i
        if texts is not None:
            return measure_plain(table, [texts[id(c)] for c in table.columns])
        wide = options.update_width(1 << 16)
        out = []
        for c in table.columns:
            m = table._measure_column(console, wide, c)
            # rich measures a cell's minimum as its longest word even when the column may
            # not wrap; such a column needs its whole widest cell
            out.append(Measurement(m.maximum, m.maximum) if c.no_wrap else m)
        return out

    ranges = measure()
    position = {str(c.header): i for i, c in enumerate(table.columns)}
    order = [c for name in drop_first for c in table.columns if str(c.header) == name]
    order += [c for c in reversed(table.columns[1:]) if c not in order]
    dropped = []
    while sum(r.minimum for r in ranges) + table._extra_width > width and order:
        column = order.pop(0)
        dropped.append(str(column.header))
        table.columns.remove(column)
        ranges = measure()
    dropped.sort(key=position.__getitem__)
    room = width - table._extra_width
    if sum(r.maximum for r in ranges) <= room:
        # rich lays such a table out at each column's widest cell
        widths = [r.maximum or 1 for r in ranges]
    else:
        widths = [r.minimum for r in ranges]
        spare = room - sum(widths)
        # the columns that want least more get it first, so as many as possible need no wrap
        for i in sorted(range(len(widths)), key=lambda i: ranges[i].maximum - ranges[i].minimum):
            give = min(spare, ranges[i].maximum - widths[i])
            widths[i] += give
            spare -= give
        for i, column in enumerate(table.columns):
            column.width = max(1, widths[i] - table._get_padding_width(i))
            widths[i] = column.width + table._get_padding_width(i)
    if texts is None or not table.columns or sum(widths) > room:
        return dropped, None
    kept = [texts[id(c)] for c in table.columns]
    return dropped, (widths if fits_plain(table, kept, widths) else None)


def _rstrip(line: List[Segment]) -> List[Segment]:
    """A rendered line without its trailing spaces."""
    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        last = line[-1]
        line[-1] = Segment(last.text.rstrip(), last.style)
    return line


def phrase_lines(text: str, width: int) -> List[str]:
    """``text`` in lines of at most ``width``, broken after ': ', '; ' or ', ' (a phrase's
    end) where possible, else between words; a word longer than ``width`` stays whole."""
    if not text:
        return []
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
            cut = text.find(" ", width)
            if cut < 0:
                break
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    lines.append(text)
    return lines


def key_table(columns: Sequence[str], right: Sequence[str]) -> Table:
    """A table of a file's arrays: a ``key`` column, then ``columns`` (``right`` ones
    right-aligned). Long Module keys fold; the numbers beside them are never cut."""
    table = new_table("")
    table.add_column("key", overflow="fold")
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    return table


def print_blocks(console: Console, blocks: List[Text]) -> None:
    """Printouts after the tables: a blank line, then the blocks without re-wrapping."""
    if blocks:
        console.print()
        console.print(Group(*blocks), soft_wrap=True)
