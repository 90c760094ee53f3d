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

from paraminspect._text import fold_name, fold_width, phrase_lines
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


def new_table(
    title: str,
    keep: Sequence[str] = (),
    drop_first: Sequence[str] = (),
    names: Sequence[str] = (),
    see: str = "",
) -> FitTable:
    """The house style: a light rule under the header, no outer padding, laid out to fit.

    Each table declares how it gives way on a narrow console (see :class:`FitTable`):

    Args:
        title: printed above the table, wrapped only at phrase boundaries.
        keep: headers of the columns the table exists to show (its defining columns):
            never left out, at any width. The first column is always kept too.
        drop_first: headers of optional columns to leave out first, in this order, when the
            console is too narrow for every column.
        names: headers of name columns that may fold onto two lines (at ``.``, ``_``,
            ``/``, ``:`` or a space) or, when even that does not fit, be shortened in the
            middle with ``…`` (the whole name is in the JSON).
        see: how else to see a dropped column, besides a wider terminal and --format json.
    """
    return FitTable(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        keep=keep,
        drop_first=drop_first,
        names=names,
        see=see,
    )


class FitTable(Table):
    """A table laid out from the console's measured width: no number or word is ever cut.

    Every column gets at least its longest word (a no-wrap column: its longest cell). When
    the console is narrower, the table gives way in this order, each step only as far as
    needed: the ``drop_first`` columns go; name columns fold onto two lines; the other
    columns that are not kept go, right to left; name columns are shortened in the middle.
    A note under the table names every column left out and how to see it. The ``keep``
    columns (and the first) never go. Lines carry no trailing spaces (piped output stays
    clean).

    ``reasons`` may say why a column would tell little (``{"dtype": "all float32"}``):
    the note says it beside the column's name when the column is left out.
    """

    def __init__(
        self,
        *args: Any,
        keep: Sequence[str] = (),
        drop_first: Sequence[str] = (),
        names: Sequence[str] = (),
        see: str = "",
        **kw: Any,
    ):
        super().__init__(*args, **kw)
        self.keep = tuple(keep)
        self.drop_first = tuple(drop_first)
        self.names = tuple(names)
        self.see = see
        # why a column would say little (``{"dtype": "all float32"}``), for the note
        self.reasons: Dict[str, str] = {}
        # the widest a column's cells can be, when that, not this table's cells, should
        # decide what is left out (tables printed one after another keep the same columns)
        self.widest: Dict[str, int] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        table = Table.__new__(Table)  # a plain Table: rendering it must not come back here
        table.__dict__.update(self.__dict__)
        table.columns = [copy.copy(c) for c in self.columns]
        table.title = None
        dropped = _give_way(table, self, console, options, width)
        # Without styles to write, one-line cells are laid out and drawn as strings (the
        # same text as rich's, see _plain_table); otherwise rich draws the table.
        plain = cell_texts(console, table) if console.color_system is None else None
        texts = None if plain is None else {id(c): t for c, t in zip(table.columns, plain)}
        widths = _share_room(table, console, options, width, texts)
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
        said = [self._left_out(name) for name in dropped]
        if said:
            how = " or ".join(x for x in ("a wider terminal", "--format json", self.see) if x)
            them = "it" if len(said) == 1 else "them"
            note = f"(not shown at {width} columns: {', '.join(said)}; {how} shows {them})"
            for note_line in phrase_lines(note, width):
                yield Segment(note_line, Style(dim=True))
                yield Segment.line()
            yield Segment.line()  # what follows (the next table's title) stands apart

    def _left_out(self, header: str) -> str:
        """A column left out, for the note: its name, and what it would have said when
        every row says the same (``dtype (all float32)``)."""
        why = self.reasons.get(header)
        if why is None:
            cells = next(c for c in self.columns if str(c.header) == header)._cells
            values = {_cell_plain(x) for x in cells}
            if len(cells) > 1 and len(values) == 1 and None not in values and "" not in values:
                why = f"all {values.pop()}"
        return f"{header} ({why})" if why else header


NAME_FLOOR = 12  # a name column is never shortened below this many characters


def _cell_plain(cell: Any) -> Optional[str]:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return cell
    return None


def _give_way(
    table: Table, fit: FitTable, console: Console, options: ConsoleOptions, width: int
) -> List[str]:
    """Make ``table`` (a copy of ``fit``) fit ``width``: leave out columns and fold or
    shorten names as :class:`FitTable` says. Returns the headers of the columns left out."""
    names = [c for c in table.columns if str(c.header) in fit.names]
    texts = {id(c): [_cell_plain(x) for x in c._cells] for c in names}
    names = [c for c in names if all(t is not None for t in texts[id(c)])]
    full = {id(c): max([len(t or "") for t in texts[id(c)]] + [len(str(c.header))]) for c in names}
    name_width = dict(full)

    folded = {id(c): max([fold_width(t or "") for t in texts[id(c)]] + [1]) for c in names}

    def floor(c: Any, fold: bool) -> int:
        least = max([len(w) for w in str(c.header).split()] + [1])
        return max(least, min(full[id(c)], folded[id(c)] if fold else NAME_FLOOR))

    # each column's content range without padding, measured once (padding depends on where
    # the column stands, which changes as columns go)
    plain = cell_texts(console, table)
    plain_ranges = None if plain is None else measure_plain(table, plain)
    content: Dict[int, Tuple[int, int]] = {}
    wide = options.update_width(1 << 16)
    for i, c in enumerate(table.columns):
        c._index = i
        pad = table._get_padding_width(i)
        if id(c) in name_width:
            continue
        m = table._measure_column(console, wide, c) if plain_ranges is None else plain_ranges[i]
        # rich measures a cell's minimum as its longest word even when the column may
        # not wrap; such a column needs its whole widest cell
        least = m.maximum if c.no_wrap else m.minimum
        at_least = fit.widest.get(str(c.header), 0)
        content[id(c)] = (max(at_least, least - pad), max(at_least, m.maximum - pad))

    def measure() -> List[Measurement]:
        out = []
        for i, c in enumerate(table.columns):
            pad = table._get_padding_width(i)
            if id(c) in name_width:
                out.append(Measurement(name_width[id(c)] + pad, name_width[id(c)] + pad))
            else:
                least, most = content[id(c)]
                out.append(Measurement(least + pad, most + pad))
        return out

    def excess(fold: Optional[bool] = None) -> int:
        """How far the table is over ``width`` with names whole (``fold`` None), folded
        as far as they may (True) or shortened as far as they may (False)."""
        for c in names:
            name_width[id(c)] = full[id(c)] if fold is None else floor(c, fold)
        return sum(r.minimum for r in measure()) + table._extra_width - width

    def drop(columns: Sequence[Any], fold: Optional[bool]) -> None:
        for column in columns:
            if column not in table.columns:
                continue
            if excess(fold) <= 0:
                return
            dropped.append(str(column.header))
            table.columns.remove(column)

    dropped: List[str] = []
    first = table.columns[0] if table.columns else None
    optional = [c for c in table.columns if c is not first and str(c.header) not in fit.keep]
    early = [c for name in fit.drop_first for c in optional if str(c.header) == name]
    late = [c for c in reversed(optional) if c not in early and c not in names]
    drop(early, None)  # the optional columns go before any name is folded
    drop(late, True)  # then the others, unless folding the names makes room
    # a name column that cannot give way enough leaves out the names at its right
    drop([c for c in reversed(optional) if c in names], False)
    # names take what room there is: whole, else folded, else shortened in the middle
    shown = [c for c in names if c in table.columns]
    fold = excess(True) <= 0
    for c in names:
        name_width[id(c)] = full[id(c)]
    over = excess(None) if shown else 0
    while over > 0:
        can = [c for c in shown if name_width[id(c)] > floor(c, fold)]
        if not can:
            break
        widest = max(can, key=lambda c: name_width[id(c)])
        name_width[id(widest)] -= 1
        over -= 1
    for c in shown:
        if name_width[id(c)] < full[id(c)]:
            w = name_width[id(c)]
            c._cells = [_refold(x, w) for x in c._cells]
            c.no_wrap = True
    position = {str(c.header): i for i, c in enumerate(fit.columns)}
    dropped.sort(key=position.__getitem__)
    return dropped


def _refold(cell: Any, width: int) -> Any:
    if isinstance(cell, Text):
        out = Text(fold_name(cell.plain, width), style=cell.style, justify=cell.justify)
        return out
    return fold_name(str(cell), width)


def _share_room(
    table: Table,
    console: Console,
    options: ConsoleOptions,
    width: int,
    texts: Optional[Dict[int, List[str]]] = None,
) -> Optional[List[int]]:
    """Share the spare room among the columns left (each gets at least its longest word).

    Args:
        texts: each column's header and cell texts by ``id(column)`` when every cell is
            one plain line (:func:`_plain_table.cell_texts`): measured as strings then.

    Returns:
        When ``texts`` are given and every cell fits on one line, each column's width with
        its padding (for :func:`_plain_table.plain_lines`), else None.
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
            out.append(Measurement(m.maximum, m.maximum) if c.no_wrap else m)
        return out

    ranges = measure()
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
        return None
    kept = [texts[id(c)] for c in table.columns]
    return widths if fits_plain(table, kept, widths) else None


def _rstrip(line: List[Segment]) -> List[Segment]:
    """A rendered line without its trailing spaces."""
    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        last = line[-1]
        line[-1] = Segment(last.text.rstrip(), last.style)
    return line


def key_table(
    columns: Sequence[str],
    right: Sequence[str],
    title: str = "",
    keep: Sequence[str] = (),
    drop_first: Sequence[str] = (),
    names: Sequence[str] = ("key",),
) -> FitTable:
    """A table of a file's arrays: a ``key`` column, then ``columns`` (``right`` ones
    right-aligned). Long Module keys fold onto two lines or are shortened in the middle;
    the numbers beside them are never cut (``keep`` and ``drop_first``: see new_table)."""
    table = new_table(title, keep=keep, drop_first=drop_first, names=names)
    table.add_column("key", no_wrap=True)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", no_wrap=True)
    return table


def say(console: Console, text: str, style: str = "", hang: str = "") -> None:
    """Print a line of prose (a header, a footer, a note) within the console's width,
    broken at phrase ends (``: ``, ``; ``, ``, ``) where it must be, never mid-word unless a
    word is wider than the console. Lines after the first start with ``hang``; leading
    spaces of ``text`` are kept on the first."""
    width = max(20, console.width)
    lead = text[: len(text) - len(text.lstrip(" "))]
    lines = phrase_lines(text.lstrip(" "), width - len(lead))
    rest = phrase_lines(" ".join(lines[1:]), width - len(hang)) if len(lines) > 1 else []
    for i, line in enumerate(lines[:1] + rest):
        console.print(Text((lead if i == 0 else hang) + line, style=style), soft_wrap=True)


def print_blocks(console: Console, blocks: List[Text]) -> None:
    """Printouts after the tables: a blank line, then the blocks as they are laid out
    (arrays as numpy prints them); only a line wider than the console (a label, a note)
    is broken, at phrase ends."""
    if blocks:
        console.print()
        console.print(Group(*(_fit_lines(b, console.width) for b in blocks)), soft_wrap=True)


def _fit_lines(block: Text, width: int) -> Text:
    """``block`` with each line wider than ``width`` broken at phrase ends."""
    if all(len(line) <= width for line in block.plain.split("\n")):
        return block
    out = Text()
    for i, line in enumerate(block.split("\n", allow_blank=True)):
        if i:
            out.append("\n")
        if len(line) <= width:
            out.append_text(line)
            continue
        style = line.spans[0].style if line.spans and line.spans[0].start == 0 else line.style
        out.append("\n".join(phrase_lines(line.plain, width)), style=style)
    return out
