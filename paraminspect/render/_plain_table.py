"""Rich's table layout for one-line cells, measured and drawn with string operations.

A statistics table of a 284-parameter graph is 284 rows; rich measures and renders each
cell through its generic pipeline (a ``Padding`` around a ``Text``, wrapped, justified and
cut into ``Segment`` lines), which took most of ``grad --stats``'s time beyond MXNet's.
For the cells these tables hold (one line of printable ASCII, no markup, no spans) rich's
measurement and rendering come down to string lengths and padding, done here. When the
console writes no styles (``color_system`` None: piped output, a file, the golden tests)
the text is all that reaches the output, so :class:`~paraminspect.render._common.FitTable`
draws such tables with :func:`plain_lines`; everything else goes through rich.
``tests/render/test_plain_table.py`` checks that both give the same text.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from rich.console import Console, ConsoleOptions
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


def _plain(console: Console, cell: object) -> Optional[str]:
    """A cell's text if rich would draw it as exactly that one line, else None."""
    if isinstance(cell, str):
        text = cell
        if "[" in text or ":" in text:  # markup or an emoji code: ask rich what it makes
            rendered = console.render_str(text, highlight=False)
            if rendered.spans or rendered.plain != text:
                return None
    elif type(cell) is Text:
        if cell.spans or cell.justify or cell.overflow or cell.no_wrap is not None:
            return None
        text = cell.plain
    else:
        return None
    # printable ASCII: one character is one cell, no tabs or line breaks; and no spaces at
    # either end (rich strips them when it justifies or wraps)
    if not (text.isascii() and text.isprintable()) or text != text.strip(" "):
        return None
    return text


def cell_texts(console: Console, table: Table) -> Optional[List[List[str]]]:
    """Per column, the header's then the cells' texts; None when a cell is not one plain
    line or the table uses a feature :func:`plain_lines` does not draw."""
    top, _, bottom, _ = table.padding
    if (
        top
        or bottom
        or not table.rows
        or table.show_footer
        or table.show_lines
        or table.leading
        or table.caption
        or table.title
        or table.expand
        or table.min_width is not None
        or table.width is not None
        or table.collapse_padding
        or any(row.end_section for row in table.rows)
    ):
        return None
    out = []
    for column in table.columns:
        if column.width is not None or column.min_width is not None or column.max_width:
            return None
        if column.justify not in ("left", "right", "center"):
            return None
        texts = []
        for cell in ([column.header] if table.show_header else []) + list(column._cells):
            text = _plain(console, cell)
            if text is None:
                return None
            texts.append(text)
        out.append(texts)
    return out


def measure(table: Table, texts: Sequence[Sequence[str]]) -> List[Measurement]:
    """Each column's range as rich's ``Table._measure_column`` gives it on a wide console
    (least: the longest word, a no-wrap column its longest cell; most: the longest cell;
    padding included)."""
    out = []
    for i, (column, cells) in enumerate(zip(table.columns, texts)):
        pad = table._get_padding_width(i)
        least = most = 0
        for text in cells:
            words = text.split()
            least = max(least, max(map(len, words)) if words else len(text))
            most = max(most, len(text))
        if most + pad < 1:
            out.append(Measurement(0, 0))
        elif column.no_wrap:
            out.append(Measurement(most + pad, most + pad))
        else:
            out.append(Measurement(least + pad, most + pad))
    return out


def fits(table: Table, texts: Sequence[Sequence[str]], widths: Sequence[int]) -> bool:
    """Every cell on one line at these column widths (padding included)."""
    return all(
        max(map(len, cells), default=0) <= width - table._get_padding_width(i)
        for i, (cells, width) in enumerate(zip(texts, widths))
    )


def plain_lines(
    console: Console,
    options: ConsoleOptions,
    table: Table,
    texts: Sequence[Sequence[str]],
    widths: Sequence[int],
) -> List[str]:
    """The table's lines as rich draws them, without styles or trailing spaces, for cells
    that :func:`fits` at ``widths`` (each column's width with its padding)."""
    box = table.box
    if box is not None:
        safe = console.safe_box if table.safe_box is None else table.safe_box
        box = box.substitute(options, safe=safe)
        if not table.show_header:
            box = box.get_plain_headed_box()
    _, pad_right, _, pad_left = table.padding
    last_column = len(table.columns) - 1
    lines: List[str] = []
    if box is not None and table.show_edge:
        lines.append(box.get_top(list(widths)).rstrip())
    n_rows = len(texts[0])
    for r in range(n_rows):
        cells = []
        for i, column in enumerate(table.columns):
            left = 0 if i == 0 and not table.pad_edge else pad_left
            right = 0 if i == last_column and not table.pad_edge else pad_right
            text = texts[i][r]
            gap = widths[i] - left - right - len(text)
            if column.justify == "right":
                body = " " * gap + text
            elif column.justify == "center":
                body = " " * (gap // 2) + text + " " * (gap - gap // 2)
            else:
                body = text + " " * gap
            cells.append(" " * left + body + " " * right)
        if box is None:
            lines.append("".join(cells).rstrip())
            continue
        if r == 0:
            edge_l, edge_r, divider = box.head_left, box.head_right, box.head_vertical
        elif r == n_rows - 1:
            edge_l, edge_r, divider = box.foot_left, box.foot_right, box.foot_vertical
        else:
            edge_l, edge_r, divider = box.mid_left, box.mid_right, box.mid_vertical
        if not table.show_edge:
            edge_l = edge_r = ""
        lines.append((edge_l + divider.join(cells) + edge_r).rstrip())
        if r == 0 and table.show_header:
            lines.append(box.get_row(list(widths), "head", edge=table.show_edge).rstrip())
    if box is not None and table.show_edge:
        lines.append(box.get_bottom(list(widths)).rstrip())
    return lines
